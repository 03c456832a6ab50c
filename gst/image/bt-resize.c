/* bt-resize.c - Pillow's resampling of 8-bit images, reproduced to the bit:
 * a separable convolution (horizontal pass on the rows the vertical pass
 * needs, then the vertical pass) whose double-precision weights are rounded
 * to 22-bit fixed point, with each pass rounded and clamped to uint8.
 * Nearest neighbour follows Pillow's affine scaling instead.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-resize-private.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* 32-bit accumulators: 8 bits of pixel, 2 bits of headroom for filters whose
 * weights overshoot, the rest for the weights. */
#define PRECISION_BITS 22

/* ---- filter kernels, in Pillow's double-precision arithmetic ----------- */

static double
box_kernel (double x)
{
  return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
}

static double
bilinear_kernel (double x)
{
  x = fabs (x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

static double
hamming_kernel (double x)
{
  x = fabs (x);
  if (x == 0.0)
    return 1.0;
  if (x >= 1.0)
    return 0.0;
  x = x * G_PI;
  /* Pillow writes these two constants as floats */
  return sin (x) / x * (0.54f + 0.46f * cos (x));
}

/* Keys' cubic convolution with a = -0.5 */
static double
bicubic_kernel (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static double
sinc (double x)
{
  if (x == 0.0)
    return 1.0;
  x = x * G_PI;
  return sin (x) / x;
}

static double
lanczos_kernel (double x)
{
  if (-3.0 <= x && x < 3.0)
    return sinc (x) * sinc (x / 3);
  return 0.0;
}

typedef struct {
  double (*kernel) (double x);
  double support;
} Filter;

static const Filter filters[] = {
  [BT_RESAMPLE_LANCZOS] = { lanczos_kernel, 3.0 },
  [BT_RESAMPLE_BILINEAR] = { bilinear_kernel, 1.0 },
  [BT_RESAMPLE_BICUBIC] = { bicubic_kernel, 2.0 },
  [BT_RESAMPLE_BOX] = { box_kernel, 0.5 },
  [BT_RESAMPLE_HAMMING] = { hamming_kernel, 1.0 },
};

gboolean
bt_resize_filter_supported (int filter)
{
  return filter >= BT_RESAMPLE_NEAREST && filter <= BT_RESAMPLE_HAMMING;
}

/* ---- per-axis tables --------------------------------------------------- */

static void
axis_clear (BtResizeAxis *axis)
{
  g_clear_pointer (&axis->bounds, g_free);
  g_clear_pointer (&axis->coeffs, g_free);
  axis->in_size = axis->out_size = 0;
}

void
bt_resize_clear (BtResize *r)
{
  axis_clear (&r->horiz);
  axis_clear (&r->vert);
  g_clear_pointer (&r->tmp, g_free);
  g_clear_pointer (&r->tmp_block, g_free);
  r->tmp_size = r->tmp_block_size = 0;
}

/* Output sample i reads input floor(center_i); the centers are accumulated
 * one step at a time, as Pillow's affine scaling does. */
static void
axis_nearest (BtResizeAxis *axis)
{
  double step = (double) (float) axis->in_size / axis->out_size;
  double pos = step * 0.5;

  axis->ksize = 0;
  axis->bounds = g_new (int, (gsize) axis->out_size * 2);
  for (int i = 0; i < axis->out_size; i++) {
    int index = pos < 0.0 ? -1 : (int) pos;
    axis->bounds[2 * i] = index < axis->in_size ? index : -1;
    axis->bounds[2 * i + 1] = 1;
    pos += step;
  }
}

static void
axis_convolution (BtResizeAxis *axis)
{
  const Filter *f = &filters[axis->filter];
  int in_size = axis->in_size, out_size = axis->out_size;
  /* Pillow passes the source box as floats */
  double scale = (double) (float) in_size / out_size;
  double filterscale = MAX (scale, 1.0);
  double support = f->support * filterscale;
  int ksize = (int) ceil (support) * 2 + 1;
  double *weights = g_new (double, ksize);

  axis->ksize = ksize;
  axis->bounds = g_new (int, (gsize) out_size * 2);
  axis->coeffs = g_new0 (gint32, (gsize) out_size * ksize);

  for (int i = 0; i < out_size; i++) {
    double center = (i + 0.5) * scale;
    double inv_filterscale = 1.0 / filterscale;
    double sum = 0.0;
    int first = (int) (center - support + 0.5);
    int last = (int) (center + support + 0.5);
    first = MAX (first, 0);
    last = MIN (last, in_size);
    int n = last - first;

    for (int x = 0; x < n; x++) {
      weights[x] = f->kernel ((x + first - center + 0.5) * inv_filterscale);
      sum += weights[x];
    }
    gint32 *k = axis->coeffs + (gsize) i * ksize;
    for (int x = 0; x < n; x++) {
      double w = sum != 0.0 ? weights[x] / sum : weights[x];
      k[x] = w < 0 ? (gint32) (-0.5 + w * (1 << PRECISION_BITS))
          : (gint32) (0.5 + w * (1 << PRECISION_BITS));
    }
    axis->bounds[2 * i] = first;
    axis->bounds[2 * i + 1] = n;
  }
  g_free (weights);
}

static void
axis_prepare (BtResizeAxis *axis, int in_size, int out_size, int filter)
{
  if (axis->bounds && axis->in_size == in_size && axis->out_size == out_size
      && axis->filter == filter)
    return;
  axis_clear (axis);
  axis->in_size = in_size;
  axis->out_size = out_size;
  axis->filter = filter;
  if (filter == BT_RESAMPLE_NEAREST)
    axis_nearest (axis);
  else
    axis_convolution (axis);
}

static void *
scratch (void **buf, gsize *size, gsize needed)
{
  if (*size < needed) {
    g_free (*buf);
    *buf = g_malloc (needed);
    *size = needed;
  }
  return *buf;
}

static inline guint8
clip8 (gint32 acc)
{
  acc >>= PRECISION_BITS;
  return (guint8) CLAMP (acc, 0, 255);
}

/* ---- the passes -------------------------------------------------------- */

/* out[v] = clip8 (2^21 + sum_y row_y[v] * k[y]) for v < n_values, rows
 * `row_stride` bytes apart: the one kernel of both passes. The vertical pass
 * runs it on image rows; the horizontal pass on a transposed block of rows,
 * where each "row" is one input column.
 *
 * With SSE2 each 22-bit weight is split as k = kh * 2^15 + kl (0 <= kl <
 * 2^15) so that pmaddwd can multiply 16-bit pixel pairs by both halves; the
 * sums wrap modulo 2^32 but the true total fits in 32 bits (as in Pillow),
 * so the result is the same integer Pillow computes. */
static void
combine_rows (const guint8 *base, gsize row_stride, const gint32 *k, int n,
              int n_values, guint8 *out)
{
  int v = 0;

#ifdef __SSE2__
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi32 (1 << (PRECISION_BITS - 1));

  /* four groups of 4 values, in registers: written out, as the compiler
   * keeps arrays of vectors in memory */
  for (; v + 16 <= n_values; v += 16) {
    __m128i lo0 = zero, lo1 = zero, lo2 = zero, lo3 = zero;
    __m128i hi0 = zero, hi1 = zero, hi2 = zero, hi3 = zero;
    for (int y = 0; y < n; y += 2) {
      const guint8 *row = base + y * row_stride + v;
      gint32 k0 = k[y], k1 = y + 1 < n ? k[y + 1] : 0;
      __m128i a = _mm_loadu_si128 ((const __m128i *) row);
      __m128i b = y + 1 < n
          ? _mm_loadu_si128 ((const __m128i *) (row + row_stride)) : zero;
      __m128i klo = _mm_set1_epi32 ((k0 & 0x7fff) | (k1 & 0x7fff) << 16);
      __m128i khi = _mm_set1_epi32 (((k0 >> 15) & 0xffff)
                                    | (gint32) ((guint32) (k1 >> 15) << 16));
      __m128i ab_lo = _mm_unpacklo_epi8 (a, b);
      __m128i ab_hi = _mm_unpackhi_epi8 (a, b);
      __m128i p0 = _mm_unpacklo_epi8 (ab_lo, zero);
      __m128i p1 = _mm_unpackhi_epi8 (ab_lo, zero);
      __m128i p2 = _mm_unpacklo_epi8 (ab_hi, zero);
      __m128i p3 = _mm_unpackhi_epi8 (ab_hi, zero);
      lo0 = _mm_add_epi32 (lo0, _mm_madd_epi16 (p0, klo));
      hi0 = _mm_add_epi32 (hi0, _mm_madd_epi16 (p0, khi));
      lo1 = _mm_add_epi32 (lo1, _mm_madd_epi16 (p1, klo));
      hi1 = _mm_add_epi32 (hi1, _mm_madd_epi16 (p1, khi));
      lo2 = _mm_add_epi32 (lo2, _mm_madd_epi16 (p2, klo));
      hi2 = _mm_add_epi32 (hi2, _mm_madd_epi16 (p2, khi));
      lo3 = _mm_add_epi32 (lo3, _mm_madd_epi16 (p3, klo));
      hi3 = _mm_add_epi32 (hi3, _mm_madd_epi16 (p3, khi));
    }
#define FINISH(lo, hi) _mm_srai_epi32 (_mm_add_epi32 (_mm_add_epi32 (lo, half), \
        _mm_slli_epi32 (hi, 15)), PRECISION_BITS)
    /* saturating packs clamp to 0..255 as clip8 does */
    __m128i bytes = _mm_packus_epi16 (
        _mm_packs_epi32 (FINISH (lo0, hi0), FINISH (lo1, hi1)),
        _mm_packs_epi32 (FINISH (lo2, hi2), FINISH (lo3, hi3)));
#undef FINISH
    _mm_storeu_si128 ((__m128i *) (out + v), bytes);
  }
#endif

  for (; v < n_values; v++) {
    gint32 acc = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < n; y++)
      acc += base[y * row_stride + v] * k[y];
    out[v] = clip8 (acc);
  }
}

