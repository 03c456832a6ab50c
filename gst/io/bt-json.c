/* bt-json.c - see bt-json.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-json.h"

#include "bt-common.h"

#include <math.h>
#include <string.h>

gboolean
bt_json_depth_within (const char *text, gsize len, guint max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;                    /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return FALSE;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

static JsonNode *
fail (GError **error, const char *what, const char *reason)
{
  if (what)
    g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s", what, reason);
  else
    g_set_error_literal (error, BT_ERROR, BT_ERROR_FORMAT, reason);
  return NULL;
}

JsonNode *
bt_json_parse_object (const char *text, gsize len, const char *what,
                      GError **error)
{
  if (text == NULL || len == 0)   /* an empty mapped file has no contents */
    return fail (error, what, "empty file");
  if (!bt_json_depth_within (text, len, BT_JSON_MAX_DEPTH))
    return fail (error, what, "JSON nested too deep");
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local)) {
    g_autofree char *reason = g_strdup_printf ("invalid JSON: %s",
                                               local->message);
    return fail (error, what, reason);
  }
  JsonNode *root = json_parser_steal_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    if (root)
      json_node_unref (root);
    return fail (error, what, "the top level is not a JSON object");
  }
  return root;
}

JsonNode *
bt_json_load_object (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (!file) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s", local->message);
    return NULL;
  }
  return bt_json_parse_object (g_mapped_file_get_contents (file),
                               g_mapped_file_get_length (file), path, error);
}

/* ---- writing ------------------------------------------------------------ */

static void
write_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++) {
    guchar c = (guchar) *p;
    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_c (out, (char) c);
  }
  g_string_append_c (out, '"');
}

static void
write_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no NaN or infinity: they are unknown values */
  if (!isfinite (v)) {
    g_string_append (out, "null");
    return;
  }
  g_ascii_dtostr (buf, sizeof buf, v);
  g_string_append (out, buf);
  if (!strpbrk (buf, ".eE"))
    g_string_append (out, ".0");
}

static void
write_indent (GString *out, int depth, gboolean pretty)
{
  if (!pretty)
    return;
  g_string_append_c (out, '\n');
  for (int i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

static void
write_node (GString *out, JsonNode *node, int depth, gboolean pretty)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT: {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;
      gboolean first = TRUE;
      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      g_string_append_c (out, '{');
      while (json_object_iter_next_ordered (&iter, &name, &member)) {
        if (!first)
          g_string_append_c (out, ',');
        first = FALSE;
        write_indent (out, depth + 1, pretty);
        write_string (out, name);
        g_string_append (out, pretty ? ": " : ":");
        write_node (out, member, depth + 1, pretty);
      }
      if (!first)
        write_indent (out, depth, pretty);
      g_string_append_c (out, '}');
      break;
    }
    case JSON_NODE_ARRAY: {
      JsonArray *a = json_node_get_array (node);
      guint n = json_array_get_length (a);
      g_string_append_c (out, '[');
      for (guint i = 0; i < n; i++) {
        if (i > 0)
          g_string_append_c (out, ',');
        write_indent (out, depth + 1, pretty);
        write_node (out, json_array_get_element (a, i), depth + 1, pretty);
      }
      if (n > 0)
        write_indent (out, depth, pretty);
      g_string_append_c (out, ']');
      break;
    }
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node)) {
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        default:
          g_string_append_printf (out, "%" G_GINT64_FORMAT,
                                  json_node_get_int (node));
          break;
      }
      break;
  }
}

char *
bt_json_to_string (JsonNode *node, gboolean pretty)
{
  GString *out = g_string_new (NULL);
  write_node (out, node, 0, pretty);
  return g_string_free (out, FALSE);
}
