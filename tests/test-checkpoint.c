/* test-checkpoint.c - model folders: every golden model loads, in each
 * format it ships, with identical tensors. */
#include "bt-checkpoint.h"
#include "bt-pickle.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* Every golden model folder opens; its tensor count is the state_dict size
 * HF reported, names are sorted, and every float tensor reads as f32. */
static void
test_golden_folders (void)
{
  JsonArray *models = json_object_get_array_member (bt_test_manifest (),
      "models");
  g_assert_cmpuint (json_array_get_length (models), >, 0);
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    g_autofree char *dir = g_build_filename (bt_test_data_dir (), "golden",
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
open_checkpoint (const char *path)
{
  g_autoptr (GError) error = NULL;
  BtCheckpoint *ckpt = bt_checkpoint_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ckpt);
  return ckpt;
}

static BtCheckpoint *
open_golden (const char *model, const char *file)
{
  g_autofree char *path = bt_test_data_path ("golden", "models", model, file,
      NULL);
  return open_checkpoint (path);
}

/* Where a golden folder ships both formats, they hold identical tensors. */
static void
test_golden_bin (void)
{
  JsonArray *models = json_object_get_array_member (bt_test_manifest (),
      "models");
  guint n_bins = 0;
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    g_autofree char *bin = g_build_filename (bt_test_data_dir (), "golden",
                                             json_object_get_string_member (m, "dir"),
                                             "pytorch_model.bin", NULL);
    if (!g_file_test (bin, G_FILE_TEST_EXISTS))
      continue;
    g_autofree char *st = g_build_filename (bt_test_data_dir (), "golden",
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

static BtCheckpoint *
open_fixture (const char *file)
{
  g_autofree char *path = bt_test_data_path ("fixtures", file, NULL);
  return open_checkpoint (path);
}

/* `name` read as float32 equals the float32 tensor `name.expect` that the
 * fixture writer stored from the same numbers, bit for bit. */
static void
assert_matches_expect (BtCheckpoint *ckpt, const char *name)
{
  g_autofree char *expect_name = g_strconcat (name, ".expect", NULL);
  g_autoptr (GError) error = NULL;
  const BtTensor *got = bt_checkpoint_lookup_f32 (ckpt, name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  const BtTensor *want = bt_checkpoint_lookup_raw (ckpt, expect_name);
  g_assert_nonnull (want);
  g_assert_cmpint (want->dtype, ==, BT_DTYPE_F32);
  g_assert_true (bt_tensor_has_shape (got, BT_DTYPE_F32, want->ndim, want->shape));
  g_assert_cmpmem (got->data, bt_tensor_nbytes (got), want->data,
                   bt_tensor_nbytes (want));
}

static void
test_half_safetensors (void)
{
  g_autoptr (BtCheckpoint) f16 = open_fixture ("f16.safetensors");
  assert_matches_expect (f16, "w");
  assert_matches_expect (f16, "scalar");
  g_assert_cmpint (bt_checkpoint_lookup_raw (f16, "w")->dtype, ==, BT_DTYPE_F16);
  /* converted once: the same buffer comes back */
  const BtTensor *a = bt_checkpoint_lookup_f32 (f16, "w", NULL);
  g_assert_true (a == bt_checkpoint_lookup_f32 (f16, "w", NULL));
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_checkpoint_lookup_f32 (f16, "ids", &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_DTYPE);
  g_assert_nonnull (strstr (error->message, "f16.safetensors"));

  g_autoptr (BtCheckpoint) bf16 = open_fixture ("bf16.safetensors");
  g_assert_cmpint (bt_checkpoint_lookup_raw (bf16, "w")->dtype, ==, BT_DTYPE_BF16);
  assert_matches_expect (bf16, "w");
}

static gpointer
lookup_thread (gpointer data)
{
  BtCheckpoint *ckpt = data;
  return (gpointer) bt_checkpoint_lookup_f32 (ckpt, "w", NULL);
}

/* Threads racing for the first conversion all get the one copy. */
static void
test_f32_threads (void)
{
  g_autoptr (BtCheckpoint) ckpt = open_fixture ("f16.safetensors");
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new ("lookup", lookup_thread, ckpt);
  gpointer first = g_thread_join (threads[0]);
  g_assert_nonnull (first);
  for (int i = 1; i < 4; i++)
    g_assert_true (g_thread_join (threads[i]) == first);
}

/* One checkpoint, sharded in both formats, the same tensors either way. */
static void
test_sharded (void)
{
  g_autoptr (BtCheckpoint) st = open_fixture ("sharded-safetensors");
  g_autoptr (BtCheckpoint) bin = open_fixture ("sharded-bin");
  g_assert_true (g_str_has_suffix (bt_checkpoint_get_path (st),
                                   "model.safetensors.index.json"));
  g_assert_true (g_str_has_suffix (bt_checkpoint_get_path (bin),
                                   "pytorch_model.bin.index.json"));
  g_assert_cmpuint (bt_checkpoint_n_tensors (st), ==, 5);
  g_assert_cmpuint (bt_checkpoint_n_tensors (bin), ==, 5);
  assert_same_tensors (st, bin);
  assert_same_tensors (bin, st);
  /* the aligned float32 data of a .bin is used in place */
  const BtTensor *raw = bt_checkpoint_lookup_raw (bin, "encoder.weight");
  g_assert_true (bt_checkpoint_lookup_f32 (bin, "encoder.weight", NULL) == raw);
}

static void
test_half_bin (void)
{
  g_autoptr (BtCheckpoint) ckpt = open_fixture ("half.bin");
  g_assert_cmpint (bt_checkpoint_lookup_raw (ckpt, "w16")->dtype, ==, BT_DTYPE_F16);
  g_assert_cmpint (bt_checkpoint_lookup_raw (ckpt, "wbf16")->dtype, ==, BT_DTYPE_BF16);
  assert_matches_expect (ckpt, "w16");
  assert_matches_expect (ckpt, "wbf16");
}

/* Views of one storage at offsets, transposed, strided, expanded. */
static void
test_shared_storage (void)
{
  g_autoptr (BtCheckpoint) ckpt = open_fixture ("shared.bin");
  const char *views[] = { "rows", "tail", "transposed", "every_other",
                          "expanded", "scalar", "empty" };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    assert_matches_expect (ckpt, views[i]);
  const BtTensor *ids = bt_checkpoint_lookup_raw (ckpt, "position_ids");
  gint64 shape[2] = { 2, 4 };
  g_assert_true (bt_tensor_has_shape (ids, BT_DTYPE_I64, 2, shape));
  for (int k = 0; k < 8; k++)
    g_assert_cmpint (((const gint64 *) ids->data)[k], ==, k % 4);
}

static void
assert_open_fails (const char *fixture, int code, const char *needle)
{
  g_autofree char *path = g_build_filename (bt_test_data_dir (), "fixtures",
      fixture, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_checkpoint_open (path, &error));
  g_assert_error (error, BT_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fixture));
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
}

/* A pickle that calls os.system is refused, and nothing runs. */
static void
test_unsafe_pickle (void)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *marker = g_build_filename (cwd, "bt-pickle-was-executed", NULL);
  g_unlink (marker);
  assert_open_fails ("os-system.bin", BT_ERROR_UNSAFE, "system");
  assert_open_fails ("os-system-bare.bin", BT_ERROR_UNSAFE, "os.system");
  assert_open_fails ("not-a-state-dict.bin", BT_ERROR_FORMAT, "state_dict");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

static void
test_missing_shard (void)
{
  g_autofree char *dir = bt_test_make_tmpdir ("bt-ckpt-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "model.safetensors.index.json", NULL);
  const char *json = "{\"weight_map\": {\"a\": \"model-00001-of-00009.safetensors\"}}";
  g_assert_true (g_file_set_contents (index, json, -1, NULL));
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_checkpoint_open (dir, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "model-00001-of-00009.safetensors"));

  /* a shard name that leaves the folder is refused before any open */
  g_clear_error (&error);
  json = "{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}";
  g_assert_true (g_file_set_contents (index, json, -1, NULL));
  g_assert_null (bt_checkpoint_open (dir, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, index));

  /* an empty index, an index without a weight_map, a hostile one */
  const char *bad_indexes[] = { "", "{}", "{\"weight_map\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
                                "{\"weight_map\": {\"a\": 1}}", "{\"weight_map\": {}}" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_indexes); i++) {
    g_clear_error (&error);
    g_assert_true (g_file_set_contents (index, bad_indexes[i], -1, NULL));
    g_assert_null (bt_checkpoint_open (dir, &error));
    g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, index));
  }

  /* nothing to load at all */
  g_clear_error (&error);
  g_unlink (index);
  g_assert_null (bt_checkpoint_open (dir, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, dir));
  g_rmdir (dir);
}