/* Rows go through in blocks of TRANSPOSE_ROWS, transposed so that each input
 * column is contiguous: then the horizontal taps combine like rows. */
#define TRANSPOSE_ROWS 16

static void
pass_horizontal (BtResize *r, const guint8 *src, gsize src_stride, int rows,
                 guint8 *dst, gsize dst_stride)
{
  const BtResizeAxis *axis = &r->horiz;
  const gsize col_stride = 3 * TRANSPOSE_ROWS;
  guint8 *block = scratch ((void **) &r->tmp_block, &r->tmp_block_size,
                           col_stride * axis->in_size);
  guint8 column[3 * TRANSPOSE_ROWS];

  for (int y0 = 0; y0 < rows; y0 += TRANSPOSE_ROWS) {
    int n_rows = MIN (TRANSPOSE_ROWS, rows - y0);
    for (int j = 0; j < n_rows; j++) {
      const guint8 *in = src + (y0 + j) * src_stride;
      guint8 *col = block + 3 * j;
      for (int x = 0; x < axis->in_size; x++, col += col_stride) {
        col[0] = in[3 * x];
        col[1] = in[3 * x + 1];
        col[2] = in[3 * x + 2];
      }
    }
    for (int i = 0; i < axis->out_size; i++) {
      combine_rows (block + axis->bounds[2 * i] * col_stride, col_stride,
                    axis->coeffs + (gsize) i * axis->ksize,
                    axis->bounds[2 * i + 1], 3 * n_rows, column);
      for (int j = 0; j < n_rows; j++)
        memcpy (dst + (y0 + j) * dst_stride + 3 * i, column + 3 * j, 3);
    }
  }
}

