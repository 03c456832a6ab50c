/* bt-context.c - per-thread contexts (a model and a scratch arena) and the
 * video-shaped API: encode an image or a text once, then match, embed or
 * fill masks for any number of pairs.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

BtContextParams
bt_context_default_params (void)
{
  return (BtContextParams) { .n_threads = 0 };
}

BtContext *
bt_context_new (BtModel *model, const BtContextParams *params)
{
  g_return_val_if_fail (model, NULL);
  BtContextParams p = params ? *params : bt_context_default_params ();
  BtContext *ctx = g_new0 (BtContext, 1);
  ctx->model = bt_model_ref (model);
  ctx->n_threads = p.n_threads > 0 ? p.n_threads
      : bt_compute_default_threads ();
  return ctx;
}

int
bt_context_get_n_threads (const BtContext *ctx)
{
  return ctx->n_threads;
}

void
bt_context_free (BtContext *ctx)
{
  if (!ctx)
    return;
  bt_arena_clear (&ctx->arena);
  bt_model_unref (ctx->model);
  g_free (ctx);
}

BtModel *
bt_context_get_model (const BtContext *ctx)
{
  return ctx->model;
}

guint
bt_context_get_n_allocs (const BtContext *ctx)
{
  return ctx->arena.n_grows + (guint) g_atomic_int_get (&ctx->model->n_pool_allocs);
}

/* ---- encoding -------------------------------------------------------------- */

BtImageFeatures *
bt_context_encode_image (BtContext *ctx, const float *pixel_values,
                         int height, int width,
                         gboolean interpolate_pos_encoding, GError **error)
{
  g_return_val_if_fail (ctx && pixel_values, NULL);
  bt_compute_lock (ctx->n_threads);
  BtImageFeatures *f = bt_vision_encode (ctx->model, &ctx->arena, pixel_values, height, width,
                                         interpolate_pos_encoding, NULL, NULL,
                                         error);
  bt_compute_unlock ();
  return f;
}

BtTextFeatures *
bt_context_encode_text (BtContext *ctx, const gint64 *input_ids,
                        const gint64 *attention_mask, int n_tokens,
                        GError **error)
{
  g_return_val_if_fail (ctx && input_ids, NULL);
  bt_compute_lock (ctx->n_threads);
  BtTextFeatures *f = bt_text_encode (ctx->model, &ctx->arena, input_ids, attention_mask,
                                      n_tokens, NULL, NULL, error);
  bt_compute_unlock ();
  return f;
}

gboolean
bt_context_encode_texts (BtContext *ctx, const gint64 *const *input_ids,
                         const gint64 *const *attention_masks,
                         const int *n_tokens, int n, BtTextFeatures **out,
                         GError **error)
{
  g_return_val_if_fail (ctx && input_ids && n_tokens && out, FALSE);
  if (n < 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "no text to encode");
    return FALSE;
  }
  bt_compute_lock (ctx->n_threads);
  gboolean ok = bt_text_encode_many (ctx->model, &ctx->arena, input_ids, attention_masks,
                                     n_tokens, n, out, NULL, NULL, error);
  bt_compute_unlock ();
  return ok;
}

BtTextFeatures *
bt_context_encode_query (BtContext *ctx, const char *text, GError **error)
{
  g_return_val_if_fail (ctx && text, NULL);
  BtModel *m = ctx->model;
  if (!m->tokenizer) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s: the model has no tokenizer files",
                 m->path ? m->path : "(random model)");
    return NULL;
  }
  /* positions run up to length + pad: max_position_embeddings - 2 tokens */
  int max_len = m->config.text.max_position_embeddings - 2;
  int tok_max = bt_tokenizer_model_max_length (m->tokenizer);
  if (tok_max > 0 && tok_max < max_len)
    max_len = tok_max;

  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!bt_tokenizer_encode (m->tokenizer, text, TRUE, max_len, ids, error))
    return NULL;
  return bt_context_encode_text (ctx, (const gint64 *) ids->data, NULL,
                                 (int) ids->len, error);
}

/* ---- pairs ------------------------------------------------------------------ */

