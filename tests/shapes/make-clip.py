#!/usr/bin/python3
"""Makes the README's demo clip: 640x360, 10 fps, H.264 in MP4, a sequence of
shapes scenes (drawn by render_np.py, shapes drifting slowly), and its
timeline: which scene is on screen when and which captions are true of it.

    /usr/bin/python3 tests/shapes/make-clip.py tests/data/shapes-clip.mp4

writes the clip and, beside it, the timeline as JSON (same name, .json)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_np  # noqa: E402
import scenes  # noqa: E402

WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 10, 3
# the scenes in order, each SECONDS long (fixed, so the clip is reproducible)
TIMELINE = [
    {"kind": "group", "count": 1, "colour": "red", "shape": "circle", "pos": "on the left", "bg": "white"},
    {"kind": "group", "count": 2, "colour": "blue", "shape": "square", "pos": None, "bg": "yellow"},
    {"kind": "relation", "a": ("green", "triangle"), "rel": "above", "b": ("black", "circle"), "bg": "white"},
    {"kind": "group", "count": 1, "colour": "red", "shape": "circle", "pos": "at the bottom", "bg": "blue"},
    {"kind": "group", "count": 3, "colour": "yellow", "shape": "triangle", "pos": None, "bg": "black"},
]
QUERIES = ["a red circle", "two blue squares"]


def scene_for(spec, rng):
    if spec["kind"] == "group":
        return scenes.group_scene(rng, spec["count"], spec["colour"], spec["shape"],
                                  spec["pos"], spec["bg"], positioned=0.0)
    return scenes.relation_scene(rng, spec["a"], spec["b"], spec["rel"], spec["bg"])


def main():
    out = sys.argv[1]
    rng = scenes.make_rng(7)
    frames, timeline = [], []
    for i, spec in enumerate(TIMELINE):
        s = scene_for(spec, rng)
        n = FPS * SECONDS
        drift = [(rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05)) for _ in s["objects"]]
        for f in range(n):
            t = f / n - 0.5
            moved = dict(s, objects=[dict(o, cx=o["cx"] + dx * t, cy=o["cy"] + dy * t)
                                     for o, (dx, dy) in zip(s["objects"], drift)])
            frames.append(render_np.render(moved, WIDTH, HEIGHT, samples=4))
        start = i * SECONDS * 1_000_000_000
        timeline.append({"start": start, "stop": start + SECONDS * 1_000_000_000,
                         "caption": scenes.caption(spec),
                         "true": [q for q in QUERIES if scenes.truth(s, parse(q))]})
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "clip.rgb")
        with open(raw, "wb") as f:
            for a in frames:
                f.write(a.tobytes())
        cmd = (f"filesrc location={raw} ! rawvideoparse use-sink-caps=false width={WIDTH} "
               f"height={HEIGHT} format=rgb framerate={FPS}/1 ! videoconvert "
               f"! video/x-raw,format=I420 ! x264enc speed-preset=medium threads=1 bitrate=300 bframes=0 "
               f"key-int-max=30 ! h264parse ! mp4mux ! filesink location={out}")
        subprocess.run(["gst-launch-1.0", "-q"] + cmd.split(), check=True)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump({"width": WIDTH, "height": HEIGHT, "fps": FPS, "queries": QUERIES,
                   "scenes": timeline}, f, indent=2)


def parse(query):
    """The spec of a query caption of the form '<count> <colour> <shape>'."""
    count, colour, shape = query.split()
    n = {v: k for k, v in scenes.COUNTS.items()}[count]
    return {"kind": "group", "count": n, "colour": colour, "shape": shape.rstrip("s")}


if __name__ == "__main__":
    main()
