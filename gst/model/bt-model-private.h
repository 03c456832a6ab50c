/* bt-model-private.h - the model's internals shared by its source files:
 * weights, contexts and their work buffers, features, the towers.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-arena.h"
#include "bt-checkpoint.h"
#include "bt-compute.h"
#include "bt-linear.h"
#include "bt-model.h"

G_BEGIN_DECLS

/* ---- weights (views into the checkpoint or owned random buffers) ------- */

typedef struct {
  const float *w;
  const float *b;
} BtNormW;

typedef struct {
  BtNormW ln_1, ln_2;
  BtLinear in_proj;           /* packed [q; k; v]: [3E, E] */
  BtLinear out_proj, c_fc, c_proj;
} BtVisionBlockW;

typedef struct {
  const float *class_embedding;     /* [E] */
  BtLinear patch;                   /* [E, channels * patch * patch] */
  const float *position_embedding;  /* [1 + grid * grid, E] */
  BtNormW ln_pre, ln_post;
  BtVisionBlockW *blocks;           /* the blocks that run: text depth */
} BtVisionW;

/* BERT attention: projections, output dense and the post-LN. */
typedef struct {
  BtLinear query, key, value, out;
  BtNormW norm;
} BtAttentionW;

typedef struct {
  BtAttentionW attention;
  BtAttentionW crossattention;      /* cross-modal layers only */
  BtLinear intermediate, output;
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
  BtLinear text_transform, image_transform;
  const float *token_type;          /* [2, H] */
  BtNormW text_norm, image_norm;
  BtLayerW *text_layers, *image_layers;
  BtLinkW *text_links, *image_links;     /* C - 1 each (shared: all alike) */
  BtLinear text_pooler, image_pooler;
} BtCrossW;

typedef struct {
  BtLinear itm;
  BtLinear mlm_dense;
  BtNormW mlm_norm;
  BtLinear mlm_decoder;
  BtLinear itc_text, itc_image, itc_cross;
  float logit_scale;                /* the parameter; exp() is the scale */
} BtHeadW;

/* The sizes of a BERT layer (the text tower's and the cross-modal ones). */
typedef struct {
  int hidden, heads, intermediate;
  double eps;
  gboolean bf16_attention;          /* bf16 (or int8) model: attention on
                                     * oneDNN in bf16 */
} BtBertDims;

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
  BtBertDims text_dims, cross_dims;

  BtVisionW vision;
  BtTextW text;
  BtCrossW cross;
  BtHeadW head;

  /* recycled features (freed with the model) */
  GMutex pool_lock;
  GPtrArray *image_pool, *text_pool;
  gint n_pool_allocs;               /* features buffers allocated, ever */

  gboolean cached;                  /* owned by the process-wide cache */

  /* every bound linear layer, in inventory order (not owned): the one
   * list a precision conversion walks */
  GPtrArray *linears;
  gsize bf16_bytes;                 /* packed bf16 or int8 weights */
  gsize f32_released_bytes;         /* float32 weight pages handed back */
};

/* Frees a model whose last reference is gone. */
void bt_model_finalize (BtModel *model);

/* The cache's side of bt_model_unref for cached models. */
void bt_model_cache_release (BtModel *model);

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

/* ---- contexts ------------------------------------------------------------ */

struct _BtContext {
  BtModel *model;
  int n_threads;                    /* resolved: never 0 */
  BtArena arena;
};

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

/* Sequences stacked row by row: sequence i is rows seg[i].off ..
 * seg[i].off + seg[i].len - 1 of x. As the query side of an attention,
 * seg NULL means one row per sequence (row i: its CLS). */
typedef struct {
  const float *x;                   /* rows x width; NULL when precomputed */
  const BtSeg *seg;
  int n;                            /* sequences */
  const float *mask;                /* additive bias per row, or NULL */
} BtRows;

/* Projections already computed, one pointer per sequence (NULL: none). */
typedef struct {
  const float *const *q, *const *k, *const *v;
} BtProjections;

/* A BERT attention block: out = LN(q.x + dense(attention(Q(q.x), K(kv.x),
 * V(kv.x)))), sequence i of `q` attending to sequence i of `kv` with its
 * mask. `pre` (may be NULL) gives projections already computed. `out` may
 * alias q->x. */