/* Every size and offset in zip64 form, as in checkpoints above 4 GiB. */
static void
test_zip64 (void)
{
  g_autoptr (BtCheckpoint) z = open_fixture ("zip64.bin");
  g_autoptr (BtCheckpoint) st = open_fixture ("sharded-safetensors");
  g_assert_cmpuint (bt_checkpoint_n_tensors (z), ==, bt_checkpoint_n_tensors (st));
  assert_same_tensors (z, st);
}

/* A .bin cut short loses its zip directory. */
static void
test_truncated_bin (void)
{
  g_autofree char *src = g_build_filename (bt_test_data_dir (), "fixtures",
      "half.bin", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_autofree char *dir = bt_test_make_tmpdir ("bt-ckpt-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "pytorch_model.bin", NULL);
  gsize cuts[] = { len - 1, len / 2, 3 };
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_assert_true (g_file_set_contents (path, contents, (gssize) cuts[i], NULL));
    g_autoptr (GError) error = NULL;
    g_assert_null (bt_checkpoint_open (dir, &error));
    g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, path));
  }
  g_unlink (path);
  g_rmdir (dir);
}

typedef struct {
  const char *what;
  const char *bytes;
  gsize len;
  int code;
  const char *needle;
} PickleCase;

#define P(s) s, sizeof (s) - 1
/* a float storage '0' of 4 elements, memo 0 = the _rebuild_tensor_v2
 * global, then (storage, offset, size, stride, False, OrderedDict()) */
