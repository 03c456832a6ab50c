/* plugin.c - registers the bridgetower plugin's elements. The top of the
 * house: it knows the elements, nothing knows it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <gst/gst.h>

#include "gstbtpreprocess.h"
#include "gstbtencoder.h"
#include "gstbtmatcher.h"
#include "gstbtpublish.h"
#include "gstbtsegments.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (btpreprocess, plugin);
  ok |= GST_ELEMENT_REGISTER (btencoder, plugin);
  ok |= GST_ELEMENT_REGISTER (btmatcher, plugin);
  ok |= GST_ELEMENT_REGISTER (btpublish, plugin);
  ok |= GST_ELEMENT_REGISTER (btsegments, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, bridgetower,
    "BridgeTower vision-language scoring of video frames against text queries",
    plugin_init, PACKAGE_VERSION, "MIT/X11", "gst-bridgetower",
    "https://github.com/gst-bridgetower/gst-bridgetower")
