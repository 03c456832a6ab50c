/* test-elements.c - GstHarness tests of btpreprocess, btencoder and
 * btmatcher against the library API on the tiny golden models.
 *
 * The elements are linked in and registered statically, so the metas are
 * read through their C API.
 */
#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "bridgetower.h"
#include "bt-test-util.h"
#include "gstbtmeta.h"
#include "gstbtpreprocess.h"
#include "gstbtencoder.h"
#include "gstbtmatcher.h"

static gchar *itm_dir;         /* ITM head, 32x32 inputs */
static gchar *itc_dir;         /* ITC head, 56x56 inputs */

static gchar *
golden_model (const gchar *name)
{
  const gchar *data = g_getenv ("BT_TEST_DATA");

  return g_build_filename (data ? data : BT_TEST_DATA, "golden", "models",
      name, NULL);
}

/* ---- frames --------------------------------------------------------- */

/* Random RGB pixels, 3 bytes per pixel, stride 3 * width. */
static guint8 *
random_rgb (gint width, gint height, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint8 *rgb = g_malloc ((gsize) width * height * 3);

  for (gsize i = 0; i < (gsize) width * height * 3; i++)
    rgb[i] = (guint8) g_rand_int_range (rand, 0, 256);
  g_rand_free (rand);
  return rgb;
}

typedef struct {
  const gchar *format;
  gint pstride;
  gint offset[3];              /* byte of R, G, B within the pixel */
} PackedFormat;

/* Written from the formats' definitions, not from the element's code. */
static const PackedFormat packed_formats[] = {
  {"RGB", 3, {0, 1, 2}},
  {"BGR", 3, {2, 1, 0}},
  {"RGBx", 4, {0, 1, 2}},
  {"BGRx", 4, {2, 1, 0}},
  {"xRGB", 4, {1, 2, 3}},
  {"xBGR", 4, {3, 2, 1}},
  {"RGBA", 4, {0, 1, 2}},
  {"BGRA", 4, {2, 1, 0}},
  {"ARGB", 4, {1, 2, 3}},
  {"ABGR", 4, {3, 2, 1}},
};

static GstCaps *
video_caps (const gchar *format, gint width, gint height,
    const gchar *colorimetry)
{
  GstCaps *caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, format,
      "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);

  if (colorimetry)
    gst_caps_set_simple (caps, "colorimetry", G_TYPE_STRING, colorimetry,
        NULL);
  return caps;
}

/* A frame of `fmt` holding `rgb`; the filler byte gets noise, which the
 * element must ignore. */
static GstBuffer *
packed_frame (const PackedFormat *fmt, const guint8 *rgb, gint width,
    gint height)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstMapInfo map;
  GstCaps *caps = video_caps (fmt->format, width, height, NULL);
  gint stride;

  g_assert_true (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (map.data, 0xa5, map.size);
  for (gint y = 0; y < height; y++) {
    for (gint x = 0; x < width; x++) {
      guint8 *px = map.data + (gsize) y * stride + (gsize) x * fmt->pstride;
      const guint8 *src = rgb + ((gsize) y * width + x) * 3;

      if (fmt->pstride == 4)
        px[0] = px[1] = px[2] = px[3] = (guint8) (x * 31 + y * 17);
      for (int c = 0; c < 3; c++)
        px[fmt->offset[c]] = src[c];
    }
  }
  gst_buffer_unmap (buf, &map);
  return buf;
}

/* What the library gives for `rgb` with `config`: the reference the
 * tensor meta must equal. */
static float *
expected_tensor (const BtImageConfig *config, const guint8 *rgb, gint width,
    gint height, gint stride, gint *out_w, gint *out_h)
{
  g_autoptr (BtImageProcessor) proc = bt_image_processor_new (config);
  g_autoptr (GError) error = NULL;
  float *values;

  bt_image_config_output_size (config, width, height, out_w, out_h);
  values = g_new (float, 3 * (gsize) *out_w * *out_h);
  g_assert_true (bt_image_processor_process (proc, rgb, width, height, stride,
          values, *out_w, *out_h, &error));
  g_assert_no_error (error);
  return values;
}

static void
model_image_config (const gchar *dir, BtImageConfig *config)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_image_config_load (config, dir, &error));
  g_assert_no_error (error);
  bt_image_config_force_processor (config);
}

static void
assert_tensor_meta (GstBuffer *buf, const float *expected, gint w, gint h,
    gint frame_w, gint frame_h)
{
  GstBtTensorMeta *meta = gst_buffer_get_bt_tensor_meta (buf);

  g_assert_nonnull (meta);
  g_assert_cmpint (meta->width, ==, w);
  g_assert_cmpint (meta->height, ==, h);
  g_assert_cmpint (meta->frame_width, ==, frame_w);
  g_assert_cmpint (meta->frame_height, ==, frame_h);
  g_assert_cmpmem (meta->pixel_values, 3 * (gsize) w * h * sizeof (float),
      expected, 3 * (gsize) w * h * sizeof (float));
  for (gint i = 0; i < w * h; i++)
    g_assert_cmpint (meta->pixel_mask[i], ==, 1);
}

/* ---- btpreprocess --------------------------------------------------- */

static const gint sizes[][2] = { {1, 1}, {7, 5}, {33, 17}, {64, 48} };

/* Every RGB-family format and size: the tensor equals the library's
 * processing of the frame's RGB pixels, and the video is untouched. */
static void
test_preprocess_rgb_formats (void)
{
  BtImageConfig config;

  model_image_config (itm_dir, &config);
  for (guint f = 0; f < G_N_ELEMENTS (packed_formats); f++) {
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      gint w = sizes[s][0], h = sizes[s][1], ow, oh;
      g_autofree guint8 *rgb = random_rgb (w, h, f * 100 + s);
      g_autofree float *expected = expected_tensor (&config, rgb, w, h, w * 3,
          &ow, &oh);
      GstHarness *hr = gst_harness_new ("btpreprocess");
      GstBuffer *in, *out;
      GstMapInfo a, b;

      g_object_set (hr->element, "model", itm_dir, NULL);
      gst_harness_set_src_caps (hr, video_caps (packed_formats[f].format, w,
              h, NULL));
      in = packed_frame (&packed_formats[f], rgb, w, h);
      out = gst_harness_push_and_pull (hr, gst_buffer_ref (in));
      g_assert_nonnull (out);
      assert_tensor_meta (out, expected, ow, oh, w, h);
      gst_buffer_map (in, &a, GST_MAP_READ);
      gst_buffer_map (out, &b, GST_MAP_READ);
      g_assert_cmpmem (a.data, a.size, b.data, b.size);
      gst_buffer_unmap (in, &a);
      gst_buffer_unmap (out, &b);
      gst_buffer_unref (in);
      gst_buffer_unref (out);
      gst_harness_teardown (hr);
    }
  }
}

static void
test_preprocess_gray (void)
{
  BtImageConfig config;

  model_image_config (itm_dir, &config);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    gint w = sizes[s][0], h = sizes[s][1], ow, oh;
    g_autofree guint8 *gray = random_rgb (w, h, 7 + s);
    g_autofree guint8 *rgb = g_malloc ((gsize) w * h * 3);
    g_autofree float *expected = NULL;
    GstHarness *hr = gst_harness_new ("btpreprocess");
    GstVideoInfo info;
    GstCaps *caps = video_caps ("GRAY8", w, h, NULL);
    GstBuffer *in, *out;
    GstMapInfo map;

    for (gsize i = 0; i < (gsize) w * h; i++)
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i];
    expected = expected_tensor (&config, rgb, w, h, w * 3, &ow, &oh);

    g_assert_true (gst_video_info_from_caps (&info, caps));
    in = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    gst_buffer_map (in, &map, GST_MAP_WRITE);
    for (gint y = 0; y < h; y++)
      memcpy (map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0),
          gray + y * w, w);
    gst_buffer_unmap (in, &map);

    g_object_set (hr->element, "model", itm_dir, NULL);
    gst_harness_set_src_caps (hr, caps);
    out = gst_harness_push_and_pull (hr, in);
    assert_tensor_meta (out, expected, ow, oh, w, h);
    gst_buffer_unref (out);
    gst_harness_teardown (hr);
  }
}

