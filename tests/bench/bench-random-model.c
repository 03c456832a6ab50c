/* bench-random-model.c - writes a model folder with random weights for the
 * element benchmark (bench-elements.py): config.json and
 * preprocessor_config.json from CONFIG_DIR, tokenizer files from
 * TOKENIZER_DIR, model.safetensors with every tensor the inventory lists
 * for the ITM and ITC heads (so every btmatcher mode runs), uniform in
 * [-0.02, 0.02] and LayerNorm weights 1.
 *
 *   bench-random-model CONFIG_DIR TOKENIZER_DIR OUT_DIR
 *
 * Example (the base shape, ~1.3 GB):
 *   bench-random-model tests/data/hub/bridgetower-base-itm-mlm \
 *       tests/data/golden/tokenizer-full /tmp/bt-base-random
 *
 * SPDX-License-Identifier: MIT
 */
#include "bridgetower.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static gboolean
copy_file (const char *from_dir, const char *name, const char *to_dir,
           GError **error)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize len;

  if (!g_file_test (from, G_FILE_TEST_EXISTS))
    return TRUE;
  return g_file_get_contents (from, &contents, &len, error)
      && g_file_set_contents (to, contents, len, error);
}

int
main (int argc, char **argv)
{
  static const char *const tokenizer_files[] = { "tokenizer.json",
    "vocab.json", "merges.txt", "tokenizer_config.json",
    "special_tokens_map.json" };
  g_autoptr (GError) error = NULL;
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  g_autoptr (GPtrArray) specs = NULL;
  g_autofree char *weights = NULL;
  GRand *rand;
  BtConfig config;

  if (argc != 4) {
    fprintf (stderr, "usage: %s CONFIG_DIR TOKENIZER_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  if (!bt_config_load (&config, argv[1], &error))
    goto fail;
  g_mkdir_with_parents (argv[3], 0755);
  if (!copy_file (argv[1], "config.json", argv[3], &error)
      || !copy_file (argv[1], "preprocessor_config.json", argv[3], &error))
    goto fail;
  for (guint i = 0; i < G_N_ELEMENTS (tokenizer_files); i++)
    if (!copy_file (argv[2], tokenizer_files[i], argv[3], &error))
      goto fail;

  rand = g_rand_new_with_seed (42);
  specs = bt_inventory_build (&config, BT_HEAD_ITM | BT_HEAD_ITC);
  for (guint i = 0; i < specs->len; i++) {
    const BtTensorSpec *spec = g_ptr_array_index (specs, i);
    BtTensor *t = bt_tensor_set_add (set, spec->name, BT_DTYPE_F32,
        spec->ndim, spec->shape);
    float *data = t->data;
    gboolean norm_weight = g_str_has_suffix (spec->name, "LayerNorm.weight")
        || (strstr (spec->name, "ln") && g_str_has_suffix (spec->name,
                ".weight") && spec->ndim == 1);

    for (gint64 k = 0; k < bt_tensor_numel (t); k++)
      data[k] = norm_weight ? 1.0f
          : (float) g_rand_double_range (rand, -0.02, 0.02);
  }
  g_rand_free (rand);
  weights = g_build_filename (argv[3], "model.safetensors", NULL);
  if (!bt_safetensors_write (weights, set, &error))
    goto fail;
  printf ("%s: %u tensors\n", weights, bt_tensor_set_size (set));
  return 0;

fail:
  fprintf (stderr, "bench-random-model: %s\n", error->message);
  return 1;
}
