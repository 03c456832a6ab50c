/* cmd-inspect.c - `bridgetower inspect MODEL_DIR`: what a model folder holds
 * and whether it can run.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"

#include "bt-inventory.h"
#include "bt-json.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static const char *
link_name (BtLinkTowerType type)
{
  switch (type) {
    case BT_LINK_SCALED_ADD:
      return "scaled_add";
    case BT_LINK_INTERPOLATE:
      return "interpolate";
    case BT_LINK_ADD:
      break;
  }
  return "add";
}

static char *
heads_string (BtHeads heads)
{
  GString *s = g_string_new (NULL);

  if (heads & BT_HEAD_ITM)
    g_string_append (s, "itm");
  if (heads & BT_HEAD_MLM)
    g_string_append_printf (s, "%smlm", s->len ? "," : "");
  if (heads & BT_HEAD_ITC)
    g_string_append_printf (s, "%sitc", s->len ? "," : "");
  if (s->len == 0)
    g_string_append (s, "base");
  return g_string_free (s, FALSE);
}

static gboolean
parse_heads (const char *list, BtHeads *heads, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (list, ",", -1);

  *heads = BT_HEAD_NONE;
  for (guint i = 0; parts[i] != NULL; i++) {
    const char *p = g_strstrip (parts[i]);

    if (strcmp (p, "itm") == 0)
      *heads |= BT_HEAD_ITM;
    else if (strcmp (p, "mlm") == 0)
      *heads |= BT_HEAD_MLM;
    else if (strcmp (p, "itc") == 0)
      *heads |= BT_HEAD_ITC;
    else if (strcmp (p, "base") != 0) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "unknown head '%s' (base, itm, mlm, itc)", p);
      return FALSE;
    }
  }
  return TRUE;
}

/* What was learned about the folder, printed as text or JSON. */
typedef struct {
  const char *dir;
  gboolean have_config;
  BtConfig config;
  BtCheckpoint *ckpt;
  BtHeads heads;
  gboolean heads_asked;
  guint n_tensors;
  guint64 n_bytes;
  guint count[BT_N_DTYPES];
  guint64 bytes[BT_N_DTYPES];
  guint n_required;
  guint n_ignored;
  GPtrArray *unknown;
  gboolean processor_checked;  /* tokenizer and image settings read */
  gboolean has_image_config;   /* preprocessor_config.json is there */
  GError *error;               /* the verdict: NULL when the folder is OK */
} Report;

static void
count_tensors (Report *r)
{
  r->n_tensors = bt_checkpoint_n_tensors (r->ckpt);
  for (guint i = 0; i < r->n_tensors; i++) {
    const char *name = bt_checkpoint_nth_name (r->ckpt, i);
    const BtTensor *t = bt_checkpoint_lookup_raw (r->ckpt, name);
    gsize nbytes = bt_tensor_nbytes (t);

    r->count[t->dtype]++;
    r->bytes[t->dtype] += nbytes;
    r->n_bytes += nbytes;
    if (bt_inventory_is_ignored (&r->config, name))
      r->n_ignored++;
  }
}

static void
inspect (Report *r)
{
  g_autoptr (GPtrArray) required = NULL;

  if (!bt_config_load (&r->config, r->dir, &r->error))
    return;
  r->have_config = TRUE;
  r->ckpt = bt_checkpoint_open (r->dir, &r->error);
  if (r->ckpt == NULL)
    return;
  count_tensors (r);
  if (!r->heads_asked)
    r->heads = bt_inventory_detect_heads (&r->config, r->ckpt);
  required = bt_inventory_build (&r->config, r->heads);
  r->n_required = required->len;
  if (!bt_inventory_check (&r->config, r->heads, r->ckpt, r->unknown,
                           &r->error))
    return;
  /* the elements need these too: a folder without them fails at start */
  r->processor_checked = bt_model_check_processor_files (r->dir,
      &r->has_image_config, &r->error);
}

