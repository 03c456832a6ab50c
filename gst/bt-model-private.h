/* bt-model-private.h - the model's internals shared by its source files:
 * weights, contexts and their work buffers, features, the towers.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-checkpoint.h"
#include "bt-model.h"
#include "bt-ops.h"

G_BEGIN_DECLS

/* ---- weights (views into the checkpoint or owned random buffers) ------- */

typedef struct {
  const float *w;              /* [out, in] */
  const float *b;              /* [out] or NULL */
} BtLinearW;

typedef struct {
  const float *w;
  const float *b;
} BtNormW;

typedef struct {
  BtNormW ln_1, ln_2;
  BtLinearW in_proj;           /* packed [q; k; v]: [3E, E] */
  BtLinearW out_proj, c_fc, c_proj;
} BtVisionBlockW;

typedef struct {
  const float *class_embedding;     /* [E] */
  const float *patch_weight;        /* [E, channels * patch * patch] */
  const float *position_embedding;  /* [1 + grid * grid, E] */
  BtNormW ln_pre, ln_post;
  BtVisionBlockW *blocks;           /* the blocks that run: text depth */
} BtVisionW;

/* BERT attention: projections, output dense and the post-LN. */
typedef struct {
  BtLinearW query, key, value, out;
  BtNormW norm;
} BtAttentionW;

typedef struct {
  BtAttentionW attention;
  BtAttentionW crossattention;      /* cross-modal layers only */
  BtLinearW intermediate, output;
  BtNormW output_norm;
} BtLayerW;

typedef struct {
  const float *word, *position, *token_type;
  BtNormW norm;
  BtLayerW *layers;
} BtTextW;

typedef struct {
  BtNormW norm;
  float scalar;                     /* scaled_factor or beta */
} BtLinkW;

typedef struct {
  BtLinearW text_transform, image_transform;
  const float *token_type;          /* [2, H] */
  BtNormW text_norm, image_norm;
  BtLayerW *text_layers, *image_layers;
  BtLinkW *text_links, *image_links;     /* C - 1 each (shared: all alike) */
  BtLinearW text_pooler, image_pooler;
} BtCrossW;

typedef struct {
  BtLinearW itm;
  BtLinearW mlm_dense;
  BtNormW mlm_norm;
  BtLinearW mlm_decoder;
  BtLinearW itc_text, itc_image, itc_cross;
  float logit_scale;                /* the parameter; exp() is the scale */
} BtHeadW;

/* ---- the model ----------------------------------------------------------- */

struct _BtModel {
  gint refcount;
  BtConfig config;
  BtHeads heads;
  BtPrecision precision;
  char *path;                       /* canonical folder, NULL when random */
  BtCheckpoint *ckpt;
  GPtrArray *owned;                 /* buffers of random weights */
  BtTokenizer *tokenizer;
  BtImageConfig image_config;
  gboolean image_config_file;       /* from preprocessor_config.json */

  /* derived sizes */
  int n_text_layers;                /* T */
  int n_cross;                      /* C */
  int split;                        /* T - C + 1: blocks run before bridging */
  int vision_heads, vision_head_dim;
  int grid;                         /* image_size / patch */

  BtVisionW vision;
  BtTextW text;
  BtCrossW cross;
  BtHeadW head;

  /* recycled features (freed with the model) */
  GMutex pool_lock;
  GPtrArray *image_pool, *text_pool;
  gint n_pool_allocs;               /* features buffers allocated, ever */

  gboolean cached;                  /* owned by the process-wide cache */

  /* precision bf16: float32 weight -> its BtBf16Linear (bt-model-bf16.c) */
  GHashTable *bf16;
  gsize bf16_bytes;
  gsize f32_released_bytes;         /* float32 weight pages handed back */
};

/* precision bf16: converts every linear layer's weights (bt-model-bf16.c);
 * release undoes it. */
gboolean bt_model_bf16_convert (BtModel *model, GError **error);
void bt_model_bf16_release (BtModel *model);

/* Frees a model whose last reference is gone. */
void bt_model_finalize (BtModel *model);

/* The cache's side of bt_model_unref for cached models. */
void bt_model_cache_release (BtModel *model);

/* The process-wide compute lock: every BLAS-heavy section holds it, so at
 * most one forward pass drives OpenBLAS's threads at a time. */
void bt_compute_lock (void);
void bt_compute_unlock (void);

/* ---- features ------------------------------------------------------------ */

