/* bt-bf16-attention.h - multi-head attention fused in one pass on
 * AVX512-BF16 (private).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when this CPU has AVX512-BF16 (vdpbf16ps), which the fused kernel
 * needs; without it bf16 models take oneDNN's attention (bt-bf16.h). */
gboolean bt_bf16_fused_attention_supported (void);

/* bt_bf16_attention's contract and rounding (Q, K, V and the probabilities
 * to bf16; scores, softmax and outputs in float32) without oneDNN: per head
 * and per block of query rows, the scores with vdpbf16ps, the masked softmax
 * of bt-vmath, and P V with vdpbf16ps straight into `out`. No per-call cost
 * beyond packing K and V once per head, so it pays at every size. Heads run
 * on the compute budget (callers hold the compute lock, bt-compute.h); work
 * memory is each thread's own and grows only when a larger problem comes. */
void bt_bf16_fused_attention (const float *q, int ldq, const float *k, int ldk,
                              const float *v, int ldv, int n_q, int n_k,
                              int heads, int head_dim, const float *mask_bias,
                              float *out, int ldo);

G_END_DECLS
