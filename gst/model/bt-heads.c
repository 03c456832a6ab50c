/* bt-heads.c - the task heads: image-text matching (ITM), masked LM and
 * the contrastive (ITC) projections.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

/* itm_score.fc on pooler_output: n x 2 logits. */
gboolean
bt_heads_itm (const BtModel *m, const float *pooled, int n, float *logits,
              GError **error)
{
  return bt_linear (&m->head.itm, pooled, n, 0, logits, 0,
                    BT_ACT_NONE, error);
}

/* mlm_score: transform (dense, GELU, LayerNorm with the top-level eps),
 * then decoder + bias over the vocabulary. */
gboolean
bt_heads_mlm (const BtModel *m, BtArena *a, const float *text_out, int rows,
              float *logits, GError **error)
{
  const int h = m->config.hidden_size;
  float *t = bt_arena_floats (a, BT_WS_HEAD, (gsize) rows * h);

  if (!bt_linear (&m->head.mlm_dense, text_out, rows, 0, t, 0, BT_ACT_GELU,
                  error))
    return FALSE;
  bt_layer_norm (t, t, rows, h, m->head.mlm_norm.w, m->head.mlm_norm.b,
                 m->config.layer_norm_eps);
  return bt_linear (&m->head.mlm_decoder, t, rows, 0, logits, 0, BT_ACT_NONE,
                    error);
}

gboolean
bt_heads_itc_unimodal (const BtLinear *head, const float *cls, float *embed,
                       GError **error)
{
  if (!bt_linear (head, cls, 1, 0, embed, 0, BT_ACT_NONE, error))
    return FALSE;
  bt_l2_normalize (embed, head->out);
  return TRUE;
}

/* itc_cross_modal_head on pooler_output, normalised: n x contrastive. */
gboolean
bt_heads_itc_cross (const BtModel *m, const float *pooled, int n,
                    float *embeds, GError **error)
{
  const BtLinear *head = &m->head.itc_cross;

  if (!bt_linear (head, pooled, n, 0, embeds, 0, BT_ACT_NONE, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    bt_l2_normalize (embeds + (gsize) i * head->out, head->out);
  return TRUE;
}
