/* fuzz-config.c - libFuzzer target for config.json parsing and validation;
 * a config that loads also builds its tensor table and classifies a few
 * names, as every model load does. */
#include "bt-inventory.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const names[] = {
  "bridgetower.text_model.embeddings.position_ids",
  "vision_model.visual.ln_separate.0.weight",
  "bridgetower.vision_model.visual.transformer.resblocks.11.ln_1.weight",
  "vision_model.visual.transformer.resblocks.99999999999999.ln_1.weight",
  "cross_modal_text_link_tower.beta",
  "mlm_score.decoder.weight",
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  BtConfig config;
  GError *error = NULL;

  if (!bt_config_load_from_data (&config, (const char *) data, (gssize) size,
                                 &error)) {
    g_assert (error != NULL && error->domain == BT_ERROR);
    g_error_free (error);
    return 0;
  }
  g_assert (bt_config_validate (&config, NULL));
  g_assert (bt_config_vision_heads (&config) > 0);
  g_assert (bt_config_split_layer (&config) >= 1);
  if (config.num_hidden_layers <= 64 && config.text.num_hidden_layers <= 64) {
    GPtrArray *specs = bt_inventory_build (&config, BT_HEAD_ITM | BT_HEAD_MLM
                                           | BT_HEAD_ITC);
    g_ptr_array_unref (specs);
  }
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    (void) bt_inventory_is_ignored (&config, names[i]);
  return 0;
}
