/* bt-search.h - the parts of `bridgetower search`: the GStreamer runs that
 * score a video (bt-search-run.c), the per-video result files and the index
 * (bt-search-result.c), the feature store (bt-search-store.c, SQLite), the
 * score plot (bt-search-plot.c, cairo) and the clips and chapters written
 * into video files (bt-search-clip.c). Private to the command.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bridgetower.h"

G_BEGIN_DECLS

/* What a search is asked to do, parsed from the command line. */
typedef struct {
  const char *model_dir;
  const char *precision;       /* "fp32" or "bf16" */
  const char *queries;         /* btmatcher's `queries` string (escaped) */
  const char *queries_file;    /* btmatcher's `queries-file`, or NULL */
  GPtrArray *entries;          /* GstBtQueryEntry: the list the two make */
  const char *mode;            /* "auto", "itm", "itc" */
  double threshold;
  double hysteresis;
  guint top_k;
  guint interval;              /* encode every Nth frame */
  double fps;                  /* > 0: resample to this rate first */
  int threads;
  gboolean progress;           /* progress line on stderr */
} BtSearchOptions;

/* ---- runs (GStreamer) ---------------------------------------------------- */

typedef struct _BtSearchStore BtSearchStore;

/* Frames sampled the same way give the same stored features: the key of
 * a video's stored frames ("interval=N" or "fps=F"). */
char *bt_search_sampling_key (const BtSearchOptions *o);

/* Decodes `video` (a path or URI), runs the elements and returns the
 * timeline of the scored frames (duration set). With `store`, the frames'
 * image features are kept there (what `mode` needs). `encoded` gets the
 * number of frames that went through the vision tower. */
BtTimeline *bt_search_run_video (const BtSearchOptions *o, const char *video,
                                 BtSearchStore *store, guint64 *encoded,
                                 GError **error);

/* Scores the frames of `video` kept in `store` through btmatcher, without
 * decoding or the vision tower. NULL with no error when the store cannot
 * serve this search (no frames of that video and sampling, or not the
 * features `mode` needs). */
BtTimeline *bt_search_run_stored (const BtSearchOptions *o, const char *video,
                                  BtSearchStore *store, GError **error);

/* ---- the feature store (SQLite; stubs without it) ------------------------ */

/* Opens or creates the store; it belongs to one model folder and
 * precision (an error names the other). */
BtSearchStore *bt_search_store_open (const char *path, const char *model_dir,
                                     const char *precision, GError **error);
void bt_search_store_close (BtSearchStore *store);

/* Forgets the frames of `video` for `sampling` and starts keeping new ones:
 * with `full` the whole image features (any mode), else the ITC embedding
 * only (mode itc). */
gboolean bt_search_store_begin (BtSearchStore *store, const char *video,
                                const char *sampling, gboolean full,
                                GError **error);
gboolean bt_search_store_add (BtSearchStore *store, gint64 time,
                              const BtImageFeatures *features, GError **error);
/* Ends what bt_search_store_begin began: with `complete`, marks the video
 * complete with its duration (only complete videos are served), else
 * drops what was kept. */
gboolean bt_search_store_end (BtSearchStore *store, gboolean complete,
                              gint64 duration, GError **error);

/* Calls `frame` for every kept frame of a complete `video` and sampling,
 * in time order (whole features when they were kept, else features with
 * the ITC embedding only); FALSE with no error when there is none or when
 * `need_full` and only ITC embeddings were kept. */
typedef gboolean (*BtSearchStoreFrameFunc) (gint64 time,
                                            BtImageFeatures *features,
                                            gpointer user_data,
                                            GError **error);
gboolean bt_search_store_replay (BtSearchStore *store, BtModel *model,
                                 const char *video, const char *sampling,
                                 gboolean need_full, gint64 *duration,
                                 BtSearchStoreFrameFunc frame,
                                 gpointer user_data, GError **error);

/* ---- result files and the index ----------------------------------------- */

/* A digest of everything that decides a video's result (model, queries and
 * their thresholds, mode, sampling, threshold, hysteresis). */
char *bt_search_result_key (const BtSearchOptions *o);

/* Writes the timeline as JSON lines (a header, one line per scored frame,
 * one per segment), atomically. */
gboolean bt_search_result_save (const char *path, const char *video,
                                const char *key, const BtTimeline *t,
                                const GArray *segments, GError **error);
/* The timeline of a result file written with `key`; NULL with no error
 * when the file is missing or was written for another key. */
BtTimeline *bt_search_result_load (const char *path, const char *key,
                                   GError **error);

/* ---- outputs ------------------------------------------------------------ */

/* The score of every query over time, its threshold and its segments, as
 * PNG or SVG (by the file's extension). BT_ERROR_UNSUPPORTED in a build
 * without cairo. */
gboolean bt_search_plot (const BtTimeline *t, const GArray *segments,
                         const char *path, GError **error);

/* Re-encodes the parts of `video` inside `segments` (merged where they
 * overlap) one after the other into `path` (H.264 + AAC in MP4, or
 * Matroska for .mkv with a chapter per segment). With `whole`, the whole
 * video with a chapter per segment (Matroska only). */
gboolean bt_search_clip (const char *video, const BtTimeline *t,
                         const GArray *segments, const char *path,
                         gboolean whole, GError **error);

/* file:// URI of a path, or `video` itself when it already is a URI. */
char *bt_search_video_uri (const char *video, GError **error);

G_END_DECLS
