/* cmd-search.c - `bridgetower search`: where in these videos do the
 * queries match? Runs the elements over each video (or the features kept
 * from an earlier run), prints the segments per query as a table or JSON,
 * and writes what a person uses: subtitles, chapters, a clip, a plot.
 * With --output-dir, one result file per video plus an index, and a rerun
 * skips the videos already done.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-cmd-util.h"
#include "bt-search.h"

#include "gstbtquerylist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const command = "search";

static const char *const description =
  "VIDEO is a file, a URI or a directory (its video files, by name). Each\n"
  "video goes through uridecodebin ! videoconvert ! btpreprocess !\n"
  "btencoder ! btmatcher; a segment is a stretch where a query's score\n"
  "reaches the threshold, until it falls below threshold - hysteresis\n"
  "(btmatcher's rule), with its peak score and the time of the peak.\n"
  "\n"
  "With several videos, output file names must contain {name}, replaced by\n"
  "each video's file name without its extension.\n"
  "\n"
  "--chapters writes Matroska XML chapters (.xml), an FFmpeg metadata file\n"
  "(.txt), or the video re-encoded into Matroska with a chapter per segment\n"
  "(.mkv). --clip writes the matched stretches one after the other (.mp4,\n"
  "or .mkv with chapters), audio kept.\n"
  "\n"
  "Example:\n"
  "  bridgetower search bridgetower-base-itm-mlm holiday.mp4 --fps 2 \\\n"
  "      --query \"a red car\" --query \"a dog on a beach\" \\\n"
  "      --srt holiday.srt --plot holiday.png\n";

typedef struct {
  char **queries;
  char *queries_file;
  char *from;
  int interval;
  double fps;
  char *mode;
  double threshold;
  double hysteresis;
  int top_k;
  double min_duration;
  int threads;
  gboolean json;
  gboolean quiet;
  char *srt, *vtt, *chapters, *clip, *plot;
  char *output_dir;
  char *keep_features;
} SearchArgs;

static void
search_args_clear (SearchArgs *a)
{
  g_strfreev (a->queries);
  g_free (a->queries_file);
  g_free (a->from);
  g_free (a->mode);
  g_free (a->srt);
  g_free (a->vtt);
  g_free (a->chapters);
  g_free (a->clip);
  g_free (a->plot);
  g_free (a->output_dir);
  g_free (a->keep_features);
}

/* btmatcher's `queries` syntax: ';' separates, '\' escapes. */
static char *
escape_query (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p; p++) {
    if (*p == ';' || *p == '\\')
      g_string_append_c (out, '\\');
    g_string_append_c (out, *p);
  }
  return g_string_free (out, FALSE);
}

static gboolean
is_video_file (const char *path)
{
  g_autofree char *type = g_content_type_guess (path, NULL, 0, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);

  return mime && g_str_has_prefix (mime, "video/");
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* The videos of the arguments and --from: directories expanded to their
 * video files in name order. */
static GPtrArray *
collect_videos (char **args, int n, const char *from, GError **error)
{
  g_autoptr (GPtrArray) videos = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) listed = NULL;

  if (from) {
    g_autofree char *contents = NULL;

    if (!g_file_get_contents (from, &contents, NULL, error))
      return NULL;
    listed = g_strsplit (contents, "\n", -1);
  }
  for (int i = 0; i < n + (listed ? (int) g_strv_length (listed) : 0); i++) {
    const char *arg = i < n ? args[i] : listed[i - n];
    g_autoptr (GDir) dir = NULL;
    g_autoptr (GPtrArray) names = NULL;
    const char *name;

    if (i >= n && g_strstrip ((char *) arg)[0] == '\0')
      continue;
    if (!g_file_test (arg, G_FILE_TEST_IS_DIR)) {
      g_ptr_array_add (videos, g_strdup (arg));
      continue;
    }
    if (!(dir = g_dir_open (arg, 0, error)))
      return NULL;
    names = g_ptr_array_new_with_free_func (g_free);
    while ((name = g_dir_read_name (dir))) {
      g_autofree char *path = g_build_filename (arg, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR) && is_video_file (path))
        g_ptr_array_add (names, g_steal_pointer (&path));
    }
    g_ptr_array_sort (names, compare_paths);
    for (guint k = 0; k < names->len; k++)
      g_ptr_array_add (videos, g_strdup (g_ptr_array_index (names, k)));
  }
  if (videos->len == 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT, "no video to search");
    return NULL;
  }
  return g_steal_pointer (&videos);
}

