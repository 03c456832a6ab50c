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
text_embed (BtContext *ctx, const gint64 *ids, int n, float *x,
            GError **error)
{
  const BtModel *m = ctx->model;
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
static void
text_bridge (const BtModel *m, const float *x, int n, float *out)
{
  const int th = m->config.text.hidden_size, h = m->config.hidden_size;

  bt_linear (x, n, th, 0, m->cross.text_transform.w,
             m->cross.text_transform.b, h, out, 0, BT_ACT_NONE);
  for (int r = 0; r < n; r++) {
    float *row = out + (gsize) r * h;
    for (int j = 0; j < h; j++)
      row[j] += m->cross.token_type[j];
  }
}

BtTextFeatures *
bt_text_encode (BtContext *ctx, const gint64 *input_ids,
                const gint64 *attention_mask, int n_tokens,
                BtHiddenSink sink, gpointer sink_data, GError **error)
{
  BtModel *m = ctx->model;
  const BtTextConfig *tc = &m->config.text;
  const int th = tc->hidden_size, h = m->config.hidden_size;

  if (n_tokens < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "a text needs at least one token");
    return NULL;
  }

  float *x = bt_context_buffer (ctx, BT_WS_STREAM, (gsize) n_tokens * th);
  if (!text_embed (ctx, input_ids, n_tokens, x, error))
    return NULL;
  if (sink)
    sink (sink_data, "text", 0, 0, x, n_tokens, th);

  BtTextFeatures *f = bt_text_features_acquire (m, n_tokens);
  for (int t = 0; t < n_tokens; t++) {
    gint64 mask = attention_mask ? attention_mask[t] : 1;
    f->mask_bias[t] = (1.0f - (float) mask) * -FLT_MAX;
  }

  const BtSeg seg = { 0, n_tokens };
  for (int i = 0; i < m->n_text_layers; i++) {
    bt_bert_layer (ctx, &m->text.layers[i], th, tc->num_attention_heads,
                   tc->intermediate_size, tc->layer_norm_eps, x, &seg, 1,
                   f->mask_bias, NULL, NULL, NULL, NULL, FALSE, x);
    if (sink)
      sink (sink_data, "text", i + 1, 0, x, n_tokens, th);
    int k = i - (m->split - 1);
    if (k < 0)
      continue;
    float *bridge = f->bridge + (gsize) k * n_tokens * h;
    text_bridge (m, x, n_tokens, bridge);
    if (k == 0)
      bt_layer_norm (bridge, f->input0, n_tokens, h, m->cross.text_norm.w,
                     m->cross.text_norm.b, m->config.layer_norm_eps);
  }

  bt_cross_prepare_text (ctx, f);
  if (m->heads & BT_HEAD_ITC)
    bt_heads_itc_unimodal (&m->head.itc_text, x, th,
                           m->config.contrastive_hidden_size, f->itc);
  return f;
}
