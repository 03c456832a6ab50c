/* bt-bpe.c - byte-pair encoding by merge rank.
 *
 * Symbols are numbers: the vocabulary id of their string, or a number past
 * EXTRA_BASE for strings that only merges mention. A merge is then a pair of
 * numbers, looked up in an open-addressing table built once at load time.
 *
 * A word is merged as HF does it: repeatedly the adjacent pair of lowest
 * rank, leftmost first. A heap of candidate pairs keeps long words
 * O(n log n); stale candidates are recognised by their symbols.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-bpe-private.h"
#include "bt-byte-level-private.h"

#include <string.h>

#define EXTRA_BASE (1 << 30)
/* Words longer than this are encoded but not cached; the cache is emptied
 * when it reaches CACHE_MAX_WORDS so that no stream of texts grows it
 * without bound. */
#define CACHE_MAX_WORD_BYTES 64
#define CACHE_MAX_WORDS 65536

typedef struct {
  guint64 key;          /* left << 32 | right, 0 marks an empty slot */
  int rank;
  int result;
} MergeSlot;

struct _BtBpe {
  GHashTable *vocab;            /* borrowed: string -> id */
  int unk_id;
  int byte_symbol[256];

  GHashTable *extra;            /* string -> EXTRA_BASE + n, owned keys */
  GPtrArray *extra_strings;

  MergeSlot *slots;
  guint n_slots;                /* a power of two */
  guint n_merges;
  GString *scratch;

  GMutex cache_lock;
  GHashTable *cache;            /* word bytes -> int[1 + n] (n, ids...) */
};

static guint64
merge_key (int left, int right)
{
  /* +1 so that the pair (0, 0) is not the empty key */
  return ((guint64) (guint32) (left + 1) << 32) | (guint32) (right + 1);
}

static guint
slot_hash (guint64 key)
{
  key *= G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  return (guint) (key >> 32);
}

static MergeSlot *
find_slot (MergeSlot *slots, guint n_slots, guint64 key)
{
  guint i = slot_hash (key) & (n_slots - 1);
  while (slots[i].key != 0 && slots[i].key != key)
    i = (i + 1) & (n_slots - 1);
  return &slots[i];
}

static const MergeSlot *
lookup_merge (const BtBpe *bpe, int left, int right)
{
  if (bpe->n_slots == 0)
    return NULL;
  const MergeSlot *slot = find_slot (bpe->slots, bpe->n_slots,
      merge_key (left, right));
  return slot->key != 0 ? slot : NULL;
}

static void
resize_slots (BtBpe *bpe, guint n)
{
  MergeSlot *slots = g_new0 (MergeSlot, n);
  for (guint i = 0; i < bpe->n_slots; i++)
    if (bpe->slots[i].key != 0)
      *find_slot (slots, n, bpe->slots[i].key) = bpe->slots[i];
  g_free (bpe->slots);
  bpe->slots = slots;
  bpe->n_slots = n;
}

static int
symbol_of (BtBpe *bpe, const char *str)
{
  gpointer key, value;
  if (g_hash_table_lookup_extended (bpe->vocab, str, &key, &value))
    return GPOINTER_TO_INT (value);
  if (g_hash_table_lookup_extended (bpe->extra, str, &key, &value))
    return GPOINTER_TO_INT (value);
  int sym = EXTRA_BASE + (int) bpe->extra_strings->len;
  char *copy = g_strdup (str);
  g_ptr_array_add (bpe->extra_strings, copy);
  g_hash_table_insert (bpe->extra, copy, GINT_TO_POINTER (sym));
  return sym;
}

BtBpe *
bt_bpe_new (GHashTable *vocab, int unk_id)
{
  BtBpe *bpe = g_new0 (BtBpe, 1);
  bpe->vocab = vocab;
  bpe->unk_id = unk_id;
  bpe->extra = g_hash_table_new (g_str_hash, g_str_equal);
  bpe->extra_strings = g_ptr_array_new_with_free_func (g_free);
  bpe->scratch = g_string_new (NULL);
  g_mutex_init (&bpe->cache_lock);
  bpe->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (int b = 0; b < 256; b++) {
    char utf8[8];
    utf8[g_unichar_to_utf8 (bt_byte_level_char ((guint8) b), utf8)] = '\0';
    bpe->byte_symbol[b] = symbol_of (bpe, utf8);
  }
  return bpe;
}

void
bt_bpe_free (BtBpe *bpe)
{
  if (!bpe)
    return;
  g_hash_table_unref (bpe->extra);
  g_ptr_array_unref (bpe->extra_strings);
  g_string_free (bpe->scratch, TRUE);
  g_free (bpe->slots);
  g_mutex_clear (&bpe->cache_lock);
  g_hash_table_unref (bpe->cache);
  g_free (bpe);
}

void
bt_bpe_add_merge (BtBpe *bpe, const char *left, const char *right)
{
  g_string_assign (bpe->scratch, left);
  g_string_append (bpe->scratch, right);
  int l = symbol_of (bpe, left);
  int r = symbol_of (bpe, right);
  int result = symbol_of (bpe, bpe->scratch->str);

  if ((bpe->n_merges + 1) * 2 > bpe->n_slots)
    resize_slots (bpe, bpe->n_slots ? bpe->n_slots * 2 : 1024);
  guint64 key = merge_key (l, r);
  MergeSlot *slot = find_slot (bpe->slots, bpe->n_slots, key);
  if (slot->key == 0) {
    slot->key = key;
    slot->rank = (int) bpe->n_merges;
    slot->result = result;
  }
  bpe->n_merges++;
}

