/* gstbtsegments.h - btsegments: after btmatcher, gathers the scored frames
 * into a timeline and at the end of the stream gives its segments as a
 * table of contents (a chapter per segment, for matroskamux), a bus
 * message and, on request, subtitle and chapter files.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <bt-timeline.h>

G_BEGIN_DECLS

#define GST_TYPE_BT_SEGMENTS (gst_bt_segments_get_type ())
G_DECLARE_FINAL_TYPE (GstBtSegments, gst_bt_segments, GST, BT_SEGMENTS,
    GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (btsegments);

/* A table of contents for `segments` (BtSegment) of `t`: one edition with
 * a chapter per segment, titled with its query (what matroskamux writes). */
GstToc *gst_bt_segments_to_toc (const BtTimeline *t, const GArray *segments);

G_END_DECLS
