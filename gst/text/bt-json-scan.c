/* bt-json-scan.c - a minimal pull reader for large JSON files.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-json-scan-private.h"
#include "bt-common.h"

#include <string.h>

/* Deep enough for any tokenizer file; bounded so that hostile input cannot
 * exhaust the stack. */
#define MAX_DEPTH 64

void
bt_json_scan_init (BtJsonScan *scan, const char *data, gsize len)
{
  scan->data = data;
  scan->p = data;
  scan->end = data + len;
  scan->str = g_string_sized_new (64);
  scan->failure = NULL;
  scan->fail_offset = 0;
}

void
bt_json_scan_clear (BtJsonScan *scan)
{
  if (scan->str)
    g_string_free (scan->str, TRUE);
  scan->str = NULL;
}

void
bt_json_scan_fail (BtJsonScan *scan, const char *reason)
{
  if (scan->failure)
    return;
  scan->failure = reason;
  scan->fail_offset = (gsize) (scan->p - scan->data);
}

void
bt_json_scan_error (const BtJsonScan *scan, const char *path, GError **error)
{
  g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: %s at byte %" G_GSIZE_FORMAT,
      path, scan->failure ? scan->failure : "unexpected content",
      scan->fail_offset);
}

static void
skip_space (BtJsonScan *scan)
{
  while (scan->p < scan->end && (*scan->p == ' ' || *scan->p == '\n' ||
          *scan->p == '\r' || *scan->p == '\t'))
    scan->p++;
}

gboolean
bt_json_scan_peek (BtJsonScan *scan, char c)
{
  if (scan->failure)
    return FALSE;
  skip_space (scan);
  return scan->p < scan->end && *scan->p == c;
}

static gboolean
expect (BtJsonScan *scan, char c, const char *reason)
{
  if (!bt_json_scan_peek (scan, c)) {
    bt_json_scan_fail (scan, reason);
    return FALSE;
  }
  scan->p++;
  return TRUE;
}

gboolean
bt_json_scan_open (BtJsonScan *scan, char open)
{
  return expect (scan, open, open == '{' ? "expected an object" :
      "expected an array");
}

gboolean
bt_json_scan_next (BtJsonScan *scan, char close, gboolean *first)
{
  if (scan->failure)
    return FALSE;
  if (bt_json_scan_peek (scan, close)) {
    scan->p++;
    return FALSE;
  }
  if (!*first && !expect (scan, ',', "expected ',' or a closing bracket"))
    return FALSE;
  *first = FALSE;
  return TRUE;
}

gboolean
bt_json_scan_key (BtJsonScan *scan)
{
  return bt_json_scan_string (scan) && expect (scan, ':', "expected ':'");
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
read_hex4 (BtJsonScan *scan, gunichar *value)
{
  if (scan->end - scan->p < 4) {
    bt_json_scan_fail (scan, "truncated \\u escape");
    return FALSE;
  }
  *value = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex_value (scan->p[i]);
    if (h < 0) {
      bt_json_scan_fail (scan, "bad \\u escape");
      return FALSE;
    }
    *value = *value * 16 + (gunichar) h;
  }
  scan->p += 4;
  return TRUE;
}

/* After the backslash of \uXXXX: one code point, joining surrogate pairs. */
static gboolean
read_unicode_escape (BtJsonScan *scan)
{
  gunichar c;
  if (!read_hex4 (scan, &c))
    return FALSE;
  if (c >= 0xD800 && c <= 0xDBFF) {
    gunichar low;
    if (scan->end - scan->p < 2 || scan->p[0] != '\\' || scan->p[1] != 'u') {
      bt_json_scan_fail (scan, "unpaired surrogate escape");
      return FALSE;
    }
    scan->p += 2;
    if (!read_hex4 (scan, &low))
      return FALSE;
    if (low < 0xDC00 || low > 0xDFFF) {
      bt_json_scan_fail (scan, "unpaired surrogate escape");
      return FALSE;
    }
    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
  } else if (c >= 0xDC00 && c <= 0xDFFF) {
    bt_json_scan_fail (scan, "unpaired surrogate escape");
    return FALSE;
  }
  g_string_append_unichar (scan->str, c);
  return TRUE;
}

