/* bridgetower - the command-line face of libbridgetower.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-cmd.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "inspect", bt_cmd_inspect, "config summary, heads, tensors and the check's verdict" },
  { "tokenize", bt_cmd_tokenize, "token ids of texts, as JSON" },
  { "preprocess", bt_cmd_preprocess, "pixel_values and pixel_mask of images, as safetensors" },
  { "run", bt_cmd_run, "a head's forward pass on a batch, outputs as safetensors" },
  { "itm", bt_cmd_itm, "image-text matching score of an image against texts" },
  { "itc", bt_cmd_itc, "contrastive similarity of an image against texts" },
  { "mlm", bt_cmd_mlm, "fill the <mask> tokens of a text about an image" },
  { "search", bt_cmd_search, "where text queries match in videos: segments, "
    "subtitles, chapters, clips, plots" },
};

static void
usage (FILE *out)
{
  fprintf (out, "usage: bridgetower COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'bridgetower COMMAND --help' describes each; "
           "'bridgetower --version' prints the version.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    usage (stdout);
    return 0;
  }
  if (strcmp (argv[1], "--version") == 0) {
    printf ("bridgetower %s\n", BT_VERSION);
    return fflush (stdout) == 0 ? 0 : 1;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, "bridgetower: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
