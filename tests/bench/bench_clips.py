"""1080p30 H.264 clips for the element benchmarks, made here from the golden
test images (numpy frames through appsrc ! x264enc ! mp4mux), each with
Gaussian sensor noise (sigma 2 levels) on every frame:

- static: a fixed camera on a still scene (photo_800x600 scaled to 1080p);
- moving: the camera pans across the same scene, 6 pixels a frame;
- event: the static scene, into which an object (shapes_300x300 at 400 x
  400) slides from the left edge over the middle third of the clip and
  stays (a fixed camera watching something happen);
- smpte: videotestsrc's SMPTE bars, as bench-elements.py always used.
"""
import os
import subprocess

import numpy as np
from PIL import Image

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

KINDS = ("static", "moving", "event", "smpte")
W, H = 1920, 1080
IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "data", "golden", "inputs", "images")


def _frames(kind, n):
    rng = np.random.default_rng(1)
    photo = Image.open(os.path.join(IMAGES, "photo_800x600.png")).convert(
        "RGB")
    pan = 6 * n if kind == "moving" else 0
    scene = np.asarray(photo.resize((W + pan, H), Image.BICUBIC),
                       dtype=np.float32)
    sprite = np.asarray(Image.open(os.path.join(IMAGES, "shapes_300x300.png"))
                        .convert("RGB").resize((400, 400), Image.BICUBIC),
                        dtype=np.float32)
    first, last = n // 3, 2 * n // 3
    stop_x = (W - 400) // 2
    for i in range(n):
        frame = scene[:, 6 * i:6 * i + W].copy() if kind == "moving" \
            else scene.copy()
        if kind == "event" and i >= first:
            t = min(1.0, (i - first) / max(1, last - first))
            x = int(-400 + t * (stop_x + 400))
            x0, x1 = max(0, x), x + 400
            if x1 > 0:
                frame[340:740, x0:x1] = sprite[:, x0 - x:]
        frame += rng.normal(0.0, 2.0, frame.shape).astype(np.float32)
        yield np.clip(frame + 0.5, 0, 255).astype(np.uint8).tobytes()


def make_clip(path, kind, n):
    """Writes `n` frames of clip `kind` to `path` (MP4, H.264, 30 fps)."""
    if kind == "smpte":
        subprocess.run(
            ["gst-launch-1.0", "-q", "videotestsrc", "pattern=smpte",
             "num-buffers=%d" % n, "!",
             "video/x-raw,width=%d,height=%d,framerate=30/1" % (W, H), "!",
             "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
             "filesink", "location=" + path], check=True)
        return
    pipeline = Gst.parse_launch(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width=%d,"
        "height=%d,framerate=30/1 ! videoconvert ! video/x-raw,format=I420 ! "
        "x264enc "
        "speed-preset=ultrafast bitrate=6000 ! mp4mux ! filesink "
        "location=\"%s\"" % (W, H, path))
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    for i, data in enumerate(_frames(kind, n)):
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = i * Gst.SECOND // 30
        buf.duration = Gst.SECOND // 30
        src.emit("push-buffer", buf)
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        raise RuntimeError("clip %s: %s" % (kind, msg.parse_error()[0].message))
