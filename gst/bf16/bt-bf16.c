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
#include <immintrin.h>
#include <math.h>
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

#ifdef BT_HAVE_DNNL

typedef struct {
  int rows, ldx;
  BtBf16Post post;
  int n_threads;
  dnnl_primitive_t to_bf16;        /* x: f32 -> bf16, rows x in; NULL: int8 */
  dnnl_primitive_t matmul;
  dnnl_memory_desc_t x_md, xb_md, y_md;
  dnnl_memory_desc_t to_bf16_scratch_md, matmul_scratch_md;
  gsize to_bf16_scratch, matmul_scratch;
} Kernel;

typedef struct {
  /* the key */
  int out, in;
  gboolean has_bias;
  gboolean int8;                   /* s8 x s8 products, else bf16 */

  int refcount;                    /* under shapes_lock */
  dnnl_memory_desc_t w_md;         /* bf16 or s8, in x out, blocked */
  dnnl_memory_desc_t b_md;         /* f32, 1 x out (int8: also the scales) */
  GMutex lock;                     /* guards kernels */
  GPtrArray *kernels;
} Shape;

struct _BtBf16Linear {
  Shape *shape;
  void *weight;                    /* bf16 or s8 in shape->w_md's layout */
  gsize weight_bytes;
  float *bias;
  float *w_scale;                  /* int8: out scales, w ~ w_scale[n] q */
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
  X (stream_destroy) X (stream_wait) X (primitive_attr_set_output_scales) \
  X (post_ops_append_binary) X (softmax_v2_forward_desc_init)

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

/* int8 products want VNNI (vpdpbusd): without it oneDNN's int8 kernels
 * are no faster than its bf16 or float32 ones. */
static gboolean
cpu_has_vnni (void)
{
  dnnl_cpu_isa_t isa = dnnl.get_effective_cpu_isa ();
  return (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni
         || (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
}

gboolean
bt_int8_available (GError **error)
{
  if (!get_engine (error))
    return FALSE;
  if (!cpu_has_vnni ()) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "this CPU has no VNNI (neither AVX512-VNNI nor AVX-VNNI; "
                 "oneDNN's best ISA here is %s)", bt_bf16_isa_name ());
    return FALSE;
  }
  return TRUE;
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

  /* int8: the bias goes after the rescaling, a binary add; oneDNN 2.6
   * would add it to the int32 sums */
  if (!check (dnnl.matmul_desc_init (&desc, xb_md, w_md,
                                     s->has_bias && !s->int8 ? &s->b_md : NULL,
                                     y_md),
              "describing a matmul", error))
    return NULL;
  if (!check (dnnl.primitive_attr_create (&attr), "creating attributes", error))
    return NULL;
  gboolean ok = check (dnnl.primitive_attr_set_scratchpad_mode (
                         attr, dnnl_scratchpad_mode_user),
                       "setting the scratchpad mode", error);
  if (ok && (post != BT_BF16_POST_NONE || s->int8))
    ok = check (dnnl.post_ops_create (&ops), "creating post-ops", error);
  /* int8: y = scale[n] * sum + b[n], the scales per call (the x scale
   * changes): a run-time output scale would make oneDNN 2.6 fall back from
   * brgemm to its 3-10x slower gemm kernel, a binary operand does not */
  if (ok && s->int8)
    ok = check (dnnl.post_ops_append_binary (ops, dnnl_binary_mul, &s->b_md),
                "adding the scales", error)
      && (!s->has_bias
          || check (dnnl.post_ops_append_binary (ops, dnnl_binary_add,
                                                 &s->b_md),
                    "adding the bias", error));
  if (ok && post != BT_BF16_POST_NONE) {
    if (post == BT_BF16_POST_ACCUMULATE)
      ok = check (dnnl.post_ops_append_sum (ops, 1.0f), "adding a sum", error);
    else
      ok = check (dnnl.post_ops_append_eltwise (ops, 1.0f, alg, alpha, 0),
                  "adding an activation", error);
  }
  if (ok && ops)
    ok = check (dnnl.primitive_attr_set_post_ops (attr, ops),
                "attaching post-ops", error);
  if (ok)
    ok = check (dnnl.primitive_desc_create (&pd, &desc, attr, engine, NULL),
                s->int8 ? "creating an int8 matmul" : "creating a bf16 matmul",
                error);
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
      !init_2d (&k->xb_md, k->rows, s->in, s->int8 ? dnnl_s8 : dnnl_bf16,
                dnnl_ab, error) ||
      !init_2d (&k->y_md, k->rows, s->out, dnnl_f32, dnnl_ab, error))
    goto fail;

