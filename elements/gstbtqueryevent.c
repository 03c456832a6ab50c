/* gstbtqueryevent.c - see gstbtqueryevent.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtqueryevent.h"
#include "gstbtquerylist.h"

#include <math.h>

GstEvent *
gst_bt_query_event_new (GPtrArray *list)
{
  GstStructure *s = gst_structure_new_empty (GST_BT_QUERY_EVENT_NAME);

  if (list) {
    GValue texts = G_VALUE_INIT, thresholds = G_VALUE_INIT;

    gst_value_array_init (&texts, list->len);
    gst_value_array_init (&thresholds, list->len);
    for (guint i = 0; i < list->len; i++) {
      GstBtQueryEntry *entry = g_ptr_array_index (list, i);
      GValue v = G_VALUE_INIT;

      g_value_init (&v, G_TYPE_STRING);
      g_value_set_string (&v, entry->text);
      gst_value_array_append_and_take_value (&texts, &v);
      g_value_init (&v, G_TYPE_DOUBLE);
      g_value_set_double (&v, entry->threshold);
      gst_value_array_append_and_take_value (&thresholds, &v);
    }
    gst_structure_take_value (s, "texts", &texts);
    gst_structure_take_value (s, "thresholds", &thresholds);
  }
  return gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, s);
}

gboolean
gst_bt_query_event_parse (GstEvent *event, GPtrArray **list)
{
  const GstStructure *s;
  const GValue *texts, *thresholds;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM)
    return FALSE;
  s = gst_event_get_structure (event);
  if (!s || !gst_structure_has_name (s, GST_BT_QUERY_EVENT_NAME))
    return FALSE;

  *list = NULL;
  texts = gst_structure_get_value (s, "texts");
  thresholds = gst_structure_get_value (s, "thresholds");
  if (!texts || !GST_VALUE_HOLDS_ARRAY (texts))
    return TRUE;
  *list = gst_bt_query_list_new ();
  for (guint i = 0; i < gst_value_array_get_size (texts); i++) {
    const GValue *t = gst_value_array_get_value (texts, i);
    gdouble threshold = NAN;

    if (thresholds && GST_VALUE_HOLDS_ARRAY (thresholds)
        && i < gst_value_array_get_size (thresholds)) {
      const GValue *th = gst_value_array_get_value (thresholds, i);

      if (G_VALUE_HOLDS_DOUBLE (th))
        threshold = g_value_get_double (th);
    }
    /* invalid texts (not UTF-8) are left out */
    if (G_VALUE_HOLDS_STRING (t) && g_value_get_string (t))
      gst_bt_query_list_append (*list, g_value_get_string (t), threshold,
          GST_BT_QUERY_EVENT_NAME, NULL);
  }
  return TRUE;
}
