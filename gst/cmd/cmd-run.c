/* cmd-run.c - `bridgetower run`: one head's forward pass on a batch, as HF's
 * forward computes it, written as safetensors under the golden manifest's
 * output names.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"

#include <string.h>

static const char *const command = "run";

static const char *const description =
  "Inputs: either --inputs, a safetensors file with the processor's tensors\n"
  "(input_ids and attention_mask I64 [batch, seq_len], pixel_values F32\n"
  "[batch, 3, H, W], optional pixel_mask I64 [batch, H, W]; attention_mask\n"
  "defaults to all ones), or --image/--text pairs: the i-th --text goes with\n"
  "the i-th --image, whatever the order of the options. Pairs are processed\n"
  "as BridgeTowerProcessor does: texts padded to the longest, truncated only\n"
  "with --max-length, images center-cropped and normalised.\n"
  "\n"
  "Output: the inputs as inputs.input_ids, inputs.attention_mask,\n"
  "inputs.pixel_values, inputs.pixel_mask, and what the head returns:\n"
  "  base  text_features, image_features, pooler_output\n"
  "  itm   logits [batch, 2]\n"
  "  mlm   logits [batch, seq_len, vocab_size]\n"
  "  itc   text_embeds, image_embeds, cross_embeds, logits [batch, 3, dim]\n"
  "and with --hidden-states hidden_states.text.N, hidden_states.image.N\n"
  "(sequence-first, as HF returns them), hidden_states.cross.N.text and\n"
  "hidden_states.cross.N.image.\n"
  "\n"
  "Example:\n"
  "  bridgetower run bridgetower-base-itm-mlm --head itm \\\n"
  "      --image cats.jpg --text \"two cats on a couch\" -o out.safetensors\n";

typedef struct {
  char *head;
  char *inputs;
  char **images;
  char **texts;
  int max_length;
  gboolean hidden_states;
  gboolean interpolate;
  char *output;
} RunOptions;

static void
run_options_clear (RunOptions *o)
{
  g_free (o->head);
  g_free (o->inputs);
  g_strfreev (o->images);
  g_strfreev (o->texts);
  g_free (o->output);
}

/* Checks one tensor of an --inputs file: dtype, rank and every dim that is
 * not -1 in `shape`; `expected` spells the shape for the message. */
static gboolean
check_input (const char *path, const char *name, const BtTensor *t,
             BtDType dtype, int ndim, const gint64 *shape,
             const char *expected, GError **error)
{
  if (bt_tensor_has_shape (t, dtype, ndim, shape)) {
    for (int i = 0; i < ndim; i++) {
      if (t->shape[i] == 0) {
        g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                     "%s: %s is empty (dimension %d is 0)", path, name, i);
        return FALSE;
      }
    }
    return TRUE;
  }

  g_autofree char *got = bt_tensor_shape_string (t);
  g_set_error (error, BT_ERROR,
               t->dtype != dtype ? BT_ERROR_DTYPE : BT_ERROR_SHAPE,
               "%s: %s is %s %s, expected %s %s", path, name,
               bt_dtype_name (t->dtype), got, bt_dtype_name (dtype), expected);
  return FALSE;
}

/* Reads the processor's tensors from `path` into `inputs` (as inputs.*
 * copies: the mmap of a safetensors file need not be aligned for I64). */