  mpd = create_matmul_pd (s, &k->xb_md, &s->w_md, &k->y_md, k->post, error);
  if (!mpd)
    goto fail;
  k->matmul_scratch_md =
    *dnnl.primitive_desc_query_md (mpd, dnnl_query_scratchpad_md, 0);
  k->matmul_scratch = dnnl.memory_desc_get_size (&k->matmul_scratch_md);
  if (!check (dnnl.primitive_create (&k->matmul, mpd), "building a matmul",
              error))
    goto fail;
  if (s->int8) {                   /* x is quantized by quantize_rows */
    dnnl.primitive_desc_destroy (mpd);
    return k;
  }

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
    if (c->rows == key->rows && (c->ldx == key->ldx || s->int8)
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
  return (guint) s->out * 31u + (guint) s->in * 7u + (guint) s->has_bias
         + 2u * (guint) s->int8;
}

static gboolean
shape_equal (gconstpointer a, gconstpointer b)
{
  const Shape *x = a, *y = b;
  return x->out == y->out && x->in == y->in && x->has_bias == y->has_bias
         && x->int8 == y->int8;
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
  const dnnl_data_type_t dt = key->int8 ? dnnl_s8 : dnnl_bf16;

  *s = *key;
  s->refcount = 1;
  g_mutex_init (&s->lock);
  s->kernels = g_ptr_array_new_with_free_func (kernel_free);
  if (!init_2d (&s->b_md, 1, s->out, dnnl_f32, dnnl_ab, error) ||
      !init_2d (&any_w, s->in, s->out, dt, dnnl_format_tag_any, error) ||
      !init_2d (&xb, LAYOUT_PROBE_ROWS, s->in, dt, dnnl_ab, error) ||
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
  for (int i = 0; i < n && ok; i++)
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

/* Symmetric per output channel: w[n, k] ~ scale[n] q[n, k] with q in
 * [-127, 127] rounded to nearest, so |w - scale q| <= scale / 2. Returns
 * the [out, in] int8 matrix (g_free). */
static gint8 *
quantize_weight (const float *w, int out, int in, float *scale)
{
  gint8 *q = g_malloc ((gsize) out * in);
  for (int n = 0; n < out; n++) {
    const float *row = w + (gsize) n * in;
    float amax = 0;
    for (int k = 0; k < in; k++)
      amax = MAX (amax, fabsf (row[k]));
    scale[n] = amax / 127.0f;
    const float inv = amax > 0 ? 127.0f / amax : 0;
    for (int k = 0; k < in; k++)
      q[(gsize) n * in + k] = (gint8) lrintf (row[k] * inv);
  }
  return q;
}

static BtBf16Linear *
linear_new (const float *weight, const float *bias, int out, int in,
            gboolean int8, GError **error)
{
  g_return_val_if_fail (weight != NULL && out > 0 && in > 0, NULL);

  if (!(int8 ? bt_int8_available (error) : bt_bf16_available (error)))
    return NULL;
  ThreadState *ts = get_thread_state (error);
  if (!ts)
    return NULL;
  apply_num_threads ();

  Shape key = { .out = out, .in = in, .has_bias = bias != NULL, .int8 = int8 };
  Shape *s = shape_acquire (&key, error);
  if (!s)
    return NULL;

  BtBf16Linear *l = g_new0 (BtBf16Linear, 1);
  l->shape = s;
  l->weight_bytes = dnnl.memory_desc_get_size (&s->w_md);
  l->weight = g_aligned_alloc (1, l->weight_bytes, ALIGNMENT);
  if (bias)
    l->bias = g_memdup2 (bias, (gsize) out * sizeof (float));
  g_autofree gint8 *q = NULL;
  if (int8) {
    l->w_scale = g_new (float, out);
    q = quantize_weight (weight, out, in, l->w_scale);
  }

  /* [out, in] row-major is the in x out matrix matmul wants, stored
   * column-major ("ba"); int8 weights also get the compensation oneDNN
   * needs for signed x (the reorder computes it) */
  dnnl_memory_desc_t w_src_md;
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t reorder = NULL;
  gboolean ok = init_2d (&w_src_md, in, out, int8 ? dnnl_s8 : dnnl_f32,
                         dnnl_ba, error)
    && check (dnnl.reorder_primitive_desc_create (&rpd, &w_src_md, engine,
                                                  &s->w_md, engine, NULL),
              "creating the weight conversion", error)
    && check (dnnl.primitive_create (&reorder, rpd),
              "building the weight conversion", error);
  if (ok) {
    dnnl_exec_arg_t args[] = {
      { DNNL_ARG_FROM, wrap (&w_src_md, int8 ? (const void *) q : weight) },
      { DNNL_ARG_TO, wrap (&s->w_md, l->weight) },
    };
    ok = execute (reorder, ts, args, G_N_ELEMENTS (args),
                  "packing the weights", error);
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

BtBf16Linear *
bt_bf16_linear_new (const float *weight, const float *bias, int out, int in,
                    GError **error)
{
  return linear_new (weight, bias, out, in, FALSE, error);
}

BtBf16Linear *
bt_int8_linear_new (const float *weight, const float *bias, int out, int in,
                    GError **error)
{
  return linear_new (weight, bias, out, in, TRUE, error);
}

void
bt_bf16_linear_free (BtBf16Linear *l)
{
  if (!l)
    return;
  shape_release (l->shape);
  g_aligned_free (l->weight);
  g_free (l->bias);
  g_free (l->w_scale);
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
  return l->weight_bytes
         + ((l->bias ? 1 : 0) + (l->w_scale ? 1 : 0)) * (gsize) l->shape->out
           * sizeof (float);
}

/* The largest |x| of a row as float bits (a NaN's are above infinity's,
 * 0x7f800000), and the row times `inv` rounded to nearest even into int8.
 * AVX2, which every VNNI CPU has (the int8 path runs only on those): the
 * compiler does not vectorise these loops at -O2. */
__attribute__ ((target ("avx2"))) static guint32
row_amax_bits (const float *x, int n)
{
  const __m256i abs_mask = _mm256_set1_epi32 (0x7fffffff);
  __m256i m = _mm256_setzero_si256 ();
  int k = 0;
  for (; k + 8 <= n; k += 8)
    m = _mm256_max_epu32 (m, _mm256_and_si256 (
          _mm256_loadu_si256 ((const __m256i *) (x + k)), abs_mask));
  guint32 lanes[8], best = 0;
  _mm256_storeu_si256 ((__m256i *) lanes, m);
  for (int i = 0; i < 8; i++)
    best = MAX (best, lanes[i]);
  for (; k < n; k++) {
    guint32 bits;
    memcpy (&bits, x + k, sizeof bits);
    best = MAX (best, bits & 0x7fffffffu);
  }
  return best;
}

__attribute__ ((target ("avx2"))) static void
row_quantize (const float *x, int n, float inv, gint8 *q)
{
  const __m256 s = _mm256_set1_ps (inv);
  /* packs interleave the two 128-bit lanes; this puts the bytes back */
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  int k = 0;
  for (; k + 32 <= n; k += 32) {
    __m256i a = _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x + k), s));
    __m256i b = _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x + k + 8),
                                                   s));
    __m256i c = _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x + k + 16),
                                                   s));
    __m256i d = _mm256_cvtps_epi32 (_mm256_mul_ps (_mm256_loadu_ps (x + k + 24),
                                                   s));
    __m256i bytes = _mm256_packs_epi16 (_mm256_packs_epi32 (a, b),
                                        _mm256_packs_epi32 (c, d));
    _mm256_storeu_si256 ((__m256i *) (q + k),
                         _mm256_permutevar8x32_epi32 (bytes, order));
  }
  for (; k < n; k++)
    q[k] = (gint8) lrintf (x[k] * inv);
}

