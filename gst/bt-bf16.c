/* bt-bf16.c - the bfloat16 linear layer on oneDNN's matmul.
 *
 * oneDNN builds one kernel per exact problem shape, and building one costs
 * one or two milliseconds, so kernels are cached per (rows, input stride,
 * post-op, threads) in a "shape" that every linear with the same (out, in, bias
 * presence) shares. A run-time row count (DNNL_RUNTIME_DIM_VAL) would avoid the cache
 * but makes oneDNN 2.6 fall back from its brgemm kernel to a plain gemm one,
 * 1.5 to 3 times slower (docs/bf16.md). All kernels of a shape take the
 * weights in one blocked layout, fixed when the shape is created.
 *
 * oneDNN's bf16 matmul takes no float32 source, so each call first converts
 * x into the calling thread's own buffer (a oneDNN reorder: vectorised and
 * threaded). The thread's buffer also holds both primitives' scratchpads
 * (user scratchpad mode), so after warm-up a call allocates no work memory
 * and two threads can run the same primitive at once.
 *
 * oneDNN is loaded with dlopen on first use, not linked: float32 users
 * never map it (40 MB, with libstdc++ and an OpenCL loader), and the
 * OpenMP runtime it brings reads its settings from the environment when it
 * loads, which gives us one chance to ask for passive waiting first (see
 * load_dnnl).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-bf16.h"

#ifdef BT_HAVE_DNNL
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>
#endif

/* Kernels of a new shape are first built for this many rows to learn the
 * weight layout oneDNN prefers (the same for every row count measured). */
#define LAYOUT_PROBE_ROWS 256
#define ALIGNMENT 64

static int bf16_num_threads;  /* atomic; 0 = number of cores */

void
bt_bf16_set_num_threads (int n)
{
  g_atomic_int_set (&bf16_num_threads, MAX (n, 0));
}

static GMutex registry_lock;
static GHashTable *registry;      /* const float * -> BtBf16Linear * */
static gint registry_size;        /* atomic mirror, for the fast path */

void
bt_bf16_registry_add (const float *weight, BtBf16Linear *l)
{
  g_mutex_lock (&registry_lock);
  if (!registry)
    registry = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (registry, (gpointer) weight, l);
  g_atomic_int_set (&registry_size, (gint) g_hash_table_size (registry));
  g_mutex_unlock (&registry_lock);
}

void
bt_bf16_registry_remove (const float *weight)
{
  g_mutex_lock (&registry_lock);
  if (registry)
    g_hash_table_remove (registry, weight);
  g_atomic_int_set (&registry_size,
                    registry ? (gint) g_hash_table_size (registry) : 0);
  g_mutex_unlock (&registry_lock);
}

BtBf16Linear *
bt_bf16_registry_lookup (const float *weight)
{
  if (g_atomic_int_get (&registry_size) == 0)
    return NULL;
  g_mutex_lock (&registry_lock);
  BtBf16Linear *l = registry ? g_hash_table_lookup (registry, weight) : NULL;
  g_mutex_unlock (&registry_lock);
  return l;
}

#ifdef BT_HAVE_DNNL

typedef struct {
  int rows, ldx;
  BtBf16Post post;
  int n_threads;
  dnnl_primitive_t to_bf16;        /* x: f32 -> bf16, rows x in */
  dnnl_primitive_t matmul;
  dnnl_memory_desc_t x_md, xb_md, y_md;
  dnnl_memory_desc_t to_bf16_scratch_md, matmul_scratch_md;
  gsize to_bf16_scratch, matmul_scratch;
} Kernel;

typedef struct {
  /* the key */
  int out, in;
  gboolean has_bias;

  int refcount;                    /* under shapes_lock */
  dnnl_memory_desc_t w_md;         /* bf16, in x out, blocked */
  dnnl_memory_desc_t b_md;         /* f32, 1 x out */
  GMutex lock;                     /* guards kernels */
  GPtrArray *kernels;
} Shape;

struct _BtBf16Linear {
  Shape *shape;
  void *weight;                    /* bf16 in shape->w_md's layout */
  gsize weight_bytes;
  float *bias;
};

