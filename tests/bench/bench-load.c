/* bench-load.c - time and memory of loading a model folder and encoding
 * one image: wall time, and the process's RSS split into anonymous and
 * file-backed pages after the load, one image, and one query matched
 * against it (docs/checkpoints.md compares reading the weights into memory
 * with mapping them). Run by hand: bench-load DIR [fp32|bf16] */
#include "bridgetower.h"

#include <stdio.h>
#include <string.h>

/* kB of the /proc/self/status line `key`. */
static long
status_kb (const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  const char *line = strstr (text, key);
  return line ? strtol (line + strlen (key) + 1, NULL, 10) : -1;
}

static void
report (const char *stage, gint64 start)
{
  printf ("%-8s %7.2f s  RSS %7ld MB (anon %7ld, file %7ld)\n", stage,
          (g_get_monotonic_time () - start) / 1e6, status_kb ("VmRSS:") / 1024,
          status_kb ("RssAnon:") / 1024, status_kb ("RssFile:") / 1024);
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: bench-load DIR [fp32|bf16]\n");
    return 2;
  }
  BtModelParams params = bt_model_default_params ();
  if (argc > 2 && strcmp (argv[2], "bf16") == 0)
    params.precision = BT_PRECISION_BF16;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  report ("start", start);
  BtModel *model = bt_model_load (argv[1], &params, &error);
  if (!model) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  report ("loaded", start);

  const BtImageConfig *ic = bt_model_get_image_config (model);
  gsize n = 3 * (gsize) ic->crop_height * ic->crop_width;
  g_autofree float *pixels = g_new0 (float, n);
  BtContext *ctx = bt_context_new (model, NULL);
  BtImageFeatures *f = bt_context_encode_image (ctx, pixels, ic->crop_height,
                                                ic->crop_width, FALSE, &error);
  if (!f) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  report ("image", start);
  /* a query and its match: the text tower and the cross-modal layers */
  BtTextFeatures *t = bt_context_encode_query (ctx, "a photo of a cat", &error);
  float logits[2];
  if (!t || ((bt_model_get_heads (model) & BT_HEAD_ITM)
             && !bt_context_match (ctx, f, &t, 1, logits, &error))) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  report ("matched", start);
  bt_text_features_unref (t);
  bt_image_features_unref (f);
  bt_context_free (ctx);
  bt_model_unref (model);
  return 0;
}
