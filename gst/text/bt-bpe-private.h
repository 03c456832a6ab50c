/* bt-bpe-private.h - byte-pair encoding of one pre-tokenized word by merge
 * rank, with a word cache.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BtBpe BtBpe;

/* `vocab` maps byte-level token strings to ids (GINT_TO_POINTER); it is
 * borrowed and must outlive the BtBpe. Pieces that end up outside the
 * vocabulary become `unk_id`, or are dropped when it is -1. */
BtBpe *bt_bpe_new (GHashTable *vocab, int unk_id);
void bt_bpe_free (BtBpe *bpe);

/* Adds the next merge, ranked after all those added before. `left` and
 * `right` are byte-level token strings (NUL-terminated). Repeated pairs keep
 * their first rank. */
void bt_bpe_add_merge (BtBpe *bpe, const char *left, const char *right);
/* Sizes the merge table for about `n_merges` merges (it grows anyway). */
void bt_bpe_reserve (BtBpe *bpe, guint n_merges);

/* Appends the ids (gint64) of one word given as raw bytes (no NUL).
 * Thread-safe. */
void bt_bpe_encode_word (BtBpe *bpe, const guint8 *word, gsize len,
                         GArray *ids);

G_END_DECLS
