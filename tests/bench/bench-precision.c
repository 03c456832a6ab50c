/* bench-precision.c - what bf16 and int8 change in the scores a user reads,
 * against float32 on the same model folder: ITM match probabilities and
 * ITC cosine similarities of N images x 8 queries (not a test: the shapes
 * worth measuring are the real ones, too slow for CI; docs/int8.md).
 *
 *   bench-precision DIR [--images N] [--threads T]
 *
 * DIR is any model folder with a tokenizer and both heads, e.g. one written
 * by `bt-bench --write-random base DIR`. The images are smooth random
 * fields (a fixed seed), so every precision sees the same pixels.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bridgetower.h"

#include <math.h>
#include <stdio.h>

static const char *const queries[] = {
  "a dog running on the beach", "two people riding bicycles",
  "a red car parked in the street", "a plate of food on a table",
  "an empty room", "a cat sleeping on a sofa", "a crowd at a concert",
  "snow on the mountains",
};
#define N_Q ((int) G_N_ELEMENTS (queries))

typedef struct {
  const char *name;
  BtPrecision precision;
} Precision;

static const Precision precisions[] = {
  { "fp32", BT_PRECISION_FP32 },
  { "bf16", BT_PRECISION_BF16 },
  { "int8", BT_PRECISION_INT8 },
};

/* A sum of a few random plane waves per channel, in the processor's
 * normalised range (about -2 .. 2). */
static void
fill_image (float *px, int size, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  for (int c = 0; c < 3; c++) {
    double fx[4], fy[4], ph[4];
    for (int w = 0; w < 4; w++) {
      fx[w] = g_rand_double_range (rng, -0.1, 0.1);
      fy[w] = g_rand_double_range (rng, -0.1, 0.1);
      ph[w] = g_rand_double_range (rng, 0, 6.3);
    }
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++) {
        double v = 0;
        for (int w = 0; w < 4; w++)
          v += sin (fx[w] * x + fy[w] * y + ph[w]);
        px[((gsize) c * size + y) * size + x] = (float) (v / 2);
      }
  }
  g_rand_free (rng);
}

/* probabilities [images x N_Q] and similarities [images x N_Q]; FALSE
 * (after printing why) when the precision cannot run here */
static gboolean
score (const char *dir, const Precision *p, int n_images, int threads,
       double *prob, double *sim)
{
  g_autoptr (GError) error = NULL;
  const BtModelParams params = { .precision = p->precision };
  BtModel *m = bt_model_load (dir, &params, &error);
  if (!m) {
    printf ("%s: %s\n", p->name, error->message);
    return FALSE;
  }
  const BtContextParams cp = { .n_threads = threads };
  BtContext *ctx = bt_context_new (m, &cp);
  const int size = bt_model_get_config (m)->vision.image_size;
  const int dim = bt_model_get_config (m)->contrastive_hidden_size;
  float *px = g_new (float, (gsize) 3 * size * size);
  BtTextFeatures *texts[N_Q];
  float logits[2 * N_Q];

  for (int q = 0; q < N_Q; q++)
    if (!(texts[q] = bt_context_encode_query (ctx, queries[q], &error)))
      g_error ("%s", error->message);
  for (int i = 0; i < n_images; i++) {
    fill_image (px, size, 1000 + i);
    g_autoptr (BtImageFeatures) img = bt_context_encode_image (ctx, px, size,
        size, FALSE, &error);
    if (!img || !bt_context_match (ctx, img, texts, N_Q, logits, &error))
      g_error ("%s", error->message);
    const float *vi = bt_image_features_get_itc (img);
    for (int q = 0; q < N_Q; q++) {
      prob[i * N_Q + q] = 1 / (1 + exp ((double) logits[2 * q]
                                        - logits[2 * q + 1]));
      const float *vt = bt_text_features_get_itc (texts[q]);
      double dot = 0, ni = 0, nt = 0;
      for (int k = 0; k < dim; k++) {
        dot += (double) vi[k] * vt[k];
        ni += (double) vi[k] * vi[k];
        nt += (double) vt[k] * vt[k];
      }
      sim[i * N_Q + q] = dot / sqrt (ni * nt);
    }
  }
  for (int q = 0; q < N_Q; q++)
    bt_text_features_unref (texts[q]);
  g_free (px);
  bt_context_free (ctx);
  bt_model_unref (m);
  return TRUE;
}