/* A uniform YUV frame; returns the buffer. */
static GstBuffer *
uniform_yuv (const GstVideoInfo *info, guint8 y, guint8 u, guint8 v)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info),
      NULL);
  GstVideoFrame frame;

  g_assert_true (gst_video_frame_map (&frame, info, buf, GST_MAP_WRITE));
  for (gint row = 0; row < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, 0); row++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
        + row * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), y,
        GST_VIDEO_FRAME_COMP_WIDTH (&frame, 0));
  for (gint row = 0; row < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, 1); row++) {
    gint cw = GST_VIDEO_FRAME_COMP_WIDTH (&frame, 1);

    if (GST_VIDEO_FRAME_N_PLANES (&frame) == 2) {
      guint8 *p = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 1)
          + row * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1);

      for (gint x = 0; x < cw; x++) {
        p[2 * x] = u;
        p[2 * x + 1] = v;
      }
    } else {
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 1)
          + row * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1), u, cw);
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 2)
          + row * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 2), v, cw);
    }
  }
  gst_video_frame_unmap (&frame);
  return buf;
}

/* Y'CbCr -> R'G'B' by the textbook formula for Kr, Kb and the range. */
static void
yuv_to_rgb (gdouble kr, gdouble kb, gboolean full, guint8 y, guint8 u,
    guint8 v, gdouble rgb[3])
{
  gdouble yy = full ? y / 255.0 : (y - 16) / 219.0;
  gdouble pb = full ? (u - 128) / 255.0 : (u - 128) / 224.0;
  gdouble pr = full ? (v - 128) / 255.0 : (v - 128) / 224.0;
  gdouble kg = 1 - kr - kb;

  rgb[0] = yy + 2 * (1 - kr) * pr;
  rgb[2] = yy + 2 * (1 - kb) * pb;
  rgb[1] = (yy - kr * rgb[0] - kb * rgb[2]) / kg;
  for (int c = 0; c < 3; c++)
    rgb[c] = CLAMP (rgb[c], 0, 1) * 255.0;
}

/* I420 and NV12: a uniform frame gives a uniform tensor whose value is the
 * colour the caps' matrix and range name. GStreamer's converter (the one
 * videoconvert uses) works in 8-bit fixed point and lands up to ~3.5 levels
 * from the textbook formula; 4 levels still tells BT.601 from BT.709,
 * which differ by 14 levels in R for this colour. Odd sizes included. */
static void
test_preprocess_yuv (void)
{
  static const struct {
    const gchar *colorimetry;
    gdouble kr, kb;
    gboolean full;
  } cases[] = {
    {"bt601", 0.299, 0.114, FALSE},
    {"bt709", 0.2126, 0.0722, FALSE},
    {"1:4:0:0", 0.299, 0.114, TRUE},
  };
  static const gchar *formats[] = { "I420", "NV12" };
  static const gint yuv_sizes[][2] = { {1, 1}, {15, 9}, {64, 48} };
  BtImageConfig config;
  gdouble max_err = 0;

  model_image_config (itm_dir, &config);
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
      for (guint s = 0; s < G_N_ELEMENTS (yuv_sizes); s++) {
        gint w = yuv_sizes[s][0], h = yuv_sizes[s][1];
        GstCaps *caps = video_caps (formats[f], w, h, cases[c].colorimetry);
        GstHarness *hr = gst_harness_new ("btpreprocess");
        GstBtTensorMeta *meta;
        GstVideoInfo info;
        GstBuffer *out;
        gdouble rgb[3];

        g_assert_true (gst_video_info_from_caps (&info, caps));
        yuv_to_rgb (cases[c].kr, cases[c].kb, cases[c].full, 100, 90, 200,
            rgb);
        g_object_set (hr->element, "model", itm_dir, NULL);
        gst_harness_set_src_caps (hr, caps);
        out = gst_harness_push_and_pull (hr, uniform_yuv (&info, 100, 90,
                200));
        meta = gst_buffer_get_bt_tensor_meta (out);
        g_assert_nonnull (meta);
        for (int ch = 0; ch < 3; ch++) {
          gdouble want = (rgb[ch] / 255.0 - config.image_mean[ch])
              / config.image_std[ch];
          gdouble tol = 4.0 / 255.0 / config.image_std[ch];
          gsize plane = (gsize) meta->width * meta->height;

          for (gsize i = 0; i < plane; i++) {
            gdouble err = fabs (meta->pixel_values[ch * plane + i] - want);

            max_err = MAX (max_err, err * config.image_std[ch] * 255.0);
            g_assert_cmpfloat (err, <=, tol);
          }
        }
        gst_buffer_unref (out);
        gst_harness_teardown (hr);
      }
    }
  }
  g_test_message ("YUV: max error %.3f levels of 255", max_err);
}

/* The same frame through the element and through GStreamer's own
 * converter to RGB then the library: identical tensors. */
static void
test_preprocess_yuv_matches_videoconvert (void)
{
  BtImageConfig config;
  gint w = 37, h = 21, ow, oh;

  model_image_config (itm_dir, &config);
  for (int f = 0; f < 2; f++) {
    const gchar *format = f ? "NV12" : "I420";
    GstCaps *caps = video_caps (format, w, h, "bt709");
    GstVideoInfo info, rgb_info;
    GstVideoConverter *conv;
    GstVideoFrame in_frame, rgb_frame;
    GstBuffer *in, *rgb_buf, *out;
    GstHarness *hr = gst_harness_new ("btpreprocess");
    g_autofree guint8 *noise = random_rgb (w, h * 2, 99);
    g_autofree float *expected = NULL;
    GstMapInfo map;

    g_assert_true (gst_video_info_from_caps (&info, caps));
    in = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
    gst_buffer_map (in, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; i++)
      map.data[i] = noise[i % ((gsize) w * h * 6)];
    gst_buffer_unmap (in, &map);

    gst_video_info_set_format (&rgb_info, GST_VIDEO_FORMAT_RGB, w, h);
    GST_VIDEO_INFO_FPS_N (&rgb_info) = GST_VIDEO_INFO_FPS_N (&info);
    GST_VIDEO_INFO_FPS_D (&rgb_info) = GST_VIDEO_INFO_FPS_D (&info);
    rgb_buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&rgb_info),
        NULL);
    conv = gst_video_converter_new (&info, &rgb_info, NULL);
    gst_video_frame_map (&in_frame, &info, in, GST_MAP_READ);
    gst_video_frame_map (&rgb_frame, &rgb_info, rgb_buf, GST_MAP_WRITE);
    gst_video_converter_frame (conv, &in_frame, &rgb_frame);
    expected = expected_tensor (&config,
        GST_VIDEO_FRAME_PLANE_DATA (&rgb_frame, 0), w, h,
        GST_VIDEO_FRAME_PLANE_STRIDE (&rgb_frame, 0), &ow, &oh);
    gst_video_frame_unmap (&in_frame);
    gst_video_frame_unmap (&rgb_frame);
    gst_video_converter_free (conv);
    gst_buffer_unref (rgb_buf);

    g_object_set (hr->element, "model", itm_dir, NULL);
    gst_harness_set_src_caps (hr, caps);
    out = gst_harness_push_and_pull (hr, in);
    assert_tensor_meta (out, expected, ow, oh, w, h);
    gst_buffer_unref (out);
    gst_harness_teardown (hr);
  }
}