gboolean bt_bert_attention (BtArena *a, const BtAttentionW *w,
                            const BtBertDims *d, const BtRows *q,
                            const BtRows *kv, const BtProjections *pre,
                            float *out, GError **error);

/* What a layer may take precomputed, per sequence (the image-only and
 * text-only parts of cross-modal layer 0, kept in the features). */
typedef struct {
  const float *const *self_out;     /* the self-attention block's output */
  const float *const *cross_q;      /* cross-attention queries */
  const float *const *enc_k;        /* cross-attention keys, values of the */
  const float *const *enc_v;        /* other side's sequence */
} BtLayerShortcut;

/* One BERT layer (post-LN) on the sequences of `x`: self-attention within
 * each with x's mask, then, when `enc` is given, cross-attention from
 * sequence i to sequence i of `enc` with enc's mask, then the FFN. With
 * `cls_only`, only the first row of each sequence is computed: `out` gets
 * x->n rows. `out` may alias x->x; x->x and enc->x may be NULL where the
 * shortcut gives what they would feed. */
gboolean bt_bert_layer (BtArena *a, const BtLayerW *w, const BtBertDims *d,
                        const BtRows *x, const BtRows *enc,
                        const BtLayerShortcut *sc, gboolean cls_only,
                        float *out, GError **error);

BtImageFeatures *bt_vision_encode (BtModel *m, BtArena *a,
                                   const float *pixels, int height, int width,
                                   gboolean interpolate_pos_encoding,
                                   BtHiddenSink sink, gpointer sink_data,
                                   GError **error);

/* `n` texts at once, rows stacked; fills out[0 .. n-1]. The sink gets the
 * stacked rows (the forward pass encodes one text at a time). */
gboolean bt_text_encode_many (BtModel *m, BtArena *a,
                              const gint64 *const *input_ids,
                              const gint64 *const *attention_masks,
                              const int *n_tokens, int n, BtTextFeatures **out,
                              BtHiddenSink sink, gpointer sink_data,
                              GError **error);

BtTextFeatures *bt_text_encode (BtModel *m, BtArena *a,
                                const gint64 *input_ids,
                                const gint64 *attention_mask, int n_tokens,
                                BtHiddenSink sink, gpointer sink_data,
                                GError **error);

/* The cross-modal encoder on `n` (image, text) pairs, rows stacked.
 * Outputs: `text_out` (sum of text lengths x H) and `image_out` (sum of
 * image tokens x H) are the last layer's outputs; with `text_cls_only` /
 * `image_cls_only` that side holds only the CLS row of each pair (n x H),
 * all the poolers need. `pooled` (n x 2H) gets the pooler output when not
 * NULL. */
gboolean bt_cross_run (const BtModel *m, BtArena *a,
                       BtImageFeatures *const *images,
                       BtTextFeatures *const *texts, int n,
                       gboolean text_cls_only, gboolean image_cls_only,
                       float *text_out, float *image_out, float *pooled,
                       BtHiddenSink sink, gpointer sink_data, GError **error);

/* Computes the l0_* parts of freshly encoded features. */
gboolean bt_cross_prepare_image (const BtModel *m, BtArena *a,
                                 BtImageFeatures *f,
                                 GError **error);
gboolean bt_cross_prepare_texts (const BtModel *m, BtArena *a,
                                 BtTextFeatures *const *f,
                                 int n, GError **error);

/* Features from the model's pool. */
BtImageFeatures *bt_image_features_acquire (BtModel *model, int n_tokens);
BtTextFeatures *bt_text_features_acquire (BtModel *model, int n_tokens);

/* ---- heads --------------------------------------------------------------- */

gboolean bt_heads_itm (const BtModel *m, const float *pooled, int n,
                       float *logits, GError **error);
gboolean bt_heads_mlm (const BtModel *m, BtArena *a, const float *text_out, int rows,
                       float *logits, GError **error);
gboolean bt_heads_itc_cross (const BtModel *m, const float *pooled, int n,
                             float *embeds, GError **error);
/* ITC head on one CLS row, normalised. */
gboolean bt_heads_itc_unimodal (const BtLinear *head, const float *cls,
                                float *embed, GError **error);

G_END_DECLS
