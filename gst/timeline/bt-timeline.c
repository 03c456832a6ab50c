/* bt-timeline.c - scored frames of one video and the segments they make.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-timeline.h"

#include <math.h>

struct _BtTimeline {
  GPtrArray *queries;          /* char* */
  GArray *thresholds;          /* double per query */
  GArray *times;               /* gint64 per frame */
  GArray *scores;              /* double, frame-major */
  GArray *matched;             /* gboolean, frame-major */
  gint64 duration;
};

BtTimeline *
bt_timeline_new (const char *const *queries, int n_queries)
{
  BtTimeline *t = g_new0 (BtTimeline, 1);
  double nan_value = NAN;

  t->queries = g_ptr_array_new_with_free_func (g_free);
  t->thresholds = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 0; i < n_queries; i++) {
    g_ptr_array_add (t->queries, g_strdup (queries[i]));
    g_array_append_val (t->thresholds, nan_value);
  }
  t->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  t->scores = g_array_new (FALSE, FALSE, sizeof (double));
  t->matched = g_array_new (FALSE, FALSE, sizeof (gboolean));
  t->duration = -1;
  return t;
}

void
bt_timeline_free (BtTimeline *t)
{
  if (!t)
    return;
  g_ptr_array_unref (t->queries);
  g_array_unref (t->thresholds);
  g_array_unref (t->times);
  g_array_unref (t->scores);
  g_array_unref (t->matched);
  g_free (t);
}

int
bt_timeline_get_n_queries (const BtTimeline *t)
{
  return (int) t->queries->len;
}

const char *
bt_timeline_get_query (const BtTimeline *t, int query)
{
  return g_ptr_array_index (t->queries, query);
}

void
bt_timeline_set_threshold (BtTimeline *t, int query, double threshold)
{
  g_array_index (t->thresholds, double, query) = threshold;
}

double
bt_timeline_get_threshold (const BtTimeline *t, int query)
{
  return g_array_index (t->thresholds, double, query);
}

void
bt_timeline_set_duration (BtTimeline *t, gint64 duration)
{
  t->duration = duration;
}

gint64
bt_timeline_get_duration (const BtTimeline *t)
{
  gint64 last = t->times->len
      ? g_array_index (t->times, gint64, t->times->len - 1) : 0;

  return t->duration >= 0 ? MAX (t->duration, last) : last;
}

void
bt_timeline_add_frame (BtTimeline *t, gint64 time, const double *scores,
                       const gboolean *matched)
{
  g_array_append_val (t->times, time);
  g_array_append_vals (t->scores, scores, t->queries->len);
  g_array_append_vals (t->matched, matched, t->queries->len);
}

int
bt_timeline_get_n_frames (const BtTimeline *t)
{
  return (int) t->times->len;
}

gint64
bt_timeline_get_time (const BtTimeline *t, int frame)
{
  return g_array_index (t->times, gint64, frame);
}

double
bt_timeline_get_score (const BtTimeline *t, int frame, int query)
{
  return g_array_index (t->scores, double,
                        (gsize) frame * t->queries->len + query);
}

gboolean
bt_timeline_get_matched (const BtTimeline *t, int frame, int query)
{
  return g_array_index (t->matched, gboolean,
                        (gsize) frame * t->queries->len + query);
}

static gint
compare_segments (gconstpointer a, gconstpointer b)
{
  const BtSegment *x = a, *y = b;

  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->query - y->query;
}

GArray *
bt_timeline_segments (const BtTimeline *t, gint64 min_duration)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (BtSegment));
  int n = bt_timeline_get_n_frames (t);

  for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
    BtSegment seg = { .query = q, .start = -1 };

    /* one past the last frame closes a run at the end of the video */
    for (int f = 0; f <= n; f++) {
      gboolean on = f < n && bt_timeline_get_matched (t, f, q);

      if (on && seg.start < 0) {
        seg.start = bt_timeline_get_time (t, f);
        seg.peak = -INFINITY;
      }
      if (on) {
        double s = bt_timeline_get_score (t, f, q);

        if (s > seg.peak) {
          seg.peak = s;
          seg.peak_time = bt_timeline_get_time (t, f);
        }
      } else if (seg.start >= 0) {
        seg.stop = f < n ? bt_timeline_get_time (t, f)
            : bt_timeline_get_duration (t);
        if (seg.stop - seg.start >= min_duration)
          g_array_append_val (out, seg);
        seg.start = -1;
      }
    }
  }
  g_array_sort (out, compare_segments);
  return out;
}
