/* bt-model.c - loading a model folder (or building random weights of the
 * same shapes) and binding every weight the forward pass reads by name.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include "bt-inventory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef enum {
  INIT_NORMAL,                 /* linear weights and embeddings */
  INIT_ZERO,                   /* biases */
  INIT_ONE,                    /* LayerNorm weights */
} BtInit;

/* Binds weights by their state_dict name, with the shape the inventory
 * gives that name (bt-inventory.c is the one table of names and shapes): from
 * the checkpoint, or as fresh random buffers. A name missing from the table
 * is a bug reported as an error, not a crash. */
typedef struct {
  BtModel *model;
  const char *prefix;          /* "bridgetower." with heads, "" bare */
  guint64 rng;                 /* random mode when ckpt is NULL */
  GHashTable *specs;           /* name -> BtTensorSpec of the inventory */
  GString *problems;           /* missing / mis-shaped names */
  GError *error;               /* load mode: first hard error */
} Binder;

#define HUGE_PAGE ((gsize) 2 << 20)

static guint64
next_random (guint64 *state)
{
  /* splitmix64: fast, and good enough for weights */
  guint64 z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static float *
random_tensor (Binder *b, BtInit init, float scalar, gint64 numel)
{
  /* large tensors on transparent huge pages: first-touch page faults
   * are what makes building the base model slow on a VM */
  const gsize bytes = sizeof (float) * MAX (numel, 1);
  const gsize align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
  float *data = g_aligned_alloc (MAX (numel, 1), sizeof (float), align);
  if (align == HUGE_PAGE)
    madvise (data, bytes, MADV_HUGEPAGE);
  g_ptr_array_add (b->model->owned, data);
  if (numel == 0) {
    data[0] = scalar;
  } else if (init == INIT_NORMAL) {
    /* uniform with standard deviation 0.02; a 32-bit xorshift per
     * tensor (seeded from the model's stream) keeps the base model's
     * 300M values to a second or so */
    const float scale = (float) (0.02 * sqrt (3.0) / 2147483648.0);
    guint32 x = (guint32) next_random (&b->rng) | 1u;
    for (gint64 i = 0; i < numel; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      data[i] = (float) (gint32) x * scale;
    }
  } else {
    for (gint64 i = 0; i < numel; i++)
      data[i] = init == INIT_ONE ? 1.0f : 0.0f;
  }
  return data;
}

/* The tensor `base` (with the shared prefix when `shared`) as the inventory
 * shapes it; its spec in *spec. A scalar has numel 0 here and `scalar` as
 * its random value. */
static const float *
bind_tensor (Binder *b, gboolean shared, BtInit init, float scalar,
             const char *base, const BtTensorSpec **spec_out)
{
  g_autofree char *name = g_strconcat (shared ? b->prefix : "", base, NULL);
  const BtTensorSpec *spec = g_hash_table_lookup (b->specs, name);
  if (spec_out)
    *spec_out = spec;
  if (!spec) {
    g_string_append_printf (b->problems, "\n  %s: not in the inventory",
                            name);
    return NULL;
  }
  gint64 numel = spec->ndim ? 1 : 0;
  for (int i = 0; i < spec->ndim; i++)
    numel *= spec->shape[i];

  if (!b->model->ckpt)
    return random_tensor (b, init, scalar, numel);

  GError *err = NULL;
  const BtTensor *t = bt_checkpoint_lookup_f32 (b->model->ckpt, name, &err);
  if (err) {
    if (!b->error)
      b->error = err;
    else
      g_error_free (err);
    return NULL;
  }
  if (!t) {
    g_string_append_printf (b->problems, "\n  missing: %s", name);
    return NULL;
  }
  if (!bt_tensor_has_shape (t, BT_DTYPE_F32, spec->ndim, spec->shape)) {
    BtTensor want = { .dtype = BT_DTYPE_F32, .ndim = spec->ndim };
    memcpy (want.shape, spec->shape, sizeof (gint64) * spec->ndim);
    g_autofree char *have_s = bt_tensor_shape_string (t);
    g_autofree char *want_s = bt_tensor_shape_string (&want);
    g_string_append_printf (b->problems, "\n  %s: shape %s, expected %s",
                            name, have_s, want_s);
    return NULL;
  }
  return t->data;
}

static const float *
bind (Binder *b, BtInit init, const char *name)
{
  return bind_tensor (b, TRUE, init, 0.0f, name, NULL);
}

static float
bind_scalar (Binder *b, gboolean shared, float init, const char *name)
{
  const float *p = bind_tensor (b, shared, INIT_ZERO, init, name, NULL);
  return p ? *p : 0.0f;
}

/* A linear layer from its weight (any [out, ...] shape: the patch
 * convolution is one too) and its bias (`bias` NULL: none). */
static void
bind_weights (Binder *b, gboolean shared, BtLinear *l, const char *weight,
              const char *bias)
{
  const BtTensorSpec *spec;
  l->dtype = BT_DTYPE_F32;
  l->w = bind_tensor (b, shared, INIT_NORMAL, 0.0f, weight, &spec);
  l->b = bias ? bind_tensor (b, shared, INIT_ZERO, 0.0f, bias, NULL) : NULL;
  if (!spec)
    return;
  l->out = (int) spec->shape[0];
  l->in = 1;
  for (int i = 1; i < spec->ndim; i++)
    l->in *= (int) spec->shape[i];
  g_ptr_array_add (b->model->linears, l);
}

/* A linear layer whose weight is an already bound tensor of the shared
 * part (`name`, at `w`). */
static void
tie_weights (Binder *b, BtLinear *l, const float *w, const char *name)
{
  g_autofree char *full = g_strconcat (b->prefix, name, NULL);
  const BtTensorSpec *spec = g_hash_table_lookup (b->specs, full);
  if (!spec || spec->ndim != 2)
    return;
  *l = (BtLinear) { .out = (int) spec->shape[0], .in = (int) spec->shape[1],
                    .dtype = BT_DTYPE_F32, .w = w };
  g_ptr_array_add (b->model->linears, l);
}

static void
bind_linear_full (Binder *b, gboolean shared, BtLinear *l, const char *name)
{
  g_autofree char *wn = g_strconcat (name, ".weight", NULL);
  g_autofree char *bn = g_strconcat (name, ".bias", NULL);
  bind_weights (b, shared, l, wn, bn);
}

static void
bind_linear (Binder *b, BtLinear *l, const char *name)
{
  bind_linear_full (b, TRUE, l, name);
}

static void
bind_norm_full (Binder *b, gboolean shared, BtNormW *w, const char *name)
{
  g_autofree char *wn = g_strconcat (name, ".weight", NULL);
  g_autofree char *bn = g_strconcat (name, ".bias", NULL);
  w->w = bind_tensor (b, shared, INIT_ONE, 0.0f, wn, NULL);
  w->b = bind_tensor (b, shared, INIT_ZERO, 0.0f, bn, NULL);
}

static void
bind_norm (Binder *b, BtNormW *w, const char *name)
{
  bind_norm_full (b, TRUE, w, name);
}

static void
bind_attention (Binder *b, BtAttentionW *w, const char *name)
{
  g_autofree char *q = g_strconcat (name, ".self.query", NULL);
  g_autofree char *k = g_strconcat (name, ".self.key", NULL);
  g_autofree char *v = g_strconcat (name, ".self.value", NULL);
  g_autofree char *o = g_strconcat (name, ".output.dense", NULL);
  g_autofree char *n = g_strconcat (name, ".output.LayerNorm", NULL);
  bind_linear (b, &w->query, q);
  bind_linear (b, &w->key, k);
  bind_linear (b, &w->value, v);
  bind_linear (b, &w->out, o);
  bind_norm (b, &w->norm, n);
}

static void
bind_bert_layer (Binder *b, BtLayerW *w, gboolean cross, const char *name)
{
  g_autofree char *att = g_strconcat (name, ".attention", NULL);
  g_autofree char *xatt = g_strconcat (name, ".crossattention", NULL);
  g_autofree char *i = g_strconcat (name, ".intermediate.dense", NULL);
  g_autofree char *o = g_strconcat (name, ".output.dense", NULL);
  g_autofree char *n = g_strconcat (name, ".output.LayerNorm", NULL);
  bind_attention (b, &w->attention, att);
  if (cross)
    bind_attention (b, &w->crossattention, xatt);
  bind_linear (b, &w->intermediate, i);
  bind_linear (b, &w->output, o);
  bind_norm (b, &w->output_norm, n);
}

static void
bind_vision (Binder *b)
{
  BtModel *m = b->model;
  BtVisionW *w = &m->vision;

  w->class_embedding = bind (b, INIT_NORMAL,
                             "vision_model.visual.embeddings.class_embedding");
  bind_weights (b, TRUE, &w->patch,
                "vision_model.visual.embeddings.patch_embedding.weight", NULL);
  w->position_embedding = bind (b, INIT_NORMAL,
      "vision_model.visual.embeddings.position_embedding.weight");
  bind_norm (b, &w->ln_pre, "vision_model.visual.ln_pre");
  bind_norm (b, &w->ln_post, "vision_model.visual.ln_post");

  w->blocks = g_new0 (BtVisionBlockW, m->n_text_layers);
  for (int i = 0; i < m->n_text_layers; i++) {
    BtVisionBlockW *blk = &w->blocks[i];
    g_autofree char *pre = g_strdup_printf (
        "vision_model.visual.transformer.resblocks.%d", i);
    g_autofree char *ln1 = g_strconcat (pre, ".ln_1", NULL);
    g_autofree char *ln2 = g_strconcat (pre, ".ln_2", NULL);
    g_autofree char *inw = g_strconcat (pre, ".attn.in_proj_weight", NULL);
    g_autofree char *inb = g_strconcat (pre, ".attn.in_proj_bias", NULL);
    g_autofree char *out = g_strconcat (pre, ".attn.out_proj", NULL);
    g_autofree char *fc = g_strconcat (pre, ".mlp.c_fc", NULL);
    g_autofree char *proj = g_strconcat (pre, ".mlp.c_proj", NULL);
    bind_norm (b, &blk->ln_1, ln1);
    bind_norm (b, &blk->ln_2, ln2);
    bind_weights (b, TRUE, &blk->in_proj, inw, inb);
    bind_linear (b, &blk->out_proj, out);
    bind_linear (b, &blk->c_fc, fc);
    bind_linear (b, &blk->c_proj, proj);
  }
}

static void
bind_text (Binder *b)
{
  BtModel *m = b->model;
  BtTextW *w = &m->text;

  w->word = bind (b, INIT_NORMAL,
                  "text_model.embeddings.word_embeddings.weight");
  w->position = bind (b, INIT_NORMAL,
                      "text_model.embeddings.position_embeddings.weight");
  w->token_type = bind (b, INIT_NORMAL,
                        "text_model.embeddings.token_type_embeddings.weight");
  bind_norm (b, &w->norm, "text_model.embeddings.LayerNorm");

  w->layers = g_new0 (BtLayerW, m->n_text_layers);
  for (int i = 0; i < m->n_text_layers; i++) {
    g_autofree char *name = g_strdup_printf ("text_model.encoder.layer.%d", i);
    bind_bert_layer (b, &w->layers[i], FALSE, name);
  }
}

static void
bind_link (Binder *b, BtLinkW *w, const char *name)
{
  BtModel *m = b->model;
  g_autofree char *norm = g_strconcat (name, ".LayerNorm", NULL);
  bind_norm (b, &w->norm, norm);
  if (m->config.link_tower_type == BT_LINK_SCALED_ADD) {
    g_autofree char *s = g_strconcat (name, ".scaled_factor", NULL);
    w->scalar = bind_scalar (b, TRUE, 1.0f, s);
  } else if (m->config.link_tower_type == BT_LINK_INTERPOLATE) {
    g_autofree char *s = g_strconcat (name, ".beta", NULL);
    w->scalar = bind_scalar (b, TRUE, 0.5f, s);
  }
}

static void
bind_cross (Binder *b)
{
  BtModel *m = b->model;
  BtCrossW *w = &m->cross;

  bind_linear (b, &w->text_transform, "cross_modal_text_transform");
  bind_linear (b, &w->image_transform, "cross_modal_image_transform");
  w->token_type = bind (b, INIT_NORMAL, "token_type_embeddings.weight");
  bind_norm (b, &w->text_norm, "cross_modal_text_layernorm");
  bind_norm (b, &w->image_norm, "cross_modal_image_layernorm");

  w->text_layers = g_new0 (BtLayerW, m->n_cross);
  w->image_layers = g_new0 (BtLayerW, m->n_cross);
  for (int i = 0; i < m->n_cross; i++) {
    g_autofree char *tn = g_strdup_printf ("cross_modal_text_layers.%d", i);
    g_autofree char *in = g_strdup_printf ("cross_modal_image_layers.%d", i);
    bind_bert_layer (b, &w->text_layers[i], TRUE, tn);
    bind_bert_layer (b, &w->image_layers[i], TRUE, in);
  }

  /* Layer 0 has no link tower; a shared one only exists with C = 1, where
   * it never runs (two or more cross layers with it are rejected). */
  int n_links = m->n_cross - 1;
  w->text_links = g_new0 (BtLinkW, MAX (n_links, 1));
  w->image_links = g_new0 (BtLinkW, MAX (n_links, 1));
  for (int i = 0; i < n_links; i++) {
    g_autofree char *tn = g_strdup_printf ("cross_modal_text_link_tower.%d", i);
    g_autofree char *in = g_strdup_printf ("cross_modal_image_link_tower.%d",
                                           i);
    bind_link (b, &w->text_links[i], tn);
    bind_link (b, &w->image_links[i], in);
  }

  bind_linear (b, &w->text_pooler, "cross_modal_text_pooler.dense");
  bind_linear (b, &w->image_pooler, "cross_modal_image_pooler.dense");
}

static void
bind_heads (Binder *b)
{
  BtModel *m = b->model;
  const BtConfig *c = &m->config;
  BtHeadW *w = &m->head;

  if (m->heads & BT_HEAD_ITM)
    bind_linear_full (b, FALSE, &w->itm, "itm_score.fc");
  if (m->heads & BT_HEAD_MLM) {
    bind_linear_full (b, FALSE, &w->mlm_dense, "mlm_score.transform.dense");
    bind_norm_full (b, FALSE, &w->mlm_norm, "mlm_score.transform.LayerNorm");
    /* Tied (HF's tie_weights): the decoder is the word embedding matrix,
     * whatever the file holds under the decoder's name. */
    if (c->tie_word_embeddings)
      tie_weights (b, &w->mlm_decoder, m->text.word,
                   "text_model.embeddings.word_embeddings.weight");
    else
      bind_weights (b, FALSE, &w->mlm_decoder, "mlm_score.decoder.weight",
                    NULL);
    w->mlm_decoder.b = bind_tensor (b, FALSE, INIT_ZERO, 0.0f,
                                    "mlm_score.bias", NULL);
  }
  if (m->heads & BT_HEAD_ITC) {
    bind_linear_full (b, FALSE, &w->itc_text, "itc_text_head.fc");
    bind_linear_full (b, FALSE, &w->itc_image, "itc_image_head.fc");
    bind_linear_full (b, FALSE, &w->itc_cross, "itc_cross_modal_head.fc");
    w->logit_scale = bind_scalar (b, FALSE,
                                  (float) c->logit_scale_init_value,
                                  "logit_scale");
  }
}

/* Attention products run in bf16 in a bf16 model, and in an int8 one
 * where the CPU has bf16 units too (oneDNN 2.6's int8 matmul takes no
 * per-row scales, which dynamic Q and K would want). */
static gboolean
attention_bf16 (BtPrecision precision)
{
  return precision == BT_PRECISION_BF16
         || (precision == BT_PRECISION_INT8 && bt_bf16_available (NULL));
}

static BtModel *
model_new (const BtConfig *config, BtHeads heads, BtPrecision precision)
{
  BtModel *m = g_new0 (BtModel, 1);
  m->refcount = 1;
  m->config = *config;
  m->heads = heads;
  m->precision = precision;
  m->owned = g_ptr_array_new_with_free_func (g_aligned_free);
  m->linears = g_ptr_array_new ();
  m->n_text_layers = config->text.num_hidden_layers;
  m->n_cross = config->num_hidden_layers;
  m->split = m->n_text_layers - m->n_cross + 1;
  m->vision_heads = config->vision.hidden_size / 64;
  m->vision_head_dim = config->vision.hidden_size / m->vision_heads;
  m->grid = config->vision.image_size / config->vision.patch_size;
  /* the cross-modal layers are built from text_config at hidden_size */
  const BtTextConfig *tc = &config->text;
  m->text_dims = (BtBertDims) { tc->hidden_size, tc->num_attention_heads,
                                tc->intermediate_size, tc->layer_norm_eps,
                                attention_bf16 (precision) };
  m->cross_dims = m->text_dims;
  m->cross_dims.hidden = config->hidden_size;
  g_mutex_init (&m->pool_lock);
  m->image_pool = g_ptr_array_new ();
  m->text_pool = g_ptr_array_new ();
  bt_image_config_init_defaults (&m->image_config);
  m->image_config.shortest_edge = config->vision.image_size;
  m->image_config.crop_height = config->vision.image_size;
  m->image_config.crop_width = config->vision.image_size;
  return m;
}

/* precision bf16 or int8: one pass over the bound linear layers packs each and
 * hands its float32 pages back at once (so the peak holds one weight in
 * both forms, not the model), except the word embeddings (the tied MLM
 * decoder), which the text embeddings still read. A float32 weight two
 * linears share goes back after its last user is packed. */
static gboolean
convert_linears (BtModel *m, GError **error)
{
  g_autoptr (GHashTable) users = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < m->linears->len; i++) {
    const BtLinear *l = g_ptr_array_index (m->linears, i);
    gpointer n = g_hash_table_lookup (users, l->w);
    g_hash_table_insert (users, (gpointer) l->w,
                         GINT_TO_POINTER (GPOINTER_TO_INT (n) + 1));
  }
  for (guint i = 0; i < m->linears->len; i++) {
    BtLinear *l = g_ptr_array_index (m->linears, i);
    if (!(m->precision == BT_PRECISION_INT8
          ? bt_linear_to_int8 (l, &m->bf16_bytes, error)
          : bt_linear_to_bf16 (l, &m->bf16_bytes, error)))
      return FALSE;
    int left = GPOINTER_TO_INT (g_hash_table_lookup (users, l->w)) - 1;
    g_hash_table_insert (users, (gpointer) l->w, GINT_TO_POINTER (left));
    if (left == 0 && l->w != m->text.word)
      m->f32_released_bytes += bt_linear_release_f32 (l);
  }
  /* the views of a shared weight's other users go too */
  for (guint i = 0; i < m->linears->len; i++) {
    BtLinear *l = g_ptr_array_index (m->linears, i);
    if (l->w != m->text.word)
      l->w = NULL;
  }
  return TRUE;
}

