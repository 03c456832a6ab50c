/* bt-cross.c - the cross-modal encoder: link towers, the text and image
 * BERT layers with cross-attention, and the poolers, on many (image, text)
 * pairs at once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

/* dst = LN(link(x, y)): x the new bridge features, y the previous cross
 * output, both stacked alike. */
static void
link_tower (const BtModel *m, const BtLinkW *w, const float *y, float *dst,
            int rows)
{
  const int h = m->config.hidden_size;
  const gsize n = (gsize) rows * h;

  switch (m->config.link_tower_type) {
    case BT_LINK_ADD:
      for (gsize i = 0; i < n; i++)
        dst[i] = dst[i] + y[i];
      break;
    case BT_LINK_SCALED_ADD:
      for (gsize i = 0; i < n; i++)
        dst[i] = dst[i] * w->scalar + y[i];
      break;
    case BT_LINK_INTERPOLATE:{
      const float keep = 1.0f - w->scalar;
      for (gsize i = 0; i < n; i++)
        dst[i] = dst[i] * keep + y[i] * w->scalar;
      break;
    }
  }
  bt_layer_norm (dst, dst, rows, h, w->norm.w, w->norm.b,
                 m->config.layer_norm_eps);
}

/* Pooler: dense + tanh on the first row of every sequence. */
static gboolean
pool (BtArena *a, const BtLinear *w, const float *x, const BtSeg *seg, int n,
      gboolean cls_only, float *out, int ldo, GError **error)
{
  const int h = w->in;
  const float *cls = x;

  if (!cls_only) {
    float *buf = bt_arena_floats (a, BT_WS_CLS, (gsize) n * h);
    for (int i = 0; i < n; i++)
      memcpy (buf + (gsize) i * h, x + (gsize) seg[i].off * h,
              sizeof (float) * h);
    cls = buf;
  }
  return bt_linear (w, cls, n, 0, out, ldo, BT_ACT_TANH, error);
}

gboolean
bt_cross_run (const BtModel *m, BtArena *a, BtImageFeatures *const *images,
              BtTextFeatures *const *texts, int n, gboolean text_cls_only,
              gboolean image_cls_only, float *text_out, float *image_out,
              float *pooled, BtHiddenSink sink, gpointer sink_data,
              GError **error)
{
  const int h = m->config.hidden_size;

  BtSeg *tseg = bt_arena_segments (a, BT_SEGS_TEXT, n);
  BtSeg *iseg = bt_arena_segments (a, BT_SEGS_IMAGE, n);
  int t_rows = 0, i_rows = 0;
  for (int i = 0; i < n; i++) {
    tseg[i] = (BtSeg) { t_rows, texts[i]->n_tokens };
    iseg[i] = (BtSeg) { i_rows, images[i]->n_tokens };
    t_rows += texts[i]->n_tokens;
    i_rows += images[i]->n_tokens;
  }

  float *ti = bt_arena_floats (a, BT_WS_TEXT_IN, (gsize) t_rows * h);
  float *ii = bt_arena_floats (a, BT_WS_IMAGE_IN, (gsize) i_rows * h);
  float *ct = bt_arena_floats (a, BT_WS_TEXT_OUT, (gsize) t_rows * h);
  float *ci = bt_arena_floats (a, BT_WS_IMAGE_OUT, (gsize) i_rows * h);
  float *tmask = bt_arena_floats (a, BT_WS_TEXT_MASK, t_rows);

  for (int i = 0; i < n; i++)
    memcpy (tmask + tseg[i].off, texts[i]->mask_bias,
            sizeof (float) * tseg[i].len);

  /* Layer 0 starts from what the features hold: the self-attention of
   * each side, its cross-attention queries and the other side's keys and
   * values are all single-modality work done at encoding time. */
  const float **p = (const float **) bt_arena_pointers (a, BT_PTRS_SHORTCUT,
                                                       8 * (gsize) n);
  BtLayerShortcut t_sc = { p, p + n, p + 2 * n, p + 3 * n };
  BtLayerShortcut i_sc = { p + 4 * n, p + 5 * n, p + 6 * n, p + 7 * n };
  for (int i = 0; i < n; i++) {
    p[i] = texts[i]->l0_self;
    p[n + i] = texts[i]->l0_cross_q;
    p[2 * n + i] = images[i]->l0_enc_k;
    p[3 * n + i] = images[i]->l0_enc_v;
    p[4 * n + i] = images[i]->l0_self;
    p[5 * n + i] = images[i]->l0_cross_q;
    p[6 * n + i] = texts[i]->l0_enc_k;
    p[7 * n + i] = texts[i]->l0_enc_v;
  }

  for (int k = 0; k < m->n_cross; k++) {
    if (k > 0) {
      for (int i = 0; i < n; i++) {
        memcpy (ti + (gsize) tseg[i].off * h,
                texts[i]->bridge + (gsize) k * tseg[i].len * h,
                sizeof (float) * tseg[i].len * h);
        memcpy (ii + (gsize) iseg[i].off * h,
                images[i]->bridge + (gsize) k * iseg[i].len * h,
                sizeof (float) * iseg[i].len * h);
      }
      link_tower (m, &m->cross.text_links[k - 1], ct, ti, t_rows);
      link_tower (m, &m->cross.image_links[k - 1], ci, ii, i_rows);
    }
    gboolean last = k == m->n_cross - 1;
    gboolean t_cls = last && text_cls_only;
    gboolean i_cls = last && image_cls_only;
    float *t_dst = last ? text_out : ct;
    float *i_dst = last ? image_out : ci;
    /* layer 0 reads its inputs' projections from the shortcuts */
    const BtRows text = { k ? ti : NULL, tseg, n, tmask };
    const BtRows image = { k ? ii : NULL, iseg, n, NULL };
    if (!bt_bert_layer (a, &m->cross.text_layers[k], &m->cross_dims, &text,
                        &image, k ? NULL : &t_sc, t_cls, t_dst, error)
        || !bt_bert_layer (a, &m->cross.image_layers[k], &m->cross_dims,
                           &image, &text, k ? NULL : &i_sc, i_cls, i_dst,
                           error))
      return FALSE;
    if (sink && !t_cls && !i_cls) {
      for (int i = 0; i < n; i++) {
        sink (sink_data, "cross.text", k, i,
              t_dst + (gsize) tseg[i].off * h, tseg[i].len, h);
        sink (sink_data, "cross.image", k, i,
              i_dst + (gsize) iseg[i].off * h, iseg[i].len, h);
      }
    }
  }

  return !pooled
      || (pool (a, &m->cross.text_pooler, text_out, tseg, n, text_cls_only,
                pooled, 2 * h, error)
          && pool (a, &m->cross.image_pooler, image_out, iseg, n,
                   image_cls_only, pooled + h, 2 * h, error));
}

