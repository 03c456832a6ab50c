/* test-checkpoint.c - model folders: every golden model loads, in each
 * format it ships, with identical tensors. */
#include "bt-checkpoint.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *
data_dir (void)
{
  const char *env = g_getenv ("BT_TEST_DATA");
  return env ? env : BT_TEST_DATA;
}

static JsonObject *
manifest (void)
{
  static JsonParser *parser;
  if (!parser) {
    g_autofree char *path = g_build_filename (data_dir (), "golden",
                                              "manifest.json", NULL);
    parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (parser, path, &error);
    g_assert_no_error (error);
  }
  return json_node_get_object (json_parser_get_root (parser));
}

/* Every golden model folder opens; its tensor count is the state_dict size
 * HF reported, names are sorted, and every float tensor reads as f32. */
static void
test_golden_folders (void)
{
  JsonArray *models = json_object_get_array_member (manifest (), "models");
  g_assert_cmpuint (json_array_get_length (models), >, 0);
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    g_autofree char *dir = g_build_filename (data_dir (), "golden",
                                             json_object_get_string_member (m, "dir"),
                                             NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (BtCheckpoint) ckpt = bt_checkpoint_open (dir, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_suffix (bt_checkpoint_get_path (ckpt),
                                     "model.safetensors"));
    guint n = bt_checkpoint_n_tensors (ckpt);
    g_assert_cmpint (n, ==, json_object_get_int_member (m, "n_state_dict_keys"));
    for (guint j = 0; j < n; j++) {
      const char *name = bt_checkpoint_nth_name (ckpt, j);
      if (j > 0)
        g_assert_cmpstr (bt_checkpoint_nth_name (ckpt, j - 1), <, name);
      const BtTensor *raw = bt_checkpoint_lookup_raw (ckpt, name);
      g_assert_nonnull (raw);
      const BtTensor *f = bt_checkpoint_lookup_f32 (ckpt, name, &error);
      if (raw->dtype == BT_DTYPE_F32) {
        g_assert_no_error (error);
        g_assert_true (f == raw);       /* used in place */
      } else {
        g_assert_null (f);
        g_assert_error (error, BT_ERROR, BT_ERROR_DTYPE);
        g_clear_error (&error);
      }
    }
    g_assert_null (bt_checkpoint_lookup_raw (ckpt, "no.such.tensor"));
    g_assert_null (bt_checkpoint_lookup_f32 (ckpt, "no.such.tensor", &error));
    g_assert_no_error (error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checkpoint/golden-folders", test_golden_folders);
  return g_test_run ();
}
