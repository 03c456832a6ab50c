/* gstbtpreprocess.c - btpreprocess: every frame's pixels, as 8-bit RGB,
 * through BridgeTowerProcessor's image steps (resize, center crop, rescale,
 * normalise); the result rides on the buffer as a GstBtTensorMeta.
 *
 * Where the processor settings come from, first match wins:
 *   1. the element's own `model` property (that folder's
 *      preprocessor_config.json);
 *   2. a custom query sent downstream at caps time, answered by btencoder
 *      with the settings of the model it loaded;
 *   3. BridgeTowerImageProcessor's class defaults.
 * In every case center crop and normalisation are forced on, as
 * BridgeTowerProcessor does.
 *
 * The frame schedule is ours alone: every `interval`-th frame gets a
 * tensor, the others pass without one, and btencoder encodes exactly the
 * buffers that carry a tensor, whatever was dropped between us.
 *
 * Gating (`change-threshold` > 0): a due frame whose luma grid
 * (gstbtchange.c) moved less than the threshold from the frame that got
 * the last new tensor carries that same tensor block again, unless
 * `max-age` frames have passed since. Downstream repeats rather than
 * recomputes: btencoder re-attaches the features it made from that block,
 * btmatcher its scores for those features. An unchanged frame thus costs
 * the grid (no conversion, no resampling) and a few references.
 *
 * A GstVideoFilter: set_info builds the processor for the negotiated
 * video, transform_frame_ip gets each frame mapped.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtpreprocess.h"
#include "gstbtmeta.h"
#include "gstbtimagequery.h"
#include "gstbtchange.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_preprocess_debug);
#define GST_CAT_DEFAULT gst_bt_preprocess_debug

/* RGB formats first: they need no colour conversion */
#define BT_PREPROCESS_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, GRAY8, I420, NV12 }"

#define DEFAULT_INTERVAL 1
/* gating off: every due frame is encoded, scores are exact */
#define DEFAULT_CHANGE_THRESHOLD 0.0
/* 5 s at 30 fps: what the luma grid cannot see (a colour change at equal
 * luma, texture within a cell) is picked up within that */
#define DEFAULT_MAX_AGE 150

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_INTERVAL,
  PROP_CHANGE_THRESHOLD,
  PROP_MAX_AGE,
  PROP_UNCHANGED_FRAMES,
};

struct _GstBtPreprocess
{
  GstVideoFilter parent;

  /* properties (object lock) */
  gchar *model;
  guint interval;
  gdouble change_threshold;
  guint max_age;
  guint64 unchanged_frames;

  /* the schedule (streaming thread): frames seen since start, and the
   * last one that got a tensor */
  guint64 frame;
  guint64 last_due;
  gboolean have_due;

  /* gating (streaming thread): the grid of the due frame, and the frame
   * that got the last new tensor - its index, grid and tensor block */
  GstBtLumaGrid grid;
  GstBtLumaGrid ref_grid;
  guint64 ref_frame;
  GstBuffer *ref_block;

  /* streaming state, set up in set_info */
  BtImageProcessor *proc;
  gint out_width;
  gint out_height;
  GstBufferPool *tensor_pool;
  /* YUV: GStreamer's converter into an RGB scratch frame reused per frame */
  GstVideoConverter *converter;
  GstVideoInfo rgb_info;
  GstBuffer *rgb_scratch;
  /* other formats: component gathering into this reused buffer */
  guint8 *pack_scratch;
  gsize pack_scratch_size;
};

