/* bt-test-util.h - helpers the C tests share: where the test data is, the
 * golden manifest, the head set of an HF model class. */
#pragma once

#include "bt-config.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The test data folder: $BT_TEST_DATA, else the source tree's copy. */
const char *bt_test_data_dir (void);

/* The test data folder joined with the NULL-terminated path parts. */
char *bt_test_data_path (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* golden/models/NAME in the test data folder. */
char *bt_test_model_dir (const char *name);

/* A new empty folder in the temp dir, from a g_dir_make_tmp template
 * (asserts it was made). */
char *bt_test_make_tmpdir (const char *tmpl);

/* golden/manifest.json, loaded once (asserts it parses). */
/* A new temporary folder holding copies of `files` (NULL-terminated) of the
 * golden model `name`: a model folder with parts left out. */
char *bt_test_copy_model (const char *name, const char *const *files);

/* Removes a folder made by bt_test_copy_model (its files, then itself). */
void bt_test_remove_dir (const char *dir);

JsonObject *bt_test_manifest (void);

/* The root of a JSON file, owned by the caller (asserts it parses). */
JsonNode *bt_test_load_json (const char *path);

/* The heads an HF class name has (asserts the name is known). */
BtHeads bt_test_heads_of_class (const char *klass);

G_END_DECLS
