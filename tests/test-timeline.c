/* test-timeline.c - BtTimeline: segments from the match decisions, their
 * subtitles and chapters; image features through a flat block and back
 * (what `search --keep-features` stores). */
#include "bridgetower.h"
#include "bt-test-util.h"

#include <math.h>
#include <string.h>

#define MS 1000000

/* Two queries over 8 frames 100 ms apart; the matched flags spell
 * a: frames 1-3 and 6-7 (to the end), b: frames 2-4. */
static BtTimeline *
make_timeline (void)
{
  const char *queries[] = { "a <red> car", "b=1;#\\" };
  const gboolean a[] = { 0, 1, 1, 1, 0, 0, 1, 1 };
  const gboolean b[] = { 0, 0, 1, 1, 1, 0, 0, 0 };
  BtTimeline *t = bt_timeline_new (queries, 2);

  for (int f = 0; f < 8; f++) {
    double scores[2] = { a[f] ? 0.5 + f / 100.0 : 0.1, b[f] ? 0.9 - f / 100.0
        : 0.2 };
    gboolean matched[2] = { a[f], b[f] };

    bt_timeline_add_frame (t, f * 100 * MS, scores, matched);
  }
  bt_timeline_set_threshold (t, 0, 0.5);
  return t;
}

static void
test_segments (void)
{
  BtTimeline *t = make_timeline ();
  g_autoptr (GArray) segs = bt_timeline_segments (t, 0);
  const BtSegment *s;

  g_assert_cmpint (bt_timeline_get_duration (t), ==, 700 * MS);
  bt_timeline_set_duration (t, 800 * MS);
  g_clear_pointer (&segs, g_array_unref);
  segs = bt_timeline_segments (t, 0);
  g_assert_cmpuint (segs->len, ==, 3);
  /* by start: a [100, 400), b [200, 500), a [600, 800) */
  s = &g_array_index (segs, BtSegment, 0);
  g_assert_cmpint (s->query, ==, 0);
  g_assert_cmpint (s->start, ==, 100 * MS);
  g_assert_cmpint (s->stop, ==, 400 * MS);
  g_assert_cmpfloat_with_epsilon (s->peak, 0.53, 1e-12);
  g_assert_cmpint (s->peak_time, ==, 300 * MS);
  s = &g_array_index (segs, BtSegment, 1);
  g_assert_cmpint (s->query, ==, 1);
  g_assert_cmpint (s->start, ==, 200 * MS);
  g_assert_cmpint (s->stop, ==, 500 * MS);
  g_assert_cmpint (s->peak_time, ==, 200 * MS);
  s = &g_array_index (segs, BtSegment, 2);
  g_assert_cmpint (s->start, ==, 600 * MS);
  g_assert_cmpint (s->stop, ==, 800 * MS);
  g_assert_cmpfloat (bt_timeline_get_threshold (t, 0), ==, 0.5);
  g_assert_true (isnan (bt_timeline_get_threshold (t, 1)));

  /* min-duration keeps the 300 ms segments only */
  g_clear_pointer (&segs, g_array_unref);
  segs = bt_timeline_segments (t, 300 * MS);
  g_assert_cmpuint (segs->len, ==, 2);
  bt_timeline_free (t);
}

static void
test_subtitles (void)
{
  BtTimeline *t = make_timeline ();
  g_autoptr (GArray) segs = bt_timeline_segments (t, 0);
  g_autofree char *srt = bt_timeline_to_srt (t, segs);
  g_autofree char *vtt = bt_timeline_to_vtt (t, segs);

  /* one cue per stretch with the same matching set */
  g_assert_cmpstr (srt, ==,
                   "1\n00:00:00,100 --> 00:00:00,200\na <red> car\n\n"
                   "2\n00:00:00,200 --> 00:00:00,400\na <red> car\nb=1;#\\\n\n"
                   "3\n00:00:00,400 --> 00:00:00,500\nb=1;#\\\n\n"
                   "4\n00:00:00,600 --> 00:00:00,700\na <red> car\n\n");
  g_assert_true (g_str_has_prefix (vtt, "WEBVTT\n\n00:00:00.100 --> "
                                   "00:00:00.200\na <red> car\n\n"));
  bt_timeline_free (t);
}

static void
test_chapters (void)
{
  BtTimeline *t = make_timeline ();
  g_autoptr (GArray) segs = bt_timeline_segments (t, 0);
  g_autofree char *xml = bt_timeline_to_matroska_chapters (t, segs);
  g_autofree char *ff = bt_timeline_to_ffmetadata (t, segs);

  g_assert_nonnull (strstr (xml, "<ChapterTimeStart>00:00:00.100"
                            "</ChapterTimeStart>"));
  g_assert_nonnull (strstr (xml, "<ChapterString>a &lt;red&gt; car"
                            "</ChapterString>"));
  g_assert_true (g_str_has_prefix (ff, ";FFMETADATA1\n"));
  g_assert_nonnull (strstr (ff, "START=100000000\nEND=400000000\n"
                            "title=a <red> car\n"));
  g_assert_nonnull (strstr (ff, "title=b\\=1\\;\\#\\\\\n"));
  bt_timeline_free (t);
}

