/* gstbttextcache.c - an LRU map from query text to its text features: a
 * hash table for lookup, a queue (most recent first) for the order.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbttextcache.h"

typedef struct {
  gchar *text;
  BtTextFeatures *features;
  GList link;                  /* in `order`; data points to the entry */
} Entry;

struct _GstBtTextCache
{
  guint capacity;
  GHashTable *index;           /* text -> Entry* (owns the entries) */
  GQueue order;
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  bt_text_features_unref (entry->features);
  g_free (entry->text);
  g_free (entry);
}

GstBtTextCache *
gst_bt_text_cache_new (guint capacity)
{
  GstBtTextCache *cache = g_new0 (GstBtTextCache, 1);

  cache->capacity = MAX (capacity, 1);
  cache->index = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      entry_free);
  g_queue_init (&cache->order);
  return cache;
}

void
gst_bt_text_cache_free (GstBtTextCache *cache)
{
  if (!cache)
    return;
  gst_bt_text_cache_clear (cache);
  g_hash_table_unref (cache->index);
  g_free (cache);
}

BtTextFeatures *
gst_bt_text_cache_lookup (GstBtTextCache *cache, const gchar *text)
{
  Entry *entry = g_hash_table_lookup (cache->index, text);

  if (!entry)
    return NULL;
  g_queue_unlink (&cache->order, &entry->link);
  g_queue_push_head_link (&cache->order, &entry->link);
  return entry->features;
}

void
gst_bt_text_cache_insert (GstBtTextCache *cache, const gchar *text,
    BtTextFeatures *features)
{
  Entry *entry;

  if (g_hash_table_contains (cache->index, text)) {
    Entry *old = g_hash_table_lookup (cache->index, text);

    g_queue_unlink (&cache->order, &old->link);
    g_hash_table_remove (cache->index, text);
  }
  while (g_hash_table_size (cache->index) >= cache->capacity) {
    GList *last = g_queue_pop_tail_link (&cache->order);

    g_hash_table_remove (cache->index, ((Entry *) last->data)->text);
  }
  entry = g_new0 (Entry, 1);
  entry->text = g_strdup (text);
  entry->features = features;
  entry->link.data = entry;
  g_queue_push_head_link (&cache->order, &entry->link);
  g_hash_table_insert (cache->index, entry->text, entry);
}

void
gst_bt_text_cache_clear (GstBtTextCache *cache)
{
  g_queue_init (&cache->order);
  g_hash_table_remove_all (cache->index);
}

guint
gst_bt_text_cache_size (const GstBtTextCache *cache)
{
  return g_hash_table_size (cache->index);
}
