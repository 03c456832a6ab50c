/* test-btencoder.c - GstHarness tests of btencoder against the library API
 * (features, the frame schedule it follows, QoS, start errors), and
 * pipelines of the three elements (state cycles, one model for two).
 */
#include "bt-element-test.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static GstHarness *
encoder_harness (const gchar *model_dir, const gchar *pre_props)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess name=pre %s ! "
      "btencoder name=enc model=\"%s\"", pre_props ? pre_props : "",
      model_dir);
  GstHarness *hr = gst_harness_new_parse (desc);

  gst_harness_set_src_caps (hr, video_caps ("RGB", 40, 30, NULL));
  return hr;
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
  ctx = bt_context_new (model, NULL);
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

/* btpreprocess interval=3: buffers 0, 3, 6, 9 get a tensor, and btencoder
 * encodes exactly those; a changed interval counts from the last frame
 * that got a tensor. */
static void
test_encoder_interval (void)
{
  GstHarness *hr = encoder_harness (itm_dir, "interval=3");
  GstElement *pre = gst_bin_get_by_name (GST_BIN (hr->element), "pre");

  for (guint i = 0; i < 10; i++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (i, i));
    gboolean due = i % 3 == 0;

    g_assert_cmpint (gst_buffer_get_bt_tensor_meta (out) != NULL, ==, due);
    g_assert_cmpint (gst_buffer_get_bt_features_meta (out) != NULL, ==, due);
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (encoded_frames (hr), ==, 4);

  /* the last tensor was on 9: buffer 10 is not due, 11, 13, 15 are */
  g_object_set (pre, "interval", 2, NULL);
  for (guint i = 10; i < 17; i++) {
    GstBuffer *out = gst_harness_push_and_pull (hr, timed_frame (i, i));
    gboolean due = i % 2 == 1;

    g_assert_cmpint (gst_buffer_get_bt_tensor_meta (out) != NULL, ==, due);
    g_assert_cmpint (gst_buffer_get_bt_features_meta (out) != NULL, ==, due);
    gst_buffer_unref (out);
  }
  g_assert_cmpuint (encoded_frames (hr), ==, 7);
  gst_object_unref (pre);
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
  BtModel *model = bt_model_cache_acquire (itm_dir, NULL,
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
  bt_element_test_init (&argc, &argv);
  g_test_add_func ("/btencoder/features", test_encoder_features);
  g_test_add_func ("/btencoder/interval", test_encoder_interval);
  g_test_add_func ("/btencoder/qos", test_encoder_qos);
  g_test_add_func ("/btencoder/needs-preprocess",
      test_encoder_needs_preprocess);
  g_test_add_func ("/btencoder/bad-model", test_encoder_bad_model);
  g_test_add_func ("/btencoder/processor-files",
      test_encoder_processor_files);
  g_test_add_func ("/pipeline/state-cycles", test_state_cycles);
  g_test_add_func ("/pipeline/two-share-model", test_two_pipelines_share_model);
  return g_test_run ();
}