/* Without its own `model`, btpreprocess takes btencoder's settings through
 * the caps-time query: the ITC model's 56 pixels, not the class default. */
static void
test_preprocess_asks_encoder (void)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess ! btencoder "
      "model=\"%s\"", itc_dir);
  g_autoptr (GError) error = NULL;
  GstHarness *hr = gst_harness_new_parse (desc);
  BtModel *model = bt_model_cache_acquire (itc_dir, BT_PRECISION_FP32, &error);
  const PackedFormat *fmt = &packed_formats[0];
  g_autofree guint8 *rgb = random_rgb (80, 60, 5);
  g_autofree float *expected = NULL;
  GstBuffer *out;
  gint ow, oh;

  g_assert_no_error (error);
  expected = expected_tensor (bt_model_get_image_config (model), rgb, 80, 60,
      240, &ow, &oh);
  g_assert_cmpint (ow, ==, bt_model_get_config (model)->vision.image_size);
  gst_harness_set_src_caps (hr, video_caps ("RGB", 80, 60, NULL));
  out = gst_harness_push_and_pull (hr, packed_frame (fmt, rgb, 80, 60));
  assert_tensor_meta (out, expected, ow, oh, 80, 60);
  gst_buffer_unref (out);
  gst_harness_teardown (hr);
  bt_model_unref (model);
}

/* ---- btencoder ------------------------------------------------------ */

static GstHarness *
encoder_harness (const gchar *model_dir, const gchar *extra)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess ! btencoder "
      "name=enc model=\"%s\" %s", model_dir, extra ? extra : "");
  GstHarness *hr = gst_harness_new_parse (desc);

  gst_harness_set_src_caps (hr, video_caps ("RGB", 40, 30, NULL));
  return hr;
}

static GstBuffer *
timed_frame (guint i, guint32 seed)
{
  g_autofree guint8 *rgb = random_rgb (40, 30, seed);
  GstBuffer *buf = packed_frame (&packed_formats[0], rgb, 40, 30);

  GST_BUFFER_PTS (buf) = i * (GST_SECOND / 30);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

static guint64
encoded_frames (GstHarness *hr)
{
  GstElement *enc = gst_bin_get_by_name (GST_BIN (hr->element), "enc");
  guint64 n;

  g_object_get (enc, "encoded-frames", &n, NULL);
  gst_object_unref (enc);
  return n;
}

/* The features equal the library's encoding of the same tensor. */
static void
test_encoder_features (void)
{
  GstHarness *hr = encoder_harness (itc_dir, NULL);
  g_autoptr (GError) error = NULL;
  GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (0, 1));
  GstBtTensorMeta *tmeta = gst_buffer_get_bt_tensor_meta (out);
  GstBtFeaturesMeta *fmeta = gst_buffer_get_bt_features_meta (out);
  BtModel *model;
  BtContext *ctx;
  BtImageFeatures *ref;
  int dim;
  gdouble max_err = 0;

  g_assert_nonnull (tmeta);
  g_assert_nonnull (fmeta);
  model = bt_image_features_get_model (fmeta->features);
  g_assert_cmpstr (bt_model_get_path (model), !=, NULL);
  ctx = bt_context_new (model);
  ref = bt_context_encode_image (ctx, tmeta->pixel_values, tmeta->height,
      tmeta->width, FALSE, &error);
  g_assert_no_error (error);
  dim = bt_model_get_config (model)->contrastive_hidden_size;
  for (int i = 0; i < dim; i++)
    max_err = MAX (max_err, fabs (bt_image_features_get_itc (ref)[i]
            - bt_image_features_get_itc (fmeta->features)[i]));
  g_test_message ("features vs library: max abs error %g", max_err);
  g_assert_cmpfloat (max_err, <=, 1e-6);
  bt_image_features_unref (ref);
  bt_context_free (ctx);
  gst_buffer_unref (out);
  gst_harness_teardown (hr);
}

/* interval=3: buffers 0, 3, 6, 9 get features, and btpreprocess (told the
 * interval by btencoder) makes tensors for those only; changing the
 * interval while streaming reaches btpreprocess too. */
static void
test_encoder_interval (void)
{
  GstHarness *hr = encoder_harness (itm_dir, "interval=3");
  GstElement *enc = gst_bin_get_by_name (GST_BIN (hr->element), "enc");

  for (guint i = 0; i < 10; i++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (i, i));
    gboolean due = i % 3 == 0;

    g_assert_cmpint (gst_buffer_get_bt_tensor_meta (out) != NULL, ==, due);
    g_assert_cmpint (gst_buffer_get_bt_features_meta (out) != NULL, ==, due);
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (encoded_frames (hr), ==, 4);

  /* buffer 10 is not due (next is 12); from 12 on every other buffer */
  g_object_set (enc, "interval", 2, NULL);
  for (guint i = 10; i < 17; i++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (i, i));
    gboolean due = i >= 12 && i % 2 == 0;

    g_assert_cmpint (gst_buffer_get_bt_tensor_meta (out) != NULL, ==, due);
    g_assert_cmpint (gst_buffer_get_bt_features_meta (out) != NULL, ==, due);
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (encoded_frames (hr), ==, 7);
  gst_object_unref (enc);
  gst_harness_teardown (hr);
}

/* A QoS event saying buffers are 10 s late: the next buffers pass without
 * features and without a vision-tower call; one past the late window is
 * encoded again. */
static void
test_encoder_qos (void)
{
  GstHarness *hr = encoder_harness (itm_dir, NULL);
  GstBuffer *out;
  GstElement *enc;
  guint64 skipped;

  out = gst_harness_push_and_pull (hr, timed_frame (0, 0));
  g_assert_nonnull (gst_buffer_get_bt_features_meta (out));
  gst_buffer_unref (out);

  gst_harness_push_upstream_event (hr, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW,
          0.5, 10 * GST_SECOND, GST_SECOND / 30));
  for (guint i = 1; i < 6; i++) {
    out = gst_harness_push_and_pull (hr, timed_frame (i, i));
    g_assert_nonnull (out);
    g_assert_null (gst_buffer_get_bt_features_meta (out));
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (encoded_frames (hr), ==, 1);
  enc = gst_bin_get_by_name (GST_BIN (hr->element), "enc");
  g_object_get (enc, "skipped-frames", &skipped, NULL);
  g_assert_cmpuint (skipped, ==, 5);
  gst_object_unref (enc);

  /* 30 s: past timestamp + 2 x jitter */
  out = gst_harness_push_and_pull (hr, timed_frame (900, 3));
  g_assert_nonnull (gst_buffer_get_bt_features_meta (out));
  gst_buffer_unref (out);
  g_assert_cmpuint (encoded_frames (hr), ==, 2);
  gst_harness_teardown (hr);
}

/* Drops the messages still queued: they hold references to the elements
 * that posted them. */
static void
release_bus (GstElement *element, GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (bus);
}

/* The first error message on `bus`, as "message | debug". */
static gchar *
pop_error (GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;
  gchar *text;

  if (!msg)
    return NULL;
  gst_message_parse_error (msg, &error, &debug);
  text = g_strdup_printf ("%s | %s", error->message, debug ? debug : "");
  gst_message_unref (msg);
  return text;
}

