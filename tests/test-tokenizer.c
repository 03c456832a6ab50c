/* test-tokenizer.c - the tokenizer against HF's golden ids and strings. */
#include "bt-tokenizer.h"
#include "bt-test-util.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>

static GArray *
ids_from_json (JsonArray *a)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < json_array_get_length (a); i++) {
    gint64 v = json_array_get_int_element (a, i);
    g_array_append_val (ids, v);
  }
  return ids;
}

static void
assert_ids_equal (GArray *got, GArray *want, const char *what, const char *text)
{
  gboolean same = got->len == want->len && (got->len == 0 ||
      memcmp (got->data, want->data, got->len * sizeof (gint64)) == 0);
  if (!same)
    g_error ("%s differ for %s", what, text);
}

static GArray *
encode (BtTokenizer *tok, const char *text, gboolean special, int max_length)
{
  g_autoptr (GError) error = NULL;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_assert_true (bt_tokenizer_encode (tok, text, special, max_length, ids, &error));
  g_assert_no_error (error);
  return ids;
}

static void
copy_file (const char *from_dir, const char *to_dir, const char *name)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize len;
  if (!g_file_get_contents (from, &contents, &len, NULL))
    return;
  g_assert_true (g_file_set_contents (to, contents, (gssize) len, NULL));
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

/* A copy of `dir` without tokenizer.json, so that vocab.json + merges.txt
 * are read. */
static char *
vocab_merges_copy (const char *dir)
{
  char *tmp = g_dir_make_tmp ("bt-tok-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  const char *names[] = { "vocab.json", "merges.txt", "tokenizer_config.json",
    "special_tokens_map.json" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    copy_file (dir, tmp, names[i]);
  return tmp;
}

/* ---- the full GPT-2 vocabulary: every case, every variant ----------------- */

static void
check_decoded (BtTokenizer *tok, JsonObject *c, const char *key, GArray *ids,
    gboolean skip, gboolean clean)
{
  g_autofree char *got = bt_tokenizer_decode (tok, (gint64 *) ids->data,
      (int) ids->len, skip, clean);
  const char *want = json_object_get_string_member (c, key);
  if (strcmp (got, want) != 0)
    g_error ("%s: got '%s', want '%s'", key, got, want);
}

static void
check_full_cases (const char *dir)
{
  g_autofree char *cases_path = bt_test_data_path ("golden",
      "tokenizer-full", "cases.json", NULL);
  g_autoptr (JsonNode) root = bt_test_load_json (cases_path);
  JsonObject *top = json_node_get_object (root);
  JsonArray *cases = json_object_get_array_member (top, "cases");
  g_autoptr (GError) error = NULL;

  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (BtTokenizer) tok = bt_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  g_test_message ("%s loaded in %.1f ms", dir,
      (g_get_monotonic_time () - t0) / 1000.0);
  /* generous: the budget of `bridgetower tokenize` is 0.2 s, checked by the bench */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * G_USEC_PER_SEC);

  g_assert_cmpint (bt_tokenizer_vocab_size (tok), ==,
      json_object_get_int_member (top, "vocab_size"));
  g_assert_cmpint (bt_tokenizer_model_max_length (tok), ==,
      json_object_get_int_member (top, "model_max_length"));
  g_assert_cmpint (bt_tokenizer_mask_id (tok), ==, bt_tokenizer_token_to_id (tok, "<mask>"));
  g_assert_cmpint (bt_tokenizer_pad_id (tok), ==, bt_tokenizer_token_to_id (tok, "<pad>"));

  guint n = json_array_get_length (cases);
  for (guint i = 0; i < n; i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    const char *text = json_object_get_string_member (c, "text");
    static const struct {
      const char *key;
      gboolean special;
      int max_length;
    } variants[] = {
      { "input_ids", TRUE, 0 }, { "input_ids_no_special", FALSE, 0 },
      { "input_ids_trunc16", TRUE, 16 }, { "input_ids_trunc6", TRUE, 6 },
    };
    for (gsize v = 0; v < G_N_ELEMENTS (variants); v++) {
      g_autoptr (GArray) want = ids_from_json (json_object_get_array_member (c,
              variants[v].key));
      g_autoptr (GArray) got = encode (tok, text, variants[v].special,
          variants[v].max_length);
      assert_ids_equal (got, want, variants[v].key, text);
    }

    /* byte-level pieces: the tokens of the ids without <s> </s> */
    JsonArray *tokens = json_object_get_array_member (c, "tokens");
    g_autoptr (GArray) plain = encode (tok, text, FALSE, 0);
    g_assert_cmpuint (plain->len, ==, json_array_get_length (tokens));
    for (guint t = 0; t < plain->len; t++)
      g_assert_cmpstr (bt_tokenizer_id_to_token (tok, g_array_index (plain, gint64, t)),
          ==, json_array_get_string_element (tokens, t));

    g_autoptr (GArray) ids = ids_from_json (json_object_get_array_member (c, "input_ids"));
    check_decoded (tok, c, "decoded_keep_special", ids, FALSE, FALSE);
    check_decoded (tok, c, "decoded_skip_special", ids, TRUE, FALSE);
    check_decoded (tok, c, "decoded_keep_special_cleanup", ids, FALSE, TRUE);
    check_decoded (tok, c, "decoded_skip_special_cleanup", ids, TRUE, TRUE);
    g_autoptr (GArray) trunc = ids_from_json (json_object_get_array_member (c,
            "input_ids_trunc16"));
    check_decoded (tok, c, "decoded_trunc16_skip_special", trunc, TRUE, FALSE);
  }
  g_test_message ("%u cases x 4 id variants, tokens, 5 decodings: all equal", n);
}