/* Binds every weight; FALSE with `error` set when one is missing or
 * mis-shaped (the model is left for the caller to free). */
static gboolean
bind_all (BtModel *m, guint64 seed, GError **error)
{
  g_autoptr (GPtrArray) specs = bt_inventory_build (&m->config, m->heads);
  Binder b = { .model = m, .rng = seed,
               .prefix = m->heads ? "bridgetower." : "",
               .specs = g_hash_table_new (g_str_hash, g_str_equal),
               .problems = g_string_new (NULL) };
  for (guint i = 0; i < specs->len; i++) {
    BtTensorSpec *spec = g_ptr_array_index (specs, i);
    g_hash_table_insert (b.specs, spec->name, spec);
  }

  bind_vision (&b);
  bind_text (&b);
  bind_cross (&b);
  bind_heads (&b);

  gboolean ok = TRUE;
  if (b.error) {
    g_propagate_error (error, b.error);
    ok = FALSE;
  } else if (b.problems->len) {
    g_set_error (error, BT_ERROR, BT_ERROR_MISSING_TENSOR,
                 "%s: the weights do not fit config.json:%s",
                 m->ckpt ? bt_checkpoint_get_path (m->ckpt) : "(random model)",
                 b.problems->str);
    ok = FALSE;
  }
  g_string_free (b.problems, TRUE);
  g_hash_table_unref (b.specs);
  if (ok && m->precision != BT_PRECISION_FP32)
    ok = convert_linears (m, error);
  return ok;
}

