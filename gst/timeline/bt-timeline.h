/* bt-timeline.h - the result of searching one video for text queries: each
 * scored frame's time, scores and match decisions, the segments they make,
 * and the text forms a person uses (SubRip and WebVTT subtitles, chapter
 * files). Plain GLib, so a command and a GStreamer element can share it.
 *
 * Times are nanoseconds from the start of the video.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

typedef struct _BtTimeline BtTimeline;

/* A stretch of video where one query matches: from its first matching
 * frame to the first scored frame after it that no longer matches (or the
 * end of the video), with the highest score and when it was reached. */
typedef struct {
  int query;
  gint64 start;
  gint64 stop;
  double peak;
  gint64 peak_time;
} BtSegment;

BT_API
BtTimeline *bt_timeline_new (const char *const *queries, int n_queries);
BT_API
void bt_timeline_free (BtTimeline *t);

BT_API
int bt_timeline_get_n_queries (const BtTimeline *t);
BT_API
const char *bt_timeline_get_query (const BtTimeline *t, int query);
/* The threshold the query was matched with (for plots), NaN when unknown. */
BT_API
void bt_timeline_set_threshold (BtTimeline *t, int query, double threshold);
BT_API
double bt_timeline_get_threshold (const BtTimeline *t, int query);

/* The end of the video; -1 (the default) means the last frame's time. */
BT_API
void bt_timeline_set_duration (BtTimeline *t, gint64 duration);
BT_API
gint64 bt_timeline_get_duration (const BtTimeline *t);

/* Appends a scored frame: `scores` and `matched` hold one entry per query.
 * Frames come in time order. */
BT_API
void bt_timeline_add_frame (BtTimeline *t, gint64 time, const double *scores,
                            const gboolean *matched);
BT_API
int bt_timeline_get_n_frames (const BtTimeline *t);
BT_API
gint64 bt_timeline_get_time (const BtTimeline *t, int frame);
BT_API
double bt_timeline_get_score (const BtTimeline *t, int frame, int query);
BT_API
gboolean bt_timeline_get_matched (const BtTimeline *t, int frame, int query);

/* The segments (BtSegment) lasting at least `min_duration`, by start time
 * then query. */
BT_API
GArray *bt_timeline_segments (const BtTimeline *t, gint64 min_duration);

/* Subtitles: one cue per stretch of time with the same set of matching
 * queries, the cue naming them (one per line, in query order). */
BT_API
char *bt_timeline_to_srt (const BtTimeline *t, const GArray *segments);
BT_API
char *bt_timeline_to_vtt (const BtTimeline *t, const GArray *segments);

/* Chapters, one per segment titled with its query: Matroska's XML chapters
 * (mkvmerge --chapters, mkvpropedit) or FFmpeg's metadata file
 * (ffmpeg -i in -i chapters.txt -map_metadata 1 -map_chapters 1). */
BT_API
char *bt_timeline_to_matroska_chapters (const BtTimeline *t,
                                        const GArray *segments);
BT_API
char *bt_timeline_to_ffmetadata (const BtTimeline *t, const GArray *segments);

/* "HH:MM:SS.mmm" (`sep` '.') or SubRip's "HH:MM:SS,mmm" (`sep` ','). */
BT_API
char *bt_timeline_format_time (gint64 time, char sep);

G_END_DECLS
