/* gstbttextcache.h - btmatcher's encoded queries, least recently used
 * dropped first once the cache is full.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>
#include <bt-model.h>

G_BEGIN_DECLS

typedef struct _GstBtTextCache GstBtTextCache;

GstBtTextCache *gst_bt_text_cache_new (guint capacity);
void gst_bt_text_cache_free (GstBtTextCache *cache);

/* The features of `text` (no new reference), now the most recently used;
 * NULL when absent. */
BtTextFeatures *gst_bt_text_cache_lookup (GstBtTextCache *cache,
    const gchar *text);
/* Takes `features`; drops the least recently used entry when full. */
void gst_bt_text_cache_insert (GstBtTextCache *cache, const gchar *text,
    BtTextFeatures *features);
void gst_bt_text_cache_clear (GstBtTextCache *cache);
guint gst_bt_text_cache_size (const GstBtTextCache *cache);

G_END_DECLS
