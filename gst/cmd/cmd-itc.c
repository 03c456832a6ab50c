/* cmd-itc.c - `bridgetower itc`: contrastive similarity of one image against
 * texts (HF's BridgeTowerForContrastiveLearning example). The ITC
 * embeddings come from the two towers alone: no cross-modal work.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"

#include <stdio.h>

static const char *const command = "itc";

static const char *const description =
  "For each TEXT prints the cosine similarity of the image's and the text's\n"
  "ITC embeddings and the probability softmax over the texts of\n"
  "exp(logit_scale) x cosine. Needs a checkpoint with the ITC head.\n"
  "Texts are truncated only with --max-length (HF's truncation=True is\n"
  "--max-length = the tokenizer's model_max_length), or to the longest text\n"
  "the model's position table holds.\n"
  "\n"
  "Example:\n"
  "  bridgetower itc bridgetower-large-itm-mlm-itc cats.jpg \\\n"
  "      \"An image of two cats chilling on a couch\" \\\n"
  "      \"A football player scoring a goal\"\n";

static void
print_results (const char *dir, const char *image, char **texts, int n,
               float logit_scale, const double *cosine, const double *prob,
               gboolean json)
{
  if (json) {
    g_autoptr (JsonBuilder) b = bt_cmd_json_begin_result (dir, image);

    json_builder_set_member_name (b, "logit_scale");
    json_builder_add_double_value (b, logit_scale);
    json_builder_set_member_name (b, "results");
    json_builder_begin_array (b);
    for (int i = 0; i < n; i++) {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, texts[i]);
      json_builder_set_member_name (b, "cosine");
      json_builder_add_double_value (b, cosine[i]);
      json_builder_set_member_name (b, "probability");
      json_builder_add_double_value (b, prob[i]);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    bt_cmd_print_json (b);
    return;
  }

  printf ("%10s  %11s  %s\n", "cosine", "probability", "text");
  for (int i = 0; i < n; i++)
    printf ("%10.6f  %11.6f  %s\n", cosine[i], prob[i], texts[i]);
}

static gboolean
itc (const char *dir, const char *image, char **texts, int n, int max_length,
     gboolean json, GError **error)
{
  BtModel *model = bt_cmd_load_model (dir, error);
  BtContext *ctx = NULL;
  BtImageFeatures *features = NULL;
  g_autofree double *cosine = g_new0 (double, n);
  g_autofree double *scaled = g_new0 (double, n);
  g_autofree double *prob = g_new0 (double, n);
  gboolean ok = model && bt_cmd_require_head (model, BT_HEAD_ITC, error)
    && bt_cmd_require_tokenizer (model, error);
  float logit_scale = 0;
  int dim = 0;

  if (ok) {
    logit_scale = bt_model_get_logit_scale (model);
    dim = bt_model_get_config (model)->contrastive_hidden_size;
    ctx = bt_context_new (model, NULL);
    features = bt_cmd_encode_image_file (ctx, image, error);
    ok = features != NULL;
  }
  for (int i = 0; ok && i < n; i++) {
    g_autoptr (BtTextFeatures) text =
      bt_cmd_encode_text (ctx, texts[i], max_length, NULL,
                                               error);
    const float *a = NULL, *b = NULL;

    ok = text != NULL;
    if (ok) {
      a = bt_image_features_get_itc (features);
      b = bt_text_features_get_itc (text);
      ok = a && b;
      if (!ok)
        g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
                     "%s: the model gave no ITC embedding", dir);
    }
    /* both embeddings are L2-normalised: the dot product is the cosine */
    for (int k = 0; ok && k < dim; k++)
      cosine[i] += (double) a[k] * b[k];
    scaled[i] = logit_scale * cosine[i];
  }
  if (ok) {
    bt_cmd_softmax (scaled, n, prob);
    print_results (dir, image, texts, n, logit_scale, cosine, prob, json);
  }

  g_clear_pointer (&features, bt_image_features_unref);
  g_clear_pointer (&ctx, bt_context_free);
  g_clear_pointer (&model, bt_model_unref);
  return ok;
}

int
bt_cmd_itc (int argc, char **argv)
{
  gboolean json = FALSE;
  int max_length = 0;
  GError *error = NULL;

  if (!bt_cmd_parse_image_texts (command,
                                 "Contrastive similarity of an image against each "
                                 "text.",
                                 description, &argc, &argv, &max_length,
                                 &json))
    return 1;
  if (!itc (argv[1], argv[2], argv + 3, argc - 3, max_length, json,
            &error))
    return bt_cmd_fail (command, error);
  return 0;
}
