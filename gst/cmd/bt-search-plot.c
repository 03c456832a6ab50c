/* bt-search-plot.c - `search --plot`: each query's score over time, its
 * threshold as a dashed line of the query's colour and its segments as a
 * band under the axis, drawn with cairo into PNG or SVG.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-search.h"

#ifdef BT_HAVE_CAIRO

#include <cairo.h>
#include <cairo-svg.h>
#include <math.h>

#define WIDTH 960.0
#define MARGIN_LEFT 60.0
#define MARGIN_RIGHT 20.0
#define MARGIN_TOP 20.0
#define PLOT_HEIGHT 300.0
#define BAND_HEIGHT 14.0
#define LEGEND_LINE 18.0

/* Colour-blind-safe (Okabe-Ito) */
static const double palette[][3] = {
  { 0.000, 0.447, 0.698 }, { 0.835, 0.369, 0.000 }, { 0.000, 0.620, 0.451 },
  { 0.800, 0.475, 0.655 }, { 0.337, 0.706, 0.914 }, { 0.902, 0.624, 0.000 },
  { 0.941, 0.894, 0.259 }, { 0.000, 0.000, 0.000 },
};

static void
set_colour (cairo_t *cr, int query, double alpha)
{
  const double *c = palette[query % G_N_ELEMENTS (palette)];

  cairo_set_source_rgba (cr, c[0], c[1], c[2], alpha);
}

typedef struct {
  double t0, t1;               /* time range, ns */
  double lo, hi;               /* score range */
} Range;

static double
x_of (const Range *r, double time)
{
  return MARGIN_LEFT + (time - r->t0) / (r->t1 - r->t0)
      * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT);
}

static double
y_of (const Range *r, double score)
{
  return MARGIN_TOP + (r->hi - score) / (r->hi - r->lo) * PLOT_HEIGHT;
}

/* Scores span [0, 1] (ITM) or [-1, 1] (ITC cosines); thresholds are
 * always in view. */
static Range
range_of (const BtTimeline *t)
{
  Range r = { 0, (double) MAX (bt_timeline_get_duration (t), 1), 0, 1 };

  for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
    double thr = bt_timeline_get_threshold (t, q);

    if (isfinite (thr))
      r.lo = MIN (r.lo, thr);
    for (int f = 0; f < bt_timeline_get_n_frames (t); f++) {
      double s = bt_timeline_get_score (t, f, q);

      if (isfinite (s))
        r.lo = MIN (r.lo, s);
    }
  }
  if (r.lo < 0)
    r.lo = -1;
  return r;
}

static void
draw_axes (cairo_t *cr, const Range *r)
{
  double x0 = MARGIN_LEFT, x1 = WIDTH - MARGIN_RIGHT;
  double seconds = (r->t1 - r->t0) / 1e9;
  static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60,
    120, 300, 600, 900, 1800, 3600 };
  double step = steps[G_N_ELEMENTS (steps) - 1];

  /* at most ten time ticks */
  for (gsize i = G_N_ELEMENTS (steps); i-- > 0;)
    if (seconds / steps[i] <= 10)
      step = steps[i];
  cairo_set_source_rgb (cr, 0.4, 0.4, 0.4);
  cairo_set_line_width (cr, 1);
  /* on pixel centres: a crisp one-pixel frame */
  cairo_rectangle (cr, x0 + 0.5, MARGIN_TOP + 0.5, x1 - x0, PLOT_HEIGHT);
  cairo_stroke (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                          CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);
  for (double v = r->lo; v <= r->hi + 1e-9; v += 0.25) {
    char label[16];

    g_snprintf (label, sizeof label, "%.2f", v);
    cairo_move_to (cr, 8, y_of (r, v) + 4);
    cairo_show_text (cr, label);
  }
  for (double s = 0; s <= seconds + 1e-9; s += step) {
    char label[32];
    double x = x_of (r, s * 1e9);

    if (s >= 60)
      g_snprintf (label, sizeof label, "%d:%02d", (int) s / 60, (int) s % 60);
    else
      g_snprintf (label, sizeof label, "%gs", s);
    cairo_move_to (cr, x, MARGIN_TOP + PLOT_HEIGHT);
    cairo_line_to (cr, x, MARGIN_TOP + PLOT_HEIGHT + 4);
    cairo_stroke (cr);
    cairo_move_to (cr, x - 8, MARGIN_TOP + PLOT_HEIGHT + 16);
    cairo_show_text (cr, label);
  }
}

