/* gstbtsegments.c - btsegments: the segments of a search, from inside a
 * pipeline.
 *
 * Placed after btmatcher, it reads each buffer's GstBtScoresMeta into a
 * BtTimeline (libbridgetower: the same timeline, segments and writers as
 * `bridgetower search`). At the end of the stream it sends a table of
 * contents downstream (matroskamux writes it as chapters), posts a
 * bridgetower-segments message and writes the subtitle and chapter files
 * asked for. Video passes through unchanged.
 *
 * Times are stream times, as a player shows them.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtsegments.h"
#include "gstbtmeta.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_segments_debug);
#define GST_CAT_DEFAULT gst_bt_segments_debug

#define DEFAULT_MIN_DURATION 0
#define DEFAULT_TOC TRUE

enum
{
  PROP_0,
  PROP_SRT_LOCATION,
  PROP_VTT_LOCATION,
  PROP_CHAPTERS_LOCATION,
  PROP_MIN_DURATION,
  PROP_TOC,
};

struct _GstBtSegments
{
  GstBaseTransform parent;

  /* properties (object lock) */
  gchar *srt_location;
  gchar *vtt_location;
  gchar *chapters_location;
  GstClockTime min_duration;
  gboolean toc;

  /* streaming state, from start to stop */
  BtTimeline *timeline;        /* NULL until the first scored frame */
  GArray *scores;              /* double per query, reused */
  GArray *matched;             /* gboolean per query, reused */
  gint64 end;                  /* stream time where the last frame ends */
  gboolean warned;
};

G_DEFINE_TYPE (GstBtSegments, gst_bt_segments, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (btsegments, "btsegments",
    GST_RANK_NONE, GST_TYPE_BT_SEGMENTS,
    GST_DEBUG_CATEGORY_INIT (gst_bt_segments_debug, "btsegments", 0,
        "BridgeTower segments"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

GstToc *
gst_bt_segments_to_toc (const BtTimeline *t, const GArray *segments)
{
  GstToc *toc = gst_toc_new (GST_TOC_SCOPE_GLOBAL);
  GstTocEntry *edition = gst_toc_entry_new (GST_TOC_ENTRY_TYPE_EDITION,
      "bridgetower");

  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);
    gchar *uid = g_strdup_printf ("segment-%u", i + 1);
    GstTocEntry *chapter = gst_toc_entry_new (GST_TOC_ENTRY_TYPE_CHAPTER, uid);

    gst_toc_entry_set_start_stop_times (chapter, s->start, s->stop);
    gst_toc_entry_set_tags (chapter, gst_tag_list_new (GST_TAG_TITLE,
            bt_timeline_get_query (t, s->query), NULL));
    gst_toc_entry_append_sub_entry (edition, chapter);
    g_free (uid);
  }
  gst_toc_append_entry (toc, edition);
  return toc;
}

/* ---- gathering ---------------------------------------------------------- */

/* TRUE when `meta` scores the timeline's queries, in its order. */
static gboolean
same_queries (const BtTimeline *t, const GstBtScoresMeta *meta)
{
  if ((guint) bt_timeline_get_n_queries (t) != meta->n_scores)
    return FALSE;
  for (guint i = 0; i < meta->n_scores; i++)
    if (g_strcmp0 (bt_timeline_get_query (t, (int) i),
            meta->scores[i].query) != 0)
      return FALSE;
  return TRUE;
}

static void
gst_bt_segments_add (GstBtSegments *self, gint64 time,
    const GstBtScoresMeta *meta)
{
  if (!self->timeline) {
    const gchar **texts = g_new0 (const gchar *, meta->n_scores + 1);

    for (guint i = 0; i < meta->n_scores; i++)
      texts[i] = meta->scores[i].query;
    self->timeline = bt_timeline_new (texts, (int) meta->n_scores);
    g_free (texts);
    g_array_set_size (self->scores, meta->n_scores);
    g_array_set_size (self->matched, meta->n_scores);
  }
  if (!same_queries (self->timeline, meta)) {
    if (!self->warned)
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("The queries changed while playing: segments keep the first "
              "query list."), ("frames scored with other queries are skipped"));
    self->warned = TRUE;
    return;
  }
  for (guint i = 0; i < meta->n_scores; i++) {
    g_array_index (self->scores, gdouble, i) = meta->scores[i].score;
    g_array_index (self->matched, gboolean, i) = meta->scores[i].matched;
    bt_timeline_set_threshold (self->timeline, (int) i,
        meta->scores[i].threshold);
  }
  bt_timeline_add_frame (self->timeline, time,
      (const gdouble *) self->scores->data,
      (const gboolean *) self->matched->data);
}

