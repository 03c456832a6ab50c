/* test-btpreprocess.c - GstHarness tests of btpreprocess: every format
 * against the library's image processor, and where its settings come from.
 */
#include "bt-element-test.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

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
}

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
  BtModel *model = bt_model_cache_acquire (itc_dir, NULL, &error);
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

/* ---- gating ------------------------------------------------------------- */

#define GATE_W 64
#define GATE_H 48

/* `base` with every byte moved by a deterministic -3..3 (sensor-like
 * noise: no 4x3-pixel cell mean of the 16x16 grid moves by 5 levels). */
static guint8 *
noisy (const guint8 *base, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint8 *rgb = g_memdup2 (base, GATE_W * GATE_H * 3);

  for (gsize i = 0; i < GATE_W * GATE_H * 3; i++) {
    gint v = rgb[i] + g_rand_int_range (rand, -3, 4);

    rgb[i] = (guint8) CLAMP (v, 0, 255);
  }
  g_rand_free (rand);
  return rgb;
}

static GstHarness *
gating_harness (const gchar *format, const gchar *props)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess model=\"%s\" %s",
      itm_dir, props);
  GstHarness *hr = gst_harness_new_parse (desc);

  gst_harness_set_src_caps (hr, video_caps (format, GATE_W, GATE_H, NULL));
  return hr;
}

/* Pushes `rgb` and returns the block of the tensor it left with (NULL
 * without one); `out` keeps the buffer when not NULL. */
static GstBuffer *
push_gated (GstHarness *hr, const guint8 *rgb, GstBuffer **out)
{
  GstBuffer *buf = gst_harness_push_and_pull (hr,
      packed_frame (&packed_formats[0], rgb, GATE_W, GATE_H));
  GstBtTensorMeta *meta = gst_buffer_get_bt_tensor_meta (buf);
  GstBuffer *block = meta ? meta->block : NULL;

  if (out)
    *out = buf;
  else
    gst_buffer_unref (buf);
  return block;
}

static guint64
unchanged_frames (GstHarness *hr)
{
  GstElement *pre = gst_harness_find_element (hr, "btpreprocess");
  guint64 n;

  g_object_get (pre, "unchanged-frames", &n, NULL);
  gst_object_unref (pre);
  return n;
}

/* A static scene with noise keeps the first tensor; one cell of the grid
 * changing (a 4x3-pixel patch, 1/256 of the frame) brings a new tensor,
 * exactly the processor's for that frame, which the next noisy copies
 * keep in turn. */
static void
test_gating_static_then_change (void)
{
  GstHarness *hr = gating_harness ("RGB",
      "change-threshold=0.02 max-age=0");
  g_autofree guint8 *base = random_rgb (GATE_W, GATE_H, 11);
  g_autofree guint8 *changed = g_memdup2 (base, GATE_W * GATE_H * 3);
  g_autofree float *expected = NULL;
  BtImageConfig config;
  GstBuffer *first, *second, *out;
  gint ow, oh;

  first = push_gated (hr, base, NULL);
  g_assert_nonnull (first);
  for (guint i = 1; i < 6; i++) {
    g_autofree guint8 *rgb = noisy (base, i);

    g_assert_true (push_gated (hr, rgb, NULL) == first);
  }
  g_assert_cmpuint (unchanged_frames (hr), ==, 5);

  for (gint y = GATE_H - 3; y < GATE_H; y++)
    for (gint x = GATE_W - 4; x < GATE_W; x++)
      for (int c = 0; c < 3; c++)
        changed[(y * GATE_W + x) * 3 + c] ^= 0x80;
  model_image_config (itm_dir, &config);
  expected = expected_tensor (&config, changed, GATE_W, GATE_H, GATE_W * 3,
      &ow, &oh);
  second = push_gated (hr, changed, &out);
  g_assert_true (second != first);
  assert_tensor_meta (out, expected, ow, oh, GATE_W, GATE_H);
  gst_buffer_unref (out);
  for (guint i = 6; i < 9; i++) {
    g_autofree guint8 *rgb = noisy (changed, i);

    g_assert_true (push_gated (hr, rgb, NULL) == second);
  }
  g_assert_cmpuint (unchanged_frames (hr), ==, 8);
  gst_harness_teardown (hr);
}

/* max-age=3 on identical frames: a new tensor on frames 0, 3, 6, 9. */
static void
test_gating_max_age (void)
{
  GstHarness *hr = gating_harness ("RGB", "change-threshold=0.5 max-age=3");
  g_autofree guint8 *rgb = random_rgb (GATE_W, GATE_H, 12);
  GstBuffer *last = NULL;

  for (guint i = 0; i < 10; i++) {
    GstBuffer *block = push_gated (hr, rgb, NULL);

    g_assert_nonnull (block);
    g_assert_cmpint (block != last, ==, i % 3 == 0);
    last = block;
  }
  g_assert_cmpuint (unchanged_frames (hr), ==, 6);
  gst_harness_teardown (hr);
}

