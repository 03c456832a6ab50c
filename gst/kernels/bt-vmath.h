/* bt-vmath.h - vector float32 exp and erf and the element-wise kernels
 * built on them (private): GELU, QuickGELU, masked softmax rows.
 *
 * Each is built for AVX-512, AVX2 + FMA and plain x86-64 (SSE2); the best
 * variant the CPU runs is picked once, at first use. All variants compute
 * the same formulas, lane for lane, so results depend only on the ISA's
 * rounding (FMA contraction); docs/performance.md states the error bounds
 * and tests/test-vmath.c checks them on every variant the CPU runs.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *isa;             /* "avx512", "avx2", "sse2" */
  /* y[i] = e^x[i]: 0 below -87.34 (where expf turns subnormal), clamped
   * to e^88.72 above */
  void (*exp) (const float *x, float *y, gsize n);
  /* y[i] = erf (x[i]) */
  void (*erf) (const float *x, float *y, gsize n);
  /* in place: x/2 (1 + erf (x / sqrt 2)), HF's exact "gelu" */
  void (*gelu) (float *x, gsize n);
  /* in place: x / (1 + e^(-1.702 x)), CLIP's QuickGELU */
  void (*quick_gelu) (float *x, gsize n);
  /* in place, each of `rows` rows of `width` floats: softmax (x + mask),
   * `mask` (width floats added to every row, HF's extended attention
   * mask) may be NULL */
  void (*softmax_rows) (float *x, int rows, int width, const float *mask);
} BtVmath;

/* The fastest variant this CPU runs. */
const BtVmath *bt_vmath (void);

/* Every variant this CPU runs, fastest first, NULL-terminated (for the
 * accuracy test). */
const BtVmath *const *bt_vmath_variants (void);

G_END_DECLS
