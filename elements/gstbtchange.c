/* gstbtchange.c - the frame-change measure of btpreprocess's gating.
 *
 * A cell's mean over hundreds of samples hides sensor and compression
 * noise (which moves single pixels by a few levels) yet moves when an
 * object enters the cell, and the largest cell change keeps a small local
 * event from being averaged away by a static rest of the frame. Rows and
 * columns are sampled with a stride that keeps about 256 samples along the
 * shorter side, so a 1080p frame costs ~130k byte reads whatever its
 * format.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtchange.h"

#include <math.h>

#define SAMPLES_SHORT_SIDE 256

void
gst_bt_luma_grid_measure (GstBtLumaGrid *grid, const GstVideoFrame *frame)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  const guint8 *plane = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
  gboolean rgb = GST_VIDEO_FORMAT_INFO_IS_RGB (finfo);
  gint step = MAX (1, MIN (width, height) / SAMPLES_SHORT_SIDE);
  guint off[3] = { 0, 0, 0 };

  if (rgb)
    for (int c = 0; c < 3; c++)
      off[c] = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c);
  grid->cols = MIN (GST_BT_LUMA_GRID, width);
  grid->rows = MIN (GST_BT_LUMA_GRID, height);

  for (gint cy = 0; cy < grid->rows; cy++) {
    gint y0 = cy * height / grid->rows, y1 = (cy + 1) * height / grid->rows;

    for (gint cx = 0; cx < grid->cols; cx++) {
      gint x0 = cx * width / grid->cols, x1 = (cx + 1) * width / grid->cols;
      guint64 sum = 0;
      guint n = 0;

      for (gint y = y0; y < y1; y += step) {
        const guint8 *row = plane + (gsize) y * stride;

        for (gint x = x0; x < x1; x += step) {
          const guint8 *px = row + (gsize) x * pstride;

          /* BT.601 weights in 8-bit fixed point (they sum to 256) */
          sum += rgb ? 77u * px[off[0]] + 150u * px[off[1]]
              + 29u * px[off[2]] : 256u * px[0];
          n++;
        }
      }
      grid->luma[cy * grid->cols + cx] = (gfloat) sum / (256.0f * n);
    }
  }
}

gdouble
gst_bt_luma_grid_change (const GstBtLumaGrid *grid, const GstBtLumaGrid *ref)
{
  gfloat largest = 0;

  if (grid->cols != ref->cols || grid->rows != ref->rows)
    return 1.0;
  for (gint i = 0; i < grid->cols * grid->rows; i++)
    largest = MAX (largest, fabsf (grid->luma[i] - ref->luma[i]));
  return largest / 255.0;
}
