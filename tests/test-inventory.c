/* test-inventory.c - the tensor table against HF's own state dicts: every
 * golden folder passes the check with the heads its class has; damaged
 * checkpoints (a missing tensor, a wrong shape, a wrong dtype) give the
 * specific error naming the tensors; unknown names are reported. */
#include "bt-inventory.h"
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static gboolean
array_has_string (JsonArray *array, const char *s)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (strcmp (json_array_get_string_element (array, i), s) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
specs_contain (GPtrArray *specs, const char *name)
{
  for (guint i = 0; i < specs->len; i++)
    if (strcmp (((BtTensorSpec *) g_ptr_array_index (specs, i))->name,
                name) == 0)
      return TRUE;
  return FALSE;
}

/* One golden folder against the table: every required tensor there with
 * HF's shape, every other name of HF's state dict ignored, and ignored
 * only where the manifest says the parameter never reaches an output. */
static void
check_folder (const char *dir, BtHeads expected_heads, JsonArray *not_reaching,
              guint n_keys)
{
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtCheckpoint) ckpt = NULL;
  g_autoptr (GPtrArray) unknown = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) specs = NULL;
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  guint n_ignored = 0;

  g_test_message ("%s", dir);
  g_assert_true (bt_config_load (&config, dir, &error));
  g_assert_no_error (error);
  ckpt = bt_checkpoint_open (dir, &error);
  g_assert_no_error (error);

  g_assert_cmpint (bt_inventory_detect_heads (&config, ckpt), ==,
      expected_heads);
  g_assert_true (bt_inventory_check (&config, expected_heads, ckpt, unknown,
      &error));
  g_assert_no_error (error);
  g_assert_cmpuint (unknown->len, ==, 0);

  /* the bare model of a head checkpoint reads its prefixed names (HF's
   * BridgeTowerModel.from_pretrained strips the prefix); the head tensors
   * are known, not unknown */
  g_assert_true (bt_inventory_check (&config, BT_HEAD_NONE, ckpt, unknown,
      &error));
  g_assert_no_error (error);
  g_assert_cmpuint (unknown->len, ==, 0);

  specs = bt_inventory_build (&config, expected_heads);
  for (guint i = 0; i < specs->len; i++) {
    BtTensorSpec *spec = g_ptr_array_index (specs, i);

    /* one entry per name */
    g_assert_true (g_hash_table_add (names, spec->name));
    g_assert_false (bt_inventory_is_ignored (&config, spec->name));
    g_assert_nonnull (bt_checkpoint_lookup_raw (ckpt, spec->name));
    if (expected_heads == BT_HEAD_NONE)
      g_assert_false (g_str_has_prefix (spec->name, "bridgetower."));
  }
  for (guint i = 0; i < bt_checkpoint_n_tensors (ckpt); i++) {
    const char *name = bt_checkpoint_nth_name (ckpt, i);

    if (!bt_inventory_is_ignored (&config, name))
      continue;
    n_ignored++;
    /* what we skip must not matter to HF's outputs (buffers aside) */
    if (not_reaching != NULL && !g_str_has_suffix (name, "position_ids"))
      g_assert_true (array_has_string (not_reaching, name));
  }
  /* the state dict is exactly required + ignored */
  g_assert_cmpuint (specs->len + n_ignored, ==, bt_checkpoint_n_tensors (ckpt));
  if (n_keys > 0)
    g_assert_cmpuint (specs->len + n_ignored, ==, n_keys);
  g_test_message ("  %u required, %u ignored", specs->len, n_ignored);
}

static void
test_golden_folders (void)
{
  JsonArray *models = json_object_get_array_member (bt_test_manifest (),
      "models");
  g_assert_cmpuint (json_array_get_length (models), >=, 6);
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonObject *m = json_array_get_object_element (models, i);
    g_autofree char *dir = g_build_filename (bt_test_data_dir (), "golden",
        json_object_get_string_member (m, "dir"), NULL);

    check_folder (dir,
        bt_test_heads_of_class (json_object_get_string_member (m, "class")),
        json_object_get_array_member (m, "parameters_not_reaching_outputs"),
        json_object_get_int_member (m, "n_state_dict_keys"));
  }

}

