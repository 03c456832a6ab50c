/* test-hostile.c - hostile inputs to every parser: each is refused with a
 * clear error, nothing is executed, and no input makes the loader hold
 * much more memory than the file it came from. */
#include "bt-checkpoint.h"
#include "bt-json.h"
#include "bt-pickle.h"
#include "bt-safetensors.h"
#include "bt-tokenizer.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

/* Peak RSS of the process so far, in bytes; 0 under AddressSanitizer,
 * whose redzones and quarantine say nothing about our allocations. */
static gsize
peak_rss (void)
{
#ifdef __SANITIZE_ADDRESS__
  return 0;
#endif
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (gsize) ru.ru_maxrss * 1024;
}

/* 2 MB of EMPTY_LIST opcodes: each one byte, each an object. The machine
 * stops at its budget, in proportion to the file. */
static void
test_pickle_memory_bound (void)
{
  const gsize n = 2 * 1024 * 1024;
  g_autofree guint8 *pkl = g_malloc (n + 3);
  pkl[0] = 0x80;
  pkl[1] = 2;
  memset (pkl + 2, ']', n);
  pkl[n + 2] = '.';
  gsize before = peak_rss ();
  g_autoptr (GError) error = NULL;
  GArray *tensors = bt_pickle_load_state_dict (pkl, n + 3, "lists.pkl",
                                               &error);
  g_assert_null (tensors);
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "bytes of objects from"));
  /* 48 bytes of objects per pickle byte, plus allocator slack */
  g_assert_cmpuint (peak_rss () - before, <, 64 * n);
}

/* JSON out is strict: what json-glib's generator wrote as nan.0 or as a
 * raw control byte is null and \u001f; the text parses back. */
static void
test_json_strict_output (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "nan");
  json_builder_add_double_value (b, NAN);
  json_builder_set_member_name (b, "inf");
  json_builder_add_double_value (b, -INFINITY);
  json_builder_set_member_name (b, "one");
  json_builder_add_double_value (b, 1.0);
  json_builder_set_member_name (b, "q\x1f\"\\\n");
  json_builder_add_string_value (b, "a\x01\x7f\tb");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  for (int pretty = 0; pretty < 2; pretty++) {
    g_autofree char *text = bt_json_to_string (root, pretty);
    g_test_message ("%s", text);
    if (!pretty)
      g_assert_cmpstr (text, ==, "{\"nan\":null,\"inf\":null,\"one\":1.0,"
                       "\"q\\u001f\\\"\\\\\\n\":\"a\\u0001\\u007f\\tb\"}");
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_true (json_object_get_null_member (o, "nan"));
    g_assert_cmpstr (json_object_get_string_member (o, "q\x1f\"\\\n"), ==,
                     "a\x01\x7f\tb");
  }
}

/* ---- the gallery: each refused with a clear error ---------------------- */

/* Peak RSS may grow by at most this over a case: none needs more than a
 * few pages of bookkeeping beyond its own (small) input. */
#define SLACK (8 * 1024 * 1024)

/* Asserts `error` is set with `code` and mentions `needle`. */
static void
assert_refused (GError *error, int code, const char *needle)
{
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, BT_ERROR, code);
  if (needle && !strstr (error->message, needle))
    g_error ("\"%s\" does not mention \"%s\"", error->message, needle);
}

/* Pickles that would run code in Python's unpickler: a global that is not
 * torch's, by GLOBAL or STACK_GLOBAL, and REDUCE on things that are not an
 * allowed callable. Each names a command that would leave a file. */
