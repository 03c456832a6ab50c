/* bench-soak.c - the elements under a long run, on the tiny golden model:
 *
 *   frames     N frames through btpreprocess ! btencoder ! btmatcher, the
 *              queries replaced every 100 frames (from the bench's own
 *              thread; two new texts each time, so the query cache fills
 *              its 256 entries and then keeps evicting) and the threshold
 *              changed with them; RSS sampled every 1000 frames, slope
 *              fitted after a warm-up (default the first 20%: the cache
 *              is full by then)
 *   cycles     N NULL -> PLAYING -> EOS -> NULL cycles of one pipeline,
 *              RSS before (after 10 warm-up cycles) and after
 *   pipelines  1, 2 and 4 pipelines in one process at once, sharing one
 *              model through the cache: RSS and frames per second
 *
 * Prints one JSON object. With --check, exits non-zero when RSS grows after
 * warm-up (more than 1 MB per 10,000 frames, or 2 MB over the cycles).
 * docs/elements.md reports the figures of a full run:
 *   bench-soak --frames 100000 --cycles 200 */
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

static gchar *model_dir;
static gint change_every = 100;
static gint warmup = -1;

static long
rss_kb (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  const char *line = strstr (text, "VmRSS:");
  return line ? strtol (line + 6, NULL, 10) : -1;
}

static GstElement *
make_pipeline (guint frames, const char *extra_name)
{
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%u "
      "pattern=ball ! video/x-raw,width=64,height=48 ! btpreprocess ! "
      "btencoder model=\"%s\" ! btmatcher name=m%s queries=\"a cat;a dog\" ! "
      "fakesink name=sink", frames, model_dir, extra_name);
  g_autoptr (GError) error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);
  /* a missing element is a partial pipeline with an error: stop there */
  if (error)
    g_error ("%s", error->message);
  return p;
}

/* Runs `p` from its current state to EOS; FALSE on an error message. */
static gboolean
run_to_eos (GstElement *p)
{
  GstBus *bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (!ok) {
    g_autoptr (GError) err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("error: %s\n", err->message);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  return ok;
}

/* ---- frames ------------------------------------------------------------- */

typedef struct {
  gint frames;                 /* seen at the sink */
  gint stop;
  GArray *rss;                 /* long, every 1000 frames */
} Soak;

static GstPadProbeReturn
count_frame (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Soak *soak = data;
  (void) pad;
  (void) info;
  gint n = g_atomic_int_add (&soak->frames, 1) + 1;
  if (n % 1000 == 0) {
    long kb = rss_kb ();
    g_array_append_val (soak->rss, kb);
  }
  return GST_PAD_PROBE_OK;
}

typedef struct {
  Soak *soak;
  GstElement *matcher;
  guint changes;
} Changer;

/* Every 100 frames: a new query set (new texts each time) and threshold. */
static gpointer
change_queries (gpointer data)
{
  Changer *c = data;
  gint last = 0;
  while (!g_atomic_int_get (&c->soak->stop)) {
    gint n = g_atomic_int_get (&c->soak->frames);
    if (n / change_every != last / change_every) {
      last = n;
      g_autofree gchar *q = g_strdup_printf ("a cat number %u;a red car %u;"
          "people walking", c->changes, c->changes);
      g_object_set (c->matcher, "queries", q, "threshold",
          (c->changes % 10) / 10.0, NULL);
      c->changes++;
    }
    g_usleep (500);
  }
  return NULL;
}

/* Least-squares slope of y over its index. */
static double
slope (const long *y, guint n)
{
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (guint i = 0; i < n; i++) {
    sx += i;
    sy += y[i];
    sxx += (double) i * i;
    sxy += (double) i * y[i];
  }
  double d = n * sxx - sx * sx;
  return d > 0 ? (n * sxy - sx * sy) / d : 0;
}

static gboolean
soak_frames (guint frames, gboolean check, GString *json)
{
  Soak soak = { 0, 0, g_array_new (FALSE, FALSE, sizeof (long)) };
  GstElement *p = make_pipeline (frames, "");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, &soak, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  Changer changer = { &soak, gst_bin_get_by_name (GST_BIN (p), "m"), 0 };
  GThread *thread = g_thread_new ("change-queries", change_queries, &changer);

  gint64 start = g_get_monotonic_time ();
  gboolean ok = run_to_eos (p);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_atomic_int_set (&soak.stop, 1);
  g_thread_join (thread);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (changer.matcher);
  gst_object_unref (p);

  /* after warm-up: --warmup frames, by default the first 20% */
  guint n = soak.rss->len;
  guint skip = MAX (1, warmup >= 0 ? (guint) warmup / 1000 : n / 5);
  const long *rss = (const long *) soak.rss->data;
  double kb_per_1000 = n > skip + 1 ? slope (rss + skip, n - skip) : 0;
  long first = n > skip ? rss[skip] : -1, last = n ? rss[n - 1] : -1;
  g_string_append_printf (json, "\"frames\": %d, \"seconds\": %.1f, "
      "\"fps\": %.0f, \"query_changes\": %u, \"rss_kb_after_warmup\": %ld, "
      "\"rss_kb_end\": %ld, \"rss_slope_kb_per_10000_frames\": %.1f, ",
      soak.frames, seconds, soak.frames / seconds, changer.changes, first,
      last, 10 * kb_per_1000);
  g_string_append (json, "\"rss_kb_every_1000_frames\": [");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (json, "%s%ld", i ? ", " : "", rss[i]);
  g_string_append (json, "], ");
  ok = ok && soak.frames == (gint) frames;
  if (check && 10 * kb_per_1000 > 1024) {
    g_printerr ("RSS grows %.0f KB per 10,000 frames\n", 10 * kb_per_1000);
    ok = FALSE;
  }
  g_array_unref (soak.rss);
  return ok;
}

/* ---- cycles ------------------------------------------------------------- */

static gboolean
soak_cycles (guint cycles, gboolean check, GString *json)
{
  GstElement *p = make_pipeline (2, "");
  long before = -1;
  gboolean ok = TRUE;
  for (guint i = 0; i < cycles + 10 && ok; i++) {
    if (i == 10)
      before = rss_kb ();
    ok = run_to_eos (p);
    gst_element_set_state (p, GST_STATE_NULL);
  }
  long after = rss_kb ();
  gst_object_unref (p);
  g_string_append_printf (json, "\"cycles\": %u, \"cycles_rss_kb_before\": "
      "%ld, \"cycles_rss_kb_after\": %ld, ", cycles, before, after);
  if (check && after - before > 2048) {
    g_printerr ("RSS grew %ld KB over %u cycles\n", after - before, cycles);
    ok = FALSE;
  }
  return ok;
}

/* ---- pipelines sharing the model ------------------------------------------ */

static gboolean
soak_pipelines (guint n, guint frames, GString *json)
{
  GstElement *p[4];
  GstBus *bus[4];
  gboolean ok = TRUE;
  long before = rss_kb ();
  for (guint i = 0; i < n; i++) {
    g_autofree gchar *name = g_strdup_printf ("%u", i);
    p[i] = make_pipeline (frames, name);
    bus[i] = gst_element_get_bus (p[i]);
  }
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    gst_element_set_state (p[i], GST_STATE_PLAYING);
  for (guint i = 0; i < n; i++) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus[i], GST_CLOCK_TIME_NONE,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    ok = ok && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
    gst_message_unref (msg);
  }
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  long during = rss_kb ();
  for (guint i = 0; i < n; i++) {
    gst_element_set_state (p[i], GST_STATE_NULL);
    gst_object_unref (bus[i]);
    gst_object_unref (p[i]);
  }
  g_string_append_printf (json, "\"pipelines_%u\": {\"fps_total\": %.0f, "
      "\"rss_kb_before\": %ld, \"rss_kb_at_eos\": %ld}, ", n,
      n * frames / seconds, before, during);
  return ok;
}

