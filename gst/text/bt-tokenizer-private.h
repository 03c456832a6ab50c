/* bt-tokenizer-private.h - what a loaded tokenizer holds, shared by the
 * file readers (bt-tokenizer-files.c) and the encoder (bt-tokenizer.c).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-tokenizer.h"
#include "bt-bpe-private.h"

G_BEGIN_DECLS

/* A token matched in the raw text before pre-tokenization: the special
 * tokens and any other added token. */
typedef struct {
  const char *content;          /* in BtTokenizer.strings */
  gsize len;
  int id;
  gboolean lstrip;              /* eats the whitespace before it */
  gboolean rstrip;              /* eats the whitespace after it */
  gboolean special;             /* skipped by decode(skip_special_tokens) */
} BtAddedToken;

enum {
  BT_TOKEN_SPECIAL = 1 << 0,
  BT_TOKEN_ADDED = 1 << 1,
};

struct _BtTokenizer {
  GStringChunk *strings;
  GHashTable *vocab;            /* byte-level token -> id */
  GPtrArray *tokens;            /* id -> token (NULL for unused ids) */
  GByteArray *token_flags;      /* id -> BT_TOKEN_* */
  GArray *added;                /* BtAddedToken */
  guint8 added_first_byte[256]; /* first bytes of added tokens */
  BtBpe *bpe;
  int cls_id;                   /* -1 when no <s> ... </s> is added */
  int sep_id;
  int pad_id;
  int mask_id;
  int unk_id;
  gboolean add_prefix_space;
  int model_max_length;         /* G_MAXINT when the folder sets none */
};

/* Fills `tok` (allocated with its tables empty) from the files in `dir`. */
gboolean bt_tokenizer_read_files (BtTokenizer *tok, const char *dir,
                                  GError **error);

G_END_DECLS
