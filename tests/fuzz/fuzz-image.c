/* fuzz-image.c - libFuzzer target for PNG/JPEG decoding; an image that
 * decodes then goes through the image processor with settings derived from
 * its size (every filter, crop on and off, odd divisors). */
#include "bt-image.h"
#include "bt-image-file.h"
#include "bt-image-private.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  guint8 *rgb = NULL;
  int w, h;
  GError *error = NULL;

  if (!bt_image_decode_rgb (data, size, "fuzz", &rgb, &w, &h, &error)) {
    g_assert (error != NULL && error->domain == BT_ERROR);
    g_assert (rgb == NULL);
    g_error_free (error);
    return 0;
  }
  g_assert (w >= 1 && h >= 1 && rgb != NULL);

  if ((gint64) w * h <= 1 << 20) {
    BtImageConfig config;
    int ow, oh;
    bt_image_config_init_defaults (&config);
    config.shortest_edge = 8 + (w + h) % 57;
    config.size_divisor = 1 + w % 17;
    config.resample = h % 6;
    config.do_center_crop = (w ^ h) & 1;
    config.crop_height = 1 + h % 40;
    config.crop_width = 1 + w % 40;
    bt_image_config_output_size (&config, w, h, &ow, &oh);
    BtImageProcessor *proc = bt_image_processor_new (&config);
    float *out = g_new (float, 3 * (gsize) ow * oh);
    g_assert (bt_image_processor_process (proc, rgb, w, h, 3 * w, out, ow, oh,
                                          NULL));
    g_free (out);
    bt_image_processor_free (proc);
  }
  g_free (rgb);
  return 0;
}