/* btencoder without btpreprocess: an error naming the problem. */
static void
test_encoder_needs_preprocess (void)
{
  g_autofree gchar *desc = g_strdup_printf ("btencoder model=\"%s\"",
      itm_dir);
  GstHarness *hr = gst_harness_new_parse (desc);
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *text = NULL;

  gst_element_set_bus (hr->element, bus);
  gst_harness_set_src_caps (hr, video_caps ("RGB", 40, 30, NULL));
  g_assert_cmpint (gst_harness_push (hr, timed_frame (0, 0)), ==,
      GST_FLOW_ERROR);
  text = pop_error (bus);
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "btpreprocess"));
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* Sets a string property of a new `factory` element, asserts that it fails
 * to start and returns the error message it posted. */
static gchar *
start_error (const gchar *factory, const gchar *property, const gchar *value)
{
  GstElement *element = gst_element_factory_make (factory, NULL);
  GstBus *bus = gst_bus_new ();
  gchar *text;

  gst_element_set_bus (element, bus);
  g_object_set (element, property, value, NULL);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  text = pop_error (bus);
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  gst_element_set_state (element, GST_STATE_NULL);
  release_bus (element, bus);
  gst_object_unref (element);
  return text;
}

/* Start failures: no model, a folder that is not a model. The messages
 * name the path. */
static void
test_encoder_bad_model (void)
{
  g_autofree gchar *tmp = g_dir_make_tmp ("bt-bad-model-XXXXXX", NULL);
  const gchar *paths[] = { NULL, tmp };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autofree gchar *text = start_error ("btencoder", "model", paths[i]);

    g_assert_nonnull (strstr (text, paths[i] ? paths[i] : "model"));
  }
  g_rmdir (tmp);
}

/* Pops the messages of `type` until one whose text or debug has `needle`;
 * NULL when none has. */
static gchar *
pop_message_with (GstBus *bus, GstMessageType type, const gchar *needle)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, type))) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *debug = NULL;
    gchar *text;

    if (type == GST_MESSAGE_WARNING)
      gst_message_parse_warning (msg, &error, &debug);
    else if (type == GST_MESSAGE_INFO)
      gst_message_parse_info (msg, &error, &debug);
    else
      gst_message_parse_error (msg, &error, &debug);
    gst_message_unref (msg);
    text = g_strdup_printf ("%s | %s", error->message, debug ? debug : "");
    if (strstr (text, needle))
      return text;
    g_free (text);
  }
  return NULL;
}

/* A folder without a tokenizer fails at start (btmatcher could not encode
 * a query); one without preprocessor_config.json starts with a warning. */
static void
test_encoder_processor_files (void)
{
  static const gchar *const weights_only[] = { "config.json",
    "model.safetensors", NULL
  };
  static const gchar *const no_images[] = { "config.json",
    "model.safetensors", "tokenizer.json", NULL
  };
  g_autofree gchar *dir = bt_test_copy_model ("itm_add_t3v3c2", weights_only);
  g_autofree gchar *dir2 = bt_test_copy_model ("itm_add_t3v3c2", no_images);
  g_autofree gchar *text = start_error ("btencoder", "model", dir);
  GstElement *enc = gst_element_factory_make ("btencoder", NULL);
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *warning = NULL;

  g_assert_nonnull (strstr (text, "tokenizer"));
  g_assert_nonnull (strstr (text, dir));

  gst_element_set_bus (enc, bus);
  g_object_set (enc, "model", dir2, NULL);
  g_assert_cmpint (gst_element_set_state (enc, GST_STATE_PAUSED), !=,
      GST_STATE_CHANGE_FAILURE);
  warning = pop_message_with (bus, GST_MESSAGE_WARNING,
      "preprocessor_config.json");
  g_assert_nonnull (warning);
  g_test_message ("%s", warning);
  gst_element_set_state (enc, GST_STATE_NULL);
  release_bus (enc, bus);
  gst_object_unref (enc);
  bt_test_remove_dir (dir);
  bt_test_remove_dir (dir2);
}

/* ---- btmatcher ------------------------------------------------------ */

static GstHarness *
chain_harness (const gchar *model_dir, const gchar *enc_props,
    const gchar *matcher_props)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess ! btencoder "
      "name=enc model=\"%s\" %s ! btmatcher name=match %s", model_dir,
      enc_props ? enc_props : "", matcher_props ? matcher_props : "");
  GstHarness *hr = gst_harness_new_parse (desc);

  gst_harness_set_src_caps (hr, video_caps ("RGB", 40, 30, NULL));
  return hr;
}

static GstElement *
matcher_of (GstHarness *hr)
{
  return gst_bin_get_by_name (GST_BIN (hr->element), "match");
}

/* The library's scores for the tensor on `buf` and `queries`: ITM
 * probabilities and ITC cosines (NaN where the model lacks the head). */
static void
library_scores (BtModel *model, GstBuffer *buf, const gchar *const *queries,
    guint n, gdouble *itm, gdouble *itc)
{
  g_autoptr (GError) error = NULL;
  GstBtTensorMeta *tmeta = gst_buffer_get_bt_tensor_meta (buf);
  BtContext *ctx = bt_context_new (model);
  BtImageFeatures *image;
  BtHeads heads = bt_model_get_heads (model);

  g_assert_nonnull (tmeta);
  image = bt_context_encode_image (ctx, tmeta->pixel_values, tmeta->height,
      tmeta->width, FALSE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++) {
    BtTextFeatures *text = bt_context_encode_query (ctx, queries[i], &error);

    g_assert_no_error (error);
    itm[i] = itc[i] = NAN;
    if (heads & BT_HEAD_ITM) {
      float logits[2];

      g_assert_true (bt_context_match (ctx, image, &text, 1, logits, &error));
      itm[i] = exp (logits[1]) / (exp (logits[0]) + exp (logits[1]));
    }
    if (heads & BT_HEAD_ITC) {
      const float *a = bt_image_features_get_itc (image);
      const float *b = bt_text_features_get_itc (text);
      gdouble dot = 0, na = 0, nb = 0;

      for (int k = 0; k < bt_model_get_config (model)->contrastive_hidden_size;
          k++) {
        dot += a[k] * b[k];
        na += a[k] * a[k];
        nb += b[k] * b[k];
      }
      itc[i] = dot / sqrt (na * nb);
    }
    bt_text_features_unref (text);
  }
  bt_image_features_unref (image);
  bt_context_free (ctx);
}

static const gchar *const two_queries[] = { "a cat on a couch", "a red car" };

/* mode=itm and mode=itc: the meta's scores equal the library's. */
static void
check_mode (const gchar *model_dir, const gchar *mode)
{
  g_autofree gchar *props = g_strdup_printf ("mode=%s "
      "queries=\"a cat on a couch;a red car\"", mode);
  GstHarness *hr = chain_harness (model_dir, NULL, props);
  gboolean is_itm = g_str_equal (mode, "itm");
  gdouble max_err = 0;

  for (guint f = 0; f < 3; f++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (f, 10 + f));
    GstBtScoresMeta *smeta = gst_buffer_get_bt_scores_meta (out);
    GstBtFeaturesMeta *fmeta = gst_buffer_get_bt_features_meta (out);
    gdouble itm[2], itc[2];

    g_assert_nonnull (smeta);
    g_assert_cmpuint (smeta->frame, ==, f);
    g_assert_cmpuint (smeta->n_scores, ==, 2);
    library_scores (bt_image_features_get_model (fmeta->features), out,
        two_queries, 2, itm, itc);
    for (guint i = 0; i < 2; i++) {
      gdouble want = is_itm ? itm[i] : itc[i];

      g_assert_cmpstr (smeta->scores[i].query, ==, two_queries[i]);
      g_assert_false (isnan (want));
      max_err = MAX (max_err, fabs (smeta->scores[i].score - want));
      g_assert_cmpfloat (fabs (smeta->scores[i].score - want), <=, 1e-5);
    }
    gst_buffer_unref (out);
  }
  g_test_message ("mode=%s: max abs error vs library %g", mode, max_err);
  gst_harness_teardown (hr);
}

