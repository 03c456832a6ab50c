/* bt-inventory.c - the state_dict names and shapes HF's BridgeTower classes
 * carry, and which of them a forward pass reads.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-inventory.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BT_HEAD_ALL (BT_HEAD_ITM | BT_HEAD_MLM | BT_HEAD_ITC)
#define BASE_PREFIX "bridgetower."

static void
spec_free (gpointer data)
{
  BtTensorSpec *spec = data;

  g_free (spec->name);
  g_free (spec);
}

typedef struct {
  GPtrArray *specs;
  const char *prefix;          /* "" or BASE_PREFIX */
} Table;

static void
add_shape (Table *t, const char *name, int ndim, const gint64 *shape)
{
  BtTensorSpec *spec = g_new0 (BtTensorSpec, 1);

  spec->name = g_strconcat (t->prefix, name, NULL);
  spec->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    spec->shape[i] = shape[i];
  g_ptr_array_add (t->specs, spec);
}

/* Linear layer: weight [out, in], bias [out]. */
static void
add_linear (Table *t, const char *name, gint64 out, gint64 in)
{
  g_autofree char *w = g_strconcat (name, ".weight", NULL);
  g_autofree char *b = g_strconcat (name, ".bias", NULL);
  gint64 ws[2] = { out, in };

  add_shape (t, w, 2, ws);
  add_shape (t, b, 1, &out);
}

static void
add_layernorm (Table *t, const char *name, gint64 width)
{
  g_autofree char *w = g_strconcat (name, ".weight", NULL);
  g_autofree char *b = g_strconcat (name, ".bias", NULL);

  add_shape (t, w, 1, &width);
  add_shape (t, b, 1, &width);
}

static void
add_vector (Table *t, const char *name, gint64 n)
{
  add_shape (t, name, 1, &n);
}

static void
add_matrix (Table *t, const char *name, gint64 rows, gint64 cols)
{
  gint64 shape[2] = { rows, cols };

  add_shape (t, name, 2, shape);
}

/* A BERT attention block: `kind` is "attention" or "crossattention". */
static void
add_attention (Table *t, const char *layer, const char *kind, gint64 h)
{
  g_autofree char *q = g_strdup_printf ("%s.%s.self.query", layer, kind);
  g_autofree char *k = g_strdup_printf ("%s.%s.self.key", layer, kind);
  g_autofree char *v = g_strdup_printf ("%s.%s.self.value", layer, kind);
  g_autofree char *o = g_strdup_printf ("%s.%s.output.dense", layer, kind);
  g_autofree char *ln = g_strdup_printf ("%s.%s.output.LayerNorm", layer, kind);

  add_linear (t, q, h, h);
  add_linear (t, k, h, h);
  add_linear (t, v, h, h);
  add_linear (t, o, h, h);
  add_layernorm (t, ln, h);
}

/* RoBERTa layer (text tower) or BridgeTowerBertCrossLayer (cross-modal):
 * both are built from text_config. */
static void
add_bert_layer (Table *t, const char *layer, gboolean cross,
                const BtTextConfig *text)
{
  gint64 h = text->hidden_size, i = text->intermediate_size;
  g_autofree char *inter = g_strconcat (layer, ".intermediate.dense", NULL);
  g_autofree char *out = g_strconcat (layer, ".output.dense", NULL);
  g_autofree char *out_ln = g_strconcat (layer, ".output.LayerNorm", NULL);

  add_attention (t, layer, "attention", h);
  if (cross)
    add_attention (t, layer, "crossattention", h);
  add_linear (t, inter, i, h);
  add_linear (t, out, h, i);
  add_layernorm (t, out_ln, h);
}

static void
add_text_tower (Table *t, const BtConfig *c)
{
  const BtTextConfig *text = &c->text;

  add_matrix (t, "text_model.embeddings.word_embeddings.weight",
              text->vocab_size, text->hidden_size);
  add_matrix (t, "text_model.embeddings.position_embeddings.weight",
              text->max_position_embeddings, text->hidden_size);
  add_matrix (t, "text_model.embeddings.token_type_embeddings.weight",
              text->type_vocab_size, text->hidden_size);
  add_layernorm (t, "text_model.embeddings.LayerNorm", text->hidden_size);
  for (int l = 0; l < text->num_hidden_layers; l++) {
    g_autofree char *layer = g_strdup_printf ("text_model.encoder.layer.%d", l);

    add_bert_layer (t, layer, FALSE, text);
  }
}

