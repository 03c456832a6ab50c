/* test-model-bf16.c - precision=bf16 and precision=int8 against HF's
 * float32 outputs on every golden case (skipped, saying why, where the
 * precision cannot run).
 *
 * bf16: linear layers and attention products (Q K^T and P V, forced on for
 * these tiny models) all run in bf16. int8: the linear layers run in int8,
 * the attention products in bf16 where the CPU has bf16 units.
 *
 * The bound. A bf16 linear layer's output carries a relative error of
 * about e = 2^-8 sqrt(2/3) = 0.0032 (root mean square, relative to the
 * root-sum-square of its terms; tests/test-bf16.c measures 0.71 e against
 * that estimate). Along the model the errors of successive layers add up
 * roughly in quadrature, LayerNorm keeps the scale, and an output sits
 * behind at most D linear layers (D below: the longest chain of products
 * from the inputs to that output). So the relative RMS error of an output
 * should stay near e sqrt(D), and its largest element error near a few
 * times that. The test requires, per output tensor,
 *   RMS |got - want| <= 4 e sqrt(D) * max(RMS |want|, 1 / sqrt(dim))
 *   max |got - want| <= 8 e sqrt(D) * max(1, max |want|)
 * 4x (RMS) and 8x (max) are the room for attention and LayerNorm
 * amplifying errors; a broken bf16 product (a wrong layout, a dropped bias
 * or activation) gives errors of order one and fails both by far.
 * The floor 1 / sqrt(dim) keeps L2-normalised embeddings (unit norm over
 * dim values) on their own scale. And the bf16 path must have run: some
 * output must differ from float32 by more than float32 rounding could
 * (0.5% of the RMS bound; float32 stays below 0.01% of it).
 */
#include "bt-bf16.h"
#include "bt-model-private.h"
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>

#define E_BF16 (0.0032)

/* int8: x ~ sx q_x and w_n ~ sw_n q_w, rounded to nearest, sx = max |x| /
 * 127 over the whole input, sw_n = max |w_n| / 127 per output channel. With
 * the rounding errors uniform and independent, y_n = x . w_n errs by about
 *   sqrt (sw_n^2 |x|^2 + sx^2 |w_n|^2) / sqrt (12)
 * and with c = max / RMS of the operands (their crest factors) that is
 *   e = sqrt (c_x^2 + c_w^2) / (127 sqrt (12))
 * of the root-sum-square of the terms. Allowing crest factors up to 6 (a
 * layer's input over all its rows, a channel's weights) gives e = 0.0193,
 * six times bf16's: int8 keeps 7 bits against the largest value, bf16 8
 * against each value's own exponent. */
#define E_INT8 (0.0193)

typedef struct {
  const char *name;
  BtPrecision precision;
  BtDType dtype;               /* what every linear must run */
  double e;
  gboolean (*available) (GError **error);
} Precision;

static const Precision precisions[] = {
  { "bf16", BT_PRECISION_BF16, BT_DTYPE_BF16, E_BF16, bt_bf16_available },
  { "int8", BT_PRECISION_INT8, BT_DTYPE_I8, E_INT8, bt_int8_available },
};


/* A golden case, run on its own model folder or on a hub-style folder
 * (pytorch_model.bin) holding the same weights. */
typedef struct {
  JsonObject *c;
  const char *folder;
  const Precision *p;
} Case;

/* The longest chain of bf16 products in front of any output: per text or
 * vision layer six (attention: a projection, Q K^T, P V, the output; FFN:
 * two), per cross-modal layer ten (self and cross attention, FFN) plus the
 * transform into it, plus the pooler and two for a head. */
static int
chain_depth (const BtConfig *c)
{
  return 6 * c->text.num_hidden_layers + 10 * c->num_hidden_layers + 1 + 3;
}

static const BtTensor *
lookup (BtSafetensors *st, JsonObject *keys, const char *name)
{
  const BtTensor *t = bt_safetensors_lookup (
      st, json_object_get_string_member (keys, name));
  g_assert_nonnull (t);
  return t;
}

/* What a user reads. ITM: P(match) = softmax (logits)[1]; its derivative
 * is at most 1/4 in each logit difference, so with the logits within
 * 4 e sqrt(D) of unit scale (the RMS bound) it moves by at most
 * 2 e sqrt(D). ITC: the cosine similarities of the unit text and image
 * embeddings; t.i moves by at most |dt| + |di|, each within 4 e sqrt(D)
 * (the RMS bound times sqrt(dim) of 1/sqrt(dim)): 8 e sqrt(D). */
