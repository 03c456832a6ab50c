/* bt-search-clip.c - `search --clip` and `--chapters OUT.mkv`: the video
 * decoded once, the frames and audio outside the kept stretches dropped
 * and the rest moved back to close the gaps, re-encoded (H.264, AAC) into
 * MP4 or Matroska; Matroska gets a chapter (GstToc) per segment.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-search.h"

#include "gstbtsegments.h"

#include <gst/gst.h>

typedef struct {
  gint64 start, stop;          /* in the source */
  gint64 offset;               /* where it begins in the output */
} Span;

typedef struct {
  GArray *spans;               /* Span, sorted, disjoint */
  GstElement *pipeline;
  GstElement *mux;
} Clip;

/* The union of the segments, as disjoint spans laid end to end. */
static GArray *
spans_of (const GArray *segments, gboolean whole)
{
  GArray *spans = g_array_new (FALSE, FALSE, sizeof (Span));
  gint64 offset = 0;

  if (whole) {
    Span all = { 0, G_MAXINT64, 0 };

    g_array_append_val (spans, all);
    return spans;
  }
  /* segments come sorted by start */
  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);
    Span *last = spans->len ? &g_array_index (spans, Span, spans->len - 1)
        : NULL;

    if (last && s->start <= last->stop) {
      last->stop = MAX (last->stop, s->stop);
    } else {
      Span span = { s->start, s->stop, 0 };

      g_array_append_val (spans, span);
    }
  }
  for (guint i = 0; i < spans->len; i++) {
    Span *span = &g_array_index (spans, Span, i);

    span->offset = offset;
    offset += span->stop - span->start;
  }
  return spans;
}

/* Output time of source time `t`, or -1 outside every span. `end` lets a
 * span's stop map to the end of that span. */
static gint64
map_time (const GArray *spans, gint64 t, gboolean end)
{
  for (guint i = 0; i < spans->len; i++) {
    const Span *s = &g_array_index (spans, Span, i);

    if (t >= s->start && (t < s->stop || (end && t == s->stop)))
      return t - s->start + s->offset;
  }
  return -1;
}

/* One per decoded stream: the source's segment, to read stream times. */
typedef struct {
  Clip *clip;
  GstSegment segment;
} Branch;

/* Buffers are kept or dropped by stream time (the timeline's times) and
 * get their output time; the segment becomes a plain one from 0, where
 * the output times live. */
static GstPadProbeReturn
retime (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Branch *br = user_data;
  GstBuffer *buf;
  guint64 t;
  gint64 out;

  (void) pad;
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstSegment plain;

    if (GST_EVENT_TYPE (event) != GST_EVENT_SEGMENT)
      return GST_PAD_PROBE_OK;
    gst_event_copy_segment (event, &br->segment);
    gst_segment_init (&plain, GST_FORMAT_TIME);
    gst_event_unref (event);
    GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_segment (&plain);
    return GST_PAD_PROBE_OK;
  }
  buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (!GST_BUFFER_PTS_IS_VALID (buf) || br->segment.format != GST_FORMAT_TIME)
    return GST_PAD_PROBE_DROP;
  t = gst_segment_to_stream_time (&br->segment, GST_FORMAT_TIME,
                                  GST_BUFFER_PTS (buf));
  if (t == GST_CLOCK_TIME_NONE)
    return GST_PAD_PROBE_DROP;
  out = map_time (br->clip->spans, (gint64) t, FALSE);
  if (out < 0)
    return GST_PAD_PROBE_DROP;
  buf = gst_buffer_make_writable (buf);
  GST_BUFFER_PTS (buf) = (GstClockTime) out;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  return GST_PAD_PROBE_OK;
}

