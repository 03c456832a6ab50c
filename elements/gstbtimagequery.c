/* gstbtimagequery.c - image processor settings travelling in a custom query.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtimagequery.h"

GstQuery *
gst_bt_image_config_query_new (void)
{
  return gst_query_new_custom (GST_QUERY_CUSTOM,
      gst_structure_new_empty (GST_BT_IMAGE_CONFIG_QUERY_NAME));
}

gboolean
gst_bt_image_config_query_is (GstQuery *query)
{
  const GstStructure *s;

  if (GST_QUERY_TYPE (query) != GST_QUERY_CUSTOM)
    return FALSE;
  s = gst_query_get_structure (query);
  return s && gst_structure_has_name (s, GST_BT_IMAGE_CONFIG_QUERY_NAME);
}

void
gst_bt_image_config_query_set (GstQuery *query, const BtImageConfig *config,
    const gchar *model_path)
{
  GstStructure *s = gst_query_writable_structure (query);

  gst_structure_set (s,
      "do-resize", G_TYPE_BOOLEAN, config->do_resize,
      "shortest-edge", G_TYPE_INT, config->shortest_edge,
      "size-divisor", G_TYPE_INT, config->size_divisor,
      "resample", G_TYPE_INT, config->resample,
      "do-rescale", G_TYPE_BOOLEAN, config->do_rescale,
      "rescale-factor", G_TYPE_DOUBLE, config->rescale_factor,
      "do-normalize", G_TYPE_BOOLEAN, config->do_normalize,
      "mean-r", G_TYPE_DOUBLE, (gdouble) config->image_mean[0],
      "mean-g", G_TYPE_DOUBLE, (gdouble) config->image_mean[1],
      "mean-b", G_TYPE_DOUBLE, (gdouble) config->image_mean[2],
      "std-r", G_TYPE_DOUBLE, (gdouble) config->image_std[0],
      "std-g", G_TYPE_DOUBLE, (gdouble) config->image_std[1],
      "std-b", G_TYPE_DOUBLE, (gdouble) config->image_std[2],
      "do-center-crop", G_TYPE_BOOLEAN, config->do_center_crop,
      "crop-height", G_TYPE_INT, config->crop_height,
      "crop-width", G_TYPE_INT, config->crop_width,
      "do-pad", G_TYPE_BOOLEAN, config->do_pad,
      "model", G_TYPE_STRING, model_path ? model_path : "", NULL);
}

gboolean
gst_bt_image_config_query_parse (GstQuery *query, BtImageConfig *config,
    gchar **model_path)
{
  const GstStructure *s = gst_query_get_structure (query);
  gdouble mean[3], std[3];
  gboolean ok;

  ok = gst_structure_get (s,
      "do-resize", G_TYPE_BOOLEAN, &config->do_resize,
      "shortest-edge", G_TYPE_INT, &config->shortest_edge,
      "size-divisor", G_TYPE_INT, &config->size_divisor,
      "resample", G_TYPE_INT, &config->resample,
      "do-rescale", G_TYPE_BOOLEAN, &config->do_rescale,
      "rescale-factor", G_TYPE_DOUBLE, &config->rescale_factor,
      "do-normalize", G_TYPE_BOOLEAN, &config->do_normalize,
      "mean-r", G_TYPE_DOUBLE, &mean[0],
      "mean-g", G_TYPE_DOUBLE, &mean[1],
      "mean-b", G_TYPE_DOUBLE, &mean[2],
      "std-r", G_TYPE_DOUBLE, &std[0],
      "std-g", G_TYPE_DOUBLE, &std[1],
      "std-b", G_TYPE_DOUBLE, &std[2],
      "do-center-crop", G_TYPE_BOOLEAN, &config->do_center_crop,
      "crop-height", G_TYPE_INT, &config->crop_height,
      "crop-width", G_TYPE_INT, &config->crop_width,
      "do-pad", G_TYPE_BOOLEAN, &config->do_pad, NULL);
  if (!ok)
    return FALSE;
  for (int c = 0; c < 3; c++) {
    config->image_mean[c] = (float) mean[c];
    config->image_std[c] = (float) std[c];
  }
  if (model_path)
    *model_path = g_strdup (gst_structure_get_string (s, "model"));
  return TRUE;
}