gboolean
bt_json_scan_string (BtJsonScan *scan)
{
  if (!expect (scan, '"', "expected a string"))
    return FALSE;
  g_string_truncate (scan->str, 0);
  for (;;) {
    const char *run = scan->p;
    while (scan->p < scan->end && *scan->p != '"' && *scan->p != '\\' &&
        (guchar) *scan->p >= 0x20)
      scan->p++;
    g_string_append_len (scan->str, run, scan->p - run);
    if (scan->p >= scan->end) {
      bt_json_scan_fail (scan, "unterminated string");
      return FALSE;
    }
    char c = *scan->p++;
    if (c == '"')
      break;
    if (c != '\\') {
      scan->p--;
      bt_json_scan_fail (scan, "control character in a string");
      return FALSE;
    }
    if (scan->p >= scan->end) {
      bt_json_scan_fail (scan, "unterminated string");
      return FALSE;
    }
    c = *scan->p++;
    switch (c) {
      case '"': case '\\': case '/':
        g_string_append_c (scan->str, c);
        break;
      case 'b': g_string_append_c (scan->str, '\b'); break;
      case 'f': g_string_append_c (scan->str, '\f'); break;
      case 'n': g_string_append_c (scan->str, '\n'); break;
      case 'r': g_string_append_c (scan->str, '\r'); break;
      case 't': g_string_append_c (scan->str, '\t'); break;
      case 'u':
        if (!read_unicode_escape (scan))
          return FALSE;
        break;
      default:
        bt_json_scan_fail (scan, "bad escape in a string");
        return FALSE;
    }
  }
  /* an escaped NUL would cut the C string short */
  if (strlen (scan->str->str) != scan->str->len ||
      !g_utf8_validate_len (scan->str->str, scan->str->len, NULL)) {
    bt_json_scan_fail (scan, "invalid UTF-8 or NUL in a string");
    return FALSE;
  }
  return TRUE;
}

gboolean
bt_json_scan_int (BtJsonScan *scan, gint64 *value)
{
  if (scan->failure)
    return FALSE;
  skip_space (scan);
  gboolean negative = scan->p < scan->end && *scan->p == '-';
  const char *digits = scan->p + (negative ? 1 : 0);
  const char *q = digits;
  guint64 v = 0;
  while (q < scan->end && *q >= '0' && *q <= '9' && q - digits < 18)
    v = v * 10 + (guint64) (*q++ - '0');
  if (q == digits || (q < scan->end && (*q == '.' || *q == 'e' || *q == 'E' ||
              (*q >= '0' && *q <= '9')))) {
    bt_json_scan_fail (scan, "expected an integer");
    return FALSE;
  }
  scan->p = q;
  *value = negative ? -(gint64) v : (gint64) v;
  return TRUE;
}

static gboolean
skip_literal (BtJsonScan *scan)
{
  const char *start = scan->p;
  while (scan->p < scan->end && (g_ascii_isalnum (*scan->p) ||
          *scan->p == '-' || *scan->p == '+' || *scan->p == '.'))
    scan->p++;
  if (scan->p == start) {
    bt_json_scan_fail (scan, "expected a value");
    return FALSE;
  }
  return TRUE;
}

static gboolean
skip_value (BtJsonScan *scan, int depth)
{
  if (depth > MAX_DEPTH) {
    bt_json_scan_fail (scan, "nested too deeply");
    return FALSE;
  }
  if (bt_json_scan_peek (scan, '"'))
    return bt_json_scan_string (scan);
  gboolean first = TRUE;
  if (bt_json_scan_peek (scan, '{')) {
    scan->p++;
    while (bt_json_scan_next (scan, '}', &first))
      if (!bt_json_scan_key (scan) || !skip_value (scan, depth + 1))
        return FALSE;
    return !scan->failure;
  }
  if (bt_json_scan_peek (scan, '[')) {
    scan->p++;
    while (bt_json_scan_next (scan, ']', &first))
      if (!skip_value (scan, depth + 1))
        return FALSE;
    return !scan->failure;
  }
  return !scan->failure && skip_literal (scan);
}

gboolean
bt_json_scan_skip (BtJsonScan *scan, const char **start, gsize *len)
{
  if (scan->failure)
    return FALSE;
  skip_space (scan);
  const char *from = scan->p;
  if (!skip_value (scan, 0))
    return FALSE;
  if (start)
    *start = from;
  if (len)
    *len = (gsize) (scan->p - from);
  return TRUE;
}

gboolean
bt_json_scan_finish (BtJsonScan *scan)
{
  if (scan->failure)
    return FALSE;
  skip_space (scan);
  if (scan->p != scan->end) {
    bt_json_scan_fail (scan, "trailing content");
    return FALSE;
  }
  return TRUE;
}
