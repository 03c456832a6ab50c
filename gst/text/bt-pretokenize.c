/* bt-pretokenize.c - GPT-2's pre-tokenization pattern, matched by hand.
 *
 * The character classes follow Python's `regex` module, which produced the
 * golden tokens: \p{L} and \p{N} are the Unicode general categories L* and
 * N* (taken from GLib), \s is the Unicode White_Space property (so U+001C..
 * U+001F and U+200B, which Python's str.isspace() or GLib may call spaces,
 * are not). The pattern is case-sensitive: "'S" is no contraction.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-pretokenize-private.h"

typedef enum {
  CLASS_LETTER,
  CLASS_NUMBER,
  CLASS_SPACE,
  CLASS_OTHER,
} CharClass;

static gboolean
is_white_space (gunichar c)
{
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return TRUE;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

static CharClass
char_class (gunichar c)
{
  if (c < 0x80) {
    if (g_ascii_isalpha (c))
      return CLASS_LETTER;
    if (g_ascii_isdigit (c))
      return CLASS_NUMBER;
  }
  if (is_white_space (c))
    return CLASS_SPACE;
  if (c < 0x80)
    return CLASS_OTHER;
  switch (g_unichar_type (c)) {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
      return CLASS_LETTER;
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return CLASS_NUMBER;
    default:
      return CLASS_OTHER;
  }
}

/* The class of the character at `pos` and where the next one starts. */
static CharClass
class_at (const char *text, gsize pos, gsize *next)
{
  const char *p = text + pos;
  *next = (gsize) (g_utf8_next_char (p) - text);
  return char_class (g_utf8_get_char (p));
}

/* The end of the run of characters of class `cls` starting at `pos`. */
static gsize
run_end (const char *text, gsize len, gsize pos, CharClass cls)
{
  while (pos < len) {
    gsize next;
    if (class_at (text, pos, &next) != cls)
      break;
    pos = next;
  }
  return pos;
}

static gsize
contraction_end (const char *text, gsize len, gsize pos)
{
  if (text[pos] != '\'' || pos + 1 >= len)
    return 0;
  char a = text[pos + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return pos + 2;
  if (pos + 2 >= len)
    return 0;
  char b = text[pos + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return pos + 3;
  return 0;
}

gsize
bt_pretokenize_next (const char *text, gsize len, gsize pos)
{
  gsize end = contraction_end (text, len, pos);
  if (end)
    return end;

  gsize next;
  CharClass cls = class_at (text, pos, &next);

  /* ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': one optional U+0020, then
   * a run of one class */
  if (text[pos] == ' ' && next < len) {
    gsize after;
    CharClass follow = class_at (text, next, &after);
    if (follow != CLASS_SPACE)
      return run_end (text, len, after, follow);
  }
  if (cls != CLASS_SPACE)
    return run_end (text, len, next, cls);

  /* '\s+(?!\S)': a whitespace run not followed by anything else is taken
   * whole; before a non-space the run gives back its last character, which
   * then leads the next piece. A run of one before a non-space is '\s+'. */
  end = run_end (text, len, next, CLASS_SPACE);
  if (end == len || end == next)
    return end;
  return (gsize) (g_utf8_prev_char (text + end) - text);
}
