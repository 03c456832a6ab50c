#!/usr/bin/python3
"""Frames per second through btpreprocess ! btencoder ! btmatcher, and the
share of time in each element, on a 1080p30 H.264 clip made here
(bench_clips.py: SMPTE bars, or a static, panning or event scene with
sensor noise). Not run in CI.

    GST_PLUGIN_PATH=build/plugin tests/bench/bench-elements.py \
        (MODEL_DIR | --random base|large) [--frames 60] [--queries 1,8,32]
        [--modes itm,itc,auto] [--intervals 1,5,15] [--gating 0,0.02]
        [--precisions fp32,bf16,int8]
        [--clip smpte|static|moving|event] [--skip-over SECONDS]
        [--live SECONDS]

MODEL_DIR: a model folder with a tokenizer; --random writes a random-weight
folder of the real shapes first (build/tests/bench/bt-bench --write-random).
Per run it prints the decode-only rate, the rate with the three elements, its
real-time factor against the file's 30 fps, the frames btencoder encoded,
and the time each element spent per frame, measured by pad probes around it
(the elements run in one streaming thread, so the time between a buffer
entering an element's sink pad and leaving its src pad is that element's
work). --gating lists btpreprocess change-threshold values (0: off; max-age
keeps its default). --precisions lists btencoder precision values (bf16 and
int8 need oneDNN and the CPU's units; an unsupported one prints the element's
error and the table goes on). --skip-over leaves out a configuration whose estimate
(the encoder and matcher time per encoded frame of the same mode, query
count and gating at an interval run before it - list the intervals from the
largest - times frames / interval) is above that many seconds. --live runs a live 1080p videotestsrc (faster than
the encoder) through a leaky queue for that long and prints the latency of
the frames that come out: bounded means frames are dropped before the
model, not queued.
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

import bench_clips  # noqa: E402

ELEMENTS = ("btpreprocess", "btencoder", "btmatcher")
WORDS = ("a red car", "a dog on a couch", "two cats", "a person walking",
         "a city street at night", "a bowl of fruit", "a football player",
         "an airplane in the sky")


def queries(n):
    return ";".join("%s %d" % (WORDS[i % len(WORDS)], i) for i in range(n))


def run(desc, probe=False):
    """Wall time of the steady state (from the first buffer leaving the last
    element to the last one: the first frame also loads the model and
    encodes the queries) and each element's time per steady frame; None and
    the reason when the pipeline cannot be built or fails."""
    try:
        pipeline = Gst.parse_launch(desc)
    except GLib.Error as e:
        return None, e.message, 0
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
    encoder = pipeline.get_by_name("btencoder")
    start = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                 Gst.MessageType.EOS | Gst.MessageType.ERROR)
    elapsed = time.monotonic() - start
    encoded = encoder.get_property("encoded-frames") if encoder else 0
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        return None, "%s (%s)" % (err.message, debug), 0
    if probe:
        steady = {name: t[1:] for name, t in spent.items()}
        n = len(out_times) - 1
        return n / ((out_times[-1] - out_times[0]) / 1e9), steady, encoded
    return elapsed, spent, encoded


def live_latency(model, seconds):
    """Latency (running time at the sink minus the frame's timestamp) of
    every frame out of a live 30 fps source through a leaky queue."""
    pipeline = Gst.parse_launch(
        "videotestsrc is-live=true ! video/x-raw,width=1920,height=1080,"
        "framerate=30/1 ! videoconvert ! video/x-raw,format=RGB ! "
        "queue leaky=downstream max-size-buffers=1 ! btpreprocess ! "
        "btencoder model=\"%s\" ! btmatcher name=btmatcher mode=itc "
        "queries=\"a red car\" ! fakesink sync=false" % model)
    lat = []

    def on_src(pad, info):
        clock = pipeline.get_clock()
        if clock is not None:
            now = clock.get_time() - pipeline.get_base_time()
            lat.append((now - info.get_buffer().pts) / 1e6)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("btmatcher").get_static_pad("src").add_probe(
        Gst.PadProbeType.BUFFER, on_src)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        int(seconds * Gst.SECOND), Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is not None:
        print("live: error: %s" % msg.parse_error()[0].message)
        return
    if len(lat) < 2:
        print("live: fewer than 2 frames out in %.0f s" % seconds)
        return
    print("live 30 fps source, %d frames out in %.0f s: latency first %.0f ms,"
          " last %.0f ms, max after the first %.0f ms" % (
              len(lat), seconds, lat[0], lat[-1], max(lat[1:])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--random", choices=("base", "large"),
                    help="write a random-weight model folder and use it")
    ap.add_argument("--bt-bench", default="build/tests/bench/bt-bench")
    ap.add_argument("--live", type=float, default=0,
                    help="seconds of the live-source latency run (0: none)")
    ap.add_argument("--frames", type=int, default=60, help=">= 3")
    ap.add_argument("--queries", default="1,8,32")
    ap.add_argument("--modes", default="itm,itc,auto")
    ap.add_argument("--intervals", default="1")
    ap.add_argument("--gating", default="0",
                    help="btpreprocess change-threshold values (0: off)")
    ap.add_argument("--precisions", default="fp32",
                    help="btencoder precision values (fp32, bf16, int8)")
    ap.add_argument("--clip", choices=bench_clips.KINDS, default="smpte")
    ap.add_argument("--skip-over", type=float, default=0,
                    help="skip runs estimated above this many seconds")
    args = ap.parse_args()
    if (args.model is None) == (args.random is None):
        ap.error("give MODEL_DIR or --random base|large")
    Gst.init(None)

    with tempfile.TemporaryDirectory() as d:
        if args.random:
            args.model = os.path.join(d, "model")
            subprocess.run([args.bt_bench, "--write-random", args.random,
                            args.model], check=True)
        if args.live > 0:
            live_latency(args.model, args.live)
        video = os.path.join(d, "bench-1080p.mp4")
        bench_clips.make_clip(video, args.clip, args.frames)
        decode = ("filesrc location=%s ! qtdemux ! h264parse ! avdec_h264 ! "
                  "videoconvert ! video/x-raw,format=RGB" % video)
        base, _, _ = run(decode + " ! fakesink")
        print("clip %s, %d frames; decode + convert only: %.1f fps (startup "
              "included)" % (args.clip, args.frames, args.frames / base))
        print("steady state: frames after the first (which loads the model "
              "and encodes the queries)")
        print("%-5s %-5s %8s %5s %7s %7s %9s %6s %12s %12s %12s" % (
            "prec", "mode", "interval", "gate", "queries", "encoded", "fps", "x-rt",
            "preprocess", "encode", "match"))
        per_encode = {}
        configs = itertools.product(
            args.precisions.split(","),
            (int(i) for i in args.intervals.split(",")),
            args.modes.split(","),
            (int(q) for q in args.queries.split(",")),
            (float(g) for g in args.gating.split(",")))
        for prec, interval, mode, n, gate in configs:
            key = (prec, mode, n, gate)
            row = "%-5s %-5s %8d %5g %7d" % (prec, mode, interval, gate, n)
            if (args.skip_over > 0 and key in per_encode
                    and per_encode[key] * args.frames / interval
                    > args.skip_over):
                print("%s  skipped: about %.0f s" % (
                    row, per_encode[key] * args.frames / interval))
                continue
            desc = (decode + " ! btpreprocess name=btpreprocess interval=%d "
                    "change-threshold=%g ! btencoder name=btencoder "
                    "model=\"%s\" precision=%s ! btmatcher name=btmatcher "
                    "mode=%s queries=\"%s\" ! fakesink" % (
                        interval, gate, args.model, prec, mode, queries(n)))
            fps, spent, encoded = run(desc, probe=True)
            if fps is None:
                print("%s  error: %s" % (row, spent))
                continue
            per_frame = {e: sum(t) / max(len(t), 1) for e, t in spent.items()}
            total = sum(per_frame.values())
            if encoded:
                per_encode[key] = (sum(spent["btencoder"])
                                   + sum(spent["btmatcher"])) / 1e9 / encoded
            print("%s %7d %9.2f %6.3f %s" % (
                row, encoded, fps, fps / 30.0,
                " ".join("%6.1fms %3.0f%%" % (
                    per_frame[e] / 1e6, 100.0 * per_frame[e] / total)
                    for e in ELEMENTS)))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