static GstFlowReturn
gst_bt_segments_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstBtSegments *self = GST_BT_SEGMENTS (trans);
  GstBtScoresMeta *meta = gst_buffer_get_bt_scores_meta (buf);
  guint64 time;

  if (!GST_BUFFER_PTS_IS_VALID (buf)
      || trans->segment.format != GST_FORMAT_TIME)
    return GST_FLOW_OK;
  time = gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (time == GST_CLOCK_TIME_NONE)
    return GST_FLOW_OK;
  self->end = MAX (self->end, (gint64) (time +
          (GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf) : 0)));
  if (meta)
    gst_bt_segments_add (self, (gint64) time, meta);
  return GST_FLOW_OK;
}

/* ---- the end of the stream ---------------------------------------------- */

static void
gst_bt_segments_post (GstBtSegments *self, const GArray *segments)
{
  GValue list = G_VALUE_INIT;
  GstStructure *s;

  gst_value_list_init (&list, segments->len);
  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *seg = &g_array_index (segments, BtSegment, i);
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("segment",
            "query", G_TYPE_STRING,
            bt_timeline_get_query (self->timeline, seg->query),
            "start", G_TYPE_UINT64, (guint64) seg->start,
            "stop", G_TYPE_UINT64, (guint64) seg->stop,
            "peak", G_TYPE_DOUBLE, seg->peak,
            "peak-time", G_TYPE_UINT64, (guint64) seg->peak_time, NULL));
    gst_value_list_append_and_take_value (&list, &v);
  }
  s = gst_structure_new ("bridgetower-segments", "frames", G_TYPE_INT,
      bt_timeline_get_n_frames (self->timeline), NULL);
  gst_structure_take_value (s, "segments", &list);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Writes `text` (taken) to `path`; an error message names both. */
static gboolean
gst_bt_segments_write (GstBtSegments *self, const gchar *path, gchar *text)
{
  GError *error = NULL;
  gboolean ok = g_file_set_contents (path, text, -1, &error);

  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Cannot write \"%s\".", path), ("%s", error->message));
    g_error_free (error);
  }
  g_free (text);
  return ok;
}

static gboolean
gst_bt_segments_finish (GstBtSegments *self)
{
  gchar *srt, *vtt, *chapters;
  GstClockTime min_duration;
  gboolean toc, ok = TRUE;
  GArray *segments;

  if (!self->timeline)
    return TRUE;
  GST_OBJECT_LOCK (self);
  srt = g_strdup (self->srt_location);
  vtt = g_strdup (self->vtt_location);
  chapters = g_strdup (self->chapters_location);
  min_duration = self->min_duration;
  toc = self->toc;
  GST_OBJECT_UNLOCK (self);

  bt_timeline_set_duration (self->timeline, self->end);
  segments = bt_timeline_segments (self->timeline, (gint64) min_duration);
  GST_INFO_OBJECT (self, "%u segments in %d scored frames", segments->len,
      bt_timeline_get_n_frames (self->timeline));
  if (toc && segments->len > 0)
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
        gst_event_new_toc (gst_bt_segments_to_toc (self->timeline, segments),
            FALSE));
  gst_bt_segments_post (self, segments);
  if (srt && srt[0])
    ok &= gst_bt_segments_write (self, srt,
        bt_timeline_to_srt (self->timeline, segments));
  if (vtt && vtt[0])
    ok &= gst_bt_segments_write (self, vtt,
        bt_timeline_to_vtt (self->timeline, segments));
  if (chapters && chapters[0])
    ok &= gst_bt_segments_write (self, chapters,
        g_str_has_suffix (chapters, ".xml")
        ? bt_timeline_to_matroska_chapters (self->timeline, segments)
        : bt_timeline_to_ffmetadata (self->timeline, segments));
  g_array_unref (segments);
  g_free (srt);
  g_free (vtt);
  g_free (chapters);
  return ok;
}

static gboolean
gst_bt_segments_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtSegments *self = GST_BT_SEGMENTS (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS
      && !gst_bt_segments_finish (self)) {
    gst_event_unref (event);
    return FALSE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_segments_parent_class)->sink_event
      (trans, event);
}

/* ---- state -------------------------------------------------------------- */

