/* bt-heads.c - the task heads: image-text matching (ITM), masked LM and
 * the contrastive (ITC) projections.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

/* itm_score.fc on pooler_output: n x 2 logits. */
void
bt_heads_itm (BtContext *ctx, const float *pooled, int n, float *logits)
{
  const BtModel *m = ctx->model;
  const int h2 = 2 * m->config.hidden_size;

  bt_linear (pooled, n, h2, 0, m->head.itm.w, m->head.itm.b, 2, logits, 0,
             BT_ACT_NONE);
}

/* mlm_score: transform (dense, GELU, LayerNorm with the top-level eps),
 * then decoder + bias over the vocabulary. */
void
bt_heads_mlm (BtContext *ctx, const float *text_out, int rows, float *logits)
{
  const BtModel *m = ctx->model;
  const int h = m->config.hidden_size;
  float *t = bt_context_buffer (ctx, BT_WS_HEAD, (gsize) rows * h);

  bt_linear (text_out, rows, h, 0, m->head.mlm_dense.w, m->head.mlm_dense.b,
             h, t, 0, BT_ACT_GELU);
  bt_layer_norm (t, t, rows, h, m->head.mlm_norm.w, m->head.mlm_norm.b,
                 m->config.layer_norm_eps);
  bt_linear (t, rows, h, 0, m->head.mlm_decoder.w, m->head.mlm_decoder.b,
             m->config.text.vocab_size, logits, 0, BT_ACT_NONE);
}

void
bt_heads_itc_unimodal (const BtLinearW *head, const float *cls, int in,
                       int out, float *embed)
{
  bt_linear (cls, 1, in, 0, head->w, head->b, out, embed, 0, BT_ACT_NONE);
  bt_l2_normalize (embed, out);
}

/* itc_cross_modal_head on pooler_output, normalised: n x contrastive. */
void
bt_heads_itc_cross (BtContext *ctx, const float *pooled, int n, float *embeds)
{
  const BtModel *m = ctx->model;
  const int d = m->config.contrastive_hidden_size;

  bt_linear (pooled, n, 2 * m->config.hidden_size, 0, m->head.itc_cross.w,
             m->head.itc_cross.b, d, embeds, 0, BT_ACT_NONE);
  for (int i = 0; i < n; i++)
    bt_l2_normalize (embeds + (gsize) i * d, d);
}
