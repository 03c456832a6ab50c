/* test-faults.c - the elements under bad settings, bad files and faults:
 * each gives one element error naming the problem (or keeps running where
 * the documentation says so), never a crash, a hang or a silent loss. */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bridgetower.h"
#include "gstbtencoder.h"
#include "gstbtmatcher.h"
#include "gstbtpreprocess.h"
#include "gstbtquerylist.h"
#include "gstbttextcache.h"

static gchar *itm_dir;         /* ITM head, 32x32 inputs */

static gchar *
golden_model (const gchar *name)
{
  const gchar *data = g_getenv ("BT_TEST_DATA");

  return g_build_filename (data ? data : BT_TEST_DATA, "golden", "models",
      name, NULL);
}

/* A temp folder holding one file `name` with `contents`. */
static gchar *
folder_with (const gchar *name, const gchar *contents)
{
  gchar *dir = g_dir_make_tmp ("bt-faults-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  g_assert_nonnull (dir);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return dir;
}

static void
remove_folder (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d && (name = g_dir_read_name (d))) {
    g_autofree gchar *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

/* Runs `desc` to EOS or the first error; returns the error as
 * "message | debug", NULL at EOS. Fails the test after 60 s. */
static gchar *
run_pipeline (const gchar *desc)
{
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstBus *bus;
  GstMessage *msg;
  gchar *text = NULL;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) err = NULL;
    g_autofree gchar *debug = NULL;

    gst_message_parse_error (msg, &err, &debug);
    text = g_strdup_printf ("%s | %s", err->message, debug ? debug : "");
    g_test_message ("%s", text);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return text;
}

/* ---- sizes ---------------------------------------------------------- */

/* A crop of 14700 once overflowed the tensor pool's 32-bit size; sizes a
 * model cannot use are refused when the settings are read. */
static void
test_preprocess_huge_crop (void)
{
  g_autofree gchar *dir = folder_with ("preprocessor_config.json",
      "{\"crop_size\": {\"height\": 14700, \"width\": 14700}}");
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,format=RGB,width=64,height=48 ! btpreprocess model=\"%s\" "
      "! fakesink", dir);
  g_autofree gchar *text = run_pipeline (desc);

  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "crop_size"));
  g_assert_nonnull (strstr (text, dir));
  remove_folder (dir);
}

/* A crop of 1024 is a valid processor setting, but the 32x32 model's
 * position grid cannot stretch to it: btencoder refuses the frame instead
 * of asking for gigabytes. */
static void
test_encoder_grid_cap (void)
{
  g_autofree gchar *dir = folder_with ("preprocessor_config.json",
      "{\"crop_size\": 1024, \"size\": 1024}");
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,format=RGB,width=64,height=48 ! btpreprocess model=\"%s\" "
      "! btencoder model=\"%s\" ! fakesink", dir, itm_dir);
  g_autofree gchar *text = run_pipeline (desc);

  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "position grid"));
  remove_folder (dir);
}

/* model= naming the weights file instead of its folder once reported
 * "JSON nested too deep" (the weights read as a config). */
static void
test_encoder_model_is_file (void)
{
  g_autofree gchar *file = g_build_filename (itm_dir, "model.safetensors",
      NULL);
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=64,height=48 ! btpreprocess ! btencoder "
      "model=\"%s\" ! fakesink", file);
  g_autofree gchar *text = run_pipeline (desc);

  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "expected a model folder"));
  g_assert_nonnull (strstr (text, file));
}

/* ---- queries ------------------------------------------------------- */