/* A video's name in output file names: its base name without extension. */
static char *
video_name (const char *video)
{
  g_autofree char *base = g_path_get_basename (video);
  char *dot = strrchr (base, '.');

  if (dot && dot != base)
    *dot = '\0';
  return g_steal_pointer (&base);
}

static char *
output_path (const char *pattern, const char *name)
{
  g_auto (GStrv) parts = g_strsplit (pattern, "{name}", -1);

  return g_strjoinv (name, parts);
}

/* ---- one video ---------------------------------------------------------- */

typedef struct {
  const char *video;
  char *name;
  char *result;                /* result file, or NULL */
  const char *status;          /* pending, searched, stored, resumed, failed */
  char *error;
  guint64 encoded;
  double seconds;
  BtTimeline *timeline;
  GArray *segments;
} VideoRun;

static void
video_run_clear (VideoRun *r)
{
  g_free (r->name);
  g_free (r->result);
  g_free (r->error);
  g_clear_pointer (&r->timeline, bt_timeline_free);
  g_clear_pointer (&r->segments, g_array_unref);
}

/* The timeline of one video: from its result file (resumed), from the
 * feature store, or by running the elements (kept in the store). */
static gboolean
search_video (const BtSearchOptions *o, const char *key, BtSearchStore *store,
              VideoRun *r, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();

  if (r->result) {
    r->timeline = bt_search_result_load (r->result, key, error);
    r->status = "resumed";
  }
  if (!r->timeline && error && *error)
    return FALSE;
  if (!r->timeline && store) {
    r->timeline = bt_search_run_stored (o, r->video, store, error);
    r->status = "stored";
  }
  if (!r->timeline && error && *error)
    return FALSE;
  if (!r->timeline) {
    g_autofree char *sampling = bt_search_sampling_key (o);
    gboolean full = g_strcmp0 (o->mode, "itc") != 0;

    r->status = "searched";
    if (store && !bt_search_store_begin (store, r->video, sampling, full,
                                         error))
      return FALSE;
    r->timeline = bt_search_run_video (o, r->video, store, &r->encoded,
                                       error);
    if (store && !bt_search_store_end (store, r->timeline != NULL,
                                       r->timeline
                                       ? bt_timeline_get_duration (r->timeline)
                                       : 0, r->timeline ? error : NULL))
      return FALSE;
  }
  r->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return r->timeline != NULL;
}

