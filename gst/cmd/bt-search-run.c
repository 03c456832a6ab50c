/* bt-search-run.c - the GStreamer side of `bridgetower search`: a video
 * through uridecodebin ! videoconvert ! btpreprocess ! btencoder !
 * btmatcher, or stored features through appsrc ! btmatcher, the scores
 * read off btmatcher's output buffers into a timeline.
 *
 * The elements are linked into the command and registered at start, so the
 * command runs without GST_PLUGIN_PATH.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-search.h"

#include "gstbtencoder.h"
#include "gstbtmatcher.h"
#include "gstbtmeta.h"
#include "gstbtpreprocess.h"
#include "gstbtquerylist.h"

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <string.h>

/* Progress updates while a video runs. */
#define PROGRESS_PERIOD (500 * GST_MSECOND)

/* GStreamer and the three elements, once per process. */
static gboolean
ensure_gst (GError **error)
{
  static gboolean done, ok;
  static char *reason;

  if (!done) {
    GError *local = NULL;

    done = TRUE;
    ok = gst_init_check (NULL, NULL, &local)
        && GST_ELEMENT_REGISTER (btpreprocess, NULL)
        && GST_ELEMENT_REGISTER (btencoder, NULL)
        && GST_ELEMENT_REGISTER (btmatcher, NULL);
    reason = g_strdup (local ? local->message : "the elements cannot be "
                       "registered");
    g_clear_error (&local);
  }
  if (!ok)
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "GStreamer could not be initialised: %s", reason);
  return ok;
}

char *
bt_search_sampling_key (const BtSearchOptions *o)
{
  if (o->fps > 0) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    return g_strdup_printf ("fps=%s", g_ascii_dtostr (buf, sizeof buf, o->fps));
  }
  return g_strdup_printf ("interval=%u", o->interval);
}

char *
bt_search_video_uri (const char *video, GError **error)
{
  if (gst_uri_is_valid (video))
    return g_strdup (video);
  return gst_filename_to_uri (video, error);
}

/* ---- reading btmatcher's output ----------------------------------------- */

#define PROBE_TYPES (GST_PAD_PROBE_TYPE_BUFFER \
      | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)

typedef struct {
  const BtSearchOptions *o;
  BtTimeline *timeline;
  double *scores;
  gboolean *matched;
  BtSearchStore *store;
  GstSegment scored_segment;   /* at btmatcher's src, for stream times */
  GstSegment encoded_segment;  /* at its sink */
  gint64 end;                  /* stream time where the last frame ends */
  GError *error;               /* first failure in a streaming thread */
  GMutex lock;
} Capture;

static void
capture_init (Capture *c, const BtSearchOptions *o, BtSearchStore *store)
{
  g_autofree const char **texts = g_new0 (const char *, o->entries->len + 1);

  for (guint i = 0; i < o->entries->len; i++)
    texts[i] = ((GstBtQueryEntry *) g_ptr_array_index (o->entries, i))->text;
  c->o = o;
  c->timeline = bt_timeline_new (texts, (int) o->entries->len);
  c->scores = g_new0 (double, o->entries->len);
  c->matched = g_new0 (gboolean, o->entries->len);
  c->store = store;
  gst_segment_init (&c->scored_segment, GST_FORMAT_TIME);
  gst_segment_init (&c->encoded_segment, GST_FORMAT_TIME);
  c->end = -1;
  c->error = NULL;
  g_mutex_init (&c->lock);
}

static void
capture_clear (Capture *c)
{
  g_clear_pointer (&c->timeline, bt_timeline_free);
  g_free (c->scores);
  g_free (c->matched);
  g_clear_error (&c->error);
  g_mutex_clear (&c->lock);
}

static void
capture_fail (Capture *c, GError *error)
{
  g_mutex_lock (&c->lock);
  if (!c->error)
    c->error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&c->lock);
}

/* The stream time of a buffer (what a player shows: a container may start
 * its timestamps later than 0), -1 when it has none; segment events
 * update `segment`. */
static gint64
stream_time (GstPadProbeInfo *info, GstSegment *segment)
{
  GstBuffer *buf;
  guint64 t;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
      gst_event_copy_segment (event, segment);
    return -1;
  }
  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (!GST_BUFFER_PTS_IS_VALID (buf) || segment->format != GST_FORMAT_TIME)
    return -1;
  t = gst_segment_to_stream_time (segment, GST_FORMAT_TIME,
                                  GST_BUFFER_PTS (buf));
  return t == GST_CLOCK_TIME_NONE ? -1 : (gint64) t;
}

/* btmatcher's src: every scored frame joins the timeline; the end of the
 * last frame is the end of the video (its audio may last longer). */