static gboolean
load_inputs_file (const char *path, const BtConfig *config,
                  BtTensorSet *inputs, GError **error)
{
  g_autoptr (BtSafetensors) st = bt_safetensors_open (path, error);
  const BtTensor *ids, *mask, *pixels, *pixel_mask;
  gint64 batch, seq_len;

  if (!st)
    return FALSE;

  ids = bt_safetensors_lookup (st, "input_ids");
  pixels = bt_safetensors_lookup (st, "pixel_values");
  if (!ids || !pixels) {
    g_set_error (error, BT_ERROR, BT_ERROR_MISSING_TENSOR,
                 "%s: no %s tensor (--inputs needs input_ids and "
                 "pixel_values)", path, ids ? "pixel_values" : "input_ids");
    return FALSE;
  }
  {
    const gint64 any2[2] = { -1, -1 };
    if (!check_input (path, "input_ids", ids, BT_DTYPE_I64, 2, any2,
                      "[batch, seq_len]", error))
      return FALSE;
  }
  batch = ids->shape[0];
  seq_len = ids->shape[1];

  mask = bt_safetensors_lookup (st, "attention_mask");
  if (mask) {
    const gint64 shape[2] = { batch, seq_len };
    if (!check_input (path, "attention_mask", mask, BT_DTYPE_I64, 2, shape,
                      "[batch, seq_len] like input_ids", error))
      return FALSE;
  }
  {
    const gint64 shape[4] = { batch, config->vision.num_channels, -1, -1 };
    g_autofree char *expected = g_strdup_printf (
        "[%" G_GINT64_FORMAT ", %d, height, width] (batch of input_ids)",
        batch, config->vision.num_channels);
    if (!check_input (path, "pixel_values", pixels, BT_DTYPE_F32, 4, shape,
                      expected, error))
      return FALSE;
  }
  pixel_mask = bt_safetensors_lookup (st, "pixel_mask");
  if (pixel_mask) {
    const gint64 shape[3] = { batch, pixels->shape[2], pixels->shape[3] };
    if (!check_input (path, "pixel_mask", pixel_mask, BT_DTYPE_I64, 3, shape,
                      "[batch, height, width] like pixel_values", error))
      return FALSE;
  }

  const gint64 *id_data =
    bt_tensor_set_add_copy (inputs, "inputs.input_ids", ids)->data;
  for (gint64 i = 0; i < batch * seq_len; i++) {
    if (id_data[i] < 0 || id_data[i] >= config->text.vocab_size) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "%s: input_ids[%" G_GINT64_FORMAT "][%" G_GINT64_FORMAT
                   "] = %" G_GINT64_FORMAT " is outside the vocabulary "
                   "(0 .. %d)", path, i / seq_len, i % seq_len, id_data[i],
                   config->text.vocab_size - 1);
      return FALSE;
    }
  }
  if (mask) {
    bt_tensor_set_add_copy (inputs, "inputs.attention_mask", mask);
  } else {
    const gint64 shape[2] = { batch, seq_len };
    gint64 *ones = bt_tensor_set_add (inputs, "inputs.attention_mask",
                                      BT_DTYPE_I64, 2, shape)->data;
    for (gint64 i = 0; i < batch * seq_len; i++)
      ones[i] = 1;
  }
  bt_tensor_set_add_copy (inputs, "inputs.pixel_values", pixels);
  if (pixel_mask)
    bt_tensor_set_add_copy (inputs, "inputs.pixel_mask", pixel_mask);
  return TRUE;
}

/* BridgeTowerProcessor on the (image, text) pairs. */
static gboolean
process_pairs (BtModel *model, const RunOptions *o, int n,
               BtTensorSet *inputs, GError **error)
{
  BtTokenizer *tok = bt_cmd_require_tokenizer (model, error);
  g_autoptr (BtTensorSet) pixels = bt_tensor_set_new ();
  BtTokenBatch tokens = { 0 };

  if (!tok)
    return FALSE;
  if (!bt_tokenizer_encode_batch (tok, (const char *const *) o->texts, n,
                                  TRUE, o->max_length, &tokens, error))
    return FALSE;

  const gint64 shape[2] = { tokens.batch, tokens.seq_len };
  gsize bytes = (gsize) tokens.batch * tokens.seq_len * sizeof (gint64);
  memcpy (bt_tensor_set_add (inputs, "inputs.input_ids", BT_DTYPE_I64, 2,
                             shape)->data, tokens.input_ids, bytes);
  memcpy (bt_tensor_set_add (inputs, "inputs.attention_mask", BT_DTYPE_I64,
                             2, shape)->data, tokens.attention_mask, bytes);
  bt_token_batch_clear (&tokens);

  if (!bt_cmd_process_images (model, (const char *const *) o->images, n,
                              pixels, error))
    return FALSE;
  bt_tensor_set_add_copy (inputs, "inputs.pixel_values",
                          bt_tensor_set_lookup (pixels, "pixel_values"));
  bt_tensor_set_add_copy (inputs, "inputs.pixel_mask",
                          bt_tensor_set_lookup (pixels, "pixel_mask"));
  return TRUE;
}

