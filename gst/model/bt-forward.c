/* bt-forward.c - the whole forward pass of one head on a batch, as HF's
 * forward returns it: built on the same towers and cross-modal encoder as
 * the video API, outputs under the golden manifest's names.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <math.h>
#include <string.h>

typedef struct {
  BtTensorSet *out;
  int batch;
  int item;                    /* the batch item a tower is encoding */
} HiddenOut;

/* Writes one item's hidden state into its batch tensor (created with the
 * first item). The vision tower's are sequence-first, as HF returns them. */
static void
hidden_sink (gpointer user_data, const char *kind, int layer, int item,
             const float *x, int rows, int dim)
{
  HiddenOut *ho = user_data;
  gboolean cross = g_str_has_prefix (kind, "cross.");
  gboolean seq_first = g_str_equal (kind, "image");
  int b = cross ? item : ho->item;
  g_autofree char *name = cross
      ? g_strdup_printf ("hidden_states.cross.%d.%s", layer, kind + 6)
      : g_strdup_printf ("hidden_states.%s.%d", kind, layer);

  const BtTensor *t = bt_tensor_set_lookup (ho->out, name);
  if (b == 0 || !t) {
    gint64 shape[3] = { ho->batch, rows, dim };
    if (seq_first) {
      shape[0] = rows;
      shape[1] = ho->batch;
    }
    t = bt_tensor_set_add (ho->out, name, BT_DTYPE_F32, 3, shape);
  }
  float *dst = t->data;
  if (seq_first) {
    for (int r = 0; r < rows; r++)
      memcpy (dst + ((gsize) r * ho->batch + b) * dim, x + (gsize) r * dim,
              sizeof (float) * dim);
  } else {
    memcpy (dst + (gsize) b * rows * dim, x, sizeof (float) * rows * dim);
  }
}

static float *
add_output (BtTensorSet *out, const char *name, int ndim, gint64 d0,
            gint64 d1, gint64 d2)
{
  const gint64 shape[3] = { d0, d1, d2 };
  return bt_tensor_set_add (out, name, BT_DTYPE_F32, ndim, shape)->data;
}

/* ITC: the embeddings, HF's stacked logits, the scaled similarity matrices
 * and the loss HF computes with return_loss (always given here: the mean
 * of the three cross-entropies against arange(batch)). */
static gboolean
itc_outputs (BtContext *ctx, BtImageFeatures **images, BtTextFeatures **texts,
             const float *pooled, int batch, BtTensorSet *out, GError **error)
{
  const BtModel *m = ctx->model;
  const int d = m->config.contrastive_hidden_size;
  float *te = add_output (out, "text_embeds", 2, batch, d, 0);
  float *ie = add_output (out, "image_embeds", 2, batch, d, 0);
  float *ce = add_output (out, "cross_embeds", 2, batch, d, 0);

  for (int b = 0; b < batch; b++) {
    memcpy (te + (gsize) b * d, texts[b]->itc, sizeof (float) * d);
    memcpy (ie + (gsize) b * d, images[b]->itc, sizeof (float) * d);
  }
  if (!bt_heads_itc_cross (ctx->model, pooled, batch, ce, error))
    return FALSE;

  float *logits = add_output (out, "logits", 3, batch, 3, d);
  for (int b = 0; b < batch; b++) {
    memcpy (logits + ((gsize) b * 3 + 0) * d, te + (gsize) b * d,
            sizeof (float) * d);
    memcpy (logits + ((gsize) b * 3 + 1) * d, ie + (gsize) b * d,
            sizeof (float) * d);
    memcpy (logits + ((gsize) b * 3 + 2) * d, ce + (gsize) b * d,
            sizeof (float) * d);
  }

  const float scale = expf (m->head.logit_scale);
  *add_output (out, "derived.logit_scale_exp", 1, 1, 0, 0) = scale;
  const struct {
    const char *name;
    const float *a, *b;
  } sims[3] = {
    { "derived.logits_text_to_image", te, ie },
    { "derived.logits_text_to_cross", te, ce },
    { "derived.logits_image_to_cross", ie, ce },
  };
  double loss = 0.0;
  for (int s = 0; s < 3; s++) {
    float *l = add_output (out, sims[s].name, 2, batch, batch, 0);
    for (int i = 0; i < batch; i++) {
      for (int j = 0; j < batch; j++) {
        float dot = 0.0f;
        for (int k = 0; k < d; k++)
          dot += sims[s].a[(gsize) i * d + k] * sims[s].b[(gsize) j * d + k];
        l[i * batch + j] = dot * scale;
      }
    }
    /* cross_entropy(logits, arange(batch)), mean over rows */
    double ce_sum = 0.0;
    for (int i = 0; i < batch; i++) {
      double max = l[i * batch];
      for (int j = 1; j < batch; j++)
        max = MAX (max, l[i * batch + j]);
      double sum = 0.0;
      for (int j = 0; j < batch; j++)
        sum += exp (l[i * batch + j] - max);
      ce_sum += max + log (sum) - l[i * batch + i];
    }
    loss += ce_sum / batch;
  }
  *add_output (out, "loss", 0, 0, 0, 0) = (float) (loss / 3.0);
  return TRUE;
}