static GstPadProbeReturn
on_scored (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Capture *c = user_data;
  gint64 time = stream_time (info, &c->scored_segment);
  GstBuffer *buf;
  GstBtScoresMeta *meta;
  guint n = c->o->entries->len;

  (void) pad;
  if (time < 0)
    return GST_PAD_PROBE_OK;
  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  c->end = MAX (c->end, time + (GST_BUFFER_DURATION_IS_VALID (buf)
                                ? (gint64) GST_BUFFER_DURATION (buf) : 0));
  if (!(meta = gst_buffer_get_bt_scores_meta (buf)))
    return GST_PAD_PROBE_OK;
  if (meta->n_scores != n) {
    capture_fail (c, g_error_new (BT_ERROR, BT_ERROR_INPUT,
                                  "btmatcher scored %u queries, %u expected",
                                  meta->n_scores, n));
    return GST_PAD_PROBE_OK;
  }
  for (guint i = 0; i < n; i++) {
    c->scores[i] = meta->scores[i].score;
    c->matched[i] = meta->scores[i].matched;
    bt_timeline_set_threshold (c->timeline, (int) i,
                               meta->scores[i].threshold);
  }
  bt_timeline_add_frame (c->timeline, time, c->scores, c->matched);
  return GST_PAD_PROBE_OK;
}

/* btmatcher's sink: the encoded frames' features go to the store. */
static GstPadProbeReturn
on_encoded (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Capture *c = user_data;
  gint64 time = stream_time (info, &c->encoded_segment);
  GstBtFeaturesMeta *meta;
  GError *error = NULL;

  (void) pad;
  if (time < 0)
    return GST_PAD_PROBE_OK;
  meta = gst_buffer_get_bt_features_meta (GST_PAD_PROBE_INFO_BUFFER (info));
  if (meta && !bt_search_store_add (c->store, time, meta->features, &error))
    capture_fail (c, error);
  return GST_PAD_PROBE_OK;
}

/* ---- the pipelines ------------------------------------------------------- */

static GstElement *
make (GstElement *bin, const char *factory, const char *name, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, name);

  if (!e) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "the GStreamer element %s is missing (install the package "
                 "that has it)", factory);
    return NULL;
  }
  gst_bin_add (GST_BIN (bin), e);
  return e;
}

static GstElement *
make_matcher (GstElement *pipeline, const BtSearchOptions *o, GError **error)
{
  GstElement *m = make (pipeline, "btmatcher", "matcher", error);

  if (!m)
    return NULL;
  g_object_set (m, "queries", o->queries, "threshold", o->threshold,
                "hysteresis", o->hysteresis, "top-k", o->top_k, NULL);
  if (o->queries_file)
    g_object_set (m, "queries-file", o->queries_file, NULL);
  gst_util_set_object_arg (G_OBJECT (m), "mode", o->mode);
  return m;
}

/* The decoded video goes to videoconvert; other streams stay unlinked. */
static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer convert)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (convert, "sink");
  const GstStructure *s = caps ? gst_caps_get_structure (caps, 0) : NULL;

  (void) decodebin;
  if (s && g_str_has_prefix (gst_structure_get_name (s), "video/")
      && !gst_pad_is_linked (sink))
    gst_pad_link (pad, sink);
}

/* After a failed run: an input without video fails as "not-linked"; say
 * what it means. */
static void
explain_no_video (GstElement *convert, const char *video, GError **error)
{
  g_autoptr (GstPad) sink = gst_element_get_static_pad (convert, "sink");

  if (error && *error && !gst_pad_is_linked (sink)
      && strstr ((*error)->message, "not-linked")) {
    g_clear_error (error);
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s: no video stream",
                 video);
  }
}

static void
print_progress (GstElement *pipeline, GstElement *encoder, gint64 t0,
                const char *video)
{
  gint64 pos = -1, dur = -1;
  guint64 frames = 0;
  double elapsed = (g_get_monotonic_time () - t0) / 1e6;
  double fps;
  g_autofree char *name = g_path_get_basename (video);

  gst_element_query_position (pipeline, GST_FORMAT_TIME, &pos);
  gst_element_query_duration (pipeline, GST_FORMAT_TIME, &dur);
  g_object_get (encoder, "encoded-frames", &frames, NULL);
  fps = elapsed > 0 ? frames / elapsed : 0;
  if (pos < 0)
    return;
  if (dur > 0) {
    double done = (double) pos / dur;
    double eta = done > 0.01 ? elapsed * (1 - done) / done : -1;

    fprintf (stderr, "\r\033[K%s  %.1f / %.1f s  %3.0f%%  %.1f frames/s",
             name, pos / 1e9, dur / 1e9, 100 * done, fps);
    if (eta >= 0)
      fprintf (stderr, "  ETA %d:%02d", (int) eta / 60, (int) eta % 60);
  } else {
    fprintf (stderr, "\r\033[K%s  %.1f s  %.1f frames/s", name, pos / 1e9,
             fps);
  }
  fflush (stderr);
}

