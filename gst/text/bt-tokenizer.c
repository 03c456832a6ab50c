/* bt-tokenizer.c - RoBERTa's byte-level BPE tokenizer: encode, batch,
 * decode, as HF's RobertaTokenizer does them.
 *
 * Encoding: added tokens (the special tokens, <mask> eating the whitespace
 * before it) are cut out of the raw text first; each stretch in between is
 * split by GPT-2's pattern and every piece's UTF-8 bytes are BPE-merged.
 * <s> ... </s> wrap the result; truncation drops tokens from the right.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-tokenizer-private.h"
#include "bt-byte-level-private.h"
#include "bt-pretokenize-private.h"

#include <string.h>

BtTokenizer *
bt_tokenizer_load (const char *dir, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (!dir) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "no tokenizer folder given");
    return NULL;
  }
  BtTokenizer *tok = g_new0 (BtTokenizer, 1);
  tok->strings = g_string_chunk_new (1 << 16);
  tok->vocab = g_hash_table_new (g_str_hash, g_str_equal);
  tok->tokens = g_ptr_array_new ();
  tok->token_flags = g_byte_array_new ();
  tok->added = g_array_new (FALSE, FALSE, sizeof (BtAddedToken));
  tok->cls_id = tok->sep_id = tok->pad_id = tok->mask_id = tok->unk_id = -1;
  if (!bt_tokenizer_read_files (tok, dir, error)) {
    bt_tokenizer_free (tok);
    return NULL;
  }
  return tok;
}

void
bt_tokenizer_free (BtTokenizer *tok)
{
  if (!tok)
    return;
  bt_bpe_free (tok->bpe);
  g_hash_table_unref (tok->vocab);
  g_ptr_array_unref (tok->tokens);
  g_byte_array_unref (tok->token_flags);
  g_array_unref (tok->added);
  g_string_chunk_free (tok->strings);
  g_free (tok);
}

int
bt_tokenizer_vocab_size (const BtTokenizer *tok)
{
  return (int) tok->tokens->len;
}

int
bt_tokenizer_model_max_length (const BtTokenizer *tok)
{
  return tok->model_max_length;
}

int
bt_tokenizer_pad_id (const BtTokenizer *tok)
{
  return tok->pad_id;
}

int
bt_tokenizer_mask_id (const BtTokenizer *tok)
{
  return tok->mask_id;
}

const char *
bt_tokenizer_id_to_token (const BtTokenizer *tok, gint64 id)
{
  if (id < 0 || id >= tok->tokens->len)
    return NULL;
  return g_ptr_array_index (tok->tokens, id);
}

gint64
bt_tokenizer_token_to_id (const BtTokenizer *tok, const char *token)
{
  gpointer key, value;
  for (guint i = 0; i < tok->added->len; i++) {
    const BtAddedToken *a = &g_array_index (tok->added, BtAddedToken, i);
    if (strcmp (a->content, token) == 0)
      return a->id;
  }
  if (g_hash_table_lookup_extended (tok->vocab, token, &key, &value))
    return GPOINTER_TO_INT (value);
  return -1;
}

/* ---- encode -------------------------------------------------------------- */

/* Python's str.isspace(), which decides what an added token's lstrip and
 * rstrip eat (wider than the pattern's \s: U+001C..U+001F count). */
static gboolean
is_python_space (gunichar c)
{
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
      c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
      c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
    return TRUE;
  return FALSE;
}

/* Pre-tokenizes and BPE-encodes a stretch with no added token in it. */
static void
encode_stretch (BtTokenizer *tok, const char *text, gsize len, GArray *ids)
{
  gsize pos = 0;
  while (pos < len) {
    gsize end = bt_pretokenize_next (text, len, pos);
    bt_bpe_encode_word (tok->bpe, (const guint8 *) text + pos, end - pos, ids);
    pos = end;
  }
}

/* The longest added token that starts at `p`, or NULL. */
static const BtAddedToken *
added_token_at (const BtTokenizer *tok, const char *p, gsize left)
{
  if (!tok->added_first_byte[(guint8) *p])
    return NULL;
  /* tok->added is sorted longest first */
  for (guint i = 0; i < tok->added->len; i++) {
    const BtAddedToken *a = &g_array_index (tok->added, BtAddedToken, i);
    if (a->len <= left && memcmp (p, a->content, a->len) == 0)
      return a;
  }
  return NULL;
}

static void
encode_content (BtTokenizer *tok, const char *text, gsize len, GArray *ids)
{
  gsize stretch = 0, pos = 0;
  while (pos < len) {
    const BtAddedToken *a = added_token_at (tok, text + pos, len - pos);
    if (!a) {
      pos++;
      continue;
    }
    gsize stretch_end = pos;
    if (a->lstrip) {
      while (stretch_end > stretch) {
        const char *prev = g_utf8_prev_char (text + stretch_end);
        if (!is_python_space (g_utf8_get_char (prev)))
          break;
        stretch_end = (gsize) (prev - text);
      }
    }
    encode_stretch (tok, text + stretch, stretch_end - stretch, ids);
    gint64 id = a->id;
    g_array_append_val (ids, id);
    pos += a->len;
    if (a->rstrip) {
      while (pos < len && is_python_space (g_utf8_get_char (text + pos)))
        pos = (gsize) (g_utf8_next_char (text + pos) - text);
    }
    stretch = pos;
  }
  encode_stretch (tok, text + stretch, len - stretch, ids);
}