static gboolean
write_text (const char *path, char *text, GError **error)
{
  g_autofree char *owned = text;
  g_autoptr (GError) local = NULL;

  if (!g_file_set_contents (path, owned, -1, &local)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

/* Subtitles, chapters, plot and clip of one video, as asked. The video
 * files (clip, .mkv chapters) of a resumed video are kept when present. */
static gboolean
write_outputs (const SearchArgs *a, const VideoRun *r, GError **error)
{
  const BtTimeline *t = r->timeline;
  const GArray *seg = r->segments;
  gboolean resumed = g_str_equal (r->status, "resumed");
  g_autofree char *srt = a->srt ? output_path (a->srt, r->name) : NULL;
  g_autofree char *vtt = a->vtt ? output_path (a->vtt, r->name) : NULL;
  g_autofree char *chapters = a->chapters
      ? output_path (a->chapters, r->name) : NULL;
  g_autofree char *clip = a->clip ? output_path (a->clip, r->name) : NULL;
  g_autofree char *plot = a->plot ? output_path (a->plot, r->name) : NULL;

  if (srt && !write_text (srt, bt_timeline_to_srt (t, seg), error))
    return FALSE;
  if (vtt && !write_text (vtt, bt_timeline_to_vtt (t, seg), error))
    return FALSE;
  if (chapters) {
    if (g_str_has_suffix (chapters, ".xml")) {
      if (!write_text (chapters, bt_timeline_to_matroska_chapters (t, seg),
                       error))
        return FALSE;
    } else if (g_str_has_suffix (chapters, ".mkv")) {
      if (!(resumed && g_file_test (chapters, G_FILE_TEST_EXISTS))
          && !bt_search_clip (r->video, t, seg, chapters, TRUE, error))
        return FALSE;
    } else if (!write_text (chapters, bt_timeline_to_ffmetadata (t, seg),
                            error)) {
      return FALSE;
    }
  }
  if (plot && !bt_search_plot (t, seg, plot, error))
    return FALSE;
  if (clip && !(resumed && g_file_test (clip, G_FILE_TEST_EXISTS))
      && !bt_search_clip (r->video, t, seg, clip, FALSE, error))
    return FALSE;
  return TRUE;
}

/* ---- reports ------------------------------------------------------------ */

static void
print_table (const VideoRun *r)
{
  const BtTimeline *t = r->timeline;
  g_autofree char *duration =
    bt_timeline_format_time (bt_timeline_get_duration (t), '.');
  int width = 5;

  printf ("%s  (%s, %d frames scored, %s)\n", r->video, duration,
          bt_timeline_get_n_frames (t), r->status);
  for (int q = 0; q < bt_timeline_get_n_queries (t); q++)
    width = MAX (width, (int) g_utf8_strlen (bt_timeline_get_query (t, q), -1));
  printf ("  %-*s  %-12s  %-12s  %-7s  %s\n", width, "query", "start", "stop",
          "peak", "peak at");
  for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
    const char *text = bt_timeline_get_query (t, q);
    int pad = width - (int) g_utf8_strlen (text, -1) + (int) strlen (text);
    gboolean any = FALSE;

    for (guint i = 0; i < r->segments->len; i++) {
      const BtSegment *s = &g_array_index (r->segments, BtSegment, i);
      g_autofree char *a = NULL, *b = NULL, *p = NULL;

      if (s->query != q)
        continue;
      a = bt_timeline_format_time (s->start, '.');
      b = bt_timeline_format_time (s->stop, '.');
      p = bt_timeline_format_time (s->peak_time, '.');
      printf ("  %-*s  %-12s  %-12s  %-7.4f  %s\n", pad, any ? "" : text, a, b,
              s->peak, p);
      any = TRUE;
    }
    if (!any)
      printf ("  %-*s  no match\n", pad, text);
  }
  printf ("\n");
}

static void
json_video (JsonBuilder *b, const VideoRun *r)
{
  const BtTimeline *t = r->timeline;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "video");
  json_builder_add_string_value (b, r->video);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, r->status);
  json_builder_set_member_name (b, "result");
  if (r->result)
    json_builder_add_string_value (b, r->result);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "encoded_frames");
  json_builder_add_int_value (b, (gint64) r->encoded);
  if (r->error) {
    json_builder_set_member_name (b, "error");
    json_builder_add_string_value (b, r->error);
  }
  if (!t) {
    json_builder_end_object (b);
    return;
  }
  json_builder_set_member_name (b, "duration");
  json_builder_add_int_value (b, bt_timeline_get_duration (t));
  json_builder_set_member_name (b, "scored_frames");
  json_builder_add_int_value (b, bt_timeline_get_n_frames (t));
  json_builder_set_member_name (b, "queries");
  json_builder_begin_array (b);
  for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
    double thr = bt_timeline_get_threshold (t, q);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "text");
    json_builder_add_string_value (b, bt_timeline_get_query (t, q));
    json_builder_set_member_name (b, "threshold");
    if (isfinite (thr))
      json_builder_add_double_value (b, thr);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "segments");
    json_builder_begin_array (b);
    for (guint i = 0; i < r->segments->len; i++) {
      const BtSegment *s = &g_array_index (r->segments, BtSegment, i);

      if (s->query != q)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "start");
      json_builder_add_int_value (b, s->start);
      json_builder_set_member_name (b, "stop");
      json_builder_add_int_value (b, s->stop);
      json_builder_set_member_name (b, "peak");
      json_builder_add_double_value (b, s->peak);
      json_builder_set_member_name (b, "peak_time");
      json_builder_add_int_value (b, s->peak_time);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* The whole run as one JSON document: the settings and every video. */