/* Runs `pipeline` to EOS; on an error message returns it with the element
 * and the debug details. Progress every PROGRESS_PERIOD with `encoder`. */
static gboolean
run_pipeline (GstElement *pipeline, GstElement *encoder, const char *video,
              GError **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  gboolean done = FALSE, ok = FALSE, shown = FALSE;
  gint64 t0 = g_get_monotonic_time ();

  /* a failure posts the error message that says why */
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (!done) {
    g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (bus,
        encoder ? PROGRESS_PERIOD : GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

    if (!msg) {
      print_progress (pipeline, encoder, t0, video);
      shown = TRUE;
      continue;
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      /* the final figures, also for a video shorter than one period */
      if (encoder) {
        print_progress (pipeline, encoder, t0, video);
        shown = TRUE;
      }
      ok = done = TRUE;
    } else {
      g_autoptr (GError) gerr = NULL;
      g_autofree char *debug = NULL;
      g_autofree char *src = gst_object_get_path_string (msg->src);

      gst_message_parse_error (msg, &gerr, &debug);
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s: %s (%s%s%s)", video,
                   gerr->message, src, debug ? ": " : "", debug ? debug : "");
      done = TRUE;
    }
  }
  if (shown)
    fprintf (stderr, "\r\033[K");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return ok;
}

BtTimeline *
bt_search_run_video (const BtSearchOptions *o, const char *video,
                     BtSearchStore *store, guint64 *encoded, GError **error)
{
  g_autoptr (GstElement) pipeline = NULL;
  GstElement *src, *convert, *rate = NULL, *rate_caps = NULL, *prep, *enc,
    *matcher, *sink;
  g_autofree char *uri = NULL;
  g_autoptr (GstPad) mpad = NULL;
  g_autoptr (GstPad) msink = NULL;
  Capture c;
  BtTimeline *t = NULL;

  if (!ensure_gst (error) || !(uri = bt_search_video_uri (video, error)))
    return NULL;
  pipeline = gst_object_ref_sink (gst_pipeline_new ("search"));
  if (!(src = make (pipeline, "uridecodebin", NULL, error))
      || !(convert = make (pipeline, "videoconvert", NULL, error))
      || (o->fps > 0 && (!(rate = make (pipeline, "videorate", NULL, error))
                         || !(rate_caps = make (pipeline, "capsfilter", NULL,
                                                error))))
      || !(prep = make (pipeline, "btpreprocess", NULL, error))
      || !(enc = make (pipeline, "btencoder", NULL, error))
      || !(matcher = make_matcher (pipeline, o, error))
      || !(sink = make (pipeline, "fakesink", NULL, error)))
    return NULL;

  g_object_set (src, "uri", uri, NULL);
  g_object_set (prep, "interval", o->interval, NULL);
  g_object_set (enc, "model", o->model_dir, "threads", o->threads, NULL);
  gst_util_set_object_arg (G_OBJECT (enc), "precision", o->precision);
  /* as fast as the machine goes, not at the video's pace */
  g_object_set (sink, "sync", FALSE, NULL);
  g_signal_connect (src, "pad-added", G_CALLBACK (on_pad_added), convert);
  if (rate) {
    int num, den;
    g_autoptr (GstCaps) caps = NULL;

    gst_util_double_to_fraction (o->fps, &num, &den);
    caps = gst_caps_new_simple ("video/x-raw", "framerate", GST_TYPE_FRACTION,
                                num, den, NULL);
    g_object_set (rate_caps, "caps", caps, NULL);
    if (!gst_element_link_many (convert, rate, rate_caps, prep, NULL))
      goto link_failed;
  } else if (!gst_element_link (convert, prep)) {
    goto link_failed;
  }
  if (!gst_element_link_many (prep, enc, matcher, sink, NULL))
    goto link_failed;

  capture_init (&c, o, store);
  mpad = gst_element_get_static_pad (matcher, "src");
  gst_pad_add_probe (mpad, PROBE_TYPES, on_scored, &c, NULL);
  if (store) {
    msink = gst_element_get_static_pad (matcher, "sink");
    gst_pad_add_probe (msink, PROBE_TYPES, on_encoded, &c, NULL);
  }
  if (run_pipeline (pipeline, o->progress ? enc : NULL, video, error)) {
    if (c.error) {
      g_propagate_error (error, g_steal_pointer (&c.error));
    } else {
      bt_timeline_set_duration (c.timeline, c.end);
      t = g_steal_pointer (&c.timeline);
    }
  } else {
    explain_no_video (convert, video, error);
  }
  if (encoded)
    g_object_get (enc, "encoded-frames", encoded, NULL);
  capture_clear (&c);
  return t;

link_failed:
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "cannot link the search pipeline");
  return NULL;
}

