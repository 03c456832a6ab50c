/* test-model-bf16.c - precision=bf16 against HF's float32 outputs on every
 * golden case (skipped, saying why, where bf16 cannot run).
 *
 * Linear layers and attention products (Q K^T and P V, forced on for these
 * tiny models) all run in bf16.
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


/* A golden case, run on its own model folder or on a hub-style folder
 * (pytorch_model.bin) holding the same weights. */
typedef struct {
  JsonObject *c;
  const char *folder;
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

static void
test_case (gconstpointer data)
{
  const Case *tc = data;
  JsonObject *c = tc->c;
  g_autoptr (GError) error = NULL;
  if (!bt_bf16_available (&error)) {
    g_test_skip (error->message);
    return;
  }

  g_autofree char *dir = bt_test_data_path ("golden", "models", tc->folder,
                                           NULL);
  const BtModelParams bf16 = { .precision = BT_PRECISION_BF16 };
  BtModel *m = bt_model_load (dir, &bf16, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_model_get_precision (m), ==, BT_PRECISION_BF16);
  /* the converted float32 weights' whole pages went back to the kernel:
   * some (the larger weights span pages), never more than their float32
   * bytes - twice their bf16 bytes */
  g_test_message ("float32 pages released: %" G_GSIZE_FORMAT " bytes, bf16 "
                  "weights %" G_GSIZE_FORMAT " bytes", m->f32_released_bytes,
                  m->bf16_bytes);
  g_assert_cmpuint (m->f32_released_bytes, >, 0);
  g_assert_cmpuint (m->f32_released_bytes, <=, 2 * m->bf16_bytes);
  /* every linear runs its packed form; only the tied decoder keeps a
   * float32 view (the word embeddings) */
  g_assert_cmpuint (m->linears->len, >, 0);
  for (guint i = 0; i < m->linears->len; i++) {
    const BtLinear *l = g_ptr_array_index (m->linears, i);
    g_assert_cmpint (l->dtype, ==, BT_DTYPE_BF16);
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

  const double spread = E_BF16 * sqrt (chain_depth (bt_model_get_config (m)));
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
  g_assert_cmpfloat (worst_rms, <=, 1.0);
  g_assert_cmpfloat (worst_max, <=, 1.0);
  g_assert_cmpfloat (worst_rms, >=, 0.005);

  bt_context_free (ctx);
  bt_model_unref (m);
  bt_safetensors_free (st);
}

/* Where bf16 cannot run, asking for it fails with the reason. */
static void
test_unavailable (void)
{
  g_autoptr (GError) why = NULL, error = NULL;
  if (bt_bf16_available (&why)) {
    g_test_skip ("bf16 is available here");
    return;
  }
  g_autofree char *dir = bt_test_data_path ("golden", "models",
                                           "itm_add_t3v3c2", NULL);
  const BtModelParams bf16 = { .precision = BT_PRECISION_BF16 };
  g_assert_null (bt_model_load (dir, &bf16, &error));
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
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    const char *model = json_object_get_string_member (c, "model");
    Case *tc = g_new (Case, 1);
    *tc = (Case) { c, model };
    g_ptr_array_add (tcs, tc);
    g_autofree char *name = g_strdup_printf ("/model-bf16/golden/%s/%s",
        model, json_object_get_string_member (c, "case"));
    g_test_add_data_func (name, tc, test_case);
    for (GList *l = hub_folders; l; l = l->next) {
      JsonObject *f = json_object_get_object_member (hub, l->data);
      if (!g_str_equal (json_object_get_string_member (f, "same_outputs_as"),
                        model))
        continue;
      tc = g_new (Case, 1);
      *tc = (Case) { c, l->data };
      g_ptr_array_add (tcs, tc);
      g_autofree char *hname = g_strdup_printf ("/model-bf16/hubstyle/%s/%s",
          (const char *) l->data, json_object_get_string_member (c, "case"));
      g_test_add_data_func (hname, tc, test_case);
    }
  }
  g_test_add_func ("/model-bf16/unavailable", test_unavailable);
  return g_test_run ();
}