/* Gating applies to the frames `interval` makes due; the others still
 * pass without a tensor. */
static void
test_gating_interval (void)
{
  GstHarness *hr = gating_harness ("RGB",
      "interval=2 change-threshold=0.02 max-age=0");
  g_autofree guint8 *rgb = random_rgb (GATE_W, GATE_H, 13);
  GstBuffer *first = NULL;

  for (guint i = 0; i < 6; i++) {
    GstBuffer *block = push_gated (hr, rgb, NULL);

    if (i % 2) {
      g_assert_null (block);
      continue;
    }
    g_assert_nonnull (block);
    if (!first)
      first = block;
    g_assert_true (block == first);
  }
  g_assert_cmpuint (unchanged_frames (hr), ==, 2);
  gst_harness_teardown (hr);
}

/* Off by default, and switched on and off while playing: identical frames
 * all get a new tensor until it is on, then keep one until it is off. */
static void
test_gating_switch (void)
{
  GstHarness *hr = gating_harness ("RGB", "");
  GstElement *pre = gst_harness_find_element (hr, "btpreprocess");
  g_autofree guint8 *rgb = random_rgb (GATE_W, GATE_H, 14);
  GstBuffer *held[3], *kept, *first;
  gdouble threshold;

  g_object_get (pre, "change-threshold", &threshold, NULL);
  g_assert_cmpfloat (threshold, ==, 0.0);
  /* the outputs held, so a block could not come back from the pool */
  for (guint i = 0; i < 3; i++) {
    push_gated (hr, rgb, &held[i]);
    for (guint j = 0; j < i; j++)
      g_assert_true (gst_buffer_get_bt_tensor_meta (held[i])->block
          != gst_buffer_get_bt_tensor_meta (held[j])->block);
  }
  g_assert_cmpuint (unchanged_frames (hr), ==, 0);

  g_object_set (pre, "change-threshold", 0.02, NULL);
  first = push_gated (hr, rgb, &kept);
  g_assert_true (push_gated (hr, rgb, NULL) == first);
  g_assert_cmpuint (unchanged_frames (hr), ==, 1);

  /* `kept` holds `first`: a new tensor needs another block */
  g_object_set (pre, "change-threshold", 0.0, NULL);
  g_assert_true (push_gated (hr, rgb, NULL) != first);
  g_assert_cmpuint (unchanged_frames (hr), ==, 1);
  for (guint i = 0; i < 3; i++)
    gst_buffer_unref (held[i]);
  gst_buffer_unref (kept);
  gst_object_unref (pre);
  gst_harness_teardown (hr);
}

/* I420: the measure reads the luma plane; a uniform frame 2 levels
 * brighter repeats, one 20 levels brighter brings a new tensor. */
static void
test_gating_yuv (void)
{
  GstHarness *hr = gating_harness ("I420",
      "change-threshold=0.02 max-age=0");
  GstVideoInfo info;
  GstCaps *caps = video_caps ("I420", GATE_W, GATE_H, NULL);
  GstBuffer *out;
  GstBuffer *first, *block;

  g_assert_true (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  out = gst_harness_push_and_pull (hr, uniform_yuv (&info, 100, 90, 200));
  first = gst_buffer_get_bt_tensor_meta (out)->block;
  gst_buffer_unref (out);
  out = gst_harness_push_and_pull (hr, uniform_yuv (&info, 102, 90, 200));
  g_assert_true (gst_buffer_get_bt_tensor_meta (out)->block == first);
  gst_buffer_unref (out);
  out = gst_harness_push_and_pull (hr, uniform_yuv (&info, 120, 90, 200));
  block = gst_buffer_get_bt_tensor_meta (out)->block;
  g_assert_true (block != first);
  gst_buffer_unref (out);
  g_assert_cmpuint (unchanged_frames (hr), ==, 1);
  gst_harness_teardown (hr);
}

int
main (int argc, char **argv)
{
  bt_element_test_init (&argc, &argv);
  g_test_add_func ("/btpreprocess/rgb-formats", test_preprocess_rgb_formats);
  g_test_add_func ("/btpreprocess/gray", test_preprocess_gray);
  g_test_add_func ("/btpreprocess/yuv-colorimetry", test_preprocess_yuv);
  g_test_add_func ("/btpreprocess/yuv-videoconvert",
      test_preprocess_yuv_matches_videoconvert);
  g_test_add_func ("/btpreprocess/asks-encoder", test_preprocess_asks_encoder);
  g_test_add_func ("/btpreprocess/gating-static-then-change",
      test_gating_static_then_change);
  g_test_add_func ("/btpreprocess/gating-max-age", test_gating_max_age);
  g_test_add_func ("/btpreprocess/gating-interval", test_gating_interval);
  g_test_add_func ("/btpreprocess/gating-switch", test_gating_switch);
  g_test_add_func ("/btpreprocess/gating-yuv", test_gating_yuv);
  return g_test_run ();
}
