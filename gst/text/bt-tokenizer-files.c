/* bt-tokenizer-files.c - reading a tokenizer from a model folder.
 *
 * Two layouts, as HF reads them: tokenizer.json (the tokenizers library's
 * format, what every BridgeTower repo on the hub ships, with no merges.txt)
 * and the older vocab.json + merges.txt. tokenizer_config.json and
 * special_tokens_map.json, when present, name the special tokens and give
 * model_max_length; absent, RoBERTa's defaults apply and the length is
 * unlimited (HF's VERY_LARGE_INTEGER).
 *
 * The big files are read with the in-place JSON reader: json-glib alone
 * would spend half of `bridgetower tokenize`'s start-up budget on them.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-json.h"
#include "bt-tokenizer-private.h"
#include "bt-json-scan-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Larger ids mean a corrupt file, not a vocabulary. */
#define MAX_TOKEN_ID (1 << 24)

typedef enum {
  ROLE_BOS, ROLE_EOS, ROLE_UNK, ROLE_SEP, ROLE_PAD, ROLE_CLS, ROLE_MASK,
  N_ROLES
} SpecialRole;

/* RoBERTa's special tokens; its <mask> eats the whitespace before it. */
static const struct {
  const char *key;
  const char *content;
  gboolean lstrip;
} role_defaults[N_ROLES] = {
  [ROLE_BOS] = { "bos_token", "<s>", FALSE },
  [ROLE_EOS] = { "eos_token", "</s>", FALSE },
  [ROLE_UNK] = { "unk_token", "<unk>", FALSE },
  [ROLE_SEP] = { "sep_token", "</s>", FALSE },
  [ROLE_PAD] = { "pad_token", "<pad>", FALSE },
  [ROLE_CLS] = { "cls_token", "<s>", FALSE },
  [ROLE_MASK] = { "mask_token", "<mask>", TRUE },
};

typedef struct {
  char *content;                /* NULL when the folder sets it to null */
  gboolean lstrip;
  gboolean rstrip;
} SpecialSpec;

typedef struct {
  SpecialSpec specials[N_ROLES];
  gboolean add_prefix_space;
  int model_max_length;
  JsonNode *added_tokens_decoder;
} FolderConfig;

static void
folder_config_clear (FolderConfig *cfg)
{
  for (int r = 0; r < N_ROLES; r++)
    g_free (cfg->specials[r].content);
  if (cfg->added_tokens_decoder)
    json_node_unref (cfg->added_tokens_decoder);
}

/* ---- small JSON files, through json-glib (nesting bounded) ---------------------------------- */

/* The root of a JSON file; NULL without an error when it does not exist. */
static JsonNode *
read_json_file (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  return bt_json_load_object (path, error);
}

static JsonNode *
parse_span (const char *text, gsize len, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  GError *local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  return json_parser_steal_root (parser);
}

static gboolean
member_bool (JsonObject *obj, const char *name, gboolean fallback)
{
  JsonNode *n = json_object_get_member (obj, name);
  if (n && JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (n);
  return fallback;
}

static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);
  if (n && JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return NULL;
}

/* A special token as the configs write it: a string, an AddedToken object
 * or null. */
static gboolean
read_special (JsonNode *node, SpecialRole role, SpecialSpec *spec,
    const char *path, GError **error)
{
  const char *content = NULL;
  gboolean lstrip = role_defaults[role].lstrip, rstrip = FALSE;
  if (JSON_NODE_HOLDS_NULL (node)) {
    g_clear_pointer (&spec->content, g_free);
    return TRUE;
  }
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING) {
    content = json_node_get_string (node);
  } else if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObject *obj = json_node_get_object (node);
    content = member_string (obj, "content");
    lstrip = member_bool (obj, "lstrip", FALSE);
    rstrip = member_bool (obj, "rstrip", FALSE);
  }
  if (!content || !*content || !g_utf8_validate (content, -1, NULL)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: %s is not a token", path, role_defaults[role].key);
    return FALSE;
  }
  g_free (spec->content);
  spec->content = g_strdup (content);
  spec->lstrip = lstrip;
  spec->rstrip = rstrip;
  return TRUE;
}

