/* bt-image-file.h - PNG and JPEG files as 8-bit RGB, for the command and
 * the tests (the library itself never reads image files: the elements get
 * video frames, applications their own pixels).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* Reads a PNG or JPEG file as 8-bit RGB, as PIL's convert('RGB') gives it
 * (gray and palette expanded, alpha dropped). Free `*rgb` with g_free;
 * the stride is 3 * width. */
gboolean bt_image_load_rgb (const char *path, guint8 **rgb, int *width,
                            int *height, GError **error);

/* bt_image_load_rgb on a file already in memory; `name` is for messages. */
gboolean bt_image_decode_rgb (const guint8 *data, gsize size, const char *name,
                              guint8 **rgb, int *width, int *height,
                              GError **error);

G_END_DECLS
