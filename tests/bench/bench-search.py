#!/usr/bin/python3
"""`bridgetower search` with and without the feature store, in one run: the
time to search a video decoding it and running the vision tower (filling a
store), the time to search it again with a new query from the store, and
the store's bytes per scored frame. Not run in CI.

    tests/bench/bench-search.py BRIDGETOWER (MODEL_DIR | --random base|large)
        [--seconds 10] [--fps 1] [--mode itm]

BRIDGETOWER: build/gst/cmd/bridgetower. --random writes a random-weight
folder of the real shapes first (build/tests/bench/bt-bench --write-random).
The video is a 640x360 H.264 file made here (videotestsrc ! x264enc).
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time


def timed(cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return time.monotonic() - t0, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bridgetower")
    ap.add_argument("model", nargs="?")
    ap.add_argument("--random", choices=("base", "large"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--mode", default="itm")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-search-")
    model = a.model
    if a.random:
        model = os.path.join(tmp, a.random)
        bench = os.path.join(os.path.dirname(a.bridgetower), "..", "..",
                             "tests", "bench", "bt-bench")
        subprocess.run([bench, "--write-random", a.random, model], check=True,
                       capture_output=True)
    if not model:
        sys.exit("give MODEL_DIR or --random")
    video = os.path.join(tmp, "video.mp4")
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=%d"
                    % (30 * a.seconds), "pattern=ball", "!",
                    "video/x-raw,width=640,height=360,framerate=30/1", "!",
                    "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
                    "filesink", "location=" + video], check=True)
    db = os.path.join(tmp, "features.db")
    common = [a.bridgetower, "search", model, video, "--fps", str(a.fps),
              "--mode", a.mode, "--json", "--quiet"]
    t_video, r1 = timed(common + ["-q", "a white ball", "--keep-features", db])
    t_store, r2 = timed(common + ["-q", "a red car", "--keep-features", db])
    assert r2["videos"][0]["status"] == "stored", r2
    frames = r1["videos"][0]["scored_frames"]
    con = sqlite3.connect(db)
    blob = con.execute("SELECT sum(ifnull(length(features), 0) + "
                       "ifnull(length(itc), 0)) FROM frames").fetchone()[0]
    con.close()
    print(json.dumps({
        "model": a.random or model, "mode": a.mode, "frames": frames,
        "decode_and_vision_s": round(t_video, 2),
        "from_store_s": round(t_store, 2),
        "ratio": round(t_video / t_store, 2),
        "store_bytes_per_frame": blob // max(frames, 1),
        "store_file_bytes": os.path.getsize(db),
    }, indent=2))


if __name__ == "__main__":
    main()
