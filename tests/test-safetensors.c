/* test-safetensors.c - the safetensors reader on every golden file, the
 * writer's round trip, and each malformed header rejected with its own
 * error. */
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

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
  g_autofree char *golden = g_build_filename (bt_test_data_dir (), "golden",
      NULL);
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
  g_autofree char *path = g_build_filename (bt_test_data_dir (), "golden",
      "models", "itc_interpolate_t3v4rm_c2",
                                            "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (path, &error);
  g_assert_no_error (error);
  const BtTensor *t = bt_safetensors_lookup (st, "logit_scale");
  g_assert_nonnull (t);
  g_assert_cmpint (t->ndim, ==, 0);
  g_assert_cmpint (bt_tensor_numel (t), ==, 1);
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

  g_autofree char *dir = bt_test_make_tmpdir ("bt-st-XXXXXX");
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

static void
test_metadata (void)
{
  g_autofree char *path = g_build_filename (bt_test_data_dir (), "fixtures",
                                            "f16.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bt_safetensors_metadata (st, "format"), ==, "pt");
  g_assert_null (bt_safetensors_metadata (st, "absent"));
  g_assert_null (bt_safetensors_lookup (st, "__metadata__"));
}

/* A file of an 8-byte header length, `header` padded to 8 bytes, and
 * `data_len` data bytes; `claimed_len` replaces the true header length when
 * not 0. */
static GBytes *
build_file (const char *header, gsize data_len, guint64 claimed_len)
{
  gsize hlen = (strlen (header) + 7) & ~(gsize) 7;
  gsize total = 8 + hlen + data_len;
  guint8 *buf = g_malloc0 (total);
  guint64 len = claimed_len ? claimed_len : hlen;
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) (len >> (8 * i));
  memset (buf + 8, ' ', hlen);
  memcpy (buf + 8, header, strlen (header));
  return g_bytes_new_take (buf, total);
}

typedef struct {
  const char *what;
  const char *header;
  gsize data_len;
  guint64 claimed_len;
  int code;
  const char *needle;
} BadCase;

static const BadCase bad_cases[] = {
  { "header length past the end", "{}", 0, 1000, BT_ERROR_TRUNCATED, "header length" },
  { "bad JSON", "{\"a\": {\"dtype\": \"F32\",", 0, 0, BT_ERROR_FORMAT, "JSON" },
  { "not an object", "[1, 2]", 0, 0, BT_ERROR_FORMAT, "object" },
  { "offsets out of range",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0,
    BT_ERROR_TRUNCATED, "outside the data area" },
  { "offsets reversed",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, 0,
    BT_ERROR_FORMAT, "end before" },
  { "overlapping offsets",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0,
    BT_ERROR_FORMAT, "overlaps" },
  { "a hole in the data",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0,
    BT_ERROR_FORMAT, "no tensor" },
  { "trailing data",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 0,
    BT_ERROR_FORMAT, "cover" },
  { "wrong byte size",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0,
    BT_ERROR_FORMAT, "needs 12 bytes" },
  { "duplicate names",
    "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
    "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, 0,
    BT_ERROR_FORMAT, "more than once" },
  { "unknown dtype",
    "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16, 0,
    BT_ERROR_FORMAT, "F128" },
  { "too many dimensions",
    "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
    "\"data_offsets\":[0,1]}}", 1, 0, BT_ERROR_UNSUPPORTED, "dimensions" },
  { "negative dimension",
    "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, 0,
    BT_ERROR_FORMAT, "non-negative" },
  { "shape overflowing 64 bits",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
    "\"data_offsets\":[0,0]}}", 0, 0, BT_ERROR_FORMAT, "too large" },
  { "metadata not strings", "{\"__metadata__\":{\"a\":1}}", 0, 0,
    BT_ERROR_FORMAT, "__metadata__" },
  { "deep nesting", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]}", 0, 0,
    BT_ERROR_FORMAT, "nests deeper" },
  { "missing data_offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[]}}", 0, 0,
    BT_ERROR_FORMAT, "data_offsets" },
};