struct _BtImageFeatures {
  gint refcount;
  BtModel *model;
  int n_tokens;                     /* N: 1 + patches */
  gboolean itc_only;                /* the itc embedding is all there is */
  /* C x N x H: cross_modal_image_transform(ln_post(v_i)) + tt[1] for the
   * C bridged blocks (link tower inputs; [0] feeds layer 0) */
  float *bridge;
  float *input0;                    /* N x H: layer-0 input after its LN */
  /* cross-modal layer 0's image-only work, N x H each: the image layer's
   * self-attention output and its cross-attention queries, and the text
   * layer's cross-attention keys and values of this image */
  float *l0_self, *l0_cross_q, *l0_enc_k, *l0_enc_v;
  float *itc;                       /* contrastive_hidden_size, or unused */
  gsize capacity;                   /* floats in `data` */
  float *data;
};

struct _BtTextFeatures {
  gint refcount;
  BtModel *model;
  int n_tokens;                     /* L */
  float *bridge;                    /* C x L x H, as the image side */
  float *input0;                    /* L x H */
  float *l0_self, *l0_cross_q, *l0_enc_k, *l0_enc_v;   /* as the image's */
  float *mask_bias;                 /* L: (1 - mask) * finfo(float32).min */
  float *itc;
  gsize capacity;
  float *data;
};

/* ---- contexts and their work buffers ----------------------------------- */

typedef enum {
  BT_WS_STREAM,                     /* residual stream of a tower */
  BT_WS_NORM,
  BT_WS_QKV,
  BT_WS_CTX,
  BT_WS_HIDDEN,                     /* MLP / FFN intermediate */
  BT_WS_SCORES,
  BT_WS_PATCHES,
  BT_WS_POS,
  BT_WS_TEXT_IN,                    /* cross-modal: stacked inputs/outputs */
  BT_WS_IMAGE_IN,
  BT_WS_TEXT_OUT,
  BT_WS_IMAGE_OUT,
  BT_WS_TEXT_MASK,
  BT_WS_LAYER_A,                    /* cross-modal layer scratch */
  BT_WS_LAYER_B,
  BT_WS_LAYER_K,
  BT_WS_LAYER_V,
  BT_WS_CLS,
  BT_WS_HEAD,
  BT_WS_LAST_TEXT,                  /* last cross-modal layer outputs */
  BT_WS_LAST_IMAGE,
  BT_WS_POOLED,
  BT_WS_N
} BtWsSlot;

/* One sequence among stacked rows. */
typedef struct {
  int off, len;
} BtSeg;

typedef enum {
  BT_SEGS_TEXT,
  BT_SEGS_IMAGE,
  BT_SEGS_N
} BtSegSlot;

typedef enum {
  BT_PTRS_FEATURES,                 /* the pairs of a call */
  BT_PTRS_SHORTCUT,                 /* layer-0 shortcut rows */
  BT_PTRS_N
} BtPtrSlot;

struct _BtContext {
  BtModel *model;
  float *buf[BT_WS_N];
  gsize cap[BT_WS_N];
  BtSeg *segs[BT_SEGS_N];
  gsize seg_cap[BT_SEGS_N];
  gpointer *ptrs[BT_PTRS_N];        /* per-call pointer arrays */
  gsize ptr_cap[BT_PTRS_N];
  guint n_grows;                    /* work-buffer (re)allocations, ever */
};

/* A work buffer of at least `n` floats (contents undefined). */
float *bt_context_buffer (BtContext *ctx, BtWsSlot slot, gsize n);
BtSeg *bt_context_segments (BtContext *ctx, BtSegSlot slot, gsize n);
gpointer *bt_context_pointers (BtContext *ctx, BtPtrSlot slot, gsize n);

/* Allocations made so far for tensor work by this context and by its
 * model's features pool: the allocation test checks it stays constant. */
guint bt_context_get_n_allocs (const BtContext *ctx);

/* Receives hidden states as they are computed (forward pass only). `kind`
 * is "text", "image", "cross.text" or "cross.image"; `item` the pair's
 * index in a cross-modal run (0 in the towers); rows x dim floats. */
typedef void (*BtHiddenSink) (gpointer user_data, const char *kind,
                              int layer, int item, const float *x, int rows,
                              int dim);

/* ---- the towers (callers hold the compute lock) ------------------------- */

/* A BERT attention block on `n` stacked sequences:
 * out = LN(xq + dense(attention(q(xq), k(kv), v(kv)))). `xq` has a row per
 * query (every row of the q_seg sequences, or with `cls_only` one per
 * sequence); sequence i attends to `kv_seg[i]` of `kv` with `kv_mask` (one
 * float per kv row, or NULL). Projections already computed may be given per
 * sequence in q_pre / k_pre / v_pre (then `kv` may be NULL). */