static void
test_full_tokenizer_json (void)
{
  g_autofree char *dir = bt_test_data_path ("golden", "tokenizer-full", NULL);
  check_full_cases (dir);
}

static void
test_full_vocab_merges (void)
{
  g_autofree char *dir = bt_test_data_path ("golden", "tokenizer-full", NULL);
  g_autofree char *copy = vocab_merges_copy (dir);
  check_full_cases (copy);
  remove_dir (copy);
}

/* ---- the tiny models' folders: processor inputs of every case ------------ */

/* The I64 tensor `name` of a safetensors file, as rows x cols. */
static gint64 *
read_i64 (const char *path, const char *name, int *rows, int *cols)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  guint64 header_len;
  memcpy (&header_len, data, 8);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, data + 8, (gssize) header_len, NULL));
  JsonObject *info = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), name);
  g_assert_nonnull (info);
  g_assert_cmpstr (json_object_get_string_member (info, "dtype"), ==, "I64");
  JsonArray *shape = json_object_get_array_member (info, "shape");
  JsonArray *offsets = json_object_get_array_member (info, "data_offsets");
  *rows = (int) json_array_get_int_element (shape, 0);
  *cols = (int) json_array_get_int_element (shape, 1);
  gint64 begin = json_array_get_int_element (offsets, 0);
  g_assert_cmpint (json_array_get_int_element (offsets, 1) - begin, ==,
      (gint64) *rows * *cols * 8);
  return g_memdup2 (data + 8 + header_len + begin, (gsize) *rows * *cols * 8);
}