/* Each malformed file gives its own error, naming the file. */
static void
test_malformed (void)
{
  g_autofree char *dir = bt_test_make_tmpdir ("bt-st-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "bad.safetensors", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++) {
    const BadCase *c = &bad_cases[i];
    g_autoptr (GBytes) bytes = build_file (c->header, c->data_len, c->claimed_len);
    gsize len;
    const guint8 *data = g_bytes_get_data (bytes, &len);
    g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
    g_autoptr (GError) error = NULL;
    g_assert_null (bt_safetensors_open (path, &error));
    g_test_message ("%s: %s", c->what, error ? error->message : "(no error)");
    g_assert_error (error, BT_ERROR, c->code);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, c->needle));
  }
  g_unlink (path);
  g_rmdir (dir);
}

/* json-glib's parser recurses per nesting level: a deep header must be
 * refused before it reaches it. */
static void
test_deep_nesting (void)
{
  gsize depth = 1000000;
  GString *h = g_string_new ("{\"a\":");
  for (gsize i = 0; i < depth; i++)
    g_string_append_c (h, '[');
  for (gsize i = 0; i < depth; i++)
    g_string_append_c (h, ']');
  g_string_append_c (h, '}');
  g_autoptr (GBytes) bytes = build_file (h->str, 0, 0);
  g_string_free (h, TRUE);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_safetensors_open_from_data (data, len, "deep", &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  /* brackets inside names do not count */
  g_autoptr (GBytes) quoted = build_file ("{\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\":"
                                          "{\"dtype\":\"U8\",\"shape\":[],"
                                          "\"data_offsets\":[0,1]}}", 1, 0);
  data = g_bytes_get_data (quoted, &len);
  g_clear_error (&error);
  g_autoptr (BtSafetensors) st = bt_safetensors_open_from_data (data, len, "quoted", &error);
  g_assert_no_error (error);
  g_assert_nonnull (bt_safetensors_lookup (st, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[\""));
}

/* A valid file cut short, by one byte and down to nothing. */
static void
test_truncated (void)
{
  g_autofree char *golden = g_build_filename (bt_test_data_dir (), "golden",
      "models", "itm_add_t3v3c2",
                                              "model.safetensors", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (golden, &contents, &len, NULL));
  g_autofree char *dir = bt_test_make_tmpdir ("bt-st-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "cut.safetensors", NULL);
  gsize cuts[] = { len - 1, len / 2, 7, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_assert_true (g_file_set_contents (path, contents, (gssize) cuts[i], NULL));
    g_autoptr (GError) error = NULL;
    g_assert_null (bt_safetensors_open (path, &error));
    g_assert_error (error, BT_ERROR, BT_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, path));
  }
  g_unlink (path);
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_safetensors_open (path, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_rmdir (dir);
}

static void
test_open_from_data (void)
{
  g_autoptr (GBytes) bytes = build_file (
      "{\"x\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open_from_data (data, len, "mem", &error);
  g_assert_no_error (error);
  const BtTensor *t = bt_safetensors_lookup (st, "x");
  g_assert_nonnull (t);
  g_assert_true ((const guint8 *) t->data == data + len - 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/golden-files", test_golden_files);
  g_test_add_func ("/safetensors/scalar", test_scalar);
  g_test_add_func ("/safetensors/write-roundtrip", test_write_roundtrip);
  g_test_add_func ("/safetensors/metadata", test_metadata);
  g_test_add_func ("/safetensors/malformed", test_malformed);
  g_test_add_func ("/safetensors/truncated", test_truncated);
  g_test_add_func ("/safetensors/deep-nesting", test_deep_nesting);
  g_test_add_func ("/safetensors/open-from-data", test_open_from_data);
  return g_test_run ();
}
