/* bt-cmd.h - the subcommands of the `bridgetower` command. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the exit
 * status. Diagnostics go to stderr, results to stdout or -o files.
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

int bt_cmd_inspect (int argc, char **argv);
int bt_cmd_tokenize (int argc, char **argv);
int bt_cmd_preprocess (int argc, char **argv);
int bt_cmd_run (int argc, char **argv);
int bt_cmd_itm (int argc, char **argv);
int bt_cmd_itc (int argc, char **argv);
int bt_cmd_mlm (int argc, char **argv);
int bt_cmd_search (int argc, char **argv);
