/* bt-bench.c - times the public API the elements use (no bench-only
 * forward path) and sets it against OpenBLAS sgemm measured in the same
 * run, on the same shapes and thread count.
 *
 *   bt-bench (--model DIR | --random base|large) [--precision fp32|bf16|int8]
 *            [--threads N] [--runs N] [--json]
 *   bt-bench --write-random base|large DIR
 *
 * --write-random writes a model folder of random weights of the real shapes
 * (config.json, model.safetensors with the ITM and ITC heads,
 * preprocessor_config.json, the full GPT-2 tokenizer files) for the element
 * benchmark, tests/bench/bench-elements.py.
 *
 * It reports the kernel OpenBLAS chose (openblas_get_corename) with its
 * build configuration and OPENBLAS_CORETYPE, which forces the choice.
 *
 * Every time is the minimum of --runs runs. A stage's bound is the sum over
 * every matrix product it executes (attention products included) of
 * 2 M N K / (the sgemm rate measured here on that exact shape).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bridgetower.h"
#include "bt-inventory.h"

#include <cblas.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <errno.h>

/* The published configurations (HF hub config.json, the keys that differ
 * from the class defaults). */
static const char base_config[] =
  "{\"hidden_size\": 768, \"num_hidden_layers\": 6, \"num_attention_heads\": 12,"
  " \"link_tower_type\": \"add\", \"contrastive_hidden_size\": 512,"
  " \"text_config\": {\"vocab_size\": 50265, \"hidden_size\": 768,"
  "  \"num_hidden_layers\": 12, \"num_attention_heads\": 12,"
  "  \"intermediate_size\": 3072, \"max_position_embeddings\": 514,"
  "  \"type_vocab_size\": 1},"
  " \"vision_config\": {\"hidden_size\": 768, \"num_hidden_layers\": 12,"
  "  \"patch_size\": 16, \"image_size\": 288}}";

static const char large_config[] =
  "{\"hidden_size\": 1024, \"num_hidden_layers\": 6, \"num_attention_heads\": 16,"
  " \"link_tower_type\": \"add\", \"contrastive_hidden_size\": 512,"
  " \"text_config\": {\"vocab_size\": 50265, \"hidden_size\": 1024,"
  "  \"num_hidden_layers\": 24, \"num_attention_heads\": 16,"
  "  \"intermediate_size\": 4096, \"max_position_embeddings\": 514,"
  "  \"type_vocab_size\": 1},"
  " \"vision_config\": {\"hidden_size\": 1024, \"num_hidden_layers\": 24,"
  "  \"patch_size\": 14, \"image_size\": 294}}";

#define TEXT_TOKENS 12
#define N_QUERIES 8
#define N_ITC 1000

/* ---- matrix products of a stage, as the implementation executes them ---- */

typedef struct {
  int m, n, k;
  int count;
} Gemm;

typedef struct {
  GArray *gemms;               /* Gemm */
} Stage;

static void
add_gemm (Stage *s, int m, int n, int k, int count)
{
  for (guint i = 0; i < s->gemms->len; i++) {
    Gemm *g = &g_array_index (s->gemms, Gemm, i);
    if (g->m == m && g->n == n && g->k == k) {
      g->count += count;
      return;
    }
  }
  Gemm g = { m, n, k, count };
  g_array_append_val (s->gemms, g);
}

/* Scores and context of one attention: n_q x n_k x d and n_q x d x n_k per
 * head. */
static void
add_attention (Stage *s, int n_q, int n_k, int heads, int d)
{
  add_gemm (s, n_q, n_k, d, heads);
  add_gemm (s, n_q, d, n_k, heads);
}

/* Cross-modal layer 0's single-modality work, done when a side is encoded:
 * its self-attention block and cross-attention queries, and the keys and
 * values the other side's layer 0 attends to. */
static void
layer0_prepare (Stage *s, const BtConfig *c, int rows)
{
  const int h = c->hidden_size, heads = c->text.num_attention_heads;

  add_gemm (s, rows, h, h, 4);
  add_attention (s, rows, rows, heads, h / heads);
  add_gemm (s, rows, h, h, 3);
}