G_DEFINE_TYPE (GstBtPreprocess, gst_bt_preprocess, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (btpreprocess, "btpreprocess",
    GST_RANK_NONE, GST_TYPE_BT_PREPROCESS,
    GST_DEBUG_CATEGORY_INIT (gst_bt_preprocess_debug, "btpreprocess", 0,
        "BridgeTower image preprocessing"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (BT_PREPROCESS_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (BT_PREPROCESS_FORMATS)));

static void
gst_bt_preprocess_clear_stream (GstBtPreprocess *self)
{
  gst_clear_buffer (&self->ref_block);
  g_clear_pointer (&self->proc, bt_image_processor_free);
  if (self->tensor_pool) {
    gst_buffer_pool_set_active (self->tensor_pool, FALSE);
    gst_clear_object (&self->tensor_pool);
  }
  g_clear_pointer (&self->converter, gst_video_converter_free);
  gst_clear_buffer (&self->rgb_scratch);
  g_clear_pointer (&self->pack_scratch, g_free);
  self->pack_scratch_size = 0;
  self->out_width = self->out_height = 0;
}

/* Fills `config` from the first source that has settings (see the top of
 * the file); FALSE with an element error when the `model` folder's config
 * cannot be read. */
static gboolean
gst_bt_preprocess_resolve_config (GstBtPreprocess *self,
    BtImageConfig *config)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  g_autofree gchar *model = NULL;
  g_autofree gchar *answered_by = NULL;
  BtImageConfig answer;
  GstQuery *query;
  gboolean answered;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model);
  GST_OBJECT_UNLOCK (self);

  if (model && model[0]) {
    g_autoptr (GError) error = NULL;

    if (!bt_image_config_load (config, model, &error)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Cannot read the image processor settings of model \"%s\".", model),
          ("%s", error->message));
      return FALSE;
    }
    bt_image_config_force_processor (config);
    GST_INFO_OBJECT (self, "processor settings from model property %s", model);
    return TRUE;
  }

  query = gst_bt_image_config_query_new ();
  answered = gst_pad_peer_query (GST_BASE_TRANSFORM_SRC_PAD (trans), query)
      && gst_bt_image_config_query_parse (query, &answer, &answered_by);
  gst_query_unref (query);
  if (answered) {
    *config = answer;
    bt_image_config_force_processor (config);
    GST_INFO_OBJECT (self, "processor settings from downstream model %s",
        answered_by);
    return TRUE;
  }

  bt_image_config_init_defaults (config);
  bt_image_config_force_processor (config);
  GST_WARNING_OBJECT (self, "no model property and no btencoder downstream "
      "answered: using BridgeTowerImageProcessor's default settings");
  return TRUE;
}

