/* bt-file.c - see bt-file-private.h. docs/checkpoints.md says why the
 * weights are copied rather than mapped.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-file-private.h"
#include "bt-common.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  void *data;
  gsize size;
} Region;

static void
region_free (gpointer p)
{
  Region *r = p;
  if (r->size)
    munmap (r->data, r->size);
  g_free (r);
}

static GBytes *
fail (GError **error, const char *path, const char *reason, int fd)
{
  g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path, reason);
  if (fd >= 0)
    close (fd);
  return NULL;
}

GBytes *
bt_file_read_private (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  struct stat st;
  if (fd < 0)
    return fail (error, path, g_strerror (errno), -1);
  if (fstat (fd, &st) != 0)
    return fail (error, path, g_strerror (errno), fd);
  if (!S_ISREG (st.st_mode))
    return fail (error, path, "not a regular file", fd);

  /* anonymous pages rather than the heap: whole pages back to the kernel
   * at munmap, and the bf16 path can release ranges of them */
  Region *r = g_new0 (Region, 1);
  r->size = (gsize) st.st_size;
  r->data = NULL;
  if (r->size) {
    r->data = mmap (NULL, r->size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->data == MAP_FAILED) {
      g_free (r);
      return fail (error, path, "not enough memory for the file", fd);
    }
#ifdef MADV_HUGEPAGE
    /* 2 MB pages: a 500th of the page faults while filling */
    madvise (r->data, r->size, MADV_HUGEPAGE);
#endif
  }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  gsize done = 0;
  while (done < r->size) {
    gssize n = pread (fd, (guint8 *) r->data + done, r->size - done,
                      (off_t) done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const char *reason = n < 0 ? g_strerror (errno)
          : "the file became shorter while it was read";
      region_free (r);
      return fail (error, path, reason, fd);
    }
    done += (gsize) n;
  }
  close (fd);
  /* pages are filled: make the copy read-only like the mapping it replaces */
  if (r->size)
    mprotect (r->data, r->size, PROT_READ);
  return g_bytes_new_with_free_func (r->data, r->size, region_free, r);
}
