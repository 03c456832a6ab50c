/* bt-bf16.h - the opt-in reduced-precision linear layer on oneDNN (private,
 * not installed).
 *
 * y = act (x W^T + b) with float32 input and output and bfloat16 products
 * accumulated in float32, through oneDNN's matmul on the CPU's bf16 units
 * (AVX512-BF16 or AMX), or int8 products accumulated in int32 on its VNNI
 * units. The float32 weights are converted once, at creation, into the
 * blocked layout oneDNN's kernel wants; only that copy is kept.
 * Built as stubs that report BT_ERROR_UNSUPPORTED when meson found no oneDNN.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* What is fused into the product's output z = x W^T + b. */
typedef enum {
  BT_BF16_POST_NONE,        /* y = z */
  BT_BF16_POST_GELU_ERF,    /* y = z/2 (1 + erf (z / sqrt 2)): RoBERTa, BERT */
  BT_BF16_POST_QUICK_GELU,  /* y = z sigmoid (1.702 z): CLIP's MLP */
  BT_BF16_POST_TANH,        /* y = tanh (z): poolers */
  BT_BF16_POST_ACCUMULATE,  /* y += z: a residual branch */
} BtBf16Post;

typedef struct _BtBf16Linear BtBf16Linear;

/* TRUE when the library was built with oneDNN and this CPU has bf16 units;
 * otherwise BT_ERROR_UNSUPPORTED saying which is missing. */
gboolean bt_bf16_available (GError **error);
/* The same for int8: oneDNN present and a CPU with VNNI (AVX512-VNNI or
 * AVX-VNNI). */
gboolean bt_int8_available (GError **error);

/* The compute threads each forward call uses (0 = number of cores). The
 * count is per process; the model sets it with its own thread budget. */
void bt_bf16_set_num_threads (int n);

/* `weight`: out x in, row-major (the checkpoint's [out, in]); `bias`: out
 * floats or NULL. Neither is referenced after the call. */
BtBf16Linear *bt_bf16_linear_new (const float *weight, const float *bias,
                                  int out, int in, GError **error);
/* The same layer with int8 products: each output channel's weights are
 * quantized symmetrically (scale max |w_n| / 127, rounded to nearest), x
 * is quantized per call with one scale (max |x| / 127), the int32 sums are
 * rescaled to float32 and the bias and post-op applied (docs/int8.md gives
 * the error bound). Forward is bt_bf16_linear_forward; it fails with
 * BT_ERROR_INPUT when x holds NaN or infinity. */
BtBf16Linear *bt_int8_linear_new (const float *weight, const float *bias,
                                  int out, int in, GError **error);
void bt_bf16_linear_free (BtBf16Linear *l);

int bt_bf16_linear_get_in (const BtBf16Linear *l);
int bt_bf16_linear_get_out (const BtBf16Linear *l);
/* Bytes of converted weights this linear holds. */
gsize bt_bf16_linear_get_weight_bytes (const BtBf16Linear *l);

/* `x`: rows x in, `y`: rows x out, both float32 row-major with row strides
 * `ldx` and `ldy` (0 = in and out), not overlapping. Safe to call from
 * several threads at once. The first call with a given (rows, strides,
 * post, thread count) builds oneDNN's kernel for it (a millisecond or two,
 * shared by every linear of the same out, in and bias presence); later
 * calls reuse it and the calling thread's work buffers. FALSE only when
 * oneDNN fails (out of memory, a shape it cannot build). */
gboolean bt_bf16_linear_forward (BtBf16Linear *l, const float *x, int rows,
                                 int ldx, float *y, int ldy, BtBf16Post post,
                                 GError **error);

/* Multi-head scaled dot-product attention with bf16 products, the contract
 * of bt_attention (gst/kernels/bt-ops.h) without its scratch: q [n_q, heads * d]
 * (row stride ldq), k and v [n_k, heads * d] (ldk, ldv), `mask_bias` (n_k
 * floats added to every score row) or NULL, out [n_q, heads * d] (ldo).
 * Q, K, V and the probabilities are rounded to bf16; scores, softmax and
 * outputs are float32. Pays from about 64 x 64 scores per head (below,
 * oneDNN's per-call cost dominates). FALSE only when oneDNN fails. */
gboolean bt_bf16_attention (const float *q, int ldq, const float *k, int ldk,
                            const float *v, int ldv, int n_q, int n_k,
                            int heads, int head_dim, const float *mask_bias,
                            float *out, int ldo, GError **error);

/* What oneDNN runs on this CPU ("avx512_core_bf16", "avx512_core_amx"), for
 * logs and benchmark reports; "none" without oneDNN. */
const char *bt_bf16_isa_name (void);

G_END_DECLS
