/* gstbtquerylist.h - btmatcher's text queries: the `queries` string
 * (";"-separated, "\;" for a literal semicolon) and the `queries-file` JSON.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *text;
  gdouble threshold;           /* NaN: the element's `threshold` */
} GstBtQueryEntry;

/* A GPtrArray of GstBtQueryEntry that frees its entries. */
GPtrArray *gst_bt_query_list_new (void);

/* Appends one query: `text` trimmed (skipped when empty), refused when it
 * is not valid UTF-8 (the error names `where` and the byte offset). */
gboolean gst_bt_query_list_append (GPtrArray *list, const gchar *text,
    gdouble threshold, const gchar *where, GError **error);

/* Appends the queries of `spec`: split at unescaped ';', "\;" kept as ';'
 * and "\\" as '\', surrounding white space trimmed, empty parts skipped.
 * Invalid UTF-8 is an error naming the byte offset. */
gboolean gst_bt_query_list_parse_string (GPtrArray *list, const gchar *spec,
    GError **error);

/* Appends the queries of a JSON file: a list of strings or of objects
 * {"text": "...", "threshold": 0.7} (threshold optional). Errors name the
 * file and the reason. */
gboolean gst_bt_query_list_load_file (GPtrArray *list, const gchar *path,
    GError **error);

/* The same for the file's contents; `path` names it in errors. */
gboolean gst_bt_query_list_load_data (GPtrArray *list, const gchar *text,
    gsize len, const gchar *path, GError **error);

/* Drops later duplicates of the same text, keeping the first. */
void gst_bt_query_list_dedup (GPtrArray *list);

G_END_DECLS