/* The option combinations that make no sense, before anything is loaded. */
static gboolean
check_options (const RunOptions *o, int n_positional, BtHeads *head,
               int *n_pairs)
{
  guint n_images = o->images ? g_strv_length (o->images) : 0;
  guint n_texts = o->texts ? g_strv_length (o->texts) : 0;

  if (n_positional != 1) {
    bt_cmd_print_error (command, "expected one MODEL_DIR, got %d arguments "
                        "(see --help)", n_positional);
    return FALSE;
  }
  if (!o->head) {
    bt_cmd_print_error (command, "--head is required: base, itm, mlm or itc");
    return FALSE;
  }
  if (!bt_cmd_head_from_name (o->head, head)) {
    bt_cmd_print_error (command, "unknown head '%s' (expected base, itm, mlm "
                        "or itc)", o->head);
    return FALSE;
  }
  if (!o->output) {
    bt_cmd_print_error (command, "-o OUT.safetensors is required");
    return FALSE;
  }
  if (o->inputs && (n_images || n_texts)) {
    bt_cmd_print_error (command, "--inputs and --image/--text exclude each "
                        "other");
    return FALSE;
  }
  if (!o->inputs && !n_images && !n_texts) {
    bt_cmd_print_error (command, "no inputs: give --inputs IN.safetensors or "
                        "--image IMG --text T pairs");
    return FALSE;
  }
  if (n_images != n_texts) {
    bt_cmd_print_error (command, "%u --image but %u --text: the i-th --text "
                        "pairs with the i-th --image, so their counts must "
                        "match", n_images, n_texts);
    return FALSE;
  }
  if (o->max_length < 0 || (o->max_length && o->inputs)) {
    bt_cmd_print_error (command, o->max_length < 0 ?
                        "--max-length must be positive" :
                        "--max-length applies to --text, not to --inputs");
    return FALSE;
  }
  *n_pairs = (int) n_images;
  return TRUE;
}

/* Everything after option checking; the error names the file and reason. */
static gboolean
run (const char *dir, const RunOptions *o, BtHeads head, int n_pairs,
     GError **error)
{
  BtModel *model = bt_cmd_load_model (dir, error);
  g_autoptr (BtTensorSet) out = bt_tensor_set_new ();
  gboolean ok;

  if (!model)
    return FALSE;
  ok = bt_cmd_require_head (model, head, error);
  if (ok && o->inputs)
    ok = load_inputs_file (o->inputs, bt_model_get_config (model), out, error);
  else if (ok)
    ok = process_pairs (model, o, n_pairs, out, error);

  if (ok) {
    const BtTensor *ids = bt_tensor_set_lookup (out, "inputs.input_ids");
    const BtTensor *mask = bt_tensor_set_lookup (out, "inputs.attention_mask");
    const BtTensor *pixels = bt_tensor_set_lookup (out, "inputs.pixel_values");
    const BtForwardInput input = {
      .batch = (int) ids->shape[0],
      .seq_len = (int) ids->shape[1],
      .input_ids = ids->data,
      .attention_mask = mask->data,
      .height = (int) pixels->shape[2],
      .width = (int) pixels->shape[3],
      .pixel_values = pixels->data,
      .interpolate_pos_encoding = o->interpolate,
      .output_hidden_states = o->hidden_states,
    };
    BtContext *ctx = bt_context_new (model, NULL);

    ok = bt_context_forward (ctx, head, &input, out, error);
    bt_context_free (ctx);
  }
  if (ok)
    ok = bt_safetensors_write (o->output, out, error);
  bt_model_unref (model);
  return ok;
}

int
bt_cmd_run (int argc, char **argv)
{
  RunOptions o = { 0 };
  const GOptionEntry entries[] = {
    { "head", 0, 0, G_OPTION_ARG_STRING, &o.head,
      "Head to run: base, itm, mlm or itc", "HEAD" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &o.inputs,
      "The processor's tensors as safetensors", "IN.safetensors" },
    { "image", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.images,
      "An image file (PNG or JPEG); repeat for a batch", "IMG" },
    /* FILENAME keeps the bytes as given: STRING would convert from the
     * locale's charset and reject UTF-8 in the C locale */
    { "text", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.texts,
      "A text (UTF-8); repeat for a batch, one per --image", "T" },
    { "max-length", 0, 0, G_OPTION_ARG_INT, &o.max_length,
      "Truncate texts to N tokens (special tokens included)", "N" },
    { "hidden-states", 0, 0, G_OPTION_ARG_NONE, &o.hidden_states,
      "Also write every layer's hidden states", NULL },
    { "interpolate-pos-encoding", 0, 0, G_OPTION_ARG_NONE, &o.interpolate,
      "Accept images whose size differs from the model's image_size", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output,
      "Where to write the outputs (safetensors)", "OUT.safetensors" },
    { NULL }
  };
  GError *error = NULL;
  BtHeads head;
  int n_pairs, status = 1;

  if (bt_cmd_parse_options (command, "MODEL_DIR", "Runs a head's forward "
                            "pass on a batch and writes its outputs.",
                            description, entries, &argc, &argv)
      && check_options (&o, argc - 1, &head, &n_pairs))
    status = run (argv[1], &o, head, n_pairs, &error) ? 0
      : bt_cmd_fail (command, error);
  run_options_clear (&o);
  return status;
}