static gboolean
read_specials (JsonObject *obj, FolderConfig *cfg, const char *path,
    GError **error)
{
  for (int r = 0; r < N_ROLES; r++) {
    JsonNode *n = json_object_get_member (obj, role_defaults[r].key);
    if (n && !read_special (n, (SpecialRole) r, &cfg->specials[r], path, error))
      return FALSE;
  }
  return TRUE;
}

static int
read_model_max_length (JsonNode *n)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return G_MAXINT;
  /* saved as 1e30-ish integers when unlimited: json-glib makes them doubles */
  double v = json_node_get_value_type (n) == G_TYPE_INT64 ?
      (double) json_node_get_int (n) : json_node_get_double (n);
  if (!(v >= 1) || v >= (double) G_MAXINT)
    return G_MAXINT;
  return (int) v;
}

/* tokenizer_config.json, then special_tokens_map.json over it (HF's order). */
static gboolean
read_folder_config (const char *dir, FolderConfig *cfg, GError **error)
{
  for (int r = 0; r < N_ROLES; r++) {
    cfg->specials[r].content = g_strdup (role_defaults[r].content);
    cfg->specials[r].lstrip = role_defaults[r].lstrip;
  }
  cfg->model_max_length = G_MAXINT;

  g_autofree char *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  GError *local = NULL;
  JsonNode *config = read_json_file (config_path, &local);
  if (local) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (config) {
    JsonObject *obj = json_node_get_object (config);
    cfg->model_max_length =
        read_model_max_length (json_object_get_member (obj, "model_max_length"));
    cfg->add_prefix_space = member_bool (obj, "add_prefix_space", FALSE);
    JsonNode *decoder = json_object_get_member (obj, "added_tokens_decoder");
    if (decoder && JSON_NODE_HOLDS_OBJECT (decoder))
      cfg->added_tokens_decoder = json_node_ref (decoder);
    gboolean ok = read_specials (obj, cfg, config_path, error);
    json_node_unref (config);
    if (!ok)
      return FALSE;
  }

  g_autofree char *map_path = g_build_filename (dir, "special_tokens_map.json", NULL);
  JsonNode *map = read_json_file (map_path, &local);
  if (local) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (map) {
    gboolean ok = read_specials (json_node_get_object (map), cfg, map_path, error);
    json_node_unref (map);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* ---- vocabulary and added tokens ----------------------------------------- */

static void
set_token (BtTokenizer *tok, int id, const char *token)
{
  guint old_len = tok->tokens->len;
  if ((guint) id >= old_len) {
    g_ptr_array_set_size (tok->tokens, id + 1);
    g_byte_array_set_size (tok->token_flags, (guint) id + 1);
    memset (tok->token_flags->data + old_len, 0, (guint) id + 1 - old_len);
  }
  if (!g_ptr_array_index (tok->tokens, id))
    g_ptr_array_index (tok->tokens, id) = (gpointer) token;
}

/* NULL, or why the entry cannot be part of a vocabulary: HF's
 * decoding needs ids and tokens one to one. */
static const char *
add_vocab_entry (BtTokenizer *tok, const char *token, gint64 id)
{
  if (id < 0 || id >= MAX_TOKEN_ID)
    return "token id out of range";
  if (g_hash_table_contains (tok->vocab, token))
    return "a token appears twice in the vocabulary";
  if (id < tok->tokens->len && g_ptr_array_index (tok->tokens, id))
    return "two tokens have the same id";
  const char *interned = g_string_chunk_insert (tok->strings, token);
  g_hash_table_insert (tok->vocab, (gpointer) interned, GINT_TO_POINTER ((int) id));
  set_token (tok, (int) id, interned);
  return NULL;
}

/* A `{"token": id, ...}` object. */
static gboolean
scan_vocab (BtTokenizer *tok, BtJsonScan *scan)
{
  gboolean first = TRUE;
  if (!bt_json_scan_open (scan, '{'))
    return FALSE;
  while (bt_json_scan_next (scan, '}', &first)) {
    gint64 id;
    if (!bt_json_scan_key (scan))
      return FALSE;
    if (!bt_json_scan_int (scan, &id))
      return FALSE;
    const char *bad = add_vocab_entry (tok, scan->str->str, id);
    if (bad) {
      bt_json_scan_fail (scan, bad);
      return FALSE;
    }
  }
  if (!scan->failure && g_hash_table_size (tok->vocab) == 0) {
    bt_json_scan_fail (scan, "the vocabulary is empty");
    return FALSE;
  }
  return !scan->failure;
}

static int
vocab_id (BtTokenizer *tok, const char *token)
{
  gpointer key, value;
  if (g_hash_table_lookup_extended (tok->vocab, token, &key, &value))
    return GPOINTER_TO_INT (value);
  return -1;
}

static BtAddedToken *
find_added (BtTokenizer *tok, const char *content)
{
  for (guint i = 0; i < tok->added->len; i++) {
    BtAddedToken *a = &g_array_index (tok->added, BtAddedToken, i);
    if (strcmp (a->content, content) == 0)
      return a;
  }
  return NULL;
}

/* `id` -1: the token's vocabulary id, or the next free id as HF adds it. */
static void
add_added_token (BtTokenizer *tok, const char *content, int id,
    gboolean lstrip, gboolean rstrip, gboolean special)
{
  BtAddedToken *known = find_added (tok, content);
  if (known) {
    known->special |= special;
    tok->token_flags->data[known->id] |= special ? BT_TOKEN_SPECIAL : 0;
    return;
  }
  if (id < 0)
    id = vocab_id (tok, content);
  if (id < 0)
    id = (int) tok->tokens->len;
  BtAddedToken a = {
    .content = g_string_chunk_insert (tok->strings, content),
    .len = strlen (content), .id = id,
    .lstrip = lstrip, .rstrip = rstrip, .special = special,
  };
  set_token (tok, id, a.content);
  tok->token_flags->data[id] |= BT_TOKEN_ADDED | (special ? BT_TOKEN_SPECIAL : 0);
  tok->added_first_byte[(guint8) content[0]] = 1;
  g_array_append_val (tok->added, a);
}

/* tokenizer.json's added_tokens or tokenizer_config.json's
 * added_tokens_decoder entry. */
static gboolean
read_added_token (BtTokenizer *tok, JsonObject *obj, gint64 id,
    const char *path, GError **error)
{
  const char *content = member_string (obj, "content");
  if (!content || !*content || id < 0 || id >= MAX_TOKEN_ID ||
      !g_utf8_validate (content, -1, NULL)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: an added token has no content or a bad id", path);
    return FALSE;
  }
  add_added_token (tok, content, (int) id, member_bool (obj, "lstrip", FALSE),
      member_bool (obj, "rstrip", FALSE), member_bool (obj, "special", FALSE));
  return TRUE;
}

static gboolean
read_added_tokens_decoder (BtTokenizer *tok, JsonNode *decoder,
    const char *path, GError **error)
{
  JsonObject *obj = json_node_get_object (decoder);
  g_autoptr (GList) ids = json_object_get_members (obj);
  for (GList *l = ids; l; l = l->next) {
    JsonNode *entry = json_object_get_member (obj, l->data);
    char *end;
    gint64 id = g_ascii_strtoll (l->data, &end, 10);
    if (*end || !JSON_NODE_HOLDS_OBJECT (entry)) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s: bad added_tokens_decoder entry '%s'", path, (char *) l->data);
      return FALSE;
    }
    if (!read_added_token (tok, json_node_get_object (entry), id, path, error))
      return FALSE;
  }
  return TRUE;
}

static int
sort_longest_first (gconstpointer a, gconstpointer b)
{
  const BtAddedToken *x = a, *y = b;
  return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/* The special tokens the folder names become added tokens (if the files
 * did not already list them) and give the tokenizer its ids. */
static void
resolve_specials (BtTokenizer *tok, FolderConfig *cfg)
{
  for (int r = 0; r < N_ROLES; r++) {
    SpecialSpec *s = &cfg->specials[r];
    if (s->content)
      add_added_token (tok, s->content, -1, s->lstrip, s->rstrip, TRUE);
  }
  g_array_sort (tok->added, (GCompareFunc) sort_longest_first);

  int ids[N_ROLES];
  for (int r = 0; r < N_ROLES; r++) {
    const char *c = cfg->specials[r].content;
    ids[r] = c ? (int) bt_tokenizer_token_to_id (tok, c) : -1;
  }
  tok->pad_id = ids[ROLE_PAD];
  tok->mask_id = ids[ROLE_MASK];
  tok->unk_id = ids[ROLE_UNK];
  tok->cls_id = ids[ROLE_CLS];
  tok->sep_id = ids[ROLE_SEP];
  tok->model_max_length = cfg->model_max_length;
}

/* ---- merges ---------------------------------------------------------------- */

/* NULL when both tokens and their concatenation are in the vocabulary (HF
 * refuses the file otherwise), else the first that is not. */
static const char *
merge_unknown (BtTokenizer *tok, const char *left, const char *right,
    GString *scratch)
{
  if (!g_hash_table_contains (tok->vocab, left))
    return left;
  if (!g_hash_table_contains (tok->vocab, right))
    return right;
  g_string_assign (scratch, left);
  g_string_append (scratch, right);
  return g_hash_table_contains (tok->vocab, scratch->str) ? NULL : scratch->str;
}

/* A ["a", "b"] pair: "a" is copied to `left`, "b" stays in scan->str. */
static gboolean
scan_merge_pair (BtJsonScan *scan, GString *left)
{
  gboolean first = TRUE;
  if (!bt_json_scan_open (scan, '[') || !bt_json_scan_next (scan, ']', &first) ||
      !bt_json_scan_string (scan))
    return FALSE;
  g_string_assign (left, scan->str->str);
  if (!bt_json_scan_next (scan, ']', &first) || !bt_json_scan_string (scan))
    return FALSE;
  return !bt_json_scan_next (scan, ']', &first) && !scan->failure;
}

/* tokenizer.json's model.merges: "a b" strings or ["a", "b"] pairs. */
static gboolean
scan_merges (BtTokenizer *tok, BtJsonScan *scan)
{
  g_autoptr (GString) left = g_string_new (NULL);
  g_autoptr (GString) scratch = g_string_new (NULL);
  gboolean first = TRUE;
  if (!bt_json_scan_open (scan, '['))
    return FALSE;
  while (bt_json_scan_next (scan, ']', &first)) {
    const char *right = NULL;
    if (bt_json_scan_peek (scan, '[')) {
      if (scan_merge_pair (scan, left))
        right = scan->str->str;
    } else if (bt_json_scan_string (scan)) {
      char *space = strchr (scan->str->str, ' ');
      if (space && space != scan->str->str && space[1] && !strchr (space + 1, ' ')) {
        *space = '\0';
        g_string_assign (left, scan->str->str);
        right = space + 1;
      }
    }
    if (!right) {
      bt_json_scan_fail (scan, "a merge is neither \"a b\" nor [\"a\", \"b\"]");
      return FALSE;
    }
    if (merge_unknown (tok, left->str, right, scratch)) {
      bt_json_scan_fail (scan, "a merge names a token that is not in the "
          "vocabulary");
      return FALSE;
    }
    bt_bpe_add_merge (tok->bpe, left->str, right);
  }
  return !scan->failure;
}

static gboolean
read_merges_txt (BtTokenizer *tok, const char *path, GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, NULL);
  if (!file) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot read the file", path);
    return FALSE;
  }
  const char *p = g_mapped_file_get_contents (file);
  const char *end = p + g_mapped_file_get_length (file);
  g_autoptr (GString) line = g_string_new (NULL);
  g_autoptr (GString) scratch = g_string_new (NULL);
  for (int lineno = 1; p && p < end; lineno++) {
    const char *nl = memchr (p, '\n', (gsize) (end - p));
    const char *stop = nl ? nl : end;
    g_string_truncate (line, 0);
    g_string_append_len (line, p, stop - p);
    p = stop + 1;
    if (line->len && line->str[line->len - 1] == '\r')
      g_string_truncate (line, line->len - 1);
    if (line->len == 0 || g_str_has_prefix (line->str, "#version"))
      continue;
    char *space = strchr (line->str, ' ');
    if (!space || space == line->str || !space[1] || strchr (space + 1, ' ') ||
        strlen (line->str) != line->len ||
        !g_utf8_validate_len (line->str, line->len, NULL)) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s:%d: a merge is two tokens separated by one space", path, lineno);
      return FALSE;
    }
    *space = '\0';
    const char *unknown = merge_unknown (tok, line->str, space + 1, scratch);
    if (unknown) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s:%d: the merge names \"%s\", which is not in the vocabulary",
          path, lineno, unknown);
      return FALSE;
    }
    bt_bpe_add_merge (tok->bpe, line->str, space + 1);
  }
  return TRUE;
}

