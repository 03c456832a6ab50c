#!/usr/bin/python3
"""Held-out evaluation of a bt-shapes model through libbridgetower.

Scenes are drawn by the numpy renderer (render_np.py, not training's Pillow
one) at frame sizes from 160x120 to 1920x1080, aliased or anti-aliased,
encoded with x264 (constant QP), decoded by avdec_h264 to I420 or NV12 and
converted to RGB by GStreamer; the decoded frames go to the `bridgetower`
command (`run --head itm` and `run --head itc`, whose image processor and
model are the library's).

Per attribute (colour, shape, count, position, relation):
  ITM  - the true caption must outscore every caption with that attribute
         changed that is false of the scene (chance = mean 1 / (1 + negatives));
  ITC  - text-to-image R@1 over 100 candidate frames: 25-34 base scenes, each
         in every value of the attribute, all 100 captions distinct and each
         false of the 99 other frames (chance 1%).

Needs numpy, gst-launch-1.0 (x264enc, avdec_h264, pngenc) and the command.
Prints a table; --json writes the figures."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_np  # noqa: E402
import safetensors_np  # noqa: E402
import scenes  # noqa: E402

SIZES = [(160, 120), (320, 240), (640, 360), (848, 480), (1280, 720), (1920, 1080)]
GALLERY = {"colour": ("colour", scenes.COLOURS), "shape": ("shape", scenes.SHAPES),
           "count": ("count", [1, 2, 3]), "position": ("pos", scenes.POSITIONS),
           "relation": ("rel", scenes.RELATIONS)}


# --- the held-out items ----------------------------------------------------

def itm_items(rng, attribute, n):
    items = []
    while len(items) < n:
        if attribute == "relation":
            s = scenes.relation_scene(rng)
        else:
            s = scenes.group_scene(rng, positioned=1.0 if attribute == "position" else 0.5)
        spec = s["spec"] if rng.random() < 0.5 else dict(s["spec"], bg=None)
        negs = scenes.hard_negatives(s, spec, attribute)
        if negs and scenes.truth(s, spec):
            items.append({"scene": s, "captions": [scenes.caption(spec)]
                          + [scenes.caption(x) for x in negs]})
    return items


def variant(rng, attribute, base, value):
    if attribute == "relation":
        return scenes.relation_scene(rng, base["a"], base["b"], value, bg=None)
    kw = {k: base[k] for k in ("count", "colour", "shape", "pos")}
    kw[GALLERY[attribute][0]] = value
    return scenes.group_scene(rng, bg=None, **kw)


def gallery(rng, attribute, size=100):
    """`size` frames: base scenes in every value of the attribute, each
    frame's caption false of every other frame."""
    key, values = GALLERY[attribute]
    frames = []
    while len(frames) < size:
        if attribute == "relation":
            base = scenes.relation_scene(rng, bg=None)["spec"]
        else:
            base = scenes.group_scene(rng, bg=None, positioned=1.0)["spec"]
        group = [variant(rng, attribute, base, v) for v in values]
        group = [dict(s, spec=dict(s["spec"], bg=None)) for s in group]
        group = group[:size - len(frames)]
        every = frames + group
        if all(scenes.truth(o, f["spec"]) is False
               for f in every for o in every if o is not f):
            frames += group
    return [{"scene": s, "captions": [scenes.caption(s["spec"])]} for s in frames]


# --- frames through x264 and back -------------------------------------------

def encode_decode(frames, size, work, index):
    """uint8 RGB frames of one size -> PNG paths, via x264 and I420 / NV12."""
    w, h = size
    raw = os.path.join(work, f"in{index}.rgb")
    with open(raw, "wb") as f:
        for a in frames:
            f.write(a.tobytes())
    out = os.path.join(work, f"out{index}")
    os.makedirs(out)
    fmt = "I420" if index % 2 == 0 else "NV12"
    cmd = (f"filesrc location={raw} ! rawvideoparse use-sink-caps=false width={w} height={h} "
           f"format=rgb framerate=5/1 ! videoconvert ! video/x-raw,format=I420 "
           f"! x264enc pass=quant quantizer=30 speed-preset=veryfast threads=1 key-int-max=10 "
           f"! h264parse ! avdec_h264 max-threads=1 ! videoconvert ! video/x-raw,format={fmt} "
           f"! videoconvert ! video/x-raw,format=RGB ! pngenc compression-level=1 "
           f"! multifilesink location={out}/%05d.png")
    subprocess.run(["gst-launch-1.0", "-q"] + cmd.split(), check=True)
    paths = [os.path.join(out, f"{i:05d}.png") for i in range(len(frames))]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise RuntimeError(f"{len(missing)} frames did not come back from the decoder")
    return paths