gboolean
bt_tokenizer_encode (BtTokenizer *tok, const char *text,
    gboolean add_special_tokens, int max_length, GArray *ids, GError **error)
{
  g_return_val_if_fail (tok && ids, FALSE);
  gsize len = text ? strlen (text) : 0;
  if (!text || !g_utf8_validate_len (text, len, NULL)) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "the text is not valid UTF-8");
    return FALSE;
  }
  gboolean wrap = add_special_tokens && tok->cls_id >= 0;
  if (wrap) {
    gint64 cls = tok->cls_id;
    g_array_append_val (ids, cls);
  }
  guint content_start = ids->len;

  /* RoBERTa's add_prefix_space: a space before a text that starts with none */
  if (tok->add_prefix_space && len > 0 && !is_python_space (g_utf8_get_char (text))) {
    g_autofree char *spaced = g_strconcat (" ", text, NULL);
    encode_content (tok, spaced, len + 1, ids);
  } else {
    encode_content (tok, text, len, ids);
  }

  /* HF drops ids from the right; when the specials alone would not fit it
   * logs an error and truncates nothing, and so does this. */
  guint n_content = ids->len - content_start;
  if (max_length > 0) {
    gint64 remove = (gint64) n_content + (wrap ? 2 : 0) - max_length;
    if (remove > 0 && remove < n_content)
      g_array_set_size (ids, ids->len - (guint) remove);
  }
  if (wrap) {
    gint64 sep = tok->sep_id;
    g_array_append_val (ids, sep);
  }
  return TRUE;
}

gboolean
bt_tokenizer_encode_batch (BtTokenizer *tok, const char *const *texts, int n,
    gboolean add_special_tokens, int max_length, BtTokenBatch *out,
    GError **error)
{
  g_return_val_if_fail (tok && out, FALSE);
  memset (out, 0, sizeof *out);
  if (n <= 0 || !texts) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "no texts to tokenize");
    return FALSE;
  }
  GArray **each = g_new0 (GArray *, n);
  gboolean ok = TRUE;
  int longest = 0;
  for (int i = 0; i < n && ok; i++) {
    each[i] = g_array_new (FALSE, FALSE, sizeof (gint64));
    ok = bt_tokenizer_encode (tok, texts[i], add_special_tokens, max_length,
        each[i], error);
    if (!ok)
      g_prefix_error (error, "text %d: ", i);
    else
      longest = MAX (longest, (int) each[i]->len);
  }
  if (ok) {
    out->batch = n;
    out->seq_len = longest;
    out->input_ids = g_new (gint64, (gsize) n * longest + 1);
    out->attention_mask = g_new0 (gint64, (gsize) n * longest + 1);
    for (int i = 0; i < n; i++) {
      gint64 *row = out->input_ids + (gsize) i * longest;
      gint64 *mask = out->attention_mask + (gsize) i * longest;
      for (int j = 0; j < longest; j++) {
        gboolean real = j < (int) each[i]->len;
        row[j] = real ? g_array_index (each[i], gint64, j) : tok->pad_id;
        mask[j] = real;
      }
    }
  }
  for (int i = 0; i < n; i++)
    if (each[i])
      g_array_unref (each[i]);
  g_free (each);
  return ok;
}

void
bt_token_batch_clear (BtTokenBatch *batch)
{
  if (!batch)
    return;
  g_free (batch->input_ids);
  g_free (batch->attention_mask);
  memset (batch, 0, sizeof *batch);
}

/* ---- decode -------------------------------------------------------------- */

/* HF's clean_up_tokenization: spaces before punctuation and English
 * contractions go, in this order. */
static void
clean_up_spaces (GString *s)
{
  static const char *const pairs[][2] = {
    { " .", "." }, { " ?", "?" }, { " !", "!" }, { " ,", "," },
    { " ' ", "'" }, { " n't", "n't" }, { " 'm", "'m" }, { " 's", "'s" },
    { " 've", "'ve" }, { " 're", "'re" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    g_string_replace (s, pairs[i][0], pairs[i][1], 0);
}

char *
bt_tokenizer_decode (const BtTokenizer *tok, const gint64 *ids, int n,
    gboolean skip_special_tokens, gboolean clean_up)
{
  GString *text = g_string_new (NULL);
  GByteArray *bytes = g_byte_array_new ();
  for (int i = 0; i < n; i++) {
    const char *token = bt_tokenizer_id_to_token (tok, ids[i]);
    if (!token)
      continue;
    guint8 flags = tok->token_flags->data[ids[i]];
    if (skip_special_tokens && (flags & BT_TOKEN_SPECIAL))
      continue;
    if (flags & BT_TOKEN_ADDED) {
      /* added tokens are text as they are, not byte-level characters */
      bt_utf8_append_lossy (text, bytes->data, bytes->len);
      g_byte_array_set_size (bytes, 0);
      g_string_append (text, token);
    } else {
      bt_byte_level_decode (token, bytes);
    }
  }
  bt_utf8_append_lossy (text, bytes->data, bytes->len);
  g_byte_array_unref (bytes);
  if (clean_up)
    clean_up_spaces (text);
  return g_string_free (text, FALSE);
}