/* ---- vocab.json + merges.txt ---------------------------------------------- */

static gboolean
read_vocab_json (BtTokenizer *tok, const char *dir, FolderConfig *cfg,
    GError **error)
{
  g_autofree char *vocab_path = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges_path = g_build_filename (dir, "merges.txt", NULL);
  if (!g_file_test (merges_path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO,
        "%s: no tokenizer.json, and vocab.json comes without merges.txt", dir);
    return FALSE;
  }
  g_autoptr (GMappedFile) file = g_mapped_file_new (vocab_path, FALSE, NULL);
  if (!file) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot read the file", vocab_path);
    return FALSE;
  }
  BtJsonScan scan;
  bt_json_scan_init (&scan, g_mapped_file_get_contents (file),
      g_mapped_file_get_length (file));
  gboolean ok = scan_vocab (tok, &scan) && bt_json_scan_finish (&scan);
  if (!ok)
    bt_json_scan_error (&scan, vocab_path, error);
  bt_json_scan_clear (&scan);
  if (!ok)
    return FALSE;

  tok->add_prefix_space = cfg->add_prefix_space;
  if (cfg->added_tokens_decoder &&
      !read_added_tokens_decoder (tok, cfg->added_tokens_decoder,
          "tokenizer_config.json", error))
    return FALSE;
  resolve_specials (tok, cfg);
  tok->bpe = bt_bpe_new (tok->vocab, tok->unk_id);
  bt_bpe_reserve (tok->bpe, g_hash_table_size (tok->vocab));
  return read_merges_txt (tok, merges_path, error);
}

