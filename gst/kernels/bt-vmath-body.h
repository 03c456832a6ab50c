/* bt-vmath-body.h - the kernels of bt-vmath.c, written once on GCC/clang
 * vector extensions and included there once per ISA, with
 *   VM_LANES   floats per vector (16, 8 or 4),
 *   VM_TARGET  the function attribute that enables the ISA (may be empty),
 *   VM(name)   the name with the variant's suffix.
 * Every helper carries VM_TARGET and is inlined into the array kernels, so
 * no vector crosses a function boundary compiled for another ISA.
 *
 * SPDX-License-Identifier: MIT
 */

typedef float VM (vf) __attribute__ ((vector_size (VM_LANES * 4)));
typedef gint32 VM (vi) __attribute__ ((vector_size (VM_LANES * 4)));
#define VF VM (vf)
#define VI VM (vi)
#define VM_INLINE static inline __attribute__ ((always_inline)) VM_TARGET

VM_INLINE VF
VM (splat) (float v)
{
  VF zero = { 0 };
  return zero + v;
}

VM_INLINE VI
VM (isplat) (gint32 v)
{
  VI zero = { 0 };
  return zero + v;
}

/* mask ? a : b, lane by lane (C has no vector ?:) */
VM_INLINE VF
VM (select) (VI mask, VF a, VF b)
{
  VI ai, bi;
  memcpy (&ai, &a, sizeof ai);
  memcpy (&bi, &b, sizeof bi);
  ai = (ai & mask) | (bi & ~mask);
  memcpy (&a, &ai, sizeof a);
  return a;
}

/* c[0] x^(n-1) + ... + c[n-1], Horner's scheme */
VM_INLINE VF
VM (horner) (VF x, const float *c, int n)
{
  VF p = VM (splat) (c[0]);
  for (int i = 1; i < n; i++)
    p = p * x + c[i];
  return p;
}

/* The first n floats of p, the other lanes `fill`. */
VM_INLINE VF
VM (load_part) (const float *p, gsize n, float fill)
{
  VF v = VM (splat) (fill);
  memcpy (&v, p, n * sizeof (float));
  return v;
}

/* e^x: x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts, the
 * first exact in 9 bits so n * part1 is exact for |n| <= 128), e^r by
 * Cephes' degree-5 minimax polynomial for (e^r - 1 - r) / r^2, and 2^n
 * put into the exponent bits. n = 128 (x above 127.5 ln2, the result
 * still finite) is done as 2^127 * 2. */
VM_INLINE VF
VM (exp_v) (VF x)
{
  const VF lo = VM (splat) (BT_VM_EXP_LO), hi = VM (splat) (BT_VM_EXP_HI);
  const VF round = VM (splat) (12582912.0f);   /* 1.5 * 2^23 */
  VI under = x < lo, over = x > hi;
  x = VM (select) (under, lo, x);
  x = VM (select) (over, hi, x);
  VF n = (x * 1.44269504088896341f + round) - round;
  VF r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  VF p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  VI ni = __builtin_convertvector (n, VI);
  VI top = ni > VM (isplat) (127);       /* -1 where n = 128 */
  VI bits = (ni + top + 127) << 23;
  VF scale;
  memcpy (&scale, &bits, sizeof scale);
  VF y = p * scale;
  y = VM (select) (top, y * 2.0f, y);
  y = VM (select) (over, VM (splat) (INFINITY), y);
  return VM (select) (under, VM (splat) (0.0f), y);
}

/* erf(x), odd: for |x| < 1 x P(x^2) (degree 6 in x^2, evaluated as
 * x + x (P(x^2) - 1): the leading x exact, so the rounding of the
 * polynomial lands on a term at most a fifth of the result); for 1 <= |x| <
 * 3.92 1 - e^(-x^2) R(|x| - 2.46) (R of degree 10 approximates
 * erfc(x) e^(x^2), smooth between 0.43 and 0.14); beyond 3.92 erf rounds
 * to 1 in float32. Both fits are Chebyshev interpolants computed for this
 * code (docs/performance.md). */
VM_INLINE VF
VM (erf_v) (VF x)
{
  const VI sign_bit = VM (isplat) (G_MININT32);
  VI xi, si;
  memcpy (&xi, &x, sizeof xi);
  si = xi & sign_bit;
  xi = xi & ~sign_bit;
  VF a;
  memcpy (&a, &xi, sizeof a);

  VF t = a * a;
  VF ps = VM (horner) (t, erf_small, G_N_ELEMENTS (erf_small));
  VF small = a + a * ps;

  const VF cap = VM (splat) (3.92f);
  VF ac = VM (select) (a > cap, cap, a);
  VF pr = VM (horner) (ac - 2.46f, erf_big, G_N_ELEMENTS (erf_big));
  VF big = 1.0f - VM (exp_v) (-(ac * ac)) * pr;

  VF y = VM (select) (a < VM (splat) (1.0f), small, big);
  VI yi;
  memcpy (&yi, &y, sizeof yi);
  yi |= si;
  memcpy (&y, &yi, sizeof y);
  return y;
}

