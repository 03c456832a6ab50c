/* bt-cmd-util.h - what the model subcommands (run, itm, itc, mlm) share:
 * option parsing, model and image loading, head names, error and JSON
 * output. Private to the `bridgetower` command.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include "bridgetower.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Parses the options of `command` (argv[0] is the subcommand) in any order,
 * plus --precision, common to all model commands;
 * what remains in *argc / *argv are the positional arguments (argv[0] kept).
 * --help prints the usage and exits 0. On a bad option prints the reason
 * and returns FALSE. */
gboolean bt_cmd_parse_options (const char *command, const char *parameters,
                               const char *summary, const char *description,
                               const GOptionEntry *entries, int *argc,
                               char ***argv);

/* GOption stops at "--" but leaves it in argv: removes that first "--" so
 * that it ends the options instead of becoming a positional argument. */
void bt_cmd_drop_separator (int *argc, char **argv);

/* "bridgetower COMMAND: message" on stderr. */
void bt_cmd_print_error (const char *command, const char *format, ...)
  G_GNUC_PRINTF (2, 3);

/* Prints `error` for `command` and returns the failure exit status. */
int bt_cmd_fail (const char *command, GError *error);

/* "base" / "itm" / "mlm" / "itc" <-> BtHeads. */
gboolean bt_cmd_head_from_name (const char *name, BtHeads *head);
const char *bt_cmd_head_name (BtHeads head);

/* The --precision asked for: "fp32" (the default) or what was given. */
const char *bt_cmd_get_precision_name (void);

/* Loads a model folder in the --precision asked for (fp32 by default). */
BtModel *bt_cmd_load_model (const char *dir, GError **error);

/* BT_ERROR_NO_HEAD naming the folder when the checkpoint lacks `head`
 * (BT_HEAD_NONE, the bare model, is always there). */
gboolean bt_cmd_require_head (BtModel *model, BtHeads head, GError **error);

/* The model's tokenizer, or BT_ERROR_IO naming the folder without one. */
BtTokenizer *bt_cmd_require_tokenizer (BtModel *model, GError **error);

/* Reads image files and processes them as BridgeTowerProcessor does for the
 * model (center crop and normalisation forced on, batch padding). Adds
 * "pixel_values" (F32, n x 3 x H x W) and "pixel_mask" (I64) to `out`. */
gboolean bt_cmd_process_images (BtModel *model, const char *const *paths,
                                int n, BtTensorSet *out, GError **error);

/* One image file through the processor and the vision tower. */
BtImageFeatures *bt_cmd_encode_image_file (BtContext *ctx, const char *path,
                                           GError **error);

/* Tokenizes `text` (<s> ... </s>) and runs the text tower. Truncates to
 * `max_length` tokens when > 0; otherwise only to the longest text the
 * position table holds (HF's examples do not truncate). The ids go to `ids`
 * when not NULL. */
BtTextFeatures *bt_cmd_encode_text (BtContext *ctx, const char *text,
                                    int max_length, GArray *ids,
                                    GError **error);

/* softmax of `n` values into `out` (double precision). */
void bt_cmd_softmax (const double *x, int n, double *out);

/* Parses the options of the commands that score one image against texts
 * (--max-length, --json) and checks for MODEL_DIR IMAGE TEXT...; on FALSE
 * the reason is printed. */
gboolean bt_cmd_parse_image_texts (const char *command, const char *summary,
                                   const char *description, int *argc,
                                   char ***argv, int *max_length,
                                   gboolean *json);

/* A builder with the result object begun and its "model" and "image"
 * members set. */
JsonBuilder *bt_cmd_json_begin_result (const char *dir, const char *image);

/* Ends the builder's root value and prints it, pretty, on stdout. */
void bt_cmd_print_json (JsonBuilder *builder);

G_END_DECLS