/* ---- tokenizer.json ---------------------------------------------------- */

typedef struct {
  const char *start;
  gsize len;
} Span;

typedef struct {
  Span vocab, merges, added_tokens, normalizer, pre_tokenizer, post_processor;
  Span type, dropout, prefix, suffix, ignore_merges;
} TokenizerJsonSpans;

static gboolean
scan_model (BtJsonScan *scan, TokenizerJsonSpans *s)
{
  static const struct {
    const char *key;
    gsize offset;
  } wanted[] = {
    { "vocab", G_STRUCT_OFFSET (TokenizerJsonSpans, vocab) },
    { "merges", G_STRUCT_OFFSET (TokenizerJsonSpans, merges) },
    { "type", G_STRUCT_OFFSET (TokenizerJsonSpans, type) },
    { "dropout", G_STRUCT_OFFSET (TokenizerJsonSpans, dropout) },
    { "continuing_subword_prefix", G_STRUCT_OFFSET (TokenizerJsonSpans, prefix) },
    { "end_of_word_suffix", G_STRUCT_OFFSET (TokenizerJsonSpans, suffix) },
    { "ignore_merges", G_STRUCT_OFFSET (TokenizerJsonSpans, ignore_merges) },
  };
  gboolean first = TRUE;
  if (!bt_json_scan_open (scan, '{'))
    return FALSE;
  while (bt_json_scan_next (scan, '}', &first)) {
    if (!bt_json_scan_key (scan))
      return FALSE;
    Span *target = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS (wanted); i++)
      if (strcmp (scan->str->str, wanted[i].key) == 0)
        target = G_STRUCT_MEMBER_P (s, wanted[i].offset);
    Span ignored;
    if (!target)
      target = &ignored;
    if (!bt_json_scan_skip (scan, &target->start, &target->len))
      return FALSE;
  }
  return !scan->failure;
}

