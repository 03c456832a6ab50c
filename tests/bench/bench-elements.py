#!/usr/bin/python3
"""Frames per second through btpreprocess ! btencoder ! btmatcher, and the
share of time in each element, on a 1080p H.264 file made here
(videotestsrc ! x264enc ! mp4mux). Not run in CI.

    GST_PLUGIN_PATH=build/plugin tests/bench/bench-elements.py MODEL_DIR \
        [--frames 60] [--queries 1,8,32] [--modes itm,itc,auto] [--interval 1]

MODEL_DIR: a model folder with a tokenizer; for the base shape, a random
base-shape folder (bt-bench can write one). Per run it prints the decode-only
rate, the rate with the three elements, and the time each element spent per
frame, measured by pad probes around it (the elements run in one streaming
thread, so the time between a buffer entering an element's sink pad and
leaving its src pad is that element's work).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

ELEMENTS = ("btpreprocess", "btencoder", "btmatcher")
WORDS = ("a red car", "a dog on a couch", "two cats", "a person walking",
         "a city street at night", "a bowl of fruit", "a football player",
         "an airplane in the sky")


def make_video(path, frames):
    subprocess.run(
        ["gst-launch-1.0", "-q", "videotestsrc", "pattern=smpte",
         "num-buffers=%d" % frames, "!",
         "video/x-raw,width=1920,height=1080,framerate=30/1", "!",
         "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
         "filesink", "location=" + path], check=True)


def queries(n):
    return ";".join("%s %d" % (WORDS[i % len(WORDS)], i) for i in range(n))


def run(desc, probe=False):
    """Wall time of the steady state (from the first buffer leaving the last
    element to the last one: the first frame also loads the model and
    encodes the queries) and each element's time per steady frame."""
    pipeline = Gst.parse_launch(desc)
    spent = {name: [] for name in ELEMENTS}
    entered = {}
    out_times = []

    def on_sink(pad, info, name):
        entered[name] = time.monotonic_ns()
        return Gst.PadProbeReturn.OK

    def on_src(pad, info, name):
        now = time.monotonic_ns()
        spent[name].append(now - entered.get(name, now))
        if name == ELEMENTS[-1]:
            out_times.append(now)
        return Gst.PadProbeReturn.OK

    if probe:
        for name in ELEMENTS:
            el = pipeline.get_by_name(name)
            el.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                                on_sink, name)
            el.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER,
                                               on_src, name)
    bus = pipeline.get_bus()
    start = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                 Gst.MessageType.EOS | Gst.MessageType.ERROR)
    elapsed = time.monotonic() - start
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        return None, "%s (%s)" % (err.message, debug)
    if probe:
        steady = {name: t[1:] for name, t in spent.items()}
        n = len(out_times) - 1
        return n / ((out_times[-1] - out_times[0]) / 1e9), steady
    return elapsed, spent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--frames", type=int, default=60, help=">= 3")
    ap.add_argument("--queries", default="1,8,32")
    ap.add_argument("--modes", default="itm,itc,auto")
    ap.add_argument("--interval", type=int, default=1)
    args = ap.parse_args()
    Gst.init(None)

    with tempfile.TemporaryDirectory() as d:
        video = os.path.join(d, "bench-1080p.mp4")
        make_video(video, args.frames)
        decode = ("filesrc location=%s ! qtdemux ! h264parse ! avdec_h264 ! "
                  "videoconvert ! video/x-raw,format=RGB" % video)
        base, _ = run(decode + " ! fakesink")
        print("decode + convert only: %.1f fps (startup included)"
              % (args.frames / base))
        print("steady state: frames after the first (which loads the model "
              "and encodes the queries)")
        print("%-5s %7s %9s %12s %12s %12s" % ("mode", "queries", "fps",
                                            "preprocess", "encode", "match"))
        for mode in args.modes.split(","):
            for n in (int(q) for q in args.queries.split(",")):
                desc = (decode + " ! btpreprocess name=btpreprocess ! "
                        "btencoder name=btencoder model=\"%s\" interval=%d ! "
                        "btmatcher name=btmatcher mode=%s queries=\"%s\" ! "
                        "fakesink" % (args.model, args.interval, mode,
                                      queries(n)))
                fps, spent = run(desc, probe=True)
                if fps is None:
                    print("%-5s %7d  error: %s" % (mode, n, spent))
                    continue
                per_frame = {e: sum(t) / max(len(t), 1) for e, t in
                             spent.items()}
                total = sum(per_frame.values())
                print("%-5s %7d %9.2f %s" % (
                    mode, n, fps, " ".join(
                        "%6.1fms %3.0f%%" % (per_frame[e] / 1e6,
                                             100.0 * per_frame[e] / total)
                        for e in ELEMENTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
