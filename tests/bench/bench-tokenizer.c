/* bench-tokenizer - tokenizer throughput with the full GPT-2 vocabulary:
 * load time, captions per second (cold and warm word cache), beside a plain
 * memcpy of the same caption bytes in the same run.
 *
 *   bench-tokenizer [DIR] [--seconds S]
 *
 * DIR defaults to the golden tokenizer-full folder; the captions are the
 * golden model texts (inputs/texts.json), the cold pass uses every text of
 * tokenizer-full/cases.json.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-tokenizer.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static GPtrArray *
read_texts (const char *path, const char *member)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_file (parser, path, &error)) {
    fprintf (stderr, "bench-tokenizer: %s\n", error->message);
    exit (1);
  }
  JsonNode *root = json_parser_get_root (parser);
  JsonArray *a = member ?
      json_object_get_array_member (json_node_get_object (root), member) :
      json_node_get_array (root);
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    const char *s = JSON_NODE_HOLDS_OBJECT (e) ?
        json_object_get_string_member (json_node_get_object (e), "text") :
        json_node_get_string (e);
    g_ptr_array_add (texts, g_strdup (s));
  }
  return texts;
}

static double
cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wall time in `ms`, CPU time in `cpu`: on a shared machine the first
 * includes waiting for a core. */
static BtTokenizer *
load (const char *dir, double *ms, double *cpu)
{
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double c0 = cpu_ms ();
  BtTokenizer *tok = bt_tokenizer_load (dir, &error);
  *cpu = cpu_ms () - c0;
  *ms = (g_get_monotonic_time () - t0) / 1000.0;
  if (!tok) {
    fprintf (stderr, "bench-tokenizer: %s\n", error->message);
    exit (1);
  }
  return tok;
}

static double
encode_all (BtTokenizer *tok, GPtrArray *texts, GArray *ids)
{
  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < texts->len; i++) {
    g_array_set_size (ids, 0);
    if (!bt_tokenizer_encode (tok, texts->pdata[i], TRUE, 0, ids, NULL))
      exit (1);
  }
  return (g_get_monotonic_time () - t0) / 1e6;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  const char *root = g_getenv ("BT_TEST_DATA");
  g_autofree char *golden = g_build_filename (root ? root : BT_TEST_DATA, "golden", NULL);
  g_autofree char *dir = g_build_filename (golden, "tokenizer-full", NULL);
  double seconds = 1.0;
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = g_ascii_strtod (argv[++i], NULL);
    } else if (argv[i][0] == '-') {
      fprintf (stderr, "usage: bench-tokenizer [DIR] [--seconds S]\n");
      return 2;
    } else {
      g_free (dir);
      dir = g_strdup (argv[i]);
    }
  }

  g_autofree char *texts_path = g_build_filename (golden, "inputs", "texts.json", NULL);
  g_autofree char *cases_path = g_build_filename (golden, "tokenizer-full", "cases.json", NULL);
  g_autoptr (GPtrArray) captions = read_texts (texts_path, NULL);
  g_autoptr (GPtrArray) cases = read_texts (cases_path, "cases");
  gsize caption_bytes = 0;
  for (guint i = 0; i < captions->len; i++)
    caption_bytes += strlen (captions->pdata[i]);

  double load_ms[5], load_cpu[5];
  for (int i = 0; i < 5; i++)
    bt_tokenizer_free (load (dir, &load_ms[i], &load_cpu[i]));
  qsort (load_ms, 5, sizeof (double), compare_doubles);
  qsort (load_cpu, 5, sizeof (double), compare_doubles);

  double ms, cpu;
  g_autoptr (BtTokenizer) tok = load (dir, &ms, &cpu);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  double cold = encode_all (tok, cases, ids);

  /* warm: the word cache holds every caption word after the first round */
  guint64 rounds = 0;
  double warm = 0;
  while (warm < seconds) {
    warm += encode_all (tok, captions, ids);
    rounds++;
  }

  /* the same bytes, copied the same number of times */
  char *src = g_malloc (caption_bytes), *dst = g_malloc (caption_bytes);
  gsize off = 0;
  for (guint i = 0; i < captions->len; i++) {
    gsize n = strlen (captions->pdata[i]);
    memcpy (src + off, captions->pdata[i], n);
    off += n;
  }
  gint64 t0 = g_get_monotonic_time ();
  guint64 sum = 0;
  for (guint64 r = 0; r < rounds; r++) {
    off = 0;
    for (guint i = 0; i < captions->len; i++) {
      gsize n = strlen (captions->pdata[i]);
      memcpy (dst + off, src + off, n);
      off += n;
    }
    sum += (guchar) dst[r % caption_bytes];
  }
  double copy = (g_get_monotonic_time () - t0) / 1e6;

  double n_warm = (double) rounds * captions->len;
  printf ("tokenizer %s: vocab %d\n", dir, bt_tokenizer_vocab_size (tok));
  printf ("load:  median %.1f ms wall (min %.1f, max %.1f), %.1f ms CPU (min %.1f), "
      "5 runs\n", load_ms[2], load_ms[0], load_ms[4], load_cpu[2], load_cpu[0]);
  printf ("cold:  %u texts in %.1f ms = %.0f texts/s (empty word cache)\n",
      cases->len, cold * 1e3, cases->len / cold);
  printf ("warm:  %.0f captions/s, %.2f us/caption, %.1f MB/s (%u captions, %"
      G_GSIZE_FORMAT " bytes, %" G_GUINT64_FORMAT " rounds)\n", n_warm / warm,
      warm / n_warm * 1e6, rounds * (double) caption_bytes / warm / 1e6,
      captions->len, caption_bytes, rounds);
  printf ("memcpy of the same bytes: %.3f us/caption, %.0f MB/s (checksum %"
      G_GUINT64_FORMAT ")\n", copy / n_warm * 1e6,
      rounds * (double) caption_bytes / MAX (copy, 1e-9) / 1e6, sum);
  g_free (src);
  g_free (dst);
  return 0;
}