/* Vision blocks at index >= the text depth never run. */
static void
add_vision_tower (Table *t, const BtConfig *c)
{
  const BtVisionConfig *v = &c->vision;
  gint64 w = v->hidden_size;
  gint64 grid = v->image_size / v->patch_size;
  gint64 patch[4] = { w, v->num_channels, v->patch_size, v->patch_size };

  add_vector (t, "vision_model.visual.embeddings.class_embedding", w);
  add_shape (t, "vision_model.visual.embeddings.patch_embedding.weight", 4,
             patch);
  add_matrix (t, "vision_model.visual.embeddings.position_embedding.weight",
              grid * grid + 1, w);
  add_layernorm (t, "vision_model.visual.ln_pre", w);
  for (int b = 0; b < c->text.num_hidden_layers; b++) {
    g_autofree char *blk =
        g_strdup_printf ("vision_model.visual.transformer.resblocks.%d", b);
    g_autofree char *in_w = g_strconcat (blk, ".attn.in_proj_weight", NULL);
    g_autofree char *in_b = g_strconcat (blk, ".attn.in_proj_bias", NULL);
    g_autofree char *out = g_strconcat (blk, ".attn.out_proj", NULL);
    g_autofree char *ln1 = g_strconcat (blk, ".ln_1", NULL);
    g_autofree char *ln2 = g_strconcat (blk, ".ln_2", NULL);
    g_autofree char *fc = g_strconcat (blk, ".mlp.c_fc", NULL);
    g_autofree char *proj = g_strconcat (blk, ".mlp.c_proj", NULL);

    add_matrix (t, in_w, 3 * w, w);
    add_vector (t, in_b, 3 * w);
    add_linear (t, out, w, w);
    add_layernorm (t, ln1, w);
    add_layernorm (t, ln2, w);
    add_linear (t, fc, 4 * w, w);
    add_linear (t, proj, w, 4 * w);
  }
  add_layernorm (t, "vision_model.visual.ln_post", w);
}

static const char *
link_parameter (BtLinkTowerType type)
{
  switch (type) {
    case BT_LINK_SCALED_ADD:
      return "scaled_factor";
    case BT_LINK_INTERPOLATE:
      return "beta";
    case BT_LINK_ADD:
      break;
  }
  return NULL;
}

/* One link tower per bridged layer (cross layers 1 .. C-1). Shared link
 * towers only validate with one cross layer, where no link runs. */
static void
add_link_towers (Table *t, const BtConfig *c, const char *side)
{
  const char *param = link_parameter (c->link_tower_type);

  if (c->share_link_tower_layers)
    return;
  for (int k = 0; k < c->num_hidden_layers - 1; k++) {
    g_autofree char *ln =
        g_strdup_printf ("cross_modal_%s_link_tower.%d.LayerNorm", side, k);

    add_layernorm (t, ln, c->hidden_size);
    if (param != NULL) {
      g_autofree char *p =
          g_strdup_printf ("cross_modal_%s_link_tower.%d.%s", side, k, param);

      add_shape (t, p, 0, NULL);
    }
  }
}

static void
add_cross_modal (Table *t, const BtConfig *c)
{
  gint64 h = c->hidden_size;

  add_linear (t, "cross_modal_text_transform", h, c->text.hidden_size);
  add_linear (t, "cross_modal_image_transform", h, c->vision.hidden_size);
  add_matrix (t, "token_type_embeddings.weight", 2, h);
  add_layernorm (t, "cross_modal_text_layernorm", h);
  add_layernorm (t, "cross_modal_image_layernorm", h);
  for (int l = 0; l < c->num_hidden_layers; l++) {
    g_autofree char *text = g_strdup_printf ("cross_modal_text_layers.%d", l);
    g_autofree char *image = g_strdup_printf ("cross_modal_image_layers.%d", l);

    add_bert_layer (t, text, TRUE, &c->text);
    add_bert_layer (t, image, TRUE, &c->text);
  }
  add_link_towers (t, c, "text");
  add_link_towers (t, c, "image");
  add_linear (t, "cross_modal_text_pooler.dense", h, h);
  add_linear (t, "cross_modal_image_pooler.dense", h, h);
}

