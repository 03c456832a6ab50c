/* test-vmath.c - the vector exp and erf against libm in double precision,
 * on every variant this CPU runs (AVX-512, AVX2, SSE2), and the bounds
 * docs/performance.md states for them: dense sweeps of the float range,
 * every float where the erf approximation changes pieces. */
#include "bt-vmath.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The stated bounds (docs/performance.md, "The vector exp and erf"), in
 * units in the last place of the exact result's float32 binade. */
#define EXP_MAX_ULP 1.5
#define ERF_MAX_ULP 2.0
/* GELU absolute error against 0.5 x (1 + erf (x / sqrt 2)) in double,
 * relative to max(|x|, 1) (for x < 0 the float32 sum 1 + erf cancels, in
 * torch's float32 GELU too) */
#define GELU_MAX_ERR 3.0e-7

#define BLOCK 4096

static double
ulp_of (double r)
{
  int e = r == 0.0 ? -126 : MAX (ilogb (r), -126);
  return ldexp (1.0, e - 23);
}

typedef struct {
  double max_ulp;
  float worst_x;
} Err;

static void
note (Err *e, float x, float y, double ref)
{
  double u = fabs ((double) y - ref) / ulp_of (ref);
  if (!(u <= e->max_ulp)) {
    e->max_ulp = isnan (u) ? INFINITY : u;
    e->worst_x = x;
  }
}

typedef void (*Fn) (const float *x, float *y, gsize n);
typedef double (*Ref) (double x);

/* Floats from bit pattern `from` up to `to` (inclusive, same sign) every
 * `step` patterns, both signs when `both`; one error per variant. */
static void
sweep (guint32 from, guint32 to, guint32 step, gboolean both, gsize fn_offset,
       Ref ref, Err *err)
{
  const BtVmath *const *v = bt_vmath_variants ();
  static float x[BLOCK], y[BLOCK];
  static double want[BLOCK];
  guint64 bits = from;

  while (bits <= to) {
    int n = 0;
    for (; n < BLOCK && bits <= to; bits += step) {
      guint32 b = (guint32) bits;
      for (int s = 0; s < (both ? 2 : 1) && n < BLOCK; s++) {
        guint32 sb = b | (s ? 0x80000000u : 0u);
        memcpy (&x[n], &sb, sizeof (float));
        want[n] = ref (x[n]);
        n++;
      }
    }
    for (int k = 0; v[k]; k++) {
      Fn fn = G_STRUCT_MEMBER (Fn, v[k], fn_offset);
      fn (x, y, (gsize) n);
      for (int i = 0; i < n; i++)
        note (&err[k], x[i], y[i], want[i]);
    }
  }
}

static guint32
bits_of (float f)
{
  guint32 b;
  memcpy (&b, &f, sizeof b);
  return b;
}

static void
report (const char *what, const Err *err, double bound)
{
  const BtVmath *const *v = bt_vmath_variants ();
  for (int k = 0; v[k]; k++) {
    g_test_message ("%s %s: max %.3f ulp at x = %.9g", what, v[k]->isa,
                    err[k].max_ulp, err[k].worst_x);
    g_assert_cmpfloat (err[k].max_ulp, <=, bound);
  }
}

/* exp over its whole normal range: every 61st float (about 37 million),
 * then the edges. */
static void
test_exp (void)
{
  Err err[4] = { { 0 } };
  const BtVmath *const *v = bt_vmath_variants ();

  /* x > 0 up to ln FLT_MAX, x < 0 down to where the result stays normal */
  sweep (0, bits_of (88.7228f), 61, FALSE, G_STRUCT_OFFSET (BtVmath, exp),
         exp, err);
  sweep (0x80000000u, bits_of (-87.3365f), 61, FALSE,
         G_STRUCT_OFFSET (BtVmath, exp), exp, err);
  report ("exp", err, EXP_MAX_ULP);

  /* below the normal range 0 (the softmax's masked scores), above it inf,
   * NaN stays NaN */
  const float edge[] = { -87.5f, -100.0f, -FLT_MAX, -INFINITY, 89.0f,
                         INFINITY, NAN };
  float y[G_N_ELEMENTS (edge)];
  for (int k = 0; v[k]; k++) {
    v[k]->exp (edge, y, G_N_ELEMENTS (edge));
    for (int i = 0; i < 4; i++)
      g_assert_cmpfloat (y[i], ==, 0.0f);
    g_assert_cmpfloat (y[4], ==, INFINITY);
    g_assert_cmpfloat (y[5], ==, INFINITY);
    g_assert_true (isnan (y[6]));
  }
}

/* erf: every 61st float in [-10, 10] (about 36 million, tiny ones
 * included), every float with 0.75 <= |x| <= 1.25 (where the two pieces
 * meet: 6 million) and every 3rd with 1.25 < |x| <= 4.5 (where erf
 * reaches 1: 9 million), then the edges. */
