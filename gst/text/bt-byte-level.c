/* bt-byte-level.c - GPT-2's byte <-> character map and lossy UTF-8.
 *
 * GPT-2 gives each of the 256 bytes a printable character so that BPE
 * tokens are text: the printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
 * U+00AE..U+00FF) stand for themselves, the 68 others take U+0100 onwards in
 * byte order (0x00..0x20, then 0x7F..0xA0, then 0xAD).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-byte-level-private.h"

#define N_LOW 33      /* 0x00..0x20 */
#define N_MID 34      /* 0x7F..0xA0 */

static gboolean
stands_for_itself (guint32 c)
{
  return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) ||
      (c >= 0xAE && c <= 0xFF);
}

gunichar
bt_byte_level_char (guint8 byte)
{
  if (stands_for_itself (byte))
    return byte;
  if (byte <= 0x20)
    return 0x100 + byte;
  if (byte >= 0x7F && byte <= 0xA0)
    return 0x100 + N_LOW + (byte - 0x7F);
  return 0x100 + N_LOW + N_MID;        /* 0xAD, the soft hyphen */
}

int
bt_byte_level_byte (gunichar c)
{
  if (stands_for_itself (c))
    return (int) c;
  if (c >= 0x100 && c < 0x100 + N_LOW)
    return (int) (c - 0x100);
  if (c >= 0x100 + N_LOW && c < 0x100 + N_LOW + N_MID)
    return (int) (0x7F + c - 0x100 - N_LOW);
  if (c == 0x100 + N_LOW + N_MID)
    return 0xAD;
  return -1;
}

void
bt_byte_level_decode (const char *token, GByteArray *out)
{
  for (const char *p = token; *p; p = g_utf8_next_char (p)) {
    int byte = bt_byte_level_byte (g_utf8_get_char (p));
    if (byte >= 0) {
      guint8 b = (guint8) byte;
      g_byte_array_append (out, &b, 1);
    } else {
      g_byte_array_append (out, (const guint8 *) p,
          (guint) (g_utf8_next_char (p) - p));
    }
  }
}

/* How many continuation bytes a lead byte takes and the range allowed for
 * the first of them (the rest are always 0x80..0xBF); 0 for a byte that
 * starts no well-formed sequence. Unicode's table 3-7. */
static int
utf8_lead (guint8 b, guint8 *lo, guint8 *hi)
{
  *lo = 0x80;
  *hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF)
    return 1;
  if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0)
      *lo = 0xA0;
    else if (b == 0xED)
      *hi = 0x9F;
    return 2;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0)
      *lo = 0x90;
    else if (b == 0xF4)
      *hi = 0x8F;
    return 3;
  }
  return 0;
}

void
bt_utf8_append_lossy (GString *out, const guint8 *bytes, gsize len)
{
  gsize i = 0;
  while (i < len) {
    guint8 b = bytes[i];
    if (b < 0x80) {
      g_string_append_c (out, (char) b);
      i++;
      continue;
    }
    guint8 lo, hi;
    int need = utf8_lead (b, &lo, &hi);
    gsize j = i + 1;
    int got = 0;
    while (got < need && j < len && bytes[j] >= lo && bytes[j] <= hi) {
      j++;
      got++;
      lo = 0x80;
      hi = 0xBF;
    }
    if (need > 0 && got == need)
      g_string_append_len (out, (const char *) bytes + i, (gssize) (j - i));
    else
      g_string_append (out, "\xEF\xBF\xBD");
    i = j;
  }
}