/* The error of loading `path` as a queries file (asserts there is one). */
static gchar *
queries_file_error (const gchar *path)
{
  g_autoptr (GPtrArray) list = gst_bt_query_list_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (gst_bt_query_list_load_file (list, path, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  return g_strdup (error->message);
}

static gchar *
queries_file_with (const gchar *contents, gssize len)
{
  gchar *path = NULL;
  int fd = g_file_open_tmp ("bt-queries-XXXXXX.json", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  return path;
}

/* 100,000 levels of [ once overflowed json-glib's stack; a device file
 * was read without end; a huge file is refused before it is parsed. */
static void
test_queries_file_hostile (void)
{
  const gsize deep = 100000, big = 17 * 1024 * 1024;
  g_autofree gchar *nested = g_malloc (deep);
  g_autofree gchar *huge = g_malloc (big);
  g_autofree gchar *nested_path = NULL, *huge_path = NULL;
  g_autofree gchar *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

  memset (nested, '[', deep);
  nested_path = queries_file_with (nested, deep);
  e1 = queries_file_error (nested_path);
  g_assert_nonnull (strstr (e1, "nested"));

  e2 = queries_file_error ("/dev/zero");
  g_assert_nonnull (strstr (e2, "not a regular file"));

  memset (huge, ' ', big);
  huge[0] = '[';
  huge[big - 1] = ']';
  huge_path = queries_file_with (huge, big);
  e3 = queries_file_error (huge_path);
  g_assert_nonnull (strstr (e3, "larger than"));

  e4 = queries_file_error ("/no/such/queries.json");
  g_assert_nonnull (strstr (e4, "/no/such/queries.json"));
  g_unlink (nested_path);
  g_unlink (huge_path);
}

/* Values json-glib accepts but no query can use. */
static void
test_queries_file_bad_values (void)
{
  const gchar *cases[][2] = {
    {"[{\"text\": \"a cat\", \"threshold\": 5}]", "between -1 and 1"},
    {"[{\"text\": \"a cat\", \"threshold\": -1e400}]", "between -1 and 1"},
    {"[\"a c\\u0000at\"]", "u0000"},
    {"[\"a cat\\\\u0000\"]", NULL},    /* an escaped backslash: fine */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree gchar *path = queries_file_with (cases[i][0], -1);

    if (cases[i][1]) {
      g_autofree gchar *text = queries_file_error (path);
      g_assert_nonnull (strstr (text, cases[i][1]));
    } else {
      g_autoptr (GPtrArray) list = gst_bt_query_list_new ();
      g_autoptr (GError) error = NULL;

      g_assert_true (gst_bt_query_list_load_file (list, path, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (list->len, ==, 1);
    }
    g_unlink (path);
  }
}

typedef struct {
  GstElement *matcher;
  const gchar *path;
  guint seen;
} SetLater;

static GstPadProbeReturn
set_queries_file_later (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  SetLater *later = data;

  (void) pad;
  (void) info;
  if (++later->seen == 3)
    g_object_set (later->matcher, "queries-file", later->path, NULL);
  return GST_PAD_PROBE_OK;
}

/* The nested file set while PLAYING: a warning, the old queries stay, the
 * stream reaches EOS. */
static void
test_queries_file_while_playing (void)
{
  const gsize deep = 100000;
  g_autofree gchar *nested = g_malloc (deep);
  g_autofree gchar *path = NULL;
  g_autofree gchar *desc = NULL;
  g_autoptr (GError) error = NULL;
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;
  GstPad *pad;
  SetLater later = { 0 };
  gboolean warned = FALSE;

  memset (nested, '[', deep);
  path = queries_file_with (nested, deep);
  desc = g_strdup_printf ("videotestsrc num-buffers=8 ! "
      "video/x-raw,width=64,height=48 ! btpreprocess ! btencoder model=\"%s\" "
      "! btmatcher name=m queries=\"a cat\" ! fakesink", itm_dir);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  later.matcher = gst_bin_get_by_name (GST_BIN (pipeline), "m");
  later.path = path;
  pad = gst_element_get_static_pad (later.matcher, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, set_queries_file_later,
      &later, NULL);
  gst_object_unref (pad);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
    GstMessageType type = GST_MESSAGE_TYPE (msg);

    if (type == GST_MESSAGE_WARNING) {
      g_autoptr (GError) w = NULL;

      gst_message_parse_warning (msg, &w, NULL);
      warned = TRUE;
    }
    g_assert_cmpint (type, !=, GST_MESSAGE_ERROR);
    gst_message_unref (msg);
    if (type == GST_MESSAGE_EOS)
      break;
  }
  g_assert_true (warned);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (later.matcher);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_unlink (path);
}

/* The query cache keeps the most recently used texts and no more than its
 * capacity; what the matcher still holds survives an eviction. */
static void
test_text_cache_lru (void)
{
  g_autoptr (GError) error = NULL;
  BtModel *model = bt_model_cache_acquire (itm_dir, NULL,
      &error);
  BtContext *ctx;
  GstBtTextCache *cache = gst_bt_text_cache_new (8);
  BtTextFeatures *held;

  g_assert_no_error (error);
  ctx = bt_context_new (model, NULL);
  for (guint i = 0; i < 40; i++) {
    g_autofree gchar *text = g_strdup_printf ("query number %u", i);
    BtTextFeatures *f = bt_context_encode_query (ctx, text, &error);

    g_assert_no_error (error);
    gst_bt_text_cache_insert (cache, text, f);
    /* "query number 0" stays in use */
    g_assert_nonnull (gst_bt_text_cache_lookup (cache, "query number 0"));
    g_assert_cmpuint (gst_bt_text_cache_size (cache), <=, 8);
  }
  g_assert_cmpuint (gst_bt_text_cache_size (cache), ==, 8);
  g_assert_nonnull (gst_bt_text_cache_lookup (cache, "query number 39"));
  g_assert_null (gst_bt_text_cache_lookup (cache, "query number 1"));
  g_assert_null (gst_bt_text_cache_lookup (cache, "query number 32"));
  g_assert_nonnull (gst_bt_text_cache_lookup (cache, "query number 33"));

  held = bt_text_features_ref (gst_bt_text_cache_lookup (cache,
          "query number 33"));
  gst_bt_text_cache_clear (cache);
  g_assert_cmpuint (gst_bt_text_cache_size (cache), ==, 0);
  g_assert_cmpint (bt_text_features_get_n_tokens (held), >, 2);
  bt_text_features_unref (held);
  gst_bt_text_cache_free (cache);
  bt_context_free (ctx);
  bt_model_unref (model);
}

/* ---- results file --------------------------------------------------- */

/* Every line of `path` is one strict JSON object (json-glib refuses NaN,
 * nan.0 and raw control characters); returns the number of lines whose
 * "type" is `type` (NULL: all lines). */
static guint
assert_json_lines (const gchar *path, const gchar *type)
{
  g_autofree gchar *contents = NULL;
  gsize len;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_true (len == 0 || contents[len - 1] == '\n');
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    JsonObject *o;

    for (const gchar *p = lines[i]; *p; p++)
      g_assert_cmpint ((guchar) *p, >=, 0x20);
    if (!json_parser_load_from_data (parser, lines[i], -1, &error))
      g_error ("line %u of %s: %s: %s", i + 1, path, error->message, lines[i]);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
    o = json_node_get_object (json_parser_get_root (parser));
    if (!type || g_strcmp0 (json_object_get_string_member_with_default (o,
                "type", NULL), type) == 0)
      n++;
  }
  return n;
}

static gchar *
temp_path (const gchar *tmpl)
{
  gchar *path = NULL;
  int fd = g_file_open_tmp (tmpl, &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  return path;
}

/* image_std 0 makes every pixel value infinite and every score NaN; a
 * query holds byte 0x1F. Both once made invalid JSON (nan.0, a raw 0x1F). */
static void
test_location_strict_json (void)
{
  g_autofree gchar *dir = folder_with ("preprocessor_config.json",
      "{\"crop_size\": 32, \"size\": 32, \"image_std\": 0}");
  g_autofree gchar *path = temp_path ("bt-strict-XXXXXX.jsonl");
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 ! "
      "video/x-raw,format=RGB,width=64,height=48 ! btpreprocess model=\"%s\" "
      "! btencoder model=\"%s\" ! btmatcher queries=\"a\x1f" "cat\" "
      "location=\"%s\" ! fakesink", dir, itm_dir, path);
  g_autofree gchar *text = run_pipeline (desc);
  g_autofree gchar *contents = NULL;

  g_assert_null (text);
  /* three frames; a NaN score matches nothing, so no segment */
  g_assert_cmpuint (assert_json_lines (path, NULL), ==, 3);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\"score\":null"));
  g_assert_nonnull (strstr (contents, "a\\u001fcat"));
  g_assert_null (strstr (contents, "nan"));
  g_unlink (path);
  remove_folder (dir);
}

/* A sink that cannot take a byte, and one whose folder does not exist:
 * an element error each, not a warning per frame and exit 0. */
static void
test_location_unwritable (void)
{
  const gchar *paths[] = { "/dev/full", "/nonexistent-bt-dir/out.jsonl" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 ! "
        "video/x-raw,width=64,height=48 ! btpreprocess ! btencoder "
        "model=\"%s\" ! btmatcher queries=\"a cat\" location=\"%s\" ! "
        "fakesink", itm_dir, paths[i]);
    g_autofree gchar *text = run_pipeline (desc);

    g_assert_nonnull (text);
    g_assert_nonnull (strstr (text, paths[i]));
  }
}

