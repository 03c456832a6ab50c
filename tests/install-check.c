/* install-check.c - an application built against the installed
 * gst-bridgetower.pc (not by meson): it runs the installed plugin's elements
 * and reads the GstBtScoresMeta of every buffer through the installed
 * header. test-install.py compiles and runs it.
 *
 * usage: install-check MODEL_DIR; prints one line per buffer, exit 0 when
 * every buffer carried scores.
 */
#include <gst/gst.h>
#include <gstbtmeta.h>

static GstPadProbeReturn
print_scores (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBtScoresMeta *meta = gst_buffer_get_bt_scores_meta (
      GST_PAD_PROBE_INFO_BUFFER (info));
  guint *n_scored = user_data;

  (void) pad;
  if (meta && meta->n_scores == 1) {
    g_print ("frame %" G_GUINT64_FORMAT ": \"%s\" %.6f\n", meta->frame,
        meta->scores[0].query, meta->scores[0].score);
    (*n_scored)++;
  }
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *desc = NULL;
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstMessage *msg;
  guint n_scored = 0;
  gboolean eos;

  gst_init (&argc, &argv);
  if (argc != 2) {
    g_printerr ("usage: install-check MODEL_DIR\n");
    return 2;
  }
  desc = g_strdup_printf ("videotestsrc num-buffers=3 ! btpreprocess ! "
      "btencoder model=\"%s\" ! btmatcher queries=\"a cat\" ! fakesink "
      "name=sink", argv[1]);
  pipeline = gst_parse_launch (desc, &error);
  if (!pipeline) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, print_scores, &n_scored,
      NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  eos = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (!eos) {
    g_autoptr (GError) err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("%s\n", err->message);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return eos && n_scored == 3 ? 0 : 1;
}
