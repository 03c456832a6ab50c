/* bt-pretokenize-private.h - GPT-2's pre-tokenization: the split of a text
 * into the words BPE runs on.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The pieces GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * finds tile the whole text, so a piece is given by where it ends: returns
 * the end of the piece that starts at `pos` (< `len`). `text` must be valid
 * UTF-8 and `pos` on a character boundary. */
gsize bt_pretokenize_next (const char *text, gsize len, gsize pos);

G_END_DECLS