/* The disk fills mid-stream (a file size limit stands in for it): the
 * line cut short is removed, the file ends in whole lines, one error. */
static void
test_location_disk_full (void)
{
  g_autofree gchar *path = temp_path ("bt-full-XXXXXX.jsonl");
  g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=200 ! "
      "video/x-raw,width=64,height=48 ! btpreprocess ! btencoder "
      "model=\"%s\" ! btmatcher queries=\"a cat;a dog\" location=\"%s\" ! "
      "fakesink", itm_dir, path);
  struct rlimit old, limit;
  g_autofree gchar *text = NULL;
  GStatBuf st;

  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  limit = old;
  limit.rlim_cur = 5000;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  text = run_pipeline (desc);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);

  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, "Cannot write"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, <=, 5000);
  g_assert_cmpuint (assert_json_lines (path, NULL), >, 10);
  g_unlink (path);
}

/* ---- faults while PLAYING ------------------------------------------- */

/* A copy of the model folder `src` in a new temp folder. */
static gchar *
copy_model (const gchar *src)
{
  gchar *dir = g_dir_make_tmp ("bt-model-XXXXXX", NULL);
  g_autoptr (GDir) d = g_dir_open (src, 0, NULL);
  const gchar *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d))) {
    g_autofree gchar *from = g_build_filename (src, name, NULL);
    g_autofree gchar *to = g_build_filename (dir, name, NULL);
    g_autofree gchar *contents = NULL;
    gsize len;

    g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
    g_assert_true (g_file_set_contents (to, contents, len, NULL));
  }
  return dir;
}