static void
vision_stage (const BtConfig *c, Stage *s)
{
  const int e = c->vision.hidden_size, p = c->vision.patch_size;
  const int grid = c->vision.image_size / p, n = 1 + grid * grid;
  const int heads = e / 64, t = c->text.num_hidden_layers;

  add_gemm (s, grid * grid, e, c->vision.num_channels * p * p, 1);
  for (int i = 0; i < t; i++) {
    add_gemm (s, n, 3 * e, e, 1);
    add_attention (s, n, n, heads, e / heads);
    add_gemm (s, n, e, e, 1);
    add_gemm (s, n, 4 * e, e, 1);
    add_gemm (s, n, e, 4 * e, 1);
  }
  add_gemm (s, n, c->hidden_size, e, c->num_hidden_layers);
  layer0_prepare (s, c, n);
}

/* A cross-modal BERT layer of one pair: `rows` queries (1 when only the
 * CLS row is computed) attending to `kv_rows` of their own side and
 * `enc_rows` of the other. Layer 0 starts at the cross-attention. */
static void
cross_layer (Stage *s, const BtConfig *c, int q_rows, int kv_rows,
             int enc_rows, gboolean layer0)
{
  const int h = c->text.hidden_size, heads = c->text.num_attention_heads;
  const int d = h / heads, inter = c->text.intermediate_size;

  if (!layer0) {
    add_gemm (s, q_rows, h, h, 1);
    add_gemm (s, kv_rows, h, h, 2);
    add_attention (s, q_rows, kv_rows, heads, d);
    add_gemm (s, q_rows, h, h, 2);
    add_gemm (s, enc_rows, h, h, 2);
  }
  add_attention (s, q_rows, enc_rows, heads, d);
  add_gemm (s, q_rows, h, h, 1);
  add_gemm (s, q_rows, inter, h, 1);
  add_gemm (s, q_rows, h, inter, 1);
}

static void
text_stage (const BtConfig *c, int len, Stage *s)
{
  const int h = c->text.hidden_size, heads = c->text.num_attention_heads;
  const int inter = c->text.intermediate_size;

  for (int i = 0; i < c->text.num_hidden_layers; i++) {
    add_gemm (s, len, h, h, 4);
    add_attention (s, len, len, heads, h / heads);
    add_gemm (s, len, inter, h, 1);
    add_gemm (s, len, h, inter, 1);
  }
  add_gemm (s, len, c->hidden_size, h, c->num_hidden_layers);
  layer0_prepare (s, c, len);
}

/* Cross-modal encoder + ITM for one pair on encoded features; the last
 * layer computes only the CLS rows (as bt_context_match does). */
static void
pair_stage (const BtConfig *c, int len, Stage *s)
{
  const int h = c->hidden_size;
  const int n = 1 + (c->vision.image_size / c->vision.patch_size)
      * (c->vision.image_size / c->vision.patch_size);

  for (int k = 0; k < c->num_hidden_layers; k++) {
    gboolean last = k == c->num_hidden_layers - 1;
    cross_layer (s, c, last ? 1 : len, len, n, k == 0);
    cross_layer (s, c, last ? 1 : n, n, len, k == 0);
  }
  add_gemm (s, 1, h, h, 2);
  add_gemm (s, 1, 2, 2 * h, 1);
}

static double
stage_gflop (const Stage *s)
{
  double f = 0.0;
  for (guint i = 0; i < s->gemms->len; i++) {
    const Gemm *g = &g_array_index (s->gemms, Gemm, i);
    f += 2.0 * g->m * g->n * g->k * g->count;
  }
  return f / 1e9;
}

/* ---- sgemm rates -------------------------------------------------------- */

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds of one product of this shape, as bt_linear calls it (A row-major,
 * B transposed), minimum over repeats totalling ~0.1 s. */
static double
sgemm_seconds (int m, int n, int k)
{
  float *a = g_new (float, (gsize) m * k);
  float *b = g_new (float, (gsize) n * k);
  float *c = g_new (float, (gsize) m * n);
  for (gsize i = 0; i < (gsize) m * k; i++)
    a[i] = (float) (i % 13) * 0.01f;
  for (gsize i = 0; i < (gsize) n * k; i++)
    b[i] = (float) (i % 7) * 0.01f;

  double best = G_MAXDOUBLE, spent = 0.0;
  for (int r = 0; r < 200 && (r < 3 || spent < 0.1); r++) {
    double t0 = now ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k,
                 b, k, 0.0f, c, n);
    double dt = now () - t0;
    best = MIN (best, dt);
    spent += dt;
  }
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

