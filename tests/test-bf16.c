/* test-bf16.c - the bf16 and int8 linear layers against float64 references
 * (int8: see run_case_int8).
 *
 * Two references per case, both computed here in float64:
 *  - "rounded": x and W first rounded to bf16 (bt_f32_to_bf16, round to
 *    nearest even), as oneDNN must. Products of two bf16 values are exact in
 *    float32, so the only error left is float32 accumulation: with K terms,
 *    |y - ref| <= K 2^-24 sum_k |x_k w_k| (the classic recursive-summation
 *    bound; blocked summation does better). A wrong weight layout, a wrong
 *    transpose or truncating instead of rounding breaks this by orders of
 *    magnitude, so it checks the plumbing exactly.
 *  - "exact": the unrounded float32 data. Rounding to bf16 (8 significant
 *    bits, unit roundoff u = 2^-8) perturbs each product by at most
 *    (2u + u^2)|x_k w_k|: the worst-case bound is (2u + u^2 + K 2^-24)
 *    sum_k |x_k w_k|. Rounding errors are nearly independent, so the typical
 *    error is far smaller: about u sqrt(2/3) sqrt(sum_k (x_k w_k)^2) (each
 *    relative rounding error has variance below u^2/3). The root mean square
 *    of error / that estimate must stay under 1.5 (round-to-nearest gives
 *    about 0.8; truncation would give about 2.5).
 */
#include "bt-bf16.h"
#include "bt-bf16-attention.h"
#include "bt-compute.h"

#include <math.h>
#include <string.h>

#define U_BF16 (1.0 / 256)
#define U_F32 (1.0 / 16777216)

typedef struct {
  int rows, out, in;
  BtBf16Post post;
  gboolean bias;
  int pad;                     /* extra floats at the end of each x and y row */
} Case;

static const Case cases[] = {
  { 1, 768, 768, BT_BF16_POST_NONE, TRUE, 0 },
  { 7, 3072, 768, BT_BF16_POST_NONE, TRUE, 0 },
  { 12, 768, 3072, BT_BF16_POST_NONE, TRUE, 0 },
  { 16, 2304, 768, BT_BF16_POST_NONE, FALSE, 0 },
  { 325, 768, 768, BT_BF16_POST_NONE, TRUE, 0 },
  { 325, 48, 96, BT_BF16_POST_NONE, TRUE, 0 },
  { 7, 50, 70, BT_BF16_POST_NONE, FALSE, 0 },
  { 12, 96, 48, BT_BF16_POST_NONE, TRUE, 0 },
  { 16, 3072, 768, BT_BF16_POST_GELU_ERF, TRUE, 0 },
  { 7, 3072, 768, BT_BF16_POST_QUICK_GELU, TRUE, 0 },
  { 3, 768, 768, BT_BF16_POST_TANH, TRUE, 0 },
  { 12, 768, 3072, BT_BF16_POST_ACCUMULATE, TRUE, 0 },
  { 13, 200, 120, BT_BF16_POST_NONE, TRUE, 9 },
  { 13, 200, 120, BT_BF16_POST_ACCUMULATE, FALSE, 5 },
};

static const char *post_names[] = {
  "", "+gelu", "+quickgelu", "+tanh", "+accumulate",
};

static gboolean
skip_unless_available (void)
{
  g_autoptr (GError) error = NULL;
  if (bt_bf16_available (&error))
    return FALSE;
  g_assert_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED);
  g_test_skip (error->message);
  return TRUE;
}

static float
bf16_round (float f)
{
  return bt_bf16_to_f32 (bt_f32_to_bf16 (f));
}

/* What `post` makes of z = x W^T + b, with y0 the output's old value. */
static double
post_f64 (BtBf16Post post, double z, double y0)
{
  switch (post) {
    case BT_BF16_POST_GELU_ERF: return 0.5 * z * (1 + erf (z / sqrt (2)));
    case BT_BF16_POST_QUICK_GELU: return z / (1 + exp (-1.702 * z));
    case BT_BF16_POST_TANH: return tanh (z);
    case BT_BF16_POST_ACCUMULATE: return y0 + z;
    default: return z;
  }
}

