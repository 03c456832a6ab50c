/* test-hostile.c - hostile inputs to every parser: each is refused with a
 * clear error, nothing is executed, and no input makes the loader hold
 * much more memory than the file it came from. */
#include "bt-checkpoint.h"
#include "bt-pickle.h"
#include "bt-test-util.h"

#include <glib/gstdio.h>
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/pickle-memory-bound", test_pickle_memory_bound);
  return g_test_run ();
}
