/* bt-torchbin.h - pytorch_model.bin (torch.save's zip format) read without
 * executing its pickle. Private to libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct _BtTorchBin BtTorchBin;

/* Maps the file and validates it completely: the zip directory, the pickle
 * (restricted to what a state_dict needs) and every tensor's extent. */
BtTorchBin *bt_torchbin_open (const char *path, GError **error);
/* `data` must outlive the result. */
BtTorchBin *bt_torchbin_open_from_data (const guint8 *data, gsize size,
                                        const char *name, GError **error);
void bt_torchbin_free (BtTorchBin *tb);

guint bt_torchbin_n_tensors (const BtTorchBin *tb);
/* The i-th tensor (pickle order) and its name; both valid while `tb` is
 * open. The tensor is contiguous: strided views are copied at load. */
const char *bt_torchbin_nth (const BtTorchBin *tb, guint i,
                             const BtTensor **tensor);

G_END_DECLS
