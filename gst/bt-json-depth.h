/* bt-json-depth.h - a nesting-depth check to run before json-glib sees
 * untrusted text: its parser recurses once per nesting level, so a few
 * hundred KB of "[[[[" overflow the stack. Private to libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* FALSE when objects and arrays in `text` nest deeper than `max_depth`
 * (brackets inside strings do not count). Says nothing else about
 * validity: that is the parser's job. */
gboolean bt_json_depth_within (const char *text, gsize len, guint max_depth);

G_END_DECLS
