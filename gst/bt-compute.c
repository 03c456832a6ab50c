/* bt-compute.c - the process-wide compute budget.
 *
 * Debian's OpenBLAS has one thread count for the whole process. Two
 * streaming threads each driving it would put 2 x N busy threads on N
 * cores (torch loses 2.2x to exactly that). So every BLAS-heavy section
 * runs under one process-wide lock: at most one forward pass at a time,
 * using all the threads of the budget; the others wait their turn. The
 * machine is never oversubscribed, and a call's latency is its own work
 * plus, at worst, the work queued before it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-bf16.h"
#include "bt-model-private.h"

#include <cblas.h>

static GMutex compute_lock;
static gint n_threads;

void
bt_compute_lock (void)
{
  g_mutex_lock (&compute_lock);
}

void
bt_compute_unlock (void)
{
  g_mutex_unlock (&compute_lock);
}

void
bt_set_num_threads (int n)
{
  if (n <= 0)
    n = (int) g_get_num_processors ();
  /* under the lock: never change the count while a product runs */
  g_mutex_lock (&compute_lock);
  g_atomic_int_set (&n_threads, n);
  openblas_set_num_threads (n);
  bt_bf16_set_num_threads (n);
  g_mutex_unlock (&compute_lock);
}

int
bt_get_num_threads (void)
{
  int n = g_atomic_int_get (&n_threads);
  return n > 0 ? n : openblas_get_num_threads ();
}
