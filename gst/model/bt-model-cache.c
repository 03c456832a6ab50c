/* bt-model-cache.c - one model per (canonical path, precision) in the
 * process, shared by every element and freed with its last reference.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-model-private.h"

#include <errno.h>
#include <stdlib.h>

/* Guards the table and the reference counts of cached models, so a model
 * found in the table is never one whose last reference is being dropped. */
static GMutex cache_lock;
static GHashTable *cache;        /* "precision:path" -> BtModel* */

static char *
cache_key (const char *path, BtPrecision precision)
{
  return g_strdup_printf ("%d:%s", (int) precision, path);
}

BtModel *
bt_model_cache_acquire (const char *dir, const BtModelParams *params,
                        GError **error)
{
  g_return_val_if_fail (dir, NULL);
  const BtModelParams p = params ? *params : bt_model_default_params ();
  char *real = realpath (dir, NULL);
  if (!real) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", dir,
                 g_strerror (errno));
    return NULL;
  }
  g_autofree char *key = cache_key (real, p.precision);
  free (real);

  g_mutex_lock (&cache_lock);
  if (!cache)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  BtModel *m = g_hash_table_lookup (cache, key);
  if (m) {
    g_atomic_int_inc (&m->refcount);
    g_mutex_unlock (&cache_lock);
    return m;
  }
  /* Loading under the lock: a second caller for the same folder waits
   * for this load instead of loading it twice. */
  m = bt_model_load (dir, &p, error);
  if (m) {
    m->cached = TRUE;
    g_hash_table_insert (cache, g_steal_pointer (&key), m);
  }
  g_mutex_unlock (&cache_lock);
  return m;
}

void
bt_model_cache_release (BtModel *m)
{
  g_mutex_lock (&cache_lock);
  gboolean last = g_atomic_int_dec_and_test (&m->refcount);
  if (last) {
    g_autofree char *key = cache_key (m->path, m->precision);
    g_hash_table_remove (cache, key);
  }
  g_mutex_unlock (&cache_lock);
  if (last)
    bt_model_finalize (m);
}
