/* test-model.c - the model against HF's outputs on every golden case, the
 * video API against the forward pass, work-buffer reuse, the real base and
 * large shapes on random weights, and the errors at load and forward. */
#include "bt-model-private.h"
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <json-glib/json-glib.h>
#include <float.h>
#include <math.h>
#include <string.h>

static char *
golden_path (const char *rel)
{
  return bt_test_data_path ("golden", rel, NULL);
}

/* The README's tolerances: 1e-5 absolute for L2-normalised embeddings
 * (ITC's logits stack them), 1e-4 * max(1, max|expected|) otherwise. */
static double
tolerance_for (const char *key, BtHeads head, double max_abs)
{
  if (g_str_has_suffix (key, "_embeds")
      || (head == BT_HEAD_ITC && g_str_equal (key, "logits")))
    return 1e-5;
  return 1e-4 * MAX (1.0, max_abs);
}

/* Compares `n` floats; returns the max abs error, prints it with the
 * relative error. */
static double
compare (const char *what, const float *got, const float *want, gsize n,
         double tol)
{
  double max_err = 0.0, max_abs = 0.0;
  for (gsize i = 0; i < n; i++) {
    g_assert_true (isfinite (got[i]));
    max_err = MAX (max_err, fabs ((double) got[i] - want[i]));
    max_abs = MAX (max_abs, fabs ((double) want[i]));
  }
  g_test_message ("%-40s max abs err %.3e  rel %.3e  (tol %.1e)", what,
                  max_err, max_err / MAX (max_abs, 1e-30), tol);
  if (max_err > tol)
    g_test_fail_printf ("%s: max abs error %.3e exceeds %.1e", what, max_err,
                        tol);
  return max_err;
}

typedef struct {
  const char *model;           /* the folder that runs */
  JsonObject *c;               /* the manifest case */
} GoldenCase;