/* One scale for the whole x (oneDNN 2.6's fast kernels take no per-row
 * one): x ~ sx q, q = round (x / sx) in [-127, 127], sx = max |x| / 127, so
 * |x - sx q| <= sx / 2. FALSE when x holds a NaN or an infinity. */
static gboolean
quantize_rows (const float *x, int rows, int in, int ldx, gint8 *q,
               float *sx)
{
  guint32 amax_bits = 0;
  for (int r = 0; r < rows; r++)
    amax_bits = MAX (amax_bits, row_amax_bits (x + (gsize) r * ldx, in));
  if (amax_bits >= 0x7f800000u)
    return FALSE;
  float amax;
  memcpy (&amax, &amax_bits, sizeof amax);
  *sx = amax / 127.0f;
  const float inv = amax > 0 ? 127.0f / amax : 0;
  for (int r = 0; r < rows; r++)
    row_quantize (x + (gsize) r * ldx, in, inv, q + (gsize) r * in);
  return TRUE;
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

  gsize xb_size = round_up ((gsize) rows * s->in * (s->int8 ? 1 : 2));
  gsize mm_size = round_up (k->matmul_scratch);
  gsize re_size = round_up (MAX (k->to_bf16_scratch,
                                 s->int8 ? s->out * sizeof (float) : 0));
  gsize y_size = dense_y ? 0 : (gsize) rows * s->out * sizeof (float);
  guint8 *buf = thread_state_reserve (ts, xb_size + mm_size + re_size + y_size);
  guint8 *xb = buf, *mm_scratch = buf + xb_size;
  guint8 *re_scratch = mm_scratch + mm_size;
  float *y_dense = dense_y ? y : (float *) (re_scratch + re_size);

  dnnl_exec_arg_t mm[6] = {
    { DNNL_ARG_SRC, wrap (&k->xb_md, xb) },
    { DNNL_ARG_WEIGHTS, wrap (&s->w_md, l->weight) },
    { DNNL_ARG_DST, wrap (&k->y_md, y_dense) },
  };
  int n_mm = 3;
  if (s->int8) {
    /* y = sx w_scale[n] (q_x . q_w) + b[n]: the per-call scales go where
     * the bf16 path keeps its conversion scratchpad */
    float sx, *scale = (float *) re_scratch;
    if (!quantize_rows (x, rows, s->in, key.ldx, (gint8 *) xb, &sx)) {
      for (int i = 0; i < n_mm; i++)
        if (mm[i].memory)
          dnnl.memory_destroy (mm[i].memory);
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "int8 linear: the input holds NaN or infinity");
      return FALSE;
    }
    for (int n = 0; n < s->out; n++)
      scale[n] = sx * l->w_scale[n];
    mm[n_mm++] = (dnnl_exec_arg_t) {
      DNNL_ARG_ATTR_MULTIPLE_POST_OP (0) | DNNL_ARG_SRC_1,
      wrap (&s->b_md, scale) };
    if (l->bias)
      mm[n_mm++] = (dnnl_exec_arg_t) {
        DNNL_ARG_ATTR_MULTIPLE_POST_OP (1) | DNNL_ARG_SRC_1,
        wrap (&s->b_md, l->bias) };
  } else {
    dnnl_exec_arg_t conv[3] = {
      { DNNL_ARG_FROM, wrap (&k->x_md, x) },
      { DNNL_ARG_TO, wrap (&k->xb_md, xb) },
    };
    int n_conv = 2;
    if (k->to_bf16_scratch)
      conv[n_conv++] = (dnnl_exec_arg_t) {
        DNNL_ARG_SCRATCHPAD, wrap (&k->to_bf16_scratch_md, re_scratch) };
    if (!execute (k->to_bf16, ts, conv, n_conv, "converting input to bf16",
                  error)) {
      for (int i = 0; i < n_mm; i++)
        if (mm[i].memory)
          dnnl.memory_destroy (mm[i].memory);
      return FALSE;
    }
    if (l->bias)
      mm[n_mm++] = (dnnl_exec_arg_t) { DNNL_ARG_BIAS,
                                       wrap (&s->b_md, l->bias) };
  }
  if (k->matmul_scratch)
    mm[n_mm++] = (dnnl_exec_arg_t) {
      DNNL_ARG_SCRATCHPAD, wrap (&k->matmul_scratch_md, mm_scratch) };
  if (!execute (k->matmul, ts, mm, n_mm, s->int8 ? "int8 matmul" : "bf16 matmul",
                error))
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

