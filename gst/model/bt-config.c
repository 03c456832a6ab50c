/* bt-config.c - config.json -> BtConfig, with the defaults of HF's
 * BridgeTowerConfig / BridgeTowerTextConfig / BridgeTowerVisionConfig.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-config.h"
#include "bt-json.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* config.json files on the hub are a few kB; anything this large is not one. */
#define BT_CONFIG_MAX_BYTES (4 * 1024 * 1024)

void
bt_config_init_defaults (BtConfig *config)
{
  memset (config, 0, sizeof *config);

  config->text.vocab_size = 50265;
  config->text.hidden_size = 768;
  config->text.num_hidden_layers = 12;
  config->text.num_attention_heads = 12;
  config->text.intermediate_size = 3072;
  config->text.max_position_embeddings = 514;
  config->text.type_vocab_size = 1;
  config->text.pad_token_id = 1;
  config->text.bos_token_id = 0;
  config->text.eos_token_id = 2;
  config->text.layer_norm_eps = 1e-5;

  config->vision.hidden_size = 768;
  config->vision.num_hidden_layers = 12;
  config->vision.num_channels = 3;
  config->vision.patch_size = 16;
  config->vision.image_size = 288;
  config->vision.layer_norm_eps = 1e-5;
  config->vision.share_layernorm = TRUE;
  config->vision.remove_last_layer = FALSE;

  config->hidden_size = 768;
  config->num_hidden_layers = 6;
  config->num_attention_heads = 12;
  config->layer_norm_eps = 1e-5;
  config->link_tower_type = BT_LINK_ADD;
  config->share_link_tower_layers = FALSE;
  config->share_cross_modal_transformer_layers = TRUE;
  config->init_layernorm_from_vision_encoder = FALSE;
  config->tie_word_embeddings = FALSE;
  /* Not attributes of the config class: BridgeTowerForContrastiveLearning
   * reads them from the file; these are the values the hub's ITC model
   * was published with. */
  config->contrastive_hidden_size = 512;
  config->logit_scale_init_value = 2.6592;
  config->architectures = BT_HEAD_NONE;
}

/* ---- typed member access ------------------------------------------------ */

/* `section` is "" for the top level or "text_config." / "vision_config.". */
typedef struct {
  JsonObject *obj;
  const char *section;
} Section;

static const char *
node_type_name (JsonNode *node)
{
  switch (json_node_get_node_type (node)) {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
      break;
  }
  switch (json_node_get_value_type (node)) {
    case G_TYPE_BOOLEAN:
      return "a boolean";
    case G_TYPE_INT64:
      return "an integer";
    case G_TYPE_DOUBLE:
      return "a number";
    case G_TYPE_STRING:
      return "a string";
    default:
      return "a value";
  }
}

static gboolean
type_error (const Section *s, const char *key, JsonNode *node,
            const char *expected, GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_CONFIG,
               "%s%s must be %s, not %s", s->section, key, expected,
               node_type_name (node));
  return FALSE;
}

static gboolean
node_is (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
int_from_node (const Section *s, const char *key, JsonNode *node, int *out,
               GError **error)
{
  gint64 v;

  if (!node_is (node, G_TYPE_INT64))
    return type_error (s, key, node, "an integer", error);
  v = json_node_get_int (node);
  if (v < G_MININT || v > G_MAXINT) {
    g_set_error (error, BT_ERROR, BT_ERROR_CONFIG,
                 "%s%s = %" G_GINT64_FORMAT " is out of range", s->section,
                 key, v);
    return FALSE;
  }
  *out = (int) v;
  return TRUE;
}

/* Absent keys keep the default already in *out. */
static gboolean
read_int (const Section *s, const char *key, int *out, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);

  if (node == NULL)
    return TRUE;
  return int_from_node (s, key, node, out, error);
}

/* bos/eos may be null (HF: None); nothing in the forward pass reads them,
 * so -1 stands for None. eos may also be a list: the first id is kept. */