static gboolean
gst_bt_preprocess_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (filter);
  BtImageConfig config;
  GstStructure *pool_config;
  GstVideoFormat format;
  gint width, height;

  (void) outcaps;
  (void) out_info;
  gst_bt_preprocess_clear_stream (self);
  if (!gst_bt_preprocess_resolve_config (self, &config))
    return FALSE;

  width = GST_VIDEO_INFO_WIDTH (in_info);
  height = GST_VIDEO_INFO_HEIGHT (in_info);
  format = GST_VIDEO_INFO_FORMAT (in_info);

  self->proc = bt_image_processor_new (&config);
  bt_image_config_output_size (&config, width, height, &self->out_width,
      &self->out_height);
  GST_DEBUG_OBJECT (self, "%dx%d %s -> tensor 3x%dx%d", width, height,
      gst_video_format_to_string (format), self->out_height, self->out_width);

  /* the pool takes a 32-bit size: a larger block would be truncated */
  if (gst_bt_tensor_block_size (self->out_width, self->out_height) > G_MAXUINT) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, (NULL),
        ("a 3x%dx%d tensor does not fit one buffer", self->out_height,
            self->out_width));
    return FALSE;
  }
  self->tensor_pool = gst_buffer_pool_new ();
  pool_config = gst_buffer_pool_get_config (self->tensor_pool);
  gst_buffer_pool_config_set_params (pool_config, NULL,
      (guint) gst_bt_tensor_block_size (self->out_width, self->out_height), 2,
      0);
  if (!gst_buffer_pool_set_config (self->tensor_pool, pool_config)
      || !gst_buffer_pool_set_active (self->tensor_pool, TRUE)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, (NULL),
        ("cannot activate the tensor pool for a 3x%dx%d tensor",
            self->out_height, self->out_width));
    return FALSE;
  }

  if (format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_NV12) {
    gst_video_info_set_format (&self->rgb_info, GST_VIDEO_FORMAT_RGB, width,
        height);
    /* the converter wants the two to differ in format only */
    GST_VIDEO_INFO_FPS_N (&self->rgb_info) = GST_VIDEO_INFO_FPS_N (in_info);
    GST_VIDEO_INFO_FPS_D (&self->rgb_info) = GST_VIDEO_INFO_FPS_D (in_info);
    GST_VIDEO_INFO_PAR_N (&self->rgb_info) = GST_VIDEO_INFO_PAR_N (in_info);
    GST_VIDEO_INFO_PAR_D (&self->rgb_info) = GST_VIDEO_INFO_PAR_D (in_info);
    /* the matrix and range come from in_info's colorimetry */
    self->converter = gst_video_converter_new (in_info, &self->rgb_info,
        NULL);
    if (!self->converter) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
          ("no converter from %" GST_PTR_FORMAT " to RGB", incaps));
      return FALSE;
    }
    self->rgb_scratch = gst_buffer_new_allocate (NULL,
        GST_VIDEO_INFO_SIZE (&self->rgb_info), NULL);
  } else if (format != GST_VIDEO_FORMAT_RGB) {
    self->pack_scratch_size = (gsize) width * height * 3;
    self->pack_scratch = g_malloc (self->pack_scratch_size);
  }
  return TRUE;
}

/* Packs the frame's R, G and B components (or gray replicated) into
 * `dst`, 3 bytes per pixel; alpha and padding bytes are dropped as PIL's
 * convert('RGB') drops them. */
static void
pack_rgb (const GstVideoFrame *frame, guint8 *dst)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  const guint8 *plane = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, 0);
  gboolean gray = GST_VIDEO_FORMAT_INFO_IS_GRAY (finfo);
  guint off[3];

  for (int c = 0; c < 3; c++)
    off[c] = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, gray ? 0 : c);

  for (gint y = 0; y < height; y++) {
    const guint8 *row = plane + (gsize) y * stride;
    guint8 *out = dst + (gsize) y * width * 3;

    for (gint x = 0; x < width; x++) {
      const guint8 *px = row + (gsize) x * pstride;

      out[0] = px[off[0]];
      out[1] = px[off[1]];
      out[2] = px[off[2]];
      out += 3;
    }
  }
}

/* TRUE when this frame gets a tensor: the first one, then every
 * `interval`-th after the last that got one (a changed interval applies
 * from that one on). */
static gboolean
gst_bt_preprocess_is_due (GstBtPreprocess *self)
{
  guint64 index = self->frame++;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);
  if (self->have_due && index - self->last_due < interval)
    return FALSE;
  self->have_due = TRUE;
  self->last_due = index;
  return TRUE;
}

/* Gating, on a due frame: TRUE when it may carry the last new tensor
 * again (measures the frame's grid first). */
static gboolean
gst_bt_preprocess_is_unchanged (GstBtPreprocess *self, GstVideoFrame *frame,
    gdouble threshold, guint max_age)
{
  gdouble change;

  gst_bt_luma_grid_measure (&self->grid, frame);
  if (!self->ref_block)
    return FALSE;
  change = gst_bt_luma_grid_change (&self->grid, &self->ref_grid);
  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": change %.4f",
      self->last_due, change);
  if (max_age > 0 && self->last_due - self->ref_frame >= max_age)
    return FALSE;
  return change < threshold;
}

