/* fuzz-pickle.c - the restricted pickle interpreter on its own. */
#include "bt-pickle.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GArray *tensors = bt_pickle_load_state_dict (data, size, "fuzz", NULL);
  if (!tensors)
    return 0;
  /* what it accepts is self-consistent: views inside their storage */
  for (guint i = 0; i < tensors->len; i++) {
    const BtPickleTensor *t = &g_array_index (tensors, BtPickleTensor, i);
    g_assert (t->name && t->storage_key);
    g_assert (t->ndim >= 0 && t->ndim <= BT_MAX_DIMS);
    gint64 last = t->storage_offset;
    gboolean empty = FALSE;
    for (int d = 0; d < t->ndim; d++) {
      g_assert (t->shape[d] >= 0 && t->stride[d] >= 0);
      empty |= t->shape[d] == 0;
    }
    for (int d = 0; d < t->ndim && !empty; d++)
      last += (t->shape[d] - 1) * t->stride[d];
    g_assert (empty ? t->storage_offset <= t->storage_numel
                    : last < t->storage_numel);
  }
  g_array_unref (tensors);
  return 0;
}
