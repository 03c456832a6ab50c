/* bt-image-config.c - preprocessor_config.json as BridgeTowerImageProcessor
 * reads it, and the output size rule of its resize and center crop.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-image.h"
#include "bt-json.h"
#include "bt-image-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Larger sizes are valid upstream, but BridgeTower models take 288 to 384
 * pixels and interpolate their position grid to little more: past this a
 * size only serves to exhaust memory (a 2048 x 2048 frame's tensor is
 * already 84 MB). */
#define MAX_EDGE 2048

static const float clip_mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
static const float clip_std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

void
bt_image_config_init_defaults (BtImageConfig *config)
{
  memset (config, 0, sizeof *config);
  config->do_resize = TRUE;
  config->shortest_edge = 288;
  config->size_divisor = 32;
  config->resample = 3;
  config->do_rescale = TRUE;
  config->rescale_factor = 1.0 / 255.0;
  config->do_normalize = TRUE;
  memcpy (config->image_mean, clip_mean, sizeof clip_mean);
  memcpy (config->image_std, clip_std, sizeof clip_std);
  config->do_center_crop = TRUE;
  config->crop_height = config->crop_width = config->shortest_edge;
  config->do_pad = TRUE;
}

static gboolean
fail (GError **error, BtError code, const char *file, const char *key,
      const char *reason)
{
  g_set_error (error, BT_ERROR, code, "%s: key '%s': %s", file, key, reason);
  return FALSE;
}

static gboolean
is_number (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* Python truthiness of a JSON scalar: null and false are off. */
static gboolean
read_flag (JsonObject *root, const char *key, gboolean *value,
           const char *file, GError **error)
{
  JsonNode *node = json_object_get_member (root, key);
  if (!node)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (node)) {
    *value = FALSE;
    return TRUE;
  }
  if (JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_BOOLEAN) {
    *value = json_node_get_boolean (node);
    return TRUE;
  }
  if (is_number (node)) {
    *value = json_node_get_double (node) != 0.0;
    return TRUE;
  }
  return fail (error, BT_ERROR_CONFIG, file, key, "expected true or false");
}

static gboolean
edge_from_node (JsonNode *node, int *edge)
{
  if (!JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 1 || v > MAX_EDGE)
    return FALSE;
  *edge = (int) v;
  return TRUE;
}

/* A size as HF spells it: a bare number, {"shortest_edge": n},
 * {"height": h, "width": w} or [h, w]. A bare number or shortest_edge gives
 * a square. */
static gboolean
read_size (JsonNode *node, int *height, int *width)
{
  if (edge_from_node (node, height)) {
    *width = *height;
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    return json_array_get_length (a) == 2
        && edge_from_node (json_array_get_element (a, 0), height)
        && edge_from_node (json_array_get_element (a, 1), width);
  }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  JsonObject *o = json_node_get_object (node);
  JsonNode *se = json_object_get_member (o, "shortest_edge");
  if (se) {
    if (!edge_from_node (se, height))
      return FALSE;
    *width = *height;
    return TRUE;
  }
  JsonNode *h = json_object_get_member (o, "height");
  JsonNode *w = json_object_get_member (o, "width");
  return h && w && edge_from_node (h, height) && edge_from_node (w, width);
}

static gboolean
read_triple (JsonObject *root, const char *key, float *values,
             const float *defaults, const char *file, GError **error)
{
  JsonNode *node = json_object_get_member (root, key);
  if (!node || JSON_NODE_HOLDS_NULL (node)) {
    memcpy (values, defaults, 3 * sizeof (float));
    return TRUE;
  }
  if (is_number (node)) {
    values[0] = values[1] = values[2] = (float) json_node_get_double (node);
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    if (json_array_get_length (a) == 3) {
      for (guint i = 0; i < 3; i++) {
        JsonNode *e = json_array_get_element (a, i);
        if (!is_number (e))
          return fail (error, BT_ERROR_CONFIG, file, key,
                       "expected a number or a list of 3 numbers");
        values[i] = (float) json_node_get_double (e);
      }
      return TRUE;
    }
  }
  return fail (error, BT_ERROR_CONFIG, file, key,
               "expected a number or a list of 3 numbers");
}

