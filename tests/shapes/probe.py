#!/usr/bin/python3
"""How fast bt-shapes' vision tower alone learns shape and count.

    /usr/bin/python3 tests/shapes/probe.py --steps 8000 [--patch-init dct]

Trains the vision tower of train.py's configuration (CLIP ViT, same size,
same sine-cosine positions) with one linear head on the class token: the
shape and the count of a group scene (scenes.group_scene: one to three
objects of one colour and shape). Every step renders fresh scenes with the
training renderer; every 250 steps prints the accuracy on 500 held-out scenes
drawn by the held-out renderer (render_np) at 160x120 to 640x360. It answers
"can this tower learn shape in N steps", the question behind bt-shapes' limits
(docs/demo-model.md), in minutes instead of a full training run."""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import btmodel  # noqa: E402
import processor  # noqa: E402
import render_np  # noqa: E402
import render_pil  # noqa: E402
import scenes  # noqa: E402
import train  # noqa: E402

HELD_OUT_SIZES = [(160, 120), (320, 240), (640, 360)]


def scenes_and_labels(rng, n, held_out):
    pix, shape, count = [], [], []
    for i in range(n):
        s = scenes.group_scene(rng)
        if held_out:
            w, h = HELD_OUT_SIZES[i % len(HELD_OUT_SIZES)]
            frame = Image.fromarray(render_np.render(s, w, h, samples=1 + 3 * (i % 2)))
        else:
            frame = render_pil.render(rng, s)
        pix.append(processor.process(frame, train.SHORTER, train.IMAGE, train.PATCH))
        shape.append(scenes.SHAPES.index(s["spec"]["shape"]))
        count.append(s["spec"]["count"] - 1)
    return torch.from_numpy(np.stack(pix)), torch.tensor(shape), torch.tensor(count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--patch-init", choices=("default", "dct"), default="default")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = scenes.make_rng(args.seed)

    vc = train.make_config(1)["vision_config"]
    visual = btmodel.Visual(vc)
    with torch.no_grad():
        visual.embeddings.position_embedding.weight.copy_(
            train.sincos_positions(train.HIDDEN, train.IMAGE // train.PATCH))
    if args.patch_init == "dct":
        train.dct_patch_init(visual.embeddings.patch_embedding.weight)
    head = torch.nn.Linear(train.HIDDEN, len(scenes.SHAPES) + 3)
    params = list(visual.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)

    def logits(pix):
        v = visual.ln_pre(visual.embeddings(pix)).transpose(0, 1)
        for block in visual.transformer.resblocks:
            v = block(v)
        return head(visual.ln_post(v.transpose(0, 1))[:, 0])

    test = scenes_and_labels(scenes.make_rng(args.seed + 1000), 500, True)
    start = time.time()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = (args.lr * min(1.0, (step + 1) / 20)
                           * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        pix, shape, count = scenes_and_labels(rng, args.batch, False)
        out = logits(pix)
        loss = F.cross_entropy(out[:, :3], shape) + F.cross_entropy(out[:, 3:], count)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 250 == 0 or step == args.steps - 1:
            with torch.no_grad():
                out = logits(test[0])
            print(f"step {step} loss {loss.item():.3f} held-out shape "
                  f"{(out[:, :3].argmax(1) == test[1]).float().mean().item():.2f} count "
                  f"{(out[:, 3:].argmax(1) == test[2]).float().mean().item():.2f} "
                  f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