static void
test_matcher_itm (void)
{
  check_mode (itm_dir, "itm");
}

static void
test_matcher_itc (void)
{
  check_mode (itc_dir, "itc");
}

/* A mode the checkpoint cannot serve: an error naming the missing head. */
static void
test_matcher_missing_head (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL, "mode=itc queries=x");
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *text = NULL;

  gst_element_set_bus (hr->element, bus);
  g_assert_cmpint (gst_harness_push (hr, timed_frame (0, 0)), ==,
      GST_FLOW_ERROR);
  text = pop_error (bus);
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "ITC"));
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* The two-head fixture: the golden ITC folder plus random itm_score
 * weights, written to a temporary folder. */
static gchar *
make_two_head_fixture (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *src_st = g_build_filename (itc_dir, "model.safetensors",
      NULL);
  g_autoptr (BtSafetensors) st = bt_safetensors_open (src_st, &error);
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  gchar *dir = g_dir_make_tmp ("bt-two-heads-XXXXXX", &error);
  g_autofree gchar *dst_st = NULL;
  GDir *d;
  const gchar *name;
  BtConfig config;
  BtTensor *w, *b;
  GRand *rand = g_rand_new_with_seed (1234);
  gint64 wshape[2], bshape[1] = { 2 };

  g_assert_no_error (error);
  g_assert_true (bt_config_load (&config, itc_dir, &error));
  for (guint i = 0; i < bt_safetensors_n_tensors (st); i++) {
    const gchar *tname = bt_safetensors_nth_name (st, i);

    bt_tensor_set_add_copy (set, tname, bt_safetensors_lookup (st, tname));
  }
  wshape[0] = 2;
  wshape[1] = 2 * config.hidden_size;
  w = bt_tensor_set_add (set, "itm_score.fc.weight", BT_DTYPE_F32, 2, wshape);
  b = bt_tensor_set_add (set, "itm_score.fc.bias", BT_DTYPE_F32, 1, bshape);
  for (gint64 i = 0; i < bt_tensor_numel (w); i++)
    ((float *) w->data)[i] = (float) g_rand_double_range (rand, -0.3, 0.3);
  for (gint64 i = 0; i < 2; i++)
    ((float *) b->data)[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  g_rand_free (rand);
  dst_st = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_true (bt_safetensors_write (dst_st, set, &error));
  g_assert_no_error (error);

  d = g_dir_open (itc_dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d))) {
    g_autofree gchar *from = g_build_filename (itc_dir, name, NULL);
    g_autofree gchar *to = g_build_filename (dir, name, NULL);
    g_autofree gchar *contents = NULL;
    gsize len;

    if (g_str_equal (name, "model.safetensors"))
      continue;
    g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
    g_assert_true (g_file_set_contents (to, contents, len, NULL));
  }
  g_dir_close (d);
  return dir;
}

/* auto on a two-head model: ITC for every query, ITM on the top-k by ITC,
 * score = ITM there and 0 elsewhere; all against the library. */
static void
test_matcher_auto (void)
{
  static const gchar *const queries[] = { "a cat on a couch", "a red car",
    "two dogs", "a football player scoring a goal"
  };
  g_autofree gchar *dir = make_two_head_fixture ();
  GstHarness *hr = chain_harness (dir, NULL, "mode=auto top-k=2 "
      "queries=\"a cat on a couch;a red car;two dogs;"
      "a football player scoring a goal\"");
  gdouble max_err = 0;

  for (guint f = 0; f < 3; f++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (f, 40 + f));
    GstBtScoresMeta *smeta = gst_buffer_get_bt_scores_meta (out);
    GstBtFeaturesMeta *fmeta = gst_buffer_get_bt_features_meta (out);
    BtModel *model = bt_image_features_get_model (fmeta->features);
    gdouble itm[4], itc[4];
    guint shortlisted = 0;

    g_assert_cmpint (bt_model_get_heads (model) & (BT_HEAD_ITM | BT_HEAD_ITC),
        ==, BT_HEAD_ITM | BT_HEAD_ITC);
    library_scores (model, out, queries, 4, itm, itc);
    g_assert_cmpuint (smeta->n_scores, ==, 4);
    for (guint i = 0; i < 4; i++) {
      guint better = 0;

      for (guint j = 0; j < 4; j++)
        better += itc[j] > itc[i];
      max_err = MAX (max_err, fabs (smeta->scores[i].itc - itc[i]));
      g_assert_cmpfloat (fabs (smeta->scores[i].itc - itc[i]), <=, 1e-5);
      if (better < 2) {
        shortlisted++;
        max_err = MAX (max_err, fabs (smeta->scores[i].itm - itm[i]));
        g_assert_cmpfloat (fabs (smeta->scores[i].itm - itm[i]), <=, 1e-5);
        g_assert_cmpfloat (smeta->scores[i].score, ==, smeta->scores[i].itm);
      } else {
        g_assert_true (isnan (smeta->scores[i].itm));
        g_assert_true (isnan (smeta->scores[i].score));
      }
    }
    g_assert_cmpuint (shortlisted, ==, 2);
    gst_buffer_unref (out);
  }
  g_test_message ("auto: max abs error vs library %g", max_err);
  gst_harness_teardown (hr);
  bt_test_remove_dir (dir);
}

/* filter=true with interval=2: frames follow the last scored decision;
 * a threshold no ITM probability reaches drops everything, one every
 * probability reaches keeps everything. */
static void
test_matcher_filter (void)
{
  GstHarness *hr = chain_harness (itm_dir, "interval=2",
      "mode=itm queries=\"a cat\" filter=true threshold=1.0");
  GstElement *match = matcher_of (hr);

  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (gst_harness_push (hr, timed_frame (i, i)), ==,
        GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (hr), ==, 0);

  g_object_set (match, "threshold", 0.0, NULL);
  /* frame 4 is scored and matches, frame 5 follows it */
  for (guint i = 4; i < 6; i++)
    g_assert_cmpint (gst_harness_push (hr, timed_frame (i, i)), ==,
        GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (hr), ==, 2);

  /* frame 6 is scored and no longer matches (1.0 - hysteresis is above
   * every probability), frame 7 follows it */
  g_object_set (match, "threshold", 1.0, "hysteresis", 0.0, NULL);
  for (guint i = 6; i < 8; i++)
    g_assert_cmpint (gst_harness_push (hr, timed_frame (i, i)), ==,
        GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (hr), ==, 2);
  gst_object_unref (match);
  gst_harness_teardown (hr);
}

/* The GAP events the harness received, in order. */
static GPtrArray *
pull_gaps (GstHarness *hr)
{
  GPtrArray *gaps = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_event_unref);
  GstEvent *ev;

  while ((ev = gst_harness_try_pull_event (hr))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP)
      g_ptr_array_add (gaps, ev);
    else
      gst_event_unref (ev);
  }
  return gaps;
}

