/* bt-layer.c - the BERT layer (RoBERTa text layers and the cross-modal
 * layers): attention, optional cross-attention, FFN, each post-LN, on
 * several sequences at once so every projection is one GEMM over all rows.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

static int
max_len (const BtSeg *seg, int n)
{
  int m = 0;
  for (int i = 0; i < n; i++)
    m = MAX (m, seg[i].len);
  return m;
}

static int
total_rows (const BtSeg *seg, int n)
{
  return n > 0 ? seg[n - 1].off + seg[n - 1].len : 0;
}

gboolean
bt_bert_attention (BtContext *ctx, const BtAttentionW *w, int hidden,
                   int heads, double eps, const float *xq, int n_q_rows,
                   const BtSeg *q_seg, gboolean cls_only, const float *kv,
                   const BtSeg *kv_seg, int n, const float *kv_mask,
                   const float *const *q_pre, const float *const *k_pre,
                   const float *const *v_pre, float *out, GError **error)
{
  const int head_dim = hidden / heads;
  const int kv_max = max_len (kv_seg, n);
  const int q_max = cls_only ? 1 : max_len (q_seg, n);
  float *q = NULL, *k = NULL, *v = NULL;

  if (!q_pre) {
    q = bt_context_buffer (ctx, BT_WS_QKV, (gsize) n_q_rows * hidden);
    if (!bt_linear (&w->query, xq, n_q_rows, 0, q, 0, BT_ACT_NONE, error))
      return FALSE;
  }
  if (!k_pre) {
    const int kv_rows = total_rows (kv_seg, n);
    k = bt_context_buffer (ctx, BT_WS_LAYER_K, (gsize) kv_rows * hidden);
    v = bt_context_buffer (ctx, BT_WS_LAYER_V, (gsize) kv_rows * hidden);
    if (!bt_linear (&w->key, kv, kv_rows, 0, k, 0, BT_ACT_NONE, error)
        || !bt_linear (&w->value, kv, kv_rows, 0, v, 0, BT_ACT_NONE, error))
      return FALSE;
  }
  float *att = bt_context_buffer (ctx, BT_WS_CTX, (gsize) n_q_rows * hidden);
  float *scores = bt_context_buffer (ctx, BT_WS_SCORES,
                                     (gsize) heads * q_max * kv_max);

  for (int i = 0; i < n; i++) {
    int q_off = cls_only ? i : q_seg[i].off;
    int q_len = cls_only ? 1 : q_seg[i].len;
    gsize k_off = (gsize) kv_seg[i].off * hidden;
    const float *qi = q_pre ? q_pre[i] : q + (gsize) q_off * hidden;
    const float *ki = k_pre ? k_pre[i] : k + k_off;
    const float *vi = v_pre ? v_pre[i] : v + k_off;
    bt_attention_maybe_bf16 (ctx->model->precision == BT_PRECISION_BF16,
                             qi, hidden, ki, hidden, vi, hidden, q_len,
                             kv_seg[i].len, heads, head_dim,
                             kv_mask ? kv_mask + kv_seg[i].off : NULL, scores,
                             att + (gsize) q_off * hidden, hidden);
  }

  if (out != xq)
    memcpy (out, xq, sizeof (float) * n_q_rows * hidden);
  if (!bt_linear_residual (&w->out, att, n_q_rows, out, error))
    return FALSE;
  bt_layer_norm (out, out, n_q_rows, hidden, w->norm.w, w->norm.b, eps);
  return TRUE;
}

gboolean
bt_bert_layer (BtContext *ctx, const BtLayerW *w, int hidden, int heads,
               int intermediate, double eps, const float *x,
               const BtSeg *seg, int n, const float *mask_bias,
               const float *enc, const BtSeg *enc_seg, const float *enc_mask,
               const BtLayerShortcut *sc, gboolean cls_only, float *out,
               GError **error)
{
  const int rows = total_rows (seg, n);
  const int q_rows = cls_only ? n : rows;
  const float *xq = x;

  if (cls_only && x) {
    float *cls = bt_context_buffer (ctx, BT_WS_CLS, (gsize) n * hidden);
    for (int i = 0; i < n; i++)
      memcpy (cls + (gsize) i * hidden, x + (gsize) seg[i].off * hidden,
              sizeof (float) * hidden);
    xq = cls;
  }

  float *a = bt_context_buffer (ctx, BT_WS_LAYER_A, (gsize) q_rows * hidden);
  if (sc && sc->self_out) {
    for (int i = 0; i < n; i++) {
      int q_off = cls_only ? i : seg[i].off;
      int q_len = cls_only ? 1 : seg[i].len;
      memcpy (a + (gsize) q_off * hidden, sc->self_out[i],
              sizeof (float) * q_len * hidden);
    }
  } else if (!bt_bert_attention (ctx, &w->attention, hidden, heads, eps, xq,
                                  q_rows, seg, cls_only, x, seg, n, mask_bias,
                                  NULL, NULL, NULL, a, error)) {
    return FALSE;
  }

  if (enc || (sc && sc->enc_k)) {
    float *b = bt_context_buffer (ctx, BT_WS_LAYER_B, (gsize) q_rows * hidden);
    if (!bt_bert_attention (ctx, &w->crossattention, hidden, heads, eps, a,
                            q_rows, seg, cls_only, enc, enc_seg, n, enc_mask,
                            sc ? sc->cross_q : NULL, sc ? sc->enc_k : NULL,
                            sc ? sc->enc_v : NULL, b, error))
      return FALSE;
    a = b;
  }

  float *h = bt_context_buffer (ctx, BT_WS_HIDDEN,
                                (gsize) q_rows * intermediate);
  if (!bt_linear (&w->intermediate, a, q_rows, 0, h, 0, BT_ACT_GELU, error))
    return FALSE;
  memcpy (out, a, sizeof (float) * q_rows * hidden);
  if (!bt_linear_residual (&w->output, h, q_rows, out, error))
    return FALSE;
  bt_layer_norm (out, out, q_rows, hidden, w->output_norm.w,
                 w->output_norm.b, eps);
  return TRUE;
}
