/* bt-torchbin.c - pytorch_model.bin: a zip holding `<prefix>/data.pkl`
 * (the state_dict, pickled) and one `<prefix>/data/<key>` entry per storage.
 * Contiguous tensors point into the file's private copy; strided views (torch keeps
 * expanded buffers with stride 0) are copied into contiguous memory.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-torchbin.h"
#include "bt-file-private.h"
#include "bt-pickle.h"
#include "bt-zip.h"

#include <string.h>

/* Strided views of a small storage can describe huge tensors (stride 0);
 * copies beyond the file's own size plus this are refused. */
#define COPY_ALLOWANCE (16 * 1024 * 1024)

typedef struct {
  char *name;
  BtTensor tensor;
} Item;

struct _BtTorchBin {
  char *name;
  GBytes *bytes;
  Item *items;
  guint n_items;
  GPtrArray *copies;            /* contiguous copies of strided views */
};

static gboolean
fail (GError **error, BtError code, const char *name, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, BtError code, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, BT_ERROR, code, "%s: %s", name, msg);
  return FALSE;
}

/* The one `<prefix>/data.pkl` of the archive. */
static const BtZipEntry *
find_pickle (const BtZip *zip, const char *name, GError **error)
{
  const BtZipEntry *found = NULL;
  for (guint i = 0; i < bt_zip_n_entries (zip); i++) {
    const BtZipEntry *e = bt_zip_nth (zip, i);
    const char *slash = strchr (e->name, '/');
    if (slash && slash != e->name && strcmp (slash, "/data.pkl") == 0) {
      if (found) {
        fail (error, BT_ERROR_FORMAT, name, "more than one data.pkl");
        return NULL;
      }
      found = e;
    }
  }
  if (!found)
    fail (error, BT_ERROR_FORMAT, name, "no <archive>/data.pkl: not a "
          "torch.save file");
  return found;
}

static gboolean
is_contiguous (const BtPickleTensor *pt)
{
  gint64 expected = 1;
  for (int d = pt->ndim - 1; d >= 0; d--) {
    if (pt->shape[d] != 1 && pt->stride[d] != expected)
      return FALSE;
    expected *= pt->shape[d];
  }
  return TRUE;
}

static void
copy_strided (guint8 *dst, const guint8 *src, const BtPickleTensor *pt,
              gint64 numel, gsize el)
{
  gint64 idx[BT_MAX_DIMS] = { 0 };
  gint64 stride[BT_MAX_DIMS];
  /* a dim of size 1 never moves: its stride may be anything, even a value
   * that would overflow the offset arithmetic below */
  for (int d = 0; d < pt->ndim; d++)
    stride[d] = pt->shape[d] > 1 ? pt->stride[d] : 0;
  gint64 off = 0;
  for (gint64 i = 0; i < numel; i++) {
    memcpy (dst + (gsize) i * el, src + (gsize) off * el, el);
    for (int d = pt->ndim - 1; d >= 0; d--) {
      idx[d]++;
      off += stride[d];
      if (idx[d] < pt->shape[d])
        break;
      off -= stride[d] * pt->shape[d];
      idx[d] = 0;
    }
  }
}

