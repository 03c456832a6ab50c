/* fuzz-safetensors.c - the safetensors header parser and its validation. */
#include "bt-safetensors.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  BtSafetensors *st = bt_safetensors_open_from_data (data, size, "fuzz", NULL);
  if (!st)
    return 0;
  /* whatever validated must be readable: touch each tensor's first and
   * last byte, so that ASan sees any range the checks let through */
  volatile guint8 sink = 0;
  for (guint i = 0; i < bt_safetensors_n_tensors (st); i++) {
    const BtTensor *t = bt_safetensors_lookup (st, bt_safetensors_nth_name (st, i));
    gsize n = bt_tensor_nbytes (t);
    if (n) {
      sink ^= ((const guint8 *) t->data)[0];
      sink ^= ((const guint8 *) t->data)[n - 1];
    }
  }
  (void) sink;
  bt_safetensors_free (st);
  return 0;
}