/* torch's order: x * 0.5 * (1 + erf (x * M_SQRT1_2)) */
VM_INLINE VF
VM (gelu_v) (VF x)
{
  return 0.5f * x * (1.0f + VM (erf_v) (x * (float) M_SQRT1_2));
}

VM_INLINE VF
VM (quick_gelu_v) (VF x)
{
  return x / (1.0f + VM (exp_v) (x * -1.702f));
}

/* y[i] = fn (x[i]) for n floats (x may be y); the tail as one vector. */
#define VM_MAP(fn, x, y, n)                                         \
  do {                                                              \
    gsize i_ = 0;                                                   \
    for (; i_ + VM_LANES <= (n); i_ += VM_LANES) {                  \
      VF v_;                                                        \
      memcpy (&v_, (x) + i_, sizeof v_);                            \
      v_ = fn (v_);                                                 \
      memcpy ((y) + i_, &v_, sizeof v_);                            \
    }                                                               \
    if (i_ < (n)) {                                                 \
      VF v_ = fn (VM (load_part) ((x) + i_, (n) - i_, 0.0f));       \
      memcpy ((y) + i_, &v_, ((n) - i_) * sizeof (float));          \
    }                                                               \
  } while (0)

VM_TARGET static void
VM (exp) (const float *x, float *y, gsize n)
{
  VM_MAP (VM (exp_v), x, y, n);
}

VM_TARGET static void
VM (erf) (const float *x, float *y, gsize n)
{
  VM_MAP (VM (erf_v), x, y, n);
}

VM_TARGET static void
VM (gelu) (float *x, gsize n)
{
  VM_MAP (VM (gelu_v), x, x, n);
}

VM_TARGET static void
VM (quick_gelu) (float *x, gsize n)
{
  VM_MAP (VM (quick_gelu_v), x, x, n);
}

/* Three passes over a row that stays in L1: the masked scores and their
 * max, e^(s - max) and its sum, the scale. (A one-pass online softmax
 * would compute every exp twice.) The tail is one vector padded with
 * -inf, whose exp is 0. */
VM_TARGET static void
VM (softmax_rows) (float *x, int rows, int width, const float *mask)
{
  const gsize w = (gsize) width, full = w - w % VM_LANES;
  for (int r = 0; r < rows; r++) {
    float *row = x + (gsize) r * w;
    VF vmax = VM (splat) (-INFINITY), v;
    gsize i = 0;
    for (; i < full; i += VM_LANES) {
      memcpy (&v, row + i, sizeof v);
      if (mask) {
        VF m;
        memcpy (&m, mask + i, sizeof m);
        v += m;
        memcpy (row + i, &v, sizeof v);
      }
      vmax = VM (select) (v > vmax, v, vmax);
    }
    if (i < w) {
      v = VM (load_part) (row + i, w - i, -INFINITY);
      if (mask) {
        v += VM (load_part) (mask + i, w - i, 0.0f);
        memcpy (row + i, &v, (w - i) * sizeof (float));
      }
      vmax = VM (select) (v > vmax, v, vmax);
    }
    float max = vmax[0];
    for (int l = 1; l < VM_LANES; l++)
      max = MAX (max, vmax[l]);

    VF vsum = VM (splat) (0.0f);
    for (i = 0; i < full; i += VM_LANES) {
      memcpy (&v, row + i, sizeof v);
      v = VM (exp_v) (v - max);
      memcpy (row + i, &v, sizeof v);
      vsum += v;
    }
    if (i < w) {
      v = VM (exp_v) (VM (load_part) (row + i, w - i, -INFINITY) - max);
      memcpy (row + i, &v, (w - i) * sizeof (float));
      vsum += v;
    }
    float sum = 0.0f;
    for (int l = 0; l < VM_LANES; l++)
      sum += vsum[l];

    const float inv = 1.0f / sum;
    for (i = 0; i < full; i += VM_LANES) {
      memcpy (&v, row + i, sizeof v);
      v *= inv;
      memcpy (row + i, &v, sizeof v);
    }
    for (; i < w; i++)
      row[i] *= inv;
  }
}

#undef VM_MAP
#undef VM_INLINE
#undef VI
#undef VF