static gboolean
scan_top (BtJsonScan *scan, TokenizerJsonSpans *s)
{
  gboolean first = TRUE;
  if (!bt_json_scan_open (scan, '{'))
    return FALSE;
  while (bt_json_scan_next (scan, '}', &first)) {
    if (!bt_json_scan_key (scan))
      return FALSE;
    const char *key = scan->str->str;
    Span *target = NULL;
    if (strcmp (key, "model") == 0) {
      if (!scan_model (scan, s))
        return FALSE;
      continue;
    }
    if (strcmp (key, "added_tokens") == 0)
      target = &s->added_tokens;
    else if (strcmp (key, "normalizer") == 0)
      target = &s->normalizer;
    else if (strcmp (key, "pre_tokenizer") == 0)
      target = &s->pre_tokenizer;
    else if (strcmp (key, "post_processor") == 0)
      target = &s->post_processor;
    Span ignored;
    if (!target)
      target = &ignored;
    if (!bt_json_scan_skip (scan, &target->start, &target->len))
      return FALSE;
  }
  return bt_json_scan_finish (scan);
}

static gboolean
span_is (const Span *s, const char *text)
{
  return s->start && s->len == strlen (text) && memcmp (s->start, text, s->len) == 0;
}

static gboolean
span_is_null_or (const Span *s, const char *text)
{
  return !s->start || span_is (s, "null") || span_is (s, text);
}