/* ---- attention ----------------------------------------------------------
 *
 * Per call: Q, K and V to bf16 [heads, n, d] (three reorders that also
 * gather the heads), scores = Q K^T scaled (+ mask) in float32 (a batched
 * matmul with an output scale and a broadcast add), softmax from float32
 * scores to bf16 probabilities, P V in float32, and a reorder that puts the
 * heads back side by side in `out`. Kernels are cached per problem. */

typedef struct {
  int n_q, n_k, heads, d, ldq, ldk, ldv, ldo;
  gboolean mask;
  int n_threads;
} AttnKey;

enum { ATT_Q, ATT_K, ATT_V, ATT_SCORES, ATT_SOFTMAX, ATT_PV, ATT_OUT, ATT_N };

typedef struct {
  AttnKey key;
  dnnl_primitive_t prim[ATT_N];
  dnnl_memory_desc_t scratch_md[ATT_N];
  gsize scratch[ATT_N];
  /* q/k/v as given, bf16 [heads, n, d] dense, K^T view, scores, P, O, out,
   * mask */
  dnnl_memory_desc_t q_md, k_md, v_md, qb_md, kb_md, kt_md, s_md, p_md, o_md,
    out_md, mask_md;
} AttnKernel;

static GMutex attn_lock;
static GHashTable *attn_kernels;    /* AttnKey -> AttnKernel, process-wide */