static void
add_heads (Table *t, const BtConfig *c, BtHeads heads)
{
  gint64 h = c->hidden_size, d = c->contrastive_hidden_size;

  t->prefix = "";
  if (heads & BT_HEAD_ITM)
    add_linear (t, "itm_score.fc", 2, 2 * h);
  if (heads & BT_HEAD_MLM) {
    add_linear (t, "mlm_score.transform.dense", h, h);
    add_layernorm (t, "mlm_score.transform.LayerNorm", h);
    /* tied: the decoder is the word embedding matrix */
    if (!c->tie_word_embeddings)
      add_matrix (t, "mlm_score.decoder.weight", c->text.vocab_size, h);
    add_vector (t, "mlm_score.bias", c->text.vocab_size);
  }
  if (heads & BT_HEAD_ITC) {
    add_linear (t, "itc_text_head.fc", d, h);
    add_linear (t, "itc_image_head.fc", d, h);
    add_linear (t, "itc_cross_modal_head.fc", d, 2 * h);
    add_shape (t, "logit_scale", 0, NULL);
  }
}

static GPtrArray *
build_table (const BtConfig *config, BtHeads heads, const char *prefix)
{
  Table t;

  t.specs = g_ptr_array_new_with_free_func (spec_free);
  t.prefix = prefix;
  add_text_tower (&t, config);
  add_vision_tower (&t, config);
  add_cross_modal (&t, config);
  add_heads (&t, config, heads);
  return t.specs;
}

GPtrArray *
bt_inventory_build (const BtConfig *config, BtHeads heads)
{
  g_return_val_if_fail (config != NULL, NULL);

  return build_table (config, heads, heads == BT_HEAD_NONE ? "" : BASE_PREFIX);
}

/* ---- names no forward pass reads ---------------------------------------- */

/* "<digits>." at `s`: the index, and `*rest` after the dot; -1 otherwise. */
static long
parse_index (const char *s, const char **rest)
{
  char *end;
  long v;

  if (!g_ascii_isdigit (*s))
    return -1;
  v = strtol (s, &end, 10);
  if (*end != '.' || v > G_MAXINT)
    return -1;
  *rest = end + 1;
  return v;
}

static gboolean
is_one_of (const char *s, ...)
{
  va_list ap;
  const char *candidate;
  gboolean found = FALSE;

  va_start (ap, s);
  while (!found && (candidate = va_arg (ap, const char *)) != NULL)
    found = strcmp (s, candidate) == 0;
  va_end (ap);
  return found;
}

static gboolean
is_vision_block_parameter (const char *rest)
{
  return is_one_of (rest, "attn.in_proj_weight", "attn.in_proj_bias",
                    "attn.out_proj.weight", "attn.out_proj.bias",
                    "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias",
                    "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
                    "mlp.c_proj.bias", NULL);
}

static gboolean
is_link_parameter (const BtConfig *c, const char *rest)
{
  const char *param = link_parameter (c->link_tower_type);

  return is_one_of (rest, "LayerNorm.weight", "LayerNorm.bias", NULL) ||
      (param != NULL && strcmp (rest, param) == 0);
}

