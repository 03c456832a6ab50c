/* test-config.c - config.json loading: HF's defaults, the golden and hub
 * configs, malformed files, wrong types, and every configuration HF cannot
 * run (the golden manifest's rejected_configs). */
#include "bt-config.h"
#include "bt-test-util.h"

#include <json-glib/json-glib.h>
#include <string.h>

static char *
to_json (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

/* Field by field: struct padding is not part of the value. */
static gboolean
config_equal (const BtConfig *a, const BtConfig *b)
{
  const BtTextConfig *ta = &a->text, *tb = &b->text;
  const BtVisionConfig *va = &a->vision, *vb = &b->vision;

  return ta->vocab_size == tb->vocab_size &&
      ta->hidden_size == tb->hidden_size &&
      ta->num_hidden_layers == tb->num_hidden_layers &&
      ta->num_attention_heads == tb->num_attention_heads &&
      ta->intermediate_size == tb->intermediate_size &&
      ta->max_position_embeddings == tb->max_position_embeddings &&
      ta->type_vocab_size == tb->type_vocab_size &&
      ta->pad_token_id == tb->pad_token_id &&
      ta->bos_token_id == tb->bos_token_id &&
      ta->eos_token_id == tb->eos_token_id &&
      ta->layer_norm_eps == tb->layer_norm_eps &&
      va->hidden_size == vb->hidden_size &&
      va->num_hidden_layers == vb->num_hidden_layers &&
      va->num_channels == vb->num_channels &&
      va->patch_size == vb->patch_size &&
      va->image_size == vb->image_size &&
      va->layer_norm_eps == vb->layer_norm_eps &&
      va->share_layernorm == vb->share_layernorm &&
      va->remove_last_layer == vb->remove_last_layer &&
      a->hidden_size == b->hidden_size &&
      a->num_hidden_layers == b->num_hidden_layers &&
      a->num_attention_heads == b->num_attention_heads &&
      a->layer_norm_eps == b->layer_norm_eps &&
      a->link_tower_type == b->link_tower_type &&
      a->share_link_tower_layers == b->share_link_tower_layers &&
      a->share_cross_modal_transformer_layers ==
          b->share_cross_modal_transformer_layers &&
      a->init_layernorm_from_vision_encoder ==
          b->init_layernorm_from_vision_encoder &&
      a->tie_word_embeddings == b->tie_word_embeddings &&
      a->contrastive_hidden_size == b->contrastive_hidden_size &&
      a->logit_scale_init_value == b->logit_scale_init_value &&
      a->architectures == b->architectures;
}

static void
expect_error (const char *json, gint code, const char *in_message)
{
  BtConfig config;
  g_autoptr (GError) error = NULL;
  /* escaped: some inputs are not UTF-8, which TAP output must be */
  g_autofree gchar *shown = g_strescape (json, NULL);

  g_assert_false (bt_config_load_from_data (&config, json, -1, &error));
  g_assert_error (error, BT_ERROR, code);
  g_test_message ("%.120s -> %s", shown, error->message);
  g_assert_true (g_str_has_prefix (error->message, "config.json: "));
  if (in_message != NULL && strstr (error->message, in_message) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, in_message);
}

/* The defaults of HF's three config classes (configuration_bridgetower.py),
 * and the two keys BridgeTowerForContrastiveLearning reads from the file. */
static void
test_defaults (void)
{
  BtConfig config, from_empty;
  g_autoptr (GError) error = NULL;

  bt_config_init_defaults (&config);
  g_assert_cmpint (config.text.vocab_size, ==, 50265);
  g_assert_cmpint (config.text.hidden_size, ==, 768);
  g_assert_cmpint (config.text.num_hidden_layers, ==, 12);
  g_assert_cmpint (config.text.num_attention_heads, ==, 12);
  g_assert_cmpint (config.text.intermediate_size, ==, 3072);
  g_assert_cmpint (config.text.max_position_embeddings, ==, 514);
  g_assert_cmpint (config.text.type_vocab_size, ==, 1);
  g_assert_cmpint (config.text.pad_token_id, ==, 1);
  g_assert_cmpint (config.text.bos_token_id, ==, 0);
  g_assert_cmpint (config.text.eos_token_id, ==, 2);
  g_assert_cmpfloat (config.text.layer_norm_eps, ==, 1e-5);
  g_assert_cmpint (config.vision.hidden_size, ==, 768);
  g_assert_cmpint (config.vision.num_hidden_layers, ==, 12);
  g_assert_cmpint (config.vision.num_channels, ==, 3);
  g_assert_cmpint (config.vision.patch_size, ==, 16);
  g_assert_cmpint (config.vision.image_size, ==, 288);
  g_assert_cmpfloat (config.vision.layer_norm_eps, ==, 1e-5);
  g_assert_true (config.vision.share_layernorm);
  g_assert_false (config.vision.remove_last_layer);
  g_assert_cmpint (config.hidden_size, ==, 768);
  g_assert_cmpint (config.num_hidden_layers, ==, 6);
  g_assert_cmpint (config.num_attention_heads, ==, 12);
  g_assert_cmpfloat (config.layer_norm_eps, ==, 1e-5);
  g_assert_cmpint (config.link_tower_type, ==, BT_LINK_ADD);
  g_assert_false (config.share_link_tower_layers);
  g_assert_true (config.share_cross_modal_transformer_layers);
  g_assert_false (config.init_layernorm_from_vision_encoder);
  g_assert_false (config.tie_word_embeddings);
  g_assert_cmpint (config.contrastive_hidden_size, ==, 512);
  g_assert_cmpfloat (config.logit_scale_init_value, ==, 2.6592);
  g_assert_cmpint (config.architectures, ==, BT_HEAD_NONE);
  g_assert_true (bt_config_validate (&config, &error));
  g_assert_no_error (error);

  /* an empty object and null sub-configs are the defaults */
  g_assert_true (bt_config_load_from_data (&from_empty, "{}", -1, &error));
  g_assert_no_error (error);
  g_assert_true (config_equal (&config, &from_empty));
  g_assert_true (bt_config_load_from_data (&from_empty,
          "{\"text_config\": null, \"vision_config\": null, "
          "\"text_config_dict\": null, \"vision_config_dict\": null}", -1,
          &error));
  g_assert_no_error (error);
  g_assert_true (config_equal (&config, &from_empty));

  /* derived sizes of the defaults: 12 heads of 64, 12 blocks, split 7 */
  g_assert_cmpint (bt_config_vision_heads (&config), ==, 12);
  g_assert_cmpint (bt_config_vision_blocks (&config), ==, 12);
  g_assert_cmpint (bt_config_split_layer (&config), ==, 7);
}

/* Every golden model loads and matches the manifest's summary (HF's view
 * of the same config). */
static void
test_golden (void)
{
  g_autofree char *manifest_path = bt_test_data_path ("golden",
      "manifest.json", NULL);
  g_autoptr (JsonNode) manifest = bt_test_load_json (manifest_path);
  JsonArray *models = json_object_get_array_member (
      json_node_get_object (manifest), "models");
  guint n = json_array_get_length (models);

  g_assert_cmpuint (n, >=, 6);
  for (guint i = 0; i < n; i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    JsonObject *summary = json_object_get_object_member (m, "summary");
    JsonObject *text = json_object_get_object_member (summary, "text");
    JsonObject *vision = json_object_get_object_member (summary, "vision");
    JsonObject *top = json_object_get_object_member (summary, "top");
    JsonObject *contrastive =
        json_object_get_object_member (summary, "contrastive");
    g_autofree char *dir = bt_test_data_path ("golden",
        json_object_get_string_member (m, "dir"), NULL);
    const char *link = json_object_get_string_member (top, "link_tower_type");
    BtConfig c;
    g_autoptr (GError) error = NULL;

    g_test_message ("%s", dir);
    g_assert_true (bt_config_load (&c, dir, &error));
    g_assert_no_error (error);

    g_assert_cmpint (c.text.hidden_size, ==,
        json_object_get_int_member (text, "hidden_size"));
    g_assert_cmpint (c.text.num_attention_heads, ==,
        json_object_get_int_member (text, "num_attention_heads"));
    g_assert_cmpint (c.text.num_hidden_layers, ==,
        json_object_get_int_member (text, "num_hidden_layers"));
    g_assert_cmpint (c.text.intermediate_size, ==,
        json_object_get_int_member (text, "intermediate_size"));
    g_assert_cmpint (c.text.vocab_size, ==,
        json_object_get_int_member (text, "vocab_size"));
    g_assert_cmpint (c.text.max_position_embeddings, ==,
        json_object_get_int_member (text, "max_position_embeddings"));
    g_assert_cmpfloat (c.text.layer_norm_eps, ==,
        json_object_get_double_member (text, "layer_norm_eps"));

    g_assert_cmpint (c.vision.hidden_size, ==,
        json_object_get_int_member (vision, "hidden_size"));
    g_assert_cmpint (c.vision.num_hidden_layers, ==,
        json_object_get_int_member (vision, "num_hidden_layers"));
    g_assert_cmpint (c.vision.image_size, ==,
        json_object_get_int_member (vision, "image_size"));
    g_assert_cmpint (c.vision.patch_size, ==,
        json_object_get_int_member (vision, "patch_size"));
    g_assert_cmpint (c.vision.share_layernorm, ==,
        json_object_get_boolean_member (vision, "share_layernorm"));
    g_assert_cmpint (c.vision.remove_last_layer, ==,
        json_object_get_boolean_member (vision, "remove_last_layer"));
    g_assert_cmpfloat (c.vision.layer_norm_eps, ==,
        json_object_get_double_member (vision, "layer_norm_eps"));
    g_assert_cmpint (bt_config_vision_heads (&c), ==,
        json_object_get_int_member (summary, "vision_num_heads"));
    g_assert_cmpint (bt_config_vision_blocks (&c), ==,
        json_object_get_int_member (summary, "vision_blocks_instantiated"));

    g_assert_cmpint (c.hidden_size, ==,
        json_object_get_int_member (top, "hidden_size"));
    g_assert_cmpint (c.num_hidden_layers, ==,
        json_object_get_int_member (top, "num_hidden_layers"));
    g_assert_cmpint (c.share_link_tower_layers, ==,
        json_object_get_boolean_member (top, "share_link_tower_layers"));
    g_assert_cmpint (c.share_cross_modal_transformer_layers, ==,
        json_object_get_boolean_member (top,
            "share_cross_modal_transformer_layers"));
    g_assert_cmpint (c.init_layernorm_from_vision_encoder, ==,
        json_object_get_boolean_member (top,
            "init_layernorm_from_vision_encoder"));
    g_assert_cmpint (c.tie_word_embeddings, ==,
        json_object_get_boolean_member (top, "tie_word_embeddings"));
    g_assert_cmpfloat (c.layer_norm_eps, ==,
        json_object_get_double_member (top, "layer_norm_eps"));
    g_assert_cmpint (c.link_tower_type, ==,
        strcmp (link, "add") == 0 ? BT_LINK_ADD :
        strcmp (link, "scaled_add") == 0 ? BT_LINK_SCALED_ADD :
        BT_LINK_INTERPOLATE);
    if (json_object_has_member (contrastive, "contrastive_hidden_size"))
      g_assert_cmpint (c.contrastive_hidden_size, ==,
          json_object_get_int_member (contrastive, "contrastive_hidden_size"));

    g_assert_cmpint (c.architectures, ==,
        bt_test_heads_of_class (json_object_get_string_member (m, "class")));
  }
}

/* The config files of the hub's repos: the old one with legacy keys and
 * *_config_dict null, the 4.43 one with most text keys left out. */
static void
test_hub (void)
{
  g_autofree char *base = bt_test_data_path ("hub",
      "bridgetower-base-itm-mlm", NULL);
  g_autofree char *large = bt_test_data_path ("hub",
      "bridgetower-large-itm-mlm-itc", "config.json", NULL);
  BtConfig c;
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_config_load (&c, base, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.architectures, ==, BT_HEAD_MLM);
  g_assert_cmpint (c.text.hidden_size, ==, 768);
  g_assert_cmpint (c.text.num_hidden_layers, ==, 12);
  g_assert_cmpint (c.vision.image_size, ==, 288);
  g_assert_cmpint (c.num_hidden_layers, ==, 6);
  g_assert_cmpint (bt_config_split_layer (&c), ==, 7);

  g_assert_true (bt_config_load (&c, large, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.architectures, ==, BT_HEAD_ITC);
  g_assert_cmpint (c.hidden_size, ==, 1024);
  g_assert_cmpint (c.num_attention_heads, ==, 16);
  g_assert_cmpint (c.text.hidden_size, ==, 1024);
  g_assert_cmpint (c.text.num_hidden_layers, ==, 24);
  g_assert_cmpint (c.text.intermediate_size, ==, 4096);
  g_assert_cmpint (c.vision.hidden_size, ==, 1024);
  g_assert_cmpint (c.vision.num_hidden_layers, ==, 24);
  g_assert_cmpint (c.vision.patch_size, ==, 14);
  g_assert_cmpint (c.vision.image_size, ==, 294);
  g_assert_cmpint (c.contrastive_hidden_size, ==, 512);
  /* keys the file leaves out take the class defaults */
  g_assert_cmpint (c.text.vocab_size, ==, 50265);
  g_assert_cmpint (c.text.max_position_embeddings, ==, 514);
  g_assert_cmpint (c.text.pad_token_id, ==, 1);
  g_assert_cmpfloat (c.text.layer_norm_eps, ==, 1e-5);
  g_assert_cmpint (c.vision.num_channels, ==, 3);
  g_assert_true (c.vision.share_layernorm);
  g_assert_cmpint (bt_config_vision_heads (&c), ==, 16);
  g_assert_cmpint (bt_config_split_layer (&c), ==, 19);
}

static void
test_malformed (void)
{
  static const char *bad[] = {
    "", "{", "{\"hidden_size\": }", "{\"a\": 1,}", "nul", "\xff\xfe{}",
    "{\"hidden_size\": 768} trailing",
  };
  BtConfig c;
  g_autoptr (GError) error = NULL;
  g_autofree char *deep = NULL;
  g_autofree char *missing = bt_test_data_path ("hub", "no-such-model", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_error (bad[i], BT_ERROR_FORMAT, NULL);
  expect_error ("[]", BT_ERROR_FORMAT, "object");
  expect_error ("42", BT_ERROR_FORMAT, "object");
  expect_error ("null", BT_ERROR_FORMAT, "object");

  /* nesting is bounded before json-glib recurses into it */
  deep = g_strnfill (100000, '[');
  g_assert_false (bt_config_load_from_data (&c, deep, -1, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  g_clear_error (&error);

  /* a missing file names its path */
  g_assert_false (bt_config_load (&c, missing, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "no-such-model"));
}

static void
test_wrong_types (void)
{
  expect_error ("{\"hidden_size\": \"768\"}", BT_ERROR_CONFIG, "hidden_size");
  expect_error ("{\"hidden_size\": 768.0}", BT_ERROR_CONFIG, "hidden_size");
  expect_error ("{\"hidden_size\": null}", BT_ERROR_CONFIG, "hidden_size");
  expect_error ("{\"num_hidden_layers\": 99999999999}", BT_ERROR_CONFIG,
      "num_hidden_layers");
  expect_error ("{\"text_config\": 5}", BT_ERROR_CONFIG, "text_config");
  expect_error ("{\"text_config\": []}", BT_ERROR_CONFIG, "text_config");
  expect_error ("{\"text_config\": {\"layer_norm_eps\": \"small\"}}",
      BT_ERROR_CONFIG, "text_config.layer_norm_eps");
  expect_error ("{\"vision_config\": {\"share_layernorm\": 1}}",
      BT_ERROR_CONFIG, "vision_config.share_layernorm");
  expect_error ("{\"vision_config\": {\"patch_size\": [16]}}",
      BT_ERROR_CONFIG, "vision_config.patch_size");
  expect_error ("{\"vision_config\": {\"patch_size\": [16, \"x\"]}}",
      BT_ERROR_CONFIG, "vision_config.patch_size");
  expect_error ("{\"link_tower_type\": 3}", BT_ERROR_CONFIG,
      "link_tower_type");
  expect_error ("{\"architectures\": \"BridgeTowerModel\"}", BT_ERROR_CONFIG,
      "architectures");
  expect_error ("{\"architectures\": [1]}", BT_ERROR_CONFIG, "architectures");
  expect_error ("{\"text_config\": {\"pad_token_id\": null}}",
      BT_ERROR_CONFIG, "text_config.pad_token_id");
}

/* Values that are valid upstream but that this implementation does not
 * compute, and plain invalid values. */
static void
test_unsupported_and_invalid (void)
{
  expect_error ("{\"text_config\": {\"hidden_act\": \"relu\"}}",
      BT_ERROR_UNSUPPORTED, "text_config.hidden_act");
  expect_error ("{\"hidden_act\": \"gelu_new\"}", BT_ERROR_UNSUPPORTED,
      "hidden_act");
  expect_error ("{\"text_config\": {\"position_embedding_type\": "
      "\"relative_key\"}}", BT_ERROR_UNSUPPORTED,
      "text_config.position_embedding_type");
  expect_error ("{\"text_config\": {\"is_decoder\": true}}",
      BT_ERROR_UNSUPPORTED, "text_config.is_decoder");
  expect_error ("{\"link_tower_type\": \"concat\"}", BT_ERROR_UNSUPPORTED,
      "link_tower_type");
  expect_error ("{\"vision_config\": {\"image_size\": [288, 320]}}",
      BT_ERROR_UNSUPPORTED, "vision_config.image_size");
  expect_error ("{\"text_config\": {\"num_hidden_layers\": 2000000000}, "
      "\"vision_config\": {\"num_hidden_layers\": 2000000000}}",
      BT_ERROR_UNSUPPORTED, "text_config.num_hidden_layers");

  expect_error ("{\"hidden_size\": 770, \"text_config\": {\"hidden_size\": "
      "770}}", BT_ERROR_CONFIG, "text_config.num_attention_heads");
  expect_error ("{\"vision_config\": {\"hidden_size\": 0}}", BT_ERROR_CONFIG,
      "vision_config.hidden_size");
  expect_error ("{\"num_hidden_layers\": -1}", BT_ERROR_CONFIG,
      "num_hidden_layers");
  expect_error ("{\"num_hidden_layers\": 13}", BT_ERROR_CONFIG,
      "num_hidden_layers");
  expect_error ("{\"vision_config\": {\"hidden_size\": 129}}",
      BT_ERROR_CONFIG, "vision_config.hidden_size");
  expect_error ("{\"vision_config\": {\"patch_size\": 300}}",
      BT_ERROR_CONFIG, "vision_config.patch_size");
  expect_error ("{\"text_config\": {\"pad_token_id\": 600}}",
      BT_ERROR_CONFIG, "text_config.pad_token_id");
  expect_error ("{\"layer_norm_eps\": -1e-5}", BT_ERROR_CONFIG,
      "layer_norm_eps");
  expect_error ("{\"vision_config\": {\"num_hidden_layers\": 12, "
      "\"remove_last_layer\": true}}", BT_ERROR_CONFIG, "remove_last_layer");
}

/* Keys HF ignores are ignored; square list sizes and eos lists are read. */
static void
test_ignored_keys (void)
{
  BtConfig c;
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_config_load_from_data (&c,
      "{\"max_text_len\": 50, \"mlp_ratio\": 4, \"drop_rate\": 0.1, "
      "\"vocab_size\": 12, \"text_config_dict\": {\"hidden_size\": 5}, "
      "\"vision_config_dict\": {\"hidden_size\": \"x\"}, "
      "\"architectures\": [\"SomethingElse\", \"BridgeTowerForMaskedLM\", "
      "\"BridgeTowerForImageAndTextRetrieval\"], "
      "\"text_config\": {\"eos_token_id\": [2, 3], \"bos_token_id\": null, "
      "\"foo\": {\"bar\": []}}, "
      "\"vision_config\": {\"patch_size\": [32, 32], \"stop_gradient\": true}}",
      -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.text.vocab_size, ==, 50265);
  g_assert_cmpint (c.text.hidden_size, ==, 768);
  g_assert_cmpint (c.text.eos_token_id, ==, 2);
  g_assert_cmpint (c.text.bos_token_id, ==, -1);
  g_assert_cmpint (c.vision.patch_size, ==, 32);
  g_assert_cmpint (c.architectures, ==, BT_HEAD_MLM | BT_HEAD_ITM);
}

/* Puts `overrides` (an object) into the object member `key` of `target`. */
static void
merge_into (JsonObject *target, JsonObject *overrides)
{
  g_autoptr (GList) keys = json_object_get_members (overrides);

  for (GList *l = keys; l != NULL; l = l->next)
    json_object_set_member (target, l->data,
        json_node_copy (json_object_get_member (overrides, l->data)));
}

/* What each rejection is about: a key its message must name. */
static const struct {
  const char *name;
  const char *key;
} rejection_keys[] = {
  { "reject_unshared_crossmodal_transform",
    "share_cross_modal_transformer_layers" },
  { "reject_shared_link_tower_2cross", "share_link_tower_layers" },
  { "reject_init_ln_from_vision_unshared",
    "init_layernorm_from_vision_encoder" },
  { "reject_itc_vision_hidden_ne_hidden", "vision_config.hidden_size" },
  { "reject_vision_hidden_lt_64", "vision_config.hidden_size" },
  { "reject_vision_layers_lt_text_layers", "vision_config.num_hidden_layers" },
  { "reject_top_hidden_ne_text_hidden", "text_config.hidden_size" },
};

/* Each rejected config is the overrides applied to a golden config; the
 * generator keeps the top-level hidden size and heads equal to the text
 * tower's unless the overrides say otherwise. The image-size mismatch is
 * about the input images, so its config itself is valid. */
static void
test_rejected (void)
{
  g_autofree char *manifest_path = bt_test_data_path ("golden",
      "manifest.json", NULL);
  g_autofree char *base_path = bt_test_data_path ("golden", "models",
      "itm_add_t3v3c2", "config.json", NULL);
  g_autoptr (JsonNode) manifest = bt_test_load_json (manifest_path);
  JsonArray *rejected = json_object_get_array_member (
      json_node_get_object (manifest), "rejected_configs");
  guint n_rejected = 0, n_valid = 0;

  for (guint i = 0; i < json_array_get_length (rejected); i++) {
    JsonObject *r = json_array_get_object_element (rejected, i);
    JsonObject *overrides = json_object_get_object_member (r,
        "config_overrides");
    JsonObject *text_o = json_object_get_object_member (overrides, "text");
    JsonObject *top_o = json_object_get_object_member (overrides, "top");
    const char *name = json_object_get_string_member (r, "name");
    g_autoptr (JsonNode) base = bt_test_load_json (base_path);
    JsonObject *root = json_node_get_object (base);
    JsonArray *arch = json_array_new ();
    g_autofree char *json = NULL;
    const char *key = NULL;
    BtConfig c;
    g_autoptr (GError) error = NULL;

    merge_into (json_object_get_object_member (root, "text_config"), text_o);
    merge_into (json_object_get_object_member (root, "vision_config"),
        json_object_get_object_member (overrides, "vision"));
    json_object_set_int_member (root, "hidden_size",
        json_object_get_int_member (text_o, "hidden_size"));
    json_object_set_int_member (root, "num_attention_heads",
        json_object_get_int_member (text_o, "num_attention_heads"));
    merge_into (root, top_o);
    json_array_add_string_element (arch,
        json_object_get_string_member (r, "class"));
    json_object_set_array_member (root, "architectures", arch);
    json = to_json (base);

    if (strcmp (name, "reject_image_size_mismatch") == 0) {
      g_assert_true (bt_config_load_from_data (&c, json, -1, &error));
      g_assert_no_error (error);
      n_valid++;
      continue;
    }
    for (guint k = 0; k < G_N_ELEMENTS (rejection_keys); k++)
      if (strcmp (rejection_keys[k].name, name) == 0)
        key = rejection_keys[k].key;
    if (key == NULL)
      g_error ("rejected config %s is not known to this test", name);
    g_test_message ("%s", name);
    expect_error (json, BT_ERROR_CONFIG, key);
    n_rejected++;

    /* the two with model folders fail the same way from the folder */
    if (json_object_has_member (r, "dir")) {
      g_autofree char *dir = bt_test_data_path ("golden",
          json_object_get_string_member (r, "dir"), NULL);

      g_assert_false (bt_config_load (&c, dir, &error));
      g_assert_error (error, BT_ERROR, BT_ERROR_CONFIG);
      g_assert_nonnull (strstr (error->message, dir));
      g_assert_nonnull (strstr (error->message, key));
    }
  }
  g_assert_cmpuint (n_rejected, ==, G_N_ELEMENTS (rejection_keys));
  g_assert_cmpuint (n_valid, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/golden", test_golden);
  g_test_add_func ("/config/hub", test_hub);
  g_test_add_func ("/config/malformed", test_malformed);
  g_test_add_func ("/config/wrong-types", test_wrong_types);
  g_test_add_func ("/config/unsupported-and-invalid",
      test_unsupported_and_invalid);
  g_test_add_func ("/config/ignored-keys", test_ignored_keys);
  g_test_add_func ("/config/rejected", test_rejected);
  return g_test_run ();
}