static gboolean
unsupported (const char *path, const char *what, GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
      "%s: %s is not supported (RoBERTa's byte-level BPE is)", path, what);
  return FALSE;
}

/* The settings this implementation can honour, checked before any work. */
static gboolean
check_model_settings (const TokenizerJsonSpans *s, const char *path,
    GError **error)
{
  if (!s->vocab.start || !s->merges.start) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: model.vocab or model.merges is missing", path);
    return FALSE;
  }
  if (s->type.start && !span_is (&s->type, "\"BPE\""))
    return unsupported (path, "a model type other than BPE", error);
  if (!span_is_null_or (&s->dropout, "0.0") && !span_is (&s->dropout, "0"))
    return unsupported (path, "BPE dropout", error);
  if (!span_is_null_or (&s->prefix, "\"\"") || !span_is_null_or (&s->suffix, "\"\""))
    return unsupported (path, "a subword prefix or suffix", error);
  if (!span_is_null_or (&s->ignore_merges, "false"))
    return unsupported (path, "ignore_merges", error);
  if (!span_is_null_or (&s->normalizer, "null"))
    return unsupported (path, "a normalizer", error);
  return TRUE;
}

static gboolean
read_pre_tokenizer (BtTokenizer *tok, const Span *span, const char *path,
    GError **error)
{
  if (!span->start)
    return unsupported (path, "a missing pre_tokenizer", error);
  g_autoptr (JsonNode) node = parse_span (span->start, span->len, path, error);
  if (!node)
    return FALSE;
  JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (!obj || g_strcmp0 (member_string (obj, "type"), "ByteLevel") != 0 ||
      !member_bool (obj, "use_regex", TRUE))
    return unsupported (path, "a pre_tokenizer other than ByteLevel with its regex",
        error);
  tok->add_prefix_space = member_bool (obj, "add_prefix_space", FALSE);
  return TRUE;
}

/* RobertaProcessing's "cls": ["<s>", 0]. */
static int
processing_token (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);
  if (!n || !JSON_NODE_HOLDS_ARRAY (n))
    return -1;
  JsonArray *a = json_node_get_array (n);
  if (json_array_get_length (a) != 2)
    return -1;
  JsonNode *id = json_array_get_element (a, 1);
  if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64)
    return -1;
  gint64 v = json_node_get_int (id);
  return v >= 0 && v < MAX_TOKEN_ID ? (int) v : -1;
}

