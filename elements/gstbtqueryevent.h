/* gstbtqueryevent.h - a query list sent upstream to btmatcher as a custom
 * event (btpublish forwards the list it receives over MQTT this way).
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_BT_QUERY_EVENT_NAME "bridgetower-queries"

/* An upstream event carrying `list` (GstBtQueryEntry, see gstbtquerylist.h):
 * fields "texts" (GstValueArray of strings) and "thresholds" (GstValueArray
 * of doubles, NaN = the element's threshold). `list` NULL: an event
 * without "texts", which returns btmatcher to its own properties. */
GstEvent *gst_bt_query_event_new (GPtrArray *list);

/* TRUE when `event` is a query event; then *list is its query list (a new
 * array of GstBtQueryEntry) or NULL for "back to the properties". */
gboolean gst_bt_query_event_parse (GstEvent *event, GPtrArray **list);

G_END_DECLS