static void
test_erf (void)
{
  Err err[4] = { { 0 } };
  const BtVmath *const *v = bt_vmath_variants ();
  const gsize off = G_STRUCT_OFFSET (BtVmath, erf);

  sweep (0, bits_of (10.0f), 61, TRUE, off, erf, err);
  sweep (bits_of (0.75f), bits_of (1.25f), 1, TRUE, off, erf, err);
  sweep (bits_of (1.25f), bits_of (4.5f), 3, TRUE, off, erf, err);
  report ("erf", err, ERF_MAX_ULP);

  const float edge[] = { 0.0f, -0.0f, INFINITY, -INFINITY, 1e30f, NAN };
  float y[G_N_ELEMENTS (edge)];
  for (int k = 0; v[k]; k++) {
    v[k]->erf (edge, y, G_N_ELEMENTS (edge));
    g_assert_cmpfloat (y[0], ==, 0.0f);
    g_assert_true (signbit (y[1]));
    g_assert_cmpfloat (y[2], ==, 1.0f);
    g_assert_cmpfloat (y[3], ==, -1.0f);
    g_assert_cmpfloat (y[4], ==, 1.0f);
    g_assert_true (isnan (y[5]));
  }
}

/* GELU and QuickGELU on a fine grid of [-12, 12], tails of every length. */
static void
test_activations (void)
{
  enum { N = 240001 };
  const BtVmath *const *v = bt_vmath_variants ();
  float *x = g_new (float, N), *y = g_new (float, N);

  for (int k = 0; v[k]; k++) {
    double gelu_err = 0.0, quick_err = 0.0;
    for (int len = 1; len <= 17; len++) {
      for (int i = 0; i < N; i++)
        x[i] = -12.0f + 24.0f * i / (N - 1);
      const int n = N - 17 + len;
      memcpy (y, x, sizeof (float) * n);
      v[k]->gelu (y, n);
      for (int i = 0; i < n; i++) {
        double xd = x[i], want = 0.5 * xd * (1.0 + erf (xd * M_SQRT1_2));
        gelu_err = MAX (gelu_err, fabs (y[i] - want) / MAX (fabs (xd), 1.0));
      }
      memcpy (y, x, sizeof (float) * n);
      v[k]->quick_gelu (y, n);
      for (int i = 0; i < n; i++) {
        double xd = x[i], want = xd / (1.0 + exp (-1.702 * xd));
        quick_err = MAX (quick_err,
                         fabs (y[i] - want) / MAX (fabs (want), 1e-3));
      }
    }
    g_test_message ("%s: GELU max abs error %.2e (relative to max(|x|, 1)), "
                    "QuickGELU max relative error %.2e", v[k]->isa, gelu_err,
                    quick_err);
    g_assert_cmpfloat (gelu_err, <=, GELU_MAX_ERR);
    g_assert_cmpfloat (quick_err, <=, 1e-6);
  }
  g_free (x);
  g_free (y);
}

/* Softmax with HF's mask: masked columns get exactly 0, a row whose keys
 * are all masked is uniform (as torch's softmax of equal scores), each
 * row sums to 1; every width up to 40 (tails). */
static void
test_softmax_mask (void)
{
  const BtVmath *const *v = bt_vmath_variants ();
  float x[2 * 40], mask[40];

  for (int k = 0; v[k]; k++) {
    for (int w = 1; w <= 40; w++) {
      for (int i = 0; i < w; i++) {
        x[i] = (float) sin (i * 1.3) * 5.0f;
        x[w + i] = (float) cos (i * 0.7);
        mask[i] = i % 3 == 1 ? -FLT_MAX : 0.0f;
      }
      v[k]->softmax_rows (x, 2, w, mask);
      double sum = 0.0;
      for (int i = 0; i < w; i++) {
        if (mask[i] != 0.0f)
          g_assert_cmpfloat (x[i], ==, 0.0f);
        sum += x[i];
      }
      g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-6);
      for (int i = 0; i < w; i++)
        mask[i] = -FLT_MAX;
      v[k]->softmax_rows (x, 1, w, mask);
      for (int i = 0; i < w; i++)
        g_assert_cmpfloat (fabs (x[i] - 1.0 / w), <, 1e-6);
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (const BtVmath *const *v = bt_vmath_variants (); *v; v++)
    g_test_message ("variant %s", (*v)->isa);
  g_test_add_func ("/vmath/exp", test_exp);
  g_test_add_func ("/vmath/erf", test_erf);
  g_test_add_func ("/vmath/activations", test_activations);
  g_test_add_func ("/vmath/softmax-mask", test_softmax_mask);
  return g_test_run ();
}
