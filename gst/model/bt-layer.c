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

/* The query rows of sequence i: its own rows, or row i alone. */
static BtSeg
query_seg (const BtRows *q, int i)
{
  return q->seg ? q->seg[i] : (BtSeg) { i, 1 };
}

gboolean
bt_bert_attention (BtArena *a, const BtAttentionW *w, const BtBertDims *d,
                   const BtRows *q, const BtRows *kv,
                   const BtProjections *pre, float *out, GError **error)
{
  const int hidden = d->hidden, n = q->n;
  const int head_dim = hidden / d->heads;
  const int q_rows = q->seg ? total_rows (q->seg, n) : n;
  const int q_max = q->seg ? max_len (q->seg, n) : 1;
  const int kv_max = max_len (kv->seg, n);
  const float *const *q_pre = pre ? pre->q : NULL;
  const float *const *k_pre = pre ? pre->k : NULL;
  const float *const *v_pre = pre ? pre->v : NULL;
  float *qp = NULL, *kp = NULL, *vp = NULL;

  if (!q_pre) {
    qp = bt_arena_floats (a, BT_WS_QKV, (gsize) q_rows * hidden);
    if (!bt_linear (&w->query, q->x, q_rows, 0, qp, 0, BT_ACT_NONE, error))
      return FALSE;
  }
  if (!k_pre) {
    const int kv_rows = total_rows (kv->seg, n);
    kp = bt_arena_floats (a, BT_WS_LAYER_K, (gsize) kv_rows * hidden);
    vp = bt_arena_floats (a, BT_WS_LAYER_V, (gsize) kv_rows * hidden);
    if (!bt_linear (&w->key, kv->x, kv_rows, 0, kp, 0, BT_ACT_NONE, error)
        || !bt_linear (&w->value, kv->x, kv_rows, 0, vp, 0, BT_ACT_NONE,
                       error))
      return FALSE;
  }
  float *att = bt_arena_floats (a, BT_WS_CTX, (gsize) q_rows * hidden);
  float *scores = bt_arena_floats (a, BT_WS_SCORES,
                                   (gsize) d->heads * q_max * kv_max);

  for (int i = 0; i < n; i++) {
    const BtSeg qs = query_seg (q, i), ks = kv->seg[i];
    const gsize k_off = (gsize) ks.off * hidden;
    const float *qi = q_pre ? q_pre[i] : qp + (gsize) qs.off * hidden;
    const float *ki = k_pre ? k_pre[i] : kp + k_off;
    const float *vi = v_pre ? v_pre[i] : vp + k_off;
    bt_attention_maybe_bf16 (d->bf16_attention, qi, hidden, ki, hidden, vi,
                             hidden, qs.len, ks.len, d->heads, head_dim,
                             kv->mask ? kv->mask + ks.off : NULL, scores,
                             att + (gsize) qs.off * hidden, hidden);
  }

  if (out != q->x)
    memcpy (out, q->x, sizeof (float) * q_rows * hidden);
  if (!bt_linear_residual (&w->out, att, q_rows, out, error))
    return FALSE;
  bt_layer_norm (out, out, q_rows, hidden, w->norm.w, w->norm.b, d->eps);
  return TRUE;
}

gboolean
bt_bert_layer (BtArena *a, const BtLayerW *w, const BtBertDims *d,
               const BtRows *x, const BtRows *enc, const BtLayerShortcut *sc,
               gboolean cls_only, float *out, GError **error)
{
  const int hidden = d->hidden, n = x->n;
  const int q_rows = cls_only ? n : total_rows (x->seg, n);
  /* the query side: every row, or each sequence's CLS row */
  BtRows q = { x->x, cls_only ? NULL : x->seg, n, NULL };

  if (cls_only && x->x) {
    float *cls = bt_arena_floats (a, BT_WS_CLS, (gsize) n * hidden);
    for (int i = 0; i < n; i++)
      memcpy (cls + (gsize) i * hidden, x->x + (gsize) x->seg[i].off * hidden,
              sizeof (float) * hidden);
    q.x = cls;
  }

  float *h1 = bt_arena_floats (a, BT_WS_LAYER_A, (gsize) q_rows * hidden);
  if (sc && sc->self_out) {
    for (int i = 0; i < n; i++) {
      const BtSeg qs = query_seg (&q, i);
      memcpy (h1 + (gsize) qs.off * hidden, sc->self_out[i],
              sizeof (float) * qs.len * hidden);
    }
  } else if (!bt_bert_attention (a, &w->attention, d, &q, x, NULL, h1,
                                 error)) {
    return FALSE;
  }

  if (enc) {
    const BtRows q2 = { h1, q.seg, n, NULL };
    const BtProjections pre = { sc ? sc->cross_q : NULL,
                                sc ? sc->enc_k : NULL, sc ? sc->enc_v : NULL };
    float *h2 = bt_arena_floats (a, BT_WS_LAYER_B, (gsize) q_rows * hidden);
    if (!bt_bert_attention (a, &w->crossattention, d, &q2, enc, &pre, h2,
                            error))
      return FALSE;
    h1 = h2;
  }

  float *ffn = bt_arena_floats (a, BT_WS_HIDDEN,
                                (gsize) q_rows * d->intermediate);
  if (!bt_linear (&w->intermediate, h1, q_rows, 0, ffn, 0, BT_ACT_GELU,
                  error))
    return FALSE;
  memcpy (out, h1, sizeof (float) * q_rows * hidden);
  if (!bt_linear_residual (&w->output, ffn, q_rows, out, error))
    return FALSE;
  bt_layer_norm (out, out, q_rows, hidden, w->output_norm.w,
                 w->output_norm.b, d->eps);
  return TRUE;
}
