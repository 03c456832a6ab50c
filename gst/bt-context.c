/* bt-context.c - per-thread contexts (reused work buffers), recycled
 * features, and the video-shaped API: encode an image or a text once, then
 * match, embed or fill masks for any number of pairs.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

/* Released features kept per model for reuse. */
#define FEATURES_POOL_MAX 32

BtContext *
bt_context_new (BtModel *model)
{
  g_return_val_if_fail (model, NULL);
  BtContext *ctx = g_new0 (BtContext, 1);
  ctx->model = bt_model_ref (model);
  return ctx;
}

void
bt_context_free (BtContext *ctx)
{
  if (!ctx)
    return;
  for (int i = 0; i < BT_WS_N; i++)
    g_aligned_free (ctx->buf[i]);
  for (int i = 0; i < BT_SEGS_N; i++)
    g_free (ctx->segs[i]);
  for (int i = 0; i < BT_PTRS_N; i++)
    g_free (ctx->ptrs[i]);
  bt_model_unref (ctx->model);
  g_free (ctx);
}

BtModel *
bt_context_get_model (const BtContext *ctx)
{
  return ctx->model;
}

float *
bt_context_buffer (BtContext *ctx, BtWsSlot slot, gsize n)
{
  if (n > ctx->cap[slot]) {
    g_aligned_free (ctx->buf[slot]);
    ctx->buf[slot] = g_aligned_alloc (n, sizeof (float), 64);
    ctx->cap[slot] = n;
    ctx->n_grows++;
  }
  return ctx->buf[slot];
}

BtSeg *
bt_context_segments (BtContext *ctx, BtSegSlot slot, gsize n)
{
  if (n > ctx->seg_cap[slot]) {
    g_free (ctx->segs[slot]);
    ctx->segs[slot] = g_new (BtSeg, n);
    ctx->seg_cap[slot] = n;
    ctx->n_grows++;
  }
  return ctx->segs[slot];
}

gpointer *
bt_context_pointers (BtContext *ctx, BtPtrSlot slot, gsize n)
{
  if (n > ctx->ptr_cap[slot]) {
    g_free (ctx->ptrs[slot]);
    ctx->ptrs[slot] = g_new (gpointer, n);
    ctx->ptr_cap[slot] = n;
    ctx->n_grows++;
  }
  return ctx->ptrs[slot];
}

guint
bt_context_get_n_allocs (const BtContext *ctx)
{
  return ctx->n_grows + (guint) g_atomic_int_get (&ctx->model->n_pool_allocs);
}

/* ---- features ------------------------------------------------------------ */

/* Takes the pooled features whose buffer fits `need` best (the smallest
 * that is large enough, else the largest, to be grown), or NULL. */
static gpointer
pool_take (BtModel *m, GPtrArray *pool, gsize need, gsize cap_offset)
{
  int fit = -1, big = -1;
  gsize fit_cap = 0, big_cap = 0;

  g_mutex_lock (&m->pool_lock);
  for (guint i = 0; i < pool->len; i++) {
    gsize cap = G_STRUCT_MEMBER (gsize, g_ptr_array_index (pool, i),
                                 cap_offset);
    if (cap >= need && (fit < 0 || cap < fit_cap)) {
      fit = (int) i;
      fit_cap = cap;
    } else if (cap < need && (big < 0 || cap > big_cap)) {
      big = (int) i;
      big_cap = cap;
    }
  }
  int pick = fit >= 0 ? fit : big;
  gpointer f = pick >= 0 ? g_ptr_array_steal_index_fast (pool, pick) : NULL;
  g_mutex_unlock (&m->pool_lock);
  return f;
}

BtImageFeatures *
bt_image_features_acquire (BtModel *m, int n_tokens)
{
  const gsize h = m->config.hidden_size;
  const gsize need = (gsize) (m->n_cross + 5) * n_tokens * h
      + MAX (m->config.contrastive_hidden_size, 1);
  BtImageFeatures *f = pool_take (m, m->image_pool, need,
                                  G_STRUCT_OFFSET (BtImageFeatures, capacity));
  if (!f)
    f = g_new0 (BtImageFeatures, 1);
  if (f->capacity < need) {
    g_free (f->data);
    f->data = g_new (float, need);
    f->capacity = need;
    g_atomic_int_inc (&m->n_pool_allocs);
  }
  f->refcount = 1;
  f->model = bt_model_ref (m);
  f->n_tokens = n_tokens;
  f->bridge = f->data;
  f->input0 = f->bridge + (gsize) m->n_cross * n_tokens * h;
  f->l0_self = f->input0 + n_tokens * h;
  f->l0_cross_q = f->l0_self + n_tokens * h;
  f->l0_enc_k = f->l0_cross_q + n_tokens * h;
  f->l0_enc_v = f->l0_enc_k + n_tokens * h;
  f->itc = f->l0_enc_v + n_tokens * h;
  return f;
}

