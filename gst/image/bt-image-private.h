/* bt-image-private.h - internals shared by the image processor's files.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-image.h"

G_BEGIN_DECLS

/* The size the resize step produces for an in_width x in_height image
 * (before the center crop), as upstream's get_resize_output_image_size. */
void bt_image_config_resized_size (const BtImageConfig *config, int in_width,
                                   int in_height, int *out_width,
                                   int *out_height);

G_END_DECLS