/* `src` is row `first_row` of the input. */
static void
pass_vertical (const BtResizeAxis *axis, const guint8 *src, gsize src_stride,
               int first_row, int width, guint8 *dst, gsize dst_stride)
{
  for (int i = 0; i < axis->out_size; i++)
    combine_rows (src + (axis->bounds[2 * i] - first_row) * src_stride,
                  src_stride, axis->coeffs + (gsize) i * axis->ksize,
                  axis->bounds[2 * i + 1], 3 * width, dst + i * dst_stride);
}

/* Pillow fills what falls outside the source with zeros. */
static void
resize_nearest (const BtResize *r, const guint8 *src, gsize src_stride,
                guint8 *dst, gsize dst_stride)
{
  const BtResizeAxis *h = &r->horiz, *v = &r->vert;

  for (int i = 0; i < v->out_size; i++) {
    guint8 *out = dst + i * dst_stride;
    int sy = v->bounds[2 * i];
    if (sy < 0) {
      memset (out, 0, 3 * (gsize) h->out_size);
      continue;
    }
    const guint8 *in = src + sy * src_stride;
    for (int j = 0; j < h->out_size; j++) {
      int sx = h->bounds[2 * j];
      if (sx < 0)
        memset (out + 3 * j, 0, 3);
      else
        memcpy (out + 3 * j, in + 3 * sx, 3);
    }
  }
}

