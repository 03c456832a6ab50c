/* bt-model.h - the BridgeTower model, shaped for video: image features are
 * computed once per frame, text features once per query, and only the
 * cross-modal encoder runs per (frame, query) pair.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"
#include "bt-config.h"
#include "bt-image.h"
#include "bt-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  BT_PRECISION_FP32,           /* default; parity with HF float32 */
  BT_PRECISION_BF16,           /* opt-in, needs a CPU with bf16 units */
  BT_PRECISION_INT8,           /* opt-in: int8 linears, needs VNNI */
} BtPrecision;

/* ---- the model: immutable weights, shared between threads -------------- */

typedef struct _BtModel BtModel;

/* How a model is built. Start from bt_model_default_params. */
typedef struct {
  BtPrecision precision;       /* the weights' form; BT_PRECISION_FP32 */
} BtModelParams;

BT_API
BtModelParams bt_model_default_params (void);

/* Loads a model folder (config.json, weights, tokenizer, preprocessor
 * config); `params` NULL: the defaults. Uncached; most callers want
 * bt_model_cache_acquire. */
BT_API
BtModel *bt_model_load (const char *dir, const BtModelParams *params,
                        GError **error);
/* Random weights of the shapes `config` implies, built in memory (tests,
 * benchmarks). Such a model has no tokenizer; its image config is the class
 * default with size = vision image_size. */
BT_API
BtModel *bt_model_new_random (const BtConfig *config, BtHeads heads,
                              const BtModelParams *params, guint64 seed,
                              GError **error);

BT_API
BtModel *bt_model_ref (BtModel *model);
BT_API
void bt_model_unref (BtModel *model);

/* The process-wide cache: one model per (canonical path, precision),
 * loaded on first acquire, freed when the last reference goes. Thread-safe. */
BT_API
BtModel *bt_model_cache_acquire (const char *dir, const BtModelParams *params,
                                 GError **error);

BT_API
const BtConfig *bt_model_get_config (const BtModel *model);
BT_API
BtHeads bt_model_get_heads (const BtModel *model);
BT_API
BtPrecision bt_model_get_precision (const BtModel *model);
/* NULL for random models. */
BT_API
const char *bt_model_get_path (const BtModel *model);
/* NULL when the folder has no tokenizer files. */
BT_API
BtTokenizer *bt_model_get_tokenizer (const BtModel *model);
/* What BridgeTowerProcessor applies (center crop and normalise forced on). */
BT_API
const BtImageConfig *bt_model_get_image_config (const BtModel *model);
/* FALSE when the folder has no preprocessor_config.json: the image settings
 * are then BridgeTowerImageProcessor's defaults sized to config.json's
 * image_size. */
BT_API
gboolean bt_model_has_image_config_file (const BtModel *model);

/* The processor files of a model folder, read as bt_model_load reads them:
 * FALSE with `error` when it has no tokenizer (tokenizer.json, or
 * vocab.json + merges.txt) or when that or preprocessor_config.json does not
 * parse. *has_image_config says whether preprocessor_config.json is there. */
BT_API
gboolean bt_model_check_processor_files (const char *dir,
                                         gboolean *has_image_config,
                                         GError **error);
/* exp(logit_scale) of the ITC head; 0 without one. */
BT_API
float bt_model_get_logit_scale (const BtModel *model);

/* ---- features: immutable, refcounted results ---------------------------- */

/* One image through the vision tower: everything the cross-modal encoder
 * and ITC need (bridge-layer features after ln_post and the cross-modal
 * image transform, the ITC image embedding when the model has ITC). */
typedef struct _BtImageFeatures BtImageFeatures;

BT_API
BtImageFeatures *bt_image_features_ref (BtImageFeatures *f);
BT_API
void bt_image_features_unref (BtImageFeatures *f);
/* The model that produced them (no new reference). */
BT_API
BtModel *bt_image_features_get_model (const BtImageFeatures *f);
/* L2-normalised ITC image embedding (contrastive_hidden_size floats), or
 * NULL without an ITC head. */
BT_API
const float *bt_image_features_get_itc (const BtImageFeatures *f);

/* The features as one flat block of floats, to store them (a search index
 * that needs no vision tower the next time): `n_tokens` and the block are
 * all bt_image_features_new_from_data needs, with the same model. */
BT_API
const float *bt_image_features_get_data (const BtImageFeatures *f,
                                         int *n_tokens, gsize *n_floats);
/* Features of `model` from a block bt_image_features_get_data gave (copied).
 * BT_ERROR_SHAPE when the size does not fit the model and `n_tokens`. */
BT_API
BtImageFeatures *bt_image_features_new_from_data (BtModel *model,
                                                  int n_tokens,
                                                  const float *data,
                                                  gsize n_floats,
                                                  GError **error);
/* Features that hold an ITC embedding only (a store of embeddings): ITC
 * scoring works on them; the cross-modal calls refuse them
 * (BT_ERROR_INPUT). BT_ERROR_SHAPE unless the model has an ITC head of
 * `dim` values. */
BT_API
BtImageFeatures *bt_image_features_new_itc_only (BtModel *model,
                                                 const float *itc, int dim,
                                                 GError **error);

