/* test-hostile.c - hostile inputs to every parser: each is refused with a
 * clear error, nothing is executed, and no input makes the loader hold
 * much more memory than the file it came from. */
#include "bt-checkpoint.h"
#include "bt-json.h"
#include "bt-pickle.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

/* Peak RSS of the process so far, in bytes. */
static gsize
peak_rss (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (gsize) ru.ru_maxrss * 1024;
}

/* 2 MB of EMPTY_LIST opcodes: each one byte, each an object. The machine
 * stops at its budget, in proportion to the file. */
static void
test_pickle_memory_bound (void)
{
  const gsize n = 2 * 1024 * 1024;
  g_autofree guint8 *pkl = g_malloc (n + 3);
  pkl[0] = 0x80;
  pkl[1] = 2;
  memset (pkl + 2, ']', n);
  pkl[n + 2] = '.';
  gsize before = peak_rss ();
  g_autoptr (GError) error = NULL;
  GArray *tensors = bt_pickle_load_state_dict (pkl, n + 3, "lists.pkl",
                                               &error);
  g_assert_null (tensors);
  g_assert_error (error, BT_ERROR, BT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "bytes of objects from"));
  /* 48 bytes of objects per pickle byte, plus allocator slack */
  g_assert_cmpuint (peak_rss () - before, <, 64 * n);
}

/* JSON out is strict: what json-glib's generator wrote as nan.0 or as a
 * raw control byte is null and \u001f; the text parses back. */
static void
test_json_strict_output (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "nan");
  json_builder_add_double_value (b, NAN);
  json_builder_set_member_name (b, "inf");
  json_builder_add_double_value (b, -INFINITY);
  json_builder_set_member_name (b, "one");
  json_builder_add_double_value (b, 1.0);
  json_builder_set_member_name (b, "q\x1f\"\\\n");
  json_builder_add_string_value (b, "a\x01\x7f\tb");
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  for (int pretty = 0; pretty < 2; pretty++) {
    g_autofree char *text = bt_json_to_string (root, pretty);
    g_test_message ("%s", text);
    if (!pretty)
      g_assert_cmpstr (text, ==, "{\"nan\":null,\"inf\":null,\"one\":1.0,"
                       "\"q\\u001f\\\"\\\\\\n\":\"a\\u0001\\u007f\\tb\"}");
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_true (json_object_get_null_member (o, "nan"));
    g_assert_cmpstr (json_object_get_string_member (o, "q\x1f\"\\\n"), ==,
                     "a\x01\x7f\tb");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/pickle-memory-bound", test_pickle_memory_bound);
  g_test_add_func ("/hostile/json-strict-output", test_json_strict_output);
  return g_test_run ();
}
