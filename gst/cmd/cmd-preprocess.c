/* cmd-preprocess.c - `bridgetower preprocess`: pixel_values and pixel_mask
 * of image files as BridgeTowerImageProcessor gives them, as safetensors.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"
#include "bt-image.h"
#include "bt-image-file.h"
#include "bt-safetensors.h"

#include <stdio.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out,
      "usage: bridgetower preprocess DIR [--no-center-crop] IMAGE... -o OUT.safetensors\n"
      "\n"
      "Writes pixel_values (F32, B x 3 x H x W) and pixel_mask (I64, B x H x W) of the\n"
      "images (PNG or JPEG, read as PIL's convert('RGB')) as BridgeTowerImageProcessor\n"
      "configured by DIR/preprocessor_config.json gives them: its do_center_crop and\n"
      "do_normalize are honoured, absent keys take the class defaults.\n"
      "\n"
      "  -o, --output FILE     the safetensors file to write\n"
      "  --no-center-crop      do_center_crop=False\n"
      "  --help                this text\n");
}

int
bt_cmd_preprocess (int argc, char **argv)
{
  const char *dir = NULL, *output = NULL;
  gboolean no_crop = FALSE, options_done = FALSE;
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (BtImageProcessor) proc = NULL;
  g_autoptr (BtTensorSet) tensors = NULL;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!options_done && strcmp (arg, "--") == 0) {
      options_done = TRUE;
    } else if (!options_done && (strcmp (arg, "--help") == 0
                                 || strcmp (arg, "-h") == 0)) {
      usage (stdout);
      return 0;
    } else if (!options_done && strcmp (arg, "--no-center-crop") == 0) {
      no_crop = TRUE;
    } else if (!options_done && (strcmp (arg, "-o") == 0
                                 || strcmp (arg, "--output") == 0)) {
      if (i + 1 >= argc) {
        fprintf (stderr, "bridgetower preprocess: %s needs a file name\n", arg);
        return 2;
      }
      output = argv[++i];
    } else if (!options_done && g_str_has_prefix (arg, "--output=")) {
      output = arg + strlen ("--output=");
    } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
      fprintf (stderr, "bridgetower preprocess: unknown option '%s'\n", arg);
      return 2;
    } else if (!dir) {
      dir = arg;
    } else {
      g_ptr_array_add (paths, (gpointer) arg);
    }
  }
  if (!dir || paths->len == 0 || !output || !*output) {
    usage (stderr);
    return 2;
  }

  BtImageConfig config;
  if (!bt_image_config_load (&config, dir, &error)) {
    fprintf (stderr, "bridgetower preprocess: %s\n", error->message);
    return 1;
  }
  if (no_crop)
    config.do_center_crop = FALSE;

  int n = (int) paths->len;
  g_autofree BtRgbImage *images = g_new0 (BtRgbImage, n);
  int status = 1;
  for (int i = 0; i < n; i++) {
    guint8 *rgb = NULL;
    if (!bt_image_load_rgb (g_ptr_array_index (paths, i), &rgb,
                            &images[i].width, &images[i].height, &error)) {
      fprintf (stderr, "bridgetower preprocess: %s\n", error->message);
      goto out;
    }
    images[i].rgb = rgb;
    images[i].stride = 3 * images[i].width;
  }

  proc = bt_image_processor_new (&config);
  tensors = bt_tensor_set_new ();
  if (!bt_image_processor_process_batch (proc, images, n, tensors, &error)
      || !bt_safetensors_write (output, tensors, &error)) {
    fprintf (stderr, "bridgetower preprocess: %s\n", error->message);
    goto out;
  }
  status = 0;

out:
  for (int i = 0; i < n; i++)
    g_free ((guint8 *) images[i].rgb);
  return status;
}
