/* gstbtencoder.c - btencoder: the vision tower per frame.
 *
 * btpreprocess decides which frames are encoded: every buffer that carries
 * its GstBtTensorMeta goes through bt_context_encode_image and leaves with
 * a GstBtFeaturesMeta (a reference on the refcounted features, which
 * reference the model); the others pass untouched. A tensor block seen
 * again (btpreprocess's gating found the frame unchanged) gets the
 * features made from it last time, without a vision-tower call.
 * The model folder is loaded through the process-wide cache at READY ->
 * PAUSED, so one folder is loaded once however many elements use it.
 *
 * Live sources: QoS events from downstream tell how late buffers are. A
 * buffer whose running time is before the earliest time QoS allows passes
 * without features and without a vision-tower call.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtencoder.h"
#include "gstbtmeta.h"
#include "gstbtimagequery.h"

#include <bt-model.h>

GST_DEBUG_CATEGORY_STATIC (gst_bt_encoder_debug);
#define GST_CAT_DEFAULT gst_bt_encoder_debug

#define DEFAULT_THREADS 0
#define DEFAULT_PRECISION BT_PRECISION_FP32

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_THREADS,
  PROP_PRECISION,
  PROP_ENCODED_FRAMES,
  PROP_SKIPPED_FRAMES,
};

struct _GstBtEncoder
{
  GstBaseTransform parent;

  /* properties and counters (object lock) */
  gchar *model_path;
  gint threads;
  BtPrecision precision;
  guint64 encoded_frames;
  guint64 skipped_frames;
  GstClockTime earliest_time;  /* QoS: running times before it are late */

  /* from start to stop */
  BtModel *model;
  BtContext *ctx;
  guint64 frame;               /* buffers seen since start (for messages) */
  gboolean seen_tensor;
  /* the last block encoded and its features: both referenced, so the
   * pool cannot refill that block while it stands for these features */
  GstBuffer *last_block;
  BtImageFeatures *last_features;
  gint asked;                  /* atomic: btpreprocess queried us */
};

G_DEFINE_TYPE (GstBtEncoder, gst_bt_encoder, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (btencoder, "btencoder", GST_RANK_NONE,
    GST_TYPE_BT_ENCODER,
    GST_DEBUG_CATEGORY_INIT (gst_bt_encoder_debug, "btencoder", 0,
        "BridgeTower vision encoder"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

GType
gst_bt_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {BT_PRECISION_FP32, "float32 (parity with HF)", "fp32"},
    {BT_PRECISION_BF16, "bfloat16 (opt-in, needs CPU bf16 units)", "bf16"},
    {BT_PRECISION_INT8, "int8 linear layers (opt-in, needs CPU VNNI)", "int8"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstBtPrecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* The folder must serve the whole chain: without a tokenizer btmatcher
 * could not encode its queries, and would only say so at the first
 * frame. */
static gboolean
gst_bt_encoder_check_folder (GstBtEncoder *self, const gchar *path)
{
  if (!bt_model_get_tokenizer (self->model)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("The model folder \"%s\" has no tokenizer.", path),
        ("%s: tokenizer.json, or vocab.json + merges.txt, is needed to "
            "encode btmatcher's queries", path));
    return FALSE;
  }
  if (!bt_model_has_image_config_file (self->model))
    GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND,
        ("The model folder \"%s\" has no preprocessor_config.json: "
            "BridgeTowerImageProcessor's defaults are used.", path),
        ("class defaults sized to config.json's image_size (%d)",
            bt_model_get_config (self->model)->vision.image_size));
  return TRUE;
}

static gboolean
gst_bt_encoder_start (GstBaseTransform *trans)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  BtModelParams model_params = bt_model_default_params ();
  BtContextParams ctx_params = bt_context_default_params ();

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  model_params.precision = self->precision;
  ctx_params.n_threads = self->threads;
  self->encoded_frames = 0;
  self->skipped_frames = 0;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);

  if (!path || !path[0]) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model: set btencoder's \"model\" property to a BridgeTower "
            "model folder."), (NULL));
    return FALSE;
  }
  self->model = bt_model_cache_acquire (path, &model_params, &error);
  if (!self->model) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot load the BridgeTower model \"%s\".", path),
        ("%s", error->message));
    return FALSE;
  }
  if (!gst_bt_encoder_check_folder (self, path)) {
    g_clear_pointer (&self->model, bt_model_unref);
    return FALSE;
  }
  self->ctx = bt_context_new (self->model, &ctx_params);
  self->frame = 0;
  self->seen_tensor = FALSE;
  g_atomic_int_set (&self->asked, FALSE);
  GST_INFO_OBJECT (self, "model %s loaded, heads 0x%x", path,
      bt_model_get_heads (self->model));
  return TRUE;
}