static gboolean
read_token_id (const Section *s, const char *key, int *out, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (node)) {
    *out = -1;
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    if (json_array_get_length (array) == 0) {
      *out = -1;
      return TRUE;
    }
    return int_from_node (s, key, json_array_get_element (array, 0), out,
                          error);
  }
  return int_from_node (s, key, node, out, error);
}

/* patch_size and image_size may be [n, n] upstream. */
static gboolean
read_square_size (const Section *s, const char *key, int *out, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);
  JsonArray *array;
  int h, w;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return read_int (s, key, out, error);

  array = json_node_get_array (node);
  if (json_array_get_length (array) != 2) {
    g_set_error (error, BT_ERROR, BT_ERROR_CONFIG,
                 "%s%s must be an integer or a list of two integers",
                 s->section, key);
    return FALSE;
  }
  if (!int_from_node (s, key, json_array_get_element (array, 0), &h, error) ||
      !int_from_node (s, key, json_array_get_element (array, 1), &w, error))
    return FALSE;
  if (h != w) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "%s%s = [%d, %d]: only square sizes are supported",
                 s->section, key, h, w);
    return FALSE;
  }
  *out = h;
  return TRUE;
}

static gboolean
read_double (const Section *s, const char *key, double *out, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);

  if (node == NULL)
    return TRUE;
  if (node_is (node, G_TYPE_DOUBLE))
    *out = json_node_get_double (node);
  else if (node_is (node, G_TYPE_INT64))
    *out = (double) json_node_get_int (node);
  else
    return type_error (s, key, node, "a number", error);
  return TRUE;
}

static gboolean
read_bool (const Section *s, const char *key, gboolean *out, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);

  if (node == NULL)
    return TRUE;
  if (!node_is (node, G_TYPE_BOOLEAN))
    return type_error (s, key, node, "true or false", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* The string value of `key`, `fallback` when absent; NULL on a type error. */
static const char *
read_string (const Section *s, const char *key, const char *fallback,
             GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, key);

  if (node == NULL)
    return fallback;
  if (!node_is (node, G_TYPE_STRING)) {
    type_error (s, key, node, "a string", error);
    return NULL;
  }
  return json_node_get_string (node);
}

/* Values that are valid upstream but change the computation in ways this
 * implementation does not reproduce. */
static gboolean
require_string (const Section *s, const char *key, const char *fallback,
                const char *supported, GError **error)
{
  const char *value = read_string (s, key, fallback, error);

  if (value == NULL)
    return FALSE;
  if (strcmp (value, supported) != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "%s%s = \"%s\" is not supported (only \"%s\")", s->section,
                 key, value, supported);
    return FALSE;
  }
  return TRUE;
}

/* A sub-config: an object, or null / absent for the class defaults. */
static gboolean
get_section (JsonObject *root, const char *key, const char *prefix,
             Section *out, gboolean *present, GError **error)
{
  Section top = { root, "" };
  JsonNode *node = json_object_get_member (root, key);

  out->obj = NULL;
  out->section = prefix;
  *present = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return type_error (&top, key, node, "an object", error);
  out->obj = json_node_get_object (node);
  *present = TRUE;
  return TRUE;
}

/* ---- sections ------------------------------------------------------------ */