/* filter=true: each dropped frame leaves a GAP with its PTS and duration
 * (sinks preroll and keep time through a stretch without a match); at EOS
 * a warning says that nothing passed. */
static void
test_matcher_filter_gaps (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL,
      "mode=itm queries=\"a cat\" filter=true threshold=1.0");
  GstBus *bus = gst_bus_new ();
  g_autoptr (GPtrArray) gaps = NULL;
  g_autofree gchar *text = NULL;

  gst_element_set_bus (hr->element, bus);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (gst_harness_push (hr, timed_frame (i, i)), ==,
        GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (hr), ==, 0);
  gaps = pull_gaps (hr);
  g_assert_cmpuint (gaps->len, ==, 5);
  for (guint i = 0; i < 5; i++) {
    GstClockTime ts, duration;

    gst_event_parse_gap (g_ptr_array_index (gaps, i), &ts, &duration);
    g_assert_cmpuint (ts, ==, i * (GST_SECOND / 30));
    g_assert_cmpuint (duration, ==, GST_SECOND / 30);
  }
  g_assert_true (gst_harness_push_event (hr, gst_event_new_eos ()));
  text = pop_message_with (bus, GST_MESSAGE_WARNING, "none of 5");
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* retimestamp=true: the frames that pass are back to back from 0; a
 * dropped stretch leaves one empty GAP where the next frame will go; at
 * EOS an info message counts what passed. */
static void
test_matcher_retimestamp (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL, "mode=itm "
      "queries=\"a cat\" filter=true retimestamp=true hysteresis=0.0");
  GstElement *match = matcher_of (hr);
  GstBus *bus = gst_bus_new ();
  static const gboolean keep[] = { FALSE, FALSE, TRUE, TRUE, FALSE, TRUE,
    FALSE, FALSE, TRUE
  };
  g_autoptr (GPtrArray) gaps = NULL;
  g_autofree gchar *text = NULL;
  guint n_kept = 0;

  gst_element_set_bus (hr->element, bus);
  for (guint i = 0; i < G_N_ELEMENTS (keep); i++) {
    g_object_set (match, "threshold", keep[i] ? 0.0 : 1.0, NULL);
    g_assert_cmpint (gst_harness_push (hr, timed_frame (i, i)), ==,
        GST_FLOW_OK);
  }
  for (guint i = 0; i < G_N_ELEMENTS (keep); i++) {
    GstBuffer *out;

    if (!keep[i])
      continue;
    out = gst_harness_pull (hr);
    g_assert_cmpuint (GST_BUFFER_PTS (out), ==, n_kept * (GST_SECOND / 30));
    g_assert_cmpuint (GST_BUFFER_DURATION (out), ==, GST_SECOND / 30);
    gst_buffer_unref (out);
    n_kept++;
  }
  g_assert_cmpuint (gst_harness_buffers_in_queue (hr), ==, 0);
  /* stretches start at frames 0, 4 and 6: outputs 0, 2 and 3 */
  gaps = pull_gaps (hr);
  g_assert_cmpuint (gaps->len, ==, 3);
  for (guint i = 0; i < 3; i++) {
    static const guint at[] = { 0, 2, 3 };
    GstClockTime ts, duration;

    gst_event_parse_gap (g_ptr_array_index (gaps, i), &ts, &duration);
    g_assert_cmpuint (ts, ==, at[i] * (GST_SECOND / 30));
    g_assert_cmpuint (duration, ==, 0);
  }
  g_assert_true (gst_harness_push_event (hr, gst_event_new_eos ()));
  text = pop_message_with (bus, GST_MESSAGE_INFO, "passed 4 of 9");
  g_assert_nonnull (text);
  gst_object_unref (match);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* auto on a two-head model: the queries outside the ITM shortlist have no
 * score (NaN) and do not match even with threshold 0, which every ITM
 * probability reaches. */
static void
test_matcher_auto_unscored (void)
{
  g_autofree gchar *dir = make_two_head_fixture ();
  GstHarness *hr = chain_harness (dir, NULL, "mode=auto top-k=1 "
      "threshold=0.0 queries=\"a cat on a couch;a red car;two dogs\"");

  for (guint f = 0; f < 2; f++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (f, 60 + f));
    GstBtScoresMeta *smeta = gst_buffer_get_bt_scores_meta (out);
    guint matched = 0;

    g_assert_cmpuint (smeta->n_scores, ==, 3);
    for (guint i = 0; i < 3; i++) {
      g_assert_true (smeta->scores[i].matched == !isnan (smeta->scores[i].score));
      matched += smeta->scores[i].matched;
    }
    g_assert_cmpuint (matched, ==, 1);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (hr);
  bt_test_remove_dir (dir);
}

/* Pushes one frame through btpreprocess ! btencoder ! btmatcher `props`
 * and returns the error message of the flow error, NULL when it passed. */
static gchar *
matcher_frame_error (const gchar *model_dir, const gchar *props)
{
  GstHarness *hr = chain_harness (model_dir, NULL, props);
  GstBus *bus = gst_bus_new ();
  GstFlowReturn ret;
  gchar *text;

  gst_element_set_bus (hr->element, bus);
  ret = gst_harness_push (hr, timed_frame (0, 3));
  text = pop_error (bus);
  g_assert_true ((ret == GST_FLOW_ERROR) == (text != NULL));
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
  return text;
}

/* A threshold outside the range of the mode's scores is an error: ITM
 * probabilities are 0..1, ITC cosines -1..1. Per-query thresholds and
 * changes while streaming are checked too. */
static void
test_matcher_threshold_range (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("bt-thr-XXXXXX", NULL);
  g_autofree gchar *file = g_build_filename (dir, "q.json", NULL);
  g_autofree gchar *props = g_strdup_printf ("mode=itm queries-file=\"%s\"",
      file);
  gchar *text;
  GstHarness *hr;
  GstElement *match;
  GstBus *bus = gst_bus_new ();

  text = matcher_frame_error (itm_dir, "mode=itm queries=a threshold=-0.2");
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "-0.2"));
  g_assert_nonnull (strstr (text, "0..1"));
  g_free (text);
  g_assert_null (matcher_frame_error (itc_dir,
          "mode=itc queries=a threshold=-0.2"));

  g_assert_true (g_file_set_contents (file, "[{\"text\": \"a cat\", "
          "\"threshold\": -0.5}]", -1, NULL));
  text = matcher_frame_error (itm_dir, props);
  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "a cat"));
  g_free (text);

  hr = chain_harness (itm_dir, NULL, "mode=itm queries=a threshold=0.5");
  match = matcher_of (hr);
  gst_element_set_bus (hr->element, bus);
  gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (0, 1)));
  g_object_set (match, "threshold", -0.1, NULL);
  g_assert_cmpint (gst_harness_push (hr, timed_frame (1, 1)), ==,
      GST_FLOW_ERROR);
  text = pop_error (bus);
  g_assert_nonnull (strstr (text, "-0.1"));
  g_free (text);
  gst_object_unref (match);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
  g_unlink (file);
  g_rmdir (dir);
}

/* Counts the bridgetower-scores and bridgetower-match messages on `bus`. */
static void
count_messages (GstBus *bus, guint *scores, guint *matches)
{
  GstMessage *msg;

  *scores = *matches = 0;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    *scores += gst_structure_has_name (s, "bridgetower-scores");
    *matches += gst_structure_has_name (s, "bridgetower-match");
    gst_message_unref (msg);
  }
}

/* post-messages=false silences the per-frame scores, not the matches;
 * switching it back on while streaming brings them back. */
