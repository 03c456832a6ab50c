/* bench-bf16.c - GFLOPS of the bf16 linear layer against OpenBLAS sgemm on
 * the base model's shapes, both measured in the same run, 1 and 2 threads.
 *
 *   bench-bf16 [--runs N] [--threads T] [--mixed]
 *
 * Each figure is 2 M N K / the fastest of N runs (after two warm-up calls).
 * sgemm computes x W^T without the bias; the bf16 layer includes the
 * f32 -> bf16 conversion of x and the fused bias.
 *
 * --mixed also times a bf16 linear followed by an sgemm, the pattern of a
 * bf16 model that keeps attention on OpenBLAS: the OpenMP threads oneDNN
 * leaves spinning compete with OpenBLAS's own (see docs/bf16.md; compare
 * runs with and without OMP_WAIT_POLICY=PASSIVE in the environment).
 *
 * --attention times a whole multi-head attention (12 heads of 64) on the
 * shapes the base model runs: the fused AVX512-BF16 kernel, oneDNN's
 * seven-step one and float32 OpenBLAS, GFLOPS = 4 n_q n_k d heads / time.
 */
#include "bt-bf16.h"
#include "bt-bf16-attention.h"
#include "bt-compute.h"
#include "bt-ops.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  int n, k;
} Weight;

static const int rows[] = { 325, 577, 12, 16, 96 };
static const Weight weights[] = {
  { 768, 768 }, { 3072, 768 }, { 768, 3072 }, { 2304, 768 },
};

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
fill (float *v, gsize n)
{
  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_random_double_range (-1, 1);
}

static void
sgemm (const float *x, const float *w, float *y, int m, int n, int k)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k,
               w, k, 0.0f, y, n);
}

static double
best_sgemm (const float *x, const float *w, float *y, int m, int n, int k,
            int runs)
{
  double best = G_MAXDOUBLE;
  for (int r = -2; r < runs; r++) {
    double t = now ();
    sgemm (x, w, y, m, n, k);
    t = now () - t;
    if (r >= 0)
      best = MIN (best, t);
  }
  return best;
}

static double
best_bf16 (BtBf16Linear *l, const float *x, float *y, int m, int runs)
{
  double best = G_MAXDOUBLE;
  for (int r = -2; r < runs; r++) {
    double t = now ();
    if (!bt_bf16_linear_forward (l, x, m, 0, y, 0, BT_BF16_POST_NONE, NULL))
      g_error ("bf16/int8 forward failed");
    t = now () - t;
    if (r >= 0)
      best = MIN (best, t);
  }
  return best;
}

/* A bf16 linear, then an sgemm on its output, then the same with sgemm
 * alone twice: what the spinning OpenMP threads cost the sgemm after. */
static void
bench_mixed (int runs)
{
  const int m = 325, n = 768, k = 768;
  float *x = g_new (float, m * k), *w = g_new (float, n * k);
  float *y = g_new (float, m * n), *z = g_new (float, m * n);
  fill (x, m * k);
  fill (w, n * k);
  BtBf16Linear *l = bt_bf16_linear_new (w, NULL, n, k, NULL);
  double alone = best_sgemm (y, w, z, m, n, k, runs);
  double after = G_MAXDOUBLE;
  for (int r = -2; r < runs; r++) {
    bt_bf16_linear_forward (l, x, m, 0, y, 0, BT_BF16_POST_NONE, NULL);
    double t = now ();
    sgemm (y, w, z, m, n, k);
    t = now () - t;
    if (r >= 0)
      after = MIN (after, t);
  }
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  printf ("mixed (OMP_WAIT_POLICY=%s): sgemm %dx%dx%d alone %.3f ms, right "
          "after a bf16 linear %.3f ms (%.2fx)\n", policy ? policy : "unset",
          m, n, k, alone * 1e3, after * 1e3, after / alone);
  bt_bf16_linear_free (l);
  g_free (x);
  g_free (w);
  g_free (y);
  g_free (z);
}

typedef double (*AttnRunFn) (const float *qkv, float *out, float *scratch,
                             int n_q, int n_k);

#define ATT_HEADS 12
#define ATT_D 64
#define ATT_E (ATT_HEADS * ATT_D)

static double
attn_fused (const float *qkv, float *out, float *scratch, int n_q, int n_k)
{
  (void) scratch;
  double t = now ();
  bt_bf16_fused_attention (qkv, 3 * ATT_E, qkv + ATT_E, 3 * ATT_E,
                           qkv + 2 * ATT_E, 3 * ATT_E, n_q, n_k, ATT_HEADS,
                           ATT_D, NULL, out, ATT_E);
  return now () - t;
}

static double
attn_onednn (const float *qkv, float *out, float *scratch, int n_q, int n_k)
{
  (void) scratch;
  double t = now ();
  if (!bt_bf16_attention (qkv, 3 * ATT_E, qkv + ATT_E, 3 * ATT_E,
                          qkv + 2 * ATT_E, 3 * ATT_E, n_q, n_k, ATT_HEADS,
                          ATT_D, NULL, out, ATT_E, NULL))
    g_error ("oneDNN attention failed");
  return now () - t;
}

static double
attn_fp32 (const float *qkv, float *out, float *scratch, int n_q, int n_k)
{
  double t = now ();
  bt_attention (qkv, 3 * ATT_E, qkv + ATT_E, 3 * ATT_E, qkv + 2 * ATT_E,
                3 * ATT_E, n_q, n_k, ATT_HEADS, ATT_D, NULL, scratch, out,
                ATT_E);
  return now () - t;
}

/* The fastest of `runs` (after two warm-up calls), inside the compute
 * section as the model calls it. */