static gboolean
parse_text (const Section *s, BtTextConfig *text, GError **error)
{
  gboolean is_decoder = FALSE;
  JsonNode *pad;

  /* pad_token_id indexes both embeddings and builds the position ids:
   * HF cannot run with None there. */
  pad = json_object_get_member (s->obj, "pad_token_id");
  if (pad != NULL && JSON_NODE_HOLDS_NULL (pad)) {
    g_set_error (error, BT_ERROR, BT_ERROR_CONFIG,
                 "%spad_token_id must be set: the position ids are built "
                 "from it", s->section);
    return FALSE;
  }

  if (!read_int (s, "vocab_size", &text->vocab_size, error) ||
      !read_int (s, "hidden_size", &text->hidden_size, error) ||
      !read_int (s, "num_hidden_layers", &text->num_hidden_layers, error) ||
      !read_int (s, "num_attention_heads", &text->num_attention_heads, error) ||
      !read_int (s, "intermediate_size", &text->intermediate_size, error) ||
      !read_int (s, "max_position_embeddings",
                 &text->max_position_embeddings, error) ||
      !read_int (s, "type_vocab_size", &text->type_vocab_size, error) ||
      !read_int (s, "pad_token_id", &text->pad_token_id, error) ||
      !read_token_id (s, "bos_token_id", &text->bos_token_id, error) ||
      !read_token_id (s, "eos_token_id", &text->eos_token_id, error) ||
      !read_double (s, "layer_norm_eps", &text->layer_norm_eps, error) ||
      !require_string (s, "hidden_act", "gelu", "gelu", error) ||
      !require_string (s, "position_embedding_type", "absolute", "absolute",
                       error) ||
      !read_bool (s, "is_decoder", &is_decoder, error))
    return FALSE;

  if (is_decoder) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "%sis_decoder = true (causal text attention) is not "
                 "supported", s->section);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_vision (const Section *s, BtVisionConfig *vision, GError **error)
{
  return read_int (s, "hidden_size", &vision->hidden_size, error) &&
      read_int (s, "num_hidden_layers", &vision->num_hidden_layers, error) &&
      read_int (s, "num_channels", &vision->num_channels, error) &&
      read_square_size (s, "patch_size", &vision->patch_size, error) &&
      read_square_size (s, "image_size", &vision->image_size, error) &&
      read_double (s, "layer_norm_eps", &vision->layer_norm_eps, error) &&
      read_bool (s, "share_layernorm", &vision->share_layernorm, error) &&
      read_bool (s, "remove_last_layer", &vision->remove_last_layer, error);
}

static const struct {
  const char *name;
  BtHeads heads;
} architecture_names[] = {
  { "BridgeTowerModel", BT_HEAD_NONE },
  { "BridgeTowerForImageAndTextRetrieval", BT_HEAD_ITM },
  { "BridgeTowerForMaskedLM", BT_HEAD_MLM },
  { "BridgeTowerForContrastiveLearning", BT_HEAD_ITC },
};

/* Class names we do not know are left out of the hint, as HF only uses
 * `architectures` for auto-class lookup. */
static gboolean
parse_architectures (const Section *s, BtHeads *heads, GError **error)
{
  JsonNode *node = json_object_get_member (s->obj, "architectures");
  JsonArray *array;

  *heads = BT_HEAD_NONE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return type_error (s, "architectures", node, "a list of class names",
                       error);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *element = json_array_get_element (array, i);

    if (!node_is (element, G_TYPE_STRING))
      return type_error (s, "architectures[]", element, "a string", error);
    for (guint k = 0; k < G_N_ELEMENTS (architecture_names); k++)
      if (strcmp (json_node_get_string (element),
                  architecture_names[k].name) == 0)
        *heads |= architecture_names[k].heads;
  }
  return TRUE;
}

