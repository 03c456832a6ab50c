/* bt-safetensors.h - the safetensors format, read (mmap, fully validated)
 * and written.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct _BtSafetensors BtSafetensors;

BT_API
BtSafetensors *bt_safetensors_open (const char *path, GError **error);
/* Parses a file already in memory (fuzzing, tests). `data` must outlive the
 * result; nothing is copied. */
BT_API
BtSafetensors *bt_safetensors_open_from_data (const guint8 *data, gsize size,
                                              const char *name, GError **error);
BT_API
void bt_safetensors_free (BtSafetensors *st);

BT_API
guint bt_safetensors_n_tensors (const BtSafetensors *st);
BT_API
const char *bt_safetensors_nth_name (const BtSafetensors *st, guint i);
/* As stored; NULL when absent. Valid while `st` is open. */
BT_API
const BtTensor *bt_safetensors_lookup (const BtSafetensors *st, const char *name);
/* The `__metadata__` value for `key`, or NULL. */
BT_API
const char *bt_safetensors_metadata (const BtSafetensors *st, const char *key);

/* Writes every tensor of `set` in set order (tensors of larger element size
 * first, so that each is aligned to its element size). */
BT_API
gboolean bt_safetensors_write (const char *path, const BtTensorSet *set,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtSafetensors, bt_safetensors_free)

G_END_DECLS