static guint
attn_key_hash (gconstpointer p)
{
  const AttnKey *k = p;
  return (guint) k->n_q * 2654435761u ^ (guint) k->n_k * 40503u
         ^ (guint) k->ldq * 97u ^ (guint) k->ldk * 89u ^ (guint) k->ldv * 83u
         ^ (guint) k->ldo * 79u ^ (guint) k->heads * 7u ^ (guint) k->d
         ^ (guint) k->mask << 30 ^ (guint) k->n_threads << 27;
}

static gboolean
attn_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (AttnKey)) == 0;
}

static gboolean
init_3d (dnnl_memory_desc_t *md, gint64 d0, gint64 d1, gint64 d2,
         dnnl_data_type_t dt, gint64 s0, gint64 s1, gint64 s2, GError **error)
{
  dnnl_dims_t dims = { d0, d1, d2 }, strides = { s0, s1, s2 };
  return check (dnnl.memory_desc_init_by_strides (md, 3, dims, dt, strides),
                "describing a batch of matrices", error);
}

static void
attn_kernel_free (AttnKernel *k)
{
  for (int i = 0; i < ATT_N; i++)
    if (k->prim[i])
      dnnl.primitive_destroy (k->prim[i]);
  g_free (k);
}

/* Builds primitive `i` from `pd` (consumed), noting its scratchpad. */
static gboolean
attn_take (AttnKernel *k, int i, dnnl_primitive_desc_t pd, GError **error)
{
  k->scratch_md[i] = *dnnl.primitive_desc_query_md (pd, dnnl_query_scratchpad_md,
                                                    0);
  k->scratch[i] = dnnl.memory_desc_get_size (&k->scratch_md[i]);
  gboolean ok = check (dnnl.primitive_create (&k->prim[i], pd),
                       "building an attention kernel", error);
  dnnl.primitive_desc_destroy (pd);
  return ok;
}