static gboolean
check_input (const BtModel *m, BtHeads head, const BtForwardInput *in,
             GError **error)
{
  if (head != BT_HEAD_NONE && head != BT_HEAD_ITM && head != BT_HEAD_MLM
      && head != BT_HEAD_ITC) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "forward runs one head at a time");
    return FALSE;
  }
  if (head && !(m->heads & head)) {
    g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
                 "%s: the model has no %s head",
                 m->path ? m->path : "(random model)",
                 head == BT_HEAD_ITM ? "ITM" : head == BT_HEAD_MLM ? "MLM"
                 : "ITC");
    return FALSE;
  }
  if (in->batch < 1 || in->seq_len < 1 || !in->input_ids
      || !in->pixel_values || in->height < 1 || in->width < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "forward needs a batch of at least one text and one image");
    return FALSE;
  }
  return TRUE;
}

gboolean
bt_context_forward (BtContext *ctx, BtHeads head, const BtForwardInput *in,
                    BtTensorSet *out, GError **error)
{
  g_return_val_if_fail (ctx && in && out, FALSE);
  BtModel *m = ctx->model;
  if (!check_input (m, head, in, error))
    return FALSE;

  const int batch = in->batch, len = in->seq_len;
  const gsize h = m->config.hidden_size;
  const gsize image_size = (gsize) m->config.vision.num_channels
      * in->height * in->width;
  HiddenOut ho = { .out = out, .batch = batch };
  /* HF's contrastive head always returns the hidden states it reads */
  gboolean hidden = in->output_hidden_states || head == BT_HEAD_ITC;
  BtHiddenSink sink = hidden ? hidden_sink : NULL;
  BtImageFeatures **images = g_new0 (BtImageFeatures *, batch);
  BtTextFeatures **texts = g_new0 (BtTextFeatures *, batch);
  gboolean ok = FALSE;

  bt_compute_lock (ctx->n_threads);
  for (int b = 0; b < batch; b++) {
    ho.item = b;
    images[b] = bt_vision_encode (m, &ctx->arena, in->pixel_values + b * image_size,
                                  in->height, in->width,
                                  in->interpolate_pos_encoding, sink, &ho,
                                  error);
    if (!images[b])
      goto done;
  }
  for (int b = 0; b < batch; b++) {
    ho.item = b;
    texts[b] = bt_text_encode (m, &ctx->arena, in->input_ids + (gsize) b * len,
                               in->attention_mask ? in->attention_mask
                               + (gsize) b * len : NULL, len, sink, &ho,
                               error);
    if (!texts[b])
      goto done;
  }

  /* Only the bare model and hidden states need every row of the last
   * layer; the heads read the CLS rows (and MLM every text row). */
  const int n_img = images[0]->n_tokens;
  gboolean full = head == BT_HEAD_NONE || hidden;
  gboolean text_cls = !full && head != BT_HEAD_MLM;
  gboolean image_cls = !full;
  float *text_out, *image_out;
  if (head == BT_HEAD_NONE) {
    text_out = add_output (out, "text_features", 3, batch, len, h);
    image_out = add_output (out, "image_features", 3, batch, n_img, h);
  } else {
    text_out = bt_arena_floats (&ctx->arena, BT_WS_LAST_TEXT,
                                  (text_cls ? 1 : len) * batch * h);
    image_out = bt_arena_floats (&ctx->arena, BT_WS_LAST_IMAGE,
                                   (image_cls ? 1 : n_img) * batch * h);
  }
  float *pooled = head == BT_HEAD_NONE
      ? add_output (out, "pooler_output", 2, batch, 2 * h, 0)
      : bt_arena_floats (&ctx->arena, BT_WS_POOLED, batch * 2 * h);
  if (!bt_cross_run (m, &ctx->arena, images, texts, batch, text_cls, image_cls, text_out,
                     image_out, head == BT_HEAD_MLM ? NULL : pooled, sink,
                     &ho, error))
    goto done;

  switch (head) {
    case BT_HEAD_ITM:
      ok = bt_heads_itm (m, pooled, batch,
                         add_output (out, "logits", 2, batch, 2, 0), error);
      break;
    case BT_HEAD_MLM:
      ok = bt_heads_mlm (m, &ctx->arena, text_out, batch * len,
                         add_output (out, "logits", 3, batch, len,
                                     m->config.text.vocab_size), error);
      break;
    case BT_HEAD_ITC:
      ok = itc_outputs (ctx, images, texts, pooled, batch, out, error);
      break;
    default:
      ok = TRUE;
      break;
  }

done:
  bt_compute_unlock ();
  for (int b = 0; b < batch; b++) {
    bt_image_features_unref (images[b]);
    bt_text_features_unref (texts[b]);
  }
  g_free (images);
  g_free (texts);
  return ok;
}