static gboolean
parse (BtTorchBin *tb, const guint8 *data, gsize size, GError **error)
{
  const char *name = tb->name;

  if (size >= 2 && data[0] == 0x80)
    return fail (error, BT_ERROR_UNSUPPORTED, name, "the legacy torch.save "
                 "format (before torch 1.6) is not supported; re-save it or "
                 "use model.safetensors");
  g_autoptr (BtZip) zip = bt_zip_open (data, size, name, error);
  if (!zip)
    return FALSE;
  const BtZipEntry *pkl = find_pickle (zip, name, error);
  if (!pkl)
    return FALSE;
  g_autofree char *prefix = g_strndup (pkl->name, strlen (pkl->name)
                                       - strlen ("data.pkl"));

  g_autofree char *byteorder_name = g_strconcat (prefix, "byteorder", NULL);
  const BtZipEntry *bo = bt_zip_lookup (zip, byteorder_name);
  if (bo && (bo->method != 0 || bo->size != 6
             || memcmp (data + bo->offset, "little", 6) != 0))
    return fail (error, BT_ERROR_UNSUPPORTED, name, "tensors are not stored "
                 "little-endian");
  if (pkl->method != 0)
    return fail (error, BT_ERROR_UNSUPPORTED, name, "data.pkl is compressed "
                 "(zip method %u)", pkl->method);

  g_autoptr (GArray) tensors = bt_pickle_load_state_dict (data + pkl->offset,
                                                          pkl->size, name,
                                                          error);
  if (!tensors)
    return FALSE;

  guint64 copy_budget = (guint64) size + COPY_ALLOWANCE;
  tb->items = g_new0 (Item, MAX (tensors->len, 1));
  for (guint i = 0; i < tensors->len; i++) {
    const BtPickleTensor *pt = &g_array_index (tensors, BtPickleTensor, i);
    g_autofree char *entry_name = g_strconcat (prefix, "data/",
                                               pt->storage_key, NULL);
    const BtZipEntry *e = bt_zip_lookup (zip, entry_name);
    if (!e)
      return fail (error, BT_ERROR_FORMAT, name, "tensor \"%s\" uses storage "
                   "%s, which the archive lacks", pt->name, entry_name);
    if (e->method != 0)
      return fail (error, BT_ERROR_UNSUPPORTED, name, "storage %s is "
                   "compressed (zip method %u)", entry_name, e->method);
    gsize el = bt_dtype_size (pt->dtype);
    if ((guint64) pt->storage_numel * el > e->size)
      return fail (error, BT_ERROR_TRUNCATED, name, "storage %s holds %"
                   G_GUINT64_FORMAT " bytes, fewer than its %" G_GINT64_FORMAT
                   " %s elements", entry_name, e->size, pt->storage_numel,
                   bt_dtype_name (pt->dtype));

    Item *item = &tb->items[tb->n_items++];
    item->name = g_strdup (pt->name);
    BtTensor *t = &item->tensor;
    t->dtype = pt->dtype;
    t->ndim = pt->ndim;
    memcpy (t->shape, pt->shape, sizeof (gint64) * (gsize) pt->ndim);

    const guint8 *src = data + e->offset + (gsize) pt->storage_offset * el;
    gint64 numel = bt_tensor_numel (t);
    if (is_contiguous (pt) && (guintptr) src % el == 0) {
      t->data = (void *) src;
      continue;
    }
    guint64 nbytes = (guint64) numel * el;
    if (nbytes > copy_budget)
      return fail (error, BT_ERROR_UNSUPPORTED, name, "tensor \"%s\" is a "
                   "strided view that would expand to %" G_GUINT64_FORMAT
                   " bytes", pt->name, nbytes);
    copy_budget -= nbytes;
    guint8 *buf = g_malloc (MAX (nbytes, 1));
    copy_strided (buf, src, pt, numel, el);
    g_ptr_array_add (tb->copies, buf);
    t->data = buf;
  }
  return TRUE;
}

static BtTorchBin *
new_bin (const char *name)
{
  BtTorchBin *tb = g_new0 (BtTorchBin, 1);
  tb->name = g_strdup (name);
  tb->copies = g_ptr_array_new_with_free_func (g_free);
  return tb;
}

BtTorchBin *
bt_torchbin_open_from_data (const guint8 *data, gsize size, const char *name,
                            GError **error)
{
  BtTorchBin *tb = new_bin (name ? name : "(memory)");
  if (!parse (tb, data, size, error)) {
    bt_torchbin_free (tb);
    return NULL;
  }
  return tb;
}

BtTorchBin *
bt_torchbin_open (const char *path, GError **error)
{
  GBytes *bytes = bt_file_read_private (path, error);
  if (!bytes)
    return NULL;
  BtTorchBin *tb = new_bin (path);
  tb->bytes = bytes;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  if (!parse (tb, data, size, error)) {
    bt_torchbin_free (tb);
    return NULL;
  }
  return tb;
}

void
bt_torchbin_free (BtTorchBin *tb)
{
  if (!tb)
    return;
  for (guint i = 0; i < tb->n_items; i++)
    g_free (tb->items[i].name);
  g_free (tb->items);
  g_ptr_array_unref (tb->copies);
  if (tb->bytes)
    g_bytes_unref (tb->bytes);
  g_free (tb->name);
  g_free (tb);
}

guint
bt_torchbin_n_tensors (const BtTorchBin *tb)
{
  return tb->n_items;
}

const char *
bt_torchbin_nth (const BtTorchBin *tb, guint i, const BtTensor **tensor)
{
  g_return_val_if_fail (i < tb->n_items, NULL);
  *tensor = &tb->items[i].tensor;
  return tb->items[i].name;
}