def render_all(items, rng, work):
    """Gives every item a frame size, anti-aliasing and a decoded PNG."""
    by_size = {}
    for it in items:
        size = SIZES[rng.randrange(len(SIZES))]
        it["size"], it["samples"] = size, rng.choice([1, 4])
        by_size.setdefault(size, []).append(it)
    for index, (size, group) in enumerate(sorted(by_size.items())):
        frames = [render_np.render(it["scene"], size[0], size[1], it["samples"]) for it in group]
        for it, path in zip(group, encode_decode(frames, size, work, index)):
            it["png"] = path


# --- scoring through the command ----------------------------------------------

def run(tool, model, head, pairs, work):
    """`bridgetower run` on (png, text) pairs -> its outputs."""
    out = os.path.join(work, f"run-{head}.safetensors")
    args = [tool, "run", model, "--head", head, "-o", out]
    for png, text in pairs:
        args += ["--image", png, "--text", text]
    subprocess.run(args, check=True)
    return safetensors_np.load(out)


def itm_accuracy(tool, model, items, work):
    pairs = [(it["png"], c) for it in items for c in it["captions"]]
    logits = run(tool, model, "itm", pairs, work)["logits"].astype(np.float64)
    prob = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
    hits, chance, k = 0, 0.0, 0
    for it in items:
        s = prob[k:k + len(it["captions"])]
        k += len(s)
        hits += bool(s[0] > s[1:].max())
        chance += 1 / len(s)
    return hits / len(items), chance / len(items)


def itc_r1(tool, model, items, work):
    out = run(tool, model, "itc", [(it["png"], it["captions"][0]) for it in items], work)
    sims = out["text_embeds"] @ out["image_embeds"].T        # [text, image]
    return float(np.mean(np.argmax(sims, 1) == np.arange(len(items))))


def evaluate(tool, model, work, n_itm, seed):
    rng = scenes.make_rng(seed)
    itm = {a: itm_items(rng, a, n_itm) for a in scenes.ATTRIBUTES}
    itc = {a: gallery(rng, a) for a in scenes.ATTRIBUTES}
    everything = [it for a in scenes.ATTRIBUTES for it in itm[a] + itc[a]]
    render_all(everything, rng, work)
    result = {}
    for a in scenes.ATTRIBUTES:
        acc, chance = itm_accuracy(tool, model, itm[a], work)
        result[a] = {"itm_accuracy": acc, "itm_chance": chance, "itm_scenes": len(itm[a]),
                     "itc_r1": itc_r1(tool, model, itc[a], work), "itc_candidates": len(itc[a])}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--bridgetower", default="bridgetower", help="the command")
    ap.add_argument("--itm-scenes", type=int, default=100, help="ITM scenes per attribute")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    # the library's own check first: a wrong folder fails here, not after
    # a minute of rendering and with the whole command line in a traceback
    try:
        check = subprocess.run([args.bridgetower, "inspect", args.model],
                               capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit(f"evaluate.py: no command {args.bridgetower} (see --bridgetower)")
    if check.returncode != 0:
        sys.exit(f"evaluate.py: {args.model}: {check.stderr.strip() or 'not a loadable model'}")
    with tempfile.TemporaryDirectory() as work:
        result = evaluate(args.bridgetower, args.model, work, args.itm_scenes, args.seed)
    print(f"{'attribute':10} {'ITM acc':>8} {'chance':>7} {'ITC R@1/100':>12}")
    for a, r in result.items():
        print(f"{a:10} {100 * r['itm_accuracy']:7.1f}% {100 * r['itm_chance']:6.1f}% "
              f"{100 * r['itc_r1']:11.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