static gboolean
check_pairs (BtContext *ctx, const BtImageFeatures *image,
             BtTextFeatures *const *texts, int n_texts, BtHeads head,
             const char *what, GError **error)
{
  BtModel *m = ctx->model;
  if (head && !(m->heads & head)) {
    g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
                 "%s: the model has no %s head",
                 m->path ? m->path : "(random model)", what);
    return FALSE;
  }
  if (n_texts < 1 || !image || !texts) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "%s needs an image and at "
                 "least one text", what);
    return FALSE;
  }
  if (image->model != m) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s: the image features come from another model", what);
    return FALSE;
  }
  if (image->itc_only) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "%s: the image features hold an ITC embedding only", what);
    return FALSE;
  }
  for (int i = 0; i < n_texts; i++) {
    if (!texts[i] || texts[i]->model != m) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "%s: text %d is missing or comes from another model", what,
                   i);
      return FALSE;
    }
  }
  return TRUE;
}

/* The pooler output of `n` pairs of one image with each text, only the
 * CLS rows of the last layer computed. */
static float *
pooled_pairs (BtContext *ctx, const BtImageFeatures *image,
              BtTextFeatures *const *texts, int n, GError **error)
{
  const gsize h = ctx->model->config.hidden_size;
  BtImageFeatures **images = (BtImageFeatures **)
      bt_arena_pointers (&ctx->arena, BT_PTRS_FEATURES, n);
  for (int i = 0; i < n; i++)
    images[i] = (BtImageFeatures *) image;
  float *tl = bt_arena_floats (&ctx->arena, BT_WS_LAST_TEXT, n * h);
  float *il = bt_arena_floats (&ctx->arena, BT_WS_LAST_IMAGE, n * h);
  float *pooled = bt_arena_floats (&ctx->arena, BT_WS_POOLED, n * 2 * h);
  if (!bt_cross_run (ctx->model, &ctx->arena, images, texts, n, TRUE, TRUE, tl, il, pooled, NULL,
                     NULL, error))
    return NULL;
  return pooled;
}

gboolean
bt_context_match (BtContext *ctx, const BtImageFeatures *image,
                  BtTextFeatures *const *texts, int n_texts, float *logits,
                  GError **error)
{
  g_return_val_if_fail (ctx && logits, FALSE);
  if (!check_pairs (ctx, image, texts, n_texts, BT_HEAD_ITM, "ITM", error))
    return FALSE;
  bt_compute_lock (ctx->n_threads);
  float *pooled = pooled_pairs (ctx, image, texts, n_texts, error);
  gboolean ok = pooled && bt_heads_itm (ctx->model, pooled, n_texts, logits, error);
  bt_compute_unlock ();
  return ok;
}

gboolean
bt_context_cross_embed (BtContext *ctx, const BtImageFeatures *image,
                        BtTextFeatures *const *texts, int n_texts,
                        float *embeds, GError **error)
{
  g_return_val_if_fail (ctx && embeds, FALSE);
  if (!check_pairs (ctx, image, texts, n_texts, BT_HEAD_ITC, "ITC", error))
    return FALSE;
  bt_compute_lock (ctx->n_threads);
  float *pooled = pooled_pairs (ctx, image, texts, n_texts, error);
  gboolean ok = pooled
      && bt_heads_itc_cross (ctx->model, pooled, n_texts, embeds, error);
  bt_compute_unlock ();
  return ok;
}

gboolean
bt_context_mlm (BtContext *ctx, const BtImageFeatures *image,
                const BtTextFeatures *text, float *logits, GError **error)
{
  g_return_val_if_fail (ctx && logits, FALSE);
  BtTextFeatures *texts[1] = { (BtTextFeatures *) text };
  if (!check_pairs (ctx, image, texts, 1, BT_HEAD_MLM, "MLM", error))
    return FALSE;
  const gsize h = ctx->model->config.hidden_size;
  bt_compute_lock (ctx->n_threads);
  BtImageFeatures *images[1] = { (BtImageFeatures *) image };
  float *tl = bt_arena_floats (&ctx->arena, BT_WS_LAST_TEXT, text->n_tokens * h);
  float *il = bt_arena_floats (&ctx->arena, BT_WS_LAST_IMAGE, h);
  gboolean ok = bt_cross_run (ctx->model, &ctx->arena, images, texts, 1, FALSE, TRUE, tl, il,
                              NULL, NULL, NULL, error)
      && bt_heads_mlm (ctx->model, &ctx->arena, tl, text->n_tokens, logits, error);
  bt_compute_unlock ();
  return ok;
}