/* One text through the text tower (cacheable per query). */
typedef struct _BtTextFeatures BtTextFeatures;

BT_API
BtTextFeatures *bt_text_features_ref (BtTextFeatures *f);
BT_API
void bt_text_features_unref (BtTextFeatures *f);
BT_API
BtModel *bt_text_features_get_model (const BtTextFeatures *f);
BT_API
int bt_text_features_get_n_tokens (const BtTextFeatures *f);
BT_API
const float *bt_text_features_get_itc (const BtTextFeatures *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtImageFeatures, bt_image_features_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtTextFeatures, bt_text_features_unref)

/* ---- contexts: per-thread work buffers ---------------------------------- */

/* Holds every work buffer a forward pass needs, grown on demand and reused:
 * after warm-up the calls below allocate nothing in the tensor work (the
 * returned features come from a recycled pool). One per thread. */
typedef struct _BtContext BtContext;

/* How a context computes. Start from bt_context_default_params. */
typedef struct {
  /* threads of this context's calls; 0: the process default (OpenBLAS's:
   * OPENBLAS_NUM_THREADS, else the cores). Calls of all contexts take
   * turns on the cores, each with its own count, so one context's setting
   * never changes another's. */
  int n_threads;
} BtContextParams;

BT_API
BtContextParams bt_context_default_params (void);

/* `params` NULL: the defaults. */
BT_API
BtContext *bt_context_new (BtModel *model, const BtContextParams *params);
/* The threads its calls use (the default resolved). */
BT_API
int bt_context_get_n_threads (const BtContext *ctx);
BT_API
void bt_context_free (BtContext *ctx);
BT_API
BtModel *bt_context_get_model (const BtContext *ctx);

/* `pixel_values`: 3 x height x width float32 as the image processor gives
 * it. height/width must equal the vision image_size unless
 * `interpolate_pos_encoding` (BT_ERROR_INPUT otherwise). */
BT_API
BtImageFeatures *bt_context_encode_image (BtContext *ctx,
                                          const float *pixel_values,
                                          int height, int width,
                                          gboolean interpolate_pos_encoding,
                                          GError **error);

/* `attention_mask` may be NULL (all ones). */
BT_API
BtTextFeatures *bt_context_encode_text (BtContext *ctx, const gint64 *input_ids,
                                        const gint64 *attention_mask,
                                        int n_tokens, GError **error);
/* Encodes `n` texts in one pass (their rows stacked in every product:
 * much faster than one by one for short queries). Text i has n_tokens[i]
 * ids; `attention_masks` may be NULL (all ones). Fills out[0 .. n-1] with
 * new references; on error none is returned. */
BT_API
gboolean bt_context_encode_texts (BtContext *ctx,
                                  const gint64 *const *input_ids,
                                  const gint64 *const *attention_masks,
                                  const int *n_tokens, int n,
                                  BtTextFeatures **out, GError **error);
/* Tokenizes with the model's tokenizer (<s> ... </s>, truncated to the
 * tokenizer's model_max_length), then encodes. */
BT_API
BtTextFeatures *bt_context_encode_query (BtContext *ctx, const char *text,
                                         GError **error);

/* ITM: the cross-modal encoder on one image against `n_texts` texts at once
 * (rows stacked). Writes n_texts x 2 logits; softmax(logits)[1] is the
 * match probability. BT_ERROR_NO_HEAD without an ITM head. */
BT_API
gboolean bt_context_match (BtContext *ctx, const BtImageFeatures *image,
                           BtTextFeatures *const *texts, int n_texts,
                           float *logits, GError **error);

/* ITC cross embeddings (n_texts x contrastive_hidden_size, normalised). */
BT_API
gboolean bt_context_cross_embed (BtContext *ctx, const BtImageFeatures *image,
                                 BtTextFeatures *const *texts, int n_texts,
                                 float *embeds, GError **error);

/* MLM logits for every text position (n_tokens x vocab_size). */
BT_API
gboolean bt_context_mlm (BtContext *ctx, const BtImageFeatures *image,
                         const BtTextFeatures *text, float *logits,
                         GError **error);

/* ---- the whole forward pass of one head on a batch (as HF's forward) ---- */

typedef struct {
  int batch;
  int seq_len;
  const gint64 *input_ids;       /* batch x seq_len */
  const gint64 *attention_mask;  /* batch x seq_len; NULL = all ones */
  int height;
  int width;
  const float *pixel_values;     /* batch x 3 x height x width */
  gboolean interpolate_pos_encoding;
  gboolean output_hidden_states;
} BtForwardInput;

/* Runs `head` (BT_HEAD_NONE = bare BridgeTowerModel) and adds its outputs to
 * `out` under the golden manifest's names: text_features, image_features,
 * pooler_output, logits, text_embeds, image_embeds, cross_embeds and, with
 * output_hidden_states, hidden_states.text.N, hidden_states.image.N
 * (sequence-first), hidden_states.cross.N.text / .image. */
BT_API
gboolean bt_context_forward (BtContext *ctx, BtHeads head,
                             const BtForwardInput *input, BtTensorSet *out,
                             GError **error);

G_END_DECLS
