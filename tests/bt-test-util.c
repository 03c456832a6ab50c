/* bt-test-util.c - helpers the C tests share. */
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

const char *
bt_test_data_dir (void)
{
  const char *env = g_getenv ("BT_TEST_DATA");
  return env ? env : BT_TEST_DATA;
}

char *
bt_test_data_path (const char *first, ...)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (parts, (gpointer) bt_test_data_dir ());
  va_start (ap, first);
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

char *
bt_test_model_dir (const char *name)
{
  return bt_test_data_path ("golden", "models", name, NULL);
}

char *
bt_test_make_tmpdir (const char *tmpl)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

char *
bt_test_copy_model (const char *name, const char *const *files)
{
  g_autofree char *src = bt_test_model_dir (name);
  char *dir = bt_test_make_tmpdir ("bt-model-copy-XXXXXX");

  for (guint i = 0; files[i] != NULL; i++) {
    g_autofree char *from = g_build_filename (src, files[i], NULL);
    g_autofree char *to = g_build_filename (dir, files[i], NULL);
    g_autofree char *contents = NULL;
    g_autoptr (GError) error = NULL;
    gsize length;

    g_assert_true (g_file_get_contents (from, &contents, &length, &error));
    g_assert_true (g_file_set_contents (to, contents, length, &error));
    g_assert_no_error (error);
  }
  return dir;
}

void
bt_test_remove_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);

    g_unlink (path);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

JsonObject *
bt_test_manifest (void)
{
  static JsonParser *parser;

  if (parser == NULL) {
    g_autofree char *path = bt_test_data_path ("golden", "manifest.json",
        NULL);
    g_autoptr (GError) error = NULL;
    gboolean loaded;

    parser = json_parser_new ();
    loaded = json_parser_load_from_file (parser, path, &error);
    g_assert_no_error (error);
    g_assert_true (loaded);
  }
  return json_node_get_object (json_parser_get_root (parser));
}

JsonNode *
bt_test_load_json (const char *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

BtHeads
bt_test_heads_of_class (const char *klass)
{
  if (strcmp (klass, "BridgeTowerForImageAndTextRetrieval") == 0)
    return BT_HEAD_ITM;
  if (strcmp (klass, "BridgeTowerForMaskedLM") == 0)
    return BT_HEAD_MLM;
  if (strcmp (klass, "BridgeTowerForContrastiveLearning") == 0)
    return BT_HEAD_ITC;
  g_assert_cmpstr (klass, ==, "BridgeTowerModel");
  return BT_HEAD_NONE;
}