/* Largest |slope| of each function: errors before it grow by at most this. */
static double
post_slope (BtBf16Post post)
{
  return post == BT_BF16_POST_GELU_ERF || post == BT_BF16_POST_QUICK_GELU
    ? 1.13 : 1.0;
}

static void
fill (GRand *rng, float *v, gsize n, double scale)
{
  for (gsize i = 0; i < n; i++)
    v[i] = (float) (scale * g_rand_double_range (rng, -1, 1));
}

/* A case's random data: x [rows, ldx], w [out, in], b, and y0 (y's old
 * value) [rows, ldy]. */
typedef struct {
  int ldx, ldy;
  gsize nx, ny, nw;
  float *x, *w, *b, *y0, *y;
} Data;

static void
data_init (Data *d, const Case *c)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (c->rows * 7919 + c->out + c->in);
  d->ldx = c->in + c->pad;
  d->ldy = c->out + c->pad;
  d->nx = (gsize) c->rows * d->ldx;
  d->ny = (gsize) c->rows * d->ldy;
  d->nw = (gsize) c->out * c->in;
  d->x = g_new (float, d->nx);
  d->w = g_new (float, d->nw);
  d->b = g_new (float, c->out);
  d->y0 = g_new (float, d->ny);
  d->y = g_new (float, d->ny);
  fill (rng, d->x, d->nx, 2.0);
  fill (rng, d->w, d->nw, 1.0 / sqrt (c->in));
  fill (rng, d->b, c->out, 0.5);
  fill (rng, d->y0, d->ny, 1.0);
  /* a row of large values: the bounds are relative, so must hold there too */
  if (c->rows > 1)
    for (int k = 0; k < c->in; k++)
      d->x[(gsize) (c->rows - 1) * d->ldx + k] *= 300;
}

static void
data_clear (Data *d)
{
  g_free (d->x);
  g_free (d->w);
  g_free (d->b);
  g_free (d->y0);
  g_free (d->y);
}

/* Runs `l` twice on the case (the second call on the cached kernel and
 * reused buffers) and checks the padding between rows was left alone. */
