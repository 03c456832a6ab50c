/* gstbtchange.h - how much a video frame changed, cheaply: the mean luma
 * of each cell of a grid over the frame, compared cell by cell with the
 * grid of a reference frame. btpreprocess's gating decides on it.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* cells each way (fewer when the frame has fewer pixels) */
#define GST_BT_LUMA_GRID 16

typedef struct {
  gint cols;
  gint rows;
  gfloat luma[GST_BT_LUMA_GRID * GST_BT_LUMA_GRID];   /* 0..255, row-major */
} GstBtLumaGrid;

/* Fills `grid` from a mapped frame of btpreprocess's formats (the packed
 * RGB family, GRAY8, I420, NV12: the luma plane as it is). */
void gst_bt_luma_grid_measure (GstBtLumaGrid *grid,
    const GstVideoFrame *frame);

/* The largest change of one cell's mean luma from `ref` to `grid`, as a
 * fraction of full scale (0..1); 1 when the grids differ in shape. */
gdouble gst_bt_luma_grid_change (const GstBtLumaGrid *grid,
    const GstBtLumaGrid *ref);

G_END_DECLS
