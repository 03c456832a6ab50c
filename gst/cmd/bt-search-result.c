/* bt-search-result.c - one video's search result as a JSON lines file, the
 * unit a resumed run skips: a header naming the video and the key of the
 * settings, one line per scored frame, one per segment.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-search.h"

#include "gstbtquerylist.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>

char *
bt_search_result_key (const BtSearchOptions *o)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *model = realpath (o->model_dir, NULL);
  g_autofree char *sampling = bt_search_sampling_key (o);
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "model=%s\nprecision=%s\nmode=%s\n%s\n"
                          "threshold=%.17g\nhysteresis=%.17g\ntop-k=%u\n",
                          model ? model : o->model_dir, o->precision, o->mode,
                          sampling, o->threshold, o->hysteresis, o->top_k);
  for (guint i = 0; i < o->entries->len; i++) {
    GstBtQueryEntry *e = g_ptr_array_index (o->entries, i);

    g_string_append_printf (text, "query=%.17g %s\n", e->threshold, e->text);
  }
  g_checksum_update (sum, (const guchar *) text->str, text->len);
  return g_strdup (g_checksum_get_string (sum));
}

static char *
line (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

/* NaN and infinities have no JSON form: null. */
static void
add_double (JsonBuilder *b, const char *name, double v)
{
  if (name)
    json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

gboolean
bt_search_result_save (const char *path, const char *video, const char *key,
                       const BtTimeline *t, const GArray *segments,
                       GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  int nq = bt_timeline_get_n_queries (t);
  g_autoptr (GError) local = NULL;
  g_autofree char *header = NULL;
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "search");
  json_builder_set_member_name (b, "video");
  json_builder_add_string_value (b, video);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, key);
  add_int (b, "duration", bt_timeline_get_duration (t));
  json_builder_set_member_name (b, "queries");
  json_builder_begin_array (b);
  for (int q = 0; q < nq; q++) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "text");
    json_builder_add_string_value (b, bt_timeline_get_query (t, q));
    add_double (b, "threshold", bt_timeline_get_threshold (t, q));
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  header = line (b);
  g_string_append_printf (out, "%s\n", header);
  g_object_unref (b);

  for (int f = 0; f < bt_timeline_get_n_frames (t); f++) {
    g_autofree char *l = NULL;

    b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, "frame");
    add_int (b, "time", bt_timeline_get_time (t, f));
    json_builder_set_member_name (b, "scores");
    json_builder_begin_array (b);
    for (int q = 0; q < nq; q++)
      add_double (b, NULL, bt_timeline_get_score (t, f, q));
    json_builder_end_array (b);
    json_builder_set_member_name (b, "matched");
    json_builder_begin_array (b);
    for (int q = 0; q < nq; q++)
      json_builder_add_boolean_value (b, bt_timeline_get_matched (t, f, q));
    json_builder_end_array (b);
    json_builder_end_object (b);
    l = line (b);
    g_string_append_printf (out, "%s\n", l);
    g_object_unref (b);
  }

  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);
    g_autofree char *l = NULL;

    b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, "segment");
    json_builder_set_member_name (b, "query");
    json_builder_add_string_value (b, bt_timeline_get_query (t, s->query));
    add_int (b, "start", s->start);
    add_int (b, "stop", s->stop);
    add_double (b, "peak", s->peak);
    add_int (b, "peak_time", s->peak_time);
    json_builder_end_object (b);
    l = line (b);
    g_string_append_printf (out, "%s\n", l);
    g_object_unref (b);
  }

  /* a temporary file renamed over the result: never half a result */
  if (!g_file_set_contents (path, out->str, (gssize) out->len, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
bad_line (GError **error, const char *path, int number)
{
  g_set_error (error, BT_ERROR, BT_ERROR_FORMAT,
               "%s:%d: not a search result line (delete the file to search "
               "that video again)", path, number);
  return FALSE;
}

/* Adds one "frame" line to `t`. */
static gboolean
load_frame (BtTimeline *t, JsonObject *o, double *scores, gboolean *matched)
{
  JsonArray *s = json_object_get_array_member (o, "scores");
  JsonArray *m = json_object_get_array_member (o, "matched");
  int nq = bt_timeline_get_n_queries (t);

  if (!s || !m || json_array_get_length (s) != (guint) nq
      || json_array_get_length (m) != (guint) nq
      || !json_object_has_member (o, "time"))
    return FALSE;
  for (int q = 0; q < nq; q++) {
    JsonNode *n = json_array_get_element (s, q);

    scores[q] = JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
    matched[q] = json_array_get_boolean_element (m, q);
  }
  bt_timeline_add_frame (t, json_object_get_int_member (o, "time"), scores,
                         matched);
  return TRUE;
}

BtTimeline *
bt_search_result_load (const char *path, const char *key, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree double *scores = NULL;
  g_autofree gboolean *matched = NULL;
  BtTimeline *t = NULL;
  JsonObject *o;
  JsonArray *queries;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  if (!lines[0] || !json_parser_load_from_data (parser, lines[0], -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    bad_line (error, path, 1);
    return NULL;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "key", ""),
                 key) != 0)
    return NULL;
  queries = json_object_get_array_member (o, "queries");
  if (!queries) {
    bad_line (error, path, 1);
    return NULL;
  }
  {
    guint n = json_array_get_length (queries);
    g_autofree const char **texts = g_new0 (const char *, n + 1);

    for (guint q = 0; q < n; q++)
      texts[q] = json_object_get_string_member_with_default
          (json_array_get_object_element (queries, q), "text", "");
    t = bt_timeline_new (texts, (int) n);
    for (guint q = 0; q < n; q++) {
      JsonNode *thr = json_object_get_member
          (json_array_get_object_element (queries, q), "threshold");

      bt_timeline_set_threshold (t, (int) q, thr && !JSON_NODE_HOLDS_NULL (thr)
                                 ? json_node_get_double (thr) : NAN);
    }
    bt_timeline_set_duration (t, json_object_get_int_member_with_default
                              (o, "duration", -1));
    scores = g_new0 (double, n + 1);
    matched = g_new0 (gboolean, n + 1);
  }
  for (int i = 1; lines[i] && lines[i][0]; i++) {
    g_autoptr (JsonParser) p = json_parser_new ();
    const char *type;

    if (!json_parser_load_from_data (p, lines[i], -1, NULL)
        || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
      goto bad;
    o = json_node_get_object (json_parser_get_root (p));
    type = json_object_get_string_member_with_default (o, "type", "");
    if (g_str_equal (type, "frame") && !load_frame (t, o, scores, matched))
      goto bad;
    continue;
bad:
    bad_line (error, path, i + 1);
    bt_timeline_free (t);
    return NULL;
  }
  return t;
}