static void
check_scores (BtSafetensors *st, JsonObject *out_keys, BtTensorSet *out,
              double spread)
{
  if (json_object_has_member (out_keys, "logits")
      && !json_object_has_member (out_keys, "text_embeds")) {
    const BtTensor *want = lookup (st, out_keys, "logits");
    const float *g = bt_tensor_set_lookup (out, "logits")->data;
    const float *w = want->data;
    if (want->ndim != 2 || want->shape[1] != 2)
      return;                  /* MLM logits */
    double worst = 0;
    for (gint64 r = 0; r < want->shape[0]; r++) {
      double pg = 1 / (1 + exp ((double) g[2 * r] - g[2 * r + 1]));
      double pw = 1 / (1 + exp ((double) w[2 * r] - w[2 * r + 1]));
      worst = MAX (worst, fabs (pg - pw));
    }
    g_test_message ("ITM probability: max err %.2e (%.3f of 2 e sqrt(D))",
                    worst, worst / (2 * spread));
    g_assert_cmpfloat (worst, <=, 2 * spread);
  }
  if (json_object_has_member (out_keys, "text_embeds")) {
    const BtTensor *wt = lookup (st, out_keys, "text_embeds");
    const BtTensor *wi = lookup (st, out_keys, "image_embeds");
    const float *gt = bt_tensor_set_lookup (out, "text_embeds")->data;
    const float *gi = bt_tensor_set_lookup (out, "image_embeds")->data;
    const float *t = wt->data, *i = wi->data;
    const gint64 dim = wt->shape[1];
    double worst = 0;
    for (gint64 a = 0; a < wt->shape[0]; a++)
      for (gint64 b = 0; b < wi->shape[0]; b++) {
        double sg = 0, sw = 0;
        for (gint64 k = 0; k < dim; k++) {
          sg += (double) gt[a * dim + k] * gi[b * dim + k];
          sw += (double) t[a * dim + k] * i[b * dim + k];
        }
        worst = MAX (worst, fabs (sg - sw));
      }
    g_test_message ("ITC similarity: max err %.2e (%.3f of 8 e sqrt(D))",
                    worst, worst / (8 * spread));
    g_assert_cmpfloat (worst, <=, 8 * spread);
  }
}

static void
test_case (gconstpointer data)
{
  const Case *tc = data;
  JsonObject *c = tc->c;
  g_autoptr (GError) error = NULL;
  const Precision *p = tc->p;
  if (!p->available (&error)) {
    g_test_skip (error->message);
    return;
  }

  g_autofree char *dir = bt_test_data_path ("golden", "models", tc->folder,
                                           NULL);
  const BtModelParams params = { .precision = p->precision };
  BtModel *m = bt_model_load (dir, &params, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_model_get_precision (m), ==, p->precision);
  /* the converted float32 weights' whole pages went back to the kernel:
   * some (the larger weights span pages), never more than their float32
   * bytes - twice their bf16 bytes, at most four times the int8 ones (which
   * hold a scale per channel too) */
  g_test_message ("float32 pages released: %" G_GSIZE_FORMAT " bytes, %s "
                  "weights %" G_GSIZE_FORMAT " bytes", m->f32_released_bytes,
                  p->name, m->bf16_bytes);
  g_assert_cmpuint (m->f32_released_bytes, >, 0);
  g_assert_cmpuint (m->f32_released_bytes, <=,
                    (p->dtype == BT_DTYPE_I8 ? 4 : 2) * m->bf16_bytes);
  /* every linear runs its packed form; only the tied decoder keeps a
   * float32 view (the word embeddings) */
  g_assert_cmpuint (m->linears->len, >, 0);
  for (guint i = 0; i < m->linears->len; i++) {
    const BtLinear *l = g_ptr_array_index (m->linears, i);
    g_assert_cmpint (l->dtype, ==, p->dtype);
    g_assert_nonnull (l->bf16);
    g_assert_true (l->w == NULL || l->w == m->text.word);
  }
  g_autofree char *tpath = bt_test_data_path ("golden",
      json_object_get_string_member (c, "tensors_file"), NULL);
  BtSafetensors *st = bt_safetensors_open (tpath, &error);
  g_assert_no_error (error);

  JsonObject *in_keys = json_object_get_object_member (c, "input_keys");
  JsonObject *kw = json_object_get_object_member (c, "forward_kwargs");
  const BtTensor *ids = lookup (st, in_keys, "input_ids");
  const BtTensor *pix = lookup (st, in_keys, "pixel_values");
  BtForwardInput in = {
    .batch = (int) ids->shape[0],
    .seq_len = (int) ids->shape[1],
    .input_ids = ids->data,
    .attention_mask = lookup (st, in_keys, "attention_mask")->data,
    .height = (int) pix->shape[2],
    .width = (int) pix->shape[3],
    .pixel_values = pix->data,
    .interpolate_pos_encoding = json_object_has_member (kw,
        "interpolate_pos_encoding")
        && json_object_get_boolean_member (kw, "interpolate_pos_encoding"),
    .output_hidden_states = json_object_has_member (kw, "output_hidden_states")
        && json_object_get_boolean_member (kw, "output_hidden_states"),
  };
  BtContext *ctx = bt_context_new (m, NULL);
  g_autoptr (BtTensorSet) out = bt_tensor_set_new ();
  g_assert_true (bt_context_forward (ctx,
      bt_test_heads_of_class (json_object_get_string_member (c, "class")), &in, out,
      &error));
  g_assert_no_error (error);

  const double spread = p->e * sqrt (chain_depth (bt_model_get_config (m)));
  double worst_rms = 0, worst_max = 0;
  JsonObject *out_keys = json_object_get_object_member (c, "output_keys");
  g_autoptr (GList) names = json_object_get_members (out_keys);
  for (GList *l = names; l; l = l->next) {
    const char *name = l->data;
    const BtTensor *want = lookup (st, out_keys, name);
    const BtTensor *got = bt_tensor_set_lookup (out, name);
    g_assert_nonnull (got);
    g_assert_true (bt_tensor_has_shape (got, BT_DTYPE_F32, want->ndim,
                                        want->shape));
    gsize n = (gsize) bt_tensor_numel (want);
    const float *g = got->data, *w = want->data;
    double err_sq = 0, want_sq = 0, max_err = 0, max_abs = 0;
    for (gsize i = 0; i < n; i++) {
      double d = (double) g[i] - w[i];
      g_assert_true (isfinite (g[i]));
      err_sq += d * d;
      want_sq += (double) w[i] * w[i];
      max_err = MAX (max_err, fabs (d));
      max_abs = MAX (max_abs, fabs ((double) w[i]));
    }
    double dim = want->ndim ? (double) want->shape[want->ndim - 1] : 1;
    double rms_err = sqrt (err_sq / n);
    double scale = MAX (sqrt (want_sq / n), 1 / sqrt (dim));
    double rms_ratio = rms_err / (4 * spread * scale);
    double max_ratio = max_err / (8 * spread * MAX (1.0, max_abs));
    g_test_message ("%-32s rms err %.2e (%.3f of bound)  max err %.2e "
                    "(%.3f of bound)", name, rms_err, rms_ratio, max_err,
                    max_ratio);
    worst_rms = MAX (worst_rms, rms_ratio);
    worst_max = MAX (worst_max, max_ratio);
  }
  g_test_message ("worst: rms %.3f, max %.3f of the bounds (e sqrt(D) = %.4f)",
                  worst_rms, worst_max, spread);
  check_scores (st, out_keys, out, spread);
  g_assert_cmpfloat (worst_rms, <=, 1.0);
  g_assert_cmpfloat (worst_max, <=, 1.0);
  g_assert_cmpfloat (worst_rms, >=, 0.005);

  bt_context_free (ctx);
  bt_model_unref (m);
  bt_safetensors_free (st);
}

