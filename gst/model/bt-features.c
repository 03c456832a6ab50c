/* bt-features.c - image and text features: refcounted, holding their model,
 * recycled through a per-model pool so encoding allocates nothing after
 * warm-up.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

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