static double
best_attention (AttnRunFn fn, const float *qkv, float *out, float *scratch,
                int n_q, int n_k, int threads, int runs)
{
  double best = G_MAXDOUBLE;
  for (int r = -2; r < runs; r++) {
    bt_compute_lock (threads);
    double t = fn (qkv, out, scratch, n_q, n_k);
    bt_compute_unlock ();
    if (r >= 0)
      best = MIN (best, t);
  }
  return best;
}

static void
bench_attention (int threads, int runs)
{
  static const int shapes[][2] = {
    { 577, 577 }, { 325, 325 }, { 12, 577 }, { 577, 12 }, { 12, 12 },
  };
  const gboolean fused = bt_bf16_fused_attention_supported ();
  printf ("attention, %d heads of %d, %d threads: GFLOPS (ms)%s\n", ATT_HEADS,
          ATT_D, threads, fused ? "" : "; no AVX512-BF16: no fused kernel");
  printf ("%5s %5s %16s %16s %16s\n", "n_q", "n_k", "fused", "oneDNN",
          "float32");
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    const int n_q = shapes[i][0], n_k = shapes[i][1], n = MAX (n_q, n_k);
    float *qkv = g_new (float, (gsize) n * 3 * ATT_E);
    float *out = g_new (float, (gsize) n_q * ATT_E);
    float *scratch = g_new (float, (gsize) ATT_HEADS * n_q * n_k);
    fill (qkv, (gsize) n * 3 * ATT_E);
    const double flop = 4.0 * n_q * n_k * ATT_D * ATT_HEADS;
    const AttnRunFn fns[] = { fused ? attn_fused : NULL, attn_onednn,
                              attn_fp32 };
    printf ("%5d %5d", n_q, n_k);
    for (guint f = 0; f < G_N_ELEMENTS (fns); f++) {
      if (!fns[f]) {
        printf (" %16s", "-");
        continue;
      }
      double t = best_attention (fns[f], qkv, out, scratch, n_q, n_k,
                                 threads, runs);
      printf ("  %6.0f (%6.3f)", flop / t / 1e9, t * 1e3);
    }
    printf ("\n");
    g_free (qkv);
    g_free (out);
    g_free (scratch);
  }
}

int
main (int argc, char **argv)
{
  int runs = 7, only_threads = 0;
  gboolean mixed = FALSE, attention = FALSE;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "timed runs per figure", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &only_threads,
      "only this thread count (default: 1 and 2)", "T" },
    { "mixed", 0, 0, G_OPTION_ARG_NONE, &mixed,
      "also time sgemm right after a bf16 linear", NULL },
    { "attention", 0, 0, G_OPTION_ARG_NONE, &attention,
      "time whole attentions instead of linear layers", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- bf16 vs sgemm");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 2;
  }
  if (!bt_bf16_available (&error)) {
    printf ("bf16 unavailable: %s\n", error->message);
    return 77;
  }
  if (attention) {
    printf ("oneDNN ISA: %s; min of %d runs\n", bt_bf16_isa_name (), runs);
    for (int threads = 1; threads <= 2; threads++) {
      if (only_threads && threads != only_threads)
        continue;
      openblas_set_num_threads (threads);
      bt_bf16_set_num_threads (threads);
      bench_attention (threads, runs);
    }
    return 0;
  }
  printf ("oneDNN ISA: %s; min of %d runs; GFLOPS = 2MNK / time\n",
          bt_bf16_isa_name (), runs);
  /* int8 (VNNI) in the same run, where the CPU has it */
  const gboolean int8 = bt_int8_available (NULL);
  printf ("%-7s %5s %5s %5s %10s %10s %7s %10s %10s\n", "threads", "M", "N",
          "K", "sgemm", "bf16", "ratio", int8 ? "int8" : "", int8 ? "int8/bf16"
          : "");

  g_random_set_seed (1);
  for (int threads = 1; threads <= 2; threads++) {
    if (only_threads && threads != only_threads)
      continue;
    openblas_set_num_threads (threads);
    bt_bf16_set_num_threads (threads);
    for (guint wi = 0; wi < G_N_ELEMENTS (weights); wi++) {
      int n = weights[wi].n, k = weights[wi].k;
      float *w = g_new (float, (gsize) n * k), *b = g_new (float, n);
      fill (w, (gsize) n * k);
      fill (b, n);
      BtBf16Linear *l = bt_bf16_linear_new (w, b, n, k, &error);
      BtBf16Linear *li = int8 ? bt_int8_linear_new (w, b, n, k, &error) : NULL;
      if (!l || (int8 && !li))
        g_error ("%s", error->message);
      for (guint ri = 0; ri < G_N_ELEMENTS (rows); ri++) {
        int m = rows[ri];
        float *x = g_new (float, (gsize) m * k), *y = g_new (float, (gsize) m * n);
        fill (x, (gsize) m * k);
        double flop = 2.0 * m * n * k;
        double ts = best_sgemm (x, w, y, m, n, k, runs);
        double tb = best_bf16 (l, x, y, m, runs);
        printf ("%-7d %5d %5d %5d %10.0f %10.0f %6.2fx", threads, m, n, k,
                flop / ts / 1e9, flop / tb / 1e9, ts / tb);
        if (li) {
          double ti = best_bf16 (li, x, y, m, runs);
          printf (" %10.0f %9.2fx", flop / ti / 1e9, tb / ti);
        }
        printf ("\n");
        g_free (x);
        g_free (y);
      }
      bt_bf16_linear_free (l);
      bt_bf16_linear_free (li);
      g_free (w);
      g_free (b);
    }
  }
  if (mixed) {
    openblas_set_num_threads (2);
    bt_bf16_set_num_threads (2);
    bench_mixed (runs);
  }
  return 0;
}