static void
data_forward (Data *d, const Case *c, BtBf16Linear *l)
{
  g_autoptr (GError) error = NULL;
  for (int pass = 0; pass < 2; pass++) {
    memcpy (d->y, d->y0, d->ny * sizeof (float));
    g_assert_true (bt_bf16_linear_forward (l, d->x, c->rows,
                                           c->pad ? d->ldx : 0, d->y,
                                           c->pad ? d->ldy : 0, c->post,
                                           &error));
    g_assert_no_error (error);
  }
  for (int i = 0; i < c->rows; i++)
    g_assert_cmpmem (d->y + (gsize) i * d->ldy + c->out,
                     c->pad * sizeof (float),
                     d->y0 + (gsize) i * d->ldy + c->out,
                     c->pad * sizeof (float));
}

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  if (skip_unless_available ())
    return;

  Data d;
  data_init (&d, c);
  const int ldy = d.ldy, ldx = d.ldx;
  const gsize nw = d.nw;
  float *x = d.x, *w = d.w, *b = d.b, *y0 = d.y0, *y = d.y;

  g_autoptr (GError) error = NULL;
  BtBf16Linear *l = bt_bf16_linear_new (w, c->bias ? b : NULL, c->out, c->in,
                                        &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_bf16_linear_get_in (l), ==, c->in);
  g_assert_cmpint (bt_bf16_linear_get_out (l), ==, c->out);
  /* only bf16 weights are kept (oneDNN pads to its blocks) */
  gsize wb = bt_bf16_linear_get_weight_bytes (l);
  g_assert_cmpuint (wb, >=, nw * 2);
  g_assert_cmpuint (wb, <=, (gsize) (c->out + 64) * (c->in + 32) * 2
                            + (gsize) c->out * 4);

  data_forward (&d, c, l);

  double max_plumb = 0, max_worst = 0, sum_sq_stat = 0;
  for (int i = 0; i < c->rows; i++) {
    const float *xi = x + (gsize) i * ldx;
    for (int o = 0; o < c->out; o++) {
      const float *wo = w + (gsize) o * c->in;
      double exact = 0, rounded = 0, abs_sum = 0, sq_sum = 0;
      for (int k = 0; k < c->in; k++) {
        double p = (double) xi[k] * wo[k];
        exact += p;
        rounded += (double) bf16_round (xi[k]) * bf16_round (wo[k]);
        abs_sum += fabs (p);
        sq_sum += p * p;
      }
      double bias = c->bias ? b[o] : 0, old = y0[(gsize) i * ldy + o];
      double slope = post_slope (c->post);
      double got = y[(gsize) i * ldy + o];
      double ref_rounded = post_f64 (c->post, rounded + bias, old);
      double ref_exact = post_f64 (c->post, exact + bias, old);
      /* the bias add and the post-op each round once more in float32 */
      double final_ulps = 4 * U_F32 * (fabs (ref_rounded) + fabs (bias)
                                       + fabs (old));
      double plumb_bound = slope * c->in * U_F32 * abs_sum * 1.01
        + final_ulps + 1e-30;
      double worst_bound = slope * (2 * U_BF16 + U_BF16 * U_BF16
                                    + c->in * U_F32) * abs_sum * 1.01
        + final_ulps + 1e-30;
      double stat_scale = slope * U_BF16 * sqrt (2.0 / 3) * sqrt (sq_sum);

      g_assert_true (isfinite (got));
      max_plumb = MAX (max_plumb, fabs (got - ref_rounded) / plumb_bound);
      max_worst = MAX (max_worst, fabs (got - ref_exact) / worst_bound);
      double r = fabs (got - ref_exact) / stat_scale;
      sum_sq_stat += r * r;
    }
  }
  double rms_stat = sqrt (sum_sq_stat / ((double) c->rows * c->out));
  g_test_message ("rows %d out %d in %d%s: vs bf16-rounded f64 %.3g of "
                  "its bound, vs exact f64 %.3g of the worst-case bound, "
                  "rms %.3g of the statistical estimate", c->rows, c->out,
                  c->in, post_names[c->post], max_plumb, max_worst, rms_stat);
  g_assert_cmpfloat (max_plumb, <=, 1.0);
  g_assert_cmpfloat (max_worst, <=, 1.0);
  g_assert_cmpfloat (rms_stat, <=, 1.5);

  bt_bf16_linear_free (l);
  data_clear (&d);
}

/* int8 (docs/int8.md): x ~ sx qx with sx = max |x| / 127 over the whole
 * input, w_n ~ sw_n qw_n with sw_n = max |w_n| / 127, rounded to nearest.
 * Two references in float64, as for bf16:
 *  - "quantized": the same grids computed here (in float32, as the layer
 *    does), then sx sw_n (qx . qw_n) + b exactly: what is left is the
 *    float32 rescaling, bias and post-op, a few ulps. This pins down the
 *    weight layout, the signed-input compensation, the per-channel scales
 *    and the bias order exactly;
 *  - "exact": the unrounded data, within the worst case
 *    sum_k (|x_k| sw_n / 2 + sx |w_nk| / 2 + sx sw_n / 4), and the root
 *    mean square of error / sqrt (sw_n^2 |x|^2 + sx^2 |w_n|^2) / sqrt (12)
 *    (the statistical estimate for independent uniform rounding errors)
 *    under 1.5. */
