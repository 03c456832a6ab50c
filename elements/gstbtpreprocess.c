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
 * btencoder's answer also gives its `interval` (and an upstream event
 * updates it when it changes): frames btencoder will not encode are not
 * preprocessed, they pass without a tensor.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtpreprocess.h"
#include "gstbtmeta.h"
#include "gstbtimagequery.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_preprocess_debug);
#define GST_CAT_DEFAULT gst_bt_preprocess_debug

/* RGB formats first: they need no colour conversion */
#define BT_PREPROCESS_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, GRAY8, I420, NV12 }"

enum
{
  PROP_0,
  PROP_MODEL,
};

struct _GstBtPreprocess
{
  GstBaseTransform parent;

  /* properties and btencoder's interval (object lock) */
  gchar *model;
  guint interval;

  /* buffers seen since start, and the first one due for a tensor */
  guint64 frame;
  guint64 next_due;

  /* streaming state, set up in set_caps */
  GstVideoInfo in_info;
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

G_DEFINE_TYPE (GstBtPreprocess, gst_bt_preprocess, GST_TYPE_BASE_TRANSFORM);
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
  guint interval = 1;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model);
  GST_OBJECT_UNLOCK (self);

  query = gst_bt_image_config_query_new ();
  answered = gst_pad_peer_query (GST_BASE_TRANSFORM_SRC_PAD (trans), query)
      && gst_bt_image_config_query_parse (query, &answer, &answered_by,
      &interval);
  gst_query_unref (query);
  GST_OBJECT_LOCK (self);
  self->interval = answered ? interval : 1;
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
gst_bt_preprocess_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (trans);
  BtImageConfig config;
  GstStructure *pool_config;
  GstVideoFormat format;
  gint width, height;

  (void) outcaps;
  if (!gst_video_info_from_caps (&self->in_info, incaps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("cannot parse caps %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  gst_bt_preprocess_clear_stream (self);
  if (!gst_bt_preprocess_resolve_config (self, &config))
    return FALSE;

  width = GST_VIDEO_INFO_WIDTH (&self->in_info);
  height = GST_VIDEO_INFO_HEIGHT (&self->in_info);
  format = GST_VIDEO_INFO_FORMAT (&self->in_info);

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
    GST_VIDEO_INFO_FPS_N (&self->rgb_info) = GST_VIDEO_INFO_FPS_N (&self->in_info);
    GST_VIDEO_INFO_FPS_D (&self->rgb_info) = GST_VIDEO_INFO_FPS_D (&self->in_info);
    GST_VIDEO_INFO_PAR_N (&self->rgb_info) = GST_VIDEO_INFO_PAR_N (&self->in_info);
    GST_VIDEO_INFO_PAR_D (&self->rgb_info) = GST_VIDEO_INFO_PAR_D (&self->in_info);
    /* the matrix and range come from in_info's colorimetry */
    self->converter = gst_video_converter_new (&self->in_info,
        &self->rgb_info, NULL);
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

static GstFlowReturn
gst_bt_preprocess_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (trans);
  g_autoptr (GError) error = NULL;
  GstVideoFrame frame, rgb_frame;
  GstBuffer *block = NULL;
  GstMapInfo block_map;
  const guint8 *rgb;
  gint stride, width, height;
  gsize pixels, values_bytes;
  gint64 *mask;
  gboolean ok;
  guint64 index = self->frame++;
  guint interval;

  if (index < self->next_due)
    return GST_FLOW_OK;
  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);
  self->next_due = index + interval;

  if (G_UNLIKELY (!self->proc)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!gst_video_frame_map (&frame, &self->in_info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("cannot map the video frame for reading"));
    return GST_FLOW_ERROR;
  }
  width = GST_VIDEO_FRAME_WIDTH (&frame);
  height = GST_VIDEO_FRAME_HEIGHT (&frame);

  if (self->converter) {
    gst_video_frame_map (&rgb_frame, &self->rgb_info, self->rgb_scratch,
        GST_MAP_READWRITE);
    gst_video_converter_frame (self->converter, &frame, &rgb_frame);
    rgb = GST_VIDEO_FRAME_PLANE_DATA (&rgb_frame, 0);
    stride = GST_VIDEO_FRAME_PLANE_STRIDE (&rgb_frame, 0);
  } else if (self->pack_scratch) {
    pack_rgb (&frame, self->pack_scratch);
    rgb = self->pack_scratch;
    stride = width * 3;
  } else {
    rgb = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
    stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
  }

  if (gst_buffer_pool_acquire_buffer (self->tensor_pool, &block, NULL)
      != GST_FLOW_OK || !gst_buffer_map (block, &block_map, GST_MAP_WRITE)) {
    if (self->converter)
      gst_video_frame_unmap (&rgb_frame);
    gst_video_frame_unmap (&frame);
    gst_clear_buffer (&block);
    /* flushing or shutting down */
    return GST_FLOW_FLUSHING;
  }

  pixels = (gsize) self->out_width * self->out_height;
  values_bytes = GST_ROUND_UP_8 (3 * pixels * sizeof (float));
  ok = bt_image_processor_process (self->proc, rgb, width, height, stride,
      (float *) block_map.data, self->out_width, self->out_height, &error);
  /* a single image is never padded: the mask is all ones */
  mask = (gint64 *) (block_map.data + values_bytes);
  for (gsize i = 0; i < pixels; i++)
    mask[i] = 1;
  gst_buffer_unmap (block, &block_map);

  if (self->converter)
    gst_video_frame_unmap (&rgb_frame);
  gst_video_frame_unmap (&frame);

  if (!ok) {
    gst_buffer_unref (block);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("image processing failed on a %dx%d frame: %s", width, height,
            error->message));
    return GST_FLOW_ERROR;
  }
  if (!gst_buffer_add_bt_tensor_meta (buf, block, self->out_width,
          self->out_height, width, height)) {
    gst_buffer_unref (block);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("cannot attach the tensor meta"));
    return GST_FLOW_ERROR;
  }
  gst_buffer_unref (block);
  return GST_FLOW_OK;
}

static gboolean
gst_bt_preprocess_start (GstBaseTransform *trans)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (trans);

  self->frame = 0;
  self->next_due = 0;
  GST_OBJECT_LOCK (self);
  self->interval = 1;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* btencoder's interval changed: follow it, and keep the event here. */
static gboolean
gst_bt_preprocess_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtPreprocess *self = GST_BT_PREPROCESS (trans);
  guint interval;

  if (gst_bt_interval_event_parse (event, &interval)) {
    GST_DEBUG_OBJECT (self, "btencoder interval now %u", interval);
    GST_OBJECT_LOCK (self);
    self->interval = interval;
    GST_OBJECT_UNLOCK (self);
    gst_event_unref (event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_preprocess_parent_class)->src_event
      (trans, event);
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

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower preprocessing", "Filter/Video",
      "Attaches BridgeTowerProcessor's image tensor (pixel_values and "
      "pixel_mask of the frame's RGB pixels: resize, center crop, rescale, "
      "normalise) as a GstBtTensorMeta to every frame btencoder downstream "
      "will encode (every frame without btencoder); the video passes "
      "through unchanged. I420 and NV12 are converted to RGB with the "
      "matrix and range their caps' colorimetry names; alpha is ignored.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_bt_preprocess_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_bt_preprocess_transform_ip);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_preprocess_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_preprocess_stop);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_bt_preprocess_src_event);
}

static void
gst_bt_preprocess_init (GstBtPreprocess *self)
{
  self->interval = 1;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
