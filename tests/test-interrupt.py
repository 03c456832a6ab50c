#!/usr/bin/env python3
"""Nothing lost when gst-launch-1.0 is interrupted: after SIGINT, with and
without -e, every line btmatcher wrote is whole, strict JSON, and the match
that was open when the signal came is closed by a segment line. TAP output;
GST_PLUGIN_PATH and BT_TEST_DATA come from the meson test environment."""
import json
import math
import os
import signal
import subprocess
import tempfile
import time

MODEL = os.path.join(os.environ["BT_TEST_DATA"], "golden", "models",
                     "itm_add_t3v3c2")


def strict(value):
    raise ValueError("not strict JSON: %s" % value)


def run(eos_on_shutdown, location):
    # threshold=0: every ITM probability reaches it, so a match is open at the signal
    cmd = ["gst-launch-1.0", "-q"] + (["-e"] if eos_on_shutdown else []) + [
        "videotestsrc", "is-live=true", "!",
        "video/x-raw,width=64,height=48,framerate=30/1", "!",
        "btpreprocess", "!", "btencoder", "model=" + MODEL, "!",
        "btmatcher", "queries=a cat", "threshold=0", "location=" + location,
        "!", "fakesink", "sync=true"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # wait for a few frames on disk, then interrupt
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(location) and os.path.getsize(location) > 500:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err


def check(eos_on_shutdown):
    with tempfile.TemporaryDirectory() as tmp:
        location = os.path.join(tmp, "out.jsonl")
        code, err = run(eos_on_shutdown, location)
        with open(location, "rb") as f:
            data = f.read()
        assert data.endswith(b"\n"), "the file ends inside a line"
        lines = [json.loads(line, parse_constant=strict)
                 for line in data.decode().splitlines()]
        frames = [l for l in lines if l["type"] == "frame"]
        segments = [l for l in lines if l["type"] == "segment"]
        assert len(frames) >= 3, "%d frames (exit %d: %s)" % (len(frames), code, err)
        assert len(segments) == 1, segments
        seg = segments[0]
        assert lines[-1] == seg, "the segment is not the last line"
        assert seg["start"] == frames[0]["pts"]
        assert seg["stop"] > frames[-1]["pts"]
        assert math.isfinite(seg["peak"])
        return "%d frames, segment %d..%d ns, exit %d" % (
            len(frames), seg["start"], seg["stop"], code)


results = []
for eos in (True, False):
    name = "SIGINT %s -e" % ("with" if eos else "without")
    try:
        detail = check(eos)
        results.append((True, name, detail))
    except Exception as e:  # report and go on to the next case
        results.append((False, name, repr(e)))
print("1..%d" % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    print("# " + detail)