gboolean
bt_resize_rgb (BtResize *r, int filter, const guint8 *src, int in_width,
               int in_height, gsize src_stride, guint8 *dst, int out_width,
               int out_height, gsize dst_stride, GError **error)
{
  if (!bt_resize_filter_supported (filter)) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "resample filter %d is not supported (PIL ids 0..5)", filter);
    return FALSE;
  }
  if (in_width < 1 || in_height < 1 || out_width < 1 || out_height < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "cannot resize %dx%d to %dx%d", in_width, in_height,
                 out_width, out_height);
    return FALSE;
  }

  gsize row_bytes = 3 * (gsize) out_width;
  if (in_width == out_width && in_height == out_height) {
    for (int y = 0; y < in_height; y++)
      memcpy (dst + y * dst_stride, src + y * src_stride, row_bytes);
    return TRUE;
  }

  axis_prepare (&r->horiz, in_width, out_width, filter);
  axis_prepare (&r->vert, in_height, out_height, filter);
  if (filter == BT_RESAMPLE_NEAREST) {
    resize_nearest (r, src, src_stride, dst, dst_stride);
    return TRUE;
  }

  gboolean need_horizontal = in_width != out_width;
  gboolean need_vertical = in_height != out_height;
  const BtResizeAxis *v = &r->vert;

  if (!need_vertical) {
    pass_horizontal (r, src, src_stride, in_height, dst, dst_stride);
    return TRUE;
  }

  const guint8 *vsrc = src;
  gsize vsrc_stride = src_stride;
  int first_row = 0;
  if (need_horizontal) {
    /* only the input rows some output row reads */
    first_row = v->bounds[0];
    int end_row = v->bounds[2 * (out_height - 1)]
        + v->bounds[2 * (out_height - 1) + 1];
    guint8 *tmp = scratch ((void **) &r->tmp, &r->tmp_size,
                           row_bytes * (gsize) (end_row - first_row));
    pass_horizontal (r, src + first_row * src_stride, src_stride,
                     end_row - first_row, tmp, row_bytes);
    vsrc = tmp;
    vsrc_stride = row_bytes;
  }
  pass_vertical (v, vsrc, vsrc_stride, first_row, out_width, dst, dst_stride);
  return TRUE;
}