static gboolean
read_post_processor (BtTokenizer *tok, const Span *span, const char *path,
    GError **error)
{
  tok->cls_id = tok->sep_id = -1;
  if (span_is_null_or (span, "null"))
    return TRUE;
  g_autoptr (JsonNode) node = parse_span (span->start, span->len, path, error);
  if (!node)
    return FALSE;
  JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *type = obj ? member_string (obj, "type") : NULL;
  if (g_strcmp0 (type, "ByteLevel") == 0)
    return TRUE;
  if (g_strcmp0 (type, "RobertaProcessing") != 0 &&
      g_strcmp0 (type, "BertProcessing") != 0)
    return unsupported (path, "a post_processor other than RobertaProcessing", error);
  tok->cls_id = processing_token (obj, "cls");
  tok->sep_id = processing_token (obj, "sep");
  if (tok->cls_id < 0 || tok->sep_id < 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: post_processor cls/sep are not [token, id] pairs", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_added_tokens (BtTokenizer *tok, const Span *span, const char *path,
    GError **error)
{
  if (span_is_null_or (span, "null"))
    return TRUE;
  g_autoptr (JsonNode) node = parse_span (span->start, span->len, path, error);
  if (!node)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: added_tokens is not an array", path);
    return FALSE;
  }
  JsonArray *a = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
    JsonNode *id = obj ? json_object_get_member (obj, "id") : NULL;
    if (!id || !JSON_NODE_HOLDS_VALUE (id) ||
        json_node_get_value_type (id) != G_TYPE_INT64) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s: added token %u has no integer id", path, i);
      return FALSE;
    }
    if (!read_added_token (tok, obj, json_node_get_int (id), path, error))
      return FALSE;
  }
  return TRUE;
}

/* Parses the sub-range `span` of the file with `scan_func`. */
static gboolean
scan_span (BtTokenizer *tok, const char *data, const Span *span,
    gboolean (*scan_func) (BtTokenizer *, BtJsonScan *), const char *path,
    GError **error)
{
  BtJsonScan scan;
  bt_json_scan_init (&scan, span->start, span->len);
  gboolean ok = scan_func (tok, &scan) && bt_json_scan_finish (&scan);
  if (!ok) {
    scan.fail_offset += (gsize) (span->start - data);
    bt_json_scan_error (&scan, path, error);
  }
  bt_json_scan_clear (&scan);
  return ok;
}

static gboolean
read_tokenizer_json (BtTokenizer *tok, const char *path, FolderConfig *cfg,
    GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, NULL);
  if (!file) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot read the file", path);
    return FALSE;
  }
  const char *data = g_mapped_file_get_contents (file);
  gsize len = g_mapped_file_get_length (file);
  if (!data)
    data = "";

  TokenizerJsonSpans spans = { 0 };
  BtJsonScan scan;
  bt_json_scan_init (&scan, data, len);
  gboolean ok = scan_top (&scan, &spans);
  if (!ok)
    bt_json_scan_error (&scan, path, error);
  bt_json_scan_clear (&scan);
  if (!ok || !check_model_settings (&spans, path, error))
    return FALSE;

  if (!scan_span (tok, data, &spans.vocab, scan_vocab, path, error) ||
      !read_added_tokens (tok, &spans.added_tokens, path, error) ||
      !read_pre_tokenizer (tok, &spans.pre_tokenizer, path, error) ||
      !read_post_processor (tok, &spans.post_processor, path, error))
    return FALSE;

  int cls_id = tok->cls_id, sep_id = tok->sep_id;
  resolve_specials (tok, cfg);
  /* the post-processor, not the configs, decides what encode adds */
  tok->cls_id = cls_id;
  tok->sep_id = sep_id;
  tok->bpe = bt_bpe_new (tok->vocab, tok->unk_id);
  /* a trained BPE has about one merge per token */
  bt_bpe_reserve (tok->bpe, g_hash_table_size (tok->vocab));
  return scan_span (tok, data, &spans.merges, scan_merges, path, error);
}

gboolean
bt_tokenizer_read_files (BtTokenizer *tok, const char *dir, GError **error)
{
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: not a folder", dir);
    return FALSE;
  }
  FolderConfig cfg = { 0 };
  gboolean ok = read_folder_config (dir, &cfg, error);
  if (ok) {
    g_autofree char *json_path = g_build_filename (dir, "tokenizer.json", NULL);
    g_autofree char *vocab_path = g_build_filename (dir, "vocab.json", NULL);
    if (g_file_test (json_path, G_FILE_TEST_EXISTS)) {
      ok = read_tokenizer_json (tok, json_path, &cfg, error);
    } else if (g_file_test (vocab_path, G_FILE_TEST_EXISTS)) {
      ok = read_vocab_json (tok, dir, &cfg, error);
    } else {
      g_set_error (error, BT_ERROR, BT_ERROR_IO,
          "%s: no tokenizer.json nor vocab.json + merges.txt", dir);
      ok = FALSE;
    }
  }
  folder_config_clear (&cfg);
  return ok;
}