/* ---- scoring stored features --------------------------------------------- */

/* Frames waiting in appsrc at most: the features of a large model weigh
 * megabytes each. */
#define FEED_AHEAD 4

typedef struct {
  GstAppSrc *src;
  GstBus *bus;
  const char *video;
} Feeder;

/* Waits for room in appsrc; FALSE with the error when the pipeline failed
 * meanwhile (a blocking push would then wait forever). */
static gboolean
feeder_wait (Feeder *f, GError **error)
{
  while (gst_app_src_get_current_level_buffers (f->src) >= FEED_AHEAD) {
    g_autoptr (GstMessage) msg = gst_bus_timed_pop_filtered (f->bus,
        20 * GST_MSECOND, GST_MESSAGE_ERROR);

    if (msg) {
      g_autoptr (GError) gerr = NULL;

      gst_message_parse_error (msg, &gerr, NULL);
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s: %s", f->video,
                   gerr->message);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
feed_frame (gint64 time, BtImageFeatures *features, gpointer user_data,
            GError **error)
{
  Feeder *f = user_data;
  GstBuffer *buf;

  if (!feeder_wait (f, error))
    return FALSE;
  /* btmatcher reads the meta only; the pixels are a placeholder */
  buf = gst_buffer_new_allocate (NULL, 1, NULL);
  GST_BUFFER_PTS (buf) = (GstClockTime) time;
  gst_buffer_add_bt_features_meta (buf, features);
  if (gst_app_src_push_buffer (f->src, buf) != GST_FLOW_OK) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "btmatcher stopped taking frames");
    return FALSE;
  }
  return TRUE;
}

BtTimeline *
bt_search_run_stored (const BtSearchOptions *o, const char *video,
                      BtSearchStore *store, GError **error)
{
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstPad) mpad = NULL;
  g_autoptr (GstCaps) caps = NULL;
  g_autofree char *sampling = bt_search_sampling_key (o);
  g_autoptr (GError) local = NULL;
  GstElement *src, *matcher, *sink;
  BtModel *model = NULL;
  BtModelParams params = bt_model_default_params ();
  Capture c;
  Feeder feeder;
  BtTimeline *t = NULL;
  gint64 duration = -1;
  gboolean fed;

  if (!ensure_gst (error))
    return NULL;
  pipeline = gst_object_ref_sink (gst_pipeline_new ("search-stored"));
  if (!(src = make (pipeline, "appsrc", NULL, error))
      || !(matcher = make_matcher (pipeline, o, error))
      || !(sink = make (pipeline, "fakesink", NULL, error)))
    return NULL;
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "GRAY8",
                              "width", G_TYPE_INT, 1, "height", G_TYPE_INT, 1,
                              "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME, NULL);
  g_object_set (sink, "sync", FALSE, NULL);
  if (!gst_element_link_many (src, matcher, sink, NULL)) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "cannot link the stored-features pipeline");
    return NULL;
  }
  if (g_strcmp0 (o->precision, "bf16") == 0)
    params.precision = BT_PRECISION_BF16;
  else if (g_strcmp0 (o->precision, "int8") == 0)
    params.precision = BT_PRECISION_INT8;
  if (!(model = bt_model_cache_acquire (o->model_dir, &params, error)))
    return NULL;

  capture_init (&c, o, NULL);
  mpad = gst_element_get_static_pad (matcher, "src");
  gst_pad_add_probe (mpad, PROBE_TYPES, on_scored, &c, NULL);
  feeder.src = GST_APP_SRC (src);
  feeder.bus = gst_element_get_bus (pipeline);
  feeder.video = video;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fed = bt_search_store_replay (store, model, video, sampling,
                                g_strcmp0 (o->mode, "itc") != 0, &duration,
                                feed_frame, &feeder, &local);
  gst_app_src_end_of_stream (feeder.src);
  if (fed) {
    if (run_pipeline (pipeline, NULL, video, error)) {
      if (c.error) {
        g_propagate_error (error, g_steal_pointer (&c.error));
      } else {
        bt_timeline_set_duration (c.timeline, duration);
        t = g_steal_pointer (&c.timeline);
      }
    }
  } else {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    if (local)
      g_propagate_error (error, g_steal_pointer (&local));
  }
  gst_object_unref (feeder.bus);
  capture_clear (&c);
  bt_model_unref (model);
  return t;
}
