/* bt-resize-private.h - Pillow's Image.resize on 8-bit RGB, bit-exact.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* Pillow's filter ids (PIL.Image.Resampling). */
enum {
  BT_RESAMPLE_NEAREST = 0,
  BT_RESAMPLE_LANCZOS = 1,
  BT_RESAMPLE_BILINEAR = 2,
  BT_RESAMPLE_BICUBIC = 3,
  BT_RESAMPLE_BOX = 4,
  BT_RESAMPLE_HAMMING = 5,
};

/* The weights of one axis for one (in size, out size, filter): kept between
 * calls so that frames of the same size reuse them. */
typedef struct {
  int in_size;
  int out_size;
  int filter;
  int ksize;          /* taps per output sample (0 for nearest) */
  int *bounds;        /* per output: first input index, number of taps;
                       * nearest: the input index or -1 */
  gint32 *coeffs;     /* out_size x ksize, 22-bit fixed point */
} BtResizeAxis;

/* Scratch state; zero-initialise, release with bt_resize_clear. */
typedef struct {
  BtResizeAxis horiz;
  BtResizeAxis vert;
  guint8 *tmp;        /* the horizontal pass's rows */
  gsize tmp_size;
  guint8 *tmp_block;  /* a block of input rows, transposed */
  gsize tmp_block_size;
} BtResize;

gboolean bt_resize_filter_supported (int filter);
void bt_resize_clear (BtResize *r);

/* Resizes in_width x in_height RGB (rows `src_stride` bytes apart) to
 * out_width x out_height as Pillow's Image.resize((w, h), filter) does on an
 * RGB image. The same size is a copy. */
gboolean bt_resize_rgb (BtResize *r, int filter, const guint8 *src,
                        int in_width, int in_height, gsize src_stride,
                        guint8 *dst, int out_width, int out_height,
                        gsize dst_stride, GError **error);

G_END_DECLS
