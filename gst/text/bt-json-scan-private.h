/* bt-json-scan-private.h - a minimal pull reader for large JSON files.
 *
 * json-glib builds a tree of GHashTables: 100 ms for a 50k-token
 * tokenizer.json, half the start-up budget of `bridgetower tokenize`. This
 * reader walks the text in place instead; small sub-objects can still go to
 * json-glib through bt_json_scan_skip's span.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *data;
  const char *p;
  const char *end;
  GString *str;         /* the last string read, decoded, NUL-terminated */
  const char *failure;  /* the first error, a static string */
  gsize fail_offset;
} BtJsonScan;

void bt_json_scan_init (BtJsonScan *scan, const char *data, gsize len);
void bt_json_scan_clear (BtJsonScan *scan);

/* Every reader returns FALSE once the scan has failed. */

/* TRUE when the next token starts with `c` (nothing consumed). */
gboolean bt_json_scan_peek (BtJsonScan *scan, char c);
/* Consumes `{` or `[`. */
gboolean bt_json_scan_open (BtJsonScan *scan, char open);
/* Moves to the next element of the object or array being read: FALSE (and
 * the closing `close` consumed) when there is none. `*first` starts TRUE. */
gboolean bt_json_scan_next (BtJsonScan *scan, char close, gboolean *first);
/* Reads a member name and its `:`; the name is scan->str->str. */
gboolean bt_json_scan_key (BtJsonScan *scan);
/* Reads a string into scan->str (valid UTF-8 guaranteed). */
gboolean bt_json_scan_string (BtJsonScan *scan);
/* Reads an integer. */
gboolean bt_json_scan_int (BtJsonScan *scan, gint64 *value);
/* Skips any value; `start`/`len` (may be NULL) give its text. */
gboolean bt_json_scan_skip (BtJsonScan *scan, const char **start, gsize *len);
/* TRUE when only whitespace is left. */
gboolean bt_json_scan_finish (BtJsonScan *scan);

/* Marks the scan failed (first reason wins). */
void bt_json_scan_fail (BtJsonScan *scan, const char *reason);
/* Sets a BT_ERROR_FORMAT error naming `path`, the reason and the offset. */
void bt_json_scan_error (const BtJsonScan *scan, const char *path,
                         GError **error);

G_END_DECLS