int
main (int argc, char **argv)
{
  gint frames = 100000, cycles = 200, parallel_frames = 2000;
  gboolean check = FALSE;
  gchar *model = NULL;
  g_autofree gchar *plugin = NULL;
  const GOptionEntry entries[] = {
    { "plugin", 0, 0, G_OPTION_ARG_FILENAME, &plugin, "Load the bridgetower "
      "plugin from this file (default: the registry)", "FILE" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder (default: "
      "the tiny golden ITM model)", "DIR" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the soak", "N" },
    { "change-every", 0, 0, G_OPTION_ARG_INT, &change_every, "Frames "
      "between query changes", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Frames before the RSS "
      "slope is fitted (default 20%)", "N" },
    { "cycles", 0, 0, G_OPTION_ARG_INT, &cycles, "State cycles", "N" },
    { "parallel-frames", 0, 0, G_OPTION_ARG_INT, &parallel_frames,
      "Frames per pipeline when 1, 2, 4 run at once", "N" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check, "Fail on RSS growth", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- soak the elements");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  /* loaded in this process, not by the registry's scanner: under the
   * sanitizers, an uninstrumented scanner cannot load an instrumented plugin */
  if (plugin) {
    GstPlugin *loaded = gst_plugin_load_file (plugin, &error);
    if (!loaded) {
      g_printerr ("%s\n", error->message);
      return 2;
    }
    gst_object_unref (loaded);
  }
  change_every = MAX (change_every, 1);
  model_dir = model ? model : g_build_filename (BT_TEST_DATA, "golden",
      "models", "itm_add_t3v3c2", NULL);

  GString *json = g_string_new ("{");
  gboolean ok = soak_frames ((guint) frames, check, json)
      && soak_cycles ((guint) cycles, check, json);
  for (guint n = 1; ok && n <= 4; n *= 2)
    ok = soak_pipelines (n, (guint) parallel_frames, json);
  g_string_append_printf (json, "\"ok\": %s}", ok ? "true" : "false");
  printf ("%s\n", json->str);
  g_string_free (json, TRUE);
  g_free (model_dir);
  return ok ? 0 : 1;
}
