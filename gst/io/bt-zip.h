/* bt-zip.h - the central directory of a zip archive held in memory, as
 * torch.save writes it (stored entries, zip64 when large). Private to
 * libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
  guint16 method;               /* 0: stored; others are not read */
  guint64 offset;               /* of the entry's data within the archive */
  guint64 size;                 /* compressed size: the bytes at `offset` */
} BtZipEntry;

typedef struct _BtZip BtZip;

/* Reads the directory of `data` (which must outlive the result) and checks
 * that every entry's local header and data lie inside it. `name` is used
 * in error messages. */
BtZip *bt_zip_open (const guint8 *data, gsize size, const char *name,
                    GError **error);
void bt_zip_free (BtZip *zip);

guint bt_zip_n_entries (const BtZip *zip);
const BtZipEntry *bt_zip_nth (const BtZip *zip, guint i);
const BtZipEntry *bt_zip_lookup (const BtZip *zip, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtZip, bt_zip_free)

G_END_DECLS
