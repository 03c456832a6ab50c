/* bt-compute.c - the process-wide compute budget.
 *
 * Debian's OpenBLAS has one thread count for the whole process. Two
 * streaming threads each driving it would put 2 x N busy threads on N
 * cores (torch loses 2.2x to exactly that). So every BLAS-heavy section
 * runs under one process-wide lock: at most one forward pass at a time,
 * with the thread count its context asked for (the budget, set on entry);
 * the others wait their turn. The
 * machine is never oversubscribed, and a call's latency is its own work
 * plus, at worst, the work queued before it.
 *
 * Inside that section, work OpenBLAS cannot spread well (the per-head
 * attention products: tiny GEMMs run slower on 2 threads than on 1) is
 * spread by bt_parallel_for over the same budget: persistent workers, one
 * item per head, OpenBLAS set to one thread meanwhile. Still never more
 * busy threads than the budget.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-compute.h"

#include "bt-bf16.h"

#include <cblas.h>

static GMutex compute_lock;
static int budget;             /* threads of the section's call (under the lock) */

/* ---- fork/join workers (used under the compute lock only) --------------- */

typedef struct {
  GMutex lock;
  GCond wake, done;
  guint generation;            /* bumped per job */
  int n_workers;               /* threads started */
  int wanted;                  /* workers taking part in this job */
  int busy;                    /* workers still in this job */
  BtParallelFn fn;
  gpointer data;
  int n_items;
  gint next;                   /* atomic: next item to take */
} Workers;

static Workers workers;
/* one job at a time, even from a caller outside the compute lock */
static GMutex submit_lock;

static void
run_items (void)
{
  int i;
  while ((i = g_atomic_int_add (&workers.next, 1)) < workers.n_items)
    workers.fn (workers.data, i);
}

static gpointer
worker_main (gpointer data)
{
  const int id = GPOINTER_TO_INT (data);
  guint seen = 0;

  g_mutex_lock (&workers.lock);
  for (;;) {
    while (workers.generation == seen)
      g_cond_wait (&workers.wake, &workers.lock);
    seen = workers.generation;
    if (id >= workers.wanted)
      continue;
    g_mutex_unlock (&workers.lock);
    run_items ();
    g_mutex_lock (&workers.lock);
    if (--workers.busy == 0)
      g_cond_signal (&workers.done);
  }
  return NULL;
}

void
bt_parallel_for (int n_items, BtParallelFn fn, gpointer data)
{
  const int wanted = MIN (budget, n_items) - 1;

  if (wanted <= 0) {
    for (int i = 0; i < n_items; i++)
      fn (data, i);
    return;
  }

  g_mutex_lock (&submit_lock);
  g_mutex_lock (&workers.lock);
  while (workers.n_workers < wanted) {
    /* started once, then parked on the condition between jobs */
    g_thread_unref (g_thread_new ("bt-compute", worker_main,
                                  GINT_TO_POINTER (workers.n_workers)));
    workers.n_workers++;
  }
  workers.fn = fn;
  workers.data = data;
  workers.n_items = n_items;
  g_atomic_int_set (&workers.next, 0);
  workers.wanted = wanted;
  workers.busy = wanted;
  workers.generation++;
  g_cond_broadcast (&workers.wake);
  g_mutex_unlock (&workers.lock);

  run_items ();

  g_mutex_lock (&workers.lock);
  while (workers.busy > 0)
    g_cond_wait (&workers.done, &workers.lock);
  g_mutex_unlock (&workers.lock);
  g_mutex_unlock (&submit_lock);
}

void
bt_blas_single_thread (gboolean single)
{
  openblas_set_num_threads (single ? 1 : budget);
}

int
bt_compute_default_threads (void)
{
  static gsize once;
  static int n;
  /* OpenBLAS's own default (cores or OPENBLAS_NUM_THREADS), taken before
   * anything sets OpenBLAS's count */
  if (g_once_init_enter (&once)) {
    n = MAX (openblas_get_num_threads (), 1);
    g_once_init_leave (&once, 1);
  }
  return n;
}

void
bt_compute_lock (int n_threads)
{
  if (n_threads <= 0)
    n_threads = bt_compute_default_threads ();
  g_mutex_lock (&compute_lock);
  /* each call brings its own count: set only when it changes */
  if (n_threads != budget) {
    budget = n_threads;
    openblas_set_num_threads (n_threads);
    bt_bf16_set_num_threads (n_threads);
  }
}

void
bt_compute_unlock (void)
{
  g_mutex_unlock (&compute_lock);
}

int
bt_compute_budget (void)
{
  return budget;
}
