/* bt-config.h - BridgeTowerConfig (config.json) with HF's defaults.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bt-common.h"

G_BEGIN_DECLS

/* Which task heads a checkpoint carries (several may be present). */
typedef enum {
  BT_HEAD_NONE = 0,            /* bare BridgeTowerModel */
  BT_HEAD_ITM = 1 << 0,        /* BridgeTowerForImageAndTextRetrieval */
  BT_HEAD_MLM = 1 << 1,        /* BridgeTowerForMaskedLM */
  BT_HEAD_ITC = 1 << 2,        /* BridgeTowerForContrastiveLearning */
} BtHeads;

typedef enum {
  BT_LINK_ADD,                 /* LayerNorm(x + y) */
  BT_LINK_SCALED_ADD,          /* LayerNorm(x * scaled_factor + y) */
  BT_LINK_INTERPOLATE,         /* LayerNorm(x * (1 - beta) + y * beta) */
} BtLinkTowerType;

/* BridgeTowerTextConfig (RoBERTa). */
typedef struct {
  int vocab_size;
  int hidden_size;
  int num_hidden_layers;
  int num_attention_heads;
  int intermediate_size;
  int max_position_embeddings;
  int type_vocab_size;
  int pad_token_id;
  int bos_token_id;
  int eos_token_id;
  double layer_norm_eps;
} BtTextConfig;

/* BridgeTowerVisionConfig (CLIP ViT). Heads are hidden_size / 64. */
typedef struct {
  int hidden_size;
  int num_hidden_layers;
  int num_channels;
  int patch_size;
  int image_size;
  double layer_norm_eps;
  gboolean share_layernorm;
  gboolean remove_last_layer;
} BtVisionConfig;

/* BridgeTowerConfig. */
typedef struct {
  BtTextConfig text;
  BtVisionConfig vision;

  int hidden_size;
  int num_hidden_layers;       /* cross-modal layers */
  int num_attention_heads;
  double layer_norm_eps;
  BtLinkTowerType link_tower_type;
  gboolean share_link_tower_layers;
  gboolean share_cross_modal_transformer_layers;
  gboolean init_layernorm_from_vision_encoder;
  gboolean tie_word_embeddings;
  int contrastive_hidden_size;
  double logit_scale_init_value;

  /* From `architectures`: the heads the checkpoint says it was saved with. */
  BtHeads architectures;
} BtConfig;

/* Fills `config` with the defaults of HF's config classes. */
BT_API
void bt_config_init_defaults (BtConfig *config);

/* Parses config.json (`path` is the file or the model folder). Missing keys
 * take HF's defaults; unknown and legacy keys are ignored; `*_config_dict`
 * null counts as absent. Values we cannot run are a BT_ERROR_CONFIG or
 * BT_ERROR_UNSUPPORTED error naming the file and the key. */
BT_API
gboolean bt_config_load (BtConfig *config, const char *path, GError **error);
BT_API
gboolean bt_config_load_from_data (BtConfig *config, const char *json,
                                   gssize length, GError **error);

/* Rejects the configurations HF cannot run (the golden manifest's
 * rejected_configs) and values this implementation does not support. */
BT_API
gboolean bt_config_validate (const BtConfig *config, GError **error);

/* Derived sizes. */
BT_API
int bt_config_vision_heads (const BtConfig *config);     /* hidden / 64 */
BT_API
int bt_config_vision_blocks (const BtConfig *config);    /* instantiated blocks */
BT_API
int bt_config_split_layer (const BtConfig *config);      /* T - C + 1 */

G_END_DECLS