static void
test_matcher_post_messages (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL,
      "mode=itm queries=a threshold=0.0 post-messages=false");
  GstElement *match = matcher_of (hr);
  GstBus *bus = gst_bus_new ();
  guint scores, matches;

  gst_element_set_bus (hr->element, bus);
  for (guint i = 0; i < 3; i++)
    gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (i, i)));
  count_messages (bus, &scores, &matches);
  g_assert_cmpuint (scores, ==, 0);
  g_assert_cmpuint (matches, ==, 1);
  g_object_set (match, "post-messages", TRUE, NULL);
  gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (3, 3)));
  count_messages (bus, &scores, &matches);
  g_assert_cmpuint (scores, ==, 1);
  gst_object_unref (match);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* Buffers that never carry features (no btencoder upstream): a warning
 * after 100 of them and at EOS, none before. */
static void
test_matcher_no_features (void)
{
  GstHarness *hr = gst_harness_new_parse ("btmatcher queries=a");
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *text = NULL;

  gst_element_set_bus (hr->element, bus);
  gst_harness_set_src_caps (hr, video_caps ("RGB", 40, 30, NULL));
  for (guint i = 0; i < 99; i++)
    gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (i, 0)));
  g_assert_null (pop_message_with (bus, GST_MESSAGE_WARNING, "btencoder"));
  gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (99, 0)));
  text = pop_message_with (bus, GST_MESSAGE_WARNING, "btencoder");
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  g_clear_pointer (&text, g_free);
  g_assert_true (gst_harness_push_event (hr, gst_event_new_eos ()));
  text = pop_message_with (bus, GST_MESSAGE_WARNING, "btencoder");
  g_assert_nonnull (text);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* Queries changed while streaming apply from the next frame; each text is
 * encoded once, so switching back gives the same scores. */
static void
test_matcher_queries_change (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL,
      "mode=itm queries=\"a cat;a dog\"");
  GstElement *match = matcher_of (hr);
  GstBuffer *out;
  GstBtScoresMeta *smeta;
  gdouble first;

  out = gst_harness_push_and_pull (hr, timed_frame (0, 5));
  smeta = gst_buffer_get_bt_scores_meta (out);
  g_assert_cmpuint (smeta->n_scores, ==, 2);
  first = smeta->scores[0].score;
  gst_buffer_unref (out);

  g_object_set (match, "queries", "a red car\\; fast;a cat;a dog", NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (1, 5));
  smeta = gst_buffer_get_bt_scores_meta (out);
  g_assert_cmpuint (smeta->n_scores, ==, 3);
  g_assert_cmpstr (smeta->scores[0].query, ==, "a red car; fast");
  g_assert_cmpstr (smeta->scores[1].query, ==, "a cat");
  g_assert_cmpfloat (fabs (smeta->scores[1].score - first), <=, 1e-6);
  gst_buffer_unref (out);

  /* invalid UTF-8 is rejected with a warning; the old queries stay */
  g_object_set (match, "queries", "ok;\xff\xfe", NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (2, 5));
  smeta = gst_buffer_get_bt_scores_meta (out);
  g_assert_cmpuint (smeta->n_scores, ==, 3);
  gst_buffer_unref (out);

  gst_object_unref (match);
  gst_harness_teardown (hr);
}

/* Pops the bridgetower-match messages: counts "start" and "stop", and
 * gives the last stop's fields. */
static void
pop_matches (GstBus *bus, guint *starts, guint *stops, guint64 *stop_time,
    gdouble *peak)
{
  GstMessage *msg;

  *starts = *stops = 0;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (gst_structure_has_name (s, "bridgetower-match")) {
      if (g_str_equal (gst_structure_get_string (s, "event"), "start")) {
        (*starts)++;
      } else {
        (*stops)++;
        g_assert_true (gst_structure_get_uint64 (s, "stop", stop_time));
        g_assert_true (gst_structure_get_double (s, "peak", peak));
      }
    }
    gst_message_unref (msg);
  }
}

/* The same frame again and again has a fixed score s; thresholds around s
 * drive the match state: hysteresis keeps a match the threshold alone would
 * end, min-duration delays the start report. */
static void
test_matcher_hysteresis (void)
{
  GstHarness *hr = chain_harness (itm_dir, NULL, "mode=itm queries=\"a cat\" "
      "hysteresis=0.05");
  GstElement *match = matcher_of (hr);
  GstBus *bus = gst_bus_new ();
  GstBtScoresMeta *smeta;
  GstBuffer *out;
  guint starts, stops;
  guint64 stop_time = 0;
  gdouble peak = 0, s;

  gst_element_set_bus (hr->element, bus);
  g_object_set (match, "threshold", 1.0, NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (0, 77));
  smeta = gst_buffer_get_bt_scores_meta (out);
  s = smeta->scores[0].score;
  g_assert_false (smeta->scores[0].matched);
  gst_buffer_unref (out);

  /* below s: the match starts, reported once min-duration (2 frames) has
   * passed, at frame 3 (pts 3 frames - pts 1 frame) */
  g_object_set (match, "threshold", s - 0.01, "min-duration",
      (guint64) (2 * (GST_SECOND / 30)), NULL);
  for (guint i = 1; i < 3; i++)
    gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (i, 77)));
  pop_matches (bus, &starts, &stops, &stop_time, &peak);
  g_assert_cmpuint (starts, ==, 0);
  gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (3, 77)));
  pop_matches (bus, &starts, &stops, &stop_time, &peak);
  g_assert_cmpuint (starts, ==, 1);

  /* threshold just above s: hysteresis keeps the match */
  g_object_set (match, "threshold", s + 0.02, NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (4, 77));
  g_assert_true (gst_buffer_get_bt_scores_meta (out)->scores[0].matched);
  gst_buffer_unref (out);
  pop_matches (bus, &starts, &stops, &stop_time, &peak);
  g_assert_cmpuint (stops, ==, 0);

  /* without hysteresis it ends at this frame's pts, with peak s */
  g_object_set (match, "hysteresis", 0.0, NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (5, 77));
  g_assert_false (gst_buffer_get_bt_scores_meta (out)->scores[0].matched);
  gst_buffer_unref (out);
  pop_matches (bus, &starts, &stops, &stop_time, &peak);
  g_assert_cmpuint (stops, ==, 1);
  g_assert_cmpuint (stop_time, ==, 5 * (GST_SECOND / 30));
  g_assert_cmpfloat (fabs (peak - s), <=, 1e-6);

  gst_object_unref (match);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
}