static gboolean
parse_link_tower_type (const Section *s, BtLinkTowerType *type,
                       GError **error)
{
  const char *value = read_string (s, "link_tower_type", "add", error);

  if (value == NULL)
    return FALSE;
  if (strcmp (value, "add") == 0)
    *type = BT_LINK_ADD;
  else if (strcmp (value, "scaled_add") == 0)
    *type = BT_LINK_SCALED_ADD;
  else if (strcmp (value, "interpolate") == 0)
    *type = BT_LINK_INTERPOLATE;
  else {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "link_tower_type = \"%s\" is not supported (add, scaled_add "
                 "or interpolate)", value);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_root (JsonObject *root, BtConfig *config, GError **error)
{
  Section top = { root, "" };
  Section text, vision;
  gboolean has_text, has_vision;

  /* `text_config_dict` / `vision_config_dict` (older hub files) are
   * dropped by HF whatever they hold; only text_config / vision_config
   * count. */
  if (!get_section (root, "text_config", "text_config.", &text, &has_text,
                    error) ||
      !get_section (root, "vision_config", "vision_config.", &vision,
                    &has_vision, error))
    return FALSE;
  if (has_text && !parse_text (&text, &config->text, error))
    return FALSE;
  if (has_vision && !parse_vision (&vision, &config->vision, error))
    return FALSE;

  return read_int (&top, "hidden_size", &config->hidden_size, error) &&
      read_int (&top, "num_hidden_layers", &config->num_hidden_layers, error) &&
      read_int (&top, "num_attention_heads", &config->num_attention_heads,
                error) &&
      read_double (&top, "layer_norm_eps", &config->layer_norm_eps, error) &&
      parse_link_tower_type (&top, &config->link_tower_type, error) &&
      read_bool (&top, "share_link_tower_layers",
                 &config->share_link_tower_layers, error) &&
      read_bool (&top, "share_cross_modal_transformer_layers",
                 &config->share_cross_modal_transformer_layers, error) &&
      read_bool (&top, "init_layernorm_from_vision_encoder",
                 &config->init_layernorm_from_vision_encoder, error) &&
      read_bool (&top, "tie_word_embeddings", &config->tie_word_embeddings,
                 error) &&
      read_int (&top, "contrastive_hidden_size",
                &config->contrastive_hidden_size, error) &&
      read_double (&top, "logit_scale_init_value",
                   &config->logit_scale_init_value, error) &&
      /* the MLM head's transform uses the top-level activation */
      require_string (&top, "hidden_act", "gelu", "gelu", error) &&
      parse_architectures (&top, &config->architectures, error);
}

static gboolean
load_from_data (BtConfig *config, const char *json, gsize length,
                GError **error)
{
  BtConfig parsed;
  g_autoptr (JsonNode) root = NULL;

  if (length > BT_CONFIG_MAX_BYTES) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
                 "%" G_GSIZE_FORMAT " bytes is too large for a config",
                 length);
    return FALSE;
  }
  root = bt_json_parse_object (json, length, NULL, error);
  if (!root)
    return FALSE;

  bt_config_init_defaults (&parsed);
  if (!parse_root (json_node_get_object (root), &parsed, error) ||
      !bt_config_validate (&parsed, error))
    return FALSE;
  *config = parsed;
  return TRUE;
}

gboolean
bt_config_load_from_data (BtConfig *config, const char *json, gssize length,
                          GError **error)
{
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (json != NULL, FALSE);

  if (!load_from_data (config, json,
                       length < 0 ? strlen (json) : (gsize) length, error)) {
    g_prefix_error (error, "config.json: ");
    return FALSE;
  }
  return TRUE;
}

gboolean
bt_config_load (BtConfig *config, const char *path, GError **error)
{
  g_autofree char *file = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GError) io_error = NULL;
  gsize length;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    file = g_build_filename (path, "config.json", NULL);
  else
    file = g_strdup (path);

  /* do not read a weights file (or a device) whole to find it is no config */
  GStatBuf st;
  if (g_stat (file, &st) == 0 && !S_ISREG (st.st_mode)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: not a regular file", file);
    return FALSE;
  }
  if (g_stat (file, &st) == 0 && st.st_size > BT_CONFIG_MAX_BYTES) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %" G_GINT64_FORMAT
                 " bytes is too large for a config", file, (gint64) st.st_size);
    return FALSE;
  }
  if (!g_file_get_contents (file, &contents, &length, &io_error)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s", io_error->message);
    return FALSE;
  }
  if (!load_from_data (config, contents, length, error)) {
    g_prefix_error (error, "%s: ", file);
    return FALSE;
  }
  return TRUE;
}

/* ---- validation ---------------------------------------------------------- */

