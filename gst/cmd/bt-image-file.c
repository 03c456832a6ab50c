/* bt-image-file.c - PNG and JPEG files as 8-bit RGB, the way PIL's
 * Image.open(path).convert('RGB') gives them. libpng and libjpeg(-turbo)
 * decode; the conversion to RGB is done here, on the decoded samples, so
 * that it follows PIL rather than the libraries' own transforms.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bt-image-file.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Refuse what would decode to more than ~200 MB of RGB. */
#define MAX_PIXELS (G_GINT64_CONSTANT (1) << 26)

static gboolean
check_size (const char *path, guint64 width, guint64 height, GError **error)
{
  if (width < 1 || height < 1 || width > G_MAXINT || height > G_MAXINT
      || width * height > (guint64) MAX_PIXELS) {
    g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
                 "%s: image of %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                 " is too large (at most %" G_GINT64_FORMAT " pixels)", path,
                 width, height, MAX_PIXELS);
    return FALSE;
  }
  return TRUE;
}

/* ---- PNG --------------------------------------------------------------- */

typedef struct {
  jmp_buf jmp;
  char message[200];
} PngFailure;

static void
png_on_error (png_structp png, png_const_charp message)
{
  PngFailure *failure = png_get_error_ptr (png);
  g_strlcpy (failure->message, message, sizeof failure->message);
  longjmp (failure->jmp, 1);
}

static void
png_on_warning (png_structp png, png_const_charp message)
{
  (void) png;
  (void) message;
}

/* One decoded row (png_set_packing: one byte per sample below 8 bits, 16-bit
 * samples big-endian) to RGB, as PIL's unpackers and convert('RGB') do:
 * 16-bit colour keeps the high byte, 16-bit gray (PIL mode I) clips to 255,
 * 1/2/4-bit gray scales to 0..255, alpha is dropped, palette indices past
 * the palette read PIL's default gray ramp. */
static void
png_row_to_rgb (const guint8 *in, guint8 *out, int width, int color_type,
                int bit_depth, const png_color *palette, int n_palette)
{
  int step = bit_depth == 16 ? 2 : 1;

  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      for (int x = 0; x < width; x++) {
        guint8 v;
        if (bit_depth == 16)
          v = in[2 * x] ? 255 : in[2 * x + 1];
        else if (bit_depth < 8)
          v = (guint8) (in[x] * (255 / ((1 << bit_depth) - 1)));
        else
          v = in[x];
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = v;
      }
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      for (int x = 0; x < width; x++)
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[2 * step * x];
      break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {
      int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
      for (int x = 0; x < width; x++)
        for (int c = 0; c < 3; c++)
          out[3 * x + c] = in[(channels * x + c) * step];
      break;
    }
    case PNG_COLOR_TYPE_PALETTE:
      for (int x = 0; x < width; x++) {
        int i = in[x];
        if (i < n_palette) {
          out[3 * x] = palette[i].red;
          out[3 * x + 1] = palette[i].green;
          out[3 * x + 2] = palette[i].blue;
        } else {
          out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = (guint8) i;
        }
      }
      break;
    default:
      g_assert_not_reached ();
  }
}

typedef struct {
  const guint8 *data;
  gsize size;
  gsize pos;
} PngSource;

static void
png_read_memory (png_structp png, png_bytep out, png_size_t n)
{
  PngSource *src = png_get_io_ptr (png);
  if (n > src->size - src->pos)
    png_error (png, "the file ends early");
  memcpy (out, src->data + src->pos, n);
  src->pos += n;
}

static gboolean
load_png (const guint8 *data, gsize size, const char *path, guint8 **rgb,
          int *width, int *height, GError **error)
{
  PngSource source = { data, size, 0 };
  PngFailure failure = { 0 };
  png_structp png;
  png_infop info;
  guint8 *volatile raw = NULL;
  guint8 *volatile out = NULL;
  png_bytep *volatile rows = NULL;
  volatile gboolean too_large = FALSE;

  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &failure,
                                png_on_error, png_on_warning);
  if (!png) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot start libpng",
                 path);
    return FALSE;
  }
  info = png_create_info_struct (png);

  if (setjmp (failure.jmp)) {
    png_destroy_read_struct (&png, &info, NULL);
    g_free (raw);
    g_free (out);
    g_free (rows);
    if (!too_large)
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: invalid PNG: %s",
                   path, failure.message);
    return FALSE;
  }
  if (!info)
    png_error (png, "out of memory");

  png_set_read_fn (png, &source, png_read_memory);
  png_read_info (png, info);

  png_uint_32 w, h;
  int bit_depth, color_type, interlace;
  png_get_IHDR (png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL,
                NULL);
  if (!check_size (path, w, h, error)) {
    too_large = TRUE;
    png_error (png, "too large");
  }

  png_colorp palette = NULL;
  int n_palette = 0;
  if (color_type == PNG_COLOR_TYPE_PALETTE
      && !png_get_PLTE (png, info, &palette, &n_palette))
    png_error (png, "palette image without a palette");

  if (bit_depth < 8)
    png_set_packing (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);

  gsize row_bytes = png_get_rowbytes (png, info);
  raw = g_malloc (row_bytes * h);
  rows = g_new (png_bytep, h);
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = raw + y * row_bytes;
  png_read_image (png, rows);

  out = g_malloc (3 * (gsize) w * h);
  for (png_uint_32 y = 0; y < h; y++)
    png_row_to_rgb (rows[y], out + 3 * (gsize) w * y, (int) w, color_type,
                    bit_depth, palette, n_palette);

  png_destroy_read_struct (&png, &info, NULL);
  g_free (raw);
  g_free (rows);
  *rgb = out;
  *width = (int) w;
  *height = (int) h;
  return TRUE;
}