/* Where a precision cannot run, asking for it fails with the reason. */
static void
test_unavailable (gconstpointer data)
{
  const Precision *p = data;
  g_autoptr (GError) why = NULL, error = NULL;
  if (p->available (&why)) {
    g_test_skip ("available here");
    return;
  }
  g_autofree char *dir = bt_test_data_path ("golden", "models",
                                           "itm_add_t3v3c2", NULL);
  const BtModelParams params = { .precision = p->precision };
  g_assert_null (bt_model_load (dir, &params, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==, why->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the golden models' attentions are tiny: run them in bf16 too */
  g_setenv ("BT_BF16_ATTENTION_MIN_SCORES", "1", TRUE);
  JsonObject *root = bt_test_manifest ();
  JsonArray *cases = json_object_get_array_member (root, "cases");
  JsonObject *hub = json_object_get_object_member (root, "hubstyle_folders");
  g_autoptr (GList) hub_folders = json_object_get_members (hub);
  g_autoptr (GPtrArray) tcs = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < G_N_ELEMENTS (precisions); k++)
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    const Precision *p = &precisions[k];
    JsonObject *c = json_array_get_object_element (cases, i);
    const char *model = json_object_get_string_member (c, "model");
    Case *tc = g_new (Case, 1);
    *tc = (Case) { c, model, p };
    g_ptr_array_add (tcs, tc);
    g_autofree char *name = g_strdup_printf ("/model-%s/golden/%s/%s",
        p->name, model, json_object_get_string_member (c, "case"));
    g_test_add_data_func (name, tc, test_case);
    for (GList *l = hub_folders; l; l = l->next) {
      JsonObject *f = json_object_get_object_member (hub, l->data);
      if (!g_str_equal (json_object_get_string_member (f, "same_outputs_as"),
                        model))
        continue;
      tc = g_new (Case, 1);
      *tc = (Case) { c, l->data, p };
      g_ptr_array_add (tcs, tc);
      g_autofree char *hname = g_strdup_printf ("/model-%s/hubstyle/%s/%s",
          p->name, (const char *) l->data,
          json_object_get_string_member (c, "case"));
      g_test_add_data_func (hname, tc, test_case);
    }
  }
  g_test_add_data_func ("/model-bf16/unavailable", &precisions[0],
                        test_unavailable);
  g_test_add_data_func ("/model-int8/unavailable", &precisions[1],
                        test_unavailable);
  return g_test_run ();
}