static gboolean
check_precision (BtPrecision precision, GError **error)
{
  switch (precision) {
    case BT_PRECISION_FP32: return TRUE;
    case BT_PRECISION_BF16: return bt_bf16_available (error);
    case BT_PRECISION_INT8: return bt_int8_available (error);
    default:
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "unknown precision %d",
                   (int) precision);
      return FALSE;
  }
}

BtModelParams
bt_model_default_params (void)
{
  return (BtModelParams) { .precision = BT_PRECISION_FP32 };
}

BtModel *
bt_model_new_random (const BtConfig *config, BtHeads heads,
                     const BtModelParams *params, guint64 seed,
                     GError **error)
{
  const BtModelParams p = params ? *params : bt_model_default_params ();
  if (!bt_config_validate (config, error)
      || !check_precision (p.precision, error))
    return NULL;
  BtModel *m = model_new (config, heads, p.precision);
  if (!bind_all (m, seed, error)) {
    bt_model_unref (m);
    return NULL;
  }
  bt_image_config_force_processor (&m->image_config);
  return m;
}

static gboolean
has_file (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

BtModel *
bt_model_load (const char *dir, const BtModelParams *params, GError **error)
{
  const BtModelParams p = params ? *params : bt_model_default_params ();
  BtConfig config;

  if (!check_precision (p.precision, error))
    return NULL;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: expected a model folder "
                 "(config.json, weights, tokenizer files)%s", dir,
                 g_file_test (dir, G_FILE_TEST_EXISTS) ? ", not a file" : "");
    return NULL;
  }
  bt_config_init_defaults (&config);
  if (!bt_config_load (&config, dir, error)
      || !bt_config_validate (&config, error))
    return NULL;

  g_autoptr (BtCheckpoint) ckpt = bt_checkpoint_open (dir, error);
  if (!ckpt)
    return NULL;

  BtModel *m = model_new (&config, BT_HEAD_NONE, p.precision);
  char *real = realpath (dir, NULL);
  m->path = g_strdup (real ? real : dir);
  free (real);
  m->ckpt = g_steal_pointer (&ckpt);
  m->heads = bt_inventory_detect_heads (&m->config, m->ckpt);
  if (!bt_inventory_check (&m->config, m->heads, m->ckpt, NULL, error)
      || !bind_all (m, 0, error)) {
    bt_model_unref (m);
    return NULL;
  }

  m->image_config_file = has_file (dir, "preprocessor_config.json");
  if (m->image_config_file
      && !bt_image_config_load (&m->image_config, dir, error)) {
    bt_model_unref (m);
    return NULL;
  }
  bt_image_config_force_processor (&m->image_config);

  if (has_file (dir, "tokenizer.json") || has_file (dir, "vocab.json")) {
    m->tokenizer = bt_tokenizer_load (dir, error);
    if (!m->tokenizer) {
      bt_model_unref (m);
      return NULL;
    }
  }
  return m;
}

