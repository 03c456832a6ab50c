/* bt-linear.h - the typed linear weight and the linear op (private).
 *
 * A BtLinear is one nn.Linear of the checkpoint: its shape, the form the
 * op runs (float32 from the checkpoint's pages, or oneDNN's packed bf16 or
 * int8)
 * and its bias. bt_linear dispatches on that form, so the towers read the
 * same in every precision and a failure comes back as a GError.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-bf16.h"
#include "bt-common.h"
#include "bt-ops.h"

G_BEGIN_DECLS

typedef struct {
  int out, in;                 /* the weight is [out, in] */
  BtDType dtype;               /* the form bt_linear runs: F32, BF16 or I8 */
  const float *w;              /* float32 [out, in]; NULL once released */
  const float *b;              /* [out] float32, or NULL */
  BtBf16Linear *bf16;          /* dtype BF16 or I8: oneDNN's packed weight */
} BtLinear;

/* Packs the weight into bf16 (dtype becomes BF16) and adds the packed
 * bytes to *bytes. The float32 view stays valid: the caller releases it
 * (bt_linear_release_f32) once nothing else reads those pages. */
gboolean bt_linear_to_bf16 (BtLinear *l, gsize *bytes, GError **error);
/* The same into int8 with per-channel scales (dtype becomes I8). */
gboolean bt_linear_to_int8 (BtLinear *l, gsize *bytes, GError **error);

/* Hands the float32 weight's whole pages back to the kernel and forgets
 * the view; returns the bytes released. Only for a packed weight. */
gsize bt_linear_release_f32 (BtLinear *l);

/* Frees the packed forms (the float32 view is never owned). */
void bt_linear_clear (BtLinear *l);

/* y[m, out] = act(x[m, in] . w^T + b). `ldx` and `ldy` are the row
 * strides of x and y (0 = in and out). FALSE only when the bf16 backend
 * fails (out of memory, a shape it cannot build). */
gboolean bt_linear (const BtLinear *l, const float *x, int m, int ldx,
                    float *y, int ldy, BtActivation act, GError **error);

/* y[m, out] += x . w^T + b (a residual branch added in place). */
gboolean bt_linear_residual (const BtLinear *l, const float *x, int m,
                             float *y, GError **error);

G_END_DECLS