#define STORAGE4 "(X\7\0\0\0storagectorch\nFloatStorage\nX\1\0\0\0" \
  "0X\3\0\0\0cpuK\4tQ"
#define REBUILD "ctorch._utils\n_rebuild_tensor_v2\nq\0"
#define HOOKS "\x89" "ccollections\nOrderedDict\n)Rt"

static const PickleCase pickle_cases[] = {
  { "INST", P ("\x80\2(ios\nsystem\nX\2\0\0\0ls."), BT_ERROR_UNSAFE, "INST" },
  { "STACK_GLOBAL", P ("\x80\2X\2\0\0\0osX\6\0\0\0system\x93."),
    BT_ERROR_UNSAFE, "STACK_GLOBAL" },
  { "builtins.eval", P ("\x80\2cbuiltins\neval\n."), BT_ERROR_UNSAFE, "builtins.eval" },
  { "calling a storage type", P ("\x80\2ctorch\nFloatStorage\n)R."),
    BT_ERROR_UNSAFE, "FloatStorage" },
  { "unknown opcode", P ("\x80\2\xff."), BT_ERROR_FORMAT, "0xff" },
  { "no STOP", P ("\x80\2}"), BT_ERROR_TRUNCATED, "more bytes" },
  { "string past the end", P ("\x80\2X\xff\0\0\0ab."), BT_ERROR_TRUNCATED, "more bytes" },
  { "stack underflow", P ("\x80\2s."), BT_ERROR_FORMAT, "underflow" },
  { "unset memo", P ("\x80\2h\5."), BT_ERROR_FORMAT, "memo" },
  { "self-containing list", P ("\x80\2]q\0h\0a."), BT_ERROR_FORMAT, "state_dict" },
  { "view past its storage",
    P ("\x80\2}X\1\0\0\0w" REBUILD "(" STORAGE4 "K\2K\3\x85K\1\x85" HOOKS "Rs."),
    BT_ERROR_FORMAT, "past its storage" },
  { "negative stride",
    P ("\x80\2}X\1\0\0\0w" REBUILD "(" STORAGE4 "K\0K\2\x85J\xff\xff\xff\xff\x85"
       HOOKS "Rs."), BT_ERROR_FORMAT, "non-negative" },
  { "duplicate name",
    P ("\x80\2}(X\1\0\0\0w" REBUILD "(" STORAGE4 "K\0K\1\x85K\1\x85" HOOKS "R"
       "X\1\0\0\0wh\0(" STORAGE4 "K\0K\1\x85K\1\x85" HOOKS "Ru."),
    BT_ERROR_FORMAT, "twice" },
};

