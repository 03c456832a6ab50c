/* bt-image.h - BridgeTowerImageProcessor: PIL-exact bicubic resize, center
 * crop, rescale, normalise, pad; and reading image files as RGB.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* preprocessor_config.json, with the class defaults for absent keys. */
typedef struct {
  gboolean do_resize;
  int shortest_edge;           /* size.shortest_edge, or a bare `size` */
  int size_divisor;
  int resample;                /* PIL filter id; 3 = bicubic */
  gboolean do_rescale;
  double rescale_factor;
  gboolean do_normalize;
  float image_mean[3];
  float image_std[3];
  gboolean do_center_crop;
  int crop_height;             /* crop_size; falls back to size */
  int crop_width;
  gboolean do_pad;
} BtImageConfig;

BT_API
void bt_image_config_init_defaults (BtImageConfig *config);
/* `path` is preprocessor_config.json or the folder holding it. */
BT_API
gboolean bt_image_config_load (BtImageConfig *config, const char *path,
                               GError **error);
/* What BridgeTowerProcessor does: crop and normalisation forced on. */
BT_API
void bt_image_config_force_processor (BtImageConfig *config);

/* The H x W of the processed tensor for one image of in_width x in_height
 * (before any batch padding). */
BT_API
void bt_image_config_output_size (const BtImageConfig *config, int in_width,
                                  int in_height, int *out_width,
                                  int *out_height);

/* Owns its scratch buffers: after the first frame of a given size, a call
 * allocates nothing. Not thread-safe: one per streaming thread. */
typedef struct _BtImageProcessor BtImageProcessor;

BT_API
BtImageProcessor *bt_image_processor_new (const BtImageConfig *config);
BT_API
void bt_image_processor_free (BtImageProcessor *proc);
BT_API
const BtImageConfig *bt_image_processor_get_config (const BtImageProcessor *proc);

/* Processes one 8-bit RGB image (`stride` bytes per row) into
 * `pixel_values`, 3 x out_height x out_width float32 as returned by
 * bt_image_config_output_size. A 1x1 image is valid. */
BT_API
gboolean bt_image_processor_process (BtImageProcessor *proc, const guint8 *rgb,
                                     int width, int height, int stride,
                                     float *pixel_values, int out_width,
                                     int out_height, GError **error);

/* Processes a batch like HF: each image, then zero padding to the largest
 * H and W (bottom/right). Adds "pixel_values" (F32, B x 3 x H x W) and
 * "pixel_mask" (I64, B x H x W) to `out`. With do_pad off (no shipped
 * config does that) the sizes must agree and, as upstream, no pixel_mask is
 * added. */
typedef struct {
  const guint8 *rgb;
  int width;
  int height;
  int stride;
} BtRgbImage;

BT_API
gboolean bt_image_processor_process_batch (BtImageProcessor *proc,
                                           const BtRgbImage *images, int n,
                                           BtTensorSet *out, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtImageProcessor, bt_image_processor_free)

G_END_DECLS