/* Attaches the last new tensor to an unchanged frame. */
static GstFlowReturn
gst_bt_preprocess_repeat (GstBtPreprocess *self, GstVideoFrame *frame)
{
  if (!gst_buffer_add_bt_tensor_meta (frame->buffer, self->ref_block,
          self->out_width, self->out_height, GST_VIDEO_FRAME_WIDTH (frame),
          GST_VIDEO_FRAME_HEIGHT (frame))) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("cannot attach the tensor meta"));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  self->unchanged_frames++;
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_bt_preprocess_transform_frame_ip (GstVideoFilter *filter,
    GstVideoFrame *frame)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (filter);
  g_autoptr (GError) error = NULL;
  GstVideoFrame rgb_frame;
  GstBuffer *block = NULL;
  GstMapInfo block_map;
  const guint8 *rgb;
  gint stride, width, height;
  gdouble threshold;
  guint max_age;
  gboolean ok;

  if (!gst_bt_preprocess_is_due (self))
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  threshold = self->change_threshold;
  max_age = self->max_age;
  GST_OBJECT_UNLOCK (self);
  if (threshold <= 0)
    gst_clear_buffer (&self->ref_block);
  else if (gst_bt_preprocess_is_unchanged (self, frame, threshold, max_age))
    return gst_bt_preprocess_repeat (self, frame);

  width = GST_VIDEO_FRAME_WIDTH (frame);
  height = GST_VIDEO_FRAME_HEIGHT (frame);
  if (self->converter) {
    gst_video_frame_map (&rgb_frame, &self->rgb_info, self->rgb_scratch,
        GST_MAP_READWRITE);
    gst_video_converter_frame (self->converter, frame, &rgb_frame);
    rgb = GST_VIDEO_FRAME_PLANE_DATA (&rgb_frame, 0);
    stride = GST_VIDEO_FRAME_PLANE_STRIDE (&rgb_frame, 0);
  } else if (self->pack_scratch) {
    pack_rgb (frame, self->pack_scratch);
    rgb = self->pack_scratch;
    stride = width * 3;
  } else {
    rgb = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  }

  if (gst_buffer_pool_acquire_buffer (self->tensor_pool, &block, NULL)
      != GST_FLOW_OK || !gst_buffer_map (block, &block_map, GST_MAP_WRITE)) {
    if (self->converter)
      gst_video_frame_unmap (&rgb_frame);
    gst_clear_buffer (&block);
    /* flushing or shutting down */
    return GST_FLOW_FLUSHING;
  }
  ok = bt_image_processor_process (self->proc, rgb, width, height, stride,
      (float *) block_map.data, self->out_width, self->out_height, &error);
  gst_buffer_unmap (block, &block_map);
  if (self->converter)
    gst_video_frame_unmap (&rgb_frame);

  if (!ok) {
    gst_buffer_unref (block);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("image processing failed on a %dx%d frame: %s", width, height,
            error->message));
    return GST_FLOW_ERROR;
  }
  if (!gst_buffer_add_bt_tensor_meta (frame->buffer, block, self->out_width,
          self->out_height, width, height)) {
    gst_buffer_unref (block);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("cannot attach the tensor meta"));
    return GST_FLOW_ERROR;
  }
  if (threshold > 0) {
    /* the reference for the next frames */
    self->ref_grid = self->grid;
    self->ref_frame = self->last_due;
    gst_buffer_replace (&self->ref_block, block);
  }
  gst_buffer_unref (block);
  return GST_FLOW_OK;
}

static gboolean
gst_bt_preprocess_start (GstBaseTransform *trans)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (trans);

  self->frame = 0;
  self->have_due = FALSE;
  gst_clear_buffer (&self->ref_block);
  GST_OBJECT_LOCK (self);
  self->unchanged_frames = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_bt_preprocess_stop (GstBaseTransform *trans)
{
  gst_bt_preprocess_clear_stream (GST_BT_PREPROCESS (trans));
  return TRUE;
}