static JsonBuilder *
json_report (const BtSearchOptions *o, const char *key, GArray *runs)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, o->model_dir);
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, o->mode);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, key);
  json_builder_set_member_name (b, "videos");
  json_builder_begin_array (b);
  for (guint i = 0; i < runs->len; i++)
    json_video (b, &g_array_index (runs, VideoRun, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return b;
}

/* index.json in the output folder, rewritten (atomically) after each
 * video so an interrupted run leaves a true one. */
static gboolean
write_index (const char *dir, const BtSearchOptions *o, const char *key,
             GArray *runs, GError **error)
{
  g_autoptr (JsonBuilder) b = json_report (o, key, runs);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *path = g_build_filename (dir, "index.json", NULL);

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  return write_text (path, json_generator_to_data (gen, NULL), error);
}

/* ---- the command -------------------------------------------------------- */

static gboolean
check_args (SearchArgs *a, BtSearchOptions *o, GPtrArray *videos,
            GError **error)
{
  const char *outputs[] = { a->srt, a->vtt, a->chapters, a->clip, a->plot };

  if (g_strcmp0 (a->mode, "auto") != 0 && g_strcmp0 (a->mode, "itm") != 0
      && g_strcmp0 (a->mode, "itc") != 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "--mode must be auto, itm or itc, not '%s'", a->mode);
    return FALSE;
  }
  if (a->interval < 1 || a->fps < 0 || a->top_k < 1 || a->threads < 0
      || a->min_duration < 0 || a->hysteresis < 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "--interval and --top-k must be >= 1; --fps, --threads, "
                 "--min-duration and --hysteresis >= 0");
    return FALSE;
  }
  if (a->fps > 0 && a->interval > 1) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "--fps and --interval both choose the frames: give one");
    return FALSE;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (outputs); i++) {
    if (outputs[i] && videos->len > 1 && !strstr (outputs[i], "{name}")) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "%s: with several videos, output names need {name}",
                   outputs[i]);
      return FALSE;
    }
  }
  if (o->entries->len == 0) {
    g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                 "no query: give --query TEXT or --queries-file FILE");
    return FALSE;
  }
#ifndef BT_HAVE_CAIRO
  /* before any work, not after the first video */
  if (a->plot)
    return bt_search_plot (NULL, NULL, a->plot, error);
#endif
  return TRUE;
}

/* The query list, parsed exactly as btmatcher will parse its properties. */
static gboolean
read_queries (SearchArgs *a, GString *spec, GPtrArray *entries,
              GError **error)
{
  for (int i = 0; a->queries && a->queries[i]; i++) {
    g_autofree char *escaped = escape_query (a->queries[i]);

    g_string_append_printf (spec, "%s%s", spec->len ? ";" : "", escaped);
  }
  if (!gst_bt_query_list_parse_string (entries, spec->str, error))
    return FALSE;
  if (a->queries_file
      && !gst_bt_query_list_load_file (entries, a->queries_file, error))
    return FALSE;
  gst_bt_query_list_dedup (entries);
  return TRUE;
}

