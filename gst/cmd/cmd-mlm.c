/* cmd-mlm.c - `bridgetower mlm`: fills the <mask> tokens of a text about an
 * image (HF's BridgeTowerForMaskedLM example).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"

#include <stdio.h>

static const char *const command = "mlm";

static const char *const description =
  "Prints TEXT with every <mask> replaced by the most likely token at its\n"
  "position. With --all-positions prints instead the most likely token at\n"
  "every position, <s> and </s> included, decoded - what HF's documentation\n"
  "example prints (\".a cat looking out of the window.\").\n"
  "\n"
  "Example:\n"
  "  bridgetower mlm bridgetower-base-itm-mlm cat.jpg \\\n"
  "      \"a <mask> looking out of the window\"\n";

/* The argmax of each row (the first one on ties, as torch.argmax). */
static void
argmax_rows (const float *logits, int rows, int cols, gint64 *best)
{
  for (int r = 0; r < rows; r++) {
    const float *row = logits + (gsize) r * cols;
    int k = 0;

    for (int c = 1; c < cols; c++)
      if (row[c] > row[k])
        k = c;
    best[r] = k;
  }
}

static gboolean
has_mask (BtTokenizer *tok, const gint64 *ids, int n)
{
  for (int i = 0; i < n; i++)
    if (ids[i] == bt_tokenizer_mask_id (tok))
      return TRUE;
  return FALSE;
}

static void
print_results (const char *dir, const char *image, const char *text,
               BtTokenizer *tok, const gint64 *ids, const gint64 *best,
               const float *logits, int n, int vocab, gboolean all_positions,
               gboolean json)
{
  gint64 mask_id = bt_tokenizer_mask_id (tok);
  g_autofree gint64 *filled = g_memdup2 (ids, n * sizeof (gint64));
  g_autofree char *filled_text = NULL;
  g_autofree char *all_text = NULL;

  for (int i = 0; i < n; i++)
    if (ids[i] == mask_id)
      filled[i] = best[i];
  filled_text = bt_tokenizer_decode (tok, filled, n, TRUE, FALSE);
  /* HF's example decodes with the defaults: special tokens kept */
  all_text = bt_tokenizer_decode (tok, best, n, FALSE, FALSE);

  if (!json) {
    printf ("%s\n", all_positions ? all_text : filled_text);
    return;
  }

  g_autoptr (JsonBuilder) b = bt_cmd_json_begin_result (dir, image);

  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_set_member_name (b, "filled");
  json_builder_add_string_value (b, filled_text);
  json_builder_set_member_name (b, "masks");
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++) {
    if (ids[i] != mask_id)
      continue;
    g_autofree char *piece = bt_tokenizer_decode (tok, &best[i], 1, FALSE,
                                                  FALSE);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "position");
    json_builder_add_int_value (b, i);
    json_builder_set_member_name (b, "id");
    json_builder_add_int_value (b, best[i]);
    json_builder_set_member_name (b, "token");
    json_builder_add_string_value (b, piece);
    json_builder_set_member_name (b, "logit");
    json_builder_add_double_value (b, logits[(gsize) i * vocab + best[i]]);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  if (all_positions) {
    json_builder_set_member_name (b, "all_positions");
    json_builder_add_string_value (b, all_text);
    json_builder_set_member_name (b, "all_position_ids");
    json_builder_begin_array (b);
    for (int i = 0; i < n; i++)
      json_builder_add_int_value (b, best[i]);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  bt_cmd_print_json (b);
}

static gboolean
mlm (const char *dir, const char *image, const char *text,
     gboolean all_positions, gboolean json, GError **error)
{
  BtModel *model = bt_cmd_load_model (dir, error);
  BtTokenizer *tok = NULL;
  BtContext *ctx = NULL;
  BtImageFeatures *features = NULL;
  BtTextFeatures *text_features = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree float *logits = NULL;
  g_autofree gint64 *best = NULL;
  gboolean ok = model && bt_cmd_require_head (model, BT_HEAD_MLM, error)
    && (tok = bt_cmd_require_tokenizer (model, error));
  int n = 0, vocab = 0;

  if (ok) {
    vocab = bt_model_get_config (model)->text.vocab_size;
    ctx = bt_context_new (model, NULL);
    features = bt_cmd_encode_image_file (ctx, image, error);
    ok = features != NULL;
  }
  if (ok) {
    text_features = bt_cmd_encode_text (ctx, text, 0, ids, error);
    ok = text_features != NULL;
    n = (int) ids->len;
  }
  if (ok) {
    logits = g_new (float, (gsize) n * vocab);
    ok = bt_context_mlm (ctx, features, text_features, logits, error);
  }
  if (ok) {
    best = g_new (gint64, n);
    argmax_rows (logits, n, vocab, best);
    if (!all_positions && !has_mask (tok, (const gint64 *) ids->data, n))
      bt_cmd_print_error (command, "warning: the text has no <mask>");
    print_results (dir, image, text, tok, (const gint64 *) ids->data, best,
                   logits, n, vocab, all_positions, json);
  }

  g_clear_pointer (&text_features, bt_text_features_unref);
  g_clear_pointer (&features, bt_image_features_unref);
  g_clear_pointer (&ctx, bt_context_free);
  g_clear_pointer (&model, bt_model_unref);
  return ok;
}

int
bt_cmd_mlm (int argc, char **argv)
{
  gboolean json = FALSE, all_positions = FALSE;
  const GOptionEntry entries[] = {
    { "all-positions", 0, 0, G_OPTION_ARG_NONE, &all_positions,
      "Print the most likely token at every position, decoded", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  GError *error = NULL;

  if (!bt_cmd_parse_options (command, "MODEL_DIR IMAGE TEXT",
                             "Fills the <mask> tokens of a text about an "
                             "image.", description, entries, &argc, &argv))
    return 1;
  if (argc != 4) {
    bt_cmd_print_error (command, "expected MODEL_DIR IMAGE TEXT, got %d "
                        "arguments (see --help)", argc - 1);
    return 1;
  }
  if (!mlm (argv[1], argv[2], argv[3], all_positions, json, &error))
    return bt_cmd_fail (command, error);
  return 0;
}
