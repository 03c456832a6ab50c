/* bt-zip.c - a zip central directory reader. Every offset read from the
 * archive is checked against its size before use.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-zip.h"

#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOCATOR 0x07064b50u

#define EOCD_SIZE 22
#define EOCD64_LOCATOR_SIZE 20
#define EOCD64_SIZE 56
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30

struct _BtZip {
  char *name;
  BtZipEntry *entries;
  guint n_entries;
  GHashTable *index;            /* name -> BtZipEntry* */
};

static guint16
rd16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16)
         | ((guint32) p[3] << 24);
}

static guint64
rd64 (const guint8 *p)
{
  return (guint64) rd32 (p) | ((guint64) rd32 (p + 4) << 32);
}

static gboolean
fail (GError **error, const char *name, const char *what)
{
  g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: not a valid zip archive: %s",
               name, what);
  return FALSE;
}

/* TRUE when [off, off + len) lies inside [0, size). */
static gboolean
in_bounds (guint64 off, guint64 len, gsize size)
{
  return off <= size && len <= size - off;
}

typedef struct {
  guint64 n_entries;
  guint64 cd_size;
  guint64 cd_offset;
} Directory;

static gboolean
find_directory (const guint8 *data, gsize size, const char *name,
                Directory *dir, GError **error)
{
  if (size < EOCD_SIZE)
    return fail (error, name, "too short for an end of central directory");

  /* the record sits at the end, followed only by a comment of up to 64 KiB;
   * the last signature whose comment reaches exactly to the end wins */
  gsize lowest = size > EOCD_SIZE + 0xffff ? size - EOCD_SIZE - 0xffff : 0;
  gssize eocd = -1;
  for (gsize pos = size - EOCD_SIZE + 1; pos-- > lowest;) {
    if (rd32 (data + pos) == SIG_EOCD
        && pos + EOCD_SIZE + rd16 (data + pos + 20) == size) {
      eocd = (gssize) pos;
      break;
    }
  }
  if (eocd < 0)
    return fail (error, name, "no end of central directory record");

  const guint8 *e = data + eocd;
  if (rd16 (e + 4) != 0 || rd16 (e + 6) != 0)
    return fail (error, name, "multi-disk archives are not supported");
  dir->n_entries = rd16 (e + 10);
  dir->cd_size = rd32 (e + 12);
  dir->cd_offset = rd32 (e + 16);

  /* zip64: a locator just before the record points at the 64-bit record */
  if ((gsize) eocd >= EOCD64_LOCATOR_SIZE
      && rd32 (e - EOCD64_LOCATOR_SIZE) == SIG_EOCD64_LOCATOR) {
    const guint8 *loc = e - EOCD64_LOCATOR_SIZE;
    guint64 rec = rd64 (loc + 8);
    if (!in_bounds (rec, EOCD64_SIZE, (gsize) eocd - EOCD64_LOCATOR_SIZE)
        || rd32 (data + rec) != SIG_EOCD64)
      return fail (error, name, "zip64 end of central directory out of range");
    const guint8 *r = data + rec;
    if (rd32 (r + 16) != 0 || rd32 (r + 20) != 0)
      return fail (error, name, "multi-disk archives are not supported");
    dir->n_entries = rd64 (r + 32);
    dir->cd_size = rd64 (r + 40);
    dir->cd_offset = rd64 (r + 48);
  }

  if (!in_bounds (dir->cd_offset, dir->cd_size, size))
    return fail (error, name, "central directory out of range");
  if (dir->n_entries > dir->cd_size / CENTRAL_SIZE)
    return fail (error, name, "more entries than the central directory holds");
  return TRUE;
}

/* The zip64 extra field carries, in this order, those of the 32-bit fields
 * that hold 0xffffffff. */
static gboolean
apply_zip64_extra (const guint8 *extra, guint len, guint64 *usize,
                   guint64 *csize, guint64 *offset)
{
  guint pos = 0;
  while (pos + 4 <= len) {
    guint16 id = rd16 (extra + pos);
    guint16 sz = rd16 (extra + pos + 2);
    pos += 4;
    if (sz > len - pos)
      return FALSE;
    if (id == 0x0001) {
      const guint8 *f = extra + pos;
      guint left = sz;
      guint64 *fields[3] = { usize, csize, offset };
      for (int i = 0; i < 3; i++) {
        if (*fields[i] != 0xffffffffu)
          continue;
        if (left < 8)
          return FALSE;
        *fields[i] = rd64 (f);
        f += 8;
        left -= 8;
      }
      return TRUE;
    }
    pos += sz;
  }
  return TRUE;
}

