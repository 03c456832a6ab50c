/* bt-torchbin.c - pytorch_model.bin */
#include "bt-torchbin.h"

struct _BtTorchBin {
  int unused;
};

BtTorchBin *
bt_torchbin_open (const char *path, GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "%s: pytorch_model.bin is not read yet", path);
  return NULL;
}

void
bt_torchbin_free (BtTorchBin *tb)
{
  g_free (tb);
}

guint
bt_torchbin_n_tensors (const BtTorchBin *tb)
{
  (void) tb;
  return 0;
}

const char *
bt_torchbin_nth (const BtTorchBin *tb, guint i, const BtTensor **tensor)
{
  (void) tb;
  (void) i;
  *tensor = NULL;
  return NULL;
}