/* Adds `desc` (a bin description) between `pad` and the muxer. */
static void
add_branch (Clip *c, GstPad *pad, const char *desc, const char *mux_template)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = gst_parse_bin_from_description (desc, TRUE, &error);
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) src = NULL;
  g_autoptr (GstPad) mux_pad = NULL;
  Branch *br;

  if (!bin) {
    GST_ELEMENT_ERROR (c->pipeline, CORE, MISSING_PLUGIN, ("%s",
            error->message), ("%s", desc));
    return;
  }
  gst_bin_add (GST_BIN (c->pipeline), bin);
  sink = gst_element_get_static_pad (bin, "sink");
  src = gst_element_get_static_pad (bin, "src");
  mux_pad = gst_element_request_pad_simple (c->mux, mux_template);
  if (!mux_pad || gst_pad_link (src, mux_pad) != GST_PAD_LINK_OK
      || gst_pad_link (pad, sink) != GST_PAD_LINK_OK) {
    GST_ELEMENT_ERROR (c->pipeline, CORE, NEGOTIATION,
        ("Cannot connect %s to the muxer.", desc), (NULL));
    return;
  }
  gst_element_sync_state_with_parent (bin);
  br = g_new0 (Branch, 1);
  br->clip = c;
  gst_segment_init (&br->segment, GST_FORMAT_UNDEFINED);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER
                     | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, retime, br, g_free);
}

static const char *const video_branch =
  "queue ! videoconvert ! x264enc speed-preset=veryfast ! h264parse";
static const char *const audio_branch =
  "queue ! audioconvert ! audioresample ! avenc_aac ! aacparse";

static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *name = caps
      ? gst_structure_get_name (gst_caps_get_structure (caps, 0)) : "";

  (void) decodebin;
  if (g_str_has_prefix (name, "video/"))
    add_branch (user_data, pad, video_branch, "video_%u");
  else if (g_str_has_prefix (name, "audio/"))
    add_branch (user_data, pad, audio_branch, "audio_%u");
}

/* The segments at their place in the output. */
static GArray *
map_segments (const GArray *segments, const GArray *spans)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (BtSegment),
                                   segments->len);

  for (guint i = 0; i < segments->len; i++) {
    BtSegment s = g_array_index (segments, BtSegment, i);

    s.start = map_time (spans, s.start, FALSE);
    s.stop = map_time (spans, s.stop, TRUE);
    s.peak_time = map_time (spans, s.peak_time, FALSE);
    g_array_append_val (out, s);
  }
  return out;
}

gboolean
bt_search_clip (const char *video, const BtTimeline *t,
                const GArray *segments, const char *path, gboolean whole,
                GError **error)
{
  gboolean mkv = g_str_has_suffix (path, ".mkv")
      || g_str_has_suffix (path, ".MKV");
  g_autofree char *uri = bt_search_video_uri (video, error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  GstElement *src, *sink;
  Clip c = { 0 };
  gboolean ok = FALSE;

  if (!uri)
    return FALSE;
  if (whole && !mkv) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s: chapters go into Matroska files (.mkv), or into .xml / "
                 ".txt chapter files", path);
    return FALSE;
  }
  if (!whole && segments->len == 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s: no segment matched, nothing to clip", path);
    return FALSE;
  }
  c.spans = spans_of (segments, whole);
  c.pipeline = gst_pipeline_new ("clip");
  src = gst_element_factory_make ("uridecodebin", NULL);
  c.mux = gst_element_factory_make (mkv ? "matroskamux" : "mp4mux", NULL);
  sink = gst_element_factory_make ("filesink", NULL);
  if (!src || !c.mux || !sink) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "uridecodebin, %s or filesink is missing",
                 mkv ? "matroskamux" : "mp4mux");
    g_clear_object (&src);
    g_clear_object (&c.mux);
    g_clear_object (&sink);
    goto out;
  }
  gst_bin_add_many (GST_BIN (c.pipeline), src, c.mux, sink, NULL);
  gst_element_link (c.mux, sink);
  g_object_set (src, "uri", uri, NULL);
  g_object_set (sink, "location", path, NULL);
  g_signal_connect (src, "pad-added", G_CALLBACK (on_pad_added), &c);
  if (mkv) {
    g_autoptr (GArray) mapped = map_segments (segments, c.spans);
    g_autoptr (GstToc) toc = gst_bt_segments_to_toc (t, mapped);

    gst_toc_setter_set_toc (GST_TOC_SETTER (c.mux), toc);
  }

  gst_element_set_state (c.pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (c.pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
                                    GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    ok = TRUE;
  } else {
    g_autoptr (GError) gerr = NULL;
    g_autofree char *debug = NULL;

    gst_message_parse_error (msg, &gerr, &debug);
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s (%s)", path,
                 gerr->message, debug ? debug : "");
  }
  gst_element_set_state (c.pipeline, GST_STATE_NULL);

out:
  g_clear_object (&c.pipeline);
  g_array_unref (c.spans);
  return ok;
}
