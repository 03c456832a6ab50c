/* fuzz-zip.c - the zip central directory reader, then the whole
 * pytorch_model.bin path on the same bytes (zip, pickle, strided copies). */
#include "bt-torchbin.h"
#include "bt-zip.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  volatile guint8 sink = 0;
  BtZip *zip = bt_zip_open (data, size, "fuzz", NULL);
  if (zip) {
    for (guint i = 0; i < bt_zip_n_entries (zip); i++) {
      const BtZipEntry *e = bt_zip_nth (zip, i);
      g_assert (bt_zip_lookup (zip, e->name) != NULL);
      if (e->size) {
        sink ^= data[e->offset];
        sink ^= data[e->offset + e->size - 1];
      }
    }
    bt_zip_free (zip);
  }

  BtTorchBin *tb = bt_torchbin_open_from_data (data, size, "fuzz", NULL);
  if (tb) {
    for (guint i = 0; i < bt_torchbin_n_tensors (tb); i++) {
      const BtTensor *t;
      bt_torchbin_nth (tb, i, &t);
      gsize n = bt_tensor_nbytes (t);
      if (n) {
        sink ^= ((const guint8 *) t->data)[0];
        sink ^= ((const guint8 *) t->data)[n - 1];
      }
    }
    bt_torchbin_free (tb);
  }
  (void) sink;
  return 0;
}
