/* bt-checkpoint.h - the weights of an HF model folder, whatever their file
 * format: model.safetensors, pytorch_model.bin, or sharded variants of
 * either (*.index.json).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct _BtCheckpoint BtCheckpoint;

/* Opens the weights of a model folder. Preference: model.safetensors,
 * model.safetensors.index.json, pytorch_model.bin,
 * pytorch_model.bin.index.json. `path` may also name one weight file.
 * Every file is validated completely before this returns. */
BtCheckpoint *bt_checkpoint_open (const char *path, GError **error);
void bt_checkpoint_free (BtCheckpoint *ckpt);

/* The file (or index file) the weights came from. */
const char *bt_checkpoint_get_path (const BtCheckpoint *ckpt);

guint bt_checkpoint_n_tensors (const BtCheckpoint *ckpt);
/* Sorted by name. */
const char *bt_checkpoint_nth_name (const BtCheckpoint *ckpt, guint i);

/* The tensor as stored (its file dtype), or NULL when absent. Valid while
 * the checkpoint is open. */
const BtTensor *bt_checkpoint_lookup_raw (const BtCheckpoint *ckpt,
                                          const char *name);

/* The tensor as float32, or NULL when absent (no error) or when it is not a
 * floating-point tensor (BT_ERROR_DTYPE). F32 data is used in place
 * (from the mmap when aligned); F16 and BF16 are converted once, on first
 * request, and kept. Valid while the checkpoint is open. Thread-safe. */
const BtTensor *bt_checkpoint_lookup_f32 (BtCheckpoint *ckpt,
                                          const char *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtCheckpoint, bt_checkpoint_free)

G_END_DECLS