static void
run_case_int8 (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GError) error = NULL;
  if (!bt_int8_available (&error)) {
    g_test_skip (error->message);
    return;
  }
  Data d;
  data_init (&d, c);
  BtBf16Linear *l = bt_int8_linear_new (d.w, c->bias ? d.b : NULL, c->out,
                                        c->in, &error);
  g_assert_no_error (error);
  /* one byte a weight, a scale (and the bias) per channel, oneDNN's blocks
   * and compensation */
  gsize wb = bt_bf16_linear_get_weight_bytes (l);
  g_assert_cmpuint (wb, >=, d.nw);
  g_assert_cmpuint (wb, <=, (gsize) (c->out + 64) * (c->in + 64)
                            + (gsize) c->out * 12);
  data_forward (&d, c, l);

  float amax = 0;
  for (int i = 0; i < c->rows; i++)
    for (int k = 0; k < c->in; k++)
      amax = MAX (amax, fabsf (d.x[(gsize) i * d.ldx + k]));
  const float sx = amax / 127.0f, inv_x = 127.0f / amax;
  double max_quant = 0, max_worst = 0, sum_sq_stat = 0;
  for (int o = 0; o < c->out; o++) {
    const float *wo = d.w + (gsize) o * c->in;
    float wmax = 0;
    for (int k = 0; k < c->in; k++)
      wmax = MAX (wmax, fabsf (wo[k]));
    const float sw = wmax / 127.0f, inv_w = 127.0f / wmax;
    for (int i = 0; i < c->rows; i++) {
      const float *xi = d.x + (gsize) i * d.ldx;
      double exact = 0, acc = 0, worst = 0, x_sq = 0, w_sq = 0;
      for (int k = 0; k < c->in; k++) {
        exact += (double) xi[k] * wo[k];
        acc += (double) nearbyintf (xi[k] * inv_x) * nearbyintf (wo[k] * inv_w);
        worst += fabsf (xi[k]) * sw / 2.0 + sx * fabsf (wo[k]) / 2.0
                 + sx * (double) sw / 4;
        x_sq += (double) xi[k] * xi[k];
        w_sq += (double) wo[k] * wo[k];
      }
      double bias = c->bias ? d.b[o] : 0, old = d.y0[(gsize) i * d.ldy + o];
      double slope = post_slope (c->post);
      double got = d.y[(gsize) i * d.ldy + o];
      double quant = (double) (sx * sw) * acc;
      double ref_quant = post_f64 (c->post, quant + bias, old);
      double ref_exact = post_f64 (c->post, exact + bias, old);
      double ulps = 6 * U_F32 * slope * (fabs (quant) + fabs (bias)
                                         + fabs (old)) + 1e-30;
      double stat = slope * sqrt ((double) sw * sw * x_sq + (double) sx * sx
                                  * w_sq) / sqrt (12);
      g_assert_true (isfinite (got));
      max_quant = MAX (max_quant, fabs (got - ref_quant) / ulps);
      max_worst = MAX (max_worst, fabs (got - ref_exact)
                                  / (slope * worst * 1.01 + ulps));
      double r = fabs (got - ref_exact) / stat;
      sum_sq_stat += r * r;
    }
  }
  double rms_stat = sqrt (sum_sq_stat / ((double) c->rows * c->out));
  g_test_message ("rows %d out %d in %d%s: vs int8-quantized f64 %.3g of a "
                  "few float32 ulps, vs exact f64 %.3g of the worst-case "
                  "bound, rms %.3g of the statistical estimate", c->rows,
                  c->out, c->in, post_names[c->post], max_quant, max_worst,
                  rms_stat);
  g_assert_cmpfloat (max_quant, <=, 1.0);
  g_assert_cmpfloat (max_worst, <=, 1.0);
  g_assert_cmpfloat (rms_stat, <=, 1.5);

  /* NaN or infinity in x: an error, not garbage */
  d.x[c->in / 2] = NAN;
  g_assert_false (bt_bf16_linear_forward (l, d.x, c->rows, c->pad ? d.ldx : 0,
                                          d.y, c->pad ? d.ldy : 0, c->post,
                                          &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  bt_bf16_linear_free (l);
  data_clear (&d);
}

typedef struct {
  BtBf16Linear *l;
  const float *x;
  int rows;
  float *y;
  gboolean ok;
} Job;

static gpointer
run_job (gpointer data)
{
  Job *j = data;
  j->ok = TRUE;
  for (int it = 0; it < 20 && j->ok; it++)
    j->ok = bt_bf16_linear_forward (j->l, j->x, j->rows, 0, j->y, 0,
                                    BT_BF16_POST_NONE, NULL);
  return NULL;
}

/* Two threads on one linear (and one shape) at once give the results each
 * gives alone, bit for bit. */
static void
test_concurrent (void)
{
  if (skip_unless_available ())
    return;

  const int out = 384, in = 256, rows[2] = { 33, 96 };
  g_autoptr (GRand) rng = g_rand_new_with_seed (42);
  float *w = g_new (float, out * in), *b = g_new (float, out);
  fill (rng, w, out * in, 0.1);
  fill (rng, b, out, 1);
  BtBf16Linear *l = bt_bf16_linear_new (w, b, out, in, NULL);
  BtBf16Linear *twin = bt_bf16_linear_new (w, b, out, in, NULL);
  g_assert_nonnull (l);
  g_assert_nonnull (twin);

  Job jobs[4];
  float *alone[4];
  for (int t = 0; t < 4; t++) {
    int r = rows[t % 2];
    float *x = g_new (float, r * in);
    fill (rng, x, (gsize) r * in, 1);
    alone[t] = g_new (float, r * out);
    g_assert_true (bt_bf16_linear_forward (l, x, r, 0, alone[t], 0,
                                           BT_BF16_POST_NONE, NULL));
    jobs[t] = (Job) { t < 2 ? l : twin, x, r, g_new0 (float, r * out), FALSE };
  }
  GThread *threads[4];
  for (int t = 0; t < 4; t++)
    threads[t] = g_thread_new ("bf16", run_job, &jobs[t]);
  for (int t = 0; t < 4; t++) {
    g_thread_join (threads[t]);
    g_assert_true (jobs[t].ok);
    g_assert_cmpmem (jobs[t].y, rows[t % 2] * out * sizeof (float), alone[t],
                     rows[t % 2] * out * sizeof (float));
    g_free ((float *) jobs[t].x);
    g_free (jobs[t].y);
    g_free (alone[t]);
  }
  bt_bf16_linear_free (l);
  bt_bf16_linear_free (twin);
  g_free (w);
  g_free (b);
}

/* Attention against float64 on the same data. With u = 2^-8, rounding Q
 * and K moves a score s_j = scale q.k_j by at most
 * D = scale (2u + u^2) sum_i |q_i k_ji|; softmax turns score errors of at
 * most D into probability errors summing to at most e^(2D) - 1; rounding P
 * and V adds u each, relative. So per output element
 *   |o - o_ref| <= max_j |v_j| (e^(2 Dmax) - 1 + 2u + u^2) + float32 noise
 * where Dmax is the row's largest D. A head mixed up with another, a wrong
 * transpose or a mask on the wrong keys is off by order one. */
typedef enum { MASK_NONE, MASK_LAST_THIRD, MASK_ALL } MaskKind;

typedef struct {
  int n_q, n_k, heads, d;
  gboolean packed;             /* q, k, v side by side in one [n, 3E] array */
  MaskKind mask;
} AttnCase;

static const AttnCase attn_cases[] = {
  { 325, 325, 12, 64, TRUE, MASK_NONE },       /* ViT-B/16 at 288 */
  { 12, 325, 12, 64, FALSE, MASK_NONE },       /* text rows attending an image */
  { 325, 12, 12, 64, FALSE, MASK_LAST_THIRD }, /* an image attending a text */
  { 70, 70, 4, 32, FALSE, MASK_LAST_THIRD },   /* a masked text */
  { 5, 9, 2, 16, TRUE, MASK_LAST_THIRD },
  { 7, 33, 3, 24, FALSE, MASK_LAST_THIRD },    /* odd sizes: every tail */
  { 9, 20, 2, 64, FALSE, MASK_ALL },           /* HF: the plain mean of V */
};

/* Each case on oneDNN's kernel and on the fused one. */
typedef struct {
  const AttnCase *c;
  gboolean fused;
} AttnRun;

static void
run_attention (gconstpointer data)
{
  const AttnRun *run = data;
  const AttnCase *c = run->c;
  if (skip_unless_available ())
    return;
  if (run->fused && !bt_bf16_fused_attention_supported ()) {
    g_test_skip ("this CPU has no AVX512-BF16");
    return;
  }

  const int e = c->heads * c->d, n_max = MAX (c->n_q, c->n_k);
  const int ld = c->packed ? 3 * e : e, ldo = e + 3;
  g_autoptr (GRand) rng = g_rand_new_with_seed (c->n_q * 131 + c->n_k);
  float *qkv = g_new (float, (gsize) n_max * 3 * e);
  fill (rng, qkv, (gsize) n_max * 3 * e, 1.5);
  const float *q = qkv, *k, *v;
  if (c->packed) {
    k = qkv + e;
    v = qkv + 2 * e;
  } else {
    k = qkv + (gsize) n_max * e;
    v = qkv + (gsize) n_max * 2 * e;
  }
  float *mask = NULL;
  if (c->mask) {
    mask = g_new0 (float, c->n_k);
    for (int j = c->mask == MASK_ALL ? 0 : c->n_k - c->n_k / 3; j < c->n_k; j++)
      mask[j] = -G_MAXFLOAT;          /* HF's (1 - mask) * finfo.min */
  }
  float *out = g_new (float, (gsize) c->n_q * ldo);
  for (gsize i = 0; i < (gsize) c->n_q * ldo; i++)
    out[i] = 7;

  g_autoptr (GError) error = NULL;
  for (int pass = 0; pass < 2; pass++) {
    if (run->fused) {
      /* both thread counts: heads side by side, and one after another */
      bt_compute_lock (2 - pass);
      bt_bf16_fused_attention (q, ld, k, ld, v, ld, c->n_q, c->n_k, c->heads,
                               c->d, mask, out, ldo);
      bt_compute_unlock ();
    } else {
      g_assert_true (bt_bf16_attention (q, ld, k, ld, v, ld, c->n_q, c->n_k,
                                        c->heads, c->d, mask, out, ldo,
                                        &error));
      g_assert_no_error (error);
    }
  }

  const double scale = 1 / sqrt (c->d);
  double *p = g_new (double, c->n_k), *dmax = g_new (double, 1);
  double worst = 0, max_err = 0;
  for (int h = 0; h < c->heads; h++) {
    for (int i = 0; i < c->n_q; i++) {
      const float *qi = q + (gsize) i * ld + h * c->d;
      double mx = -G_MAXDOUBLE, sum = 0;
      dmax[0] = 0;
      for (int j = 0; j < c->n_k; j++) {
        const float *kj = k + (gsize) j * ld + h * c->d;
        double dot = 0, abs_dot = 0;
        for (int t = 0; t < c->d; t++) {
          dot += (double) qi[t] * kj[t];
          abs_dot += fabs ((double) qi[t] * kj[t]);
        }
        p[j] = dot * scale + (mask ? mask[j] : 0);
        mx = MAX (mx, p[j]);
        dmax[0] = MAX (dmax[0], scale * (2 * U_BF16 + U_BF16 * U_BF16) * abs_dot);
      }
      for (int j = 0; j < c->n_k; j++)
        sum += p[j] = exp (p[j] - mx);
      for (int t = 0; t < c->d; t++) {
        double ref = 0, vmax = 0;
        for (int j = 0; j < c->n_k; j++) {
          double vj = v[(gsize) j * ld + h * c->d + t];
          ref += p[j] / sum * vj;
          if (p[j] > 0)
            vmax = MAX (vmax, fabs (vj));
        }
        double bound = vmax * (expm1 (2 * dmax[0]) + 2 * U_BF16
                               + U_BF16 * U_BF16) * 1.01 + 1e-5 * vmax + 1e-30;
        double err = fabs (out[(gsize) i * ldo + h * c->d + t] - ref);
        worst = MAX (worst, err / bound);
        max_err = MAX (max_err, err);
      }
    }
  }
  g_test_message ("attention %dx%d, %d heads of %d%s: max error %.3g, %.3g of "
                  "its bound", c->n_q, c->n_k, c->heads, c->d,
                  c->mask ? ", masked" : "", max_err, worst);
  g_assert_cmpfloat (worst, <=, 1.0);
  /* the padding after each output row is left alone */
  for (int i = 0; i < c->n_q; i++)
    for (int t = e; t < ldo; t++)
      g_assert_cmpfloat (out[(gsize) i * ldo + t], ==, 7);

  g_free (p);
  g_free (dmax);
  g_free (qkv);
  g_free (mask);
  g_free (out);
}

/* Loading oneDNN asked GNU OpenMP for passive waiting (unless the
 * environment already chose): spinning threads between products would take
 * the cores from OpenBLAS and other elements (docs/bf16.md). */
static void
test_wait_policy (void)
{
  if (skip_unless_available ())
    return;
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  const char *spin = g_getenv ("GOMP_SPINCOUNT");
  g_test_message ("OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s",
                  policy ? policy : "unset", spin ? spin : "unset");
  if (!g_getenv ("BT_TEST_PRESET_OMP"))
    g_assert_cmpstr (policy, ==, "PASSIVE");
}

/* Without bf16 units (or oneDNN) creation fails with the same reason. */
static void
test_unavailable_reason (void)
{
  g_autoptr (GError) why = NULL, error = NULL;
  float w[4] = { 1, 2, 3, 4 };
  gboolean available = bt_bf16_available (&why);
  BtBf16Linear *l = bt_bf16_linear_new (w, NULL, 2, 2, &error);
  g_test_message ("bf16 available: %s (oneDNN ISA %s)",
                  available ? "yes" : why->message, bt_bf16_isa_name ());
  if (available) {
    g_assert_no_error (error);
    g_assert_nonnull (l);
    bt_bf16_linear_free (l);
  } else {
    g_assert_null (l);
    g_assert_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED);
    g_assert_cmpstr (error->message, ==, why->message);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  bt_bf16_set_num_threads (0);
  /* what the test of the wait policy must not mistake for our doing */
  if (g_getenv ("OMP_WAIT_POLICY") || g_getenv ("GOMP_SPINCOUNT"))
    g_setenv ("BT_TEST_PRESET_OMP", "1", TRUE);
  g_test_add_func ("/bf16/availability", test_unavailable_reason);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Case *c = &cases[i];
    g_autofree char *name = g_strdup_printf ("/bf16/linear/%dx%dx%d%s%s%s",
                                             c->rows, c->out, c->in,
                                             c->bias ? "+bias" : "",
                                             post_names[c->post],
                                             c->pad ? "+strided" : "");
    g_test_add_data_func (name, c, run_case);
    g_autofree char *name8 = g_strdup_printf ("/int8/linear/%dx%dx%d%s%s%s",
                                              c->rows, c->out, c->in,
                                              c->bias ? "+bias" : "",
                                              post_names[c->post],
                                              c->pad ? "+strided" : "");
    g_test_add_data_func (name8, c, run_case_int8);
  }
  static const char *const mask_names[] = { "", "+mask", "+all-masked" };
  static AttnRun attn_runs[2 * G_N_ELEMENTS (attn_cases)];
  for (guint i = 0; i < G_N_ELEMENTS (attn_runs); i++) {
    AttnRun *run = &attn_runs[i];
    run->c = &attn_cases[i / 2];
    run->fused = i % 2;
    g_autofree char *name = g_strdup_printf ("/bf16/%s/%dx%dx%dx%d%s%s",
                                             run->fused ? "fused-attention"
                                             : "attention", run->c->n_q,
                                             run->c->n_k, run->c->heads,
                                             run->c->d,
                                             run->c->packed ? "+packed" : "",
                                             mask_names[run->c->mask]);
    g_test_add_data_func (name, run, run_attention);
  }
  g_test_add_func ("/bf16/concurrent", test_concurrent);
  g_test_add_func ("/bf16/wait-policy", test_wait_policy);
  return g_test_run ();
}