static void
gst_bt_preprocess_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (object);

  switch (prop_id) {
    case PROP_MODEL:
      GST_OBJECT_LOCK (self);
      g_free (self->model);
      self->model = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_INTERVAL:
      GST_OBJECT_LOCK (self);
      self->interval = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CHANGE_THRESHOLD:
      GST_OBJECT_LOCK (self);
      self->change_threshold = g_value_get_double (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_AGE:
      GST_OBJECT_LOCK (self);
      self->max_age = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_bt_preprocess_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (object);

  switch (prop_id) {
    case PROP_MODEL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->model);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_INTERVAL:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->interval);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CHANGE_THRESHOLD:
      GST_OBJECT_LOCK (self);
      g_value_set_double (value, self->change_threshold);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_AGE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->max_age);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_UNCHANGED_FRAMES:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->unchanged_frames);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_bt_preprocess_finalize (GObject *object)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (object);

  gst_bt_preprocess_clear_stream (self);
  g_free (self->model);
  G_OBJECT_CLASS (gst_bt_preprocess_parent_class)->finalize (object);
}

static void
gst_bt_preprocess_class_init (GstBtPreprocessClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_bt_preprocess_set_property;
  gobject_class->get_property = gst_bt_preprocess_get_property;
  gobject_class->finalize = gst_bt_preprocess_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model folder",
          "BridgeTower model folder whose preprocessor_config.json gives the "
          "image settings. Unset (default): ask btencoder downstream for its "
          "model's settings at caps time, else use "
          "BridgeTowerImageProcessor's defaults. Read when caps are set.",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("interval", "Interval",
          "Attach a tensor to one frame in every `interval`: frames 0, N, "
          "2N, ... (counted since start; a change applies from the last "
          "frame that got one). btencoder encodes exactly those; the others "
          "pass without features.", 1, G_MAXUINT, DEFAULT_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CHANGE_THRESHOLD,
      g_param_spec_double ("change-threshold", "Change threshold",
          "Gating: a due frame gets a new tensor only when the mean luma of "
          "some cell of a 16x16 grid over it moved by at least this fraction "
          "of full scale since the frame that got the last new tensor; "
          "otherwise it carries that tensor again and btencoder and "
          "btmatcher repeat that frame's features and scores. 0 (default): "
          "off, every due frame is encoded.", 0.0, 1.0,
          DEFAULT_CHANGE_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_AGE,
      g_param_spec_uint ("max-age", "Maximum age",
          "Gating: a due frame gets a new tensor, changed or not, once this "
          "many frames have passed since the last new one (0: no limit).",
          0, G_MAXUINT, DEFAULT_MAX_AGE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_UNCHANGED_FRAMES,
      g_param_spec_uint64 ("unchanged-frames", "Unchanged frames",
          "Due frames that gating found unchanged (they carried the last "
          "new tensor again) since start.", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower preprocessing", "Filter/Video",
      "Attaches BridgeTowerProcessor's image tensor (pixel_values of the "
      "frame's RGB pixels: resize, center crop, rescale, normalise) as a "
      "GstBtTensorMeta to every `interval`-th frame, the frames btencoder "
      "downstream encodes (with change-threshold set, unchanged frames "
      "carry the last tensor again: btencoder and btmatcher repeat its "
      "features and scores); the video passes through unchanged. I420 and NV12 are converted to RGB with the "
      "matrix and range their caps' colorimetry names; alpha is ignored.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_preprocess_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_preprocess_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_bt_preprocess_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_bt_preprocess_transform_frame_ip);
}

static void
gst_bt_preprocess_init (GstBtPreprocess *self)
{
  self->interval = DEFAULT_INTERVAL;
  self->change_threshold = DEFAULT_CHANGE_THRESHOLD;
  self->max_age = DEFAULT_MAX_AGE;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  /* GstVideoFilter drops late frames; every frame must pass here (btencoder
   * skips the late ones' vision-tower call instead) */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
