/* bt-linear.c - the linear op on a typed weight: float32 on OpenBLAS,
 * split by output columns over the compute budget, or bf16 on oneDNN.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-linear.h"

#include "bt-compute.h"

#include <cblas.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static gboolean
pack (BtLinear *l, BtDType dtype, gsize *bytes, GError **error)
{
  g_return_val_if_fail (l->w != NULL && l->bf16 == NULL, FALSE);
  l->bf16 = dtype == BT_DTYPE_I8
            ? bt_int8_linear_new (l->w, l->b, l->out, l->in, error)
            : bt_bf16_linear_new (l->w, l->b, l->out, l->in, error);
  if (!l->bf16)
    return FALSE;
  l->dtype = dtype;
  *bytes += bt_bf16_linear_get_weight_bytes (l->bf16);
  return TRUE;
}

gboolean
bt_linear_to_bf16 (BtLinear *l, gsize *bytes, GError **error)
{
  return pack (l, BT_DTYPE_BF16, bytes, error);
}

gboolean
bt_linear_to_int8 (BtLinear *l, gsize *bytes, GError **error)
{
  return pack (l, BT_DTYPE_I8, bytes, error);
}

/* A packed weight's float32 pages are never read again, so a bf16 model
 * holds its bf16 weights, not both copies. The pages at either end may
 * hold other tensors and stay. Weights live in private anonymous memory
 * (read from the checkpoint, random, or converted by the loader), which
 * MADV_DONTNEED frees. The view is cleared: nothing can read the zeroed
 * pages through it. */
gsize
bt_linear_release_f32 (BtLinear *l)
{
  g_return_val_if_fail (l->bf16 != NULL && l->w != NULL, 0);
  const guintptr page = (guintptr) sysconf (_SC_PAGESIZE);
  const gsize bytes = (gsize) l->out * l->in * sizeof (float);
  guintptr start = ((guintptr) l->w + page - 1) / page * page;
  guintptr end = ((guintptr) l->w + bytes) / page * page;
  l->w = NULL;
  if (end <= start)
    return 0;
  if (madvise ((void *) start, end - start, MADV_DONTNEED) != 0)
    return 0;
  return end - start;
}

void
bt_linear_clear (BtLinear *l)
{
  g_clear_pointer (&l->bf16, bt_bf16_linear_free);
  l->dtype = BT_DTYPE_F32;
}

/* A linear layer's columns (output features) split over the compute
 * budget, each part a one-thread sgemm on its slice of the weights with its
 * bias, activation or residual done right after, while the slice is in
 * cache. Instead of OpenBLAS's own threads: those spin in sched_yield
 * between products (a third busy thread next to our workers and the other
 * streaming thread), and OpenBLAS does not split products of a few rows
 * (12-token texts) at all. */
#define LINEAR_PARALLEL_MIN_FLOPS (1 << 20)
#define LINEAR_COLUMN_ALIGN 16

typedef struct {
  const float *x, *w, *b;
  float *y;
  int m, k, ldx, n, ldy, parts;
  BtActivation act;
  gboolean residual;
} LinearJob;

static void
linear_part (gpointer data, int part)
{
  const LinearJob *j = data;
  int n0 = (int) ((gint64) j->n * part / j->parts);
  int n1 = (int) ((gint64) j->n * (part + 1) / j->parts);
  n0 = part == 0 ? 0 : n0 - n0 % LINEAR_COLUMN_ALIGN;
  n1 = part == j->parts - 1 ? j->n : n1 - n1 % LINEAR_COLUMN_ALIGN;
  const int cols = n1 - n0;
  if (cols <= 0)
    return;

  float beta = j->residual ? 1.0f : 0.0f;
  if (j->b) {
    /* like torch's addmm: the bias is the initial C, the product added on
     * (a residual branch: x + bias first) */
    for (int r = 0; r < j->m; r++) {
      float *row = j->y + (gsize) r * j->ldy + n0;
      if (j->residual)
        for (int c = 0; c < cols; c++)
          row[c] += j->b[n0 + c];
      else
        memcpy (row, j->b + n0, sizeof (float) * cols);
    }
    beta = 1.0f;
  }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, j->m, cols, j->k,
               1.0f, j->x, j->ldx, j->w + (gsize) n0 * j->k, j->k, beta,
               j->y + n0, j->ldy);
  if (j->act != BT_ACT_NONE)
    for (int r = 0; r < j->m; r++)
      bt_activation (j->y + (gsize) r * j->ldy + n0, cols, j->act);
}

static void
linear_f32 (LinearJob *job)
{
  const int budget = bt_compute_budget ();
  const double flops = 2.0 * job->m * job->n * job->k;

  if (budget > 1 && flops >= LINEAR_PARALLEL_MIN_FLOPS
      && job->n >= budget * LINEAR_COLUMN_ALIGN) {
    job->parts = budget;
    bt_blas_single_thread (TRUE);
    bt_parallel_for (budget, linear_part, job);
    bt_blas_single_thread (FALSE);
  } else {
    job->parts = 1;
    linear_part (job, 0);
  }
}

static gboolean
run (const BtLinear *l, const float *x, int m, int ldx, float *y, int ldy,
     BtActivation act, gboolean residual, GError **error)
{
  static const BtBf16Post posts[] = {
    [BT_ACT_NONE] = BT_BF16_POST_NONE,
    [BT_ACT_GELU] = BT_BF16_POST_GELU_ERF,
    [BT_ACT_QUICK_GELU] = BT_BF16_POST_QUICK_GELU,
    [BT_ACT_TANH] = BT_BF16_POST_TANH,
  };
  if (m <= 0)
    return TRUE;
  if (ldx == 0)
    ldx = l->in;
  if (ldy == 0)
    ldy = l->out;
  switch (l->dtype) {
    case BT_DTYPE_BF16:
    case BT_DTYPE_I8:
      if (!l->bf16)
        break;
      return bt_bf16_linear_forward (l->bf16, x, m, ldx, y, ldy,
                                     residual ? BT_BF16_POST_ACCUMULATE
                                     : posts[act], error);
    case BT_DTYPE_F32:{
      LinearJob job = { x, l->w, l->b, y, m, l->in, ldx, l->out, ldy, 1, act,
                        residual };
      linear_f32 (&job);
      return TRUE;
    }
    default:
      break;
  }
  g_set_error (error, BT_ERROR, BT_ERROR_DTYPE,
               "no linear layer runs %s weights%s", bt_dtype_name (l->dtype),
               l->dtype == BT_DTYPE_BF16 || l->dtype == BT_DTYPE_I8
               ? " (none packed)" : "");
  return FALSE;
}

gboolean
bt_linear (const BtLinear *l, const float *x, int m, int ldx, float *y,
           int ldy, BtActivation act, GError **error)
{
  return run (l, x, m, ldx, y, ldy, act, FALSE, error);
}

gboolean
bt_linear_residual (const BtLinear *l, const float *x, int m, float *y,
                    GError **error)
{
  return run (l, x, m, 0, y, 0, BT_ACT_NONE, TRUE, error);
}
