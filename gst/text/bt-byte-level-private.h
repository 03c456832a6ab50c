/* bt-byte-level-private.h - GPT-2's reversible map between raw bytes and
 * printable characters, and the lossy UTF-8 decoding of byte strings.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The printable character GPT-2 uses for `byte` (e.g. ' ' -> U+0120 'Ġ'). */
gunichar bt_byte_level_char (guint8 byte);

/* The byte whose character is `c`; -1 when `c` stands for no byte. */
int bt_byte_level_byte (gunichar c);

/* Appends the raw bytes a byte-level token stands for. Characters outside
 * the map (tokens added by hand) are copied as their own UTF-8 bytes.
 * `token` must be valid UTF-8. */
void bt_byte_level_decode (const char *token, GByteArray *out);

/* Appends `bytes` to `out` as UTF-8, every maximal ill-formed subsequence
 * replaced by one U+FFFD (Python's errors='replace', Rust's from_utf8_lossy). */
void bt_utf8_append_lossy (GString *out, const guint8 *bytes, gsize len);

G_END_DECLS