static void
check_model_case (BtTokenizer *tok, JsonObject *c, const char *expected_path)
{
  JsonArray *texts = json_object_get_array_member (c, "texts");
  guint n = json_array_get_length (texts);
  const char **list = g_new (const char *, n);
  for (guint i = 0; i < n; i++)
    list[i] = json_array_get_string_element (texts, i);
  /* truncation=True means the folder's model_max_length, 32 for the tiny
   * models; folders without tokenizer_config.json have none (HF: no
   * truncation), so the case's 32 is passed as HF's max_length would be. */
  int max_length = 0;
  if (strstr (json_object_get_string_member (c, "processor_call"), "truncation"))
    max_length = bt_tokenizer_model_max_length (tok) == G_MAXINT ? 32 :
        bt_tokenizer_model_max_length (tok);

  BtTokenBatch batch;
  g_autoptr (GError) error = NULL;
  g_assert_true (bt_tokenizer_encode_batch (tok, list, (int) n, TRUE, max_length,
          &batch, &error));
  g_assert_no_error (error);
  JsonObject *keys = json_object_get_object_member (c, "input_keys");
  const char *names[2] = { json_object_get_string_member (keys, "input_ids"),
    json_object_get_string_member (keys, "attention_mask") };
  gint64 *got[2] = { batch.input_ids, batch.attention_mask };
  for (int k = 0; k < 2; k++) {
    int rows, cols;
    g_autofree gint64 *want = read_i64 (expected_path, names[k], &rows, &cols);
    g_assert_cmpint (batch.batch, ==, rows);
    g_assert_cmpint (batch.seq_len, ==, cols);
    g_assert_cmpmem (got[k], rows * cols * 8, want, rows * cols * 8);
  }
  bt_token_batch_clear (&batch);
  g_free (list);
}

static void
check_model_folder (const char *dir, JsonArray *cases, const char *source,
    gboolean has_config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BtTokenizer) tok = bt_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  g_autofree char *manifest_path = bt_test_data_path ("golden",
      "manifest.json", NULL);
  g_autoptr (JsonNode) manifest = bt_test_load_json (manifest_path);
  JsonObject *tiny = json_object_get_object_member (json_node_get_object (manifest),
      "vocab_tiny");
  JsonObject *special = json_object_get_object_member (tiny, "special_ids");
  g_assert_cmpint (bt_tokenizer_vocab_size (tok), ==,
      json_object_get_int_member (tiny, "vocab_size"));
  g_assert_cmpint (bt_tokenizer_mask_id (tok), ==,
      json_object_get_int_member (special, "mask <mask>"));
  g_assert_cmpint (bt_tokenizer_pad_id (tok), ==,
      json_object_get_int_member (special, "pad <pad>"));
  /* the golden README: tokenizer model_max_length 32; none (HF's
   * VERY_LARGE_INTEGER) without tokenizer_config.json */
  g_assert_cmpint (bt_tokenizer_model_max_length (tok), ==, has_config ? 32 : G_MAXINT);

  g_autofree char *expected = g_strdup_printf ("%s.safetensors", source);
  g_autofree char *expected_path = bt_test_data_path ("golden",
      "expected", expected, NULL);
  guint checked = 0;
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    if (g_strcmp0 (json_object_get_string_member (c, "model"), source) == 0) {
      check_model_case (tok, c, expected_path);
      checked++;
    }
  }
  g_test_message ("%s: %u cases", dir, checked);
}

static void
test_model_folders (void)
{
  g_autofree char *manifest_path = bt_test_data_path ("golden",
      "manifest.json", NULL);
  g_autoptr (JsonNode) manifest = bt_test_load_json (manifest_path);
  JsonObject *top = json_node_get_object (manifest);
  JsonArray *cases = json_object_get_array_member (top, "cases");
  JsonObject *hub = json_object_get_object_member (top, "hubstyle_folders");

  g_autofree char *models = bt_test_data_path ("golden", "models", NULL);
  g_autoptr (GDir) d = g_dir_open (models, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  guint folders = 0;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *dir = g_build_filename (models, name, NULL);
    const char *source = name;
    if (json_object_has_member (hub, name))
      source = json_object_get_string_member (
          json_object_get_object_member (hub, name), "same_outputs_as");
    g_autofree char *config = g_build_filename (dir, "tokenizer_config.json", NULL);
    g_autofree char *merges = g_build_filename (dir, "merges.txt", NULL);
    gboolean has_config = g_file_test (config, G_FILE_TEST_EXISTS);
    check_model_folder (dir, cases, source, has_config);
    if (g_file_test (merges, G_FILE_TEST_EXISTS)) {
      g_autofree char *copy = vocab_merges_copy (dir);
      check_model_folder (copy, cases, source, has_config);
      remove_dir (copy);
    }
    folders++;
  }
  g_assert_cmpuint (folders, >=, 9);

  /* vocab-tiny: the files every tiny model shares, both layouts */
  g_autofree char *tiny = bt_test_data_path ("golden", "vocab-tiny", NULL);
  check_model_folder (tiny, cases, "itm_add_t3v3c2", FALSE);
  g_autofree char *copy = vocab_merges_copy (tiny);
  check_model_folder (copy, cases, "mlm_scaled_add_t3v3c3", FALSE);
  remove_dir (copy);
}

