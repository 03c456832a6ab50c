/* gstbtmatcher.h - btmatcher: scores frames against text queries with
 * BridgeTower's ITM / ITC heads; posts messages, writes JSON lines, can
 * drop frames that match nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_BT_MATCHER (gst_bt_matcher_get_type ())
G_DECLARE_FINAL_TYPE (GstBtMatcher, gst_bt_matcher, GST, BT_MATCHER,
    GstBaseTransform)

typedef enum {
  GST_BT_MATCHER_MODE_AUTO,
  GST_BT_MATCHER_MODE_ITM,
  GST_BT_MATCHER_MODE_ITC,
} GstBtMatcherMode;

#define GST_TYPE_BT_MATCHER_MODE (gst_bt_matcher_mode_get_type ())
GType gst_bt_matcher_mode_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (btmatcher);

G_END_DECLS
