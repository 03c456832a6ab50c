/* fuzz-queries.c - btmatcher's query parsing: the `queries` string (first
 * byte even) or the `queries-file` JSON (odd). What parses is a list of
 * non-empty, trimmed UTF-8 texts with thresholds in [-1, 1] or unset. */
#include "gstbtquerylist.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GPtrArray *list = gst_bt_query_list_new ();
  GError *error = NULL;
  gboolean ok;

  if (size == 0)
    return 0;
  if (data[0] % 2 == 0) {
    char *spec = g_strndup ((const char *) data + 1, size - 1);
    ok = gst_bt_query_list_parse_string (list, spec, &error);
    g_free (spec);
  } else {
    ok = gst_bt_query_list_load_data (list, (const char *) data + 1,
        size - 1, "fuzz", &error);
  }
  g_assert (ok == (error == NULL));
  if (error)
    g_error_free (error);
  gst_bt_query_list_dedup (list);
  for (guint i = 0; ok && i < list->len; i++) {
    const GstBtQueryEntry *e = g_ptr_array_index (list, i);
    size_t n = strlen (e->text);

    g_assert (n > 0 && g_utf8_validate (e->text, -1, NULL));
    g_assert (!g_ascii_isspace (e->text[0])
        && !g_ascii_isspace (e->text[n - 1]));
    g_assert (isnan (e->threshold)
        || (e->threshold >= -1.0 && e->threshold <= 1.0));
  }
  g_ptr_array_unref (list);
  return 0;
}
