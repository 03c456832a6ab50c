/* bt-image-processor.c - BridgeTowerImageProcessor on 8-bit RGB: resize,
 * center crop, rescale, normalise, channels first, batch padding.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-image.h"
#include "bt-image-private.h"
#include "bt-resize-private.h"

#include <string.h>

/* Images larger than this many pixels are refused rather than resized. */
#define MAX_PIXELS (G_GINT64_CONSTANT (1) << 28)

struct _BtImageProcessor {
  BtImageConfig config;
  /* Rescale and normalisation only ever see uint8 values, so each channel's
   * whole arithmetic is a table computed once. */
  float lut[3][256];
  BtResize resize;
  guint8 *resized;
  gsize resized_size;
};

/* Upstream's arithmetic: x * factor in float64 stored as float32, then
 * (x - mean) / std in float32. */
static void
build_lut (BtImageProcessor *proc)
{
  const BtImageConfig *c = &proc->config;

  for (int ch = 0; ch < 3; ch++) {
    for (int v = 0; v < 256; v++) {
      float x = (float) v;
      if (c->do_rescale)
        x = (float) ((double) v * c->rescale_factor);
      if (c->do_normalize)
        x = (x - c->image_mean[ch]) / c->image_std[ch];
      proc->lut[ch][v] = x;
    }
  }
}

BtImageProcessor *
bt_image_processor_new (const BtImageConfig *config)
{
  BtImageProcessor *proc = g_new0 (BtImageProcessor, 1);

  if (config)
    proc->config = *config;
  else
    bt_image_config_init_defaults (&proc->config);
  build_lut (proc);
  return proc;
}

void
bt_image_processor_free (BtImageProcessor *proc)
{
  if (!proc)
    return;
  bt_resize_clear (&proc->resize);
  g_free (proc->resized);
  g_free (proc);
}

const BtImageConfig *
bt_image_processor_get_config (const BtImageProcessor *proc)
{
  return &proc->config;
}

static gboolean
check_image (const guint8 *rgb, int width, int height, int stride,
             GError **error)
{
  if (!rgb || width < 1 || height < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "invalid image: %dx%d%s", width, height,
                 rgb ? "" : " without pixels");
    return FALSE;
  }
  if ((gint64) width * height > MAX_PIXELS) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "image of %dx%d is too large", width, height);
    return FALSE;
  }
  if (stride < 3 * width) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "row stride %d is less than 3 x width %d", stride, width);
    return FALSE;
  }
  return TRUE;
}

/* One axis of upstream's center_crop: the part of the source kept and
 * where it lands. A smaller source is zero padded, ceil(pad / 2) before. */
static void
crop_axis (int src_len, int crop_len, int *src_start, int *dst_start,
           int *len)
{
  if (src_len >= crop_len) {
    *src_start = (src_len - crop_len) / 2;
    *dst_start = 0;
    *len = crop_len;
  } else {
    *src_start = 0;
    *dst_start = (crop_len - src_len + 1) / 2;
    *len = src_len;
  }
}

static void
fill (float *dst, int n, float value)
{
  for (int i = 0; i < n; i++)
    dst[i] = value;
}

/* Writes 3 planes of out_width x out_height; rows are `row_stride` floats
 * apart, planes `plane_stride` floats apart. */