gboolean
bt_model_check_processor_files (const char *dir, gboolean *has_image_config,
                                GError **error)
{
  BtImageConfig image_config;
  BtTokenizer *tok;

  *has_image_config = has_file (dir, "preprocessor_config.json");
  if (*has_image_config && !bt_image_config_load (&image_config, dir, error))
    return FALSE;
  if (!has_file (dir, "tokenizer.json") && !has_file (dir, "vocab.json")) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: no tokenizer "
                 "(tokenizer.json, or vocab.json + merges.txt): texts cannot "
                 "be encoded", dir);
    return FALSE;
  }
  tok = bt_tokenizer_load (dir, error);
  if (!tok)
    return FALSE;
  bt_tokenizer_free (tok);
  return TRUE;
}

BtModel *
bt_model_ref (BtModel *model)
{
  g_return_val_if_fail (model, NULL);
  g_atomic_int_inc (&model->refcount);
  return model;
}

void
bt_model_unref (BtModel *model)
{
  if (!model)
    return;
  if (model->cached)
    bt_model_cache_release (model);
  else if (g_atomic_int_dec_and_test (&model->refcount))
    bt_model_finalize (model);
}

void
bt_model_finalize (BtModel *m)
{
  for (guint i = 0; i < m->linears->len; i++)
    bt_linear_clear (g_ptr_array_index (m->linears, i));
  g_ptr_array_unref (m->linears);
  for (guint i = 0; i < m->image_pool->len; i++) {
    BtImageFeatures *f = g_ptr_array_index (m->image_pool, i);
    g_free (f->data);
    g_free (f);
  }
  g_ptr_array_unref (m->image_pool);
  for (guint i = 0; i < m->text_pool->len; i++) {
    BtTextFeatures *f = g_ptr_array_index (m->text_pool, i);
    g_free (f->data);
    g_free (f);
  }
  g_ptr_array_unref (m->text_pool);
  g_mutex_clear (&m->pool_lock);
  g_free (m->vision.blocks);
  g_free (m->text.layers);
  g_free (m->cross.text_layers);
  g_free (m->cross.image_layers);
  g_free (m->cross.text_links);
  g_free (m->cross.image_links);
  g_ptr_array_unref (m->owned);
  if (m->ckpt)
    bt_checkpoint_free (m->ckpt);
  if (m->tokenizer)
    bt_tokenizer_free (m->tokenizer);
  g_free (m->path);
  g_free (m);
}

const BtConfig *
bt_model_get_config (const BtModel *model)
{
  return &model->config;
}

BtHeads
bt_model_get_heads (const BtModel *model)
{
  return model->heads;
}

BtPrecision
bt_model_get_precision (const BtModel *model)
{
  return model->precision;
}

const char *
bt_model_get_path (const BtModel *model)
{
  return model->path;
}

BtTokenizer *
bt_model_get_tokenizer (const BtModel *model)
{
  return model->tokenizer;
}

gboolean
bt_model_has_image_config_file (const BtModel *model)
{
  return model->image_config_file;
}

const BtImageConfig *
bt_model_get_image_config (const BtModel *model)
{
  return &model->image_config;
}

float
bt_model_get_logit_scale (const BtModel *model)
{
  return (model->heads & BT_HEAD_ITC) ? expf (model->head.logit_scale) : 0.0f;
}