typedef enum {
  WEIGHTS_UNTOUCHED,
  WEIGHTS_TRUNCATE,
  WEIGHTS_DELETE,
  WEIGHTS_OVERWRITE,
  FOLDER_REPLACE,
} WeightsFault;

typedef struct {
  const gchar *dir;
  WeightsFault fault;
  guint seen;
} FaultLater;

static GstPadProbeReturn
fault_later (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  FaultLater *later = data;
  g_autofree gchar *weights = g_build_filename (later->dir,
      "model.safetensors", NULL);

  (void) pad;
  (void) info;
  if (++later->seen != 5)
    return GST_PAD_PROBE_OK;
  switch (later->fault) {
    case WEIGHTS_UNTOUCHED:
      break;
    case WEIGHTS_TRUNCATE:
      g_assert_cmpint (truncate (weights, 0), ==, 0);
      break;
    case WEIGHTS_DELETE:
      g_assert_cmpint (g_unlink (weights), ==, 0);
      break;
    case WEIGHTS_OVERWRITE:{
      /* in place, as cp over the file does: same inode, new bytes */
      FILE *f = fopen (weights, "r+");

      g_assert_nonnull (f);
      for (int i = 0; i < 4096; i++)
        fputc (0xff, f);
      fclose (f);
      break;
    }
    case FOLDER_REPLACE:{
      g_autofree gchar *other = copy_model (later->dir);

      remove_folder (later->dir);
      g_assert_cmpint (g_rename (other, later->dir), ==, 0);
      break;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* The model's files truncated, deleted, overwritten in place, or the
 * folder replaced while the pipeline runs: the loaded model is the
 * library's own copy, so the stream goes on to EOS with the same scores
 * (a SIGBUS killed the process when the weights were mapped). */
static void
test_weights_changed_while_playing (void)
{
  g_autofree gchar *reference = NULL;

  for (WeightsFault fault = WEIGHTS_UNTOUCHED; fault <= FOLDER_REPLACE;
      fault++) {
    g_autofree gchar *dir = copy_model (itm_dir);
    g_autofree gchar *out = temp_path ("bt-weights-XXXXXX.jsonl");
    g_autofree gchar *desc = g_strdup_printf ("videotestsrc num-buffers=12 "
        "pattern=ball ! video/x-raw,width=64,height=48 ! btpreprocess ! "
        "btencoder name=enc model=\"%s\" ! btmatcher queries=\"a cat\" "
        "location=\"%s\" ! fakesink", dir, out);
    g_autoptr (GError) error = NULL;
    GstElement *pipeline = gst_parse_launch (desc, &error);
    GstElement *enc;
    GstPad *pad;
    GstBus *bus;
    GstMessage *msg;
    FaultLater later = { dir, fault, 0 };
    gchar *contents = NULL;

    g_assert_no_error (error);
    enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
    pad = gst_element_get_static_pad (enc, "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, fault_later, &later,
        NULL);
    gst_object_unref (pad);
    gst_object_unref (enc);
    bus = gst_element_get_bus (pipeline);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
    gst_message_unref (msg);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (pipeline);
    g_assert_cmpuint (assert_json_lines (out, NULL), >=, 12);
    g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
    if (!reference)
      reference = contents;
    else {
      g_assert_cmpstr (contents, ==, reference);
      g_free (contents);
    }
    g_unlink (out);
    remove_folder (dir);
  }
}

/* An appsrc pipeline into the three elements, writing `location`. */
static GstElement *
appsrc_pipeline (const gchar *location, gboolean live, GstElement **src)
{
  g_autofree gchar *desc = g_strdup_printf ("appsrc name=src format=time "
      "is-live=%s ! btpreprocess ! btencoder model=\"%s\" ! btmatcher "
      "queries=\"a cat\" location=\"%s\" ! fakesink", live ? "true" :
      "false", itm_dir, location);
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);

  g_assert_no_error (error);
  *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  return pipeline;
}

/* Pushes `n` frames of `format` width x height, PTS from *pts on. */
static void
push_frames (GstElement *src, const gchar *format, gint width, gint height,
    guint n, GstClockTime *pts)
{
  GstVideoInfo info;
  GstCaps *caps;

  gst_video_info_set_format (&info, gst_video_format_from_string (format),
      width, height);
  GST_VIDEO_INFO_FPS_N (&info) = 30;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  caps = gst_video_info_to_caps (&info);
  g_object_set (src, "caps", caps, NULL);
  gst_caps_unref (caps);
  for (guint i = 0; i < n; i++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
    GstFlowReturn ret;

    gst_buffer_memset (buf, 0, (guint8) (40 * i + 7), info.size);
    GST_BUFFER_PTS (buf) = *pts;
    GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
    *pts += GST_SECOND / 30;
    g_signal_emit_by_name (src, "push-buffer", buf, &ret);
    gst_buffer_unref (buf);
    g_assert_cmpint (ret, ==, GST_FLOW_OK);
  }
}

/* Runs `pipeline` to EOS (asserts no error within 60 s). */
static void
finish (GstElement *pipeline, GstElement *src)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GstFlowReturn ret;

  g_signal_emit_by_name (src, "end-of-stream", &ret);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) err = NULL;
    g_autofree gchar *debug = NULL;

    gst_message_parse_error (msg, &err, &debug);
    g_error ("%s | %s", err->message, debug);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
}

