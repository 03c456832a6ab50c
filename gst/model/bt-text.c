/* bt-text.c - the RoBERTa text tower and the text side of the bridges: one
 * token sequence in, the text features every cross-modal layer reads out.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <float.h>
#include <string.h>

/* word + token_type[0] + position, then LayerNorm. Position ids are
 * RoBERTa's: cumsum(ids != pad) on non-pad tokens, offset by pad; pad
 * tokens get pad. */
static gboolean
text_embed (const BtModel *m, const gint64 *ids, int n, float *x,
            GError **error)
{
  const BtTextConfig *tc = &m->config.text;
  const int h = tc->hidden_size;
  int count = 0;

  for (int t = 0; t < n; t++) {
    if (ids[t] < 0 || ids[t] >= tc->vocab_size) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "input_ids[%d] = %" G_GINT64_FORMAT
                   " is outside the vocabulary (size %d)", t, ids[t],
                   tc->vocab_size);
      return FALSE;
    }
    gboolean real = ids[t] != tc->pad_token_id;
    count += real;
    int pos = real ? count + tc->pad_token_id : tc->pad_token_id;
    if (pos >= tc->max_position_embeddings) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "text of %d tokens exceeds the model's %d positions", n,
                   tc->max_position_embeddings - tc->pad_token_id - 1);
      return FALSE;
    }
    const float *word = m->text.word + (gsize) ids[t] * h;
    const float *position = m->text.position + (gsize) pos * h;
    float *row = x + (gsize) t * h;
    for (int j = 0; j < h; j++)
      row[j] = (word[j] + m->text.token_type[j]) + position[j];
  }
  bt_layer_norm (x, x, n, h, m->text.norm.w, m->text.norm.b,
                 tc->layer_norm_eps);
  return TRUE;
}

/* cross_modal_text_transform(t) + token_type_embeddings[0]. */
static gboolean
text_bridge (const BtModel *m, const float *x, int n, float *out,
             GError **error)
{
  const int h = m->config.hidden_size;

  if (!bt_linear (&m->cross.text_transform, x, n, 0, out, 0, BT_ACT_NONE,
                  error))
    return FALSE;
  for (int r = 0; r < n; r++) {
    float *row = out + (gsize) r * h;
    for (int j = 0; j < h; j++)
      row[j] += m->cross.token_type[j];
  }
  return TRUE;
}

gboolean
bt_text_encode_many (BtModel *m, BtArena *a, const gint64 *const *input_ids,
                     const gint64 *const *attention_masks,
                     const int *n_tokens, int n, BtTextFeatures **out,
                     BtHiddenSink sink, gpointer sink_data, GError **error)
{
  const BtTextConfig *tc = &m->config.text;
  const int th = tc->hidden_size, h = m->config.hidden_size;

  BtSeg *seg = bt_arena_segments (a, BT_SEGS_TEXT, n);
  int rows = 0;
  for (int i = 0; i < n; i++) {
    if (n_tokens[i] < 1 || !input_ids[i]) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "text %d: a text needs at least one token", i);
      return FALSE;
    }
    seg[i] = (BtSeg) { rows, n_tokens[i] };
    rows += n_tokens[i];
  }

  float *x = bt_arena_floats (a, BT_WS_STREAM, (gsize) rows * th);
  float *mask = bt_arena_floats (a, BT_WS_TEXT_MASK, rows);
  for (int i = 0; i < n; i++) {
    if (!text_embed (m, input_ids[i], seg[i].len,
                     x + (gsize) seg[i].off * th, error))
      return FALSE;
    const gint64 *am = attention_masks ? attention_masks[i] : NULL;
    for (int t = 0; t < seg[i].len; t++)
      mask[seg[i].off + t] = (1.0f - (float) (am ? am[t] : 1)) * -FLT_MAX;
  }
  if (sink)
    sink (sink_data, "text", 0, 0, x, rows, th);

  for (int i = 0; i < n; i++) {
    out[i] = bt_text_features_acquire (m, seg[i].len);
    memcpy (out[i]->mask_bias, mask + seg[i].off,
            sizeof (float) * seg[i].len);
  }

  /* every text's rows stacked: one GEMM per weight for all of them */
  const BtRows rows_x = { x, seg, n, mask };
  float *bridge = bt_arena_floats (a, BT_WS_TEXT_OUT, (gsize) rows * h);
  for (int l = 0; l < m->n_text_layers; l++) {
    if (!bt_bert_layer (a, &m->text.layers[l], &m->text_dims, &rows_x, NULL,
                        NULL, FALSE, x, error))
      goto fail;
    if (sink)
      sink (sink_data, "text", l + 1, 0, x, rows, th);
    int k = l - (m->split - 1);
    if (k < 0)
      continue;
    if (!text_bridge (m, x, rows, bridge, error))
      goto fail;
    for (int i = 0; i < n; i++) {
      float *dst = out[i]->bridge + (gsize) k * seg[i].len * h;
      memcpy (dst, bridge + (gsize) seg[i].off * h,
              sizeof (float) * seg[i].len * h);
      if (k == 0)
        bt_layer_norm (dst, out[i]->input0, seg[i].len, h,
                       m->cross.text_norm.w, m->cross.text_norm.b,
                       m->config.layer_norm_eps);
    }
  }

  for (int i = 0; i < n && (m->heads & BT_HEAD_ITC); i++)
    if (!bt_heads_itc_unimodal (&m->head.itc_text,
                                x + (gsize) seg[i].off * th, out[i]->itc,
                                error))
      goto fail;
  if (bt_cross_prepare_texts (m, a, out, n, error))
    return TRUE;

fail:
  for (int i = 0; i < n; i++)
    g_clear_pointer (&out[i], bt_text_features_unref);
  return FALSE;
}

BtTextFeatures *
bt_text_encode (BtModel *m, BtArena *a, const gint64 *input_ids,
                const gint64 *attention_mask, int n_tokens,
                BtHiddenSink sink, gpointer sink_data, GError **error)
{
  BtTextFeatures *f = NULL;
  if (!bt_text_encode_many (m, a, &input_ids, &attention_mask, &n_tokens, 1,
                            &f, sink, sink_data, error))
    return NULL;
  return f;
}