void
bt_bpe_reserve (BtBpe *bpe, guint n_merges)
{
  guint n = 1024;
  while (n < 2 * n_merges && n < (1u << 30))
    n *= 2;
  if (n > bpe->n_slots)
    resize_slots (bpe, n);
}

/* ---- merging one word ---------------------------------------------------- */

typedef struct {
  int rank;
  int pos;              /* index of the left symbol */
  int left;
  int right;
} Candidate;

static gboolean
candidate_before (const Candidate *a, const Candidate *b)
{
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void
heap_push (GArray *heap, const Candidate *c)
{
  g_array_append_val (heap, *c);
  Candidate *h = (Candidate *) heap->data;
  guint i = heap->len - 1;
  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (!candidate_before (&h[i], &h[parent]))
      break;
    Candidate t = h[i];
    h[i] = h[parent];
    h[parent] = t;
    i = parent;
  }
}

static Candidate
heap_pop (GArray *heap)
{
  Candidate *h = (Candidate *) heap->data;
  Candidate top = h[0];
  h[0] = h[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);
  guint n = heap->len, i = 0;
  for (;;) {
    guint l = 2 * i + 1, r = l + 1, best = i;
    if (l < n && candidate_before (&h[l], &h[best]))
      best = l;
    if (r < n && candidate_before (&h[r], &h[best]))
      best = r;
    if (best == i)
      break;
    Candidate t = h[i];
    h[i] = h[best];
    h[best] = t;
    i = best;
  }
  return top;
}

static void
push_pair (const BtBpe *bpe, GArray *heap, const int *sym, int pos, int next)
{
  if (pos < 0 || next < 0)
    return;
  const MergeSlot *m = lookup_merge (bpe, sym[pos], sym[next]);
  if (m) {
    Candidate c = { m->rank, pos, sym[pos], sym[next] };
    heap_push (heap, &c);
  }
}

/* Merges the word and writes its final symbols to `out` (n entries at
 * most); returns how many. */
static int
merge_word (const BtBpe *bpe, const guint8 *word, int n, int *out)
{
  int *sym = g_new (int, 3 * (gsize) n);
  int *prev = sym + n, *next = prev + n;
  GArray *heap = g_array_sized_new (FALSE, FALSE, sizeof (Candidate), n);

  for (int i = 0; i < n; i++) {
    sym[i] = bpe->byte_symbol[word[i]];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  for (int i = 0; i + 1 < n; i++)
    push_pair (bpe, heap, sym, i, i + 1);

  while (heap->len > 0) {
    Candidate c = heap_pop (heap);
    int nx = next[c.pos];
    /* merged-away symbols have prev == -2; stale pairs no longer match */
    if (prev[c.pos] == -2 || nx < 0 || sym[c.pos] != c.left ||
        sym[nx] != c.right)
      continue;
    sym[c.pos] = lookup_merge (bpe, c.left, c.right)->result;
    next[c.pos] = next[nx];
    if (next[nx] >= 0)
      prev[next[nx]] = c.pos;
    prev[nx] = -2;
    push_pair (bpe, heap, sym, prev[c.pos], c.pos);
    push_pair (bpe, heap, sym, c.pos, next[c.pos]);
  }

  int count = 0;
  for (int i = 0; i >= 0; i = next[i])
    out[count++] = sym[i];
  g_array_unref (heap);
  g_free (sym);
  return count;
}

/* `counted` is n followed by n ids. */
static void
append_ids (GArray *ids, const int *counted)
{
  for (int i = 1; i <= counted[0]; i++) {
    gint64 id = counted[i];
    g_array_append_val (ids, id);
  }
}

void
bt_bpe_encode_word (BtBpe *bpe, const guint8 *word, gsize len, GArray *ids)
{
  if (len == 0)
    return;
  gboolean cacheable = len <= CACHE_MAX_WORD_BYTES;
  char key[CACHE_MAX_WORD_BYTES + 1];
  if (cacheable) {
    memcpy (key, word, len);
    key[len] = '\0';
    g_mutex_lock (&bpe->cache_lock);
    const int *hit = g_hash_table_lookup (bpe->cache, key);
    if (hit)
      append_ids (ids, hit);
    g_mutex_unlock (&bpe->cache_lock);
    if (hit)
      return;
  }

  int *merged = g_new (int, len + 1);
  int n = merge_word (bpe, word, (int) len, merged + 1);
  int kept = 0;
  for (int i = 0; i < n; i++) {
    int id = merged[1 + i] >= EXTRA_BASE ? bpe->unk_id : merged[1 + i];
    if (id >= 0)
      merged[1 + kept++] = id;
  }
  merged[0] = kept;
  append_ids (ids, merged);

  if (!cacheable) {
    g_free (merged);
    return;
  }
  g_mutex_lock (&bpe->cache_lock);
  if (g_hash_table_size (bpe->cache) >= CACHE_MAX_WORDS)
    g_hash_table_remove_all (bpe->cache);
  g_hash_table_replace (bpe->cache, g_strdup (key), merged);
  g_mutex_unlock (&bpe->cache_lock);
}
