/* test-image.c - the image processor against the golden set: every
 * image-processor case (pixel_values, pixel_mask, the resized uint8 image),
 * the white-composited RGBA case, the pixel_values BridgeTowerProcessor gave
 * every model case; config loading; image files as PIL reads them. */
#include "bt-image.h"
#include "bt-image-file.h"
#include "bt-image-private.h"
#include "bt-resize-private.h"
#include "bt-safetensors.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <json-glib/json-glib.h>
#include <png.h>
#include <string.h>

#define PIXEL_TOLERANCE 1e-6

static BtSafetensors *
open_tensors (const char *golden_rel)
{
  g_autofree char *path = bt_test_data_path ("golden", golden_rel, NULL);
  g_autoptr (GError) error = NULL;
  BtSafetensors *st = bt_safetensors_open (path, &error);
  g_assert_no_error (error);
  return st;
}

static const BtTensor *
expect_tensor (BtSafetensors *st, const char *name)
{
  const BtTensor *t = bt_safetensors_lookup (st, name);
  if (!t)
    g_error ("expected tensor '%s' is missing", name);
  return t;
}

typedef struct {
  guint8 *rgb;
  int width;
  int height;
} Image;

static void
image_clear (Image *img)
{
  g_free (img->rgb);
}

static void
load_image (const char *golden_rel, Image *img)
{
  g_autofree char *path = bt_test_data_path ("golden", golden_rel, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (bt_image_load_rgb (path, &img->rgb, &img->width,
                                    &img->height, &error));
  g_assert_no_error (error);
}

static char *
image_rel (const char *name)
{
  return g_strdup_printf ("inputs/images/%s.png", name);
}

static void
assert_same_shape (const BtTensor *got, const BtTensor *expected)
{
  g_autofree char *a = bt_tensor_shape_string (got);
  g_autofree char *b = bt_tensor_shape_string (expected);
  g_assert_cmpint (got->dtype, ==, expected->dtype);
  g_assert_cmpstr (a, ==, b);
}

/* Returns the max |got - expected| after asserting it is within tolerance. */
static double
check_values (const char *label, const float *got, const BtTensor *expected)
{
  const float *want = expected->data;
  gint64 n = bt_tensor_numel (expected);
  double max_err = 0.0;

  g_assert_cmpint (expected->dtype, ==, BT_DTYPE_F32);
  for (gint64 i = 0; i < n; i++)
    max_err = MAX (max_err, fabs ((double) got[i] - want[i]));
  g_test_message ("%s: pixel_values max |error| %.3g over %" G_GINT64_FORMAT
                  " values", label, max_err, n);
  g_assert_cmpfloat (max_err, <=, PIXEL_TOLERANCE);
  return max_err;
}

static void
check_tensor_values (const char *label, const BtTensor *got,
                     const BtTensor *expected)
{
  assert_same_shape (got, expected);
  check_values (label, got->data, expected);
}

static void
check_mask (const BtTensor *got, const BtTensor *expected)
{
  assert_same_shape (got, expected);
  g_assert_cmpmem (got->data, bt_tensor_nbytes (got), expected->data,
                   bt_tensor_nbytes (expected));
}

static void
check_mask_all_ones (const BtTensor *got)
{
  const gint64 *m = got->data;
  for (gint64 i = 0; i < bt_tensor_numel (got); i++)
    g_assert_cmpint (m[i], ==, 1);
}

static BtTensorSet *
process_batch (BtImageProcessor *proc, Image *imgs, int n)
{
  g_autofree BtRgbImage *batch = g_new0 (BtRgbImage, n);
  g_autoptr (GError) error = NULL;
  BtTensorSet *out = bt_tensor_set_new ();

  for (int i = 0; i < n; i++)
    batch[i] = (BtRgbImage) { imgs[i].rgb, imgs[i].width, imgs[i].height,
                              3 * imgs[i].width };
  g_assert_true (bt_image_processor_process_batch (proc, batch, n, out,
                                                   &error));
  g_assert_no_error (error);
  return out;
}

static const char *
member_string (JsonObject *o, const char *key)
{
  return json_object_has_member (o, key)
      ? json_object_get_string_member (o, key) : NULL;
}

/* ---- RGBA composited on white, as PIL's alpha_composite does --------- */

static void
load_white_composite (const char *golden_rel, Image *img)
{
  g_autofree char *path = bt_test_data_path ("golden", golden_rel, NULL);
  png_image png = { .version = PNG_IMAGE_VERSION };

  g_assert_true (png_image_begin_read_from_file (&png, path));
  g_assert_cmpint (png.format, ==, PNG_FORMAT_RGBA);
  g_autofree guint8 *rgba = g_malloc (PNG_IMAGE_SIZE (png));
  g_assert_true (png_image_finish_read (&png, NULL, rgba, 0, NULL));

  img->width = png.width;
  img->height = png.height;
  img->rgb = g_malloc (3 * (gsize) png.width * png.height);
  for (gsize i = 0; i < (gsize) png.width * png.height; i++) {
    const guint8 *s = rgba + 4 * i;
    guint8 *d = img->rgb + 3 * i;
    if (s[3] == 0) {
      d[0] = d[1] = d[2] = 255;
      continue;
    }
    /* Pillow's integer "over" with 7 extra bits, destination white */
    guint32 blend = 255 * (255 - s[3]);
    guint32 out_a = s[3] * 255 + blend;
    guint32 coef1 = s[3] * 255 * 255 * (1u << 7) / out_a;
    guint32 coef2 = 255 * (1u << 7) - coef1;
    for (int c = 0; c < 3; c++) {
      guint32 t = s[c] * coef1 + 255 * coef2 + (0x80u << 7);
      d[c] = (guint8) ((((t >> 8) + t) >> 8) >> 7);
    }
  }
}

/* ---- golden image-processor cases -------------------------------------- */

static void
check_single_case (JsonObject *cfg, JsonObject *kase, BtSafetensors *st,
                   BtImageProcessor *proc)
{
  const char *name = json_object_get_string_member (kase, "name");
  JsonObject *keys = json_object_get_object_member (kase, "keys");
  JsonArray *batch = json_object_get_array_member (kase, "batch");
  gboolean composite = g_str_has_suffix (name, ".white_composite");
  g_autofree char *label = g_strdup_printf ("%s/%s",
      json_object_get_string_member (cfg, "name"), name);
  g_autofree char *rel = image_rel (json_array_get_string_element (batch, 0));
  Image img = { 0 };

  if (composite)
    load_white_composite (rel, &img);
  else
    load_image (rel, &img);
  if (json_object_has_member (kase, "input_hw")) {
    JsonArray *hw = json_object_get_array_member (kase, "input_hw");
    g_assert_cmpint (img.height, ==, json_array_get_int_element (hw, 0));
    g_assert_cmpint (img.width, ==, json_array_get_int_element (hw, 1));
  }

  g_autoptr (BtTensorSet) out = process_batch (proc, &img, 1);
  const BtTensor *values = bt_tensor_set_lookup (out, "pixel_values");
  const BtTensor *want = expect_tensor (st,
      json_object_get_string_member (keys, "pixel_values"));
  check_tensor_values (label, values, want);

  const BtTensor *mask = bt_tensor_set_lookup (out, "pixel_mask");
  g_assert_nonnull (mask);
  const char *mask_key = member_string (keys, "pixel_mask");
  if (mask_key)
    check_mask (mask, expect_tensor (st, mask_key));
  else
    check_mask_all_ones (mask);

  /* the single-image call gives the same floats */
  int ow, oh;
  bt_image_config_output_size (bt_image_processor_get_config (proc),
                               img.width, img.height, &ow, &oh);
  g_assert_cmpint (oh, ==, want->shape[2]);
  g_assert_cmpint (ow, ==, want->shape[3]);
  g_autofree float *single = g_new (float, 3 * (gsize) ow * oh);
  g_autoptr (GError) error = NULL;
  g_assert_true (bt_image_processor_process (proc, img.rgb, img.width,
                                             img.height, 3 * img.width, single,
                                             ow, oh, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (single, 3 * (gsize) ow * oh * sizeof (float),
                   values->data, bt_tensor_nbytes (values));

  /* the resize step alone, to the uint8 */
  const char *resized_key = member_string (keys, "resized_uint8_hwc");
  if (resized_key) {
    const BtTensor *r = expect_tensor (st, resized_key);
    JsonArray *hw = json_object_get_array_member (kase, "resized_hw");
    int rh = json_array_get_int_element (hw, 0);
    int rw = json_array_get_int_element (hw, 1);
    BtResize resize = { 0 };
    g_autofree guint8 *buf = g_malloc (3 * (gsize) rw * rh);
    g_assert_cmpint (r->dtype, ==, BT_DTYPE_U8);
    g_assert_cmpint (r->shape[0], ==, rh);
    g_assert_cmpint (r->shape[1], ==, rw);
    g_assert_true (bt_resize_rgb (&resize, 3, img.rgb, img.width, img.height,
                                  3 * img.width, buf, rw, rh, 3 * rw, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (buf, 3 * (gsize) rw * rh, r->data, bt_tensor_nbytes (r));
    bt_resize_clear (&resize);
    g_test_message ("%s: resized uint8 %dx%d identical", label, rw, rh);
  }
  if (json_object_has_member (kase, "resized_hw")) {
    JsonArray *hw = json_object_get_array_member (kase, "resized_hw");
    int rw, rh;
    bt_image_config_resized_size (bt_image_processor_get_config (proc),
                                  img.width, img.height, &rw, &rh);
    g_assert_cmpint (rh, ==, json_array_get_int_element (hw, 0));
    g_assert_cmpint (rw, ==, json_array_get_int_element (hw, 1));
  }
  image_clear (&img);
}

static void
check_batch_case (JsonObject *cfg, JsonObject *kase, BtSafetensors *st,
                  BtImageProcessor *proc)
{
  JsonArray *batch = json_object_get_array_member (kase, "batch");
  JsonObject *keys = json_object_get_object_member (kase, "keys");
  int n = json_array_get_length (batch);
  g_autofree Image *imgs = g_new0 (Image, n);
  g_autofree char *label = g_strdup_printf ("%s/%s",
      json_object_get_string_member (cfg, "name"),
      json_object_get_string_member (kase, "name"));

  for (int i = 0; i < n; i++) {
    g_autofree char *rel = image_rel (json_array_get_string_element (batch, i));
    load_image (rel, &imgs[i]);
  }
  g_autoptr (BtTensorSet) out = process_batch (proc, imgs, n);
  const BtTensor *values = bt_tensor_set_lookup (out, "pixel_values");
  const BtTensor *mask = bt_tensor_set_lookup (out, "pixel_mask");

  const char *values_key = member_string (keys, "pixel_values");
  if (values_key) {
    check_tensor_values (label, values, expect_tensor (st, values_key));
    check_mask (mask, expect_tensor (st, member_string (keys, "pixel_mask")));
  } else {
    /* not stored: upstream's batch is the single results stacked */
    gsize per_image = bt_tensor_numel (values) / n;
    g_assert_cmpint (values->shape[0], ==, n);
    for (int i = 0; i < n; i++) {
      g_autofree char *key = g_strdup_printf ("%s.pixel_values",
          json_array_get_string_element (batch, i));
      const BtTensor *want = expect_tensor (st, key);
      g_assert_cmpint (bt_tensor_numel (want), ==, per_image);
      check_values (label, (const float *) values->data + i * per_image, want);
    }
    check_mask_all_ones (mask);
  }
  for (int i = 0; i < n; i++)
    image_clear (&imgs[i]);
}

static void
test_image_processor_config (gconstpointer data)
{
  JsonObject *cfg = json_array_get_object_element (
      json_object_get_array_member (json_object_get_object_member (
              bt_test_manifest (),
          "image_processor"), "configs"), GPOINTER_TO_UINT (data));
  g_autofree char *dir = bt_test_data_path ("golden",
      json_object_get_string_member (cfg, "dir"), NULL);
  g_autoptr (BtSafetensors) st = open_tensors (
      json_object_get_string_member (cfg, "tensors_file"));
  g_autoptr (GError) error = NULL;
  BtImageConfig config;

  g_assert_true (bt_image_config_load (&config, dir, &error));
  g_assert_no_error (error);
  g_autoptr (BtImageProcessor) proc = bt_image_processor_new (&config);

  JsonArray *cases = json_object_get_array_member (cfg, "cases");
  for (guint i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *kase = json_array_get_object_element (cases, i);
    const char *name = json_object_get_string_member (kase, "name");
    if (json_object_has_member (kase, "image")
        || g_str_has_suffix (name, ".white_composite"))
      check_single_case (cfg, kase, st, proc);
    else
      check_batch_case (cfg, kase, st, proc);
  }
}

/* ---- the processor inputs of the golden model cases -------------------- */

/* Every case of the manifest, in `folder` (NULL: the case's own model), or
 * only the cases of `only_model` when given. */
static void
check_model_inputs (const char *folder, const char *only_model)
{
  JsonArray *cases = json_object_get_array_member (bt_test_manifest (),
      "cases");
  g_autoptr (GRegex) divisor_re =
      g_regex_new ("'size_divisor': (\\d+)", 0, 0, NULL);
  int n_checked = 0;

  for (guint c = 0; c < json_array_get_length (cases); c++) {
    JsonObject *kase = json_array_get_object_element (cases, c);
    const char *model = json_object_get_string_member (kase, "model");
    if (only_model && strcmp (model, only_model) != 0)
      continue;
    n_checked++;
    if (folder)
      model = folder;
    const char *call = json_object_get_string_member (kase, "processor_call");
    JsonObject *keys = json_object_get_object_member (kase, "input_keys");
    JsonArray *images = json_object_get_array_member (kase, "images");
    g_autofree char *dir = bt_test_data_path ("golden", "models", model, NULL);
    g_autofree char *label = g_strdup_printf ("%s/%s", model,
        json_object_get_string_member (kase, "case"));
    g_autoptr (BtSafetensors) st = open_tensors (
        json_object_get_string_member (kase, "tensors_file"));
    g_autoptr (GError) error = NULL;
    BtImageConfig config;

    g_assert_true (bt_image_config_load (&config, dir, &error));
    g_assert_no_error (error);
    if (g_str_has_prefix (call, "BridgeTowerProcessor(")) {
      bt_image_config_force_processor (&config);
    } else {
      /* the interp_* cases call the image processor with overrides */
      g_autoptr (GMatchInfo) match = NULL;
      g_assert_nonnull (strstr (call, "'do_center_crop': False"));
      config.do_center_crop = FALSE;
      if (g_regex_match (divisor_re, call, 0, &match)) {
        g_autofree char *d = g_match_info_fetch (match, 1);
        config.size_divisor = atoi (d);
      }
    }

    int n = json_array_get_length (images);
    g_autofree Image *imgs = g_new0 (Image, n);
    for (int i = 0; i < n; i++)
      load_image (json_array_get_string_element (images, i), &imgs[i]);
    g_autoptr (BtImageProcessor) proc = bt_image_processor_new (&config);
    g_autoptr (BtTensorSet) out = process_batch (proc, imgs, n);

    check_tensor_values (label, bt_tensor_set_lookup (out, "pixel_values"),
        expect_tensor (st, json_object_get_string_member (keys,
                                                          "pixel_values")));
    check_mask (bt_tensor_set_lookup (out, "pixel_mask"),
        expect_tensor (st, json_object_get_string_member (keys,
                                                          "pixel_mask")));
    for (int i = 0; i < n; i++)
      image_clear (&imgs[i]);
  }
  g_assert_cmpint (n_checked, >, 0);
}

static void
test_model_inputs (void)
{
  check_model_inputs (NULL, NULL);
}

/* The folders laid out as the hub publishes them give the same inputs. */
static void
test_hubstyle_inputs (void)
{
  JsonObject *folders = json_object_get_object_member (bt_test_manifest (),
                                                       "hubstyle_folders");
  g_autoptr (GList) names = json_object_get_members (folders);

  g_assert_nonnull (names);
  for (GList *l = names; l; l = l->next) {
    JsonObject *f = json_object_get_object_member (folders, l->data);
    check_model_inputs (l->data,
                        json_object_get_string_member (f, "same_outputs_as"));
  }
}

/* ---- config ------------------------------------------------------------ */

static void
assert_config_equal (const BtImageConfig *a, const BtImageConfig *b)
{
  g_assert_cmpint (a->do_resize, ==, b->do_resize);
  g_assert_cmpint (a->shortest_edge, ==, b->shortest_edge);
  g_assert_cmpint (a->size_divisor, ==, b->size_divisor);
  g_assert_cmpint (a->resample, ==, b->resample);
  g_assert_cmpint (a->do_rescale, ==, b->do_rescale);
  g_assert_cmpfloat (a->rescale_factor, ==, b->rescale_factor);
  g_assert_cmpint (a->do_normalize, ==, b->do_normalize);
  g_assert_cmpmem (a->image_mean, sizeof a->image_mean, b->image_mean,
                   sizeof b->image_mean);
  g_assert_cmpmem (a->image_std, sizeof a->image_std, b->image_std,
                   sizeof b->image_std);
  g_assert_cmpint (a->do_center_crop, ==, b->do_center_crop);
  g_assert_cmpint (a->crop_height, ==, b->crop_height);
  g_assert_cmpint (a->crop_width, ==, b->crop_width);
  g_assert_cmpint (a->do_pad, ==, b->do_pad);
}

/* The manifest's `effective` settings of every golden config are what HF
 * resolved; the class defaults are those of the config with no overrides. */
static void
test_config_golden (void)
{
  JsonArray *configs = json_object_get_array_member (
      json_object_get_object_member (bt_test_manifest (), "image_processor"),
      "configs");

  for (guint i = 0; i < json_array_get_length (configs); i++) {
    JsonObject *cfg = json_array_get_object_element (configs, i);
    if (!json_object_has_member (cfg, "effective"))
      continue;
    JsonObject *eff = json_object_get_object_member (cfg, "effective");
    g_autofree char *dir = bt_test_data_path ("golden",
        json_object_get_string_member (cfg, "dir"), NULL);
    g_autoptr (GError) error = NULL;
    BtImageConfig config;

    g_assert_true (bt_image_config_load (&config, dir, &error));
    g_assert_no_error (error);
    g_assert_cmpint (config.shortest_edge, ==, json_object_get_int_member (
        json_object_get_object_member (eff, "size"), "shortest_edge"));
    g_assert_cmpint (config.size_divisor, ==,
                     json_object_get_int_member (eff, "size_divisor"));
    g_assert_cmpint (config.do_center_crop, ==,
                     json_object_get_boolean_member (eff, "do_center_crop"));
    int crop = json_object_get_int_member (
        json_object_get_object_member (eff, "crop_size"), "shortest_edge");
    g_assert_cmpint (config.crop_height, ==, crop);
    g_assert_cmpint (config.crop_width, ==, crop);
    g_assert_cmpint (config.resample, ==,
                     json_object_get_int_member (eff, "resample"));
    g_assert_cmpfloat (config.rescale_factor, ==,
                       json_object_get_double_member (eff, "rescale_factor"));
    g_assert_cmpint (config.do_rescale, ==,
                     json_object_get_boolean_member (eff, "do_rescale"));
    g_assert_cmpint (config.do_normalize, ==,
                     json_object_get_boolean_member (eff, "do_normalize"));
    g_assert_cmpint (config.do_pad, ==,
                     json_object_get_boolean_member (eff, "do_pad"));
    for (int c = 0; c < 3; c++) {
      g_assert_cmpfloat (config.image_mean[c], ==, (float)
          json_array_get_double_element (
              json_object_get_array_member (eff, "image_mean"), c));
      g_assert_cmpfloat (config.image_std[c], ==, (float)
          json_array_get_double_element (
              json_object_get_array_member (eff, "image_std"), c));
    }

    JsonObject *kwargs = json_object_get_object_member (cfg,
                                                        "constructor_kwargs");
    if (json_object_get_size (kwargs) == 0) {
      BtImageConfig defaults;
      bt_image_config_init_defaults (&defaults);
      assert_config_equal (&config, &defaults);
    }
  }
}

/* The hub's files: a leftover training config (every key unknown, so the
 * class defaults) and a bare `size` of 294. */
static void
test_config_hub (void)
{
  g_autofree char *base = bt_test_data_path ("hub",
      "bridgetower-base-itm-mlm", NULL);
  g_autofree char *large = bt_test_data_path ("hub",
      "bridgetower-large-itm-mlm-itc", "preprocessor_config.json", NULL);
  g_autoptr (GError) error = NULL;
  BtImageConfig config, defaults;

  bt_image_config_init_defaults (&defaults);
  g_assert_true (bt_image_config_load (&config, base, &error));
  g_assert_no_error (error);
  assert_config_equal (&config, &defaults);

  g_assert_true (bt_image_config_load (&config, large, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.shortest_edge, ==, 294);
  g_assert_cmpint (config.crop_height, ==, 294);
  g_assert_cmpint (config.crop_width, ==, 294);
  defaults.shortest_edge = defaults.crop_height = defaults.crop_width = 294;
  assert_config_equal (&config, &defaults);
}

/* 294 is not a multiple of 32: a 640x480 frame resizes to 384x288 and the
 * crop pads 3 rows of zeros (before normalisation) above and below. */
static void
test_294_padding (void)
{
  g_autofree char *large = bt_test_data_path ("hub",
      "bridgetower-large-itm-mlm-itc", NULL);
  g_autoptr (GError) error = NULL;
  BtImageConfig config;
  Image img = { 0 };

  g_assert_true (bt_image_config_load (&config, large, &error));
  g_assert_no_error (error);
  int rw, rh, ow, oh;
  bt_image_config_resized_size (&config, 640, 480, &rw, &rh);
  g_assert_cmpint (rw, ==, 384);
  g_assert_cmpint (rh, ==, 288);
  bt_image_config_output_size (&config, 640, 480, &ow, &oh);
  g_assert_cmpint (ow, ==, 294);
  g_assert_cmpint (oh, ==, 294);

  load_image ("inputs/images/photo_640x480.png", &img);
  g_autoptr (BtImageProcessor) proc = bt_image_processor_new (&config);
  g_autofree float *out = g_new (float, 3 * 294 * 294);
  g_assert_true (bt_image_processor_process (proc, img.rgb, img.width,
                                             img.height, 3 * img.width, out,
                                             294, 294, &error));
  g_assert_no_error (error);
  for (int c = 0; c < 3; c++) {
    float pad = (0.0f - config.image_mean[c]) / config.image_std[c];
    const float *plane = out + c * 294 * 294;
    for (int x = 0; x < 294; x++) {
      for (int y = 0; y < 3; y++) {
        g_assert_cmpfloat (plane[y * 294 + x], ==, pad);
        g_assert_cmpfloat (plane[(293 - y) * 294 + x], ==, pad);
      }
    }
    gboolean row3_is_image = FALSE;
    for (int x = 0; x < 294; x++)
      row3_is_image |= plane[3 * 294 + x] != pad;
    g_assert_true (row3_is_image);
  }
  image_clear (&img);
}

static void
expect_config_error (const char *json, BtError code, const char *key)
{
  g_autofree char *dir = g_dir_make_tmp ("bt-image-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "preprocessor_config.json",
                                            NULL);
  g_autoptr (GError) error = NULL;
  BtImageConfig config;

  g_assert_true (g_file_set_contents (file, json, -1, NULL));
  g_assert_false (bt_image_config_load (&config, dir, &error));
  g_assert_error (error, BT_ERROR, (int) code);
  g_assert_nonnull (strstr (error->message, file));
  if (key)
    g_assert_nonnull (strstr (error->message, key));
  g_unlink (file);
  g_rmdir (dir);
}

static void
test_config_errors (void)
{
  g_autoptr (GError) error = NULL;
  BtImageConfig config;

  expect_config_error ("{\"size\": ", BT_ERROR_FORMAT, NULL);
  expect_config_error ("[1, 2]", BT_ERROR_FORMAT, NULL);
  expect_config_error ("{\"size\": \"large\"}", BT_ERROR_CONFIG, "'size'");
  expect_config_error ("{\"size\": {\"longest_edge\": 3}}", BT_ERROR_CONFIG,
                       "'size'");
  expect_config_error ("{\"size\": 0}", BT_ERROR_CONFIG, "'size'");
  expect_config_error ("{\"crop_size\": -4}", BT_ERROR_CONFIG, "'crop_size'");
  expect_config_error ("{\"size_divisor\": 0}", BT_ERROR_CONFIG,
                       "'size_divisor'");
  expect_config_error ("{\"resample\": 9}", BT_ERROR_CONFIG, "'resample'");
  expect_config_error ("{\"image_mean\": [0.5, 0.5]}", BT_ERROR_CONFIG,
                       "'image_mean'");
  expect_config_error ("{\"image_std\": \"x\"}", BT_ERROR_CONFIG,
                       "'image_std'");
  expect_config_error ("{\"do_resize\": \"yes\"}", BT_ERROR_CONFIG,
                       "'do_resize'");
  expect_config_error ("{\"rescale_factor\": null}", BT_ERROR_CONFIG,
                       "'rescale_factor'");

  g_assert_false (bt_image_config_load (&config, "/nonexistent/dir/x.json",
                                        &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dir/x.json"));
}

/* The spellings HF accepts, and a single number for mean/std. */
static void
test_config_spellings (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bt-image-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "preprocessor_config.json",
                                            NULL);
  g_autoptr (GError) error = NULL;
  BtImageConfig config;

  g_assert_true (g_file_set_contents (file,
      "{\"size\": {\"height\": 300, \"width\": 200}, \"crop_size\": "
      "{\"height\": 100, \"width\": 120}, \"image_mean\": 0.25, "
      "\"image_std\": [1, 2, 4], \"do_pad\": false, "
      "\"pad_and_return_pixel_mask\": true, \"do_resize\": null, "
      "\"unknown\": {\"nested\": [1]}}", -1, NULL));
  g_assert_true (bt_image_config_load (&config, file, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.shortest_edge, ==, 200);
  g_assert_cmpint (config.crop_height, ==, 100);
  g_assert_cmpint (config.crop_width, ==, 120);
  g_assert_cmpfloat (config.image_mean[2], ==, 0.25f);
  g_assert_cmpfloat (config.image_std[2], ==, 4.0f);
  g_assert_true (config.do_pad);
  g_assert_false (config.do_resize);

  /* json-glib recurses per level: deep nesting is refused before it parses */
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autofree char *deep_json = g_strconcat ("{\"size\": ", deep, NULL);
  g_assert_true (g_file_set_contents (file, deep_json, -1, NULL));
  g_assert_false (bt_image_config_load (&config, file, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, file));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (file, "{\"size\": 64}", -1, NULL));
  g_assert_true (bt_image_config_load (&config, dir, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.shortest_edge, ==, 64);
  g_assert_cmpint (config.crop_height, ==, 64);
  g_assert_true (config.do_center_crop);
  config.do_center_crop = config.do_normalize = FALSE;
  bt_image_config_force_processor (&config);
  g_assert_true (config.do_center_crop);
  g_assert_true (config.do_normalize);
  g_unlink (file);
  g_rmdir (dir);
}

/* ---- processor properties ---------------------------------------------- */

/* A 1x1 image upsamples to a constant (one tap of weight 1), so every
 * output value of a channel is the normalised input value. */
static void
test_one_pixel (void)
{
  const guint8 rgb[3] = { 10, 200, 31 };
  g_autoptr (GError) error = NULL;
  BtImageConfig config;

  bt_image_config_init_defaults (&config);
  for (int crop = 0; crop < 2; crop++) {
    config.do_center_crop = crop;
    int ow, oh;
    bt_image_config_output_size (&config, 1, 1, &ow, &oh);
    g_assert_cmpint (ow, ==, 288);
    g_assert_cmpint (oh, ==, 288);
    g_autoptr (BtImageProcessor) proc = bt_image_processor_new (&config);
    g_autofree float *out = g_new (float, 3 * ow * oh);
    g_assert_true (bt_image_processor_process (proc, rgb, 1, 1, 3, out, ow,
                                               oh, &error));
    g_assert_no_error (error);
    for (int c = 0; c < 3; c++) {
      float want = ((float) (rgb[c] * (1.0 / 255.0)) - config.image_mean[c])
          / config.image_std[c];
      for (int i = 0; i < ow * oh; i++)
        g_assert_cmpfloat (out[c * ow * oh + i], ==, want);
    }
  }
}

/* Rows with padding (video frames) give what tight rows give. */
static void
test_stride (void)
{
  Image img = { 0 };
  g_autoptr (GError) error = NULL;
  load_image ("inputs/images/stripes_97x211.png", &img);
  int stride = 3 * img.width + 13;
  g_autofree guint8 *padded = g_malloc ((gsize) stride * img.height);
  memset (padded, 0xab, (gsize) stride * img.height);
  for (int y = 0; y < img.height; y++)
    memcpy (padded + y * stride, img.rgb + 3 * y * img.width, 3 * img.width);

  g_autoptr (BtImageProcessor) proc = bt_image_processor_new (NULL);
  g_autofree float *a = g_new (float, 3 * 288 * 288);
  g_autofree float *b = g_new (float, 3 * 288 * 288);
  g_assert_true (bt_image_processor_process (proc, img.rgb, img.width,
                                             img.height, 3 * img.width, a, 288,
                                             288, &error));
  g_assert_true (bt_image_processor_process (proc, padded, img.width,
                                             img.height, stride, b, 288, 288,
                                             &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a, 3 * 288 * 288 * sizeof (float), b,
                   3 * 288 * 288 * sizeof (float));
  image_clear (&img);
}

static void
test_processor_errors (void)
{
  guint8 rgb[4 * 3 * 2] = { 0 };
  float out[3 * 288 * 288];
  g_autoptr (BtImageProcessor) proc = bt_image_processor_new (NULL);
  g_autoptr (BtTensorSet) set = bt_tensor_set_new ();
  GError *error = NULL;

  g_assert_false (bt_image_processor_process (proc, rgb, 4, 2, 11, out, 288,
                                              288, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (bt_image_processor_process (proc, rgb, 0, 2, 12, out, 288,
                                              288, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (bt_image_processor_process (proc, NULL, 4, 2, 12, out, 288,
                                              288, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (bt_image_processor_process (proc, rgb, 4, 2, 12, out, 96,
                                              288, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (bt_image_processor_process_batch (proc, NULL, 0, set,
                                                    &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INPUT);
  g_clear_error (&error);

  /* without padding the sizes must agree, and there is no mask */
  BtImageConfig config;
  bt_image_config_init_defaults (&config);
  config.do_center_crop = FALSE;
  config.do_pad = FALSE;
  g_autoptr (BtImageProcessor) nopad = bt_image_processor_new (&config);
  BtRgbImage two[2] = { { rgb, 4, 2, 12 }, { rgb, 2, 4, 6 } };
  g_assert_false (bt_image_processor_process_batch (nopad, two, 2, set,
                                                    &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_SHAPE);
  g_clear_error (&error);
  g_autoptr (BtTensorSet) same = bt_tensor_set_new ();
  two[1] = two[0];
  g_assert_true (bt_image_processor_process_batch (nopad, two, 2, same,
                                                   &error));
  g_assert_no_error (error);
  g_assert_nonnull (bt_tensor_set_lookup (same, "pixel_values"));
  g_assert_null (bt_tensor_set_lookup (same, "pixel_mask"));
}

/* ---- image files -------------------------------------------------------- */

/* Each file of tests/data/image against what PIL's convert('RGB') gave. */
static void
test_files_as_pil (void)
{
  g_autofree char *dir = bt_test_data_path ("image", NULL);
  g_autofree char *expected = bt_test_data_path ("image",
      "expected-rgb.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BtSafetensors) st = bt_safetensors_open (expected, &error);
  g_assert_no_error (error);

  g_assert_cmpint (bt_safetensors_n_tensors (st), ==, 14);
  for (guint i = 0; i < bt_safetensors_n_tensors (st); i++) {
    const char *name = bt_safetensors_nth_name (st, i);
    const BtTensor *want = bt_safetensors_lookup (st, name);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    guint8 *rgb = NULL;
    int w, h;

    g_assert_true (bt_image_load_rgb (path, &rgb, &w, &h, &error));
    g_assert_no_error (error);
    g_assert_cmpint (h, ==, want->shape[0]);
    g_assert_cmpint (w, ==, want->shape[1]);
    g_assert_cmpmem (rgb, 3 * (gsize) w * h, want->data,
                     bt_tensor_nbytes (want));
    g_test_message ("%s: %dx%d identical to PIL", name, w, h);
    g_free (rgb);
  }
}

/* Interlacing changes the file, not the pixels: write a golden image back
 * interlaced with libpng and read both. */
static void
test_interlaced_png (void)
{
  Image img = { 0 };
  g_autoptr (GError) error = NULL;
  load_image ("inputs/images/shapes_300x300.png", &img);

  g_autofree char *dir = g_dir_make_tmp ("bt-image-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "adam7.png", NULL);
  FILE *fp = fopen (file, "wb");
  g_assert_nonnull (fp);
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL,
                                             NULL, NULL);
  png_infop info = png_create_info_struct (png);
  png_init_io (png, fp);
  png_set_IHDR (png, info, img.width, img.height, 8, PNG_COLOR_TYPE_RGB,
                PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
                PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);
  int passes = png_set_interlace_handling (png);
  g_assert_cmpint (passes, ==, 7);
  for (int p = 0; p < passes; p++)
    for (int y = 0; y < img.height; y++)
      png_write_row (png, img.rgb + 3 * (gsize) y * img.width);
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  fclose (fp);

  guint8 *rgb = NULL;
  int w, h;
  g_assert_true (bt_image_load_rgb (file, &rgb, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, img.width);
  g_assert_cmpint (h, ==, img.height);
  g_assert_cmpmem (rgb, 3 * (gsize) w * h, img.rgb, 3 * (gsize) w * h);
  g_free (rgb);
  g_unlink (file);
  g_rmdir (dir);
  image_clear (&img);
}

static void
expect_file_error (const char *path, BtError code)
{
  GError *error = NULL;
  guint8 *rgb = NULL;
  int w, h;

  g_assert_false (bt_image_load_rgb (path, &rgb, &w, &h, &error));
  g_assert_error (error, BT_ERROR, (int) code);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_null (rgb);
  g_error_free (error);
}

static void
test_file_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bt-image-XXXXXX", NULL);
  g_autofree char *text = g_build_filename (dir, "notes.png", NULL);
  g_autofree char *short_png = g_build_filename (dir, "short.png", NULL);
  g_autofree char *short_jpg = g_build_filename (dir, "short.jpg", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_autofree char *png_src = bt_test_data_path ("golden", "inputs", "images",
                                        "photo_640x480.png", NULL);
  g_autofree char *jpg_src = bt_test_data_path ("image", "ycbcr420.jpg", NULL);
  g_autofree char *data = NULL;
  gsize len;

  expect_file_error (missing, BT_ERROR_IO);
  g_assert_true (g_file_set_contents (text, "hello", -1, NULL));
  expect_file_error (text, BT_ERROR_UNSUPPORTED);
  g_assert_true (g_file_get_contents (png_src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (short_png, data, len / 2, NULL));
  expect_file_error (short_png, BT_ERROR_FORMAT);
  g_clear_pointer (&data, g_free);
  g_assert_true (g_file_get_contents (jpg_src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (short_jpg, data, len / 2, NULL));
  expect_file_error (short_jpg, BT_ERROR_TRUNCATED);
  g_assert_true (g_file_set_contents (short_jpg, data, 40, NULL));
  expect_file_error (short_jpg, BT_ERROR_FORMAT);
  g_unlink (text);
  g_unlink (short_png);
  g_unlink (short_jpg);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/image/config/golden", test_config_golden);
  g_test_add_func ("/image/config/hub", test_config_hub);
  g_test_add_func ("/image/config/errors", test_config_errors);
  g_test_add_func ("/image/config/spellings", test_config_spellings);

  JsonArray *configs = json_object_get_array_member (
      json_object_get_object_member (bt_test_manifest (), "image_processor"),
      "configs");
  for (guint i = 0; i < json_array_get_length (configs); i++) {
    JsonObject *cfg = json_array_get_object_element (configs, i);
    g_autofree char *path = g_strdup_printf ("/image/golden/%s",
        json_object_get_string_member (cfg, "name"));
    g_test_add_data_func (path, GUINT_TO_POINTER (i),
                          test_image_processor_config);
  }
  g_test_add_func ("/image/golden/model-inputs", test_model_inputs);
  g_test_add_func ("/image/golden/hubstyle-inputs", test_hubstyle_inputs);
  g_test_add_func ("/image/processor/294-padding", test_294_padding);
  g_test_add_func ("/image/processor/one-pixel", test_one_pixel);
  g_test_add_func ("/image/processor/stride", test_stride);
  g_test_add_func ("/image/processor/errors", test_processor_errors);
  g_test_add_func ("/image/file/as-pil", test_files_as_pil);
  g_test_add_func ("/image/file/interlaced", test_interlaced_png);
  g_test_add_func ("/image/file/errors", test_file_errors);

  return g_test_run ();
}
