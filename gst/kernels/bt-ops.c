/* bt-ops.c - float32 tensor operations on OpenBLAS.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-ops.h"

#include "bt-bf16.h"
#include "bt-bf16-attention.h"
#include "bt-compute.h"
#include "bt-vmath.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
bt_activation (float *x, gsize n, BtActivation act)
{
  switch (act) {
    case BT_ACT_NONE:
      break;
    case BT_ACT_GELU:
      bt_vmath ()->gelu (x, n);
      break;
    case BT_ACT_QUICK_GELU:
      bt_vmath ()->quick_gelu (x, n);
      break;
    case BT_ACT_TANH:
      for (gsize i = 0; i < n; i++)
        x[i] = tanhf (x[i]);
      break;
  }
}

/* Element-wise passes over many rows are spread over the compute budget. */
#define PARALLEL_MIN_FLOATS (1 << 16)
#define PARALLEL_CHUNKS 8

#define NORM_LANES 8

/* Pairwise: the order is fixed, so results do not depend on the data's
 * alignment or the compiler. */
static double
lanes_sum (const double *v)
{
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* Built for AVX-512, AVX2 and plain x86-64, picked at load time, with
 * gcc's full vectoriser cost model: at -O2's cheap one it vectorises none
 * of these loops (clang's -O2 does). 325 x 768 on one thread: 0.42 ms
 * before the partial sums, 0.32 with them, 0.07 vectorised
 * (docs/performance.md). */
#if defined(__clang__)
#define NORM_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define NORM_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default"), \
                                    optimize ("vect-cost-model=dynamic")))
#endif

NORM_CLONES static void
layer_norm_rows (const float *src, float *dst, int r0, int r1, int width,
                 const float *weight, const float *bias, double eps)
{
  for (int r = r0; r < r1; r++) {
    const float *x = src + (gsize) r * width;
    float *y = dst + (gsize) r * width;
    /* Mean and variance in double: closer to the exact value than torch's
     * float moments, so our error against torch is torch's own rounding.
     * Eight partial sums, which also lets the compiler vectorise: one
     * chain of dependent double adds costs 4 cycles an element. */
    double part[NORM_LANES] = { 0 }, sq[NORM_LANES] = { 0 };
    int i = 0;
    for (; i + NORM_LANES <= width; i += NORM_LANES)
      for (int l = 0; l < NORM_LANES; l++)
        part[l] += x[i + l];
    for (; i < width; i++)
      part[0] += x[i];
    double mean = lanes_sum (part) / width;
    for (i = 0; i + NORM_LANES <= width; i += NORM_LANES)
      for (int l = 0; l < NORM_LANES; l++) {
        double d = x[i + l] - mean;
        sq[l] += d * d;
      }
    for (; i < width; i++) {
      double d = x[i] - mean;
      sq[0] += d * d;
    }
    double var = lanes_sum (sq) / width;
    float rstd = (float) (1.0 / sqrt (var + eps));
    float fmean = (float) mean;
    for (i = 0; i < width; i++)
      y[i] = (x[i] - fmean) * rstd * weight[i] + bias[i];
  }
}

typedef struct {
  const float *src;
  float *dst;
  int rows, width;
  const float *weight, *bias;
  double eps;
} NormJob;

static void
layer_norm_chunk (gpointer data, int chunk)
{
  const NormJob *j = data;
  layer_norm_rows (j->src, j->dst, j->rows * chunk / PARALLEL_CHUNKS,
                   j->rows * (chunk + 1) / PARALLEL_CHUNKS, j->width,
                   j->weight, j->bias, j->eps);
}

void
bt_layer_norm (const float *src, float *dst, int rows, int width,
               const float *weight, const float *bias, double eps)
{
  NormJob job = { src, dst, rows, width, weight, bias, eps };
  if ((gsize) rows * width >= PARALLEL_MIN_FLOATS && rows >= PARALLEL_CHUNKS)
    bt_parallel_for (PARALLEL_CHUNKS, layer_norm_chunk, &job);
  else
    layer_norm_rows (src, dst, 0, rows, width, weight, bias, eps);
}

void
bt_add (const float *src, const float *add, float *dst, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dst[i] = src[i] + add[i];
}

void
bt_softmax_rows (float *x, int rows, int width)
{
  bt_vmath ()->softmax_rows (x, rows, width, NULL);
}

typedef struct {
  const float *q, *k, *v;
  int ldq, ldk, ldv, ldo;
  int n_q, n_k, head_dim;
  const float *mask_bias;
  float *scratch, *out;
  float scale;
} AttnJob;

static void
attention_head (gpointer data, int h)
{
  const AttnJob *j = data;
  const int n_q = j->n_q, n_k = j->n_k;
  float *scores = j->scratch + (gsize) h * n_q * n_k;
  const gsize off = (gsize) h * j->head_dim;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n_q, n_k, j->head_dim,
               j->scale, j->q + off, j->ldq, j->k + off, j->ldk, 0.0f, scores,
               n_k);
  bt_vmath ()->softmax_rows (scores, n_q, n_k, j->mask_bias);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n_q, j->head_dim,
               n_k, 1.0f, scores, n_k, j->v + off, j->ldv, 0.0f, j->out + off,
               j->ldo);
}

/* Without AVX512-BF16, oneDNN's attention: below 64 x 64 scores a head,
 * OpenBLAS in float32 is faster than its per-call cost;
 * BT_BF16_ATTENTION_MIN_SCORES overrides that (the bf16 parity test sets 1
 * to run the golden models' tiny attentions in bf16 too). */