static gboolean
gst_bt_encoder_stop (GstBaseTransform *trans)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);

  gst_clear_buffer (&self->last_block);
  g_clear_pointer (&self->last_features, bt_image_features_unref);
  g_clear_pointer (&self->ctx, bt_context_free);
  g_clear_pointer (&self->model, bt_model_unref);
  return TRUE;
}

/* Answers btpreprocess's question about the processor settings. */
static gboolean
gst_bt_encoder_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);

  if (direction == GST_PAD_SINK && gst_bt_image_config_query_is (query)
      && self->model) {
    gst_bt_image_config_query_set (query,
        bt_model_get_image_config (self->model),
        bt_model_get_path (self->model));
    g_atomic_int_set (&self->asked, TRUE);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_encoder_parent_class)->query (trans,
      direction, query);
}

static gboolean
gst_bt_encoder_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_QOS:{
      gdouble proportion;
      GstClockTimeDiff diff;
      GstClockTime timestamp;

      gst_event_parse_qos (event, NULL, &proportion, &diff, &timestamp);
      GST_OBJECT_LOCK (self);
      /* like GstBaseTransform: a late buffer means the next ones are at
       * least twice as late, allowing for the time it took to process */
      if (diff > 0 && GST_CLOCK_TIME_IS_VALID (timestamp))
        self->earliest_time = timestamp + 2 * diff;
      else if (GST_CLOCK_TIME_IS_VALID (timestamp))
        self->earliest_time = timestamp + diff;
      else
        self->earliest_time = GST_CLOCK_TIME_NONE;
      GST_OBJECT_UNLOCK (self);
      GST_LOG_OBJECT (self, "QoS proportion %f diff %" G_GINT64_FORMAT
          " earliest %" GST_TIME_FORMAT, proportion, diff,
          GST_TIME_ARGS (self->earliest_time));
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_encoder_parent_class)->src_event
      (trans, event);
}

static gboolean
gst_bt_encoder_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    GST_OBJECT_LOCK (self);
    self->earliest_time = GST_CLOCK_TIME_NONE;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_BASE_TRANSFORM_CLASS (gst_bt_encoder_parent_class)->sink_event
      (trans, event);
}

/* TRUE when QoS says this buffer is already too late to be worth a
 * vision-tower call. */
static gboolean
gst_bt_encoder_is_late (GstBtEncoder *self, GstBuffer *buf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime running_time, earliest;

  if (!GST_BUFFER_PTS_IS_VALID (buf)
      || trans->segment.format != GST_FORMAT_TIME)
    return FALSE;
  GST_OBJECT_LOCK (self);
  earliest = self->earliest_time;
  GST_OBJECT_UNLOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (earliest))
    return FALSE;
  running_time = gst_segment_to_running_time (&trans->segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  return GST_CLOCK_TIME_IS_VALID (running_time) && running_time <= earliest;
}