static void
test_pickle_code (void)
{
  static const struct {
    const char *what;
    const char *pickle;
    gsize len;
    int code;
    const char *needle;
  } cases[] = {
#define P(s) s, sizeof (s) - 1
    { "os.system", P ("\x80\x02" "cos\nsystem\nX\x0e\x00\x00\x00touch bt-pwned\x85R."),
      BT_ERROR_UNSAFE, "os.system" },
    { "builtins.eval", P ("\x80\x02" "c__builtin__\neval\nX\x0e\x00\x00\x00touch bt-pwned\x85R."),
      BT_ERROR_UNSAFE, "eval" },
    { "builtins.exec", P ("\x80\x02" "cbuiltins\nexec\nX\x0e\x00\x00\x00touch bt-pwned\x85R."),
      BT_ERROR_UNSAFE, "exec" },
    { "STACK_GLOBAL", P ("\x80\x04\x8c\x02os\x8c\x06system\x93X\x0e\x00\x00\x00touch bt-pwned\x85R."),
      BT_ERROR_UNSAFE, "STACK_GLOBAL" },
    { "REDUCE on a tuple", P ("\x80\x02)X\x0e\x00\x00\x00touch bt-pwned\x85R."),
      BT_ERROR_UNSAFE, "REDUCE" },
    { "REDUCE on a storage type", P ("\x80\x02" "ctorch\nFloatStorage\n)R."),
      BT_ERROR_UNSAFE, "FloatStorage" },
    { "INST", P ("\x80\x02(X\x0e\x00\x00\x00touch bt-pwnedios\nsystem\n."),
      BT_ERROR_UNSAFE, "INST" },
    { "NEWOBJ", P ("\x80\x02" "ccollections\nOrderedDict\n)\x81."),
      BT_ERROR_UNSAFE, "NEWOBJ" },
#undef P
  };
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *marker = g_build_filename (cwd, "bt-pwned", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_test_message ("%s", cases[i].what);
    GArray *t = bt_pickle_load_state_dict ((const guint8 *) cases[i].pickle,
                                           cases[i].len, "evil.pkl", &error);
    g_assert_null (t);
    assert_refused (error, cases[i].code, cases[i].needle);
    g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  }
}

/* A tensor whose dims multiply past size_t, in a pickle and in a
 * safetensors header: refused before anything is sized from them. */
static void
test_dims_overflow (void)
{
  /* _rebuild_tensor_v2(storage of 1 float, 0, (2^62, 2^62), (1, 1), False, {}) */
  static const char pkl[] =
      "\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x86K\x01K\x01\x86\x89}tRu.";
  g_autoptr (GError) error = NULL;
  gsize before = peak_rss ();
  GArray *t = bt_pickle_load_state_dict ((const guint8 *) pkl, sizeof pkl - 1,
                                         "dims.pkl", &error);
  g_assert_null (t);
  assert_refused (error, BT_ERROR_FORMAT, "past its storage");
  g_clear_error (&error);

  const char *header = "{\"w\":{\"dtype\":\"F32\",\"shape\":"
      "[4294967296,4294967296,16],\"data_offsets\":[0,4]}}";
  gsize hlen = strlen (header);
  g_autofree guint8 *file = g_malloc0 (8 + hlen + 4);
  for (int i = 0; i < 8; i++)
    file[i] = (guint8) ((guint64) hlen >> (8 * i));
  memcpy (file + 8, header, hlen);
  BtSafetensors *st = bt_safetensors_open_from_data (file, 8 + hlen + 4,
                                                     "dims.safetensors", &error);
  g_assert_null (st);
  assert_refused (error, BT_ERROR_FORMAT, "dims.safetensors");
  g_assert_cmpuint (peak_rss () - before, <, SLACK);
}

/* safetensors: a header length of 2^63, and two tensors on the same bytes. */
static void
test_safetensors_headers (void)
{
  guint8 huge[16] = { 0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}' };
  g_autoptr (GError) error = NULL;
  gsize before = peak_rss ();
  g_assert_null (bt_safetensors_open_from_data (huge, sizeof huge,
                                                "huge.safetensors", &error));
  assert_refused (error, BT_ERROR_TRUNCATED, "huge.safetensors");
  g_clear_error (&error);

  const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
      "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
      "\"data_offsets\":[4,12]}}";
  gsize hlen = strlen (header);
  g_autofree guint8 *file = g_malloc0 (8 + hlen + 12);
  for (int i = 0; i < 8; i++)
    file[i] = (guint8) ((guint64) hlen >> (8 * i));
  memcpy (file + 8, header, hlen);
  g_assert_null (bt_safetensors_open_from_data (file, 8 + hlen + 12,
                                                "overlap.safetensors", &error));
  assert_refused (error, BT_ERROR_FORMAT, "overlap.safetensors");
  g_assert_cmpuint (peak_rss () - before, <, SLACK);
}

