/* cmd-tokenize.c - placeholder until the subcommand lands. */
#include "bt-cmd.h"

#include <stdio.h>

int
bt_cmd_tokenize (int argc, char **argv)
{
  (void) argc;
  fprintf (stderr, "bridgetower %s: not implemented yet\n", argv[0]);
  return 2;
}