/* Resolution and format change mid-stream (RGB 64x48, then I420 80x60,
 * then BGRx 33x17): every frame is scored. */
static void
test_caps_change (void)
{
  g_autofree gchar *out = temp_path ("bt-caps-XXXXXX.jsonl");
  GstElement *src;
  GstElement *pipeline = appsrc_pipeline (out, FALSE, &src);
  GstClockTime pts = 0;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push_frames (src, "RGB", 64, 48, 4, &pts);
  push_frames (src, "I420", 80, 60, 4, &pts);
  push_frames (src, "BGRx", 33, 17, 4, &pts);
  finish (pipeline, src);
  g_assert_cmpuint (assert_json_lines (out, "frame"), ==, 12);
  g_unlink (out);
}

/* A live source that stops sending for 1.5 s, then goes on: no error, no
 * frame lost. */
static void
test_live_stall (void)
{
  g_autofree gchar *out = temp_path ("bt-stall-XXXXXX.jsonl");
  GstElement *src;
  GstElement *pipeline = appsrc_pipeline (out, TRUE, &src);
  GstClockTime pts = 0;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  push_frames (src, "RGB", 64, 48, 3, &pts);
  g_usleep (1500 * 1000);
  pts += 45 * (GST_SECOND / 30);
  push_frames (src, "RGB", 64, 48, 3, &pts);
  finish (pipeline, src);
  g_assert_cmpuint (assert_json_lines (out, "frame"), ==, 6);
  g_unlink (out);
}

