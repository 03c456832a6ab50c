/* bt-json.c - see bt-json.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-json.h"

#include "bt-common.h"

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
