/* bt-cmd-util.c - what the model subcommands share.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd-util.h"
#include "bt-json.h"

#include "bt-image-file.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* --precision is common to every model command: set while parsing, read
 * when the model loads. */
static char *precision_name;

static gboolean
parse_precision (BtPrecision *precision, GError **error)
{
  if (precision_name == NULL || g_strcmp0 (precision_name, "fp32") == 0)
    *precision = BT_PRECISION_FP32;
  else if (g_strcmp0 (precision_name, "bf16") == 0)
    *precision = BT_PRECISION_BF16;
  else if (g_strcmp0 (precision_name, "int8") == 0)
    *precision = BT_PRECISION_INT8;
  else {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "unknown precision '%s' (fp32, bf16 or int8)",
                 precision_name);
    return FALSE;
  }
  return TRUE;
}

gboolean
bt_cmd_parse_options (const char *command, const char *parameters,
                      const char *summary, const char *description,
                      const GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree char *prgname = g_strdup_printf ("bridgetower %s", command);
  g_autoptr (GOptionContext) context = g_option_context_new (parameters);
  g_autoptr (GError) error = NULL;

  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  if (description)
    g_option_context_set_description (context, description);
  const GOptionEntry common[] = {
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_name,
      "fp32 (default, parity with HF), bf16 (opt-in, needs bf16 units "
      "and oneDNN) or int8 (opt-in, needs VNNI and oneDNN)",
      "fp32|bf16|int8" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, common, NULL);
  if (!g_option_context_parse (context, argc, argv, &error)) {
    bt_cmd_print_error (command, "%s (see --help)", error->message);
    return FALSE;
  }
  bt_cmd_drop_separator (argc, *argv);
  return TRUE;
}

void
bt_cmd_drop_separator (int *argc, char **argv)
{
  for (int i = 1; i < *argc; i++) {
    if (strcmp (argv[i], "--") == 0) {
      memmove (&argv[i], &argv[i + 1], (*argc - i) * sizeof (char *));
      (*argc)--;
      return;
    }
  }
}

void
bt_cmd_print_error (const char *command, const char *format, ...)
{
  va_list args;

  fprintf (stderr, "bridgetower %s: ", command);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
}

int
bt_cmd_fail (const char *command, GError *error)
{
  bt_cmd_print_error (command, "%s", error ? error->message : "failed");
  g_clear_error (&error);
  return 1;
}

static const struct {
  const char *name;
  BtHeads head;
} head_names[] = {
  { "base", BT_HEAD_NONE },
  { "itm", BT_HEAD_ITM },
  { "mlm", BT_HEAD_MLM },
  { "itc", BT_HEAD_ITC },
};

