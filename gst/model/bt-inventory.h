/* bt-inventory.h - every tensor the forward pass of a config and head set
 * reads, with the shape the config implies: the one table the model-folder
 * check and the model loader both use.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-checkpoint.h"
#include "bt-config.h"

G_BEGIN_DECLS

typedef struct {
  char *name;                  /* full state_dict key */
  int ndim;
  gint64 shape[4];
} BtTensorSpec;

/* The tensors `heads` need (BT_HEAD_NONE: the bare model, no prefix; any
 * head: the "bridgetower." prefix on the shared part). GPtrArray of
 * BtTensorSpec*, owning them. */
GPtrArray *bt_inventory_build (const BtConfig *config, BtHeads heads);

/* Names HF state dicts carry that no forward pass reads (position_ids,
 * text_model.pooler.*, ln_separate.*, unused vision blocks and link
 * towers, ...). */
gboolean bt_inventory_is_ignored (const BtConfig *config, const char *name);

/* The heads whose tensors are all present (architectures is a hint). */
BtHeads bt_inventory_detect_heads (const BtConfig *config,
                                   const BtCheckpoint *ckpt);

/* Checks `ckpt` against the table for `heads`: missing and mis-shaped
 * tensors are one error listing them all (BT_ERROR_MISSING_TENSOR or
 * BT_ERROR_SHAPE); names nobody knows are appended to `unknown` (may be
 * NULL) as g_strdup'd strings, as HF warns about them. */
gboolean bt_inventory_check (const BtConfig *config, BtHeads heads,
                             const BtCheckpoint *ckpt, GPtrArray *unknown,
                             GError **error);

G_END_DECLS
