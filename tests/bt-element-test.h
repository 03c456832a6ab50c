/* bt-element-test.h - what the element tests share: the golden model
 * folders, video frames and caps, and bus helpers. The elements are linked
 * in and registered statically, so the metas are read through their C API.
 */
#pragma once

#include <gst/gst.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "bridgetower.h"
#include "gstbtmeta.h"

G_BEGIN_DECLS

extern gchar *itm_dir;         /* ITM head, 32x32 inputs */
extern gchar *itc_dir;         /* ITC head, 56x56 inputs */

/* GStreamer and GTest, the three elements registered, the folders set. */
void bt_element_test_init (int *argc, char ***argv);

/* Random RGB pixels, 3 bytes per pixel, stride 3 * width. */
guint8 *random_rgb (gint width, gint height, guint32 seed);

typedef struct {
  const gchar *format;
  gint pstride;
  gint offset[3];              /* byte of R, G, B within the pixel */
} PackedFormat;

#define N_PACKED_FORMATS 10
extern const PackedFormat packed_formats[N_PACKED_FORMATS];

GstCaps *video_caps (const gchar *format, gint width, gint height,
    const gchar *colorimetry);
/* A frame of `fmt` holding `rgb`; the filler byte gets noise, which the
 * element must ignore. */
GstBuffer *packed_frame (const PackedFormat *fmt, const guint8 *rgb,
    gint width, gint height);
/* Frame `i` of a 40x30 RGB stream at 30 fps, random pixels from `seed`. */
GstBuffer *timed_frame (guint i, guint32 seed);

/* Drops the messages still queued: they hold references to the elements
 * that posted them. */
void release_bus (GstElement *element, GstBus *bus);
/* The first error message on `bus`, as "message | debug". */
gchar *pop_error (GstBus *bus);
/* Sets a string property of a new `factory` element, asserts that it fails
 * to start and returns the error message it posted. */
gchar *start_error (const gchar *factory, const gchar *property,
    const gchar *value);
gchar *pop_message_with (GstBus *bus, GstMessageType type,
    const gchar *needle);

G_END_DECLS