/* Unique result file names in the output folder. */
static gboolean
check_names (GArray *runs, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < runs->len; i++) {
    VideoRun *r = &g_array_index (runs, VideoRun, i);
    const char *other = g_hash_table_lookup (seen, r->name);

    if (other) {
      g_set_error (error, BT_ERROR, BT_ERROR_INPUT,
                   "%s and %s would share the result name '%s': search them "
                   "in separate runs", other, r->video, r->name);
      return FALSE;
    }
    g_hash_table_insert (seen, r->name, (gpointer) r->video);
  }
  return TRUE;
}

static int
search (SearchArgs *a, const char *model_dir, char **args, int n)
{
  g_autoptr (GPtrArray) entries = gst_bt_query_list_new ();
  g_autoptr (GString) spec = g_string_new (NULL);
  g_autoptr (GPtrArray) videos = NULL;
  g_autoptr (GArray) runs = NULL;
  g_autofree char *key = NULL;
  BtSearchStore *store = NULL;
  GError *error = NULL;
  BtSearchOptions o = {
    .model_dir = model_dir, .precision = bt_cmd_get_precision_name (),
    .entries = entries, .mode = a->mode, .threshold = a->threshold,
    .hysteresis = a->hysteresis, .top_k = (guint) a->top_k,
    .interval = (guint) a->interval, .fps = a->fps, .threads = a->threads,
    .queries_file = a->queries_file,
    .progress = !a->quiet && isatty (STDERR_FILENO),
  };
  int failed = 0;

  if (!read_queries (a, spec, entries, &error)
      || !(videos = collect_videos (args, n, a->from, &error))
      || !check_args (a, &o, videos, &error))
    return bt_cmd_fail (command, error);
  o.queries = spec->str;
  key = bt_search_result_key (&o);

  runs = g_array_sized_new (FALSE, TRUE, sizeof (VideoRun), videos->len);
  g_array_set_clear_func (runs, (GDestroyNotify) video_run_clear);
  g_array_set_size (runs, videos->len);
  for (guint i = 0; i < videos->len; i++) {
    VideoRun *r = &g_array_index (runs, VideoRun, i);

    r->video = g_ptr_array_index (videos, i);
    r->name = video_name (r->video);
    r->status = "pending";
    if (a->output_dir) {
      g_autofree char *file = g_strconcat (r->name, ".jsonl", NULL);

      r->result = g_build_filename (a->output_dir, file, NULL);
    }
  }
  if (a->output_dir) {
    if (!check_names (runs, &error))
      return bt_cmd_fail (command, error);
    if (g_mkdir_with_parents (a->output_dir, 0755) != 0) {
      bt_cmd_print_error (command, "cannot create %s: %s", a->output_dir,
                          g_strerror (errno));
      return 1;
    }
  }
  if (a->keep_features
      && !(store = bt_search_store_open (a->keep_features, model_dir,
                                         o.precision, &error)))
    return bt_cmd_fail (command, error);

  for (guint i = 0; i < runs->len; i++) {
    VideoRun *r = &g_array_index (runs, VideoRun, i);

    if (search_video (&o, key, store, r, &error)) {
      r->segments = bt_timeline_segments (r->timeline,
                                          (gint64) (a->min_duration * 1e9));
      if (r->result && !g_str_equal (r->status, "resumed"))
        bt_search_result_save (r->result, r->video, key, r->timeline,
                               r->segments, &error);
      if (!error)
        write_outputs (a, r, &error);
    }
    if (error) {
      bt_cmd_print_error (command, "%s", error->message);
      r->status = "failed";
      r->error = g_strdup (error->message);
      g_clear_error (&error);
      failed++;
    } else if (!a->quiet) {
      fprintf (stderr, "%s: %s, %d frames scored, %" G_GUINT64_FORMAT
               " encoded, %.1f s\n", r->video, r->status,
               bt_timeline_get_n_frames (r->timeline), r->encoded, r->seconds);
    }
    if (r->timeline && !a->json)
      print_table (r);
    if (a->output_dir && !write_index (a->output_dir, &o, key, runs, &error)) {
      bt_cmd_print_error (command, "%s", error->message);
      g_clear_error (&error);
      failed++;
    }
  }
  if (a->json) {
    g_autoptr (JsonBuilder) b = json_report (&o, key, runs);

    bt_cmd_print_json (b);
  }
  bt_search_store_close (store);
  return failed ? 1 : 0;
}

