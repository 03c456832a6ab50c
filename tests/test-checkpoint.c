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

/* Every name of `sub` is in `full` with the same dtype, shape and bytes. */
static guint
assert_same_tensors (BtCheckpoint *sub, BtCheckpoint *full)
{
  guint n = bt_checkpoint_n_tensors (sub);
  for (guint j = 0; j < n; j++) {
    const char *name = bt_checkpoint_nth_name (sub, j);
    const BtTensor *a = bt_checkpoint_lookup_raw (sub, name);
    const BtTensor *b = bt_checkpoint_lookup_raw (full, name);
    if (!b)
      g_error ("%s: %s is missing from %s", bt_checkpoint_get_path (sub),
               name, bt_checkpoint_get_path (full));
    g_assert_true (bt_tensor_has_shape (a, b->dtype, b->ndim, b->shape));
    g_assert_cmpmem (a->data, bt_tensor_nbytes (a), b->data, bt_tensor_nbytes (b));
  }
  return n;
}

static BtCheckpoint *
open_golden (const char *model, const char *file)
{
  g_autofree char *path = g_build_filename (data_dir (), "golden", "models",
                                            model, file, NULL);
  g_autoptr (GError) error = NULL;
  BtCheckpoint *ckpt = bt_checkpoint_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ckpt);
  return ckpt;
}

/* Where a golden folder ships both formats, they hold identical tensors. */
static void
test_golden_bin (void)
{
  JsonArray *models = json_object_get_array_member (manifest (), "models");
  guint n_bins = 0;
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    g_autofree char *bin = g_build_filename (data_dir (), "golden",
                                             json_object_get_string_member (m, "dir"),
                                             "pytorch_model.bin", NULL);
    if (!g_file_test (bin, G_FILE_TEST_EXISTS))
      continue;
    g_autofree char *st = g_build_filename (data_dir (), "golden",
                                            json_object_get_string_member (m, "dir"),
                                            "model.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (BtCheckpoint) a = bt_checkpoint_open (bin, &error);
    g_assert_no_error (error);
    g_autoptr (BtCheckpoint) b = bt_checkpoint_open (st, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (bt_checkpoint_n_tensors (a), ==, bt_checkpoint_n_tensors (b));
    assert_same_tensors (a, b);
    n_bins++;
  }
  g_assert_cmpuint (n_bins, >=, 2);
  g_test_message ("%u golden pytorch_model.bin files match their safetensors", n_bins);
}

/* The hub-style folder has only a .bin, with int64 position_ids stored as
 * expanded (stride 0) views; every other tensor matches the safetensors of
 * the model it was made from. */
static void
test_hubstyle (void)
{
  g_autoptr (BtCheckpoint) hub = open_golden ("hubstyle_itm_add_t3v3c2", "");
  g_autoptr (BtCheckpoint) ref = open_golden ("itm_add_t3v3c2", "");
  g_assert_true (g_str_has_suffix (bt_checkpoint_get_path (hub), "pytorch_model.bin"));

  guint shared = 0, position_ids = 0;
  for (guint j = 0; j < bt_checkpoint_n_tensors (hub); j++) {
    const char *name = bt_checkpoint_nth_name (hub, j);
    const BtTensor *a = bt_checkpoint_lookup_raw (hub, name);
    const BtTensor *b = bt_checkpoint_lookup_raw (ref, name);
    if (b) {
      g_assert_true (bt_tensor_has_shape (a, b->dtype, b->ndim, b->shape));
      g_assert_cmpmem (a->data, bt_tensor_nbytes (a), b->data, bt_tensor_nbytes (b));
      shared++;
      continue;
    }
    /* HF's buffer: arange(max_positions) expanded to [1, max_positions] */
    g_assert_true (g_str_has_suffix (name, "position_ids"));
    g_assert_cmpint (a->dtype, ==, BT_DTYPE_I64);
    g_assert_cmpint (a->ndim, ==, 2);
    g_assert_cmpint (a->shape[0], ==, 1);
    for (gint64 k = 0; k < a->shape[1]; k++)
      g_assert_cmpint (((const gint64 *) a->data)[k], ==, k);
    g_autoptr (GError) error = NULL;
    g_assert_null (bt_checkpoint_lookup_f32 (hub, name, &error));
    g_assert_error (error, BT_ERROR, BT_ERROR_DTYPE);
    position_ids++;
  }
  g_assert_cmpuint (shared, ==, bt_checkpoint_n_tensors (ref));
  g_assert_cmpuint (position_ids, >=, 1);
  g_test_message ("hubstyle: %u shared tensors identical, %u position_ids buffers",
                  shared, position_ids);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checkpoint/golden-folders", test_golden_folders);
  g_test_add_func ("/checkpoint/golden-bin", test_golden_bin);
  g_test_add_func ("/checkpoint/hubstyle", test_hubstyle);
  return g_test_run ();
}