gboolean
bt_cmd_head_from_name (const char *name, BtHeads *head)
{
  for (gsize i = 0; i < G_N_ELEMENTS (head_names); i++) {
    if (g_strcmp0 (name, head_names[i].name) == 0) {
      *head = head_names[i].head;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
bt_cmd_head_name (BtHeads head)
{
  for (gsize i = 0; i < G_N_ELEMENTS (head_names); i++)
    if (head_names[i].head == head)
      return head_names[i].name;
  return "?";
}

const char *
bt_cmd_get_precision_name (void)
{
  return precision_name ? precision_name : "fp32";
}

BtModel *
bt_cmd_load_model (const char *dir, GError **error)
{
  BtModelParams params = bt_model_default_params ();

  if (!parse_precision (&params.precision, error))
    return NULL;
  return bt_model_load (dir, &params, error);
}

gboolean
bt_cmd_require_head (BtModel *model, BtHeads head, GError **error)
{
  BtHeads present = bt_model_get_heads (model);

  if (head == BT_HEAD_NONE || (present & head))
    return TRUE;

  g_autoptr (GString) names = g_string_new (NULL);
  for (gsize i = 1; i < G_N_ELEMENTS (head_names); i++)
    if (present & head_names[i].head)
      g_string_append_printf (names, "%s%s", names->len ? ", " : "",
                              head_names[i].name);
  g_set_error (error, BT_ERROR, BT_ERROR_NO_HEAD,
               "%s: the checkpoint has no %s head (it has: %s)",
               bt_model_get_path (model), bt_cmd_head_name (head),
               names->len ? names->str : "none, bare model only");
  return FALSE;
}

BtTokenizer *
bt_cmd_require_tokenizer (BtModel *model, GError **error)
{
  BtTokenizer *tok = bt_model_get_tokenizer (model);

  if (!tok)
    g_set_error (error, BT_ERROR, BT_ERROR_IO,
                 "%s: no tokenizer (tokenizer.json or vocab.json + merges.txt)",
                 bt_model_get_path (model));
  return tok;
}

gboolean
bt_cmd_process_images (BtModel *model, const char *const *paths, int n,
                       BtTensorSet *out, GError **error)
{
  BtImageConfig config = *bt_model_get_image_config (model);
  g_autofree BtRgbImage *images = g_new0 (BtRgbImage, n);
  g_autofree guint8 **rgb = g_new0 (guint8 *, n);
  gboolean ok = TRUE;

  bt_image_config_force_processor (&config);
  for (int i = 0; i < n && ok; i++) {
    ok = bt_image_load_rgb (paths[i], &rgb[i], &images[i].width,
                            &images[i].height, error);
    images[i].rgb = rgb[i];
    images[i].stride = 3 * images[i].width;
  }
  if (ok) {
    g_autoptr (BtImageProcessor) proc = bt_image_processor_new (&config);
    ok = bt_image_processor_process_batch (proc, images, n, out, error);
  }
  for (int i = 0; i < n; i++)
    g_free (rgb[i]);
  return ok;
}

BtImageFeatures *
bt_cmd_encode_image_file (BtContext *ctx, const char *path, GError **error)
{
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  const BtTensor *pixels;

  if (!bt_cmd_process_images (bt_context_get_model (ctx), &path, 1, set, error))
    return NULL;
  pixels = bt_tensor_set_lookup (set, "pixel_values");
  return bt_context_encode_image (ctx, pixels->data, (int) pixels->shape[2],
                                  (int) pixels->shape[3], FALSE, error);
}

BtTextFeatures *
bt_cmd_encode_text (BtContext *ctx, const char *text, int max_length,
                    GArray *ids, GError **error)
{
  BtModel *model = bt_context_get_model (ctx);
  BtTokenizer *tok = bt_cmd_require_tokenizer (model, error);
  g_autoptr (GArray) own = NULL;
  /* positions run from pad_token_id + 1: the last usable one bounds the
   * length */
  const BtTextConfig *tc = &bt_model_get_config (model)->text;
  int longest = MAX (tc->max_position_embeddings - tc->pad_token_id - 1, 2);

  if (!tok)
    return NULL;
  if (!ids)
    ids = own = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_set_size (ids, 0);
  if (max_length <= 0 || max_length > longest)
    max_length = longest;
  if (!bt_tokenizer_encode (tok, text, TRUE, max_length, ids, error))
    return NULL;
  return bt_context_encode_text (ctx, (const gint64 *) ids->data, NULL,
                                 (int) ids->len, error);
}

void
bt_cmd_softmax (const double *x, int n, double *out)
{
  double max = -INFINITY, sum = 0.0;

  for (int i = 0; i < n; i++)
    max = MAX (max, x[i]);
  for (int i = 0; i < n; i++) {
    out[i] = exp (x[i] - max);
    sum += out[i];
  }
  for (int i = 0; i < n; i++)
    out[i] /= sum;
}

void
bt_cmd_print_json (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = bt_json_to_string (root, TRUE);

  printf ("%s\n", text);
}

gboolean
bt_cmd_parse_image_texts (const char *command, const char *summary,
                          const char *description, int *argc, char ***argv,
                          int *max_length, gboolean *json)
{
  const GOptionEntry entries[] = {
    { "max-length", 0, 0, G_OPTION_ARG_INT, max_length,
      "Truncate texts to N tokens (special tokens included)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, json, "Print JSON", NULL },
    { NULL }
  };

  if (!bt_cmd_parse_options (command, "MODEL_DIR IMAGE TEXT...", summary,
                             description, entries, argc, argv))
    return FALSE;
  if (*argc < 4) {
    bt_cmd_print_error (command, "expected MODEL_DIR IMAGE TEXT... (see "
                        "--help)");
    return FALSE;
  }
  return TRUE;
}

JsonBuilder *
bt_cmd_json_begin_result (const char *dir, const char *image)
{
  JsonBuilder *b = json_builder_new ();
  g_autofree char *dir_name = g_filename_display_name (dir);
  g_autofree char *image_name = g_filename_display_name (image);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, dir_name);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image_name);
  return b;
}