/* pytorch_model.bin with the position_ids buffers 4.27 saved */
static void
test_hubstyle_folders (void)
{
  JsonObject *hubstyle = json_object_get_object_member (bt_test_manifest (),
      "hubstyle_folders");
  g_autoptr (GList) hub_names = json_object_get_members (hubstyle);

  g_assert_nonnull (hub_names);
  for (GList *l = hub_names; l != NULL; l = l->next) {
    g_autofree char *dir = bt_test_model_dir (l->data);
    g_autoptr (GError) error = NULL;
    /* opened only to learn whether this build reads the folder */
    g_autoptr (BtCheckpoint) ckpt = bt_checkpoint_open (dir, &error);

    (void) ckpt;
    if (g_error_matches (error, BT_ERROR, BT_ERROR_UNSUPPORTED)) {
      g_test_skip (error->message);
      return;
    }
    g_assert_no_error (error);
    check_folder (dir, BT_HEAD_ITM, NULL, 0);
  }
}

/* A new model.safetensors in a temporary folder: the tensors of golden
 * model `name` minus those in `drop`, plus `extra`. */
static char *
make_variant (const char *name, const char *const *drop, BtTensorSet *extra)
{
  g_autofree char *src_dir = bt_test_model_dir (name);
  g_autofree char *src = g_build_filename (src_dir, "model.safetensors", NULL);
  g_autofree char *config_src = g_build_filename (src_dir, "config.json",
      NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (src, &error);
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  g_autofree char *contents = NULL;
  g_autofree char *dst_config = NULL;
  g_autofree char *dst = NULL;
  char *dir;
  gsize length;

  g_assert_no_error (error);
  dir = g_dir_make_tmp ("bt-inventory-XXXXXX", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < bt_safetensors_n_tensors (st); i++) {
    const char *n = bt_safetensors_nth_name (st, i);

    if (drop != NULL && g_strv_contains (drop, n))
      continue;
    if (extra != NULL && bt_tensor_set_lookup (extra, n) != NULL)
      continue;
    bt_tensor_set_add_copy (set, n, bt_safetensors_lookup (st, n));
  }
  for (guint i = 0; extra != NULL && i < bt_tensor_set_size (extra); i++) {
    const char *n;
    const BtTensor *t = bt_tensor_set_nth (extra, i, &n);

    bt_tensor_set_add_copy (set, n, t);
  }
  dst = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_true (bt_safetensors_write (dst, set, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (config_src, &contents, &length, &error));
  dst_config = g_build_filename (dir, "config.json", NULL);
  g_assert_true (g_file_set_contents (dst_config, contents, length, &error));
  g_assert_no_error (error);
  return dir;
}

static void
remove_variant (const char *dir)
{
  g_autofree char *st = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);

  g_unlink (st);
  g_unlink (config);
  g_rmdir (dir);
}

/* Loads `dir` and runs the check for `heads`, expecting `code`. */
static char *
check_error (const char *dir, BtHeads heads, gint code)
{
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtCheckpoint) ckpt = NULL;

  g_assert_true (bt_config_load (&config, dir, &error));
  ckpt = bt_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  g_assert_false (bt_inventory_check (&config, heads, ckpt, NULL, &error));
  g_assert_error (error, BT_ERROR, code);
  g_test_message ("%.400s", error->message);
  g_assert_nonnull (strstr (error->message, dir));
  return g_strdup (error->message);
}

static void
test_missing (void)
{
  static const char *const drop[] = {
    "bridgetower.cross_modal_text_layers.1.crossattention.self.key.bias",
    "bridgetower.vision_model.visual.transformer.resblocks.2.ln_2.weight",
    "itm_score.fc.weight",
    NULL,
  };
  g_autofree char *dir = make_variant ("itm_add_t3v3c2", drop, NULL);
  g_autofree char *message = check_error (dir, BT_HEAD_ITM,
      BT_ERROR_MISSING_TENSOR);
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtCheckpoint) ckpt = NULL;

  for (guint i = 0; drop[i] != NULL; i++)
    g_assert_nonnull (strstr (message, drop[i]));
  g_assert_nonnull (strstr (message, "3 tensors"));

  /* the head is incomplete, so detection falls back on `architectures`
   * rather than calling it a bare model */
  g_assert_true (bt_config_load (&config, dir, &error));
  ckpt = bt_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_inventory_detect_heads (&config, ckpt), ==, BT_HEAD_ITM);
  g_clear_pointer (&ckpt, bt_checkpoint_free);
  remove_variant (dir);
}

