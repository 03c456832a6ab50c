/* cmd-itm.c - `bridgetower itm`: image-text matching scores of one image
 * against texts (HF's BridgeTowerForImageAndTextRetrieval example). The
 * image goes through the vision tower once; the cross-modal encoder runs on
 * all texts at once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"

#include <stdio.h>

static const char *const command = "itm";

static const char *const description =
  "For each TEXT prints the match logit logits[1] (the score of HF's\n"
  "documentation example) and the match probability softmax(logits)[1].\n"
  "Texts are truncated only with --max-length (HF's truncation=True is\n"
  "--max-length = the tokenizer's model_max_length), or to the longest text\n"
  "the model's position table holds.\n"
  "\n"
  "Example:\n"
  "  bridgetower itm bridgetower-base-itm-mlm cats.jpg \\\n"
  "      \"An image of two cats chilling on a couch\" \\\n"
  "      \"A football player scoring a goal\"\n";

static void
print_results (const char *dir, const char *image, char **texts, int n,
               const float *logits, gboolean json)
{
  if (json) {
    g_autoptr (JsonBuilder) b = bt_cmd_json_begin_result (dir, image);

    json_builder_set_member_name (b, "results");
    json_builder_begin_array (b);
    for (int i = 0; i < n; i++) {
      const double pair[2] = { logits[2 * i], logits[2 * i + 1] };
      double prob[2];

      bt_cmd_softmax (pair, 2, prob);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, texts[i]);
      json_builder_set_member_name (b, "logits");
      json_builder_begin_array (b);
      json_builder_add_double_value (b, pair[0]);
      json_builder_add_double_value (b, pair[1]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "score");
      json_builder_add_double_value (b, pair[1]);
      json_builder_set_member_name (b, "probability");
      json_builder_add_double_value (b, prob[1]);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    bt_cmd_print_json (b);
    return;
  }

  printf ("%10s  %11s  %s\n", "score", "probability", "text");
  for (int i = 0; i < n; i++) {
    const double pair[2] = { logits[2 * i], logits[2 * i + 1] };
    double prob[2];

    bt_cmd_softmax (pair, 2, prob);
    printf ("%10.5f  %11.6f  %s\n", pair[1], prob[1], texts[i]);
  }
}

static gboolean
itm (const char *dir, const char *image, char **texts, int n, int max_length,
     gboolean json, GError **error)
{
  BtModel *model = bt_cmd_load_model (dir, error);
  BtContext *ctx = NULL;
  BtImageFeatures *features = NULL;
  g_autofree BtTextFeatures **text_features = g_new0 (BtTextFeatures *, n);
  g_autofree float *logits = g_new (float, 2 * n);
  gboolean ok = model && bt_cmd_require_head (model, BT_HEAD_ITM, error)
    && bt_cmd_require_tokenizer (model, error);

  if (ok) {
    ctx = bt_context_new (model, NULL);
    features = bt_cmd_encode_image_file (ctx, image, error);
    ok = features != NULL;
  }
  for (int i = 0; ok && i < n; i++) {
    text_features[i] = bt_cmd_encode_text (ctx, texts[i], max_length, NULL,
                                               error);
    ok = text_features[i] != NULL;
  }
  if (ok)
    ok = bt_context_match (ctx, features, text_features, n, logits, error);
  if (ok)
    print_results (dir, image, texts, n, logits, json);

  for (int i = 0; i < n; i++)
    g_clear_pointer (&text_features[i], bt_text_features_unref);
  g_clear_pointer (&features, bt_image_features_unref);
  g_clear_pointer (&ctx, bt_context_free);
  g_clear_pointer (&model, bt_model_unref);
  return ok;
}

int
bt_cmd_itm (int argc, char **argv)
{
  gboolean json = FALSE;
  int max_length = 0;
  GError *error = NULL;

  if (!bt_cmd_parse_image_texts (command,
                                 "Image-text matching score of an image against "
                                 "each text.",
                                 description, &argc, &argv, &max_length,
                                 &json))
    return 1;
  if (!itm (argv[1], argv[2], argv + 3, argc - 3, max_length, json,
            &error))
    return bt_cmd_fail (command, error);
  return 0;
}