static GstFlowReturn
gst_bt_encoder_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstBtEncoder *self = GST_BT_ENCODER (trans);
  g_autoptr (GError) error = NULL;
  GstBtTensorMeta *tmeta;
  BtImageFeatures *features;
  const BtConfig *config;
  gboolean interpolate;
  guint64 frame = self->frame++;

  tmeta = gst_buffer_get_bt_tensor_meta (buf);
  /* a frame btpreprocess (known to be upstream once it asked for our
   * settings or sent a tensor) did not schedule */
  if (!tmeta && (self->seen_tensor || g_atomic_int_get (&self->asked)))
    return GST_FLOW_OK;
  if (!tmeta) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("btencoder needs btpreprocess upstream."),
        ("buffer %" G_GUINT64_FORMAT " carries no BridgeTower tensor meta: "
            "put btpreprocess before btencoder", frame));
    return GST_FLOW_ERROR;
  }

  if (tmeta->block == self->last_block && self->last_features) {
    gst_buffer_add_bt_features_meta (buf, self->last_features);
    return GST_FLOW_OK;
  }

  if (gst_bt_encoder_is_late (self, buf)) {
    GST_OBJECT_LOCK (self);
    self->skipped_frames++;
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "QoS: buffer %" G_GUINT64_FORMAT " is late, "
        "not encoding it", frame);
    return GST_FLOW_OK;
  }

  self->seen_tensor = TRUE;
  config = bt_model_get_config (self->model);
  interpolate = tmeta->width != config->vision.image_size
      || tmeta->height != config->vision.image_size;
  features = bt_context_encode_image (self->ctx, tmeta->pixel_values,
      tmeta->height, tmeta->width, interpolate, &error);
  if (!features) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("The vision tower failed on a %dx%d tensor.", tmeta->width,
            tmeta->height), ("%s", error->message));
    return GST_FLOW_ERROR;
  }
  gst_buffer_add_bt_features_meta (buf, features);
  gst_buffer_replace (&self->last_block, tmeta->block);
  g_clear_pointer (&self->last_features, bt_image_features_unref);
  self->last_features = features;

  GST_OBJECT_LOCK (self);
  self->encoded_frames++;
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

static void
gst_bt_encoder_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstBtEncoder *self = GST_BT_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_PRECISION:
      self->precision = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_encoder_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstBtEncoder *self = GST_BT_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_ENCODED_FRAMES:
      g_value_set_uint64 (value, self->encoded_frames);
      break;
    case PROP_SKIPPED_FRAMES:
      g_value_set_uint64 (value, self->skipped_frames);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_bt_encoder_finalize (GObject *object)
{
  GstBtEncoder *self = GST_BT_ENCODER (object);

  gst_clear_buffer (&self->last_block);
  g_clear_pointer (&self->last_features, bt_image_features_unref);
  g_clear_pointer (&self->ctx, bt_context_free);
  g_clear_pointer (&self->model, bt_model_unref);
  g_free (self->model_path);
  G_OBJECT_CLASS (gst_bt_encoder_parent_class)->finalize (object);
}

static void
gst_bt_encoder_class_init (GstBtEncoderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_bt_encoder_set_property;
  gobject_class->get_property = gst_bt_encoder_get_property;
  gobject_class->finalize = gst_bt_encoder_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model folder",
          "BridgeTower model folder (config.json, model.safetensors or "
          "pytorch_model.bin, tokenizer and preprocessor_config.json). "
          "Required. Loaded once per process and precision, shared by "
          "every element and pipeline that names it.", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Compute threads of this element's vision-tower calls (0 = "
          "OPENBLAS_NUM_THREADS, else the cores); applied at start. "
          "Elements take turns on the cores, each with its own count.", 0,
          1024,
          DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "Arithmetic of the model's linear layers.", GST_TYPE_BT_PRECISION,
          DEFAULT_PRECISION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ENCODED_FRAMES,
      g_param_spec_uint64 ("encoded-frames", "Encoded frames",
          "Buffers that went through the vision tower since start.", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_SKIPPED_FRAMES,
      g_param_spec_uint64 ("skipped-frames", "Skipped frames",
          "Buffers due for encoding that QoS reported too late, passed "
          "without features since start.", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "BridgeTower vision encoder", "Filter/Video/Analyzer",
      "Runs BridgeTower's vision tower on every buffer that carries "
      "btpreprocess's tensor (btpreprocess's `interval` decides which) and "
      "attaches the image features as a "
      "GstBtFeaturesMeta for btmatcher; the video passes through "
      "unchanged. Late buffers (QoS) pass without features.",
      "gst-bridgetower <https://github.com/gst-bridgetower/gst-bridgetower>");

  gst_type_mark_as_plugin_api (GST_TYPE_BT_PRECISION, 0);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_bt_encoder_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_bt_encoder_stop);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_bt_encoder_query);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_bt_encoder_src_event);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_bt_encoder_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_bt_encoder_transform_ip);
}

static void
gst_bt_encoder_init (GstBtEncoder *self)
{
  self->threads = DEFAULT_THREADS;
  self->precision = DEFAULT_PRECISION;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