static gboolean
attn_reorder (AttnKernel *k, int i, const dnnl_memory_desc_t *from,
              const dnnl_memory_desc_t *to, dnnl_primitive_attr_t attr,
              GError **error)
{
  dnnl_primitive_desc_t pd = NULL;
  return check (dnnl.reorder_primitive_desc_create (&pd, from, engine, to,
                                                    engine, attr),
                "creating an attention reorder", error)
         && attn_take (k, i, pd, error);
}

static AttnKernel *
attn_kernel_new (const AttnKey *key, GError **error)
{
  const gint64 h = key->heads, d = key->d, nq = key->n_q, nk = key->n_k;
  AttnKernel *k = g_new0 (AttnKernel, 1);
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  const float scale = 1.0f / sqrtf ((float) key->d);
  gboolean ok;

  k->key = *key;
  ok = init_3d (&k->q_md, h, nq, d, dnnl_f32, d, key->ldq, 1, error)
    && init_3d (&k->k_md, h, nk, d, dnnl_f32, d, key->ldk, 1, error)
    && init_3d (&k->v_md, h, nk, d, dnnl_f32, d, key->ldv, 1, error)
    && init_3d (&k->qb_md, h, nq, d, dnnl_bf16, nq * d, d, 1, error)
    && init_3d (&k->kb_md, h, nk, d, dnnl_bf16, nk * d, d, 1, error)
    && init_3d (&k->kt_md, h, d, nk, dnnl_bf16, nk * d, 1, d, error)
    && init_3d (&k->s_md, h, nq, nk, dnnl_f32, nq * nk, nk, 1, error)
    && init_3d (&k->p_md, h, nq, nk, dnnl_bf16, nq * nk, nk, 1, error)
    && init_3d (&k->o_md, h, nq, d, dnnl_f32, nq * d, d, 1, error)
    && init_3d (&k->out_md, h, nq, d, dnnl_f32, d, key->ldo, 1, error)
    && init_3d (&k->mask_md, 1, 1, nk, dnnl_f32, nk, nk, 1, error)
    && check (dnnl.primitive_attr_create (&attr), "creating attributes",
              error)
    && check (dnnl.primitive_attr_set_scratchpad_mode (
                attr, dnnl_scratchpad_mode_user),
              "setting the scratchpad mode", error)
    && attn_reorder (k, ATT_Q, &k->q_md, &k->qb_md, attr, error)
    && attn_reorder (k, ATT_K, &k->k_md, &k->kb_md, attr, error)
    && attn_reorder (k, ATT_V, &k->v_md, &k->kb_md, attr, error)
    && attn_reorder (k, ATT_OUT, &k->o_md, &k->out_md, attr, error);

  if (ok) {
    dnnl_softmax_v2_desc_t sd;
    ok = check (dnnl.softmax_v2_forward_desc_init (&sd, dnnl_forward_inference,
                                                   dnnl_softmax_accurate,
                                                   &k->s_md, &k->p_md, 2),
                "describing the softmax", error)
      && check (dnnl.primitive_desc_create (&pd, &sd, attr, engine, NULL),
                "creating the softmax", error)
      && attn_take (k, ATT_SOFTMAX, pd, error);
  }
  if (ok) {
    dnnl_matmul_desc_t md;
    ok = check (dnnl.matmul_desc_init (&md, &k->p_md, &k->kb_md, NULL,
                                       &k->o_md),
                "describing P V", error)
      && check (dnnl.primitive_desc_create (&pd, &md, attr, engine, NULL),
                "creating P V", error)
      && attn_take (k, ATT_PV, pd, error);
  }
  if (ok) {
    dnnl_matmul_desc_t md;
    ok = check (dnnl.matmul_desc_init (&md, &k->qb_md, &k->kt_md, NULL,
                                       &k->s_md),
                "describing Q K^T", error)
      && check (dnnl.primitive_attr_set_output_scales (attr, 1, 0, &scale),
                "scaling the scores", error);
    if (ok && key->mask)
      ok = check (dnnl.post_ops_create (&ops), "creating post-ops", error)
        && check (dnnl.post_ops_append_binary (ops, dnnl_binary_add,
                                               &k->mask_md),
                  "adding the mask", error)
        && check (dnnl.primitive_attr_set_post_ops (attr, ops),
                  "attaching post-ops", error);
    ok = ok && check (dnnl.primitive_desc_create (&pd, &md, attr, engine, NULL),
                      "creating Q K^T", error)
      && attn_take (k, ATT_SCORES, pd, error);
  }
  if (ops)
    dnnl.post_ops_destroy (ops);
  if (attr)
    dnnl.primitive_attr_destroy (attr);
  if (!ok) {
    attn_kernel_free (k);
    return NULL;
  }
  return k;
}