static void
gst_bt_segments_reset (GstBtSegments *self)
{
  g_clear_pointer (&self->timeline, bt_timeline_free);
  self->end = 0;
  self->warned = FALSE;
}

static gboolean
gst_bt_segments_start (GstBaseTransform *trans)
{
  gst_bt_segments_reset (GST_BT_SEGMENTS (trans));
  return TRUE;
}

static gboolean
gst_bt_segments_stop (GstBaseTransform *trans)
{
  gst_bt_segments_reset (GST_BT_SEGMENTS (trans));
  return TRUE;
}

/* ---- properties --------------------------------------------------------- */

static void
gst_bt_segments_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstBtSegments *self = GST_BT_SEGMENTS (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SRT_LOCATION:
      g_free (self->srt_location);
      self->srt_location = g_value_dup_string (value);
      break;
    case PROP_VTT_LOCATION:
      g_free (self->vtt_location);
      self->vtt_location = g_value_dup_string (value);
      break;
    case PROP_CHAPTERS_LOCATION:
      g_free (self->chapters_location);
      self->chapters_location = g_value_dup_string (value);
      break;
    case PROP_MIN_DURATION:
      self->min_duration = g_value_get_uint64 (value);
      break;
    case PROP_TOC:
      self->toc = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_segments_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstBtSegments *self = GST_BT_SEGMENTS (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SRT_LOCATION:
      g_value_set_string (value, self->srt_location);
      break;
    case PROP_VTT_LOCATION:
      g_value_set_string (value, self->vtt_location);
      break;
    case PROP_CHAPTERS_LOCATION:
      g_value_set_string (value, self->chapters_location);
      break;
    case PROP_MIN_DURATION:
      g_value_set_uint64 (value, self->min_duration);
      break;
    case PROP_TOC:
      g_value_set_boolean (value, self->toc);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_segments_finalize (GObject *object)
{
  GstBtSegments *self = GST_BT_SEGMENTS (object);

  gst_bt_segments_reset (self);
  g_array_unref (self->scores);
  g_array_unref (self->matched);
  g_free (self->srt_location);
  g_free (self->vtt_location);
  g_free (self->chapters_location);
  G_OBJECT_CLASS (gst_bt_segments_parent_class)->finalize (object);
}

static void
gst_bt_segments_class_init (GstBtSegmentsClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING;

  gobject_class->set_property = gst_bt_segments_set_property;
  gobject_class->get_property = gst_bt_segments_get_property;
  gobject_class->finalize = gst_bt_segments_finalize;

  g_object_class_install_property (gobject_class, PROP_SRT_LOCATION,
      g_param_spec_string ("srt-location", "SubRip file",
          "At the end of the stream, write SubRip subtitles naming the "
          "matching queries here. Unset: none.", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_VTT_LOCATION,
      g_param_spec_string ("vtt-location", "WebVTT file",
          "At the end of the stream, write WebVTT subtitles here. Unset: "
          "none.", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_CHAPTERS_LOCATION,
      g_param_spec_string ("chapters-location", "Chapters file",
          "At the end of the stream, write a chapter per segment here: "
          "Matroska XML chapters for a .xml name, else an FFmpeg metadata "
          "file. Unset: none.", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_MIN_DURATION,
      g_param_spec_uint64 ("min-duration", "Minimum duration",
          "Segments shorter than this (nanoseconds) are left out.", 0,
          G_MAXUINT64, DEFAULT_MIN_DURATION, rw));
  g_object_class_install_property (gobject_class, PROP_TOC,
      g_param_spec_boolean ("toc", "Table of contents",
          "At the end of the stream, send a TOC event downstream with a "
          "chapter per segment (matroskamux writes it).", DEFAULT_TOC, rw));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower segments", "Filter/Video/Analyzer",
      "After btmatcher: gathers the scored frames and at the end of the "
      "stream gives each query's segments as a TOC event, a "
      "bridgetower-segments message and SubRip / WebVTT / chapter files; "
      "the video passes through unchanged.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_segments_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_segments_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_bt_segments_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_bt_segments_transform_ip);
}

static void
gst_bt_segments_init (GstBtSegments *self)
{
  self->min_duration = DEFAULT_MIN_DURATION;
  self->toc = DEFAULT_TOC;
  self->scores = g_array_new (FALSE, TRUE, sizeof (gdouble));
  self->matched = g_array_new (FALSE, TRUE, sizeof (gboolean));
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
