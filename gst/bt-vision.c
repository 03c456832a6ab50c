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
static void
vision_block (BtContext *ctx, const BtVisionBlockW *w, float *x, int n)
{
  const BtModel *m = ctx->model;
  const int e = m->config.vision.hidden_size;
  const double eps = m->config.vision.layer_norm_eps;

  float *ln = bt_context_buffer (ctx, BT_WS_NORM, (gsize) n * e);
  float *qkv = bt_context_buffer (ctx, BT_WS_QKV, (gsize) n * 3 * e);
  float *att = bt_context_buffer (ctx, BT_WS_CTX, (gsize) n * e);
  float *scores = bt_context_buffer (ctx, BT_WS_SCORES,
                                     (gsize) m->vision_heads * n * n);
  float *hidden = bt_context_buffer (ctx, BT_WS_HIDDEN, (gsize) n * 4 * e);

  bt_layer_norm (x, ln, n, e, w->ln_1.w, w->ln_1.b, eps);
  bt_linear (ln, n, e, 0, w->in_proj.w, w->in_proj.b, 3 * e, qkv, 0,
             BT_ACT_NONE);
  bt_attention_maybe_bf16 (m->precision == BT_PRECISION_BF16, qkv, 3 * e,
                           qkv + e, 3 * e, qkv + 2 * e, 3 * e, n, n,
                           m->vision_heads, m->vision_head_dim, NULL, scores,
                           att, e);
  bt_linear_residual (att, n, e, w->out_proj.w, w->out_proj.b, e, x);

  bt_layer_norm (x, ln, n, e, w->ln_2.w, w->ln_2.b, eps);
  bt_linear (ln, n, e, 0, w->c_fc.w, w->c_fc.b, 4 * e, hidden, 0,
             BT_ACT_QUICK_GELU);
  bt_linear_residual (hidden, n, 4 * e, w->c_proj.w, w->c_proj.b, e, x);
}

/* Patch embedding, class token, position embeddings (resized when the
 * grid differs), ln_pre. */
static void
vision_embed (BtContext *ctx, const float *pixels, int height, int width,
              float *x)
{
  const BtModel *m = ctx->model;
  const BtVisionConfig *vc = &m->config.vision;
  const int e = vc->hidden_size, p = vc->patch_size;
  const int gh = height / p, gw = width / p;
  const int n_patches = gh * gw;
  const int patch_len = vc->num_channels * p * p;

  float *cols = bt_context_buffer (ctx, BT_WS_PATCHES,
                                   (gsize) n_patches * patch_len);
  bt_im2col_patches (pixels, vc->num_channels, height, width, p, cols);
  bt_linear (cols, n_patches, patch_len, 0, m->vision.patch_weight, NULL, e,
             x + e, 0, BT_ACT_NONE);
  memcpy (x, m->vision.class_embedding, sizeof (float) * e);

  const float *pos = m->vision.position_embedding;
  if (gh != m->grid || gw != m->grid) {
    float *resized = bt_context_buffer (ctx, BT_WS_POS,
                                        (gsize) (1 + n_patches) * e);
    memcpy (resized, pos, sizeof (float) * e);
    bt_bicubic_resize (pos + e, m->grid, m->grid, e, resized + e, gh, gw);
    pos = resized;
  }
  bt_add (x, pos, x, (gsize) (1 + n_patches) * e);
  bt_layer_norm (x, x, 1 + n_patches, e, m->vision.ln_pre.w,
                 m->vision.ln_pre.b, vc->layer_norm_eps);
}

/* cross_modal_image_transform(ln_post(x)) + token_type_embeddings[1]. */
static void
vision_bridge (BtContext *ctx, const float *x, int n, float *out)
{
  const BtModel *m = ctx->model;
  const int e = m->config.vision.hidden_size, h = m->config.hidden_size;
  float *ln = bt_context_buffer (ctx, BT_WS_NORM, (gsize) n * e);

  bt_layer_norm (x, ln, n, e, m->vision.ln_post.w, m->vision.ln_post.b,
                 m->config.vision.layer_norm_eps);
  bt_linear (ln, n, e, 0, m->cross.image_transform.w,
             m->cross.image_transform.b, h, out, 0, BT_ACT_NONE);
  const float *tt = m->cross.token_type + h;
  for (int r = 0; r < n; r++) {
    float *row = out + (gsize) r * h;
    for (int j = 0; j < h; j++)
      row[j] += tt[j];
  }
}

BtImageFeatures *
bt_vision_encode (BtContext *ctx, const float *pixels, int height, int width,
                  gboolean interpolate_pos_encoding, BtHiddenSink sink,
                  gpointer sink_data, GError **error)
{
  BtModel *m = ctx->model;
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
  float *x = bt_context_buffer (ctx, BT_WS_STREAM, (gsize) n * e);
  vision_embed (ctx, pixels, height, width, x);
  if (sink)
    sink (sink_data, "image", 0, 0, x, n, e);

  BtImageFeatures *f = bt_image_features_acquire (m, n);
  for (int i = 0; i < m->n_text_layers; i++) {
    vision_block (ctx, &m->vision.blocks[i], x, n);
    if (sink)
      sink (sink_data, "image", i + 1, 0, x, n, e);
    int k = i - (m->split - 1);
    if (k < 0)
      continue;
    float *bridge = f->bridge + (gsize) k * n * h;
    vision_bridge (ctx, x, n, bridge);
    if (k == 0)
      bt_layer_norm (bridge, f->input0, n, h, m->cross.image_norm.w,
                     m->cross.image_norm.b, m->config.layer_norm_eps);
  }

  bt_cross_prepare_image (ctx, f);
  if (m->heads & BT_HEAD_ITC)
    bt_heads_itc_unimodal (&m->head.itc_image,
                           f->bridge + (gsize) (m->n_cross - 1) * n * h, h,
                           m->config.contrastive_hidden_size, f->itc);
  return f;
}
