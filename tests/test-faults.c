/* test-faults.c - the elements under bad settings, bad files and faults:
 * each gives one element error naming the problem (or keeps running where
 * the documentation says so), never a crash, a hang or a silent loss. */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>

#include "bridgetower.h"

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

int
main (int argc, char **argv)
{
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  itm_dir = golden_model ("itm_add_t3v3c2");

  g_test_add_func ("/sizes/preprocess-huge-crop", test_preprocess_huge_crop);
  g_test_add_func ("/sizes/encoder-grid-cap", test_encoder_grid_cap);
  ret = g_test_run ();
  g_free (itm_dir);
  return ret;
}