int
bt_cmd_search (int argc, char **argv)
{
  SearchArgs a = {
    .interval = 1, .threshold = 0.5, .hysteresis = 0.05, .top_k = 3,
  };
  const GOptionEntry entries[] = {
    { "query", 'q', 0, G_OPTION_ARG_STRING_ARRAY, &a.queries,
      "A text to search for (repeatable)", "TEXT" },
    { "queries-file", 0, 0, G_OPTION_ARG_FILENAME, &a.queries_file,
      "JSON list of texts or {\"text\", \"threshold\"} objects", "FILE" },
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &a.from,
      "Also search the videos listed in FILE, one per line", "FILE" },
    { "interval", 0, 0, G_OPTION_ARG_INT, &a.interval,
      "Score every Nth frame (default 1)", "N" },
    { "fps", 0, 0, G_OPTION_ARG_DOUBLE, &a.fps,
      "Score F frames per second (the video resampled first)", "F" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &a.mode,
      "auto (default), itm or itc: btmatcher's mode", "MODE" },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &a.threshold,
      "Score a match needs (default 0.5)", "T" },
    { "hysteresis", 0, 0, G_OPTION_ARG_DOUBLE, &a.hysteresis,
      "A match ends below threshold - H (default 0.05)", "H" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &a.top_k,
      "auto mode: queries per frame that get the ITM score (default 3)",
      "K" },
    { "min-duration", 0, 0, G_OPTION_ARG_DOUBLE, &a.min_duration,
      "Drop segments shorter than this many seconds", "S" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &a.threads,
      "Compute threads (default: all cores)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &a.json,
      "Print the segments as JSON instead of a table", NULL },
    { "quiet", 0, 0, G_OPTION_ARG_NONE, &a.quiet,
      "No progress or per-video lines on stderr", NULL },
    { "srt", 0, 0, G_OPTION_ARG_FILENAME, &a.srt,
      "Write SubRip subtitles naming the matching queries", "FILE" },
    { "vtt", 0, 0, G_OPTION_ARG_FILENAME, &a.vtt,
      "Write WebVTT subtitles", "FILE" },
    { "chapters", 0, 0, G_OPTION_ARG_FILENAME, &a.chapters,
      "Write a chapter per segment (.xml, .txt or .mkv)", "FILE" },
    { "clip", 0, 0, G_OPTION_ARG_FILENAME, &a.clip,
      "Write the matched stretches into one video (.mp4, .mkv)", "FILE" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &a.plot,
      "Draw the scores over time (.png, .svg)", "FILE" },
    { "output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &a.output_dir,
      "One JSON lines result per video and index.json here; videos with a "
      "result for the same settings are skipped", "DIR" },
    { "keep-features", 0, 0, G_OPTION_ARG_FILENAME, &a.keep_features,
      "Keep the frames' image features in this SQLite file; a later search "
      "with other queries reads them instead of decoding", "FILE" },
    { NULL }
  };
  int status;

  if (!bt_cmd_parse_options (command, "MODEL_DIR VIDEO...",
                             "Finds where text queries match in videos.",
                             description, entries, &argc, &argv)) {
    search_args_clear (&a);
    return 1;
  }
  if (!a.mode)
    a.mode = g_strdup ("auto");
  if (argc < 3 && !(argc == 2 && a.from)) {
    bt_cmd_print_error (command, "expected MODEL_DIR VIDEO... (see --help)");
    search_args_clear (&a);
    return 1;
  }
  status = search (&a, argv[1], argv + 2, argc - 2);
  search_args_clear (&a);
  return status;
}