/* Which query ranks first for each image, by `s`: how often two precisions
 * agree. */
static int
top1_agree (const double *a, const double *b, int n_images)
{
  int same = 0;
  for (int i = 0; i < n_images; i++) {
    int ta = 0, tb = 0;
    for (int q = 1; q < N_Q; q++) {
      if (a[i * N_Q + q] > a[i * N_Q + ta])
        ta = q;
      if (b[i * N_Q + q] > b[i * N_Q + tb])
        tb = q;
    }
    same += ta == tb;
  }
  return same;
}

int
main (int argc, char **argv)
{
  int n_images = 4, threads = 0;
  GOptionEntry entries[] = {
    { "images", 'n', 0, G_OPTION_ARG_INT, &n_images, "images (default 4)",
      "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = cores)",
      "T" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (
      "DIR - bf16 and int8 scores against float32");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || n_images < 1) {
    fprintf (stderr, "usage: bench-precision DIR [--images N] [--threads T]"
             "%s%s\n", error ? ": " : "", error ? error->message : "");
    return 2;
  }

  const int n = n_images * N_Q;
  double *prob[G_N_ELEMENTS (precisions)], *sim[G_N_ELEMENTS (precisions)];
  gboolean ran[G_N_ELEMENTS (precisions)];
  for (guint k = 0; k < G_N_ELEMENTS (precisions); k++) {
    prob[k] = g_new (double, n);
    sim[k] = g_new (double, n);
    ran[k] = score (argv[1], &precisions[k], n_images, threads, prob[k],
                    sim[k]);
  }
  if (!ran[0])
    return 1;
  printf ("%d images x %d queries; against fp32:\n", n_images, N_Q);
  printf ("%-5s %12s %12s %12s %12s %9s %9s\n", "", "ITM P max", "ITM P mean",
          "ITC sim max", "ITC sim mean", "top1 ITM", "top1 ITC");
  for (guint k = 1; k < G_N_ELEMENTS (precisions); k++) {
    if (!ran[k])
      continue;
    double pmax = 0, psum = 0, smax = 0, ssum = 0;
    for (int i = 0; i < n; i++) {
      double dp = fabs (prob[k][i] - prob[0][i]);
      double ds = fabs (sim[k][i] - sim[0][i]);
      pmax = MAX (pmax, dp);
      psum += dp;
      smax = MAX (smax, ds);
      ssum += ds;
    }
    printf ("%-5s %12.2e %12.2e %12.2e %12.2e %5d/%-3d %5d/%-3d\n",
            precisions[k].name, pmax, psum / n, smax, ssum / n,
            top1_agree (prob[k], prob[0], n_images), n_images,
            top1_agree (sim[k], sim[0], n_images), n_images);
  }
  double prange[2] = { 1, 0 }, srange[2] = { 1, -1 };
  for (int i = 0; i < n; i++) {
    prange[0] = MIN (prange[0], prob[0][i]);
    prange[1] = MAX (prange[1], prob[0][i]);
    srange[0] = MIN (srange[0], sim[0][i]);
    srange[1] = MAX (srange[1], sim[0][i]);
  }
  printf ("fp32 ranges: ITM P %.4f .. %.4f, ITC sim %.4f .. %.4f\n",
          prange[0], prange[1], srange[0], srange[1]);
  for (guint k = 0; k < G_N_ELEMENTS (precisions); k++) {
    g_free (prob[k]);
    g_free (sim[k]);
  }
  return 0;
}