static gboolean
read_entries (BtZip *zip, const guint8 *data, gsize size, const Directory *dir,
              GError **error)
{
  const char *name = zip->name;
  const guint8 *cd = data + dir->cd_offset;
  guint64 pos = 0;

  zip->entries = g_new0 (BtZipEntry, MAX (dir->n_entries, 1));
  for (guint64 i = 0; i < dir->n_entries; i++) {
    if (!in_bounds (pos, CENTRAL_SIZE, dir->cd_size)
        || rd32 (cd + pos) != SIG_CENTRAL)
      return fail (error, name, "bad central directory entry");
    const guint8 *c = cd + pos;
    guint16 flags = rd16 (c + 8);
    guint16 method = rd16 (c + 10);
    guint64 csize = rd32 (c + 20);
    guint64 usize = rd32 (c + 24);
    guint name_len = rd16 (c + 28);
    guint extra_len = rd16 (c + 30);
    guint comment_len = rd16 (c + 32);
    guint64 local = rd32 (c + 42);
    guint64 var_len = (guint64) name_len + extra_len + comment_len;
    if (!in_bounds (pos + CENTRAL_SIZE, var_len, dir->cd_size))
      return fail (error, name, "central directory entry runs past its end");
    const guint8 *entry_name = c + CENTRAL_SIZE;
    if (!apply_zip64_extra (entry_name + name_len, extra_len, &usize, &csize,
                            &local))
      return fail (error, name, "bad zip64 extra field");
    if (flags & 1)
      return fail (error, name, "encrypted entries are not supported");
    if (method == 0 && csize != usize)
      return fail (error, name, "stored entry with differing sizes");
    if (name_len == 0 || memchr (entry_name, '\0', name_len))
      return fail (error, name, "entry with an empty or NUL-containing name");

    /* the local header repeats the name; the data follows it and its own
     * extra field (where torch pads entries to 64-byte alignment) */
    if (!in_bounds (local, LOCAL_SIZE, size) || rd32 (data + local) != SIG_LOCAL)
      return fail (error, name, "local file header out of range");
    const guint8 *l = data + local;
    guint local_name_len = rd16 (l + 26);
    guint local_extra_len = rd16 (l + 28);
    guint64 data_off = local + LOCAL_SIZE + local_name_len + local_extra_len;
    if (local_name_len != name_len
        || !in_bounds (local + LOCAL_SIZE, local_name_len, size)
        || memcmp (l + LOCAL_SIZE, entry_name, name_len) != 0)
      return fail (error, name, "local header does not match the directory");
    if (!in_bounds (data_off, csize, size))
      return fail (error, name, "entry data runs past the end of the file");

    BtZipEntry *e = &zip->entries[zip->n_entries];
    char *ename = g_strndup ((const char *) entry_name, name_len);
    e->name = ename;
    e->method = method;
    e->offset = data_off;
    e->size = csize;
    zip->n_entries++;
    if (g_hash_table_contains (zip->index, ename)) {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                   "%s: not a valid zip archive: entry \"%s\" appears twice",
                   name, ename);
      return FALSE;
    }
    g_hash_table_insert (zip->index, ename, e);
    pos += CENTRAL_SIZE + var_len;
  }
  return TRUE;
}

BtZip *
bt_zip_open (const guint8 *data, gsize size, const char *name, GError **error)
{
  BtZip *zip = g_new0 (BtZip, 1);
  zip->name = g_strdup (name);
  zip->index = g_hash_table_new (g_str_hash, g_str_equal);
  Directory dir;
  if (!find_directory (data, size, name, &dir, error)
      || !read_entries (zip, data, size, &dir, error)) {
    bt_zip_free (zip);
    return NULL;
  }
  return zip;
}

void
bt_zip_free (BtZip *zip)
{
  if (!zip)
    return;
  for (guint i = 0; i < zip->n_entries; i++)
    g_free ((char *) zip->entries[i].name);
  g_hash_table_destroy (zip->index);
  g_free (zip->entries);
  g_free (zip->name);
  g_free (zip);
}

guint
bt_zip_n_entries (const BtZip *zip)
{
  return zip->n_entries;
}

const BtZipEntry *
bt_zip_nth (const BtZip *zip, guint i)
{
  g_return_val_if_fail (i < zip->n_entries, NULL);
  return &zip->entries[i];
}

const BtZipEntry *
bt_zip_lookup (const BtZip *zip, const char *name)
{
  return g_hash_table_lookup (zip->index, name);
}
