/* bt-element-test.c - what the element tests share: the golden model
 * folders, video frames and caps, and bus helpers.
 */
#include "bt-element-test.h"

#include "gstbtencoder.h"
#include "gstbtmatcher.h"
#include "gstbtpreprocess.h"

#include <string.h>

gchar *itm_dir;
gchar *itc_dir;

static gchar *
golden_model (const gchar *name)
{
  const gchar *data = g_getenv ("BT_TEST_DATA");

  return g_build_filename (data ? data : BT_TEST_DATA, "golden", "models",
      name, NULL);
}

void
bt_element_test_init (int *argc, char ***argv)
{
  gst_init (argc, argv);
  g_test_init (argc, argv, NULL);
  GST_ELEMENT_REGISTER (btpreprocess, NULL);
  GST_ELEMENT_REGISTER (btencoder, NULL);
  GST_ELEMENT_REGISTER (btmatcher, NULL);
  itm_dir = golden_model ("itm_add_t3v3c2");
  itc_dir = golden_model ("itc_interpolate_t3v4rm_c2");
}

/* ---- frames --------------------------------------------------------- */

/* Random RGB pixels, 3 bytes per pixel, stride 3 * width. */
guint8 *
random_rgb (gint width, gint height, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint8 *rgb = g_malloc ((gsize) width * height * 3);

  for (gsize i = 0; i < (gsize) width * height * 3; i++)
    rgb[i] = (guint8) g_rand_int_range (rand, 0, 256);
  g_rand_free (rand);
  return rgb;
}

/* Written from the formats' definitions, not from the element's code. */
const PackedFormat packed_formats[N_PACKED_FORMATS] = {
  {"RGB", 3, {0, 1, 2}},
  {"BGR", 3, {2, 1, 0}},
  {"RGBx", 4, {0, 1, 2}},
  {"BGRx", 4, {2, 1, 0}},
  {"xRGB", 4, {1, 2, 3}},
  {"xBGR", 4, {3, 2, 1}},
  {"RGBA", 4, {0, 1, 2}},
  {"BGRA", 4, {2, 1, 0}},
  {"ARGB", 4, {1, 2, 3}},
  {"ABGR", 4, {3, 2, 1}},
};

GstCaps *
video_caps (const gchar *format, gint width, gint height,
    const gchar *colorimetry)
{
  GstCaps *caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, format,
      "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);

  if (colorimetry)
    gst_caps_set_simple (caps, "colorimetry", G_TYPE_STRING, colorimetry,
        NULL);
  return caps;
}

/* A frame of `fmt` holding `rgb`; the filler byte gets noise, which the
 * element must ignore. */
GstBuffer *
packed_frame (const PackedFormat *fmt, const guint8 *rgb, gint width,
    gint height)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstMapInfo map;
  GstCaps *caps = video_caps (fmt->format, width, height, NULL);
  gint stride;

  g_assert_true (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (map.data, 0xa5, map.size);
  for (gint y = 0; y < height; y++) {
    for (gint x = 0; x < width; x++) {
      guint8 *px = map.data + (gsize) y * stride + (gsize) x * fmt->pstride;
      const guint8 *src = rgb + ((gsize) y * width + x) * 3;

      if (fmt->pstride == 4)
        px[0] = px[1] = px[2] = px[3] = (guint8) (x * 31 + y * 17);
      for (int c = 0; c < 3; c++)
        px[fmt->offset[c]] = src[c];
    }
  }
  gst_buffer_unmap (buf, &map);
  return buf;
}

GstBuffer *
timed_frame (guint i, guint32 seed)
{
  g_autofree guint8 *rgb = random_rgb (40, 30, seed);
  GstBuffer *buf = packed_frame (&packed_formats[0], rgb, 40, 30);

  GST_BUFFER_PTS (buf) = i * (GST_SECOND / 30);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

/* Drops the messages still queued: they hold references to the elements
 * that posted them. */
void
release_bus (GstElement *element, GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (bus);
}

/* The first error message on `bus`, as "message | debug". */
gchar *
pop_error (GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *debug = NULL;
  gchar *text;

  if (!msg)
    return NULL;
  gst_message_parse_error (msg, &error, &debug);
  text = g_strdup_printf ("%s | %s", error->message, debug ? debug : "");
  gst_message_unref (msg);
  return text;
}

/* Sets a string property of a new `factory` element, asserts that it fails
 * to start and returns the error message it posted. */
gchar *
start_error (const gchar *factory, const gchar *property, const gchar *value)
{
  GstElement *element = gst_element_factory_make (factory, NULL);
  GstBus *bus = gst_bus_new ();
  gchar *text;

  gst_element_set_bus (element, bus);
  g_object_set (element, property, value, NULL);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  text = pop_error (bus);
  g_assert_nonnull (text);
  g_test_message ("%s", text);
  gst_element_set_state (element, GST_STATE_NULL);
  release_bus (element, bus);
  gst_object_unref (element);
  return text;
}

/* Pops the messages of `type` until one whose text or debug has `needle`;
 * NULL when none has. */
gchar *
pop_message_with (GstBus *bus, GstMessageType type, const gchar *needle)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, type))) {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *debug = NULL;
    gchar *text;

    if (type == GST_MESSAGE_WARNING)
      gst_message_parse_warning (msg, &error, &debug);
    else if (type == GST_MESSAGE_INFO)
      gst_message_parse_info (msg, &error, &debug);
    else
      gst_message_parse_error (msg, &error, &debug);
    gst_message_unref (msg);
    text = g_strdup_printf ("%s | %s", error->message, debug ? debug : "");
    if (strstr (text, needle))
      return text;
    g_free (text);
  }
  return NULL;
}