/* queries-file with per-query thresholds; messages on the bus. */
static void
test_matcher_file_and_messages (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("bt-queries-XXXXXX", NULL);
  g_autofree gchar *file = g_build_filename (dir, "q.json", NULL);
  g_autofree gchar *props = NULL;
  GstHarness *hr;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  guint n_scores = 0, n_start = 0;

  g_assert_true (g_file_set_contents (file, "[{\"text\": \"always\", "
          "\"threshold\": 0.0}, {\"text\": \"never\", \"threshold\": 1.0}, "
          "\"default\"]", -1, NULL));
  props = g_strdup_printf ("mode=itm threshold=1.0 queries-file=\"%s\"",
      file);
  hr = chain_harness (itm_dir, NULL, props);
  gst_element_set_bus (hr->element, bus);
  for (guint i = 0; i < 3; i++)
    gst_buffer_unref (gst_harness_push_and_pull (hr, timed_frame (i, i)));

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    if (gst_structure_has_name (s, "bridgetower-scores")) {
      const GValue *queries = gst_structure_get_value (s, "queries");
      const GValue *scores = gst_structure_get_value (s, "scores");
      guint64 frame, pts, rt;

      g_assert_true (gst_structure_get_uint64 (s, "frame", &frame));
      g_assert_true (gst_structure_get_uint64 (s, "pts", &pts));
      g_assert_true (gst_structure_get_uint64 (s, "running-time", &rt));
      g_assert_cmpuint (frame, ==, n_scores);
      g_assert_cmpuint (pts, ==, n_scores * (GST_SECOND / 30));
      g_assert_cmpuint (rt, ==, pts);
      g_assert_cmpuint (gst_value_array_get_size (queries), ==, 3);
      g_assert_cmpuint (gst_value_array_get_size (scores), ==, 3);
      g_assert_cmpstr (g_value_get_string (gst_value_array_get_value (queries,
                  0)), ==, "always");
      g_assert_true (G_VALUE_HOLDS_DOUBLE (gst_value_array_get_value (scores,
                  2)));
      n_scores++;
    } else if (gst_structure_has_name (s, "bridgetower-match")) {
      g_assert_cmpstr (gst_structure_get_string (s, "query"), ==, "always");
      g_assert_cmpstr (gst_structure_get_string (s, "event"), ==, "start");
      n_start++;
    }
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_scores, ==, 3);
  g_assert_cmpuint (n_start, ==, 1);
  release_bus (hr->element, bus);
  gst_harness_teardown (hr);
  g_unlink (file);
  g_rmdir (dir);
}

/* Empty and invalid query lists fail at start with the reason. */
static void
test_matcher_bad_queries (void)
{
  const gchar *bad[] = { NULL, " ; ;", "fine;\xc3\x28" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree gchar *text = start_error ("btmatcher", "queries", bad[i]);

    g_assert_nonnull (strstr (text, i == 2 ? "UTF-8" : "queries"));
  }
}

/* ---- pipelines ------------------------------------------------------ */

static GstElement *
test_pipeline (const gchar *model_dir, guint num_buffers)
{
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%u ! "
      "video/x-raw,width=64,height=48 ! btpreprocess ! btencoder model=\"%s\" "
      "! btmatcher queries=\"a cat\" ! fakesink name=sink", num_buffers,
      model_dir);
  g_autoptr (GError) error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);

  g_assert_no_error (error);
  return p;
}

/* NULL -> PLAYING -> NULL a hundred times; the test holds the model so
 * the cache serves every start. */
static void
test_state_cycles (void)
{
  g_autoptr (GError) error = NULL;
  BtModel *model = bt_model_cache_acquire (itm_dir, BT_PRECISION_FP32,
      &error);
  GstElement *p = test_pipeline (itm_dir, 2);

  g_assert_no_error (error);
  for (guint i = 0; i < 100; i++) {
    g_assert_cmpint (gst_element_set_state (p, GST_STATE_PLAYING), !=,
        GST_STATE_CHANGE_FAILURE);
    g_assert_cmpint (gst_element_get_state (p, NULL, NULL,
            10 * GST_SECOND), !=, GST_STATE_CHANGE_FAILURE);
    g_assert_cmpint (gst_element_set_state (p, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (p);
  bt_model_unref (model);
}

static GstPadProbeReturn
record_model (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBtFeaturesMeta *fmeta =
      gst_buffer_get_bt_features_meta (GST_PAD_PROBE_INFO_BUFFER (info));

  (void) pad;
  if (fmeta)
    *(BtModel **) user_data = bt_image_features_get_model (fmeta->features);
  return GST_PAD_PROBE_OK;
}

/* Two pipelines running at once on one folder share one loaded model. */
static void
test_two_pipelines_share_model (void)
{
  GstElement *p[2];
  BtModel *seen[2] = { NULL, NULL };

  for (int i = 0; i < 2; i++) {
    GstElement *sink;
    GstPad *pad;

    p[i] = test_pipeline (itm_dir, 20);
    sink = gst_bin_get_by_name (GST_BIN (p[i]), "sink");
    pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_model, &seen[i],
        NULL);
    gst_object_unref (pad);
    gst_object_unref (sink);
  }
  for (int i = 0; i < 2; i++)
    gst_element_set_state (p[i], GST_STATE_PLAYING);
  for (int i = 0; i < 2; i++) {
    GstBus *bus = gst_element_get_bus (p[i]);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
    gst_message_unref (msg);
    gst_object_unref (bus);
  }
  g_assert_nonnull (seen[0]);
  g_assert_true (seen[0] == seen[1]);
  for (int i = 0; i < 2; i++) {
    gst_element_set_state (p[i], GST_STATE_NULL);
    gst_object_unref (p[i]);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  GST_ELEMENT_REGISTER (btpreprocess, NULL);
  GST_ELEMENT_REGISTER (btencoder, NULL);
  GST_ELEMENT_REGISTER (btmatcher, NULL);
  itm_dir = golden_model ("itm_add_t3v3c2");
  itc_dir = golden_model ("itc_interpolate_t3v4rm_c2");

  g_test_add_func ("/btpreprocess/rgb-formats", test_preprocess_rgb_formats);
  g_test_add_func ("/btpreprocess/gray", test_preprocess_gray);
  g_test_add_func ("/btpreprocess/yuv-colorimetry", test_preprocess_yuv);
  g_test_add_func ("/btpreprocess/yuv-videoconvert",
      test_preprocess_yuv_matches_videoconvert);
  g_test_add_func ("/btpreprocess/asks-encoder", test_preprocess_asks_encoder);
  g_test_add_func ("/btencoder/features", test_encoder_features);
  g_test_add_func ("/btencoder/interval", test_encoder_interval);
  g_test_add_func ("/btencoder/qos", test_encoder_qos);
  g_test_add_func ("/btencoder/needs-preprocess",
      test_encoder_needs_preprocess);
  g_test_add_func ("/btencoder/bad-model", test_encoder_bad_model);
  g_test_add_func ("/btencoder/processor-files",
      test_encoder_processor_files);
  g_test_add_func ("/btmatcher/itm", test_matcher_itm);
  g_test_add_func ("/btmatcher/itc", test_matcher_itc);
  g_test_add_func ("/btmatcher/missing-head", test_matcher_missing_head);
  g_test_add_func ("/btmatcher/auto", test_matcher_auto);
  g_test_add_func ("/btmatcher/filter", test_matcher_filter);
  g_test_add_func ("/btmatcher/filter-gaps", test_matcher_filter_gaps);
  g_test_add_func ("/btmatcher/retimestamp", test_matcher_retimestamp);
  g_test_add_func ("/btmatcher/auto-unscored", test_matcher_auto_unscored);
  g_test_add_func ("/btmatcher/threshold-range",
      test_matcher_threshold_range);
  g_test_add_func ("/btmatcher/post-messages", test_matcher_post_messages);
  g_test_add_func ("/btmatcher/no-features", test_matcher_no_features);
  g_test_add_func ("/btmatcher/queries-change", test_matcher_queries_change);
  g_test_add_func ("/btmatcher/hysteresis", test_matcher_hysteresis);
  g_test_add_func ("/btmatcher/file-and-messages",
      test_matcher_file_and_messages);
  g_test_add_func ("/btmatcher/bad-queries", test_matcher_bad_queries);
  g_test_add_func ("/pipeline/state-cycles", test_state_cycles);
  g_test_add_func ("/pipeline/two-share-model",
      test_two_pipelines_share_model);

  ret = g_test_run ();
  g_free (itm_dir);
  g_free (itc_dir);
  return ret;
}