/* What each thread that calls forward owns. */
typedef struct {
  dnnl_stream_t stream;
  guint8 *buf;
  gsize cap;
} ThreadState;

#define DNNL_FUNCTIONS(X) \
  X (engine_create) X (get_effective_cpu_isa) X (matmul_desc_init) \
  X (memory_create) X (memory_desc_get_size) X (memory_desc_init_by_tag) \
  X (memory_desc_init_by_strides) X (post_ops_append_sum) \
  X (memory_destroy) X (post_ops_append_eltwise) X (post_ops_create) \
  X (post_ops_destroy) X (primitive_attr_create) X (primitive_attr_destroy) \
  X (primitive_attr_set_post_ops) X (primitive_attr_set_scratchpad_mode) \
  X (primitive_create) X (primitive_desc_create) X (primitive_desc_destroy) \
  X (primitive_desc_query_md) X (primitive_destroy) X (primitive_execute) \
  X (reorder_primitive_desc_create) X (status2str) X (stream_create) \
  X (stream_destroy) X (stream_wait)

/* The oneDNN functions we use, resolved from the dlopen'ed library; the
 * OpenMP ones come from the runtime it pulls in. */
static struct {
#define DECLARE(f) __typeof__ (dnnl_##f) *f;
  DNNL_FUNCTIONS (DECLARE)
#undef DECLARE
  int (*omp_get_max_threads) (void);
  void (*omp_set_num_threads) (int);
} dnnl;

static dnnl_engine_t engine;
static GMutex shapes_lock;
static GHashTable *shapes;

static void
thread_state_free (gpointer data)
{
  ThreadState *ts = data;
  if (ts->stream)
    dnnl.stream_destroy (ts->stream);
  g_aligned_free (ts->buf);
  g_free (ts);
}

static GPrivate thread_state = G_PRIVATE_INIT (thread_state_free);

static gboolean
check (dnnl_status_t status, const char *what, GError **error)
{
  if (status == dnnl_success)
    return TRUE;
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED, "oneDNN: %s failed: %s",
               what, dnnl.status2str (status));
  return FALSE;
}

#define DNNL_SONAME "libdnnl.so." G_STRINGIFY (DNNL_VERSION_MAJOR)

/* Loads oneDNN and creates its CPU engine; returns NULL on success, else
 * why not (a static string).
 *
 * GNU OpenMP's threads spin for a while (300000 rounds, about a
 * millisecond) after each parallel region. Between two oneDNN calls that
 * steals a core from OpenBLAS's threads and from other elements, and a
 * descheduled team member makes the spinning ones wait for it: we measured
 * 2 to 100 times slower products on the shared 2-core machine
 * (docs/bf16.md). The runtime reads OMP_WAIT_POLICY once, when it loads, so
 * unless the user chose a policy, or OpenMP is already loaded, ask for
 * passive waiting now. (setenv is not safe against a concurrent getenv in
 * another thread; this runs once, at the first bf16 model load.) */