BtTextFeatures *
bt_text_features_acquire (BtModel *m, int n_tokens)
{
  const gsize h = m->config.hidden_size;
  const gsize need = (gsize) (m->n_cross + 5) * n_tokens * h
      + n_tokens + MAX (m->config.contrastive_hidden_size, 1);
  BtTextFeatures *f = pool_take (m, m->text_pool, need,
                                 G_STRUCT_OFFSET (BtTextFeatures, capacity));
  if (!f)
    f = g_new0 (BtTextFeatures, 1);
  if (f->capacity < need) {
    g_free (f->data);
    f->data = g_new (float, need);
    f->capacity = need;
    g_atomic_int_inc (&m->n_pool_allocs);
  }
  f->refcount = 1;
  f->model = bt_model_ref (m);
  f->n_tokens = n_tokens;
  f->bridge = f->data;
  f->input0 = f->bridge + (gsize) m->n_cross * n_tokens * h;
  f->l0_self = f->input0 + n_tokens * h;
  f->l0_cross_q = f->l0_self + n_tokens * h;
  f->l0_enc_k = f->l0_cross_q + n_tokens * h;
  f->l0_enc_v = f->l0_enc_k + n_tokens * h;
  f->mask_bias = f->l0_enc_v + n_tokens * h;
  f->itc = f->mask_bias + n_tokens;
  return f;
}

/* Returns released features to the pool (or frees them when it is full). */
static void
pool_give (BtModel *m, GPtrArray *pool, gpointer f, float *data)
{
  gboolean kept = FALSE;
  g_mutex_lock (&m->pool_lock);
  if (pool->len < FEATURES_POOL_MAX) {
    g_ptr_array_add (pool, f);
    kept = TRUE;
  }
  g_mutex_unlock (&m->pool_lock);
  if (!kept) {
    g_free (data);
    g_free (f);
  }
}

BtImageFeatures *
bt_image_features_ref (BtImageFeatures *f)
{
  g_return_val_if_fail (f, NULL);
  g_atomic_int_inc (&f->refcount);
  return f;
}

void
bt_image_features_unref (BtImageFeatures *f)
{
  if (!f || !g_atomic_int_dec_and_test (&f->refcount))
    return;
  BtModel *m = f->model;
  f->model = NULL;
  pool_give (m, m->image_pool, f, f->data);
  bt_model_unref (m);
}

BtModel *
bt_image_features_get_model (const BtImageFeatures *f)
{
  return f->model;
}

const float *
bt_image_features_get_itc (const BtImageFeatures *f)
{
  return (f->model->heads & BT_HEAD_ITC) ? f->itc : NULL;
}

BtTextFeatures *
bt_text_features_ref (BtTextFeatures *f)
{
  g_return_val_if_fail (f, NULL);
  g_atomic_int_inc (&f->refcount);
  return f;
}

void
bt_text_features_unref (BtTextFeatures *f)
{
  if (!f || !g_atomic_int_dec_and_test (&f->refcount))
    return;
  BtModel *m = f->model;
  f->model = NULL;
  pool_give (m, m->text_pool, f, f->data);
  bt_model_unref (m);
}

BtModel *
bt_text_features_get_model (const BtTextFeatures *f)
{
  return f->model;
}

int
bt_text_features_get_n_tokens (const BtTextFeatures *f)
{
  return f->n_tokens;
}

const float *
bt_text_features_get_itc (const BtTextFeatures *f)
{
  return (f->model->heads & BT_HEAD_ITC) ? f->itc : NULL;
}

/* ---- encoding -------------------------------------------------------------- */

BtImageFeatures *
bt_context_encode_image (BtContext *ctx, const float *pixel_values,
                         int height, int width,
                         gboolean interpolate_pos_encoding, GError **error)
{
  g_return_val_if_fail (ctx && pixel_values, NULL);
  bt_compute_lock ();
  BtImageFeatures *f = bt_vision_encode (ctx, pixel_values, height, width,
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
  bt_compute_lock ();
  BtTextFeatures *f = bt_text_encode (ctx, input_ids, attention_mask,
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
  bt_compute_lock ();
  gboolean ok = bt_text_encode_many (ctx, input_ids, attention_masks,
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
      bt_context_pointers (ctx, BT_PTRS_FEATURES, n);
  for (int i = 0; i < n; i++)
    images[i] = (BtImageFeatures *) image;
  float *tl = bt_context_buffer (ctx, BT_WS_LAST_TEXT, n * h);
  float *il = bt_context_buffer (ctx, BT_WS_LAST_IMAGE, n * h);
  float *pooled = bt_context_buffer (ctx, BT_WS_POOLED, n * 2 * h);
  if (!bt_cross_run (ctx, images, texts, n, TRUE, TRUE, tl, il, pooled, NULL,
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
  bt_compute_lock ();
  float *pooled = pooled_pairs (ctx, image, texts, n_texts, error);
  gboolean ok = pooled && bt_heads_itm (ctx, pooled, n_texts, logits, error);
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
  bt_compute_lock ();
  float *pooled = pooled_pairs (ctx, image, texts, n_texts, error);
  gboolean ok = pooled
      && bt_heads_itc_cross (ctx, pooled, n_texts, embeds, error);
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
  bt_compute_lock ();
  BtImageFeatures *images[1] = { (BtImageFeatures *) image };
  float *tl = bt_context_buffer (ctx, BT_WS_LAST_TEXT, text->n_tokens * h);
  float *il = bt_context_buffer (ctx, BT_WS_LAST_IMAGE, h);
  gboolean ok = bt_cross_run (ctx, images, texts, 1, FALSE, TRUE, tl, il,
                              NULL, NULL, NULL, error)
      && bt_heads_mlm (ctx, tl, text->n_tokens, logits, error);
  bt_compute_unlock ();
  return ok;
}
