/* plugin.c - registers the bridgetower plugin's elements. The top of the
 * house: it knows the elements, nothing knows it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

static gboolean
plugin_init (GstPlugin *plugin)
{
  (void) plugin;
  return TRUE;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, bridgetower,
    "BridgeTower vision-language scoring of video frames against text queries",
    plugin_init, PACKAGE_VERSION, "MIT", "gst-bridgetower",
    "https://github.com/gst-bridgetower/gst-bridgetower")