static BtModel *
load_model (const char *name)
{
  g_autofree char *rel = g_build_filename ("models", name, NULL);
  g_autofree char *dir = golden_path (rel);
  GError *error = NULL;
  BtModel *m = bt_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static const BtTensor *
expected_tensor (BtSafetensors *st, JsonObject *keys, const char *name)
{
  const char *key = json_object_get_string_member (keys, name);
  const BtTensor *t = bt_safetensors_lookup (st, key);
  g_assert_nonnull (t);
  return t;
}

/* Inputs of a golden case, views into the expected file. */
typedef struct {
  BtForwardInput in;
  BtHeads head;
  BtSafetensors *st;
} CaseInputs;

static void
case_inputs (JsonObject *c, CaseInputs *ci)
{
  g_autofree char *tpath = golden_path (
      json_object_get_string_member (c, "tensors_file"));
  GError *error = NULL;
  ci->st = bt_safetensors_open (tpath, &error);
  g_assert_no_error (error);

  JsonObject *in_keys = json_object_get_object_member (c, "input_keys");
  const BtTensor *ids = expected_tensor (ci->st, in_keys, "input_ids");
  const BtTensor *mask = expected_tensor (ci->st, in_keys, "attention_mask");
  const BtTensor *pix = expected_tensor (ci->st, in_keys, "pixel_values");
  JsonObject *kw = json_object_get_object_member (c, "forward_kwargs");

  memset (&ci->in, 0, sizeof ci->in);
  ci->in.batch = (int) ids->shape[0];
  ci->in.seq_len = (int) ids->shape[1];
  ci->in.input_ids = ids->data;
  ci->in.attention_mask = mask->data;
  ci->in.height = (int) pix->shape[2];
  ci->in.width = (int) pix->shape[3];
  ci->in.pixel_values = pix->data;
  ci->in.interpolate_pos_encoding = json_object_has_member (kw,
      "interpolate_pos_encoding")
      && json_object_get_boolean_member (kw, "interpolate_pos_encoding");
  ci->in.output_hidden_states = json_object_has_member (kw,
      "output_hidden_states")
      && json_object_get_boolean_member (kw, "output_hidden_states");
  ci->head = bt_test_heads_of_class (json_object_get_string_member (c, "class"));
}

static void
test_golden_case (gconstpointer data)
{
  const GoldenCase *gc = data;
  JsonObject *c = gc->c;
  CaseInputs ci;
  case_inputs (c, &ci);

  BtModel *m = load_model (gc->model);
  BtContext *ctx = bt_context_new (m, NULL);
  g_autoptr (BtTensorSet) out = bt_tensor_set_new ();
  GError *error = NULL;
  g_assert_true (bt_context_forward (ctx, ci.head, &ci.in, out, &error));
  g_assert_no_error (error);

  JsonObject *out_keys = json_object_get_object_member (c, "output_keys");
  JsonObject *stats = json_object_get_object_member (c, "stats");
  g_autoptr (GList) names = json_object_get_members (out_keys);
  for (GList *l = names; l; l = l->next) {
    const char *name = l->data;
    const BtTensor *want = expected_tensor (ci.st, out_keys, name);
    const BtTensor *got = bt_tensor_set_lookup (out, name);
    if (!got) {
      g_test_fail_printf ("output %s missing", name);
      continue;
    }
    if (!bt_tensor_has_shape (got, BT_DTYPE_F32, want->ndim, want->shape)) {
      g_autofree char *gs = bt_tensor_shape_string (got);
      g_autofree char *ws = bt_tensor_shape_string (want);
      g_test_fail_printf ("output %s: shape %s, expected %s", name, gs, ws);
      continue;
    }
    double max_abs = json_object_get_double_member (
        json_object_get_object_member (stats, name), "max_abs");
    compare (name, got->data, want->data, bt_tensor_numel (want),
             tolerance_for (name, ci.head, max_abs));
  }

  bt_context_free (ctx);
  bt_model_unref (m);
  bt_safetensors_free (ci.st);
}

/* The video API on a golden case gives the forward pass's numbers: images
 * and texts encoded on their own, then matched / embedded / filled. */
static void
test_video_api_case (gconstpointer data)
{
  const GoldenCase *gc = data;
  JsonObject *c = gc->c;
  CaseInputs ci;
  case_inputs (c, &ci);
  JsonObject *out_keys = json_object_get_object_member (c, "output_keys");
  BtModel *m = load_model (gc->model);
  BtContext *ctx = bt_context_new (m, NULL);
  const BtConfig *cfg = bt_model_get_config (m);
  const int b_n = ci.in.batch, len = ci.in.seq_len;
  const gsize img_floats = 3 * (gsize) ci.in.height * ci.in.width;
  BtImageFeatures *images[8];
  BtTextFeatures *texts[8];
  GError *error = NULL;

  g_assert_cmpint (b_n, <=, 8);
  for (int b = 0; b < b_n; b++) {
    images[b] = bt_context_encode_image (ctx, ci.in.pixel_values
                                         + b * img_floats, ci.in.height,
                                         ci.in.width,
                                         ci.in.interpolate_pos_encoding,
                                         &error);
    g_assert_no_error (error);
    texts[b] = bt_context_encode_text (ctx, ci.in.input_ids + b * len,
                                       ci.in.attention_mask + b * len, len,
                                       &error);
    g_assert_no_error (error);
  }

  if (ci.head == BT_HEAD_ITM) {
    const BtTensor *want = expected_tensor (ci.st, out_keys, "logits");
    const float *w = want->data;
    for (int b = 0; b < b_n; b++) {
      /* one image against every text of the batch at once: the row of its
       * own text is the golden pair */
      float logits[16];
      g_assert_true (bt_context_match (ctx, images[b], texts, b_n, logits,
                                       &error));
      g_assert_no_error (error);
      g_autofree char *what = g_strdup_printf ("match[%d] stacked", b);
      compare (what, logits + 2 * b, w + 2 * b, 2, 1e-4);
      g_assert_true (bt_context_match (ctx, images[b], &texts[b], 1, logits,
                                       &error));
      g_autofree char *what1 = g_strdup_printf ("match[%d] alone", b);
      compare (what1, logits, w + 2 * b, 2, 1e-4);
    }
    /* the texts encoded together, rows stacked through the text tower */
    const gint64 *ids[8], *masks[8];
    int lens[8];
    BtTextFeatures *together[8];
    for (int b = 0; b < b_n; b++) {
      ids[b] = ci.in.input_ids + b * len;
      masks[b] = ci.in.attention_mask + b * len;
      lens[b] = len;
    }
    g_assert_true (bt_context_encode_texts (ctx, ids, masks, lens, b_n,
                                            together, &error));
    g_assert_no_error (error);
    for (int b = 0; b < b_n; b++) {
      float logits[2];
      g_assert_true (bt_context_match (ctx, images[b], &together[b], 1,
                                       logits, &error));
      g_autofree char *what = g_strdup_printf ("encode_texts + match[%d]", b);
      compare (what, logits, w + 2 * b, 2, 1e-4);
      bt_text_features_unref (together[b]);
    }
  } else if (ci.head == BT_HEAD_MLM) {
    const BtTensor *want = expected_tensor (ci.st, out_keys, "logits");
    const int v = cfg->text.vocab_size;
    const double max_abs = json_object_get_double_member (
        json_object_get_object_member (
            json_object_get_object_member (c, "stats"), "logits"), "max_abs");
    float *logits = g_new (float, (gsize) len * v);
    for (int b = 0; b < b_n; b++) {
      g_assert_true (bt_context_mlm (ctx, images[b], texts[b], logits,
                                     &error));
      g_assert_no_error (error);
      g_autofree char *what = g_strdup_printf ("mlm[%d]", b);
      compare (what, logits, (const float *) want->data + (gsize) b * len * v,
               (gsize) len * v, tolerance_for ("logits", ci.head, max_abs));
    }
    g_free (logits);
  } else if (ci.head == BT_HEAD_ITC) {
    const int d = cfg->contrastive_hidden_size;
    const float *te = expected_tensor (ci.st, out_keys, "text_embeds")->data;
    const float *ie = expected_tensor (ci.st, out_keys, "image_embeds")->data;
    const float *ce = expected_tensor (ci.st, out_keys, "cross_embeds")->data;
    float *cross = g_new (float, (gsize) b_n * d);
    for (int b = 0; b < b_n; b++) {
      compare ("image itc", bt_image_features_get_itc (images[b]),
               ie + b * d, d, 1e-5);
      compare ("text itc", bt_text_features_get_itc (texts[b]), te + b * d, d,
               1e-5);
      g_assert_true (bt_context_cross_embed (ctx, images[b], texts, b_n,
                                             cross, &error));
      g_assert_no_error (error);
      compare ("cross embed stacked", cross + b * d, ce + b * d, d, 1e-5);
    }
    g_assert_cmpfloat_with_epsilon (bt_model_get_logit_scale (m),
        *(const float *) expected_tensor (ci.st, out_keys,
                                          "derived.logit_scale_exp")->data,
        1e-5);
    g_free (cross);
  }

  for (int b = 0; b < b_n; b++) {
    bt_image_features_unref (images[b]);
    bt_text_features_unref (texts[b]);
  }
  bt_context_free (ctx);
  bt_model_unref (m);
  bt_safetensors_free (ci.st);
}

/* After warm-up, encoding a frame and a text and matching them allocates
 * no work buffer and no features buffer: what is counted is every
 * allocation the model code makes for tensor work (context work buffers,
 * segment/pointer arrays, features from the pool). OpenBLAS's own buffers
 * and GLib internals are not counted. */
static void
test_no_allocations (void)
{
  BtModel *m = load_model ("itm_add_t3v3c2");
  BtContext *ctx = bt_context_new (m, NULL);
  const BtConfig *cfg = bt_model_get_config (m);
  const int size = cfg->vision.image_size;
  float *pixels = g_new0 (float, 3 * size * size);
  const gint64 ids[6] = { 0, 40, 41, 42, 43, 2 };
  GError *error = NULL;
  float logits[2];

  for (int i = 0; i < 3 * size * size; i++)
    pixels[i] = (float) ((i * 7919) % 255) / 128.0f - 1.0f;

  for (int iter = 0; iter < 102; iter++) {
    if (iter == 2)
      g_test_message ("allocations after warm-up: %u",
                      bt_context_get_n_allocs (ctx));
    guint before = bt_context_get_n_allocs (ctx);
    BtImageFeatures *img = bt_context_encode_image (ctx, pixels, size, size,
                                                    FALSE, &error);
    BtTextFeatures *txt = bt_context_encode_text (ctx, ids, NULL, 6, &error);
    g_assert_no_error (error);
    g_assert_true (bt_context_match (ctx, img, &txt, 1, logits, &error));
    bt_image_features_unref (img);
    bt_text_features_unref (txt);
    if (iter >= 2)
      g_assert_cmpuint (bt_context_get_n_allocs (ctx), ==, before);
  }
  g_free (pixels);
  bt_context_free (ctx);
  bt_model_unref (m);
}

/* encode_query tokenizes like the processor: the golden single case's text
 * gives its input_ids' length and, matched with its image, its logits. */
static void
test_encode_query (void)
{
  JsonArray *cases = json_object_get_array_member (bt_test_manifest (),
                                                   "cases");
  JsonObject *c = json_array_get_object_element (cases, 0);
  g_assert_cmpstr (json_object_get_string_member (c, "model"), ==,
                   "itm_add_t3v3c2");
  CaseInputs ci;
  case_inputs (c, &ci);
  const char *text = json_array_get_string_element (
      json_object_get_array_member (c, "texts"), 0);
  JsonObject *out_keys = json_object_get_object_member (c, "output_keys");
  BtModel *m = load_model ("itm_add_t3v3c2");
  BtContext *ctx = bt_context_new (m, NULL);
  GError *error = NULL;

  BtTextFeatures *t = bt_context_encode_query (ctx, text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_text_features_get_n_tokens (t), ==, ci.in.seq_len);
  BtImageFeatures *img = bt_context_encode_image (ctx, ci.in.pixel_values,
                                                  ci.in.height, ci.in.width,
                                                  FALSE, &error);
  float logits[2];
  g_assert_true (bt_context_match (ctx, img, &t, 1, logits, &error));
  compare ("encode_query + match", logits,
           expected_tensor (ci.st, out_keys, "logits")->data, 2, 1e-4);

  /* a text longer than the tokenizer's model_max_length is truncated */
  GString *longer = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (longer, "a cat ");
  BtTextFeatures *lt = bt_context_encode_query (ctx, longer->str, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_text_features_get_n_tokens (lt), ==,
                   bt_tokenizer_model_max_length (bt_model_get_tokenizer (m)));
  g_string_free (longer, TRUE);

  bt_text_features_unref (lt);
  bt_text_features_unref (t);
  bt_image_features_unref (img);
  bt_context_free (ctx);
  bt_model_unref (m);
  bt_safetensors_free (ci.st);
}

/* Two threads, each with its own context on one shared model and its own
 * thread count, give the numbers one thread gives (the compute lock
 * serialises the BLAS work), and neither context's count changes. */
typedef struct {
  BtModel *model;
  const float *pixels;
  int size;
  int n_threads;
  float logits[2];
} ThreadRun;

static gpointer
thread_run (gpointer data)
{
  ThreadRun *r = data;
  BtContextParams params = bt_context_default_params ();
  params.n_threads = r->n_threads;
  BtContext *ctx = bt_context_new (r->model, &params);
  const gint64 ids[5] = { 0, 50, 60, 70, 2 };
  for (int i = 0; i < 20; i++) {
    BtImageFeatures *img = bt_context_encode_image (ctx, r->pixels, r->size,
                                                    r->size, FALSE, NULL);
    BtTextFeatures *txt = bt_context_encode_text (ctx, ids, NULL, 5, NULL);
    bt_context_match (ctx, img, &txt, 1, r->logits, NULL);
    bt_image_features_unref (img);
    bt_text_features_unref (txt);
  }
  if (r->n_threads > 0)
    g_assert_cmpint (bt_context_get_n_threads (ctx), ==, r->n_threads);
  bt_context_free (ctx);
  return NULL;
}

static void
test_threads (void)
{
  BtModel *m = load_model ("itm_add_t3v3c2");
  const int size = bt_model_get_config (m)->vision.image_size;
  float *pixels = g_new (float, 3 * size * size);
  for (int i = 0; i < 3 * size * size; i++)
    pixels[i] = cosf ((float) i);

  ThreadRun ref = { m, pixels, size, 0, { 0 } };
  thread_run (&ref);
  ThreadRun runs[2] = { ref, ref };
  runs[0].n_threads = 1;
  runs[1].n_threads = 2;
  GThread *threads[2];
  for (int i = 0; i < 2; i++)
    threads[i] = g_thread_new ("run", thread_run, &runs[i]);
  for (int i = 0; i < 2; i++) {
    g_thread_join (threads[i]);
    compare ("thread vs alone", runs[i].logits, ref.logits, 2, 1e-6);
  }
  g_free (pixels);
  bt_model_unref (m);
}

/* One model per folder and precision, whatever the path's spelling. */
static void
test_model_cache (void)
{
  g_autofree char *dir = golden_path ("models/itm_add_t3v3c2");
  g_autofree char *other = g_build_filename (dir, ".", NULL);
  GError *error = NULL;
  BtModel *a = bt_model_cache_acquire (dir, NULL, &error);
  g_assert_no_error (error);
  BtModel *b = bt_model_cache_acquire (other, NULL, &error);
  g_assert_true (a == b);
  bt_model_unref (b);
  BtContext *ctx = bt_context_new (a, NULL);
  bt_model_unref (a);
  /* the context keeps it alive */
  g_assert_cmpint (bt_model_get_config (bt_context_get_model (ctx))
                   ->hidden_size, ==, 48);
  bt_context_free (ctx);

  g_autofree char *missing = golden_path ("models/no_such_model");
  g_assert_null (bt_model_cache_acquire (missing, NULL, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_clear_error (&error);
}

/* The vectorised exp in softmax and QuickGELU against double precision:
 * within a few float32 ulp; masked scores give exactly 0. */
static void
test_ops_exp (void)
{
  enum { W = 203 };             /* not a multiple of 4: tails too */
  float row[W], act[W];
  double max_rel = 0.0;

  for (int trial = 0; trial < 50; trial++) {
    for (int i = 0; i < W; i++)
      row[i] = (float) (sin (i * 0.37 + trial) * (1 + trial));
    row[7] = -FLT_MAX;          /* HF's masked score */
    double ref[W], sum = 0.0;
    float max = -INFINITY;
    for (int i = 0; i < W; i++)
      max = MAX (max, row[i]);
    /* x - max rounded to float as the kernel (and torch) does, then exact */
    for (int i = 0; i < W; i++)
      sum += (ref[i] = exp ((double) (row[i] - max)));
    memcpy (act, row, sizeof act);
    bt_softmax_rows (row, 1, W);
    g_assert_cmpfloat (row[7], ==, 0.0f);
    for (int i = 0; i < W; i++)
      if (ref[i] / sum > 1e-30)
        max_rel = MAX (max_rel, fabs (row[i] - ref[i] / sum) / (ref[i] / sum));

    act[7] = -100.0f;
    float q[W];
    memcpy (q, act, sizeof q);
    bt_activation (q, W, BT_ACT_QUICK_GELU);
    for (int i = 0; i < W; i++) {
      double x = act[i], want = x / (1.0 + exp (-1.702 * x));
      g_assert_cmpfloat (fabs (q[i] - want), <=, 1e-6 * MAX (fabs (want), 1e-3));
    }
  }
  g_test_message ("softmax max relative error %.2e", max_rel);
  g_assert_cmpfloat (max_rel, <, 1e-6);
}

/* The linear op runs the form its weight carries, and a form it has no
 * kernel for is an error the caller gets, not an abort. */
static void
test_linear_dtype (void)
{
  const float w[6] = { 1, 2, 3, 4, 5, 6 }, b[2] = { 0.5f, -1 };
  const float x[3] = { 1, 0, -1 };
  float y[2];
  BtLinear l = { .out = 2, .in = 3, .dtype = BT_DTYPE_F32, .w = w, .b = b };
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_linear (&l, x, 1, 0, y, 0, BT_ACT_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (y[0], ==, 1 - 3 + 0.5f);
  g_assert_cmpfloat (y[1], ==, 4 - 6 - 1);
  l.dtype = BT_DTYPE_F16;
  g_assert_false (bt_linear (&l, x, 1, 0, y, 0, BT_ACT_NONE, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_DTYPE);
  g_clear_error (&error);
  /* a packed form named but never made */
  l.dtype = BT_DTYPE_I8;
  g_assert_false (bt_linear (&l, x, 1, 0, y, 0, BT_ACT_NONE, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_DTYPE);
}

static void
test_rejected_configs (void)
{
  const char *dirs[] = { "reject_unshared_crossmodal_transform",
                         "reject_shared_link_tower_2cross" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++) {
    g_autofree char *rel = g_build_filename ("models", dirs[i], NULL);
    g_autofree char *dir = golden_path (rel);
    GError *error = NULL;
    BtModel *m = bt_model_load (dir, NULL, &error);
    g_assert_null (m);
    g_assert_nonnull (error);
    g_test_message ("%s: %s", dirs[i], error->message);
    g_assert_true (error->code == BT_ERROR_CONFIG
                   || error->code == BT_ERROR_UNSUPPORTED);
    g_error_free (error);
  }
}

/* reject_image_size_mismatch: 48x48 into a 32x32 model raises unless
 * interpolate_pos_encoding. */
static void
test_image_size_mismatch (void)
{
  BtModel *m = load_model ("itm_add_t3v3c2");
  BtContext *ctx = bt_context_new (m, NULL);
  float *pixels = g_new0 (float, 3 * 48 * 48);
  GError *error = NULL;

  BtImageFeatures *f = bt_context_encode_image (ctx, pixels, 48, 48, FALSE,
                                                &error);
  g_assert_null (f);
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  f = bt_context_encode_image (ctx, pixels, 48, 48, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (f->n_tokens, ==, 1 + 6 * 6);
  bt_image_features_unref (f);
  g_free (pixels);
  bt_context_free (ctx);
  bt_model_unref (m);
}

/* ---- real shapes, random weights ---------------------------------------- */

static void
random_checks (const char *hub_name, BtHeads heads, int n_texts)
{
  g_autofree char *cfg_path = bt_test_data_path ("hub", hub_name,
                                                "config.json", NULL);
  BtConfig cfg;
  GError *error = NULL;
  bt_config_init_defaults (&cfg);
  g_assert_true (bt_config_load (&cfg, cfg_path, &error));
  g_assert_no_error (error);

  gint64 t0 = g_get_monotonic_time ();
  BtModel *m = bt_model_new_random (&cfg, heads, NULL, 42, &error);
  g_assert_no_error (error);
  g_test_message ("%s: random weights in %.2f s", hub_name,
                  (g_get_monotonic_time () - t0) / 1e6);
  BtContext *ctx = bt_context_new (m, NULL);
  const int size = cfg.vision.image_size;
  float *pixels = g_new (float, 3 * (gsize) size * size);
  for (gsize i = 0; i < 3 * (gsize) size * size; i++)
    pixels[i] = sinf ((float) i * 0.001f) * 1.5f;

  t0 = g_get_monotonic_time ();
  BtImageFeatures *img = bt_context_encode_image (ctx, pixels, size, size,
                                                  FALSE, &error);
  g_assert_no_error (error);
  g_test_message ("%s: vision tower %.3f s", hub_name,
                  (g_get_monotonic_time () - t0) / 1e6);
  const gsize h = cfg.hidden_size;
  for (gsize i = 0; i < (gsize) cfg.num_hidden_layers * img->n_tokens * h;
       i++)
    g_assert_true (isfinite (img->bridge[i]));

  /* one thread vs the whole budget (heads and element-wise passes spread
   * over workers): the same features up to summation order */
  if (bt_context_get_n_threads (ctx) > 1) {
    BtContextParams params = { .n_threads = 1 };
    BtContext *ctx1 = bt_context_new (m, &params);
    BtImageFeatures *one = bt_context_encode_image (ctx1, pixels, size, size,
                                                    FALSE, &error);
    g_assert_no_error (error);
    bt_context_free (ctx1);
    double max_abs = 0.0;
    gsize n_bridge = (gsize) cfg.num_hidden_layers * img->n_tokens * h;
    for (gsize i = 0; i < n_bridge; i++)
      max_abs = MAX (max_abs, fabs (img->bridge[i]));
    compare ("1 thread vs budget", one->bridge, img->bridge, n_bridge,
             1e-5 * MAX (1.0, max_abs));
    bt_image_features_unref (one);
  }

  BtTextFeatures *texts[4];
  const gint64 ids[2][9] = {
    { 0, 100, 2000, 300, 40, 5000, 600, 7000, 2 },
    { 0, 31, 415, 9265, 2 },
  };
  const int lens[2] = { 9, 5 };
  for (int i = 0; i < n_texts; i++) {
    texts[i] = bt_context_encode_text (ctx, ids[i], NULL, lens[i], &error);
    g_assert_no_error (error);
  }

  if (heads & BT_HEAD_ITM) {
    float stacked[4], alone[2];
    g_assert_true (bt_context_match (ctx, img, texts, n_texts, stacked,
                                     &error));
    for (int i = 0; i < n_texts; i++) {
      g_assert_true (isfinite (stacked[2 * i]) && isfinite (stacked[2 * i + 1]));
      g_assert_true (bt_context_match (ctx, img, &texts[i], 1, alone,
                                       &error));
      compare ("batch vs alone", stacked + 2 * i, alone, 2, 1e-5);
    }
    /* cached text features vs a fresh encoding */
    BtTextFeatures *fresh = bt_context_encode_text (ctx, ids[0], NULL,
                                                    lens[0], &error);
    float again[2];
    g_assert_true (bt_context_match (ctx, img, &fresh, 1, again, &error));
    compare ("cached vs fresh", stacked, again, 2, 1e-6);
    bt_text_features_unref (fresh);
  }
  if (heads & BT_HEAD_ITC) {
    const int d = cfg.contrastive_hidden_size;
    const float *e = bt_image_features_get_itc (img);
    double norm = 0.0;
    for (int i = 0; i < d; i++)
      norm += e[i] * e[i];
    g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-4);
    float *cross = g_new (float, d);
    g_assert_true (bt_context_cross_embed (ctx, img, texts, 1, cross,
                                           &error));
    for (int i = 0; i < d; i++)
      g_assert_true (isfinite (cross[i]));
    g_free (cross);
  }

  for (int i = 0; i < n_texts; i++)
    bt_text_features_unref (texts[i]);
  bt_image_features_unref (img);
  g_free (pixels);
  bt_context_free (ctx);
  bt_model_unref (m);
}

static void
test_random_base (void)
{
  random_checks ("bridgetower-base-itm-mlm", BT_HEAD_ITM, 2);
}

static void
test_random_large (void)
{
  if (!g_getenv ("BT_TEST_SLOW")) {
    g_test_skip ("large shapes build 3.5 GB of weights; set BT_TEST_SLOW=1");
    return;
  }
  random_checks ("bridgetower-large-itm-mlm-itc", BT_HEAD_ITC | BT_HEAD_ITM,
                 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  JsonObject *manifest_root = bt_test_manifest ();

  JsonArray *cases = json_object_get_array_member (manifest_root, "cases");
  JsonObject *hubstyle = json_object_get_object_member (manifest_root,
                                                        "hubstyle_folders");
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    const char *model = json_object_get_string_member (c, "model");
    const char *name = json_object_get_string_member (c, "case");
    GoldenCase *gc = g_new0 (GoldenCase, 1);
    gc->model = model;
    gc->c = c;
    g_autofree char *path = g_strdup_printf ("/model/golden/%s/%s", model,
                                             name);
    g_test_add_data_func (path, gc, test_golden_case);
    g_autofree char *api = g_strdup_printf ("/model/video-api/%s/%s", model,
                                            name);
    g_test_add_data_func (api, gc, test_video_api_case);

    g_autoptr (GList) hubs = json_object_get_members (hubstyle);
    for (GList *l = hubs; l; l = l->next) {
      JsonObject *h = json_object_get_object_member (hubstyle, l->data);
      if (!g_str_equal (json_object_get_string_member (h, "same_outputs_as"),
                        model))
        continue;
      GoldenCase *hc = g_new0 (GoldenCase, 1);
      hc->model = l->data;
      hc->c = c;
      g_autofree char *hp = g_strdup_printf ("/model/golden/%s/%s",
                                             (char *) l->data, name);
      g_test_add_data_func (hp, hc, test_golden_case);
    }
  }
  g_test_add_func ("/model/no-allocations", test_no_allocations);
  g_test_add_func ("/model/rejected-configs", test_rejected_configs);
  g_test_add_func ("/model/ops/exp", test_ops_exp);
  g_test_add_func ("/model/ops/linear-dtype", test_linear_dtype);
  g_test_add_func ("/model/encode-query", test_encode_query);
  g_test_add_func ("/model/threads", test_threads);
  g_test_add_func ("/model/cache", test_model_cache);
  g_test_add_func ("/model/image-size-mismatch", test_image_size_mismatch);
  g_test_add_func ("/model/random/base", test_random_base);
  g_test_add_func ("/model/random/large", test_random_large);
  return g_test_run ();
}
