/* bt-model-bf16.c - a model's weights in bf16 (precision=bf16).
 *
 * After binding, every linear layer's float32 weight gets a bf16 copy in
 * oneDNN's layout, registered under the float32 pointer: bt_linear finds it
 * there, so the towers run unchanged. The sizes below mirror the binding in
 * bt-model.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-bf16.h"
#include "bt-model-private.h"

#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  BtModel *model;
  GError *error;
} Converter;

/* The forward pass no longer reads a converted float32 weight, so a bf16
 * model hands its whole pages back to the kernel: a bf16 model holds its
 * bf16 weights, not both copies. The pages at either end may hold other
 * tensors and stay. Where the weight is mapped from the checkpoint file
 * (safetensors, pytorch_model.bin), MADV_PAGEOUT also drops the file's
 * pages from the page cache and the contents fault back in if read.
 * Anonymous memory (random weights, tensors the loader converted or copied)
 * cannot be paged out without swap: MADV_DONTNEED frees it, and the address
 * stays allocated, so it is never reused under the registry's key. Such a
 * weight then reads as zeros: nothing but bt_linear reads it, and
 * bt_linear never falls back to it. Returns the bytes released. */
static gsize
release_pages (const float *w, gsize bytes)
{
  const guintptr page = (guintptr) sysconf (_SC_PAGESIZE);
  guintptr start = ((guintptr) w + page - 1) / page * page;
  guintptr end = ((guintptr) w + bytes) / page * page;
  if (end <= start)
    return 0;
#ifdef MADV_PAGEOUT
  madvise ((void *) start, end - start, MADV_PAGEOUT);
#endif
  if (madvise ((void *) start, end - start, MADV_DONTNEED) != 0)
    return 0;
  return end - start;
}

static void
convert (Converter *cv, const float *w, const float *b, int out, int in)
{
  BtModel *m = cv->model;
  if (cv->error || !w || g_hash_table_contains (m->bf16, w))
    return;
  BtBf16Linear *l = bt_bf16_linear_new (w, b, out, in, &cv->error);
  if (!l)
    return;
  g_hash_table_insert (m->bf16, (gpointer) w, l);
  m->bf16_bytes += bt_bf16_linear_get_weight_bytes (l);
  bt_bf16_registry_add (w, l);
  /* the tied MLM decoder is the word embedding matrix: the embeddings
   * still read it */
  if (w != m->text.word)
    m->f32_released_bytes += release_pages (w, (gsize) out * in * sizeof (float));
}

static void
convert_linear (Converter *cv, const BtLinearW *l, int out, int in)
{
  convert (cv, l->w, l->b, out, in);
}

static void
convert_attention (Converter *cv, const BtAttentionW *a, int h)
{
  convert_linear (cv, &a->query, h, h);
  convert_linear (cv, &a->key, h, h);
  convert_linear (cv, &a->value, h, h);
  convert_linear (cv, &a->out, h, h);
}

static void
convert_layer (Converter *cv, const BtLayerW *l, int h, int inter,
               gboolean cross)
{
  convert_attention (cv, &l->attention, h);
  if (cross)
    convert_attention (cv, &l->crossattention, h);
  convert_linear (cv, &l->intermediate, inter, h);
  convert_linear (cv, &l->output, h, inter);
}

gboolean
bt_model_bf16_convert (BtModel *m, GError **error)
{
  const BtConfig *c = &m->config;
  const int e = c->vision.hidden_size, th = c->text.hidden_size;
  const int h = c->hidden_size, inter = c->text.intermediate_size;
  const int p = c->vision.patch_size;
  Converter cv = { .model = m };

  m->bf16 = g_hash_table_new (NULL, NULL);
  convert (&cv, m->vision.patch_weight, NULL, e,
           c->vision.num_channels * p * p);
  for (int i = 0; i < m->n_text_layers; i++) {
    const BtVisionBlockW *blk = &m->vision.blocks[i];
    convert_linear (&cv, &blk->in_proj, 3 * e, e);
    convert_linear (&cv, &blk->out_proj, e, e);
    convert_linear (&cv, &blk->c_fc, 4 * e, e);
    convert_linear (&cv, &blk->c_proj, e, 4 * e);
  }
  for (int i = 0; i < m->n_text_layers; i++)
    convert_layer (&cv, &m->text.layers[i], th, inter, FALSE);

  convert_linear (&cv, &m->cross.text_transform, h, th);
  convert_linear (&cv, &m->cross.image_transform, h, e);
  for (int i = 0; i < m->n_cross; i++) {
    convert_layer (&cv, &m->cross.text_layers[i], h, inter, TRUE);
    convert_layer (&cv, &m->cross.image_layers[i], h, inter, TRUE);
  }
  convert_linear (&cv, &m->cross.text_pooler, h, h);
  convert_linear (&cv, &m->cross.image_pooler, h, h);

  if (m->heads & BT_HEAD_ITM)
    convert_linear (&cv, &m->head.itm, 2, 2 * h);
  if (m->heads & BT_HEAD_MLM) {
    convert_linear (&cv, &m->head.mlm_dense, h, h);
    convert_linear (&cv, &m->head.mlm_decoder, c->text.vocab_size, h);
  }
  if (m->heads & BT_HEAD_ITC) {
    const int d = c->contrastive_hidden_size;
    convert_linear (&cv, &m->head.itc_text, d, th);
    convert_linear (&cv, &m->head.itc_image, d, h);
    convert_linear (&cv, &m->head.itc_cross, d, 2 * h);
  }

  if (cv.error) {
    g_propagate_error (error, cv.error);
    return FALSE;
  }
  return TRUE;
}

void
bt_model_bf16_release (BtModel *m)
{
  if (!m->bf16)
    return;
  GHashTableIter it;
  gpointer w, l;
  g_hash_table_iter_init (&it, m->bf16);
  while (g_hash_table_iter_next (&it, &w, &l)) {
    bt_bf16_registry_remove (w);
    bt_bf16_linear_free (l);
  }
  g_clear_pointer (&m->bf16, g_hash_table_unref);
}