static double
stage_bound_ms (const Stage *s)
{
  double t = 0.0;
  for (guint i = 0; i < s->gemms->len; i++) {
    const Gemm *g = &g_array_index (s->gemms, Gemm, i);
    t += sgemm_seconds (g->m, g->n, g->k) * g->count;
  }
  return t * 1e3;
}

/* ---- --write-random ------------------------------------------------------ */

static gboolean
copy_file (const char *from_dir, const char *name, const char *to_dir,
           GError **error)
{
  g_autofree char *from = g_build_filename (from_dir, name, NULL);
  g_autofree char *to = g_build_filename (to_dir, name, NULL);
  g_autofree char *contents = NULL;
  gsize len;

  return g_file_get_contents (from, &contents, &len, error)
      && g_file_set_contents (to, contents, len, error);
}

/* Every tensor the inventory lists for the ITM and ITC heads (so every
 * btmatcher mode runs), uniform in [-0.02, 0.02], LayerNorm weights 1. */
static gboolean
write_random (const char *kind, const char *json_cfg, const char *dir,
              GError **error)
{
  static const char *const tokenizer_files[] = { "vocab.json", "merges.txt",
    "tokenizer_config.json", "special_tokens_map.json" };
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  g_autoptr (GPtrArray) specs = NULL;
  g_autofree char *hub = g_build_filename (BT_TEST_DATA, "hub",
      g_str_equal (kind, "base") ? "bridgetower-base-itm-mlm"
                                 : "bridgetower-large-itm-mlm-itc", NULL);
  g_autofree char *tok = g_build_filename (BT_TEST_DATA, "golden",
                                           "tokenizer-full", NULL);
  g_autofree char *cfg_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *weights = g_build_filename (dir, "model.safetensors",
                                               NULL);
  BtConfig config;

  bt_config_init_defaults (&config);
  if (!bt_config_load_from_data (&config, json_cfg, -1, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot create: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  if (!g_file_set_contents (cfg_path, json_cfg, -1, error)
      || !copy_file (hub, "preprocessor_config.json", dir, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (tokenizer_files); i++)
    if (!copy_file (tok, tokenizer_files[i], dir, error))
      return FALSE;

  GRand *rand = g_rand_new_with_seed (42);
  specs = bt_inventory_build (&config, BT_HEAD_ITM | BT_HEAD_ITC);
  for (guint i = 0; i < specs->len; i++) {
    const BtTensorSpec *spec = g_ptr_array_index (specs, i);
    BtTensor *t = bt_tensor_set_add (set, spec->name, BT_DTYPE_F32,
                                     spec->ndim, spec->shape);
    float *data = t->data;
    gboolean norm_weight = spec->ndim == 1
        && g_str_has_suffix (spec->name, ".weight")
        && (strstr (spec->name, "LayerNorm") || strstr (spec->name, "ln"));
    for (gint64 k = 0; k < bt_tensor_numel (t); k++)
      data[k] = norm_weight ? 1.0f
          : (float) g_rand_double_range (rand, -0.02, 0.02);
  }
  g_rand_free (rand);
  return bt_safetensors_write (weights, set, error);
}

/* ---- the API stages ------------------------------------------------------ */

typedef struct {
  BtContext *ctx;
  float *pixels;
  int size;
  gint64 ids[N_QUERIES][TEXT_TOKENS];
} Bench;

static void
die_on (GError *error)
{
  if (error) {
    fprintf (stderr, "bt-bench: %s\n", error->message);
    exit (1);
  }
}

/* result_ms = the minimum over `runs` runs of `body`, in ms */
#define TIME_MIN(result_ms, runs, body)               \
  do {                                                \
    double best_ = G_MAXDOUBLE;                       \
    for (int r_ = 0; r_ < (runs); r_++) {             \
      double t0_ = now ();                            \
      body;                                           \
      best_ = MIN (best_, now () - t0_);              \
    }                                                 \
    result_ms = best_ * 1e3;                          \
  } while (0)

int
main (int argc, char **argv)
{
  g_autofree char *model_dir = NULL, *random_kind = NULL, *prec_name = NULL;
  g_autofree char *write_kind = NULL;
  int threads = 0, runs = 3;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir, "Model folder", "DIR" },
    { "random", 0, 0, G_OPTION_ARG_STRING, &random_kind,
      "Random weights of the real shapes", "base|large" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &prec_name,
      "Weights' precision (default fp32)", "fp32|bf16|int8" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (0 = cores)", "N" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per time (min taken)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object", NULL },
    { "write-random", 0, 0, G_OPTION_ARG_STRING, &write_kind,
      "Write a random-weight model folder to DIR", "base|large" },
    { NULL }
  };
  GError *error = NULL;
  g_autoptr (GOptionContext) opts = g_option_context_new ("- time the model");
  g_option_context_add_main_entries (opts, entries, NULL);
  if (!g_option_context_parse (opts, &argc, &argv, &error)) {
    fprintf (stderr, "bt-bench: %s\n", error->message);
    return 2;
  }
  if (write_kind) {
    const char *cfg = g_str_equal (write_kind, "base") ? base_config
        : g_str_equal (write_kind, "large") ? large_config : NULL;
    if (!cfg || argc != 2) {
      fprintf (stderr, "bt-bench: --write-random base|large DIR\n");
      return 2;
    }
    if (!write_random (write_kind, cfg, argv[1], &error))
      die_on (error);
    printf ("%s: random %s model\n", argv[1], write_kind);
    return 0;
  }
  if (!model_dir == !random_kind || runs < 1) {
    fprintf (stderr, "bt-bench: give exactly one of --model DIR and "
             "--random base|large\n");
    return 2;
  }

  if (!prec_name)
    prec_name = g_strdup ("fp32");
  if (!g_str_equal (prec_name, "fp32") && !g_str_equal (prec_name, "bf16")
      && !g_str_equal (prec_name, "int8")) {
    fprintf (stderr, "bt-bench: --precision takes fp32, bf16 or int8\n");
    return 2;
  }
  BtModelParams model_params = bt_model_default_params ();
  model_params.precision = g_str_equal (prec_name, "bf16") ? BT_PRECISION_BF16
                           : g_str_equal (prec_name, "int8") ? BT_PRECISION_INT8
                           : BT_PRECISION_FP32;
  BtContextParams ctx_params = bt_context_default_params ();
  ctx_params.n_threads = threads;

  BtModel *model;
  if (random_kind) {
    const char *json_cfg = g_str_equal (random_kind, "base") ? base_config
        : g_str_equal (random_kind, "large") ? large_config : NULL;
    if (!json_cfg) {
      fprintf (stderr, "bt-bench: --random takes base or large\n");
      return 2;
    }
    BtConfig cfg;
    bt_config_init_defaults (&cfg);
    if (!bt_config_load_from_data (&cfg, json_cfg, -1, &error))
      die_on (error);
    model = bt_model_new_random (&cfg, BT_HEAD_ITM | BT_HEAD_ITC,
                                 &model_params, 1, &error);
  } else {
    model = bt_model_load (model_dir, &model_params, &error);
  }
  die_on (error);
  if (!(bt_model_get_heads (model) & BT_HEAD_ITM)) {
    fprintf (stderr, "bt-bench: the model has no ITM head\n");
    return 1;
  }

  const BtConfig *cfg = bt_model_get_config (model);
  Bench b = { .ctx = bt_context_new (model, &ctx_params),
              .size = cfg->vision.image_size };
  threads = bt_context_get_n_threads (b.ctx);
  /* the GEMM bound: OpenBLAS on as many threads as the model's calls */
  openblas_set_num_threads (threads);
  b.pixels = g_new (float, 3 * (gsize) b.size * b.size);
  for (gsize i = 0; i < 3 * (gsize) b.size * b.size; i++)
    b.pixels[i] = sinf ((float) i * 0.01f);
  for (int q = 0; q < N_QUERIES; q++) {
    b.ids[q][0] = 0;
    for (int t = 1; t < TEXT_TOKENS - 1; t++)
      b.ids[q][t] = 4 + (q * 131 + t * 977) % (cfg->text.vocab_size - 4);
    b.ids[q][TEXT_TOKENS - 1] = 2;
  }

  BtImageFeatures *img = NULL;
  BtTextFeatures *txt[N_QUERIES] = { NULL };
  float logits[2 * N_QUERIES];

  /* warm-up: grows every work buffer once */
  img = bt_context_encode_image (b.ctx, b.pixels, b.size, b.size, FALSE,
                                 &error);
  die_on (error);
  for (int q = 0; q < N_QUERIES; q++) {
    txt[q] = bt_context_encode_text (b.ctx, b.ids[q], NULL, TEXT_TOKENS,
                                     &error);
    die_on (error);
  }
  bt_context_match (b.ctx, img, txt, N_QUERIES, logits, &error);
  die_on (error);

  double vision_ms;
  TIME_MIN (vision_ms, runs, {
    bt_image_features_unref (img);
    img = bt_context_encode_image (b.ctx, b.pixels, b.size, b.size, FALSE,
                                   NULL);
  });
  double text_ms;
  TIME_MIN (text_ms, runs, {
    bt_text_features_unref (txt[0]);
    txt[0] = bt_context_encode_text (b.ctx, b.ids[0], NULL, TEXT_TOKENS,
                                     NULL);
  });
  double pair_ms;
  TIME_MIN (pair_ms, runs, {
    bt_context_match (b.ctx, img, txt, 1, logits, NULL);
  });
  double itm_1x1_ms;
  TIME_MIN (itm_1x1_ms, runs, {
    BtImageFeatures *i1 = bt_context_encode_image (b.ctx, b.pixels, b.size,
                                                   b.size, FALSE, NULL);
    BtTextFeatures *t1 = bt_context_encode_text (b.ctx, b.ids[0], NULL,
                                                 TEXT_TOKENS, NULL);
    bt_context_match (b.ctx, i1, &t1, 1, logits, NULL);
    bt_image_features_unref (i1);
    bt_text_features_unref (t1);
  });
  double itm_1x8_ms;
  const gint64 *id_rows[N_QUERIES];
  int lens[N_QUERIES];
  for (int q = 0; q < N_QUERIES; q++) {
    id_rows[q] = b.ids[q];
    lens[q] = TEXT_TOKENS;
  }
  TIME_MIN (itm_1x8_ms, runs, {
    BtImageFeatures *i1 = bt_context_encode_image (b.ctx, b.pixels, b.size,
                                                   b.size, FALSE, NULL);
    BtTextFeatures *t8[N_QUERIES];
    bt_context_encode_texts (b.ctx, id_rows, NULL, lens, N_QUERIES, t8, NULL);
    bt_context_match (b.ctx, i1, t8, N_QUERIES, logits, NULL);
    bt_image_features_unref (i1);
    for (int q = 0; q < N_QUERIES; q++)
      bt_text_features_unref (t8[q]);
  });

  /* ITC: 1000 cached query embeddings against one frame's embedding, as
   * one matrix-vector product (-1 without an ITC head) */
  double itc_1000_ms = -1.0;
  const int d = cfg->contrastive_hidden_size;
  float *bank = g_new (float, (gsize) N_ITC * d);
  float *scores = g_new (float, N_ITC);
  const float *img_itc = bt_image_features_get_itc (img);
  if (img_itc) {
    for (int q = 0; q < N_ITC; q++)
      memcpy (bank + (gsize) q * d,
              bt_text_features_get_itc (txt[q % N_QUERIES]),
              sizeof (float) * d);
    TIME_MIN (itc_1000_ms, runs * 10, {
      cblas_sgemv (CblasRowMajor, CblasNoTrans, N_ITC, d,
                   bt_model_get_logit_scale (model), bank, d, img_itc, 1,
                   0.0f, scores, 1);
    });
  }

  Stage vision = { g_array_new (FALSE, FALSE, sizeof (Gemm)) };
  Stage text = { g_array_new (FALSE, FALSE, sizeof (Gemm)) };
  Stage pair = { g_array_new (FALSE, FALSE, sizeof (Gemm)) };
  vision_stage (cfg, &vision);
  text_stage (cfg, TEXT_TOKENS, &text);
  pair_stage (cfg, TEXT_TOKENS, &pair);
  double vision_bound_ms = stage_bound_ms (&vision);
  double text_bound_ms = stage_bound_ms (&text);
  double pair_bound_ms = stage_bound_ms (&pair);
  const int n_tok = 1 + (b.size / cfg->vision.patch_size)
      * (b.size / cfg->vision.patch_size);
  const int e = cfg->vision.hidden_size;
  double sgemm_gflops = 2.0 * n_tok * e * e / sgemm_seconds (n_tok, e, e) / 1e9;

  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  double peak_rss_mb = ru.ru_maxrss / 1024.0;

  const double vg = stage_gflop (&vision), tg = stage_gflop (&text);
  const double pg = stage_gflop (&pair);
  /* without an ITC head there is nothing to time: null / "-" */
  g_autofree char *itc_text = itc_1000_ms < 0 ? g_strdup ("null")
      : g_strdup_printf ("%.4f", itc_1000_ms);
  /* the kernel OpenBLAS picked at load time (DYNAMIC_ARCH builds choose
   * per CPU unless OPENBLAS_CORETYPE names one): it moves every figure */
  const char *blas_env = g_getenv ("OPENBLAS_CORETYPE");
  g_autofree char *blas_core = g_strstrip (g_strdup (openblas_get_corename ()));
  g_autofree char *blas_config = g_strstrip (g_strdup (openblas_get_config ()));
  g_autofree char *blas_env_json = blas_env
      ? g_strdup_printf ("\"%s\"", blas_env) : g_strdup ("null");
  if (json) {
    printf ("{\"model\": \"%s\", \"precision\": \"%s\", \"threads\": %d, "
            "\"blas_core\": \"%s\", \"blas_config\": \"%s\", "
            "\"blas_coretype_env\": %s, "
            "\"sgemm_gflops\": %.1f, \"vision_ms\": %.2f, \"text_ms\": %.2f, "
            "\"pair_ms\": %.2f, \"itm_1x1_ms\": %.2f, \"itm_1x8_ms\": %.2f, "
            "\"itc_1000_ms\": %s, \"vision_bound_ms\": %.2f, "
            "\"text_bound_ms\": %.2f, \"pair_bound_ms\": %.2f, "
            "\"vision_gflops\": %.1f, \"text_gflops\": %.1f, "
            "\"pair_gflops\": %.1f, \"peak_rss_mb\": %.0f}\n",
            random_kind ? random_kind : model_dir, prec_name, threads,
            blas_core, blas_config, blas_env_json,
            sgemm_gflops, vision_ms, text_ms, pair_ms, itm_1x1_ms, itm_1x8_ms, itc_text,
            vision_bound_ms, text_bound_ms, pair_bound_ms, vg / vision_ms * 1e3,
            tg / text_ms * 1e3, pg / pair_ms * 1e3, peak_rss_mb);
  } else {
    printf ("model %s, %s, %d threads; sgemm %d x %d x %d: %.1f GFLOPS\n",
            random_kind ? random_kind : model_dir, prec_name, threads, n_tok,
            e, e, sgemm_gflops);
    printf ("OpenBLAS kernel %s (%s; OPENBLAS_CORETYPE %s)\n", blas_core,
            blas_config, blas_env ? blas_env : "unset");
    printf ("%-26s %10s %10s %8s %10s\n", "stage", "ms", "bound ms", "ratio",
            "GFLOPS");
    printf ("%-26s %10.2f %10.2f %8.2f %10.1f\n", "vision tower, 1 image",
            vision_ms, vision_bound_ms, vision_ms / vision_bound_ms,
            vg / vision_ms * 1e3);
    printf ("%-26s %10.2f %10.2f %8.2f %10.1f\n", "text tower, 12 tokens",
            text_ms, text_bound_ms, text_ms / text_bound_ms,
            tg / text_ms * 1e3);
    printf ("%-26s %10.2f %10.2f %8.2f %10.1f\n", "cross + ITM, 1 pair",
            pair_ms, pair_bound_ms, pair_ms / pair_bound_ms,
            pg / pair_ms * 1e3);
    printf ("%-26s %10.2f\n", "full ITM, 1 x 1", itm_1x1_ms);
    printf ("%-26s %10.2f\n", "full ITM, 1 x 8", itm_1x8_ms);
    printf ("%-26s %10s\n", "ITC, 1000 cached queries",
            itc_1000_ms < 0 ? "-" : itc_text);
    printf ("peak RSS %.0f MB\n", peak_rss_mb);
  }

  g_array_unref (vision.gemms);
  g_array_unref (text.gemms);
  g_array_unref (pair.gemms);
  g_free (bank);
  g_free (scores);
  bt_image_features_unref (img);
  for (int q = 0; q < N_QUERIES; q++)
    bt_text_features_unref (txt[q]);
  g_free (b.pixels);
  bt_context_free (b.ctx);
  bt_model_unref (model);
  return 0;
}