static gboolean
parse_config (BtImageConfig *config, JsonObject *root, const char *file,
              GError **error)
{
  JsonNode *node;
  int size_h, size_w;

  if (!read_flag (root, "do_resize", &config->do_resize, file, error)
      || !read_flag (root, "do_rescale", &config->do_rescale, file, error)
      || !read_flag (root, "do_normalize", &config->do_normalize, file, error)
      || !read_flag (root, "do_center_crop", &config->do_center_crop, file,
                     error)
      || !read_flag (root, "do_pad", &config->do_pad, file, error))
    return FALSE;

  /* the deprecated spelling of do_pad wins when set, as upstream */
  gboolean pad_and_mask = FALSE;
  if (!read_flag (root, "pad_and_return_pixel_mask", &pad_and_mask, file,
                  error))
    return FALSE;
  if (pad_and_mask)
    config->do_pad = TRUE;

  node = json_object_get_member (root, "size");
  if (node && !JSON_NODE_HOLDS_NULL (node)) {
    if (!read_size (node, &size_h, &size_w))
      return fail (error, BT_ERROR_CONFIG, file, "size",
                   "expected a positive edge: a number, {\"shortest_edge\"} "
                   "or {\"height\", \"width\"} (at most 2048)");
    config->shortest_edge = MIN (size_h, size_w);
  }

  config->crop_height = config->crop_width = config->shortest_edge;
  node = json_object_get_member (root, "crop_size");
  if (node && !JSON_NODE_HOLDS_NULL (node)
      && !read_size (node, &config->crop_height, &config->crop_width))
    return fail (error, BT_ERROR_CONFIG, file, "crop_size",
                 "expected a positive edge: a number, {\"shortest_edge\"} "
                 "or {\"height\", \"width\"} (at most 2048)");

  node = json_object_get_member (root, "size_divisor");
  if (node && !edge_from_node (node, &config->size_divisor))
    return fail (error, BT_ERROR_CONFIG, file, "size_divisor",
                 "expected a positive integer (at most 2048)");

  node = json_object_get_member (root, "resample");
  if (node && !JSON_NODE_HOLDS_NULL (node)) {
    if (!JSON_NODE_HOLDS_VALUE (node)
        || json_node_get_value_type (node) != G_TYPE_INT64
        || json_node_get_int (node) < 0 || json_node_get_int (node) > 5)
      return fail (error, BT_ERROR_CONFIG, file, "resample",
                   "expected a PIL filter id 0..5");
    config->resample = (int) json_node_get_int (node);
  }

  node = json_object_get_member (root, "rescale_factor");
  if (node) {
    if (!is_number (node))
      return fail (error, BT_ERROR_CONFIG, file, "rescale_factor",
                   "expected a number");
    config->rescale_factor = json_node_get_double (node);
  }

  return read_triple (root, "image_mean", config->image_mean, clip_mean, file,
                      error)
      && read_triple (root, "image_std", config->image_std, clip_std, file,
                      error);
}

gboolean
bt_image_config_load (BtImageConfig *config, const char *path, GError **error)
{
  g_autofree char *file = NULL;

  g_return_val_if_fail (config != NULL && path != NULL, FALSE);

  bt_image_config_init_defaults (config);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    file = g_build_filename (path, "preprocessor_config.json", NULL);
  else
    file = g_strdup (path);

  if (!g_file_test (file, G_FILE_TEST_EXISTS)) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: no such file", file);
    return FALSE;
  }
  g_autoptr (JsonNode) root = bt_json_load_object (file, error);
  if (!root)
    return FALSE;
  return parse_config (config, json_node_get_object (root), file, error);
}

void
bt_image_config_force_processor (BtImageConfig *config)
{
  config->do_center_crop = TRUE;
  config->do_normalize = TRUE;
}

/* Upstream's get_resize_output_image_size, step by step in double as Python
 * computes it. */
void
bt_image_config_resized_size (const BtImageConfig *config, int in_width, int in_height,
                    int *out_width, int *out_height)
{
  int shorter = config->shortest_edge;
  double longer = (int) (1333.0 / 800.0 * shorter);
  double scale = (double) shorter / MIN (in_height, in_width);
  double h, w;

  if (in_height < in_width) {
    h = shorter;
    w = scale * in_width;
  } else {
    h = scale * in_height;
    w = shorter;
  }
  if (MAX (h, w) > longer) {
    scale = longer / MAX (h, w);
    h = scale * h;
    w = scale * w;
  }
  int d = config->size_divisor;
  int hi = (int) (h + 0.5), wi = (int) (w + 0.5);
  *out_height = MAX (1, hi / d) * d;
  *out_width = MAX (1, wi / d) * d;
}

void
bt_image_config_output_size (const BtImageConfig *config, int in_width,
                             int in_height, int *out_width, int *out_height)
{
  if (config->do_center_crop) {
    *out_width = config->crop_width;
    *out_height = config->crop_height;
  } else if (config->do_resize) {
    bt_image_config_resized_size (config, in_width, in_height, out_width, out_height);
  } else {
    *out_width = in_width;
    *out_height = in_height;
  }
}