void bt_bert_attention (BtContext *ctx, const BtAttentionW *w, int hidden,
                        int heads, double eps, const float *xq, int n_q_rows,
                        const BtSeg *q_seg, gboolean cls_only,
                        const float *kv, const BtSeg *kv_seg, int n,
                        const float *kv_mask, const float *const *q_pre,
                        const float *const *k_pre, const float *const *v_pre,
                        float *out);

/* What a layer may take precomputed, per sequence (the image-only and
 * text-only parts of cross-modal layer 0, kept in the features). */
typedef struct {
  const float *const *self_out;     /* the self-attention block's output */
  const float *const *cross_q;      /* cross-attention queries */
  const float *const *enc_k;        /* cross-attention keys, values of the */
  const float *const *enc_v;        /* other side's enc_seg[i] rows */
} BtLayerShortcut;

/* One BERT layer (post-LN) on `n` sequences stacked in `x`: self-attention
 * within each sequence with `mask_bias` (one float per row of x, or NULL),
 * then, when `enc` (or a shortcut's enc_k) is given, cross-attention from
 * sequence i to `enc_seg[i]` of `enc` with `enc_mask` (per row of enc, or
 * NULL), then the FFN. With `cls_only`, only the first row of each
 * sequence is computed: `out` gets n rows. `out` may alias `x`; `x` may be
 * NULL when the shortcut gives the self-attention output. */
void bt_bert_layer (BtContext *ctx, const BtLayerW *w, int hidden, int heads,
                    int intermediate, double eps, const float *x,
                    const BtSeg *seg, int n, const float *mask_bias,
                    const float *enc, const BtSeg *enc_seg,
                    const float *enc_mask, const BtLayerShortcut *sc,
                    gboolean cls_only, float *out);

BtImageFeatures *bt_vision_encode (BtContext *ctx, const float *pixels,
                                   int height, int width,
                                   gboolean interpolate_pos_encoding,
                                   BtHiddenSink sink, gpointer sink_data,
                                   GError **error);

/* `n` texts at once, rows stacked; fills out[0 .. n-1]. The sink gets the
 * stacked rows (the forward pass encodes one text at a time). */
gboolean bt_text_encode_many (BtContext *ctx, const gint64 *const *input_ids,
                              const gint64 *const *attention_masks,
                              const int *n_tokens, int n, BtTextFeatures **out,
                              BtHiddenSink sink, gpointer sink_data,
                              GError **error);

BtTextFeatures *bt_text_encode (BtContext *ctx, const gint64 *input_ids,
                                const gint64 *attention_mask, int n_tokens,
                                BtHiddenSink sink, gpointer sink_data,
                                GError **error);

/* The cross-modal encoder on `n` (image, text) pairs, rows stacked.
 * Outputs: `text_out` (sum of text lengths x H) and `image_out` (sum of
 * image tokens x H) are the last layer's outputs; with `text_cls_only` /
 * `image_cls_only` that side holds only the CLS row of each pair (n x H),
 * all the poolers need. `pooled` (n x 2H) gets the pooler output when not
 * NULL. */
void bt_cross_run (BtContext *ctx, BtImageFeatures *const *images,
                   BtTextFeatures *const *texts, int n,
                   gboolean text_cls_only, gboolean image_cls_only,
                   float *text_out, float *image_out, float *pooled,
                   BtHiddenSink sink, gpointer sink_data);

/* Computes the l0_* parts of freshly encoded features. */
void bt_cross_prepare_image (BtContext *ctx, BtImageFeatures *f);
void bt_cross_prepare_texts (BtContext *ctx, BtTextFeatures *const *f,
                             int n);

/* Features from the model's pool. */
BtImageFeatures *bt_image_features_acquire (BtModel *model, int n_tokens);
BtTextFeatures *bt_text_features_acquire (BtModel *model, int n_tokens);

/* ---- heads --------------------------------------------------------------- */

void bt_heads_itm (BtContext *ctx, const float *pooled, int n, float *logits);
void bt_heads_mlm (BtContext *ctx, const float *text_out, int rows,
                   float *logits);
void bt_heads_itc_cross (BtContext *ctx, const float *pooled, int n,
                         float *embeds);
/* ITC head on one CLS row, normalised. */
void bt_heads_itc_unimodal (const BtLinearW *head, const float *cls, int in,
                            int out, float *embed);

G_END_DECLS
