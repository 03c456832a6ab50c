/* gstbtpublish.h - btpublish: sends btmatcher's results (frame scores,
 * match start and end) as JSON to a file or an MQTT broker, and takes a
 * remote query list from MQTT.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_BT_PUBLISH (gst_bt_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstBtPublish, gst_bt_publish, GST, BT_PUBLISH,
    GstBaseTransform)

typedef enum {
  GST_BT_PUBLISH_METHOD_FILE,
  GST_BT_PUBLISH_METHOD_MQTT,
} GstBtPublishMethod;

#define GST_TYPE_BT_PUBLISH_METHOD (gst_bt_publish_method_get_type ())
GType gst_bt_publish_method_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (btpublish);

G_END_DECLS