#define FAIL(code, ...) \
  G_STMT_START { \
    g_set_error (error, BT_ERROR, (code), __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

static gboolean
check_positive (const char *key, int value, GError **error)
{
  if (value <= 0)
    FAIL (BT_ERROR_CONFIG, "%s = %d must be positive", key, value);
  return TRUE;
}

/* Far beyond any published model; keeps every derived size and table
 * small enough to build. */
static gboolean
check_limit (const char *key, int value, int limit, GError **error)
{
  if (value > limit)
    FAIL (BT_ERROR_UNSUPPORTED, "%s = %d is larger than this implementation "
          "supports (%d)", key, value, limit);
  return TRUE;
}

static gboolean
check_eps (const char *key, double value, GError **error)
{
  if (!isfinite (value) || value < 0)
    FAIL (BT_ERROR_CONFIG, "%s = %g must be a finite number >= 0", key,
          value);
  return TRUE;
}

gboolean
bt_config_validate (const BtConfig *config, GError **error)
{
  const BtTextConfig *text = &config->text;
  const BtVisionConfig *vision = &config->vision;

  g_return_val_if_fail (config != NULL, FALSE);

  if (!check_positive ("text_config.vocab_size", text->vocab_size, error) ||
      !check_positive ("text_config.hidden_size", text->hidden_size, error) ||
      !check_positive ("text_config.num_hidden_layers",
                       text->num_hidden_layers, error) ||
      !check_positive ("text_config.num_attention_heads",
                       text->num_attention_heads, error) ||
      !check_positive ("text_config.intermediate_size",
                       text->intermediate_size, error) ||
      !check_positive ("text_config.max_position_embeddings",
                       text->max_position_embeddings, error) ||
      !check_positive ("text_config.type_vocab_size", text->type_vocab_size,
                       error) ||
      !check_eps ("text_config.layer_norm_eps", text->layer_norm_eps, error) ||
      !check_positive ("vision_config.hidden_size", vision->hidden_size,
                       error) ||
      !check_positive ("vision_config.num_hidden_layers",
                       vision->num_hidden_layers, error) ||
      !check_positive ("vision_config.num_channels", vision->num_channels,
                       error) ||
      !check_positive ("vision_config.patch_size", vision->patch_size, error) ||
      !check_positive ("vision_config.image_size", vision->image_size, error) ||
      !check_eps ("vision_config.layer_norm_eps", vision->layer_norm_eps,
                  error) ||
      !check_positive ("hidden_size", config->hidden_size, error) ||
      !check_positive ("num_hidden_layers", config->num_hidden_layers, error) ||
      !check_positive ("num_attention_heads", config->num_attention_heads,
                       error) ||
      !check_positive ("contrastive_hidden_size",
                       config->contrastive_hidden_size, error) ||
      !check_eps ("layer_norm_eps", config->layer_norm_eps, error))
    return FALSE;

  if (!check_limit ("text_config.vocab_size", text->vocab_size, 1 << 24,
                    error) ||
      !check_limit ("text_config.hidden_size", text->hidden_size, 1 << 16,
                    error) ||
      !check_limit ("text_config.num_hidden_layers", text->num_hidden_layers,
                    1024, error) ||
      !check_limit ("text_config.intermediate_size", text->intermediate_size,
                    1 << 20, error) ||
      !check_limit ("text_config.max_position_embeddings",
                    text->max_position_embeddings, 1 << 20, error) ||
      !check_limit ("text_config.type_vocab_size", text->type_vocab_size,
                    1 << 16, error) ||
      !check_limit ("vision_config.hidden_size", vision->hidden_size, 1 << 16,
                    error) ||
      !check_limit ("vision_config.num_hidden_layers",
                    vision->num_hidden_layers, 1024, error) ||
      !check_limit ("vision_config.num_channels", vision->num_channels, 1024,
                    error) ||
      !check_limit ("vision_config.image_size", vision->image_size, 1 << 16,
                    error) ||
      !check_limit ("hidden_size", config->hidden_size, 1 << 16, error) ||
      !check_limit ("num_hidden_layers", config->num_hidden_layers, 1024,
                    error) ||
      !check_limit ("contrastive_hidden_size", config->contrastive_hidden_size,
                    1 << 16, error))
    return FALSE;

  if ((guint) config->link_tower_type > BT_LINK_INTERPOLATE)
    FAIL (BT_ERROR_UNSUPPORTED, "link_tower_type %d is not supported",
          config->link_tower_type);

  /* text tower and cross-modal layers (built from text_config) */
  if (text->hidden_size % text->num_attention_heads != 0)
    FAIL (BT_ERROR_CONFIG,
          "text_config.hidden_size = %d is not a multiple of "
          "text_config.num_attention_heads = %d",
          text->hidden_size, text->num_attention_heads);
  if (text->pad_token_id < 0 || text->pad_token_id >= text->vocab_size ||
      text->pad_token_id >= text->max_position_embeddings)
    FAIL (BT_ERROR_CONFIG,
          "text_config.pad_token_id = %d is outside the embedding tables "
          "(vocab_size %d, max_position_embeddings %d)",
          text->pad_token_id, text->vocab_size, text->max_position_embeddings);
  /* the cross-modal layers are text layers fed hidden_size-wide inputs */
  if (config->hidden_size != text->hidden_size)
    FAIL (BT_ERROR_CONFIG,
          "hidden_size = %d differs from text_config.hidden_size = %d (the "
          "cross-modal layers are built from text_config)",
          config->hidden_size, text->hidden_size);

  /* vision tower: nn.MultiheadAttention with hidden // 64 heads */
  if (vision->hidden_size < 64)
    FAIL (BT_ERROR_CONFIG,
          "vision_config.hidden_size = %d gives no attention heads (heads = "
          "hidden_size / 64)", vision->hidden_size);
  if (vision->hidden_size % bt_config_vision_heads (config) != 0)
    FAIL (BT_ERROR_CONFIG,
          "vision_config.hidden_size = %d is not a multiple of its %d "
          "attention heads (hidden_size / 64)",
          vision->hidden_size, bt_config_vision_heads (config));
  if (vision->patch_size > vision->image_size)
    FAIL (BT_ERROR_CONFIG,
          "vision_config.patch_size = %d is larger than "
          "vision_config.image_size = %d",
          vision->patch_size, vision->image_size);

  /* the bridge: both towers run to the text depth */
  if (config->num_hidden_layers > text->num_hidden_layers)
    FAIL (BT_ERROR_CONFIG,
          "num_hidden_layers = %d cross-modal layers exceed "
          "text_config.num_hidden_layers = %d",
          config->num_hidden_layers, text->num_hidden_layers);
  if (bt_config_vision_blocks (config) < text->num_hidden_layers)
    FAIL (BT_ERROR_CONFIG,
          "vision_config.num_hidden_layers = %d%s gives %d vision blocks, "
          "fewer than text_config.num_hidden_layers = %d",
          vision->num_hidden_layers,
          vision->remove_last_layer ? " with remove_last_layer" : "",
          bt_config_vision_blocks (config), text->num_hidden_layers);
  if (!config->share_cross_modal_transformer_layers)
    FAIL (BT_ERROR_CONFIG,
          "share_cross_modal_transformer_layers = false: HF builds per-layer "
          "transforms its forward pass cannot call");
  if (config->share_link_tower_layers && config->num_hidden_layers >= 2)
    FAIL (BT_ERROR_CONFIG,
          "share_link_tower_layers = true with num_hidden_layers = %d: HF "
          "builds one link tower its forward pass indexes per layer",
          config->num_hidden_layers);
  if (config->init_layernorm_from_vision_encoder && !vision->share_layernorm)
    FAIL (BT_ERROR_CONFIG,
          "init_layernorm_from_vision_encoder = true with "
          "vision_config.share_layernorm = false: HF fails to construct it");

  /* the ITC image embedding adds a hidden_size token type to a
   * vision-width tensor */
  if ((config->architectures & BT_HEAD_ITC) &&
      vision->hidden_size != config->hidden_size)
    FAIL (BT_ERROR_CONFIG,
          "BridgeTowerForContrastiveLearning needs vision_config.hidden_size "
          "(%d) == hidden_size (%d)",
          vision->hidden_size, config->hidden_size);

  return TRUE;
}

#undef FAIL

/* ---- derived sizes ------------------------------------------------------- */

int
bt_config_vision_heads (const BtConfig *config)
{
  return config->vision.hidden_size / 64;
}

int
bt_config_vision_blocks (const BtConfig *config)
{
  return config->vision.num_hidden_layers -
      (config->vision.remove_last_layer ? 1 : 0);
}

int
bt_config_split_layer (const BtConfig *config)
{
  return config->text.num_hidden_layers - config->num_hidden_layers + 1;
}
