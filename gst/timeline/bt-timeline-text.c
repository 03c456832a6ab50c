/* bt-timeline-text.c - a timeline's segments as subtitles and chapters.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-timeline.h"

#include <stdlib.h>
#include <string.h>

char *
bt_timeline_format_time (gint64 time, char sep)
{
  gint64 ms = MAX (time, 0) / 1000000;

  return g_strdup_printf ("%02" G_GINT64_FORMAT ":%02d:%02d%c%03d",
                          ms / 3600000, (int) (ms / 60000 % 60),
                          (int) (ms / 1000 % 60), sep, (int) (ms % 1000));
}

static int
compare_times (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Calls `cue` for every stretch between two segment boundaries where some
 * query matches, with the names of the matching queries; stretches with
 * the same set are merged. */
static void
for_each_cue (const BtTimeline *t, const GArray *segments,
              void (*cue) (GString *out, int index, gint64 start, gint64 stop,
                           const char *text),
              GString *out)
{
  guint n = segments->len;
  g_autofree gint64 *bounds = g_new (gint64, 2 * n + 1);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GString) pending = g_string_new (NULL);
  gint64 pending_start = 0, pending_stop = 0;
  int index = 0;

  for (guint i = 0; i < n; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);

    bounds[2 * i] = s->start;
    bounds[2 * i + 1] = s->stop;
  }
  qsort (bounds, 2 * n, sizeof (gint64), compare_times);

  for (guint b = 0; b + 1 < 2 * n; b++) {
    gint64 from = bounds[b], to = bounds[b + 1];

    if (to <= from)
      continue;
    g_string_truncate (text, 0);
    for (int q = 0; q < bt_timeline_get_n_queries (t); q++) {
      for (guint i = 0; i < n; i++) {
        const BtSegment *s = &g_array_index (segments, BtSegment, i);

        if (s->query == q && s->start <= from && s->stop >= to) {
          g_string_append_printf (text, "%s%s", text->len ? "\n" : "",
                                  bt_timeline_get_query (t, q));
          break;
        }
      }
    }
    if (pending->len && pending_stop == from
        && g_str_equal (pending->str, text->str)) {
      pending_stop = to;
      continue;
    }
    if (pending->len)
      cue (out, ++index, pending_start, pending_stop, pending->str);
    g_string_assign (pending, text->str);
    pending_start = from;
    pending_stop = to;
  }
  if (pending->len)
    cue (out, ++index, pending_start, pending_stop, pending->str);
}

static void
srt_cue (GString *out, int index, gint64 start, gint64 stop, const char *text)
{
  g_autofree char *a = bt_timeline_format_time (start, ',');
  g_autofree char *b = bt_timeline_format_time (stop, ',');

  g_string_append_printf (out, "%d\n%s --> %s\n%s\n\n", index, a, b, text);
}

static void
vtt_cue (GString *out, int index, gint64 start, gint64 stop, const char *text)
{
  g_autofree char *a = bt_timeline_format_time (start, '.');
  g_autofree char *b = bt_timeline_format_time (stop, '.');

  (void) index;
  g_string_append_printf (out, "%s --> %s\n%s\n\n", a, b, text);
}

char *
bt_timeline_to_srt (const BtTimeline *t, const GArray *segments)
{
  GString *out = g_string_new (NULL);

  for_each_cue (t, segments, srt_cue, out);
  return g_string_free (out, FALSE);
}

char *
bt_timeline_to_vtt (const BtTimeline *t, const GArray *segments)
{
  GString *out = g_string_new ("WEBVTT\n\n");

  for_each_cue (t, segments, vtt_cue, out);
  return g_string_free (out, FALSE);
}

char *
bt_timeline_to_matroska_chapters (const BtTimeline *t, const GArray *segments)
{
  GString *out = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<!DOCTYPE Chapters SYSTEM "
                               "\"matroskachapters.dtd\">\n"
                               "<Chapters>\n  <EditionEntry>\n");

  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);
    g_autofree char *a = bt_timeline_format_time (s->start, '.');
    g_autofree char *b = bt_timeline_format_time (s->stop, '.');
    g_autofree char *title =
      g_markup_escape_text (bt_timeline_get_query (t, s->query), -1);

    g_string_append_printf (out, "    <ChapterAtom>\n"
                            "      <ChapterTimeStart>%s</ChapterTimeStart>\n"
                            "      <ChapterTimeEnd>%s</ChapterTimeEnd>\n"
                            "      <ChapterDisplay>\n"
                            "        <ChapterString>%s</ChapterString>\n"
                            "      </ChapterDisplay>\n"
                            "    </ChapterAtom>\n", a, b, title);
  }
  g_string_append (out, "  </EditionEntry>\n</Chapters>\n");
  return g_string_free (out, FALSE);
}

/* FFmpeg's metadata syntax escapes '=', ';', '#', '\' and newlines. */
static void
append_ffmetadata_escaped (GString *out, const char *text)
{
  for (const char *p = text; *p; p++) {
    if (strchr ("=;#\\\n", *p))
      g_string_append_c (out, '\\');
    g_string_append_c (out, *p);
  }
}

char *
bt_timeline_to_ffmetadata (const BtTimeline *t, const GArray *segments)
{
  GString *out = g_string_new (";FFMETADATA1\n");

  for (guint i = 0; i < segments->len; i++) {
    const BtSegment *s = &g_array_index (segments, BtSegment, i);

    g_string_append_printf (out, "\n[CHAPTER]\nTIMEBASE=1/1000000000\n"
                            "START=%" G_GINT64_FORMAT "\n"
                            "END=%" G_GINT64_FORMAT "\ntitle=",
                            s->start, s->stop);
    append_ffmetadata_escaped (out, bt_timeline_get_query (t, s->query));
    g_string_append_c (out, '\n');
  }
  return g_string_free (out, FALSE);
}