static void
test_wrong_shape (void)
{
  g_autoptr (BtTensorSet) extra = bt_tensor_set_new ();
  gint64 wrong_pos[2] = { 79, 36 };        /* 80 positions in config.json */
  gint64 vector[1] = { 2 };                /* scaled_factor is a scalar */
  g_autofree char *dir = NULL;
  g_autofree char *message = NULL;

  bt_tensor_set_add (extra,
      "bridgetower.text_model.embeddings.position_embeddings.weight",
      BT_DTYPE_F32, 2, wrong_pos);
  bt_tensor_set_add (extra,
      "bridgetower.cross_modal_image_link_tower.1.scaled_factor",
      BT_DTYPE_F32, 1, vector);
  dir = make_variant ("mlm_scaled_add_t3v3c3", NULL, extra);
  message = check_error (dir, BT_HEAD_MLM, BT_ERROR_SHAPE);
  g_assert_nonnull (strstr (message,
      "bridgetower.text_model.embeddings.position_embeddings.weight is "
      "[79, 36], expected [80, 36]"));
  g_assert_nonnull (strstr (message,
      "bridgetower.cross_modal_image_link_tower.1.scaled_factor is [2], "
      "expected []"));
  remove_variant (dir);
}

static void
test_wrong_dtype (void)
{
  g_autoptr (BtTensorSet) extra = bt_tensor_set_new ();
  gint64 shape[1] = { 2 };
  g_autofree char *dir = NULL;
  g_autofree char *message = NULL;

  bt_tensor_set_add (extra, "itm_score.fc.bias", BT_DTYPE_I64, 1, shape);
  dir = make_variant ("itm_add_t3v3c2", NULL, extra);
  message = check_error (dir, BT_HEAD_ITM, BT_ERROR_DTYPE);
  g_assert_nonnull (strstr (message, "itm_score.fc.bias (I64)"));
  remove_variant (dir);
}

/* Names HF would warn about are listed; buffers and another head's
 * tensors are not. */
