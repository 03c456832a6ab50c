/* fuzz-tokenizer.c - libFuzzer target for the tokenizer. An input that
 * starts with '{' is a tokenizer.json: loaded, then used on a few texts. Any
 * other input is a text for a small byte-level tokenizer built once: encoded
 * every way, decoded, and checked to decode back to itself. */
#include "bt-tokenizer.h"
#include "bt-byte-level-private.h"

#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *json_dir;
static char *json_path;
static BtTokenizer *text_tok;

static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      g_string_append_c (out, '\\');
    g_string_append_c (out, *s);
  }
  g_string_append_c (out, '"');
}

/* <s> <pad> </s> <unk>, the 256 byte characters, a few merges, <mask>. */
static char *
small_tokenizer_json (void)
{
  static const char *const merges[][2] = {
    { "\xc4\xa0", "t" }, { "h", "e" }, { "\xc4\xa0t", "he" }, { "a", "a" },
    { "aa", "aa" }, { "'", "s" }, { "\xc4\xa0", "\xc4\xa0" },
  };
  GString *j = g_string_new ("{\"model\": {\"type\": \"BPE\", \"vocab\": {"
      "\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3");
  int id = 4;
  for (int b = 0; b < 256; b++) {
    char c[8];
    c[g_unichar_to_utf8 (bt_byte_level_char ((guint8) b), c)] = '\0';
    g_string_append (j, ", ");
    append_json_string (j, c);
    g_string_append_printf (j, ": %d", id++);
  }
  for (gsize m = 0; m < G_N_ELEMENTS (merges); m++) {
    g_autofree char *joined = g_strconcat (merges[m][0], merges[m][1], NULL);
    g_string_append (j, ", ");
    append_json_string (j, joined);
    g_string_append_printf (j, ": %d", id++);
  }
  g_string_append (j, "}, \"merges\": [");
  for (gsize m = 0; m < G_N_ELEMENTS (merges); m++) {
    g_string_append (j, m ? ", [" : "[");
    append_json_string (j, merges[m][0]);
    g_string_append (j, ", ");
    append_json_string (j, merges[m][1]);
    g_string_append (j, "]");
  }
  g_string_append_printf (j, "]}, \"added_tokens\": [{\"id\": %d, \"content\": "
      "\"<mask>\", \"lstrip\": true, \"special\": true}], \"pre_tokenizer\": "
      "{\"type\": \"ByteLevel\", \"add_prefix_space\": false}, \"post_processor\": "
      "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": "
      "[\"<s>\", 0]}}", id);
  return g_string_free (j, FALSE);
}

static void
remove_tmp (void)
{
  g_unlink (json_path);
  g_rmdir (json_dir);
}

static void
init (void)
{
  json_dir = g_dir_make_tmp ("bt-fuzz-tok-XXXXXX", NULL);
  g_assert (json_dir);
  json_path = g_build_filename (json_dir, "tokenizer.json", NULL);
  atexit (remove_tmp);
  g_autofree char *json = small_tokenizer_json ();
  g_assert (g_file_set_contents (json_path, json, -1, NULL));
  GError *error = NULL;
  text_tok = bt_tokenizer_load (json_dir, &error);
  g_assert_no_error (error);
}

/* Every entry point on one text; returns the ids without special tokens
 * (NULL when the text is not valid UTF-8). */
static GArray *
use (BtTokenizer *tok, const char *text)
{
  static const int lengths[] = { 0, 1, 2, 3, 7 };
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gboolean valid = g_utf8_validate (text, -1, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (lengths); i++) {
    g_array_set_size (ids, 0);
    GError *error = NULL;
    gboolean ok = bt_tokenizer_encode (tok, text, TRUE, lengths[i], ids, &error);
    g_assert (ok == valid);
    if (!ok) {
      g_assert (error->domain == BT_ERROR && error->code == BT_ERROR_INPUT);
      g_error_free (error);
      continue;
    }
    for (int skip = 0; skip < 2; skip++) {
      char *back = bt_tokenizer_decode (tok, (gint64 *) ids->data, (int) ids->len,
          skip, !skip);
      g_assert (g_utf8_validate (back, -1, NULL));
      g_free (back);
    }
  }
  const char *texts[2] = { text, "" };
  BtTokenBatch batch;
  if (bt_tokenizer_encode_batch (tok, texts, 2, TRUE, 4, &batch, NULL)) {
    g_assert (batch.batch == 2 && batch.seq_len >= 2);
    bt_token_batch_clear (&batch);
  }
  g_array_set_size (ids, 0);
  if (!valid || !bt_tokenizer_encode (tok, text, FALSE, 0, ids, NULL)) {
    g_array_unref (ids);
    return NULL;
  }
  return ids;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!text_tok)
    init ();
  char *text = g_strndup ((const char *) data, size);

  if (size > 0 && data[0] == '{') {
    g_assert (g_file_set_contents (json_path, (const char *) data, (gssize) size, NULL));
    GError *error = NULL;
    BtTokenizer *tok = bt_tokenizer_load (json_dir, &error);
    if (!tok) {
      g_assert (error && error->domain == BT_ERROR);
      g_error_free (error);
    } else {
      static const char *const texts[] = { "a <mask> b", "h\xc3\xa9llo 's 123  x" };
      for (gsize i = 0; i < G_N_ELEMENTS (texts); i++) {
        GArray *ids = use (tok, texts[i]);
        if (ids)
          g_array_unref (ids);
      }
      bt_tokenizer_free (tok);
    }
  } else {
    GArray *ids = use (text_tok, text);
    /* byte-level BPE is lossless where no added token eats whitespace */
    if (ids && !strchr (text, '<')) {
      char *back = bt_tokenizer_decode (text_tok, (gint64 *) ids->data,
          (int) ids->len, FALSE, FALSE);
      g_assert_cmpstr (back, ==, text);
      g_free (back);
    }
    if (ids)
      g_array_unref (ids);
  }
  g_free (text);
  return 0;
}