gboolean
bt_inventory_is_ignored (const BtConfig *config, const char *name)
{
  const char *n, *rest;
  long i;

  g_return_val_if_fail (config != NULL && name != NULL, FALSE);

  n = g_str_has_prefix (name, BASE_PREFIX) ? name + strlen (BASE_PREFIX)
      : name;

  /* buffers (non-persistent upstream; 4.27-era files carry them) */
  if (is_one_of (n, "text_model.embeddings.position_ids",
                 "text_model.embeddings.token_type_ids",
                 "vision_model.visual.embeddings.position_ids", NULL))
    return TRUE;

  if (is_one_of (n, "text_model.pooler.dense.weight",
                 "text_model.pooler.dense.bias", NULL))
    return TRUE;

  /* ln_separate (share_layernorm = false): one per vision layer, unused */
  if (!config->vision.share_layernorm &&
      g_str_has_prefix (n, "vision_model.visual.ln_separate.") &&
      (i = parse_index (n + strlen ("vision_model.visual.ln_separate."),
                        &rest)) >= 0 &&
      i < config->vision.num_hidden_layers &&
      is_one_of (rest, "weight", "bias", NULL))
    return TRUE;

  /* vision blocks past the text depth */
  if (g_str_has_prefix (n, "vision_model.visual.transformer.resblocks.") &&
      (i = parse_index (n + strlen ("vision_model.visual.transformer."
                                    "resblocks."), &rest)) >= 0 &&
      i >= config->text.num_hidden_layers &&
      i < bt_config_vision_blocks (config) &&
      is_vision_block_parameter (rest))
    return TRUE;

  /* shared link towers (valid only with one cross layer: never run) */
  if (config->share_link_tower_layers &&
      ((g_str_has_prefix (n, "cross_modal_text_link_tower.") &&
        is_link_parameter (config, n + strlen ("cross_modal_text_link_tower."))) ||
       (g_str_has_prefix (n, "cross_modal_image_link_tower.") &&
        is_link_parameter (config,
                           n + strlen ("cross_modal_image_link_tower.")))))
    return TRUE;

  /* tied decoder: HF overwrites it with the word embeddings */
  if (config->tie_word_embeddings && strcmp (n, "mlm_score.decoder.weight") == 0)
    return TRUE;

  return FALSE;
}

/* ---- detection and the check --------------------------------------------- */

static gboolean
all_present (const GPtrArray *specs, const BtCheckpoint *ckpt)
{
  for (guint i = 0; i < specs->len; i++) {
    const BtTensorSpec *spec = g_ptr_array_index (specs, i);

    if (bt_checkpoint_lookup_raw (ckpt, spec->name) == NULL)
      return FALSE;
  }
  return TRUE;
}

static GPtrArray *
head_only (const BtConfig *config, BtHeads head)
{
  Table t;

  t.specs = g_ptr_array_new_with_free_func (spec_free);
  add_heads (&t, config, head);
  return t.specs;
}

static gboolean
has_prefixed_names (const BtCheckpoint *ckpt)
{
  for (guint i = 0; i < bt_checkpoint_n_tensors (ckpt); i++)
    if (g_str_has_prefix (bt_checkpoint_nth_name (ckpt, i), BASE_PREFIX))
      return TRUE;
  return FALSE;
}

BtHeads
bt_inventory_detect_heads (const BtConfig *config, const BtCheckpoint *ckpt)
{
  static const BtHeads each[] = { BT_HEAD_ITM, BT_HEAD_MLM, BT_HEAD_ITC };
  BtHeads found = BT_HEAD_NONE;

  g_return_val_if_fail (config != NULL && ckpt != NULL, BT_HEAD_NONE);

  for (guint i = 0; i < G_N_ELEMENTS (each); i++) {
    g_autoptr (GPtrArray) specs = head_only (config, each[i]);

    if (all_present (specs, ckpt))
      found |= each[i];
  }
  /* A head checkpoint whose head tensors are damaged: take the classes it
   * says it was saved from, so the check names what is missing rather than
   * the whole prefixed model. */
  if (found == BT_HEAD_NONE && has_prefixed_names (ckpt))
    found = config->architectures;
  return found;
}

static gboolean
shape_matches (const BtTensorSpec *spec, const BtTensor *t)
{
  if (spec->ndim != t->ndim)
    return FALSE;
  for (int i = 0; i < spec->ndim; i++)
    if (spec->shape[i] != t->shape[i])
      return FALSE;
  return TRUE;
}

static gboolean
is_float_dtype (BtDType d)
{
  return d == BT_DTYPE_F32 || d == BT_DTYPE_F16 || d == BT_DTYPE_BF16 ||
      d == BT_DTYPE_F64 || d == BT_DTYPE_F8_E4M3 || d == BT_DTYPE_F8_E5M2;
}

static char *
spec_shape_string (const BtTensorSpec *spec)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < spec->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                            spec->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static char *
heads_description (BtHeads heads)
{
  GString *s = g_string_new (NULL);

  if (heads == BT_HEAD_NONE)
    g_string_append (s, "the bare model");
  if (heads & BT_HEAD_ITM)
    g_string_append (s, "itm");
  if (heads & BT_HEAD_MLM)
    g_string_append_printf (s, "%smlm", s->len ? "+" : "");
  if (heads & BT_HEAD_ITC)
    g_string_append_printf (s, "%sitc", s->len ? "+" : "");
  return g_string_free (s, FALSE);
}

