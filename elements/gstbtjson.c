/* gstbtjson.c - see gstbtjson.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtjson.h"

#include <math.h>
#include <string.h>
#include <bt-json.h>

/* the time in ns, or null when it is not valid */
static void
gst_bt_json_set_time (JsonObject *object, const gchar *name, GstClockTime t)
{
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_object_set_int_member (object, name, (gint64) t);
  else
    json_object_set_null_member (object, name);
}

JsonObject *
gst_bt_json_frame_new (guint64 frame, GstClockTime pts,
    const GstBtScore *scores, guint n_scores)
{
  JsonObject *object = json_object_new ();
  JsonArray *array = json_array_sized_new (n_scores);

  json_object_set_string_member (object, "type", "frame");
  json_object_set_int_member (object, "frame", (gint64) frame);
  gst_bt_json_set_time (object, "pts", pts);
  for (guint i = 0; i < n_scores; i++) {
    const GstBtScore *score = &scores[i];
    JsonObject *entry = json_object_new ();

    json_object_set_string_member (entry, "query", score->query);
    json_object_set_double_member (entry, "score", score->score);
    if (!isnan (score->itc))
      json_object_set_double_member (entry, "itc", score->itc);
    if (!isnan (score->itm))
      json_object_set_double_member (entry, "itm", score->itm);
    json_object_set_boolean_member (entry, "match", score->matched);
    json_array_add_object_element (array, entry);
  }
  json_object_set_array_member (object, "scores", array);
  return object;
}

JsonObject *
gst_bt_json_segment_new (const gchar *query, GstClockTime start,
    GstClockTime stop, gdouble peak)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", "segment");
  json_object_set_string_member (object, "query", query);
  gst_bt_json_set_time (object, "start", start);
  gst_bt_json_set_time (object, "stop", stop);
  json_object_set_double_member (object, "peak", peak);
  return object;
}

JsonObject *
gst_bt_json_match_new (const gchar *query, GstClockTime start, gdouble peak)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", "match");
  json_object_set_string_member (object, "query", query);
  gst_bt_json_set_time (object, "start", start);
  json_object_set_double_member (object, "peak", peak);
  return object;
}

gchar *
gst_bt_json_to_line (JsonObject *object, gsize *length)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  gchar *line;

  /* strict JSON: json-glib writes NaN as nan.0 and control bytes raw */
  json_node_set_object (root, object);
  line = bt_json_to_string (root, FALSE);
  if (length)
    *length = strlen (line);
  return line;
}
