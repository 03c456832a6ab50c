/* plugin.c - registers the bridgetower plugin's elements. The top of the
 * house: it knows the elements, nothing knows it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <gst/gst.h>

#include "gstbtpreprocess.h"
#include "gstbtencoder.h"
#include "gstbtmatcher.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (btpreprocess, plugin);
  ok |= GST_ELEMENT_REGISTER (btencoder, plugin);
  ok |= GST_ELEMENT_REGISTER (btmatcher, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, bridgetower,
    "BridgeTower vision-language scoring of video frames against text queries",
    plugin_init, PACKAGE_VERSION, "MIT", "gst-bridgetower",
    "https://github.com/gst-bridgetower/gst-bridgetower")
