/* bench-preprocess - time to turn a 1920x1080 RGB frame into the 288 model
 * input (resize, crop, normalise), beside a plain memcpy of the same frame
 * in the same run. Min of N runs; N is the first argument (default 20).
 * Not a test: run by hand (see docs/image-processor.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDTH 1920
#define HEIGHT 1080

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main (int argc, char **argv)
{
  int runs = argc > 1 ? atoi (argv[1]) : 20;
  gsize stride = 3 * WIDTH;
  gsize frame_bytes = stride * HEIGHT;
  guint8 *frame = g_malloc (frame_bytes);
  guint8 *copy = g_malloc (frame_bytes);
  GRand *rand = g_rand_new_with_seed (1080);
  BtImageConfig config;
  GError *error = NULL;
  int ow, oh;

  if (runs < 1)
    runs = 1;
  /* gradients plus noise: nothing the resampler could shortcut */
  for (int y = 0; y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      for (int c = 0; c < 3; c++)
        frame[y * stride + 3 * x + c] = (guint8) ((x * (c + 1) + y * (3 - c)) / 16
            + g_rand_int_range (rand, 0, 32));

  bt_image_config_init_defaults (&config);
  bt_image_config_output_size (&config, WIDTH, HEIGHT, &ow, &oh);
  BtImageProcessor *proc = bt_image_processor_new (&config);
  float *out = g_new (float, 3 * (gsize) ow * oh);

  double best_proc = G_MAXDOUBLE, best_copy = G_MAXDOUBLE;
  for (int i = 0; i < runs; i++) {
    double t0 = now_ms ();
    if (!bt_image_processor_process (proc, frame, WIDTH, HEIGHT, (int) stride,
                                     out, ow, oh, &error)) {
      fprintf (stderr, "bench-preprocess: %s\n", error->message);
      return 1;
    }
    double t1 = now_ms ();
    memcpy (copy, frame, frame_bytes);
    double t2 = now_ms ();
    /* the first call sizes the scratch buffers and weights: not timed */
    if (i == 0 && runs > 1)
      continue;
    best_proc = MIN (best_proc, t1 - t0);
    best_copy = MIN (best_copy, t2 - t1);
  }
  /* keep the copy observable so it is not optimised away */
  volatile guint8 sink = copy[frame_bytes / 2];
  (void) sink;

  printf ("frame %dx%d RGB -> pixel_values 3x%dx%d, min of %d runs\n",
          WIDTH, HEIGHT, oh, ow, runs);
  printf ("preprocess  %8.3f ms\n", best_proc);
  printf ("memcpy      %8.3f ms  (%.1f MB)\n", best_copy, frame_bytes / 1e6);
  printf ("ratio       %8.1f x memcpy\n", best_proc / best_copy);

  g_free (out);
  bt_image_processor_free (proc);
  g_rand_free (rand);
  g_free (frame);
  g_free (copy);
  return 0;
}
