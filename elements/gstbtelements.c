/* gstbtelements.c - placeholder translation unit until the elements land. */
#include <gst/gst.h>
