/* gstbtencoder.h - btencoder: runs BridgeTower's vision tower on the
 * tensor btpreprocess attached and attaches the features.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_BT_ENCODER (gst_bt_encoder_get_type ())
G_DECLARE_FINAL_TYPE (GstBtEncoder, gst_bt_encoder, GST, BT_ENCODER,
    GstBaseTransform)

#define GST_TYPE_BT_PRECISION (gst_bt_precision_get_type ())
GType gst_bt_precision_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (btencoder);

G_END_DECLS
