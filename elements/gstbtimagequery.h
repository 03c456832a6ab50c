/* gstbtimagequery.h - the custom query btpreprocess sends downstream at caps
 * time to learn the image processor settings of the model btencoder
 * loaded.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <bt-image.h>

G_BEGIN_DECLS

#define GST_BT_IMAGE_CONFIG_QUERY_NAME "bridgetower-image-config"

GstQuery *gst_bt_image_config_query_new (void);
gboolean gst_bt_image_config_query_is (GstQuery *query);
/* Answers the query (the answerer writes the processor settings). */
void gst_bt_image_config_query_set (GstQuery *query,
    const BtImageConfig *config, const gchar *model_path);
/* FALSE when nobody answered. `model_path` (may be NULL) gets a copy of
 * the answering model's folder, for messages. */
gboolean gst_bt_image_config_query_parse (GstQuery *query,
    BtImageConfig *config, gchar **model_path);

G_END_DECLS
