/* gstbtpreprocess.h - btpreprocess: attaches BridgeTower's image tensor to
 * every `interval`-th video frame (the last one again on frames its
 * gating finds unchanged); the video passes through unchanged.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>
#include <bt-image.h>

G_BEGIN_DECLS

#define GST_TYPE_BT_PREPROCESS (gst_bt_preprocess_get_type ())
G_DECLARE_FINAL_TYPE (GstBtPreprocess, gst_bt_preprocess, GST, BT_PREPROCESS,
    GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (btpreprocess);

G_END_DECLS
