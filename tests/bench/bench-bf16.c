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
 */
#include "bt-bf16.h"

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

int
main (int argc, char **argv)
{
  int runs = 7, only_threads = 0;
  gboolean mixed = FALSE;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "timed runs per figure", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &only_threads,
      "only this thread count (default: 1 and 2)", "T" },
    { "mixed", 0, 0, G_OPTION_ARG_NONE, &mixed,
      "also time sgemm right after a bf16 linear", NULL },
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
