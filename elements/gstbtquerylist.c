/* gstbtquerylist.c - parsing btmatcher's query string and query file.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtquerylist.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <bt-common.h>
#include <bt-json.h>

/* A query list is a few KB; this bounds what a wrong path (a device, a
 * video file) can make the element read. */
#define MAX_FILE_SIZE (16 * 1024 * 1024)

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
gst_bt_query_list_append (GPtrArray *list, const gchar *text, gdouble threshold,
    const gchar *where, GError **error)
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

/* The contents of the regular file `path`, at most MAX_FILE_SIZE bytes. */
static gchar *
read_bounded (const gchar *path, gsize *len, GError **error)
{
  g_autofree gchar *data = NULL;
  GStatBuf st;
  gsize got = 0;
  int fd;

  /* open would block on a FIFO, and a device may never end */
  if (g_stat (path, &st) != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path,
        g_strerror (errno));
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: not a regular file",
        path);
    return NULL;
  }
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path,
        g_strerror (errno));
    return NULL;
  }
  data = g_malloc (MAX_FILE_SIZE + 1);
  for (;;) {
    gssize n = read (fd, data + got, MAX_FILE_SIZE + 1 - got);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path,
          g_strerror (errno));
      close (fd);
      return NULL;
    }
    got += n;
    if (n == 0 || got > MAX_FILE_SIZE)
      break;
  }
  close (fd);
  if (got > MAX_FILE_SIZE) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
        "%s: larger than %d MB, not a query list", path,
        MAX_FILE_SIZE >> 20);
    return NULL;
  }
  *len = got;
  return g_realloc (g_steal_pointer (&data), got + 1);
}

/* TRUE when a JSON string in `text` holds the escape \u0000, which
 * json-glib would silently cut the string at. */
static gboolean
has_nul_escape (const gchar *text, gsize len)
{
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    if (!in_string) {
      in_string = text[i] == '"';
    } else if (text[i] == '"') {
      in_string = FALSE;
    } else if (text[i] == '\\' && i + 1 < len) {
      if (text[i + 1] == 'u' && i + 5 < len
          && strncmp (text + i + 2, "0000", 4) == 0)
        return TRUE;
      i++;
    }
  }
  return FALSE;
}

gboolean
gst_bt_query_list_load_file (GPtrArray *list, const gchar *path,
    GError **error)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;

  text = read_bounded (path, &len, error);
  return text && gst_bt_query_list_load_data (list, text, len, path, error);
}

gboolean
gst_bt_query_list_load_data (GPtrArray *list, const gchar *text, gsize len,
    const gchar *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonArray *array;

  /* json-glib recurses once per level: bound the nesting first */
  if (!bt_json_depth_within (text, len, BT_JSON_MAX_DEPTH)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: JSON nested deeper than %d levels", path, BT_JSON_MAX_DEPTH);
    return FALSE;
  }
  if (has_nul_escape (text, len)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: a string holds \\u0000, which no query can contain", path);
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s", path,
        local->message);
    return FALSE;
  }
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root)) {
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
        "%s: expected a JSON list of strings or of {\"text\", \"threshold\"} "
        "objects", path);
    return FALSE;
  }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *node = json_array_get_element (array, i);
    g_autofree gchar *where = g_strdup_printf ("%s: entry %u", path, i);
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
            "%s: the object has no string \"text\"", where);
        return FALSE;
      }
      text = json_node_get_string (t);
      if (th) {
        GType vt = JSON_NODE_HOLDS_VALUE (th) ?
            json_node_get_value_type (th) : G_TYPE_INVALID;

        if (vt != G_TYPE_DOUBLE && vt != G_TYPE_INT64) {
          g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
              "%s: \"threshold\" is not a number", where);
          return FALSE;
        }
        threshold = json_node_get_double (th);
        /* scores lie in [-1, 1]: anything else never or always matches */
        if (!(threshold >= -1.0 && threshold <= 1.0)) {
          g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
              "%s: \"threshold\" %g is not between -1 and 1", where,
              threshold);
          return FALSE;
        }
      }
    } else {
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
          "%s: neither a string nor an object", where);
      return FALSE;
    }
    if (!gst_bt_query_list_append (list, text, threshold, where, error))
      return FALSE;
  }
  return TRUE;
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