static AttnKernel *
get_attn_kernel (const AttnKey *key, GError **error)
{
  g_mutex_lock (&attn_lock);
  if (!attn_kernels)
    attn_kernels = g_hash_table_new (attn_key_hash, attn_key_equal);
  AttnKernel *k = g_hash_table_lookup (attn_kernels, key);
  if (!k) {
    k = attn_kernel_new (key, error);
    if (k)
      g_hash_table_insert (attn_kernels, &k->key, k);
  }
  g_mutex_unlock (&attn_lock);
  return k;
}

gboolean
bt_bf16_attention (const float *q, int ldq, const float *k, int ldk,
                   const float *v, int ldv, int n_q, int n_k, int heads,
                   int head_dim, const float *mask_bias, float *out, int ldo,
                   GError **error)
{
  g_return_val_if_fail (q && k && v && out && n_q > 0 && n_k > 0 && heads > 0
                        && head_dim > 0, FALSE);

  ThreadState *ts = get_thread_state (error);
  if (!ts)
    return FALSE;
  AttnKey key = {
    .n_q = n_q, .n_k = n_k, .heads = heads, .d = head_dim, .ldq = ldq,
    .ldk = ldk, .ldv = ldv, .ldo = ldo, .mask = mask_bias != NULL,
    .n_threads = apply_num_threads (),
  };
  AttnKernel *kn = get_attn_kernel (&key, error);
  if (!kn)
    return FALSE;

  /* work memory: the bf16 Q, K, V, the scores, P, O, one scratchpad */
  const gsize hd = (gsize) heads * head_dim, hs = (gsize) heads * n_q * n_k;
  gsize size[] = {
    round_up (hd * n_q * 2), round_up (hd * n_k * 2), round_up (hd * n_k * 2),
    round_up (hs * 4), round_up (hs * 2), round_up (hd * n_q * 4), 0,
  };
  for (int i = 0; i < ATT_N; i++)
    size[6] = MAX (size[6], round_up (kn->scratch[i]));
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (size); i++)
    total += size[i];
  guint8 *buf = thread_state_reserve (ts, total), *part[G_N_ELEMENTS (size)];
  for (guint i = 0; i < G_N_ELEMENTS (size); i++) {
    part[i] = buf;
    buf += size[i];
  }
  guint8 *qb = part[0], *kb = part[1], *vb = part[2], *s = part[3];
  guint8 *p = part[4], *o = part[5], *scratch = part[6];

  struct {
    int prim;
    dnnl_exec_arg_t args[5];   /* the most: scores + mask + scratchpad */
    int n;
  } steps[] = {
    { ATT_Q, { { DNNL_ARG_FROM, wrap (&kn->q_md, q) },
               { DNNL_ARG_TO, wrap (&kn->qb_md, qb) } }, 2 },
    { ATT_K, { { DNNL_ARG_FROM, wrap (&kn->k_md, k) },
               { DNNL_ARG_TO, wrap (&kn->kb_md, kb) } }, 2 },
    { ATT_V, { { DNNL_ARG_FROM, wrap (&kn->v_md, v) },
               { DNNL_ARG_TO, wrap (&kn->kb_md, vb) } }, 2 },
    { ATT_SCORES, { { DNNL_ARG_SRC, wrap (&kn->qb_md, qb) },
                    { DNNL_ARG_WEIGHTS, wrap (&kn->kt_md, kb) },
                    { DNNL_ARG_DST, wrap (&kn->s_md, s) } }, 3 },
    { ATT_SOFTMAX, { { DNNL_ARG_SRC, wrap (&kn->s_md, s) },
                     { DNNL_ARG_DST, wrap (&kn->p_md, p) } }, 2 },
    { ATT_PV, { { DNNL_ARG_SRC, wrap (&kn->p_md, p) },
                { DNNL_ARG_WEIGHTS, wrap (&kn->kb_md, vb) },
                { DNNL_ARG_DST, wrap (&kn->o_md, o) } }, 3 },
    { ATT_OUT, { { DNNL_ARG_FROM, wrap (&kn->o_md, o) },
                 { DNNL_ARG_TO, wrap (&kn->out_md, out) } }, 2 },
  };
  if (mask_bias)
    steps[3].args[steps[3].n++] = (dnnl_exec_arg_t) {
      DNNL_ARG_ATTR_MULTIPLE_POST_OP (0) | DNNL_ARG_SRC_1,
      wrap (&kn->mask_md, mask_bias) };

  gboolean ok = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    int prim = steps[i].prim;
    if (kn->scratch[prim])
      steps[i].args[steps[i].n++] = (dnnl_exec_arg_t) {
        DNNL_ARG_SCRATCHPAD, wrap (&kn->scratch_md[prim], scratch) };
    /* every step's memory objects are released, also after a failure */
    if (ok)
      ok = execute (kn->prim[prim], ts, steps[i].args, steps[i].n,
                    "bf16 attention", error);
    else
      for (int a = 0; a < steps[i].n; a++)
        if (steps[i].args[a].memory)
          dnnl.memory_destroy (steps[i].args[a].memory);
  }
  return ok;
}

#else /* !BT_HAVE_DNNL */

struct _BtBf16Linear {
  int out, in;
};

static void
set_not_built (GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "bf16 and int8 need oneDNN, and this build has none (install "
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

gboolean
bt_int8_available (GError **error)
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

BtBf16Linear *
bt_int8_linear_new (const float *weight, const float *bias, int out, int in,
                    GError **error)
{
  return bt_bf16_linear_new (weight, bias, out, in, error);
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

gboolean
bt_bf16_attention (const float *q, int ldq, const float *k, int ldk,
                   const float *v, int ldv, int n_q, int n_k, int heads,
                   int head_dim, const float *mask_bias, float *out, int ldo,
                   GError **error)
{
  (void) q, (void) ldq, (void) k, (void) ldk, (void) v, (void) ldv;
  (void) n_q, (void) n_k, (void) heads, (void) head_dim, (void) mask_bias;
  (void) out, (void) ldo;
  set_not_built (error);
  return FALSE;
}

#endif
