/* bt-pickle.h - a restricted pickle interpreter for the state_dicts that
 * torch.save writes. It builds plain data from an allowlist of opcodes and
 * globals and never executes anything the pickle names. Private to
 * libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* One tensor of the state_dict as torch describes it: a strided view into
 * a storage that the archive holds under `storage_key`. */
typedef struct {
  char *name;
  BtDType dtype;
  char *storage_key;
  gint64 storage_numel;
  gint64 storage_offset;        /* in elements */
  int ndim;
  gint64 shape[BT_MAX_DIMS];
  gint64 stride[BT_MAX_DIMS];   /* in elements, >= 0 */
} BtPickleTensor;

/* Interprets `data` (the archive's data.pkl) and returns its tensors in
 * pickle order (an array of BtPickleTensor; free with g_array_unref).
 * Opcodes and globals a state_dict never needs give BT_ERROR_UNSAFE, any
 * other surprise BT_ERROR_FORMAT. Views are checked to lie inside their
 * storage's declared element count. `name` is used in error messages. */
GArray *bt_pickle_load_state_dict (const guint8 *data, gsize size,
                                   const char *name, GError **error);

G_END_DECLS