gboolean
bt_inventory_check (const BtConfig *config, BtHeads heads,
                    const BtCheckpoint *ckpt, GPtrArray *unknown,
                    GError **error)
{
  g_autoptr (GPtrArray) required = NULL;
  g_autoptr (GPtrArray) known = NULL;
  g_autoptr (GHashTable) known_names = NULL;
  g_autoptr (GString) missing = g_string_new (NULL);
  g_autoptr (GString) misshaped = g_string_new (NULL);
  g_autoptr (GString) not_float = g_string_new (NULL);
  g_autofree char *what = NULL;
  guint n_missing = 0, n_misshaped = 0, n_not_float = 0;
  const char *path;

  g_return_val_if_fail (config != NULL && ckpt != NULL, FALSE);

  path = bt_checkpoint_get_path (ckpt);
  what = heads_description (heads);

  /* the ITC image embedding adds a hidden_size token type to a
   * vision-width tensor */
  if ((heads & BT_HEAD_ITC) &&
      config->vision.hidden_size != config->hidden_size) {
    g_set_error (error, BT_ERROR, BT_ERROR_CONFIG,
                 "%s: the itc head needs vision_config.hidden_size (%d) == "
                 "hidden_size (%d)", path, config->vision.hidden_size,
                 config->hidden_size);
    return FALSE;
  }

  /* The bare model asked of a head checkpoint reads the prefixed names, as
   * HF's BridgeTowerModel.from_pretrained strips the prefix. */
  gboolean prefixed = heads != BT_HEAD_NONE || has_prefixed_names (ckpt);
  const char *prefix = prefixed ? BASE_PREFIX : "";

  required = build_table (config, heads, prefix);
  for (guint i = 0; i < required->len; i++) {
    const BtTensorSpec *spec = g_ptr_array_index (required, i);
    const BtTensor *t = bt_checkpoint_lookup_raw (ckpt, spec->name);

    if (t == NULL) {
      g_string_append_printf (missing, "%s%s", n_missing ? ", " : "",
                              spec->name);
      n_missing++;
    } else if (!shape_matches (spec, t)) {
      g_autofree char *has = bt_tensor_shape_string (t);
      g_autofree char *want = spec_shape_string (spec);

      g_string_append_printf (misshaped, "%s%s is %s, expected %s",
                              n_misshaped ? "; " : "", spec->name, has, want);
      n_misshaped++;
    } else if (!is_float_dtype (t->dtype)) {
      g_string_append_printf (not_float, "%s%s (%s)",
                              n_not_float ? ", " : "", spec->name,
                              bt_dtype_name (t->dtype));
      n_not_float++;
    }
  }

  if (n_missing > 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_MISSING_TENSOR,
                 "%s: %u tensor%s that %s needs %s missing: %s", path,
                 n_missing, n_missing == 1 ? "" : "s", what,
                 n_missing == 1 ? "is" : "are", missing->str);
    return FALSE;
  }
  if (n_misshaped > 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_SHAPE,
                 "%s: %u tensor%s of the wrong shape for config.json: %s",
                 path, n_misshaped, n_misshaped == 1 ? "" : "s",
                 misshaped->str);
    return FALSE;
  }
  if (n_not_float > 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_DTYPE,
                 "%s: %u weight%s not floating point: %s", path, n_not_float,
                 n_not_float == 1 ? "" : "s", not_float->str);
    return FALSE;
  }

  if (unknown == NULL)
    return TRUE;

  /* Names any head of this architecture carries are known: a checkpoint
   * with several heads serves each of them. */
  known = build_table (config, prefixed ? BT_HEAD_ALL : BT_HEAD_NONE, prefix);
  known_names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < known->len; i++)
    g_hash_table_add (known_names,
                      ((BtTensorSpec *) g_ptr_array_index (known, i))->name);
  for (guint i = 0; i < bt_checkpoint_n_tensors (ckpt); i++) {
    const char *name = bt_checkpoint_nth_name (ckpt, i);

    if (!g_hash_table_contains (known_names, name) &&
        !bt_inventory_is_ignored (config, name))
      g_ptr_array_add (unknown, g_strdup (name));
  }
  return TRUE;
}