static void
print_text (const Report *r)
{
  const BtConfig *c = &r->config;
  g_autofree char *heads = heads_string (r->heads);

  printf ("model      %s\n", r->dir);
  if (r->have_config) {
    g_autofree char *arch = heads_string (c->architectures);

    printf ("text       %d layers, hidden %d, %d heads, intermediate %d, "
            "vocab %d, %d positions, eps %g\n",
            c->text.num_hidden_layers, c->text.hidden_size,
            c->text.num_attention_heads, c->text.intermediate_size,
            c->text.vocab_size, c->text.max_position_embeddings,
            c->text.layer_norm_eps);
    printf ("vision     %d layers (%d blocks, %d run), hidden %d, heads %d, "
            "patch %d, image %d, eps %g%s\n",
            c->vision.num_hidden_layers, bt_config_vision_blocks (c),
            c->text.num_hidden_layers, c->vision.hidden_size,
            bt_config_vision_heads (c), c->vision.patch_size,
            c->vision.image_size, c->vision.layer_norm_eps,
            c->vision.share_layernorm ? "" : ", separate layernorms");
    printf ("cross      %d layers on text/vision layers %d..%d, hidden %d, "
            "link %s%s, eps %g\n",
            c->num_hidden_layers, bt_config_split_layer (c),
            c->text.num_hidden_layers, c->hidden_size,
            link_name (c->link_tower_type),
            c->share_link_tower_layers ? " (shared)" : "", c->layer_norm_eps);
    if (c->architectures & BT_HEAD_ITC)
      printf ("contrast   %d\n", c->contrastive_hidden_size);
    printf ("classes    %s (architectures)\n", arch);
  }
  if (r->ckpt != NULL) {
    printf ("weights    %s\n", bt_checkpoint_get_path (r->ckpt));
    printf ("tensors    %u, %" G_GUINT64_FORMAT " bytes\n", r->n_tensors,
            r->n_bytes);
    for (int d = 0; d < BT_N_DTYPES; d++)
      if (r->count[d] > 0)
        printf ("  %-8s %u tensors, %" G_GUINT64_FORMAT " bytes\n",
                bt_dtype_name ((BtDType) d), r->count[d], r->bytes[d]);
    printf ("heads      %s (%s)\n", heads,
            r->heads_asked ? "asked for" : "detected");
    printf ("needed     %u tensors; %u ignored (never read)\n",
            r->n_required, r->n_ignored);
    if (r->unknown->len > 0)
      printf ("unknown    %u names the architecture does not have (warning)\n",
              r->unknown->len);
  }
  if (r->processor_checked) {
    printf ("tokenizer  ok\n");
    if (r->has_image_config)
      printf ("images     preprocessor_config.json\n");
    else
      printf ("images     no preprocessor_config.json: the image processor's "
              "defaults, size %d (warning)\n", c->vision.image_size);
  }
  printf ("verdict    %s\n", r->error == NULL ? "OK" : "FAILED");
}

