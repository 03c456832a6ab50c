/* bt-features.c - image and text features: refcounted, holding their model,
 * recycled through a per-model pool so encoding allocates nothing after
 * warm-up.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

/* Released features kept per model for reuse. */
#define FEATURES_POOL_MAX 32

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

/* The floats image features of `n_tokens` tokens hold, itc included. */
static gsize
image_features_floats (const BtModel *m, int n_tokens)
{
  return (gsize) (m->n_cross + 5) * n_tokens * m->config.hidden_size
      + MAX (m->config.contrastive_hidden_size, 1);
}

BtImageFeatures *
bt_image_features_acquire (BtModel *m, int n_tokens)
{
  const gsize h = m->config.hidden_size;
  const gsize need = image_features_floats (m, n_tokens);
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
  f->itc_only = FALSE;
  f->bridge = f->data;
  f->input0 = f->bridge + (gsize) m->n_cross * n_tokens * h;
  f->l0_self = f->input0 + n_tokens * h;
  f->l0_cross_q = f->l0_self + n_tokens * h;
  f->l0_enc_k = f->l0_cross_q + n_tokens * h;
  f->l0_enc_v = f->l0_enc_k + n_tokens * h;
  f->itc = f->l0_enc_v + n_tokens * h;
  /* never computed without the head: defined bytes for get_data */
  if (!(m->heads & BT_HEAD_ITC))
    memset (f->itc, 0, MAX (m->config.contrastive_hidden_size, 1)
            * sizeof (float));
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

const float *
bt_image_features_get_data (const BtImageFeatures *f, int *n_tokens,
                            gsize *n_floats)
{
  *n_tokens = f->n_tokens;
  *n_floats = image_features_floats (f->model, f->n_tokens);
  return f->data;
}

BtImageFeatures *
bt_image_features_new_from_data (BtModel *model, int n_tokens,
                                 const float *data, gsize n_floats,
                                 GError **error)
{
  BtImageFeatures *f;

  if (n_tokens < 1 || n_tokens > 1 << 20
      || n_floats != image_features_floats (model, n_tokens)) {
    g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                 "stored image features of %d tokens and %" G_GSIZE_FORMAT
                 " floats do not fit this model", n_tokens, n_floats);
    return NULL;
  }
  f = bt_image_features_acquire (model, n_tokens);
  memcpy (f->data, data, n_floats * sizeof (float));
  return f;
}

BtImageFeatures *
bt_image_features_new_itc_only (BtModel *model, const float *itc, int dim,
                                GError **error)
{
  BtImageFeatures *f;

  if (!(model->heads & BT_HEAD_ITC)
      || dim != model->config.contrastive_hidden_size) {
    g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                 "an ITC embedding of %d values does not fit this model", dim);
    return NULL;
  }
  /* one token of zeros: the smallest block, never read */
  f = bt_image_features_acquire (model, 1);
  memset (f->data, 0, image_features_floats (model, 1) * sizeof (float));
  memcpy (f->itc, itc, dim * sizeof (float));
  f->itc_only = TRUE;
  return f;
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

