/* bt-json.h - reading untrusted JSON (config files, headers, indexes)
 * safely through json-glib, and writing strict JSON. Public: the elements
 * and the command read and write JSON with the same guards.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "bt-common.h"

G_BEGIN_DECLS

/* Deep enough for every file a model folder holds (tokenizer.json nests
 * about 6 levels). */
#define BT_JSON_MAX_DEPTH 64

/* FALSE when objects and arrays in `text` nest deeper than `max_depth`
 * (brackets inside strings do not count). json-glib's parser recurses once
 * per level, so a few hundred KB of "[[[[" would overflow the stack: run
 * this before it sees untrusted text. Says nothing else about validity. */
BT_API
gboolean bt_json_depth_within (const char *text, gsize len, guint max_depth);

/* Parses `text`, whose top level must be an object; nesting is bounded
 * first. BT_ERROR_FORMAT errors start with `what` (a path; NULL: no prefix). Returns a new
 * reference to the root node. */
BT_API
JsonNode *bt_json_parse_object (const char *text, gsize len, const char *what,
                                GError **error);

/* The same for a file (BT_ERROR_IO when it cannot be read). */
BT_API
JsonNode *bt_json_load_object (const char *path, GError **error);

/* `node` as strict JSON (RFC 8259), which json-glib's generator is not:
 * NaN and infinities become null, control characters in strings are
 * escaped. `pretty`: two-space indentation; else one line. g_free. */
BT_API
char *bt_json_to_string (JsonNode *node, gboolean pretty);

G_END_DECLS
