/* bt-tokenizer.h - RoBERTa's byte-level BPE tokenizer, as HF's
 * RobertaTokenizer(Fast) behaves for BridgeTower checkpoints.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct _BtTokenizer BtTokenizer;

/* Loads from a model folder: tokenizer.json when present, else vocab.json +
 * merges.txt (+ tokenizer_config.json / special_tokens_map.json).
 * Thread-safe once loaded (the word cache is locked internally). */
BT_API
BtTokenizer *bt_tokenizer_load (const char *dir, GError **error);
BT_API
void bt_tokenizer_free (BtTokenizer *tok);

BT_API
int bt_tokenizer_vocab_size (const BtTokenizer *tok);
/* tokenizer_config.json's model_max_length; G_MAXINT when the folder has
 * none (the hub repos: HF then uses VERY_LARGE_INTEGER, i.e. no limit). */
BT_API
int bt_tokenizer_model_max_length (const BtTokenizer *tok);
BT_API
int bt_tokenizer_pad_id (const BtTokenizer *tok);
BT_API
int bt_tokenizer_mask_id (const BtTokenizer *tok);
/* NULL when out of range. */
BT_API
const char *bt_tokenizer_id_to_token (const BtTokenizer *tok, gint64 id);
/* -1 when unknown. */
BT_API
gint64 bt_tokenizer_token_to_id (const BtTokenizer *tok, const char *token);

/* Encodes one UTF-8 text. With `add_special_tokens`, <s> ... </s>. With
 * `max_length` > 0, truncates to that many ids (special tokens included,
 * </s> kept last; like HF, nothing is cut when `max_length` leaves no room
 * for a single text token). Appends gint64 ids to `ids`. Invalid UTF-8 is a
 * BT_ERROR_INPUT error. The empty string is valid. */
BT_API
gboolean bt_tokenizer_encode (BtTokenizer *tok, const char *text,
                              gboolean add_special_tokens, int max_length,
                              GArray *ids, GError **error);

/* A padded batch as the processor returns it (padding=True). */
typedef struct {
  int batch;
  int seq_len;
  gint64 *input_ids;           /* batch x seq_len */
  gint64 *attention_mask;      /* batch x seq_len */
} BtTokenBatch;

/* Encodes `n` texts and pads them to the longest with <pad> / mask 0.
 * `max_length` as in bt_tokenizer_encode. n == 0 is a BT_ERROR_INPUT. */
BT_API
gboolean bt_tokenizer_encode_batch (BtTokenizer *tok, const char *const *texts,
                                    int n, gboolean add_special_tokens,
                                    int max_length, BtTokenBatch *out,
                                    GError **error);
BT_API
void bt_token_batch_clear (BtTokenBatch *batch);

/* Decodes ids back to text. `clean_up_spaces` is HF's
 * clean_up_tokenization_spaces. Invalid byte sequences become U+FFFD. */
BT_API
char *bt_tokenizer_decode (const BtTokenizer *tok, const gint64 *ids, int n,
                           gboolean skip_special_tokens,
                           gboolean clean_up_spaces);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtTokenizer, bt_tokenizer_free)

G_END_DECLS