/* EOS before any frame: a clean EOS and an empty (valid) results file. */
static void
test_eos_first (void)
{
  g_autofree gchar *out = temp_path ("bt-eos-XXXXXX.jsonl");
  GstElement *src;
  GstElement *pipeline = appsrc_pipeline (out, FALSE, &src);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  finish (pipeline, src);
  g_assert_cmpuint (assert_json_lines (out, NULL), ==, 0);
  g_unlink (out);
}

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  GST_ELEMENT_REGISTER (btpreprocess, NULL);
  GST_ELEMENT_REGISTER (btencoder, NULL);
  GST_ELEMENT_REGISTER (btmatcher, NULL);
  itm_dir = golden_model ("itm_add_t3v3c2");

  g_test_add_func ("/sizes/preprocess-huge-crop", test_preprocess_huge_crop);
  g_test_add_func ("/sizes/encoder-grid-cap", test_encoder_grid_cap);
  g_test_add_func ("/sizes/encoder-model-is-file", test_encoder_model_is_file);
  g_test_add_func ("/queries/file-hostile", test_queries_file_hostile);
  g_test_add_func ("/queries/file-bad-values", test_queries_file_bad_values);
  g_test_add_func ("/queries/file-while-playing",
      test_queries_file_while_playing);
  g_test_add_func ("/location/strict-json", test_location_strict_json);
  g_test_add_func ("/location/unwritable", test_location_unwritable);
  g_test_add_func ("/location/disk-full", test_location_disk_full);
  g_test_add_func ("/queries/text-cache-lru", test_text_cache_lru);
  g_test_add_func ("/playing/weights-changed",
      test_weights_changed_while_playing);
  g_test_add_func ("/playing/caps-change", test_caps_change);
  g_test_add_func ("/playing/live-stall", test_live_stall);
  g_test_add_func ("/playing/eos-first", test_eos_first);
  ret = g_test_run ();
  g_free (itm_dir);
  return ret;
}