/* ---- properties and errors ---------------------------------------------- */

static BtTokenizer *
load_full (void)
{
  g_autofree char *dir = bt_test_data_path ("golden", "tokenizer-full", NULL);
  g_autoptr (GError) error = NULL;
  BtTokenizer *tok = bt_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  return tok;
}

/* Byte-level BPE loses nothing: decoding the ids of any text without
 * special tokens gives the text back. */
static void
test_round_trip (void)
{
  g_autoptr (BtTokenizer) tok = load_full ();
  static const char *const pieces[] = { "a", "Z", "é", "ß", "1", "٣", " ", "  ",
    "\t", "\n", "\r\n", "'s", "'", "'LL", "!", "?.", "—", "😀", "👍🏽", "\u200d",
    "\u0301", "中", "ไ", "\xc2\xa0", "\u3000", "x\x1c", "<", "s>" };
  GRand *rand = g_rand_new_with_seed (7);
  for (int round = 0; round < 500; round++) {
    g_autoptr (GString) text = g_string_new (NULL);
    int n = g_rand_int_range (rand, 0, 24);
    for (int i = 0; i < n; i++)
      g_string_append (text, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
    g_autoptr (GArray) ids = encode (tok, text->str, FALSE, 0);
    g_autofree char *back = bt_tokenizer_decode (tok, (gint64 *) ids->data,
        (int) ids->len, FALSE, FALSE);
    g_assert_cmpstr (back, ==, text->str);
  }
  g_rand_free (rand);

  /* one long word: the heap keeps BPE fast where pairwise rescans would not */
  g_autofree char *word = g_strnfill (200000, 'a');
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GArray) ids = encode (tok, word, FALSE, 0);
  g_test_message ("a 200000-letter word: %u ids in %.1f ms", ids->len,
      (g_get_monotonic_time () - t0) / 1000.0);
  g_autofree char *back = bt_tokenizer_decode (tok, (gint64 *) ids->data,
      (int) ids->len, FALSE, FALSE);
  g_assert_cmpstr (back, ==, word);
}

static void
test_special_tokens (void)
{
  g_autoptr (BtTokenizer) tok = load_full ();
  g_autoptr (GArray) empty = encode (tok, "", TRUE, 0);
  g_assert_cmpuint (empty->len, ==, 2);
  g_assert_cmpstr (bt_tokenizer_id_to_token (tok, g_array_index (empty, gint64, 0)), ==, "<s>");
  g_assert_cmpstr (bt_tokenizer_id_to_token (tok, g_array_index (empty, gint64, 1)), ==, "</s>");
  g_autoptr (GArray) none = encode (tok, "", FALSE, 0);
  g_assert_cmpuint (none->len, ==, 0);

  g_assert_null (bt_tokenizer_id_to_token (tok, -1));
  g_assert_null (bt_tokenizer_id_to_token (tok, bt_tokenizer_vocab_size (tok)));
  g_assert_cmpint (bt_tokenizer_token_to_id (tok, "no such token"), ==, -1);
  g_assert_cmpstr (bt_tokenizer_id_to_token (tok, bt_tokenizer_mask_id (tok)), ==, "<mask>");

  /* ids outside the vocabulary are left out of the text */
  gint64 odd[] = { -5, 68, 1 << 30 };
  g_autofree char *text = bt_tokenizer_decode (tok, odd, 3, FALSE, FALSE);
  g_assert_cmpstr (text, ==, "a");

  /* appending to a non-empty array keeps what was there */
  g_autoptr (GArray) ids = encode (tok, "x", FALSE, 0);
  g_assert_true (bt_tokenizer_encode (tok, "x", FALSE, 0, ids, NULL));
  g_assert_cmpuint (ids->len, ==, 2);
  g_assert_cmpint (g_array_index (ids, gint64, 0), ==, g_array_index (ids, gint64, 1));
}

