/* cmd-tokenize.c - `bridgetower tokenize`: the token ids HF's tokenizer
 * gives for a batch of texts, padded to the longest, as one JSON object.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out,
      "usage: bridgetower tokenize DIR [--max-length N] [--no-special-tokens] [--] TEXT...\n"
      "\n"
      "Prints {\"input_ids\": [[...]], \"attention_mask\": [[...]]} for the texts, as\n"
      "HF's tokenizer from DIR gives them with padding=True (to the longest).\n"
      "DIR needs tokenizer.json, or vocab.json + merges.txt.\n"
      "\n"
      "  --max-length N        truncation=True, max_length=N (no truncation otherwise)\n"
      "  --no-special-tokens   add_special_tokens=False: no <s> ... </s>\n"
      "  --help                this text\n");
}

static gboolean
parse_length (const char *arg, int *value)
{
  char *end;
  errno = 0;
  long v = strtol (arg, &end, 10);
  if (end == arg || *end || errno || v < 1 || v > G_MAXINT)
    return FALSE;
  *value = (int) v;
  return TRUE;
}

static void
print_rows (GString *out, const gint64 *values, const BtTokenBatch *b)
{
  g_string_append_c (out, '[');
  for (int i = 0; i < b->batch; i++) {
    g_string_append (out, i ? ", [" : "[");
    for (int j = 0; j < b->seq_len; j++)
      g_string_append_printf (out, j ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
          values[(gsize) i * b->seq_len + j]);
    g_string_append_c (out, ']');
  }
  g_string_append_c (out, ']');
}

int
bt_cmd_tokenize (int argc, char **argv)
{
  const char *dir = NULL;
  int max_length = 0;
  gboolean add_special = TRUE, options_done = FALSE;
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!options_done && strcmp (arg, "--") == 0) {
      options_done = TRUE;
    } else if (!options_done && (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)) {
      usage (stdout);
      return 0;
    } else if (!options_done && strcmp (arg, "--no-special-tokens") == 0) {
      add_special = FALSE;
    } else if (!options_done && (strcmp (arg, "--max-length") == 0 ||
            g_str_has_prefix (arg, "--max-length="))) {
      const char *value = arg[12] == '=' ? arg + 13 : (i + 1 < argc ? argv[++i] : NULL);
      if (!value || !parse_length (value, &max_length)) {
        fprintf (stderr, "bridgetower tokenize: --max-length needs a positive integer\n");
        return 2;
      }
    } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
      fprintf (stderr, "bridgetower tokenize: unknown option '%s' (use -- before "
          "texts that start with '-')\n", arg);
      return 2;
    } else if (!dir) {
      dir = arg;
    } else {
      g_ptr_array_add (texts, (gpointer) arg);
    }
  }
  if (!dir || texts->len == 0) {
    usage (stderr);
    return 2;
  }

  g_autoptr (GError) error = NULL;
  g_autoptr (BtTokenizer) tok = bt_tokenizer_load (dir, &error);
  if (!tok) {
    fprintf (stderr, "bridgetower tokenize: %s\n", error->message);
    return 1;
  }
  BtTokenBatch batch;
  if (!bt_tokenizer_encode_batch (tok, (const char *const *) texts->pdata,
          (int) texts->len, add_special, max_length, &batch, &error)) {
    fprintf (stderr, "bridgetower tokenize: %s\n", error->message);
    return 1;
  }
  g_autoptr (GString) out = g_string_new ("{\"input_ids\": ");
  print_rows (out, batch.input_ids, &batch);
  g_string_append (out, ", \"attention_mask\": ");
  print_rows (out, batch.attention_mask, &batch);
  g_string_append (out, "}\n");
  bt_token_batch_clear (&batch);
  fwrite (out->str, 1, out->len, stdout);
  return fflush (stdout) == 0 ? 0 : 1;
}
