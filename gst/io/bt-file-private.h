/* bt-file-private.h - reading a checkpoint file into private memory.
 * Private to libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The whole regular file `path`, copied into anonymous memory: unlike a
 * mapping of the file, the copy cannot fault (SIGBUS) or change when the
 * file is truncated, rewritten or deleted while a model is in use.
 * BT_ERROR_IO when it cannot be read whole. */
GBytes *bt_file_read_private (const char *path, GError **error);

G_END_DECLS
