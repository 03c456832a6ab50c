#!/usr/bin/env python3
"""gst-launch-1.0 pipelines on the bundled tiny model, asserting on the JSON
lines btmatcher writes. TAP output; GST_PLUGIN_PATH and BT_TEST_DATA come
from the meson test environment."""
import json
import os
import re
import subprocess
import sys
import tempfile

MODEL = os.path.join(os.environ["BT_TEST_DATA"], "golden", "models",
                     "itm_add_t3v3c2")
FRAME_NS = 1_000_000_000 / 30  # videotestsrc at 30/1
results = []


def launch(*elements):
    cmd = ["gst-launch-1.0", "-q"] + list(elements)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc


def pipeline(location, num_buffers, interval, matcher_props):
    return launch(
        "videotestsrc", "num-buffers=%d" % num_buffers, "!",
        "video/x-raw,width=64,height=48,framerate=30/1", "!",
        "btpreprocess", "interval=%d" % interval, "!",
        "btencoder", "model=" + MODEL, "!",
        "btmatcher", "location=" + location, *matcher_props, "!",
        "fakesink")


def read_lines(path):
    with open(path) as f:
        raw = f.read().splitlines()
    return raw, [json.loads(line) for line in raw]


def check(name, fn):
    try:
        fn()
        results.append((True, name, ""))
    except Exception as e:  # report and keep going
        results.append((False, name, repr(e)))


def test_frames_and_segments():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.jsonl")
        proc = pipeline(out, 12, 3, ["queries=a cat;a red car\\\\;x",
                                      "threshold=0.0"])
        assert proc.returncode == 0, proc.stderr
        raw, lines = read_lines(out)
        frames = [l for l in lines if l["type"] == "frame"]
        segments = [l for l in lines if l["type"] == "segment"]
        # interval=3 over 12 buffers: frames 0, 3, 6, 9
        assert [f["frame"] for f in frames] == [0, 3, 6, 9], frames
        for f in frames:
            assert abs(f["pts"] - f["frame"] * FRAME_NS) <= 1, f
            assert [s["query"] for s in f["scores"]] == ["a cat", "a red car;x"]
            for s in f["scores"]:
                # mode auto on an ITM-only model: ITM probabilities
                assert 0.0 < s["score"] < 1.0 and s["score"] == s["itm"], s
                assert s["match"] is True
        # threshold 0: one segment per query, from the first frame to the end
        # of the last buffer, closed at EOS, after every frame line
        assert len(segments) == 2, segments
        assert lines[-2:] == segments
        for seg in segments:
            scores = [s["score"] for f in frames for s in f["scores"]
                      if s["query"] == seg["query"]]
            assert seg["start"] == 0
            assert abs(seg["stop"] - 12 * FRAME_NS) <= 1, seg
            assert seg["peak"] == max(scores), (seg, scores)
        # at least 7 significant digits in the written scores
        for line in raw:
            if '"score"' in line:
                text = line.split('"score"')[1].split(":")[1].split(",")[0]
                digits = text.strip().lstrip("-0.").replace(".", "")
                digits = digits.split("e")[0].rstrip("}] ")
                assert len(digits) >= 7, line


def test_threshold_never():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.jsonl")
        proc = pipeline(out, 6, 1, ["queries=a dog", "threshold=1.0",
                                    "filter=true"])
        assert proc.returncode == 0, proc.stderr
        _, lines = read_lines(out)
        # every scored frame is written regardless of threshold and filter
        assert [l["frame"] for l in lines] == list(range(6)), lines
        assert all(l["type"] == "frame" for l in lines)
        assert all(s["match"] is False for l in lines for s in l["scores"])


def test_filter_keeps_time():
    # 60 frames (2 s at 30/1) and no match: the GAP events preroll the sink,
    # so the pipeline plays them in real time (before, it stayed PREROLLING
    # until EOS and "ended" after a few ms); at EOS it says nothing passed
    proc = subprocess.run(
        ["gst-launch-1.0", "videotestsrc", "num-buffers=60", "!",
         "video/x-raw,width=64,height=48,framerate=30/1", "!",
         "btpreprocess", "!", "btencoder", "model=" + MODEL, "!",
         "btmatcher", "queries=a dog", "threshold=1.0", "filter=true", "!",
         "fakesink", "sync=true"],
        capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    m = re.search(r"Execution ended after (\d+):(\d+):(\d+\.\d+)", out)
    assert m, out
    seconds = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    assert seconds >= 1.5, "played %.3f s of a 2 s stream" % seconds
    assert out.index("PREROLLED") < out.index("Setting pipeline to PLAYING"), out
    assert "passed none of 60" in out, out


def test_errors():
    proc = launch("videotestsrc", "num-buffers=1", "!", "btpreprocess", "!",
                  "btencoder", "model=/nonexistent/model", "!", "fakesink")
    assert proc.returncode != 0
    assert "/nonexistent/model" in proc.stdout + proc.stderr, proc.stderr
    proc = launch("videotestsrc", "num-buffers=1", "!", "btencoder",
                  "model=" + MODEL, "!", "fakesink")
    assert proc.returncode != 0
    assert "btpreprocess" in proc.stdout + proc.stderr, proc.stderr
    proc = launch("videotestsrc", "num-buffers=1", "!", "btpreprocess", "!",
                  "btencoder", "model=" + MODEL, "!", "btmatcher", "!",
                  "fakesink")
    assert proc.returncode != 0
    assert "queries" in proc.stdout + proc.stderr, proc.stderr
    # caps btpreprocess cannot take
    proc = launch("videotestsrc", "num-buffers=1", "!",
                  "video/x-raw,format=YUY2", "!", "btpreprocess", "!",
                  "fakesink")
    assert proc.returncode != 0


check("frames and segments (interval, escapes, EOS close)",
      test_frames_and_segments)
check("threshold never reached, filter on", test_threshold_never)
check("filter=true without a match keeps time and says so",
      test_filter_keeps_time)
check("errors name the path or the missing element", test_errors)

print("1..%d" % len(results))
for i, (ok, name, why) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if why:
        print("# " + why.replace("\n", "\n# "))
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