static void
test_bad_input (void)
{
  g_autoptr (BtTokenizer) tok = load_full ();
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  const char *bad[] = { "caf\xe9", "\xf0\x9f\x98", "a\xc0\xaf" "b", "\xed\xa0\x80" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_false (bt_tokenizer_encode (tok, bad[i], TRUE, 0, ids, &error));
    g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
    g_clear_error (&error);
  }
  BtTokenBatch batch;
  g_assert_false (bt_tokenizer_encode_batch (tok, NULL, 0, TRUE, 0, &batch, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_error (&error);
  const char *mixed[] = { "fine", "caf\xe9" };
  g_assert_false (bt_tokenizer_encode_batch (tok, mixed, 2, TRUE, 0, &batch, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_assert_null (batch.input_ids);
}

/* A folder with tokenizer-full's files, one of them replaced by `contents`. */
static void
expect_load_error (const char *file, const char *contents, int code)
{
  g_autofree char *full = bt_test_data_path ("golden", "tokenizer-full", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("bt-tok-XXXXXX", NULL);
  const char *names[] = { "tokenizer.json", "vocab.json", "merges.txt" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    copy_file (full, tmp, names[i]);
  if (strcmp (file, "tokenizer.json") != 0) {
    g_autofree char *json = g_build_filename (tmp, "tokenizer.json", NULL);
    g_unlink (json);
  }
  g_autofree char *path = g_build_filename (tmp, file, NULL);
  if (contents)
    g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  else
    g_unlink (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtTokenizer) tok = bt_tokenizer_load (tmp, &error);
  g_assert_null (tok);
  g_assert_error (error, BT_ERROR, code);
  g_test_message ("%s -> %s", file, error->message);
  remove_dir (tmp);
}

static void
test_load_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_tokenizer_load ("/nonexistent/bt-folder", &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);

  const char *vocab = "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", "
      "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [%s]}, "
      "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"normalizer\": %s}";
  g_autofree char *ok_pair = g_strdup_printf (vocab, "[\"a\", \"b\"]", "null");
  g_autofree char *bad_merge = g_strdup_printf (vocab, "\"ab\"", "null");
  g_autofree char *bad_pair = g_strdup_printf (vocab, "[\"a\"]", "null");
  g_autofree char *normalizer = g_strdup_printf (vocab, "\"a b\"",
      "{\"type\": \"Lowercase\"}");
  g_autofree char *cut = g_strndup (ok_pair, strlen (ok_pair) - 3);

  expect_load_error ("tokenizer.json", cut, BT_ERROR_FORMAT);
  expect_load_error ("tokenizer.json", bad_merge, BT_ERROR_FORMAT);
  expect_load_error ("tokenizer.json", bad_pair, BT_ERROR_FORMAT);
  expect_load_error ("tokenizer.json", normalizer, BT_ERROR_UNSUPPORTED);
  expect_load_error ("tokenizer.json", "[1, 2]", BT_ERROR_FORMAT);
  /* what HF refuses or decodes ambiguously: two tokens on one id, a token
   * twice, no token at all, merges of tokens (or into tokens) it lacks */
  const char *bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": %s, "
      "\"merges\": [%s]}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}";
  const char *bad_bpe[][2] = {
    { "{\"a\": 0, \"b\": 0, \"ab\": 2}", "\"a b\"" },
    { "{\"a\": 0, \"a\": 1, \"ab\": 2}", "" },
    { "{}", "" },
    { "{\"a\": 0, \"b\": 1, \"ab\": 2}", "\"a c\"" },
    { "{\"a\": 0, \"b\": 1, \"ab\": 2}", "[\"b\", \"a\"]" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_bpe); i++) {
    g_autofree char *json = g_strdup_printf (bpe, bad_bpe[i][0], bad_bpe[i][1]);
    expect_load_error ("tokenizer.json", json, BT_ERROR_FORMAT);
  }
  expect_load_error ("vocab.json", "{\"a\": 7, \"b\": 7}", BT_ERROR_FORMAT);
  expect_load_error ("merges.txt", "#version: 0.2\n\xc4\xa0 zzzqqq\n",
      BT_ERROR_FORMAT);
  expect_load_error ("tokenizer.json", "", BT_ERROR_FORMAT);
  expect_load_error ("vocab.json", "{\"a\": -1}", BT_ERROR_FORMAT);
  expect_load_error ("vocab.json", "{\"a\": 1.5}", BT_ERROR_FORMAT);
  expect_load_error ("vocab.json", "{\"a\\ud800\": 1}", BT_ERROR_FORMAT);
  expect_load_error ("merges.txt", "#version: 0.2\nab\n", BT_ERROR_FORMAT);
  expect_load_error ("merges.txt", NULL, BT_ERROR_IO);
  expect_load_error ("tokenizer_config.json", "{\"mask_token\": 5}", BT_ERROR_FORMAT);
  expect_load_error ("tokenizer_config.json", "{oops", BT_ERROR_FORMAT);
}

/* ---- threads ------------------------------------------------------------- */

typedef struct {
  BtTokenizer *tok;
  JsonArray *cases;
  gboolean ok;
} ThreadJob;

static gpointer
encode_all (gpointer data)
{
  ThreadJob *job = data;
  job->ok = TRUE;
  for (int round = 0; round < 3; round++) {
    for (guint i = 0; i < json_array_get_length (job->cases); i++) {
      JsonObject *c = json_array_get_object_element (job->cases, i);
      g_autoptr (GArray) want = ids_from_json (json_object_get_array_member (c,
              "input_ids"));
      g_autoptr (GArray) got = encode (job->tok,
          json_object_get_string_member (c, "text"), TRUE, 0);
      job->ok &= got->len == want->len &&
          memcmp (got->data, want->data, got->len * sizeof (gint64)) == 0;
    }
  }
  return NULL;
}

/* One tokenizer, its word cache filled from two threads at once. */
static void
test_threads (void)
{
  g_autoptr (BtTokenizer) tok = load_full ();
  g_autofree char *cases_path = bt_test_data_path ("golden",
      "tokenizer-full", "cases.json", NULL);
  g_autoptr (JsonNode) root = bt_test_load_json (cases_path);
  JsonArray *cases = json_object_get_array_member (json_node_get_object (root), "cases");
  ThreadJob jobs[2] = { { tok, cases, FALSE }, { tok, cases, FALSE } };
  GThread *threads[2];
  for (int i = 0; i < 2; i++)
    threads[i] = g_thread_new ("encode", encode_all, &jobs[i]);
  for (int i = 0; i < 2; i++) {
    g_thread_join (threads[i]);
    g_assert_true (jobs[i].ok);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/full/tokenizer-json", test_full_tokenizer_json);
  g_test_add_func ("/tokenizer/full/vocab-merges", test_full_vocab_merges);
  g_test_add_func ("/tokenizer/model-folders", test_model_folders);
  g_test_add_func ("/tokenizer/round-trip", test_round_trip);
  g_test_add_func ("/tokenizer/special-tokens", test_special_tokens);
  g_test_add_func ("/tokenizer/bad-input", test_bad_input);
  g_test_add_func ("/tokenizer/load-errors", test_load_errors);
  g_test_add_func ("/tokenizer/threads", test_threads);
  return g_test_run ();
}