/* The image-only part of cross-modal layer 0 for one image. */
gboolean
bt_cross_prepare_image (const BtModel *m, BtArena *a, BtImageFeatures *f,
                        GError **error)
{
  const int n = f->n_tokens;
  const BtLayerW *il = &m->cross.image_layers[0];
  const BtLayerW *tl = &m->cross.text_layers[0];
  const BtSeg seg = { 0, n };
  const BtRows image = { f->input0, &seg, 1, NULL };

  return bt_bert_attention (a, &il->attention, &m->cross_dims, &image, &image,
                            NULL, f->l0_self, error)
      && bt_linear (&il->crossattention.query, f->l0_self, n, 0,
                    f->l0_cross_q, 0, BT_ACT_NONE, error)
      && bt_linear (&tl->crossattention.key, f->input0, n, 0, f->l0_enc_k, 0,
                    BT_ACT_NONE, error)
      && bt_linear (&tl->crossattention.value, f->input0, n, 0, f->l0_enc_v,
                    0, BT_ACT_NONE, error);
}

/* Copies each text's rows of `src` to its features' float array at
 * `member`. */
static void
scatter_rows (BtTextFeatures *const *f, int n, const BtSeg *seg,
              const float *src, int h, gsize member)
{
  for (int i = 0; i < n; i++)
    memcpy (G_STRUCT_MEMBER (float *, f[i], member),
            src + (gsize) seg[i].off * h, sizeof (float) * seg[i].len * h);
}

/* The text-only part of cross-modal layer 0 for `n` texts, rows stacked. */
gboolean
bt_cross_prepare_texts (const BtModel *m, BtArena *a,
                        BtTextFeatures *const *f, int n, GError **error)
{
  const int h = m->config.hidden_size;
  const BtLayerW *tl = &m->cross.text_layers[0];
  const BtLayerW *il = &m->cross.image_layers[0];

  BtSeg *seg = bt_arena_segments (a, BT_SEGS_TEXT, n);
  int rows = 0;
  for (int i = 0; i < n; i++) {
    seg[i] = (BtSeg) { rows, f[i]->n_tokens };
    rows += f[i]->n_tokens;
  }
  float *in = bt_arena_floats (a, BT_WS_TEXT_IN, (gsize) rows * h);
  float *mask = bt_arena_floats (a, BT_WS_TEXT_MASK, rows);
  float *self = bt_arena_floats (a, BT_WS_IMAGE_IN, (gsize) rows * h);
  float *proj = bt_arena_floats (a, BT_WS_IMAGE_OUT, (gsize) rows * h);
  for (int i = 0; i < n; i++) {
    memcpy (in + (gsize) seg[i].off * h, f[i]->input0,
            sizeof (float) * seg[i].len * h);
    memcpy (mask + seg[i].off, f[i]->mask_bias, sizeof (float) * seg[i].len);
  }

  const BtRows text = { in, seg, n, mask };
  if (!bt_bert_attention (a, &tl->attention, &m->cross_dims, &text, &text,
                          NULL, self, error))
    return FALSE;
  scatter_rows (f, n, seg, self, h, G_STRUCT_OFFSET (BtTextFeatures, l0_self));
  if (!bt_linear (&tl->crossattention.query, self, rows, 0, proj, 0,
                  BT_ACT_NONE, error))
    return FALSE;
  scatter_rows (f, n, seg, proj, h,
                G_STRUCT_OFFSET (BtTextFeatures, l0_cross_q));
  if (!bt_linear (&il->crossattention.key, in, rows, 0, proj, 0, BT_ACT_NONE,
                  error))
    return FALSE;
  scatter_rows (f, n, seg, proj, h, G_STRUCT_OFFSET (BtTextFeatures, l0_enc_k));
  if (!bt_linear (&il->crossattention.value, in, rows, 0, proj, 0,
                  BT_ACT_NONE, error))
    return FALSE;
  scatter_rows (f, n, seg, proj, h, G_STRUCT_OFFSET (BtTextFeatures, l0_enc_v));
  return TRUE;
}
