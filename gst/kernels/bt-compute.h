/* bt-compute.h - the process-wide compute section and its thread budget
 * (private; bt-compute.c says why there is one).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Every BLAS-heavy section holds the compute lock, so at most one forward
 * pass drives the cores at a time; it brings its own thread count
 * (0: bt_compute_default_threads), which holds until it unlocks. */
void bt_compute_lock (int n_threads);
void bt_compute_unlock (void);

/* The threads of the call in the section. */
int bt_compute_budget (void);

/* OpenBLAS's default: OPENBLAS_NUM_THREADS, else the cores. */
int bt_compute_default_threads (void);

/* Runs fn(data, 0 .. n_items - 1) on the budget (the calling thread plus
 * parked workers). Callers hold the compute lock. */
typedef void (*BtParallelFn) (gpointer data, int index);
void bt_parallel_for (int n_items, BtParallelFn fn, gpointer data);

/* OpenBLAS on one thread (while bt_parallel_for spreads the work) or on the
 * whole budget. */
void bt_blas_single_thread (gboolean single);

G_END_DECLS
