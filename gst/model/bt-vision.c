/* bt-vision.c - the CLIP ViT vision tower and the image side of the bridges:
 * one image in, the image features every cross-modal layer reads out.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <string.h>

/* Interpolated position grids hold at most this many times the model's own
 * patches (twice its resolution per side): attention grows with the square
 * of the patches, and a crop of 4096 on a small model would ask for 275 GB. */
#define BT_VISION_MAX_GRID_FACTOR 4

/* x = x + attn(ln_1(x)); x = x + c_proj(QuickGELU(c_fc(ln_2(x)))). */
static gboolean
vision_block (const BtModel *m, BtArena *a, const BtVisionBlockW *w, float *x,
              int n, GError **error)
{
  const int e = m->config.vision.hidden_size;
  const double eps = m->config.vision.layer_norm_eps;

  float *ln = bt_arena_floats (a, BT_WS_NORM, (gsize) n * e);
  float *qkv = bt_arena_floats (a, BT_WS_QKV, (gsize) n * 3 * e);
  float *att = bt_arena_floats (a, BT_WS_CTX, (gsize) n * e);
  float *scores = bt_arena_floats (a, BT_WS_SCORES,
                                   (gsize) m->vision_heads * n * n);
  float *hidden = bt_arena_floats (a, BT_WS_HIDDEN, (gsize) n * 4 * e);

  bt_layer_norm (x, ln, n, e, w->ln_1.w, w->ln_1.b, eps);
  if (!bt_linear (&w->in_proj, ln, n, 0, qkv, 0, BT_ACT_NONE, error))
    return FALSE;
  bt_attention_maybe_bf16 (m->text_dims.bf16_attention, qkv, 3 * e,
                           qkv + e, 3 * e, qkv + 2 * e, 3 * e, n, n,
                           m->vision_heads, m->vision_head_dim, NULL, scores,
                           att, e);
  if (!bt_linear_residual (&w->out_proj, att, n, x, error))
    return FALSE;

  bt_layer_norm (x, ln, n, e, w->ln_2.w, w->ln_2.b, eps);
  return bt_linear (&w->c_fc, ln, n, 0, hidden, 0, BT_ACT_QUICK_GELU, error)
      && bt_linear_residual (&w->c_proj, hidden, n, x, error);
}

/* Patch embedding, class token, position embeddings (resized when the
 * grid differs), ln_pre. */
static gboolean
vision_embed (const BtModel *m, BtArena *a, const float *pixels, int height,
              int width, float *x, GError **error)
{
  const BtVisionConfig *vc = &m->config.vision;
  const int e = vc->hidden_size, p = vc->patch_size;
  const int gh = height / p, gw = width / p;
  const int n_patches = gh * gw;
  const int patch_len = vc->num_channels * p * p;

  float *cols = bt_arena_floats (a, BT_WS_PATCHES,
                                 (gsize) n_patches * patch_len);
  bt_im2col_patches (pixels, vc->num_channels, height, width, p, cols);
  if (!bt_linear (&m->vision.patch, cols, n_patches, 0, x + e, 0, BT_ACT_NONE,
                  error))
    return FALSE;
  memcpy (x, m->vision.class_embedding, sizeof (float) * e);

  const float *pos = m->vision.position_embedding;
  if (gh != m->grid || gw != m->grid) {
    float *resized = bt_arena_floats (a, BT_WS_POS,
                                      (gsize) (1 + n_patches) * e);
    memcpy (resized, pos, sizeof (float) * e);
    bt_bicubic_resize (pos + e, m->grid, m->grid, e, resized + e, gh, gw);
    pos = resized;
  }
  bt_add (x, pos, x, (gsize) (1 + n_patches) * e);
  bt_layer_norm (x, x, 1 + n_patches, e, m->vision.ln_pre.w,
                 m->vision.ln_pre.b, vc->layer_norm_eps);
  return TRUE;
}

/* cross_modal_image_transform(ln_post(x)) + token_type_embeddings[1]. */
static gboolean
vision_bridge (const BtModel *m, BtArena *a, const float *x, int n,
               float *out, GError **error)
{
  const int e = m->config.vision.hidden_size, h = m->config.hidden_size;
  float *ln = bt_arena_floats (a, BT_WS_NORM, (gsize) n * e);

  bt_layer_norm (x, ln, n, e, m->vision.ln_post.w, m->vision.ln_post.b,
                 m->config.vision.layer_norm_eps);
  if (!bt_linear (&m->cross.image_transform, ln, n, 0, out, 0, BT_ACT_NONE,
                  error))
    return FALSE;
  const float *tt = m->cross.token_type + h;
  for (int r = 0; r < n; r++) {
    float *row = out + (gsize) r * h;
    for (int j = 0; j < h; j++)
      row[j] += tt[j];
  }
  return TRUE;
}

BtImageFeatures *
bt_vision_encode (BtModel *m, BtArena *a, const float *pixels, int height,
                  int width, gboolean interpolate_pos_encoding,
                  BtHiddenSink sink, gpointer sink_data, GError **error)
{
  const BtVisionConfig *vc = &m->config.vision;
  const int e = vc->hidden_size, h = m->config.hidden_size;

  if (!interpolate_pos_encoding
      && (height != vc->image_size || width != vc->image_size)) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "Input image size (%d*%d) doesn't match model (%d*%d); "
                 "use interpolate_pos_encoding for other sizes",
                 height, width, vc->image_size, vc->image_size);
    return NULL;
  }
  if (height < vc->patch_size || width < vc->patch_size) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "Input image size (%d*%d) is smaller than one patch (%d)",
                 height, width, vc->patch_size);
    return NULL;
  }

  const int n = 1 + (height / vc->patch_size) * (width / vc->patch_size);
  if (n - 1 > BT_VISION_MAX_GRID_FACTOR * m->grid * m->grid) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "Input image size (%d*%d) gives %d patches: the model's "
                 "position grid of %dx%d interpolates to at most %d",
                 height, width, n - 1, m->grid, m->grid,
                 BT_VISION_MAX_GRID_FACTOR * m->grid * m->grid);
    return NULL;
  }
  float *x = bt_arena_floats (a, BT_WS_STREAM, (gsize) n * e);
  if (!vision_embed (m, a, pixels, height, width, x, error))
    return NULL;
  if (sink)
    sink (sink_data, "image", 0, 0, x, n, e);

  BtImageFeatures *f = bt_image_features_acquire (m, n);
  for (int i = 0; i < m->n_text_layers; i++) {
    if (!vision_block (m, a, &m->vision.blocks[i], x, n, error))
      goto fail;
    if (sink)
      sink (sink_data, "image", i + 1, 0, x, n, e);
    int k = i - (m->split - 1);
    if (k < 0)
      continue;
    float *bridge = f->bridge + (gsize) k * n * h;
    if (!vision_bridge (m, a, x, n, bridge, error))
      goto fail;
    if (k == 0)
      bt_layer_norm (bridge, f->input0, n, h, m->cross.image_norm.w,
                     m->cross.image_norm.b, m->config.layer_norm_eps);
  }

  if (!bt_cross_prepare_image (m, a, f, error))
    goto fail;
  if ((m->heads & BT_HEAD_ITC)
      && !bt_heads_itc_unimodal (&m->head.itc_image,
                                 f->bridge + (gsize) (m->n_cross - 1) * n * h,
                                 f->itc, error))
    goto fail;
  return f;

fail:
  bt_image_features_unref (f);
  return NULL;
}