static gboolean
process_into (BtImageProcessor *proc, const guint8 *rgb, int width,
              int height, int stride, float *dst, int out_width,
              int out_height, gsize row_stride, gsize plane_stride,
              GError **error)
{
  const BtImageConfig *c = &proc->config;
  const guint8 *src = rgb;
  gsize src_stride = stride;
  int rw = width, rh = height;

  if (!check_image (rgb, width, height, stride, error))
    return FALSE;

  if (c->do_resize)
    bt_image_config_resized_size (c, width, height, &rw, &rh);
  if (rw != width || rh != height) {
    gsize needed = 3 * (gsize) rw * rh;
    if (proc->resized_size < needed) {
      g_free (proc->resized);
      proc->resized = g_malloc (needed);
      proc->resized_size = needed;
    }
    if (!bt_resize_rgb (&proc->resize, c->resample, rgb, width, height,
                        stride, proc->resized, rw, rh, 3 * (gsize) rw, error))
      return FALSE;
    src = proc->resized;
    src_stride = 3 * (gsize) rw;
  }

  int cw = c->do_center_crop ? c->crop_width : rw;
  int ch = c->do_center_crop ? c->crop_height : rh;
  if (cw != out_width || ch != out_height) {
    g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                 "a %dx%d image gives %dx%d pixel values, not %dx%d", width,
                 height, cw, ch, out_width, out_height);
    return FALSE;
  }

  int sx, dx, nx, sy, dy, ny;
  crop_axis (rw, cw, &sx, &dx, &nx);
  crop_axis (rh, ch, &sy, &dy, &ny);

  for (int chan = 0; chan < 3; chan++) {
    const float *lut = proc->lut[chan];
    /* crop padding is added to the uint8 image, before normalisation */
    float pad = lut[0];
    float *plane = dst + chan * plane_stride;
    for (int y = 0; y < ch; y++) {
      float *row = plane + y * row_stride;
      if (y < dy || y >= dy + ny) {
        fill (row, cw, pad);
        continue;
      }
      const guint8 *in = src + (gsize) (sy + y - dy) * src_stride
          + 3 * (gsize) sx + chan;
      fill (row, dx, pad);
      for (int x = 0; x < nx; x++)
        row[dx + x] = lut[in[3 * x]];
      fill (row + dx + nx, cw - dx - nx, pad);
    }
  }
  return TRUE;
}

gboolean
bt_image_processor_process (BtImageProcessor *proc, const guint8 *rgb,
                            int width, int height, int stride,
                            float *pixel_values, int out_width,
                            int out_height, GError **error)
{
  g_return_val_if_fail (proc != NULL && pixel_values != NULL, FALSE);
  return process_into (proc, rgb, width, height, stride, pixel_values,
                       out_width, out_height, out_width,
                       (gsize) out_width * out_height, error);
}

gboolean
bt_image_processor_process_batch (BtImageProcessor *proc,
                                  const BtRgbImage *images, int n,
                                  BtTensorSet *out, GError **error)
{
  g_return_val_if_fail (proc != NULL && out != NULL, FALSE);

  if (!images || n < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "no images to process");
    return FALSE;
  }

  g_autofree int *sizes = g_new (int, 2 * (gsize) n);
  int max_w = 0, max_h = 0;
  for (int i = 0; i < n; i++) {
    if (!check_image (images[i].rgb, images[i].width, images[i].height,
                      images[i].stride, error)) {
      g_prefix_error (error, "image %d: ", i);
      return FALSE;
    }
    bt_image_config_output_size (&proc->config, images[i].width,
                                 images[i].height, &sizes[2 * i],
                                 &sizes[2 * i + 1]);
    if (!proc->config.do_pad && i > 0
        && (sizes[2 * i] != max_w || sizes[2 * i + 1] != max_h)) {
      g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                   "image %d gives %dx%d pixel values, image 0 %dx%d, and "
                   "do_pad is off", i, sizes[2 * i], sizes[2 * i + 1],
                   max_w, max_h);
      return FALSE;
    }
    max_w = MAX (max_w, sizes[2 * i]);
    max_h = MAX (max_h, sizes[2 * i + 1]);
  }

  gint64 shape[4] = { n, 3, max_h, max_w };
  BtTensor *values = bt_tensor_set_add (out, "pixel_values", BT_DTYPE_F32, 4,
                                        shape);
  gsize plane = (gsize) max_w * max_h;
  for (int i = 0; i < n; i++) {
    float *dst = (float *) values->data + (gsize) i * 3 * plane;
    if (!process_into (proc, images[i].rgb, images[i].width, images[i].height,
                       images[i].stride, dst, sizes[2 * i], sizes[2 * i + 1],
                       max_w, plane, error)) {
      g_prefix_error (error, "image %d: ", i);
      return FALSE;
    }
  }

  /* upstream returns the mask only along with the padding */
  if (!proc->config.do_pad)
    return TRUE;
  gint64 mask_shape[3] = { n, max_h, max_w };
  BtTensor *mask = bt_tensor_set_add (out, "pixel_mask", BT_DTYPE_I64, 3,
                                      mask_shape);
  for (int i = 0; i < n; i++) {
    gint64 *m = (gint64 *) mask->data + (gsize) i * plane;
    for (int y = 0; y < sizes[2 * i + 1]; y++)
      for (int x = 0; x < sizes[2 * i]; x++)
        m[(gsize) y * max_w + x] = 1;
  }
  return TRUE;
}