static void
test_empty (void)
{
  BtTimeline *t = bt_timeline_new (NULL, 0);
  g_autoptr (GArray) segs = bt_timeline_segments (t, 0);
  g_autofree char *srt = bt_timeline_to_srt (t, segs);
  g_autofree char *vtt = bt_timeline_to_vtt (t, segs);

  g_assert_cmpuint (segs->len, ==, 0);
  g_assert_cmpstr (srt, ==, "");
  g_assert_cmpstr (vtt, ==, "WEBVTT\n\n");
  g_assert_cmpint (bt_timeline_get_duration (t), ==, 0);
  bt_timeline_free (t);
}

static void
test_format_time (void)
{
  g_autofree char *a = bt_timeline_format_time (3723004 * G_GINT64_CONSTANT
                                                (1000000), ',');
  g_autofree char *b = bt_timeline_format_time (-5, '.');

  g_assert_cmpstr (a, ==, "01:02:03,004");
  g_assert_cmpstr (b, ==, "00:00:00.000");
}

/* Features through bt_image_features_get_data and back score exactly as
 * the originals; ITC-only features serve ITC and are refused by ITM. */
static void
test_features_block (void)
{
  g_autofree char *dir = bt_test_model_dir ("itm_add_t3v3c2");
  g_autoptr (GError) error = NULL;
  BtModel *model = bt_model_load (dir, BT_PRECISION_FP32, &error);
  BtContext *ctx;
  g_autofree float *pixels = NULL;
  g_autoptr (BtImageFeatures) image = NULL;
  g_autoptr (BtImageFeatures) copy = NULL;
  g_autoptr (BtTextFeatures) text = NULL;
  const float *data;
  float before[2], after[2];
  int n_tokens, size;
  gsize n_floats;

  g_assert_no_error (error);
  ctx = bt_context_new (model, NULL);
  size = bt_model_get_config (model)->vision.image_size;
  pixels = g_new (float, 3 * size * size);
  for (int i = 0; i < 3 * size * size; i++)
    pixels[i] = sinf (i * 0.37f);
  image = bt_context_encode_image (ctx, pixels, size, size, FALSE, &error);
  g_assert_no_error (error);
  text = bt_context_encode_query (ctx, "a red car", &error);
  g_assert_no_error (error);
  g_assert_true (bt_context_match (ctx, image, &text, 1, before, &error));

  data = bt_image_features_get_data (image, &n_tokens, &n_floats);
  copy = bt_image_features_new_from_data (model, n_tokens, data, n_floats,
                                          &error);
  g_assert_no_error (error);
  g_assert_true (bt_context_match (ctx, copy, &text, 1, after, &error));
  g_assert_cmpmem (before, sizeof before, after, sizeof after);

  g_assert_null (bt_image_features_new_from_data (model, n_tokens, data,
                                                  n_floats - 1, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_SHAPE);
  g_clear_error (&error);
  /* this model has no ITC head */
  g_assert_null (bt_image_features_new_itc_only (model, data, 4, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_SHAPE);
  g_clear_error (&error);

  g_clear_pointer (&image, bt_image_features_unref);
  g_clear_pointer (&copy, bt_image_features_unref);
  g_clear_pointer (&text, bt_text_features_unref);
  bt_context_free (ctx);
  bt_model_unref (model);
}

static void
test_itc_only (void)
{
  g_autofree char *dir = bt_test_model_dir ("itc_interpolate_t3v4rm_c2");
  g_autoptr (GError) error = NULL;
  BtModel *model = bt_model_load (dir, BT_PRECISION_FP32, &error);
  int dim;
  g_autofree float *itc = NULL;
  g_autoptr (BtImageFeatures) f = NULL;
  g_autoptr (BtTextFeatures) text = NULL;
  BtContext *ctx;
  g_autofree float *cross = NULL;

  g_assert_no_error (error);
  dim = bt_model_get_config (model)->contrastive_hidden_size;
  itc = g_new (float, dim);
  for (int i = 0; i < dim; i++)
    itc[i] = (float) i;
  f = bt_image_features_new_itc_only (model, itc, dim, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (bt_image_features_get_itc (f), dim * sizeof (float), itc,
                   dim * sizeof (float));
  ctx = bt_context_new (model, NULL);
  text = bt_context_encode_query (ctx, "a red car", &error);
  g_assert_no_error (error);
  cross = g_new (float, dim);
  g_assert_false (bt_context_cross_embed (ctx, f, &text, 1, cross, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_pointer (&f, bt_image_features_unref);
  g_clear_pointer (&text, bt_text_features_unref);
  bt_context_free (ctx);
  bt_model_unref (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/timeline/segments", test_segments);
  g_test_add_func ("/timeline/subtitles", test_subtitles);
  g_test_add_func ("/timeline/chapters", test_chapters);
  g_test_add_func ("/timeline/empty", test_empty);
  g_test_add_func ("/timeline/format-time", test_format_time);
  g_test_add_func ("/features/block", test_features_block);
  g_test_add_func ("/features/itc-only", test_itc_only);
  return g_test_run ();
}
