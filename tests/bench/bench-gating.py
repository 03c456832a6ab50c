#!/usr/bin/python3
"""What btpreprocess's gating (change-threshold, max-age) saves and what it
costs in accuracy: each clip of bench_clips.py runs through
btpreprocess ! btencoder ! btmatcher once with gating off (every frame
encoded and scored: the reference) and once per threshold; per run it prints
the frames encoded, the frames gating found unchanged, the wall time against
the reference's, and the largest difference of any query's ITC cosine and
ITM probability on any frame against the reference; the reference's row
gives the range each score spans over the clip, the scale to read those
differences against. Not run in CI.

    GST_PLUGIN_PATH=build/plugin tests/bench/bench-gating.py \
        (MODEL_DIR | --random base|large) [--frames 60]
        [--clips static,moving,event] [--thresholds 0.01,0.02,0.05]
        [--max-age 150] [--queries 2]

btmatcher runs mode=auto with top-k = the number of queries, so every query
gets both scores on every frame (the random-weight folder has both heads).
The decoder's I420 goes to btpreprocess as it is (no videoconvert).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

import bench_clips  # noqa: E402

WORDS = ("a red car", "a dog on a couch", "two cats", "a person walking",
         "a city street at night", "a bowl of fruit", "a football player",
         "an airplane in the sky")


def run(video, model, queries, threshold, max_age, out):
    pipeline = Gst.parse_launch(
        "filesrc location=\"%s\" ! qtdemux ! h264parse ! avdec_h264 ! "
        "btpreprocess name=pre change-threshold=%g max-age=%d ! "
        "btencoder name=enc model=\"%s\" ! btmatcher mode=auto top-k=%d "
        "queries=\"%s\" post-messages=false location=\"%s\" ! fakesink" % (
            video, threshold, max_age, model, len(queries),
            ";".join(queries), out))
    start = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    elapsed = time.monotonic() - start
    encoded = pipeline.get_by_name("enc").get_property("encoded-frames")
    unchanged = pipeline.get_by_name("pre").get_property("unchanged-frames")
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        raise RuntimeError(msg.parse_error()[0].message)
    frames = {}
    with open(out) as f:
        for line in f:
            obj = json.loads(line)
            if obj["type"] == "frame":
                frames[obj["frame"]] = {s["query"]: s for s in obj["scores"]}
    return elapsed, encoded, unchanged, frames


def largest_diff(ref, got, key):
    worst = 0.0
    for frame, scores in ref.items():
        for query, s in scores.items():
            worst = max(worst, abs(got[frame][query][key] - s[key]))
    return worst


def score_range(ref, key):
    values = [s[key] for scores in ref.values() for s in scores.values()]
    return max(values) - min(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?")
    ap.add_argument("--random", choices=("base", "large"))
    ap.add_argument("--bt-bench", default="build/tests/bench/bt-bench")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--clips", default="static,moving,event")
    ap.add_argument("--thresholds", default="0.01,0.02,0.05")
    ap.add_argument("--max-age", type=int, default=150)
    ap.add_argument("--queries", type=int, default=2)
    args = ap.parse_args()
    if (args.model is None) == (args.random is None):
        ap.error("give MODEL_DIR or --random base|large")
    Gst.init(None)
    queries = [WORDS[i % len(WORDS)] for i in range(args.queries)]

    with tempfile.TemporaryDirectory() as d:
        if args.random:
            args.model = os.path.join(d, "model")
            subprocess.run([args.bt_bench, "--write-random", args.random,
                            args.model], check=True)
        print("%-7s %9s %7s %9s %8s %8s %13s %13s" % (
            "clip", "threshold", "frames", "encoded", "skipped", "time",
            "max d(ITC)", "max d(ITM)"))
        for kind in args.clips.split(","):
            video = os.path.join(d, kind + ".mp4")
            bench_clips.make_clip(video, kind, args.frames)
            out = os.path.join(d, "scores.jsonl")
            ref_time, ref_enc, _, ref = run(video, args.model, queries, 0.0,
                                            args.max_age, out)
            print("%-7s %9s %7d %9d %8d %7.1fs %13s %13s" % (
                kind, "off", len(ref), ref_enc, 0, ref_time,
                "range %.1e" % score_range(ref, "itc"),
                "range %.1e" % score_range(ref, "itm")))
            for t in (float(x) for x in args.thresholds.split(",")):
                elapsed, enc, unchanged, got = run(video, args.model, queries,
                                                   t, args.max_age, out)
                print("%-7s %9g %7d %9d %8d %7.1fs %13.2e %13.2e" % (
                    kind, t, len(got), enc, unchanged, elapsed,
                    largest_diff(ref, got, "itc"),
                    largest_diff(ref, got, "itm")))
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