/* The interpreter on hand-written pickles: each refusal with its code. */
static void
test_pickle_errors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (pickle_cases); i++) {
    const PickleCase *c = &pickle_cases[i];
    g_autoptr (GError) error = NULL;
    GArray *t = bt_pickle_load_state_dict ((const guint8 *) c->bytes, c->len,
                                           "test.pkl", &error);
    g_test_message ("%s: %s", c->what, error ? error->message : "(accepted)");
    g_assert_null (t);
    g_assert_error (error, BT_ERROR, c->code);
    g_assert_nonnull (strstr (error->message, "test.pkl"));
    g_assert_nonnull (strstr (error->message, c->needle));
  }

  /* and the well-formed one these are made from */
  static const char good[] =
      "\x80\2}X\1\0\0\0w" REBUILD "(" STORAGE4 "K\1K\3\x85K\1\x85" HOOKS "Rs.";
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) t = bt_pickle_load_state_dict ((const guint8 *) good,
                                                    sizeof (good) - 1, "good", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->len, ==, 1);
  const BtPickleTensor *pt = &g_array_index (t, BtPickleTensor, 0);
  g_assert_cmpstr (pt->name, ==, "w");
  g_assert_cmpstr (pt->storage_key, ==, "0");
  g_assert_cmpint (pt->dtype, ==, BT_DTYPE_F32);
  g_assert_cmpint (pt->storage_numel, ==, 4);
  g_assert_cmpint (pt->storage_offset, ==, 1);
  g_assert_cmpint (pt->ndim, ==, 1);
  g_assert_cmpint (pt->shape[0], ==, 3);
  g_assert_cmpint (pt->stride[0], ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checkpoint/golden-folders", test_golden_folders);
  g_test_add_func ("/checkpoint/golden-bin", test_golden_bin);
  g_test_add_func ("/checkpoint/hubstyle", test_hubstyle);
  g_test_add_func ("/checkpoint/half-safetensors", test_half_safetensors);
  g_test_add_func ("/checkpoint/f32-threads", test_f32_threads);
  g_test_add_func ("/checkpoint/sharded", test_sharded);
  g_test_add_func ("/checkpoint/half-bin", test_half_bin);
  g_test_add_func ("/checkpoint/shared-storage", test_shared_storage);
  g_test_add_func ("/checkpoint/unsafe-pickle", test_unsafe_pickle);
  g_test_add_func ("/checkpoint/missing-shard", test_missing_shard);
  g_test_add_func ("/checkpoint/zip64", test_zip64);
  g_test_add_func ("/checkpoint/truncated-bin", test_truncated_bin);
  g_test_add_func ("/checkpoint/pickle-errors", test_pickle_errors);
  return g_test_run ();
}
