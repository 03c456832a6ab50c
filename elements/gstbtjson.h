/* gstbtjson.h - the JSON objects of btmatcher's results, shared by its
 * `location` file (JSON lines) and btpublish (JSON lines or MQTT), so both
 * speak one schema.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "gstbtmeta.h"

G_BEGIN_DECLS

/* {"type":"frame","frame":N,"pts":ns|null,"scores":[{"query","score",
 * "itc"?,"itm"?,"match"}...]}; itc/itm only when that head ran. */
JsonObject *gst_bt_json_frame_new (guint64 frame, GstClockTime pts,
    const GstBtScore *scores, guint n_scores);

/* {"type":"segment","query","start","stop","peak"}: a reported match that
 * ended (times in ns, null when unknown). */
JsonObject *gst_bt_json_segment_new (const gchar *query, GstClockTime start,
    GstClockTime stop, gdouble peak);

/* {"type":"match","query","start","peak"}: a match was reported (btpublish;
 * btmatcher's file has only the segment at its end). */
JsonObject *gst_bt_json_match_new (const gchar *query, GstClockTime start,
    gdouble peak);

/* The object as one line of compact JSON, without the newline. */
gchar *gst_bt_json_to_line (JsonObject *object, gsize *length);

G_END_DECLS