/* pytorch_model.bin: a zip bomb (64 MiB of zeros deflated into 64 KiB)
 * and a stored entry claiming 2 GiB in a 722-byte file. */
static void
test_zip_bombs (void)
{
  const char *names[] = { "zip-bomb.bin", "zip-size-lie.bin" };
  const int codes[] = { BT_ERROR_UNSUPPORTED, BT_ERROR_FORMAT };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = bt_test_data_path ("fixtures", names[i], NULL);
    g_autoptr (GError) error = NULL;
    gsize before = peak_rss ();
    BtCheckpoint *ckpt = bt_checkpoint_open (path, &error);
    g_assert_null (ckpt);
    assert_refused (error, codes[i], names[i]);
    g_assert_cmpuint (peak_rss () - before, <, SLACK);
  }
}

/* config.json values HF would accept or choke on, each refused by the
 * validation before any tensor is sized from it. */
static void
test_absurd_configs (void)
{
  static const struct {
    const char *json;
    const char *key;
  } cases[] = {
    { "{\"hidden_size\": 0}", "hidden_size" },
    { "{\"num_hidden_layers\": 100000}", "num_hidden_layers" },
    { "{\"text_config\": {\"vocab_size\": 1000000000}}", "vocab_size" },
    { "{\"text_config\": {\"hidden_size\": -8}}", "hidden_size" },
    { "{\"vision_config\": {\"image_size\": 2147483647}}", "image_size" },
    { "{\"vision_config\": {\"patch_size\": 0}}", "patch_size" },
    { "{\"text_config\": {\"num_attention_heads\": 7}}", "num_attention_heads" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    BtConfig config;
    g_autoptr (GError) error = NULL;
    gsize before = peak_rss ();
    gboolean ok = bt_config_load_from_data (&config, cases[i].json, -1, &error)
        && bt_config_validate (&config, &error);
    g_assert_false (ok);
    g_assert_nonnull (error);
    g_test_message ("%s -> %s", cases[i].json, error->message);
    g_assert_nonnull (strstr (error->message, cases[i].key));
    g_assert_cmpuint (peak_rss () - before, <, SLACK);
  }
}

/* A tokenizer.json whose vocabulary claims an id of 10^9: refused, not a
 * 10^9-entry table. */
static void
test_huge_vocab_id (void)
{
  g_autofree char *dir = bt_test_make_tmpdir ("bt-vocab-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_assert_true (g_file_set_contents (path, "{\"model\": {\"type\": \"BPE\", "
      "\"vocab\": {\"a\": 1000000000}, \"merges\": []}, "
      "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", -1, NULL));
  g_autoptr (GError) error = NULL;
  gsize before = peak_rss ();
  g_assert_null (bt_tokenizer_load (dir, &error));
  assert_refused (error, BT_ERROR_FORMAT, "out of range");
  g_assert_cmpuint (peak_rss () - before, <, SLACK);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/pickle-memory-bound", test_pickle_memory_bound);
  g_test_add_func ("/hostile/json-strict-output", test_json_strict_output);
  g_test_add_func ("/hostile/pickle-code", test_pickle_code);
  g_test_add_func ("/hostile/dims-overflow", test_dims_overflow);
  g_test_add_func ("/hostile/safetensors-headers", test_safetensors_headers);
  g_test_add_func ("/hostile/zip-bombs", test_zip_bombs);
  g_test_add_func ("/hostile/absurd-configs", test_absurd_configs);
  g_test_add_func ("/hostile/huge-vocab-id", test_huge_vocab_id);
  return g_test_run ();
}