static void
test_unknown_and_extra_heads (void)
{
  g_autoptr (BtTensorSet) extra = bt_tensor_set_new ();
  gint64 itm_w[2] = { 2, 72 }, itm_b[1] = { 2 }, one[1] = { 1 }, ids[2] = { 1, 80 };
  g_autofree char *dir = NULL;
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (BtCheckpoint) ckpt = NULL;
  g_autoptr (GPtrArray) unknown = g_ptr_array_new_with_free_func (g_free);

  /* an ITM head on the MLM model (hidden 36): a two-head checkpoint */
  bt_tensor_set_add (extra, "itm_score.fc.weight", BT_DTYPE_F32, 2, itm_w);
  bt_tensor_set_add (extra, "itm_score.fc.bias", BT_DTYPE_F32, 1, itm_b);
  bt_tensor_set_add (extra, "bridgetower.text_model.embeddings.position_ids",
      BT_DTYPE_I64, 2, ids);
  bt_tensor_set_add (extra, "bridgetower.some_new_module.weight",
      BT_DTYPE_F32, 1, one);
  bt_tensor_set_add (extra,
      "bridgetower.vision_model.visual.transformer.resblocks.7.ln_1.weight",
      BT_DTYPE_F32, 1, one);
  dir = make_variant ("mlm_scaled_add_t3v3c3", NULL, extra);

  g_assert_true (bt_config_load (&config, dir, &error));
  ckpt = bt_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_inventory_detect_heads (&config, ckpt), ==,
      BT_HEAD_ITM | BT_HEAD_MLM);
  for (guint h = 0; h < 3; h++) {
    BtHeads heads = h == 0 ? BT_HEAD_ITM : h == 1 ? BT_HEAD_MLM
        : BT_HEAD_ITM | BT_HEAD_MLM;

    g_ptr_array_set_size (unknown, 0);
    g_assert_true (bt_inventory_check (&config, heads, ckpt, unknown, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (unknown->len, ==, 2);
    g_assert_cmpstr (g_ptr_array_index (unknown, 0), ==,
        "bridgetower.some_new_module.weight");
    g_assert_cmpstr (g_ptr_array_index (unknown, 1), ==,
        "bridgetower.vision_model.visual.transformer.resblocks.7.ln_1.weight");
  }
  /* asking for a head this config cannot run (vision 64 != hidden 36) */
  g_assert_false (bt_inventory_check (&config, BT_HEAD_ITC, ckpt, NULL,
      &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_CONFIG);
  g_clear_pointer (&ckpt, bt_checkpoint_free);
  remove_variant (dir);
}

/* Independent facts about the table, from HF's module structure. */
static void
test_table (void)
{
  g_autofree char *dir = bt_test_model_dir ("itc_interpolate_t3v4rm_c2");
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) bare = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (BtCheckpoint) ckpt = NULL;

  g_assert_true (bt_config_load (&config, dir, &error));
  bare = bt_inventory_build (&config, BT_HEAD_NONE);
  all = bt_inventory_build (&config, BT_HEAD_ITM | BT_HEAD_MLM | BT_HEAD_ITC);
  /* ITM: fc weight+bias; MLM: dense 2 + LayerNorm 2 + decoder + bias;
   * ITC: three fc pairs + logit_scale */
  g_assert_cmpuint (all->len, ==, bare->len + 2 + 6 + 7);
  for (guint i = 0; i < bare->len; i++) {
    BtTensorSpec *spec = g_ptr_array_index (bare, i);
    g_autofree char *prefixed = g_strconcat ("bridgetower.", spec->name, NULL);

    g_assert_true (specs_contain (all, prefixed));
  }
  /* interpolate link towers: C - 1 = 1 per side, each with beta */
  g_assert_true (specs_contain (bare, "cross_modal_text_link_tower.0.beta"));
  g_assert_false (specs_contain (bare, "cross_modal_text_link_tower.1.beta"));
  /* 4 vision layers, remove_last_layer -> 3 blocks = text depth 3 */
  g_assert_true (specs_contain (bare,
      "vision_model.visual.transformer.resblocks.2.ln_1.weight"));
  g_assert_false (specs_contain (bare,
      "vision_model.visual.transformer.resblocks.3.ln_1.weight"));
  g_assert_false (bt_inventory_is_ignored (&config,
      "vision_model.visual.transformer.resblocks.3.ln_1.weight"));

  ckpt = bt_checkpoint_open (dir, &error);
  g_assert_no_error (error);

  /* asking for a head the folder lacks */
  g_assert_false (bt_inventory_check (&config, BT_HEAD_ITM, ckpt, NULL,
      &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_MISSING_TENSOR);
  g_assert_nonnull (strstr (error->message, "itm_score.fc.weight"));
  g_clear_error (&error);

  /* the ITC head cannot run when vision width != hidden_size */
  config.vision.hidden_size = 128;
  g_assert_false (bt_inventory_check (&config, BT_HEAD_ITC, ckpt, NULL,
      &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_CONFIG);
  g_clear_error (&error);

  /* tied word embeddings: the decoder is not read, and is ignored */
  config.vision.hidden_size = 64;
  config.tie_word_embeddings = TRUE;
  g_clear_pointer (&all, g_ptr_array_unref);
  all = bt_inventory_build (&config, BT_HEAD_MLM);
  g_assert_false (specs_contain (all, "mlm_score.decoder.weight"));
  g_assert_true (specs_contain (all, "mlm_score.bias"));
  g_assert_true (bt_inventory_is_ignored (&config, "mlm_score.decoder.weight"));
}

/* The shared link tower of a one-cross-layer model is never run. */
static void
test_shared_link (void)
{
  g_autofree char *dir = bt_test_model_dir ("base_sharedlink_t2v2c1");
  BtConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) bare = NULL;

  g_assert_true (bt_config_load (&config, dir, &error));
  bare = bt_inventory_build (&config, BT_HEAD_NONE);
  g_assert_false (specs_contain (bare, "cross_modal_text_link_tower.beta"));
  g_assert_true (bt_inventory_is_ignored (&config,
      "cross_modal_text_link_tower.beta"));
  g_assert_true (bt_inventory_is_ignored (&config,
      "cross_modal_image_link_tower.LayerNorm.weight"));
  g_assert_false (bt_inventory_is_ignored (&config,
      "cross_modal_image_link_tower.scaled_factor"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/inventory/golden-folders", test_golden_folders);
  g_test_add_func ("/inventory/hubstyle-folders", test_hubstyle_folders);
  g_test_add_func ("/inventory/missing", test_missing);
  g_test_add_func ("/inventory/wrong-shape", test_wrong_shape);
  g_test_add_func ("/inventory/wrong-dtype", test_wrong_dtype);
  g_test_add_func ("/inventory/unknown-and-extra-heads",
      test_unknown_and_extra_heads);
  g_test_add_func ("/inventory/table", test_table);
  g_test_add_func ("/inventory/shared-link", test_shared_link);
  return g_test_run ();
}
