/* gstbtquerylist.c - parsing btmatcher's query string and query file.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtquerylist.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include <bt-common.h>
#include <bt-json.h>

static void
query_entry_free (gpointer data)
{
  GstBtQueryEntry *entry = data;

  g_free (entry->text);
  g_free (entry);
}

GPtrArray *
gst_bt_query_list_new (void)
{
  return g_ptr_array_new_with_free_func (query_entry_free);
}

gboolean
gst_bt_query_list_append (GPtrArray *list, const gchar *text,
    gdouble threshold, const gchar *where, GError **error)
{
  GstBtQueryEntry *entry;
  const gchar *bad;
  g_autofree gchar *trimmed = NULL;

  if (!g_utf8_validate (text, -1, &bad)) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
        "%s: query is not valid UTF-8 (byte 0x%02x at offset %d)", where,
        (guint) (guchar) * bad, (gint) (bad - text));
    return FALSE;
  }
  trimmed = g_strstrip (g_strdup (text));
  if (!trimmed[0])
    return TRUE;
  entry = g_new (GstBtQueryEntry, 1);
  entry->text = g_steal_pointer (&trimmed);
  entry->threshold = threshold;
  g_ptr_array_add (list, entry);
  return TRUE;
}

gboolean
gst_bt_query_list_parse_string (GPtrArray *list, const gchar *spec,
    GError **error)
{
  GString *part;
  gboolean ok = TRUE;

  if (!spec)
    return TRUE;
  part = g_string_new (NULL);
  for (const gchar *p = spec;; p++) {
    if (*p == '\\' && (p[1] == ';' || p[1] == '\\')) {
      g_string_append_c (part, p[1]);
      p++;
    } else if (*p == ';' || *p == '\0') {
      ok = gst_bt_query_list_append (list, part->str, NAN, "queries", error);
      g_string_truncate (part, 0);
      if (!ok || *p == '\0')
        break;
    } else {
      g_string_append_c (part, *p);
    }
  }
  g_string_free (part, TRUE);
  return ok;
}

/* Appends the entries of a parsed query list; `where` names its origin in
 * errors. */
static gboolean
query_list_append_json (GPtrArray *list, JsonNode *root, const gchar *where,
    GError **error)
{
  JsonArray *array;

  if (!root || !JSON_NODE_HOLDS_ARRAY (root)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: expected a JSON list of strings or of {\"text\", \"threshold\"} "
        "objects", where);
    return FALSE;
  }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *node = json_array_get_element (array, i);
    g_autofree gchar *entry = g_strdup_printf ("%s: entry %u", where, i);
    const gchar *text = NULL;
    gdouble threshold = NAN;

    if (JSON_NODE_HOLDS_VALUE (node)
        && json_node_get_value_type (node) == G_TYPE_STRING) {
      text = json_node_get_string (node);
    } else if (JSON_NODE_HOLDS_OBJECT (node)) {
      JsonObject *obj = json_node_get_object (node);
      JsonNode *t = json_object_get_member (obj, "text");
      JsonNode *th = json_object_get_member (obj, "threshold");

      if (!t || !JSON_NODE_HOLDS_VALUE (t)
          || json_node_get_value_type (t) != G_TYPE_STRING) {
        g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
            "%s: the object has no string \"text\"", entry);
        return FALSE;
      }
      text = json_node_get_string (t);
      if (th) {
        GType vt = JSON_NODE_HOLDS_VALUE (th) ?
            json_node_get_value_type (th) : G_TYPE_INVALID;

        if (vt != G_TYPE_DOUBLE && vt != G_TYPE_INT64) {
          g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
              "%s: \"threshold\" is not a number", entry);
          return FALSE;
        }
        threshold = json_node_get_double (th);
      }
    } else {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s: neither a string nor an object", entry);
      return FALSE;
    }
    if (!gst_bt_query_list_append (list, text, threshold, entry, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
gst_bt_query_list_load_file (GPtrArray *list, const gchar *path,
    GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;

  if (!json_parser_load_from_file (parser, path, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s", path,
        local->message);
    return FALSE;
  }
  return query_list_append_json (list, json_parser_get_root (parser), path,
      error);
}

gboolean
gst_bt_query_list_parse_json (GPtrArray *list, const gchar *data,
    gsize length, const gchar *where, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;

  /* json-glib recurses per nesting level: bound it before parsing text
   * that came over the network */
  if (!bt_json_depth_within (data, length, GST_BT_QUERY_LIST_MAX_DEPTH)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: JSON nested too deep",
        where);
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s", where,
        local->message);
    return FALSE;
  }
  return query_list_append_json (list, json_parser_get_root (parser), where,
      error);
}

void
gst_bt_query_list_dedup (GPtrArray *list)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < list->len;) {
    GstBtQueryEntry *entry = g_ptr_array_index (list, i);

    if (g_hash_table_contains (seen, entry->text)) {
      g_ptr_array_remove_index (list, i);
    } else {
      g_hash_table_add (seen, entry->text);
      i++;
    }
  }
}