static gpointer
load_dnnl (gpointer data)
{
  (void) data;
  void *gomp = dlopen ("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (gomp)
    dlclose (gomp);
  else if (!g_getenv ("OMP_WAIT_POLICY") && !g_getenv ("GOMP_SPINCOUNT"))
    setenv ("OMP_WAIT_POLICY", "PASSIVE", 0);

  void *lib = dlopen (DNNL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return "cannot load " DNNL_SONAME " (oneDNN)";
#define RESOLVE(f) \
  if (!(dnnl.f = (__typeof__ (dnnl.f)) dlsym (lib, "dnnl_" #f))) \
    return DNNL_SONAME " lacks dnnl_" #f;
  DNNL_FUNCTIONS (RESOLVE)
#undef RESOLVE
  dnnl.omp_get_max_threads =
    (__typeof__ (dnnl.omp_get_max_threads)) dlsym (lib, "omp_get_max_threads");
  dnnl.omp_set_num_threads =
    (__typeof__ (dnnl.omp_set_num_threads)) dlsym (lib, "omp_set_num_threads");
  if (!dnnl.omp_get_max_threads || !dnnl.omp_set_num_threads)
    dnnl.omp_get_max_threads = NULL;

  if (dnnl.engine_create (&engine, dnnl_cpu, 0) != dnnl_success)
    return "oneDNN cannot create a CPU engine";
  return NULL;
}

static dnnl_engine_t
get_engine (GError **error)
{
  static GOnce once = G_ONCE_INIT;
  const char *why = g_once (&once, load_dnnl, NULL);
  if (why) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED, "bf16: %s", why);
    return NULL;
  }
  return engine;
}

static gboolean
cpu_has_bf16_units (void)
{
  dnnl_cpu_isa_t isa = dnnl.get_effective_cpu_isa ();
  return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

const char *
bt_bf16_isa_name (void)
{
  if (!get_engine (NULL))
    return "none";
  switch (dnnl.get_effective_cpu_isa ()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

gboolean
bt_bf16_available (GError **error)
{
  if (!get_engine (error))
    return FALSE;
  if (!cpu_has_bf16_units ()) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "this CPU has no bf16 units (neither AVX512-BF16 nor AMX; "
                 "oneDNN's best ISA here is %s)", bt_bf16_isa_name ());
    return FALSE;
  }
  return TRUE;
}

static ThreadState *
get_thread_state (GError **error)
{
  ThreadState *ts = g_private_get (&thread_state);
  if (ts)
    return ts;
  ts = g_new0 (ThreadState, 1);
  if (!check (dnnl.stream_create (&ts->stream, engine,
                                  dnnl_stream_default_flags),
              "creating a stream", error)) {
    g_free (ts);
    return NULL;
  }
  g_private_set (&thread_state, ts);
  return ts;
}

static guint8 *
thread_state_reserve (ThreadState *ts, gsize size)
{
  if (size > ts->cap) {
    g_aligned_free (ts->buf);
    ts->cap = size;
    ts->buf = g_aligned_alloc (1, size, ALIGNMENT);
  }
  return ts->buf;
}

/* oneDNN reads OpenMP's thread count of the calling thread (an OpenMP
 * setting is per thread) and bakes it into each kernel it builds. */
static int
apply_num_threads (void)
{
  int n = g_atomic_int_get (&bf16_num_threads);
  if (n <= 0)
    n = (int) g_get_num_processors ();
  if (dnnl.omp_get_max_threads && dnnl.omp_get_max_threads () != n)
    dnnl.omp_set_num_threads (n);
  return n;
}

static gsize
round_up (gsize n)
{
  return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
}

static void
kernel_free (gpointer data)
{
  Kernel *k = data;
  if (k->to_bf16)
    dnnl.primitive_destroy (k->to_bf16);
  if (k->matmul)
    dnnl.primitive_destroy (k->matmul);
  g_free (k);
}

static gboolean
init_2d (dnnl_memory_desc_t *md, gint64 d0, gint64 d1, dnnl_data_type_t dt,
         dnnl_format_tag_t tag, GError **error)
{
  dnnl_dims_t dims = { d0, d1 };
  return check (dnnl.memory_desc_init_by_tag (md, 2, dims, dt, tag),
                "describing a matrix", error);
}

/* A row-major matrix whose rows are `ld` elements apart. */
static gboolean
init_rows (dnnl_memory_desc_t *md, gint64 rows, gint64 cols, gint64 ld,
           dnnl_data_type_t dt, GError **error)
{
  dnnl_dims_t dims = { rows, cols }, strides = { ld, 1 };
  return check (dnnl.memory_desc_init_by_strides (md, 2, dims, dt, strides),
                "describing a matrix", error);
}

static dnnl_alg_kind_t
post_eltwise (BtBf16Post post, float *alpha)
{
  *alpha = 0;
  switch (post) {
    case BT_BF16_POST_GELU_ERF: return dnnl_eltwise_gelu_erf;
    case BT_BF16_POST_QUICK_GELU: *alpha = 1.702f; return dnnl_eltwise_swish;
    case BT_BF16_POST_TANH: return dnnl_eltwise_tanh;
    default: return dnnl_alg_kind_undef;
  }
}

/* Builds the matmul primitive descriptor for `rows` rows; weights in
 * `w_md` (format_tag_any lets oneDNN choose). */
static dnnl_primitive_desc_t
create_matmul_pd (const Shape *s, const dnnl_memory_desc_t *xb_md,
                  const dnnl_memory_desc_t *w_md,
                  const dnnl_memory_desc_t *y_md, BtBf16Post post,
                  GError **error)
{
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_matmul_desc_t desc;
  float alpha;
  dnnl_alg_kind_t alg = post_eltwise (post, &alpha);

  if (!check (dnnl.matmul_desc_init (&desc, xb_md, w_md,
                                     s->has_bias ? &s->b_md : NULL, y_md),
              "describing a matmul", error))
    return NULL;
  if (!check (dnnl.primitive_attr_create (&attr), "creating attributes", error))
    return NULL;
  gboolean ok = check (dnnl.primitive_attr_set_scratchpad_mode (
                         attr, dnnl_scratchpad_mode_user),
                       "setting the scratchpad mode", error);
  if (ok && post != BT_BF16_POST_NONE) {
    ok = check (dnnl.post_ops_create (&ops), "creating post-ops", error);
    if (ok && post == BT_BF16_POST_ACCUMULATE)
      ok = check (dnnl.post_ops_append_sum (ops, 1.0f), "adding a sum", error);
    else if (ok)
      ok = check (dnnl.post_ops_append_eltwise (ops, 1.0f, alg, alpha, 0),
                  "adding an activation", error);
    if (ok)
      ok = check (dnnl.primitive_attr_set_post_ops (attr, ops),
                  "attaching post-ops", error);
  }
  if (ok)
    ok = check (dnnl.primitive_desc_create (&pd, &desc, attr, engine, NULL),
                "creating a bf16 matmul", error);
  if (ops)
    dnnl.post_ops_destroy (ops);
  dnnl.primitive_attr_destroy (attr);
  return ok ? pd : NULL;
}

static Kernel *
kernel_new (const Shape *s, const Kernel *key, GError **error)
{
  Kernel *k = g_new0 (Kernel, 1);
  dnnl_primitive_desc_t mpd = NULL, rpd = NULL;
  dnnl_primitive_attr_t attr = NULL;

  *k = *key;
  if (!init_rows (&k->x_md, k->rows, s->in, k->ldx, dnnl_f32, error) ||
      !init_2d (&k->xb_md, k->rows, s->in, dnnl_bf16, dnnl_ab, error) ||
      !init_2d (&k->y_md, k->rows, s->out, dnnl_f32, dnnl_ab, error))
    goto fail;

  mpd = create_matmul_pd (s, &k->xb_md, &s->w_md, &k->y_md, k->post, error);
  if (!mpd)
    goto fail;
  k->matmul_scratch_md =
    *dnnl.primitive_desc_query_md (mpd, dnnl_query_scratchpad_md, 0);
  k->matmul_scratch = dnnl.memory_desc_get_size (&k->matmul_scratch_md);
  if (!check (dnnl.primitive_create (&k->matmul, mpd), "building a bf16 matmul",
              error))
    goto fail;

  if (!check (dnnl.primitive_attr_create (&attr), "creating attributes", error)
      || !check (dnnl.primitive_attr_set_scratchpad_mode (
                   attr, dnnl_scratchpad_mode_user),
                 "setting the scratchpad mode", error)
      || !check (dnnl.reorder_primitive_desc_create (&rpd, &k->x_md, engine,
                                                     &k->xb_md, engine, attr),
                 "creating an f32 -> bf16 reorder", error))
    goto fail;
  k->to_bf16_scratch_md =
    *dnnl.primitive_desc_query_md (rpd, dnnl_query_scratchpad_md, 0);
  k->to_bf16_scratch = dnnl.memory_desc_get_size (&k->to_bf16_scratch_md);
  if (!check (dnnl.primitive_create (&k->to_bf16, rpd),
              "building an f32 -> bf16 reorder", error))
    goto fail;

  dnnl.primitive_attr_destroy (attr);
  dnnl.primitive_desc_destroy (rpd);
  dnnl.primitive_desc_destroy (mpd);
  return k;

fail:
  if (attr)
    dnnl.primitive_attr_destroy (attr);
  if (rpd)
    dnnl.primitive_desc_destroy (rpd);
  if (mpd)
    dnnl.primitive_desc_destroy (mpd);
  kernel_free (k);
  return NULL;
}

static Kernel *
shape_get_kernel (Shape *s, const Kernel *key, GError **error)
{
  Kernel *k = NULL;

  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->kernels->len; i++) {
    Kernel *c = g_ptr_array_index (s->kernels, i);
    if (c->rows == key->rows && c->ldx == key->ldx
        && c->post == key->post && c->n_threads == key->n_threads) {
      k = c;
      break;
    }
  }
  /* Built under the lock: a second thread wanting the same kernel waits
   * rather than building it twice. */
  if (!k) {
    k = kernel_new (s, key, error);
    if (k)
      g_ptr_array_add (s->kernels, k);
  }
  g_mutex_unlock (&s->lock);
  return k;
}

static guint
shape_hash (gconstpointer p)
{
  const Shape *s = p;
  return (guint) s->out * 31u + (guint) s->in * 7u + (guint) s->has_bias;
}

static gboolean
shape_equal (gconstpointer a, gconstpointer b)
{
  const Shape *x = a, *y = b;
  return x->out == y->out && x->in == y->in && x->has_bias == y->has_bias;
}

static void
shape_free (Shape *s)
{
  g_ptr_array_unref (s->kernels);
  g_mutex_clear (&s->lock);
  g_free (s);
}

/* Learns the weight layout oneDNN's kernel wants for this shape. */
static Shape *
shape_new (const Shape *key, GError **error)
{
  Shape *s = g_new0 (Shape, 1);
  dnnl_memory_desc_t any_w, xb, y;

  *s = *key;
  s->refcount = 1;
  g_mutex_init (&s->lock);
  s->kernels = g_ptr_array_new_with_free_func (kernel_free);
  if (!init_2d (&s->b_md, 1, s->out, dnnl_f32, dnnl_ab, error) ||
      !init_2d (&any_w, s->in, s->out, dnnl_bf16, dnnl_format_tag_any, error) ||
      !init_2d (&xb, LAYOUT_PROBE_ROWS, s->in, dnnl_bf16, dnnl_ab, error) ||
      !init_2d (&y, LAYOUT_PROBE_ROWS, s->out, dnnl_f32, dnnl_ab, error)) {
    shape_free (s);
    return NULL;
  }
  dnnl_primitive_desc_t pd = create_matmul_pd (s, &xb, &any_w, &y,
                                               BT_BF16_POST_NONE, error);
  if (!pd) {
    shape_free (s);
    return NULL;
  }
  s->w_md = *dnnl.primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  dnnl.primitive_desc_destroy (pd);
  return s;
}

static Shape *
shape_acquire (const Shape *key, GError **error)
{
  g_mutex_lock (&shapes_lock);
  if (!shapes)
    shapes = g_hash_table_new (shape_hash, shape_equal);
  Shape *s = g_hash_table_lookup (shapes, key);
  if (s) {
    s->refcount++;
  } else {
    s = shape_new (key, error);
    if (s)
      g_hash_table_add (shapes, s);
  }
  g_mutex_unlock (&shapes_lock);
  return s;
}

static void
shape_release (Shape *s)
{
  g_mutex_lock (&shapes_lock);
  if (--s->refcount == 0) {
    g_hash_table_remove (shapes, s);
    shape_free (s);
  }
  g_mutex_unlock (&shapes_lock);
}

static dnnl_memory_t
wrap (const dnnl_memory_desc_t *md, const void *data)
{
  dnnl_memory_t m = NULL;
  /* oneDNN takes a non-const handle even for inputs it only reads */
  if (dnnl.memory_create (&m, md, engine, (void *) data) != dnnl_success)
    return NULL;
  return m;
}

/* Runs a primitive on `n` arguments and releases their memory objects. */
static gboolean
execute (dnnl_primitive_t prim, ThreadState *ts, dnnl_exec_arg_t *args, int n,
         const char *what, GError **error)
{
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++)
    if (!args[i].memory)
      ok = check (dnnl_out_of_memory, what, error);
  if (ok)
    ok = check (dnnl.primitive_execute (prim, ts->stream, n, args), what, error)
         && check (dnnl.stream_wait (ts->stream), what, error);
  for (int i = 0; i < n; i++)
    if (args[i].memory)
      dnnl.memory_destroy (args[i].memory);
  return ok;
}

BtBf16Linear *
bt_bf16_linear_new (const float *weight, const float *bias, int out, int in,
                    GError **error)
{
  g_return_val_if_fail (weight != NULL && out > 0 && in > 0, NULL);

  if (!bt_bf16_available (error))
    return NULL;
  ThreadState *ts = get_thread_state (error);
  if (!ts)
    return NULL;
  apply_num_threads ();

  Shape key = { .out = out, .in = in, .has_bias = bias != NULL };
  Shape *s = shape_acquire (&key, error);
  if (!s)
    return NULL;

  BtBf16Linear *l = g_new0 (BtBf16Linear, 1);
  l->shape = s;
  l->weight_bytes = dnnl.memory_desc_get_size (&s->w_md);
  l->weight = g_aligned_alloc (1, l->weight_bytes, ALIGNMENT);
  if (bias)
    l->bias = g_memdup2 (bias, (gsize) out * sizeof (float));

  /* [out, in] row-major is the in x out matrix matmul wants, stored
   * column-major ("ba") */
  dnnl_memory_desc_t w_f32_md;
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t reorder = NULL;
  gboolean ok = init_2d (&w_f32_md, in, out, dnnl_f32, dnnl_ba, error)
    && check (dnnl.reorder_primitive_desc_create (&rpd, &w_f32_md, engine,
                                                  &s->w_md, engine, NULL),
              "creating the weight conversion", error)
    && check (dnnl.primitive_create (&reorder, rpd),
              "building the weight conversion", error);
  if (ok) {
    dnnl_exec_arg_t args[] = {
      { DNNL_ARG_FROM, wrap (&w_f32_md, weight) },
      { DNNL_ARG_TO, wrap (&s->w_md, l->weight) },
    };
    ok = execute (reorder, ts, args, G_N_ELEMENTS (args),
                  "converting weights to bf16", error);
  }
  if (reorder)
    dnnl.primitive_destroy (reorder);
  if (rpd)
    dnnl.primitive_desc_destroy (rpd);
  if (!ok) {
    bt_bf16_linear_free (l);
    return NULL;
  }
  return l;
}

void
bt_bf16_linear_free (BtBf16Linear *l)
{
  if (!l)
    return;
  shape_release (l->shape);
  g_aligned_free (l->weight);
  g_free (l->bias);
  g_free (l);
}

int
bt_bf16_linear_get_in (const BtBf16Linear *l)
{
  return l->shape->in;
}

int
bt_bf16_linear_get_out (const BtBf16Linear *l)
{
  return l->shape->out;
}

gsize
bt_bf16_linear_get_weight_bytes (const BtBf16Linear *l)
{
  return l->weight_bytes + (l->bias ? (gsize) l->shape->out * sizeof (float) : 0);
}

gboolean
bt_bf16_linear_forward (BtBf16Linear *l, const float *x, int rows, int ldx,
                        float *y, int ldy, BtBf16Post post, GError **error)
{
  g_return_val_if_fail (l != NULL && x != NULL && y != NULL && rows > 0,
                        FALSE);

  Shape *s = l->shape;
  ThreadState *ts = get_thread_state (error);
  if (!ts)
    return FALSE;
  /* oneDNN 2.6 runs a strided output on its reference kernel, hundreds of
   * times slower: such outputs go through a dense buffer */
  gboolean dense_y = ldy <= 0 || ldy == s->out;
  Kernel key = {
    .rows = rows, .ldx = ldx > 0 ? ldx : s->in,
    .post = dense_y || post != BT_BF16_POST_ACCUMULATE ? post
                                                      : BT_BF16_POST_NONE,
    .n_threads = apply_num_threads (),
  };
  Kernel *k = shape_get_kernel (s, &key, error);
  if (!k)
    return FALSE;

  gsize xb_size = round_up ((gsize) rows * s->in * 2);
  gsize mm_size = round_up (k->matmul_scratch);
  gsize re_size = round_up (k->to_bf16_scratch);
  gsize y_size = dense_y ? 0 : (gsize) rows * s->out * sizeof (float);
  guint8 *buf = thread_state_reserve (ts, xb_size + mm_size + re_size + y_size);
  guint8 *xb = buf, *mm_scratch = buf + xb_size;
  guint8 *re_scratch = mm_scratch + mm_size;
  float *y_dense = dense_y ? y : (float *) (re_scratch + re_size);

  dnnl_exec_arg_t conv[3] = {
    { DNNL_ARG_FROM, wrap (&k->x_md, x) },
    { DNNL_ARG_TO, wrap (&k->xb_md, xb) },
  };
  int n_conv = 2;
  if (k->to_bf16_scratch)
    conv[n_conv++] = (dnnl_exec_arg_t) {
      DNNL_ARG_SCRATCHPAD, wrap (&k->to_bf16_scratch_md, re_scratch) };
  if (!execute (k->to_bf16, ts, conv, n_conv, "converting input to bf16",
                error))
    return FALSE;

  dnnl_exec_arg_t mm[5] = {
    { DNNL_ARG_SRC, wrap (&k->xb_md, xb) },
    { DNNL_ARG_WEIGHTS, wrap (&s->w_md, l->weight) },
    { DNNL_ARG_DST, wrap (&k->y_md, y_dense) },
  };
  int n_mm = 3;
  if (l->bias)
    mm[n_mm++] = (dnnl_exec_arg_t) { DNNL_ARG_BIAS, wrap (&s->b_md, l->bias) };
  if (k->matmul_scratch)
    mm[n_mm++] = (dnnl_exec_arg_t) {
      DNNL_ARG_SCRATCHPAD, wrap (&k->matmul_scratch_md, mm_scratch) };
  if (!execute (k->matmul, ts, mm, n_mm, "bf16 matmul", error))
    return FALSE;

  if (!dense_y) {
    for (int r = 0; r < rows; r++) {
      const float *src = y_dense + (gsize) r * s->out;
      float *dst = y + (gsize) r * ldy;
      if (post == BT_BF16_POST_ACCUMULATE)
        for (int j = 0; j < s->out; j++)
          dst[j] += src[j];
      else
        memcpy (dst, src, (gsize) s->out * sizeof (float));
    }
  }
  return TRUE;
}

#else /* !BT_HAVE_DNNL */

struct _BtBf16Linear {
  int out, in;
};

static void
set_not_built (GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "bf16 needs oneDNN, and this build has none (install "
               "libdnnl-dev and reconfigure with meson -Dbf16=enabled)");
}

const char *
bt_bf16_isa_name (void)
{
  return "none";
}

gboolean
bt_bf16_available (GError **error)
{
  set_not_built (error);
  return FALSE;
}

BtBf16Linear *
bt_bf16_linear_new (const float *weight, const float *bias, int out, int in,
                    GError **error)
{
  (void) weight, (void) bias, (void) out, (void) in;
  set_not_built (error);
  return NULL;
}

void
bt_bf16_linear_free (BtBf16Linear *l)
{
  g_free (l);
}

int
bt_bf16_linear_get_in (const BtBf16Linear *l)
{
  return l->in;
}

int
bt_bf16_linear_get_out (const BtBf16Linear *l)
{
  return l->out;
}

gsize
bt_bf16_linear_get_weight_bytes (const BtBf16Linear *l)
{
  (void) l;
  return 0;
}

gboolean
bt_bf16_linear_forward (BtBf16Linear *l, const float *x, int rows, int ldx,
                        float *y, int ldy, BtBf16Post post, GError **error)
{
  (void) l, (void) x, (void) rows, (void) ldx, (void) y, (void) ldy, (void) post;
  set_not_built (error);
  return FALSE;
}

#endif