static int
bf16_attention_min_scores (void)
{
  static gsize once;
  static int min_scores;
  if (g_once_init_enter (&once)) {
    const char *env = g_getenv ("BT_BF16_ATTENTION_MIN_SCORES");
    min_scores = env ? atoi (env) : 64 * 64;
    g_once_init_leave (&once, 1);
  }
  return min_scores;
}

void
bt_attention_maybe_bf16 (gboolean bf16, const float *q, int ldq,
                         const float *k, int ldk, const float *v, int ldv,
                         int n_q, int n_k, int heads, int head_dim,
                         const float *mask_bias, float *scratch, float *out,
                         int ldo)
{
  if (bf16 && bt_bf16_fused_attention_supported ()) {
    bt_bf16_fused_attention (q, ldq, k, ldk, v, ldv, n_q, n_k, heads,
                             head_dim, mask_bias, out, ldo);
    return;
  }
  if (bf16 && n_q * n_k >= bf16_attention_min_scores ()) {
    GError *error = NULL;
    if (bt_bf16_attention (q, ldq, k, ldk, v, ldv, n_q, n_k, heads, head_dim,
                           mask_bias, out, ldo, &error))
      return;
    g_warning ("bf16 attention failed, running float32: %s", error->message);
    g_error_free (error);
  }
  bt_attention (q, ldq, k, ldk, v, ldv, n_q, n_k, heads, head_dim, mask_bias,
                scratch, out, ldo);
}

void
bt_attention (const float *q, int ldq, const float *k, int ldk,
              const float *v, int ldv, int n_q, int n_k, int heads,
              int head_dim, const float *mask_bias, float *scratch,
              float *out, int ldo)
{
  AttnJob job = { q, k, v, ldq, ldk, ldv, ldo, n_q, n_k, head_dim, mask_bias,
                  scratch, out, 1.0f / sqrtf ((float) head_dim) };

  /* The per-head products are too small for OpenBLAS's threads: one head
   * per thread of the budget instead, each on a one-thread OpenBLAS. */
  if (heads > 1 && bt_compute_budget () > 1
      && (gsize) n_q * n_k * head_dim >= PARALLEL_MIN_FLOATS) {
    bt_blas_single_thread (TRUE);
    bt_parallel_for (heads, attention_head, &job);
    bt_blas_single_thread (FALSE);
  } else {
    for (int h = 0; h < heads; h++)
      attention_head (&job, h);
  }
}

void
bt_l2_normalize (float *x, int n)
{
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    sum += (double) x[i] * x[i];
  float norm = (float) sqrt (sum);
  float inv = 1.0f / MAX (norm, 1e-12f);
  for (int i = 0; i < n; i++)
    x[i] *= inv;
}

/* torch's cubic convolution kernel with A = -0.75, split into the two
 * pieces |x| <= 1 and 1 < |x| < 2. */
static inline float
cubic_near (float x, float a)
{
  return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
}

static inline float
cubic_far (float x, float a)
{
  return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
}

static void
cubic_taps (int out_index, int in_size, int out_size, int idx[4], float w[4])
{
  const float a = -0.75f;
  float scale = (float) in_size / (float) out_size;
  /* align_corners=False source coordinate; cubic does not clamp it at 0 */
  float real = scale * ((float) out_index + 0.5f) - 0.5f;
  float fl = floorf (real);
  float t = real - fl;
  int base = (int) fl;
  w[0] = cubic_far (t + 1.0f, a);
  w[1] = cubic_near (t, a);
  w[2] = cubic_near (1.0f - t, a);
  w[3] = cubic_far (2.0f - t, a);
  for (int i = 0; i < 4; i++)
    idx[i] = CLAMP (base - 1 + i, 0, in_size - 1);
}

void
bt_bicubic_resize (const float *src, int in_h, int in_w, int dim, float *dst,
                   int out_h, int out_w)
{
  for (int oy = 0; oy < out_h; oy++) {
    int iy[4], ix[4];
    float wy[4], wx[4];
    cubic_taps (oy, in_h, out_h, iy, wy);
    for (int ox = 0; ox < out_w; ox++) {
      cubic_taps (ox, in_w, out_w, ix, wx);
      float *o = dst + ((gsize) oy * out_w + ox) * dim;
      for (int d = 0; d < dim; d++) {
        float acc = 0.0f;
        for (int r = 0; r < 4; r++) {
          const float *row = src + (gsize) iy[r] * in_w * dim + d;
          float line = wx[0] * row[(gsize) ix[0] * dim]
              + wx[1] * row[(gsize) ix[1] * dim]
              + wx[2] * row[(gsize) ix[2] * dim]
              + wx[3] * row[(gsize) ix[3] * dim];
          acc += wy[r] * line;
        }
        o[d] = acc;
      }
    }
  }
}

void
bt_im2col_patches (const float *image, int channels, int height, int width,
                   int patch, float *cols)
{
  const int gh = height / patch, gw = width / patch;
  const gsize row_len = (gsize) channels * patch * patch;

  for (int py = 0; py < gh; py++) {
    for (int px = 0; px < gw; px++) {
      float *col = cols + ((gsize) py * gw + px) * row_len;
      for (int c = 0; c < channels; c++) {
        for (int y = 0; y < patch; y++) {
          const float *src = image + ((gsize) c * height + py * patch + y)
              * width + (gsize) px * patch;
          memcpy (col, src, sizeof (float) * patch);
          col += patch;
        }
      }
    }
  }
}
