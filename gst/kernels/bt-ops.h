/* bt-ops.h - float32 tensor operations of the forward pass (private).
 *
 * Activations are row-major [rows, width]. The linear layer, on typed
 * weights, is bt-linear.h.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  BT_ACT_NONE,
  BT_ACT_GELU,                 /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  BT_ACT_QUICK_GELU,           /* x * sigmoid(1.702 x) (CLIP) */
  BT_ACT_TANH,
} BtActivation;

void bt_activation (float *x, gsize n, BtActivation act);

/* Row-wise LayerNorm over `width` floats, `src` may equal `dst`. */
void bt_layer_norm (const float *src, float *dst, int rows, int width,
                    const float *weight, const float *bias, double eps);

/* dst = src + add, element-wise (n floats). */
void bt_add (const float *src, const float *add, float *dst, gsize n);

/* Row-wise softmax in place. */
void bt_softmax_rows (float *x, int rows, int width);

/* Multi-head scaled dot-product attention of one sequence.
 * q: [n_q, heads * d] (row stride ldq), k and v: [n_k, heads * d] (row
 * strides ldk, ldv), out: [n_q, heads * d] (row stride ldo).
 * `mask_bias` (n_k floats, may be NULL) is added to every score row, as
 * HF's extended attention mask. `scratch` holds heads * n_q * n_k floats. */
void bt_attention (const float *q, int ldq, const float *k, int ldk,
                   const float *v, int ldv, int n_q, int n_k, int heads,
                   int head_dim, const float *mask_bias, float *scratch,
                   float *out, int ldo);

/* bt_attention with bf16 products when `bf16` (a bf16 model): the fused
 * kernel on AVX512-BF16 CPUs (gst/bf16/bt-bf16-attention.h), else oneDNN's
 * when the problem is big enough for its per-call cost to pay (64 x 64
 * scores a head and up; gst/bf16/bt-bf16.h); float32 otherwise. */
void bt_attention_maybe_bf16 (gboolean bf16, const float *q, int ldq,
                              const float *k, int ldk, const float *v, int ldv,
                              int n_q, int n_k, int heads, int head_dim,
                              const float *mask_bias, float *scratch,
                              float *out, int ldo);

/* L2-normalises `n` floats in place (torch's normalize, eps 1e-12). */
void bt_l2_normalize (float *x, int n);

/* torch's interpolate(mode="bicubic", align_corners=False) of a grid of
 * `dim`-float cells: src [in_h, in_w, dim] -> dst [out_h, out_w, dim]. */
void bt_bicubic_resize (const float *src, int in_h, int in_w, int dim,
                        float *dst, int out_h, int out_w);

/* Gathers the non-overlapping `patch` x `patch` tiles of a C x H x W image
 * (remainder rows and columns dropped) into rows of C * patch * patch
 * floats in (c, y, x) order: the patch convolution becomes a GEMM. */
void bt_im2col_patches (const float *image, int channels, int height,
                        int width, int patch, float *cols);

G_END_DECLS