static void
print_json (const Report *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *out = NULL;
  const BtConfig *c = &r->config;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, r->dir);
  if (r->have_config) {
    g_autofree char *arch = heads_string (c->architectures);

    json_builder_set_member_name (b, "config");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "text_layers");
    json_builder_add_int_value (b, c->text.num_hidden_layers);
    json_builder_set_member_name (b, "text_hidden_size");
    json_builder_add_int_value (b, c->text.hidden_size);
    json_builder_set_member_name (b, "vision_layers");
    json_builder_add_int_value (b, c->vision.num_hidden_layers);
    json_builder_set_member_name (b, "vision_hidden_size");
    json_builder_add_int_value (b, c->vision.hidden_size);
    json_builder_set_member_name (b, "image_size");
    json_builder_add_int_value (b, c->vision.image_size);
    json_builder_set_member_name (b, "patch_size");
    json_builder_add_int_value (b, c->vision.patch_size);
    json_builder_set_member_name (b, "cross_layers");
    json_builder_add_int_value (b, c->num_hidden_layers);
    json_builder_set_member_name (b, "hidden_size");
    json_builder_add_int_value (b, c->hidden_size);
    json_builder_set_member_name (b, "link_tower_type");
    json_builder_add_string_value (b, link_name (c->link_tower_type));
    json_builder_set_member_name (b, "architectures");
    json_builder_add_string_value (b, arch);
    json_builder_end_object (b);
  }
  if (r->ckpt != NULL) {
    g_autofree char *heads = heads_string (r->heads);

    json_builder_set_member_name (b, "weights");
    json_builder_add_string_value (b, bt_checkpoint_get_path (r->ckpt));
    json_builder_set_member_name (b, "heads");
    json_builder_add_string_value (b, heads);
    json_builder_set_member_name (b, "tensors");
    json_builder_add_int_value (b, r->n_tensors);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, (gint64) r->n_bytes);
    json_builder_set_member_name (b, "dtypes");
    json_builder_begin_object (b);
    for (int d = 0; d < BT_N_DTYPES; d++) {
      if (r->count[d] == 0)
        continue;
      json_builder_set_member_name (b, bt_dtype_name ((BtDType) d));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, r->count[d]);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, (gint64) r->bytes[d]);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "needed");
    json_builder_add_int_value (b, r->n_required);
    json_builder_set_member_name (b, "ignored");
    json_builder_add_int_value (b, r->n_ignored);
    json_builder_set_member_name (b, "unknown");
    json_builder_begin_array (b);
    for (guint i = 0; i < r->unknown->len; i++)
      json_builder_add_string_value (b, g_ptr_array_index (r->unknown, i));
    json_builder_end_array (b);
  }
  if (r->processor_checked) {
    json_builder_set_member_name (b, "preprocessor_config");
    json_builder_add_boolean_value (b, r->has_image_config);
  }
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, r->error == NULL);
  if (r->error != NULL) {
    json_builder_set_member_name (b, "error");
    json_builder_add_string_value (b, r->error->message);
  }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  out = bt_json_to_string (root, TRUE);
  printf ("%s\n", out);
}

int
bt_cmd_inspect (int argc, char **argv)
{
  gboolean as_json = FALSE;
  g_autofree char *heads_arg = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json,
      "Print the report as JSON", NULL },
    { "heads", 0, 0, G_OPTION_ARG_STRING, &heads_arg,
      "Check for these heads instead of detecting them "
      "(comma-separated: base, itm, mlm, itc)", "LIST" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL_DIR");
  g_autoptr (GError) error = NULL;
  Report r;
  int status;

  g_option_context_set_summary (ctx,
      "Reads config.json and the weights of a BridgeTower model folder;\n"
      "prints the config, the heads, the tensors by dtype, names the model\n"
      "does not know (a warning) and whether every tensor the forward pass\n"
      "needs is there with the right shape, and whether the tokenizer loads\n"
      "(preprocessor_config.json missing is a warning). Exit status 0 when\n"
      "the folder can run.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_set_prgname ("bridgetower inspect");
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bridgetower inspect: %s\n", error->message);
    return 2;
  }
  bt_cmd_drop_separator (&argc, argv);
  if (argc != 2) {
    fprintf (stderr, "usage: bridgetower inspect [--json] [--heads LIST] "
             "MODEL_DIR\n");
    return 2;
  }

  memset (&r, 0, sizeof r);
  r.dir = argv[1];
  r.unknown = g_ptr_array_new_with_free_func (g_free);
  if (heads_arg != NULL) {
    if (!parse_heads (heads_arg, &r.heads, &error)) {
      fprintf (stderr, "bridgetower inspect: %s\n", error->message);
      g_ptr_array_unref (r.unknown);
      return 2;
    }
    r.heads_asked = TRUE;
  }

  inspect (&r);
  if (as_json)
    print_json (&r);
  else
    print_text (&r);

  for (guint i = 0; i < r.unknown->len; i++)
    fprintf (stderr, "warning: %s: unknown tensor %s (not used)\n",
             r.dir, (const char *) g_ptr_array_index (r.unknown, i));
  if (r.processor_checked && !r.has_image_config)
    fprintf (stderr, "warning: %s: no preprocessor_config.json: "
             "BridgeTowerImageProcessor's defaults are used, sized to "
             "config.json's image_size\n", r.dir);
  status = 0;
  if (r.error != NULL) {
    fprintf (stderr, "bridgetower inspect: %s\n", r.error->message);
    g_error_free (r.error);
    status = 1;
  }
  g_clear_pointer (&r.ckpt, bt_checkpoint_free);
  g_ptr_array_unref (r.unknown);
  return status;
}
