/* gstbtmeta.c - tensor, features and scores metas.
 *
 * SPDX-License-Identifier: MIT
 */
#include "gstbtmeta.h"

#include <string.h>

/* ---- tensor meta -------------------------------------------------------- */

gsize
gst_bt_tensor_block_size (gint width, gint height)
{
  /* the values only: a single frame is never padded, so its pixel_mask
   * would be all ones */
  return 3 * (gsize) width * (gsize) height * sizeof (float);
}

GType
gst_bt_tensor_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstBtTensorMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
tensor_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstBtTensorMeta *tmeta = (GstBtTensorMeta *) meta;

  (void) params;
  (void) buffer;
  tmeta->block = NULL;
  tmeta->pixel_values = NULL;
  tmeta->width = tmeta->height = 0;
  tmeta->frame_width = tmeta->frame_height = 0;
  memset (&tmeta->map, 0, sizeof (tmeta->map));
  return TRUE;
}

static void
tensor_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstBtTensorMeta *tmeta = (GstBtTensorMeta *) meta;

  (void) buffer;
  if (tmeta->block) {
    gst_buffer_unmap (tmeta->block, &tmeta->map);
    gst_buffer_unref (tmeta->block);
    tmeta->block = NULL;
  }
}

static gboolean
tensor_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstBtTensorMeta *tmeta = (GstBtTensorMeta *) meta;

  (void) buffer;
  (void) data;
  /* the tensor describes the pixels, so only plain copies keep it */
  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;
  return gst_buffer_add_bt_tensor_meta (dest, tmeta->block, tmeta->width,
      tmeta->height, tmeta->frame_width, tmeta->frame_height) != NULL;
}

const GstMetaInfo *
gst_bt_tensor_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_BT_TENSOR_META_API_TYPE,
        "GstBtTensorMeta", sizeof (GstBtTensorMeta), tensor_meta_init,
        tensor_meta_free, tensor_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstBtTensorMeta *
gst_buffer_add_bt_tensor_meta (GstBuffer *buffer, GstBuffer *block,
    gint width, gint height, gint frame_width, gint frame_height)
{
  GstBtTensorMeta *tmeta;
  GstMapInfo map;
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (GST_IS_BUFFER (block), NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  if (!gst_buffer_map (block, &map, GST_MAP_READ))
    return NULL;
  if (map.size < gst_bt_tensor_block_size (width, height)) {
    gst_buffer_unmap (block, &map);
    return NULL;
  }
  tmeta = (GstBtTensorMeta *) gst_buffer_add_meta (buffer,
      gst_bt_tensor_meta_get_info (), NULL);
  if (!tmeta) {
    gst_buffer_unmap (block, &map);
    return NULL;
  }
  tmeta->block = gst_buffer_ref (block);
  tmeta->map = map;
  tmeta->pixel_values = (const float *) map.data;
  tmeta->width = width;
  tmeta->height = height;
  tmeta->frame_width = frame_width;
  tmeta->frame_height = frame_height;
  return tmeta;
}

/* ---- features meta ------------------------------------------------------ */

GType
gst_bt_features_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstBtFeaturesMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
features_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  (void) params;
  (void) buffer;
  ((GstBtFeaturesMeta *) meta)->features = NULL;
  return TRUE;
}

static void
features_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstBtFeaturesMeta *fmeta = (GstBtFeaturesMeta *) meta;

  (void) buffer;
  g_clear_pointer (&fmeta->features, bt_image_features_unref);
}

static gboolean
features_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  (void) buffer;
  (void) data;
  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;
  return gst_buffer_add_bt_features_meta (dest,
      ((GstBtFeaturesMeta *) meta)->features) != NULL;
}

const GstMetaInfo *
gst_bt_features_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_BT_FEATURES_META_API_TYPE,
        "GstBtFeaturesMeta", sizeof (GstBtFeaturesMeta), features_meta_init,
        features_meta_free, features_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstBtFeaturesMeta *
gst_buffer_add_bt_features_meta (GstBuffer *buffer, BtImageFeatures *features)
{
  GstBtFeaturesMeta *fmeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (features != NULL, NULL);

  fmeta = (GstBtFeaturesMeta *) gst_buffer_add_meta (buffer,
      gst_bt_features_meta_get_info (), NULL);
  if (fmeta)
    fmeta->features = bt_image_features_ref (features);
  return fmeta;
}

/* ---- scores meta -------------------------------------------------------- */

GType
gst_bt_scores_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstBtScoresMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
scores_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstBtScoresMeta *smeta = (GstBtScoresMeta *) meta;

  (void) params;
  (void) buffer;
  smeta->frame = 0;
  smeta->n_scores = 0;
  smeta->scores = NULL;
  return TRUE;
}

static void
scores_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstBtScoresMeta *smeta = (GstBtScoresMeta *) meta;

  (void) buffer;
  for (guint i = 0; i < smeta->n_scores; i++)
    g_free (smeta->scores[i].query);
  g_clear_pointer (&smeta->scores, g_free);
  smeta->n_scores = 0;
}

static gboolean
scores_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstBtScoresMeta *smeta = (GstBtScoresMeta *) meta;

  (void) buffer;
  (void) data;
  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;
  return gst_buffer_add_bt_scores_meta (dest, smeta->frame, smeta->scores,
      smeta->n_scores) != NULL;
}

const GstMetaInfo *
gst_bt_scores_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_BT_SCORES_META_API_TYPE,
        "GstBtScoresMeta", sizeof (GstBtScoresMeta), scores_meta_init,
        scores_meta_free, scores_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstBtScoresMeta *
gst_buffer_add_bt_scores_meta (GstBuffer *buffer, guint64 frame,
    const GstBtScore *scores, guint n_scores)
{
  GstBtScoresMeta *smeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (n_scores == 0 || scores != NULL, NULL);

  smeta = (GstBtScoresMeta *) gst_buffer_add_meta (buffer,
      gst_bt_scores_meta_get_info (), NULL);
  if (!smeta)
    return NULL;
  smeta->frame = frame;
  smeta->n_scores = n_scores;
  smeta->scores = g_new (GstBtScore, MAX (n_scores, 1));
  for (guint i = 0; i < n_scores; i++) {
    smeta->scores[i] = scores[i];
    smeta->scores[i].query = g_strdup (scores[i].query);
  }
  return smeta;
}
