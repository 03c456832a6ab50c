/* test-btmatcher.c - GstHarness tests of btmatcher against the library API
 * on the tiny golden models: modes, filter, queries, matches, messages.
 */
#include "bt-element-test.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static GstHarness *
chain_harness (const gchar *model_dir, const gchar *pre_props,
    const gchar *matcher_props)
{
  g_autofree gchar *desc = g_strdup_printf ("btpreprocess %s ! btencoder "
      "name=enc model=\"%s\" ! btmatcher name=match %s",
      pre_props ? pre_props : "", model_dir,
      matcher_props ? matcher_props : "");
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
  BtContext *ctx = bt_context_new (model, NULL);
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

/* Gating (btpreprocess change-threshold): unchanged frames carry the
 * features of the last encoded frame and exactly its scores, without a
 * vision-tower call; a changed frame is encoded and scored afresh; queries
 * changed during a static stretch are scored on the kept features. */
static void
test_matcher_gating (void)
{
  static const gchar *const three[] = { "a cat", "a dog", "a red car" };
  GstHarness *hr = chain_harness (itm_dir, "change-threshold=0.02 max-age=0",
      "mode=itm queries=\"a cat;a dog\"");
  GstElement *match = matcher_of (hr);
  GstElement *enc = gst_bin_get_by_name (GST_BIN (hr->element), "enc");
  BtImageFeatures *kept = NULL;
  gdouble first[2], itm[3], itc[3];
  GstBtScoresMeta *smeta;
  GstBtFeaturesMeta *fmeta;
  GstBuffer *out;
  guint64 encoded;

  for (guint f = 0; f < 4; f++) {
    out = gst_harness_push_and_pull (hr, timed_frame (f, 21));
    smeta = gst_buffer_get_bt_scores_meta (out);
    fmeta = gst_buffer_get_bt_features_meta (out);
    g_assert_nonnull (smeta);
    g_assert_nonnull (fmeta);
    g_assert_cmpuint (smeta->frame, ==, f);
    g_assert_cmpuint (smeta->n_scores, ==, 2);
    if (f == 0) {
      kept = fmeta->features;
      for (guint i = 0; i < 2; i++)
        first[i] = smeta->scores[i].score;
    }
    g_assert_true (fmeta->features == kept);
    for (guint i = 0; i < 2; i++)
      g_assert_cmpfloat (smeta->scores[i].score, ==, first[i]);
    gst_buffer_unref (out);
  }
  g_object_get (enc, "encoded-frames", &encoded, NULL);
  g_assert_cmpuint (encoded, ==, 1);

  out = gst_harness_push_and_pull (hr, timed_frame (4, 22));
  smeta = gst_buffer_get_bt_scores_meta (out);
  fmeta = gst_buffer_get_bt_features_meta (out);
  g_assert_true (fmeta->features != kept);
  library_scores (bt_image_features_get_model (fmeta->features), out, three,
      2, itm, itc);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpfloat (fabs (smeta->scores[i].score - itm[i]), <=, 1e-5);
  kept = fmeta->features;
  gst_buffer_unref (out);

  g_object_set (match, "queries", "a cat;a dog;a red car", NULL);
  out = gst_harness_push_and_pull (hr, timed_frame (5, 22));
  smeta = gst_buffer_get_bt_scores_meta (out);
  fmeta = gst_buffer_get_bt_features_meta (out);
  g_assert_true (fmeta->features == kept);
  g_assert_cmpuint (smeta->n_scores, ==, 3);
  library_scores (bt_image_features_get_model (fmeta->features), out, three,
      3, itm, itc);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (fabs (smeta->scores[i].score - itm[i]), <=, 1e-5);
  gst_buffer_unref (out);
  g_object_get (enc, "encoded-frames", &encoded, NULL);
  g_assert_cmpuint (encoded, ==, 2);

  gst_object_unref (enc);
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

int
main (int argc, char **argv)
{
  bt_element_test_init (&argc, &argv);
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
  g_test_add_func ("/btmatcher/gating", test_matcher_gating);
  g_test_add_func ("/btmatcher/hysteresis", test_matcher_hysteresis);
  g_test_add_func ("/btmatcher/file-and-messages",
      test_matcher_file_and_messages);
  g_test_add_func ("/btmatcher/bad-queries", test_matcher_bad_queries);
  return g_test_run ();
}