static void
draw_query (cairo_t *cr, const BtTimeline *t, const GArray *segments,
            const Range *r, int q)
{
  double thr = bt_timeline_get_threshold (t, q);
  double dash[] = { 6, 4 };
  double band_y = MARGIN_TOP + PLOT_HEIGHT + 24 + q * (BAND_HEIGHT + 4);
  gboolean pen = FALSE;

  /* segments: a band under the plot and a light shade over it */
  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);
    double a, b;

    if (s->query != q)
      continue;
    a = x_of (r, s->start);
    b = x_of (r, s->stop);
    set_colour (cr, q, 0.12);
    cairo_rectangle (cr, a, MARGIN_TOP, MAX (b - a, 1), PLOT_HEIGHT);
    cairo_fill (cr);
    set_colour (cr, q, 1);
    cairo_rectangle (cr, a, band_y, MAX (b - a, 1), BAND_HEIGHT);
    cairo_fill (cr);
  }

  if (isfinite (thr)) {
    set_colour (cr, q, 1);
    cairo_set_line_width (cr, 1.5);
    cairo_set_dash (cr, dash, 2, 0);
    cairo_move_to (cr, MARGIN_LEFT, y_of (r, thr));
    cairo_line_to (cr, WIDTH - MARGIN_RIGHT, y_of (r, thr));
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
  }

  set_colour (cr, q, 1);
  cairo_set_line_width (cr, 2);
  for (int f = 0; f < bt_timeline_get_n_frames (t); f++) {
    double s = bt_timeline_get_score (t, f, q);
    double x = x_of (r, bt_timeline_get_time (t, f));

    if (!isfinite (s)) {
      pen = FALSE;
      continue;
    }
    if (pen)
      cairo_line_to (cr, x, y_of (r, s));
    else
      cairo_move_to (cr, x, y_of (r, s));
    pen = TRUE;
  }
  cairo_stroke (cr);
}

static void
draw_legend (cairo_t *cr, const BtTimeline *t, double y0)
{
  cairo_set_font_size (cr, 12);
  for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
    double y = y0 + q * LEGEND_LINE;
    double thr = bt_timeline_get_threshold (t, q);
    g_autofree char *label = isfinite (thr)
        ? g_strdup_printf ("%s  (threshold %.3g)", bt_timeline_get_query (t, q),
                           thr)
        : g_strdup (bt_timeline_get_query (t, q));

    set_colour (cr, q, 1);
    cairo_rectangle (cr, MARGIN_LEFT, y - 9, 18, 10);
    cairo_fill (cr);
    cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
    cairo_move_to (cr, MARGIN_LEFT + 26, y);
    cairo_show_text (cr, label);
  }
}

gboolean
bt_search_plot (const BtTimeline *t, const GArray *segments, const char *path,
                GError **error)
{
  int nq = bt_timeline_get_n_queries (t);
  double legend_y = MARGIN_TOP + PLOT_HEIGHT + 24 + nq * (BAND_HEIGHT + 4)
      + 16;
  double height = legend_y + nq * LEGEND_LINE + 8;
  gboolean svg = g_str_has_suffix (path, ".svg")
      || g_str_has_suffix (path, ".SVG");
  cairo_surface_t *surface = svg
      ? cairo_svg_surface_create (path, WIDTH, height)
      : cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) WIDTH,
                                    (int) height);
  cairo_t *cr = cairo_create (surface);
  Range r = range_of (t);
  cairo_status_t status;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  for (int q = 0; q < nq; q++)
    draw_query (cr, t, segments, &r, q);
  /* over the segments' shade */
  draw_axes (cr, &r);
  draw_legend (cr, t, legend_y);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS && !svg)
    status = cairo_surface_write_to_png (surface, path);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path,
                 cairo_status_to_string (status));
    return FALSE;
  }
  return TRUE;
}

#else /* !BT_HAVE_CAIRO */

gboolean
bt_search_plot (const BtTimeline *t, const GArray *segments, const char *path,
                GError **error)
{
  (void) t;
  (void) segments;
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "%s: this build cannot draw plots (cairo was not found at "
               "build time)", path);
  return FALSE;
}

#endif