/* ---- JPEG -------------------------------------------------------------- */

typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jmp;
  gboolean truncated;
} JpegFailure;

static void
jpeg_on_error (j_common_ptr cinfo)
{
  JpegFailure *failure = (JpegFailure *) cinfo->err;
  longjmp (failure->jmp, 1);
}

/* Warnings are ignored as PIL ignores them, except running out of data,
 * which PIL reports as a truncated file. */
static void
jpeg_on_message (j_common_ptr cinfo, int level)
{
  JpegFailure *failure = (JpegFailure *) cinfo->err;
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    failure->truncated = TRUE;
}

/* PIL reads CMYK JPEGs with Adobe's inverted convention, then converts
 * with its own integer formula. */
static void
cmyk_row_to_rgb (const guint8 *in, guint8 *out, int width)
{
  for (int x = 0; x < width; x++) {
    int nk = in[4 * x + 3];     /* 255 - K once inverted */
    for (int c = 0; c < 3; c++) {
      int t = (255 - in[4 * x + c]) * nk + 128;
      int v = nk - (((t >> 8) + t) >> 8);
      out[3 * x + c] = (guint8) CLAMP (v, 0, 255);
    }
  }
}

static gboolean
load_jpeg (const guint8 *data, gsize size, const char *path, guint8 **rgb,
           int *width, int *height, GError **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegFailure failure = { 0 };
  guint8 *volatile out = NULL;
  guint8 *volatile row = NULL;
  volatile gboolean too_large = FALSE;

  cinfo.err = jpeg_std_error (&failure.mgr);
  failure.mgr.error_exit = jpeg_on_error;
  failure.mgr.emit_message = jpeg_on_message;

  if (setjmp (failure.jmp)) {
    char message[JMSG_LENGTH_MAX];
    (*cinfo.err->format_message) ((j_common_ptr) &cinfo, message);
    jpeg_destroy_decompress (&cinfo);
    g_free (out);
    g_free (row);
    if (!too_large)
      g_set_error (error, BT_ERROR, BT_ERROR_FORMAT, "%s: invalid JPEG: %s",
                   path, message);
    return FALSE;
  }

  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, data, size);
  jpeg_read_header (&cinfo, TRUE);

  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  if (!check_size (path, cinfo.image_width, cinfo.image_height, error)) {
    too_large = TRUE;
    ERREXIT (&cinfo, JERR_IMAGE_TOO_BIG);
  }

  jpeg_start_decompress (&cinfo);
  int w = (int) cinfo.output_width, h = (int) cinfo.output_height;
  int components = cinfo.output_components;
  out = g_malloc (3 * (gsize) w * h);
  row = g_malloc ((gsize) components * w);

  while (cinfo.output_scanline < cinfo.output_height) {
    guint8 *dst = out + 3 * (gsize) w * cinfo.output_scanline;
    JSAMPROW target = components == 3 ? dst : row;
    jpeg_read_scanlines (&cinfo, &target, 1);
    if (components == 1) {
      for (int x = 0; x < w; x++)
        dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
    } else if (components == 4) {
      cmyk_row_to_rgb (row, dst, w);
    }
  }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  g_free (row);

  if (failure.truncated) {
    g_free (out);
    g_set_error (error, BT_ERROR, BT_ERROR_TRUNCATED,
                 "%s: the JPEG data ends early", path);
    return FALSE;
  }
  *rgb = out;
  *width = w;
  *height = h;
  return TRUE;
}

/* ---- dispatch ---------------------------------------------------------- */

gboolean
bt_image_decode_rgb (const guint8 *data, gsize size, const char *name,
                     guint8 **rgb, int *width, int *height, GError **error)
{
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
                                       0x1a, '\n' };

  *rgb = NULL;
  if (size >= sizeof png_magic && memcmp (data, png_magic, sizeof png_magic) == 0)
    return load_png (data, size, name, rgb, width, height, error);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return load_jpeg (data, size, name, rgb, width, height, error);
  g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED,
               "%s: not a PNG or JPEG file", name);
  return FALSE;
}

gboolean
bt_image_load_rgb (const char *path, guint8 **rgb, int *width, int *height,
                   GError **error)
{
  g_return_val_if_fail (path && rgb && width && height, FALSE);

  *rgb = NULL;
  int fd = g_open (path, O_RDONLY, 0);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: %s", path,
                 g_strerror (saved));
    return FALSE;
  }
  GMappedFile *file = g_mapped_file_new_from_fd (fd, FALSE, NULL);
  close (fd);
  if (!file) {
    g_set_error (error, BT_ERROR, BT_ERROR_IO, "%s: cannot be read", path);
    return FALSE;
  }
  gboolean ok = bt_image_decode_rgb (
      (const guint8 *) g_mapped_file_get_contents (file),
      g_mapped_file_get_length (file), path, rgb, width, height, error);
  g_mapped_file_unref (file);
  return ok;
}
