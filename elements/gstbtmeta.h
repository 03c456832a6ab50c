/* gstbtmeta.h - the metas btpreprocess, btencoder and btmatcher attach to
 * the video buffers they pass along: the model input tensor, the vision
 * features and the per-query scores.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gst/gst.h>
#include <bt-model.h>

G_BEGIN_DECLS

/* ---- tensor meta (btpreprocess) ----------------------------------------- */

/* Exactly what BridgeTowerProcessor gives for the frame's RGB pixels (center
 * crop and normalisation on). The arrays live in `block`, a buffer from
 * btpreprocess's pool: the meta holds a reference, so no per-frame tensor
 * allocation happens once the pool is warm. */
typedef struct {
  GstMeta meta;

  GstBuffer *block;            /* owns the data below (mapped for the meta's life) */
  const float *pixel_values;   /* 3 x height x width float32 */
  gint width;                  /* tensor width */
  gint height;                 /* tensor height */
  gint frame_width;            /* the video frame the tensor was made from */
  gint frame_height;

  GstMapInfo map;
} GstBtTensorMeta;

GType gst_bt_tensor_meta_api_get_type (void);
const GstMetaInfo *gst_bt_tensor_meta_get_info (void);
#define GST_BT_TENSOR_META_API_TYPE (gst_bt_tensor_meta_api_get_type ())
#define gst_buffer_get_bt_tensor_meta(b) \
  ((GstBtTensorMeta *) gst_buffer_get_meta ((b), GST_BT_TENSOR_META_API_TYPE))

/* Bytes a tensor block of width x height needs (3 x height x width floats). */
gsize gst_bt_tensor_block_size (gint width, gint height);

/* Adds a meta over `block` (filled already, laid out as
 * gst_bt_tensor_block_size describes), taking a reference to it. Returns
 * NULL when `block` cannot be mapped or is too small. */
GstBtTensorMeta *gst_buffer_add_bt_tensor_meta (GstBuffer *buffer,
    GstBuffer *block, gint width, gint height, gint frame_width,
    gint frame_height);

/* ---- features meta (btencoder) ------------------------------------------ */

/* The vision tower's output for the frame; refcounted, never copied. The
 * features hold the model that produced them
 * (bt_image_features_get_model), which is how btmatcher finds it. */
typedef struct {
  GstMeta meta;

  BtImageFeatures *features;
} GstBtFeaturesMeta;

GType gst_bt_features_meta_api_get_type (void);
const GstMetaInfo *gst_bt_features_meta_get_info (void);
#define GST_BT_FEATURES_META_API_TYPE (gst_bt_features_meta_api_get_type ())
#define gst_buffer_get_bt_features_meta(b) \
  ((GstBtFeaturesMeta *) gst_buffer_get_meta ((b), GST_BT_FEATURES_META_API_TYPE))

/* Takes a new reference to `features`. */
GstBtFeaturesMeta *gst_buffer_add_bt_features_meta (GstBuffer *buffer,
    BtImageFeatures *features);

/* ---- scores meta (btmatcher) -------------------------------------------- */

/* One entry per query, in the matcher's query order. `itc` and `itm` are
 * NaN when that head was not run for the query; `score` is the mode's
 * score; `matched` says whether the query is in a match (threshold with
 * hysteresis) at this frame. */
typedef struct {
  gchar *query;
  gdouble score;
  gdouble itc;
  gdouble itm;
  gdouble threshold;
  gboolean matched;
} GstBtScore;

typedef struct {
  GstMeta meta;

  guint64 frame;               /* 0-based buffer index at the matcher */
  guint n_scores;
  GstBtScore *scores;
} GstBtScoresMeta;

GType gst_bt_scores_meta_api_get_type (void);
const GstMetaInfo *gst_bt_scores_meta_get_info (void);
#define GST_BT_SCORES_META_API_TYPE (gst_bt_scores_meta_api_get_type ())
#define gst_buffer_get_bt_scores_meta(b) \
  ((GstBtScoresMeta *) gst_buffer_get_meta ((b), GST_BT_SCORES_META_API_TYPE))

/* Copies `scores` (query strings included). */
GstBtScoresMeta *gst_buffer_add_bt_scores_meta (GstBuffer *buffer,
    guint64 frame, const GstBtScore *scores, guint n_scores);

G_END_DECLS
