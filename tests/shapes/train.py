#!/usr/bin/python3
"""Trains bt-shapes, a small BridgeTower for the shapes domain (scenes.py), on
scenes it renders with Pillow, and writes an HF BridgeTower folder.

    /usr/bin/python3 tests/shapes/train.py --out tests/data/bt-shapes

Deterministic for given arguments and thread count (1 by default; one more
process renders the batches two steps ahead). Two learning-rate phases, each
with its own warm-up and cosine decay:
  towers  - first the vision tower alone on training-only heads (per patch
            colour, shape and object centres; per image count, background
            and kinds), from a DCT patch embedding; then the text tower and
            ITC text-image join;
  full    - adds the cross-modal encoder: ITM on the true caption against one
            with an attribute changed (for half of the relation scenes, the
            relation or the objects' order; for half of the rest of the scenes
            with a small shape, the shape) and a second false one
            (increasingly also a one-attribute change), ITC text-cross and
            image-cross.
Batches hold random scenes and their one-attribute twins (for half of the
scenes with a small shape, the same scene in another shape), drawn from the
step's own random stream; pairs whose caption is also true (or arguably true)
of another image of the batch are masked out of ITC. --checkpoint saves the
whole state every 100 steps and resumes from it, with the same result as an
uninterrupted run."""
import argparse
import collections
import functools
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import btmodel  # noqa: E402
import processor  # noqa: E402
import render_pil  # noqa: E402
import safetensors_np  # noqa: E402
import scenes  # noqa: E402
import vocab as vocab_mod  # noqa: E402

IMAGE, PATCH, HIDDEN, LAYERS, CROSS, MAX_LEN = 96, 16, 128, 3, 2, 32
SHORTER = 104                          # the processor's resize of the short side: HF's
                                       # 1333/800 cap and size divisor then give 16:9
                                       # frames 96 px (80 from 96), and 1:1 to 16:9 keep
                                       # their central square in the crop (5:4, 16:10 all
                                       # but 2-3% a side)
FG_WEIGHT = 5.0
WHERE = len(scenes.POSITIONS) + 2      # scene_targets' position and arrangement flags
PLACE_WEIGHT = 4.0                     # the kinds' centres (squared error) among the aux terms
SMALL_SIZE = 0.14                      # of the frame height: the smallest shapes, whose
SMALL_WEIGHT = 3.0                     # per-patch shape weighs this much more (small squares
                                       # were read as circles)
ORDER_SHARE = 0.5                      # relation scenes' hard negatives that test order
SHAPE_SHARE = 0.5                      # scenes with a small shape: their twins and hard
                                       # negatives that change shape alone


def sincos_positions(hidden, grid):
    """2-D sine-cosine position table (row, column), the vision position
    embedding's starting point (PyTorch's default N(0, 1) start gave the
    patches no notion of neighbourhood); the class position starts at 0."""
    d = hidden // 4
    omega = 1.0 / 100 ** (torch.arange(d, dtype=torch.float64) / d)
    y, x = torch.meshgrid(torch.arange(grid, dtype=torch.float64),
                          torch.arange(grid, dtype=torch.float64), indexing="ij")
    oy, ox = y.flatten()[:, None] * omega, x.flatten()[:, None] * omega
    table = torch.cat([oy.sin(), oy.cos(), ox.sin(), ox.cos()], 1)
    return torch.cat([torch.zeros(1, hidden, dtype=torch.float64), table]).float()


def dct_patch_init(weight):
    """Patch embedding rows = 2-D DCT basis functions (lowest frequencies
    first) on one colour channel each: the patch tokens start as a compact
    description of where inside the patch each colour lies."""
    hidden, channels, p, _ = weight.shape
    t = (torch.arange(p, dtype=torch.float64) + 0.5) / p
    freqs = sorted(((u, v) for u in range(p) for v in range(p)), key=lambda f: (f[0] + f[1], f))
    rows = [(u, v, c) for u, v in freqs for c in range(channels)][:hidden]
    with torch.no_grad():
        weight.zero_()
        for k, (u, v, c) in enumerate(rows):
            basis = torch.outer(torch.cos(math.pi * u * t), torch.cos(math.pi * v * t))
            weight[k, c] = (basis / basis.norm()).float()


def make_config(vocab_size):
    return {
        "architectures": ["BridgeTowerForImageAndTextRetrieval", "BridgeTowerForContrastiveLearning"],
        "model_type": "bridgetower", "hidden_size": HIDDEN, "hidden_act": "gelu",
        "num_attention_heads": 4, "num_hidden_layers": CROSS, "layer_norm_eps": 1e-5,
        "link_tower_type": "add", "share_cross_modal_transformer_layers": True,
        "share_link_tower_layers": False, "init_layernorm_from_vision_encoder": False,
        "contrastive_hidden_size": 64, "logit_scale_init_value": 2.6592,
        "tie_word_embeddings": False, "initializer_factor": 1, "torch_dtype": "float16",
        "text_config": {
            "model_type": "bridgetower_text_model", "vocab_size": vocab_size,
            "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": 4,
            "intermediate_size": 2 * HIDDEN, "hidden_act": "gelu",
            "max_position_embeddings": MAX_LEN + 2, "type_vocab_size": 1,
            "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
            "position_embedding_type": "absolute", "initializer_factor": 1},
        "vision_config": {
            "model_type": "bridgetower_vision_model", "hidden_size": HIDDEN,
            "num_hidden_layers": LAYERS, "num_channels": 3, "patch_size": PATCH,
            "image_size": IMAGE, "layer_norm_eps": 1e-5, "share_layernorm": True,
            "remove_last_layer": False, "stop_gradient": False, "initializer_factor": 1},
    }


def preprocessor_config():
    return {"image_processor_type": "BridgeTowerImageProcessor", "processor_class": "BridgeTowerProcessor",
            "do_resize": True, "size": {"shortest_edge": SHORTER}, "size_divisor": PATCH,
            "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": processor.MEAN.tolist(), "image_std": processor.STD.tolist(),
            "do_center_crop": True, "crop_size": {"shortest_edge": IMAGE}, "do_pad": True}


def export(model, cfg, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(preprocessor_config(), f, indent=2)
    vocab_mod.write(out, MAX_LEN)
    safetensors_np.save(os.path.join(out, "model.safetensors"),
                             {k: v.detach().numpy() for k, v in model.state_dict().items()})


def pad(seqs):
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), 1, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
    return ids, (ids != 1).long()


def patch_targets(scene, frame, grid=IMAGE // PATCH, samples=4):
    """Per patch of the model's grid, the colour (0 = none, 1.. = COLOURS) and
    shape (0 = none, 1.. = SHAPES) of the object covering most of it (at least
    a quarter, or the patch holding most of a smaller object), from the
    scene's geometry (squares and triangles unrotated), the number of object
    centres in it, and whether that object is one of the smallest (their
    shape weighs SMALL_WEIGHT times more). `frame` is the rendered (width,
    height): where the scene lands in the processed crop depends on it."""
    sx, ox, sy, oy = processor.scene_to_crop(frame[0], frame[1], SHORTER, IMAGE, PATCH)
    t = (np.arange(grid * samples) + 0.5) / (grid * samples)
    ys, xs = np.meshgrid((t - oy) / sy, (t - ox) / sx, indexing="ij")   # scene coordinates
    best = np.full((grid, grid), 0.25)
    colour = np.zeros((grid, grid), np.int64)
    shape = np.zeros((grid, grid), np.int64)
    small = np.zeros((grid, grid), np.float32)
    for o in scene["objects"]:
        r = o["size"] / 2
        dx, dy = xs - o["cx"], ys - o["cy"]
        if o["shape"] == "circle":
            inside = dx * dx + dy * dy <= r * r
        elif o["shape"] == "square":
            inside = (np.abs(dx) <= r) & (np.abs(dy) <= r)
        else:                       # apex up, base at cy + r (render_pil's triangle)
            inside = (np.abs(dy) <= r) & (np.abs(dx) <= (dy + r) / 2)
        cov = inside.reshape(grid, samples, grid, samples).mean((1, 3))
        # a small shape covers under a quarter of any patch: it still names
        # the patch that holds most of it (else that patch is taught "none")
        top = np.unravel_index(np.argmax(cov), cov.shape)
        if cov[top] > 0:
            cov[top] = max(cov[top], 0.26)
        more = cov > best
        best = np.where(more, cov, best)
        colour[more] = 1 + scenes.COLOURS.index(o["colour"])
        shape[more] = 1 + scenes.SHAPES.index(o["shape"])
        small[more] = o["size"] < SMALL_SIZE
    # how many object centres each patch holds (0..2): count and place
    centres = np.zeros((grid, grid), np.int64)
    for o in scene["objects"]:
        x, y = sx * o["cx"] + ox, sy * o["cy"] + oy
        if 0 <= x < 1 and 0 <= y < 1:
            centres[int(y * grid), int(x * grid)] += 1
    return colour.ravel(), shape.ravel(), np.minimum(centres, 2).ravel(), small.ravel()


def kind_index(o):
    """The object's (colour, shape) kind as 0..17."""
    return scenes.COLOURS.index(o["colour"]) * len(scenes.SHAPES) + scenes.SHAPES.index(o["shape"])


def scene_targets(scene):
    """Whole-image targets: object count (0..2 for 1..3), background (0 =
    unnamed, 1.. = COLOURS), which (colour, shape) kinds are present, and
    where things are: per position whether every object is there, and for
    two objects whether one is above the other / beside it, each with a
    weight of 0 where the caption rule (scenes.py) calls it arguable; and
    each present kind's mean centre (-1..1 across the square), which tells
    which of two kinds is above or left of the other, as relations ask."""
    objs = scene["objects"]
    kinds = np.zeros(len(scenes.COLOURS) * len(scenes.SHAPES), np.float32)
    places = np.zeros((len(kinds), 2), np.float32)
    for o in objs:
        kinds[kind_index(o)] += 1
        places[kind_index(o)] += (2 * o["cx"] - 1, 2 * o["cy"] - 1)
    places /= np.maximum(kinds, 1)[:, None]
    kinds = np.minimum(kinds, 1)
    bg = 1 + scenes.COLOURS.index(scene["bg"]) if scene["bg"] else 0
    truths = [scenes.and_truth(scenes.pos_truth(o, p) for o in objs) for p in scenes.POSITIONS]
    for pair in (("above", "below"), ("left of", "right of")):
        if len(objs) == 2:
            t = [scenes.rel_truth(objs[0], objs[1], r) for r in pair]
            truths.append(True if True in t else False if t == [False, False] else None)
        else:
            truths.append(None)
    where = np.array([t is True for t in truths], np.float32)
    known = np.array([t is not None for t in truths], np.float32)
    return len(objs) - 1, bg, kinds, where, known, places


class Aux(torch.nn.Module):
    """Training-only heads on the vision tower (not exported): per patch
    colour, shape and object centres, per image count, background, kinds
    present, where the objects are and where each kind is. They make the
    vision tower see the shapes early; the exported model does not contain
    them."""

    def __init__(self):
        super().__init__()
        nc, ns = len(scenes.COLOURS), len(scenes.SHAPES)
        self.patch = torch.nn.Linear(HIDDEN, 2 + nc + ns + 3)
        self.image = torch.nn.Linear(HIDDEN, 3 + 1 + nc + nc * ns + WHERE + 2 * nc * ns)
        self.nc, self.ns = nc, ns

    def loss(self, feats, targets):
        colour, shape, centres, small, count, bg, kinds, where, known, places = targets
        p = self.patch(feats[:, 1:])
        c = self.image(feats[:, 0])
        nc, ns = self.nc, self.ns
        # object patches are a tenth of the patches: weigh them up, else the
        # background's "none" dominates the per-patch terms
        wc = torch.tensor([1.0] + [FG_WEIGHT] * nc)
        ws = torch.tensor([1.0] + [FG_WEIGHT] * ns)
        return (F.cross_entropy(p[..., :1 + nc].flatten(0, 1), colour.flatten(), weight=wc)
                + weighted_ce(p[..., 1 + nc:2 + nc + ns].flatten(0, 1), shape.flatten(),
                              ws[shape.flatten()] * (1 + (SMALL_WEIGHT - 1) * small.flatten()))
                + F.cross_entropy(p[..., 2 + nc + self.ns:].flatten(0, 1), centres.flatten())
                + F.cross_entropy(c[:, :3], count) + F.cross_entropy(c[:, 3:4 + nc], bg)
                + F.binary_cross_entropy_with_logits(c[:, 4 + nc:4 + nc + nc * ns], kinds)
                + F.binary_cross_entropy_with_logits(c[:, 4 + nc + nc * ns:4 + nc + nc * ns + WHERE],
                                                     where, weight=known)
                + PLACE_WEIGHT * ((c[:, 4 + nc + nc * ns + WHERE:].view(-1, nc * ns, 2) - places) ** 2
                                  * kinds[..., None]).sum() / (2 * kinds.sum()))


def weighted_ce(logits, target, weight):
    """Cross entropy with a weight per item (normalised like F.cross_entropy's per-class weight)."""
    return (F.cross_entropy(logits, target, reduction="none") * weight).sum() / weight.sum()


def truth_mask(imgs, specs):
    """[spec, image]: 1 where the caption is true or arguable for the image."""
    return torch.tensor([[scenes.truth(s, p) is not False for s in imgs] for p in specs])


def order_negatives(scene, spec):
    """The false captions of a relation scene that keep its objects: another
    relation, or the two objects named the other way round (the same words:
    only their order says which is which)."""
    swapped = dict(spec, a=spec["b"], b=spec["a"])
    negs = scenes.hard_negatives(scene, spec, "relation")
    return negs + [swapped] if scenes.truth(scene, swapped) is False else negs


def has_small(scene):
    """Whether one of the scene's shapes is under SMALL_SIZE of the frame height."""
    return min(o["size"] for o in scene["objects"]) < SMALL_SIZE


def shape_twin(rng, scene):
    """The scene with the shape of its group (or of the smaller object of its
    relation) changed and everything else where it was: two images that only
    shape tells apart."""
    spec, objs = dict(scene["spec"]), [dict(o) for o in scene["objects"]]
    if spec["kind"] == "group":
        spec["shape"] = rng.choice([x for x in scenes.SHAPES if x != spec["shape"]])
        for o in objs:
            o["shape"] = spec["shape"]
    else:
        i = 0 if objs[0]["size"] <= objs[1]["size"] else 1
        key, other = ("a", "b") if i == 0 else ("b", "a")
        shapes = [x for x in scenes.SHAPES
                  if x != objs[i]["shape"] and (spec[key][0], x) != spec[other]]
        objs[i]["shape"] = rng.choice(shapes)
        spec[key] = (spec[key][0], objs[i]["shape"])
    return dict(scene, objects=objs, spec=spec)


def twin(rng, scene):
    """A scene with one attribute changed (scenes.twin); for a scene with a
    small shape, half the time the same scene in another shape."""
    if has_small(scene) and rng.random() < SHAPE_SHARE:
        return shape_twin(rng, scene)
    return scenes.twin(rng, scene)


def negative(rng, scene, spec, hard):
    """A caption false of the scene: one attribute of `spec` changed when
    `hard` (and one can be), else the caption of a fresh random scene. Half
    of a relation scene's hard negatives are order negatives: the relation
    read the wrong way round was its most common mistake; half of the rest
    change the shape when the scene holds a small one (small squares read as
    circles were the shape mistakes)."""
    neg = None
    if hard and spec["kind"] == "relation" and rng.random() < ORDER_SHARE:
        negs = order_negatives(scene, spec)
        neg = rng.choice(negs) if negs else None
    if hard and neg is None and has_small(scene) and rng.random() < SHAPE_SHARE:
        negs = scenes.hard_negatives(scene, spec, "shape")
        neg = rng.choice(negs) if negs else None
    if hard and neg is None:
        neg = scenes.random_hard_negative(rng, scene, spec)
    while neg is None or scenes.truth(scene, neg) is not False:
        neg = scenes.loosen(rng, scenes.random_scene(rng)["spec"])
    return neg


def batch(rng, vocab, n, hard, captions=True):
    """n images (n / 2 random scenes and their one-attribute twins); per image
    a true caption and two false ones: one with an attribute changed, the
    other changed with probability `hard`, else an easy one. Without
    `captions` the images and their auxiliary targets only."""
    base = [scenes.random_scene(rng) for _ in range(n // 2)]
    imgs = base + [twin(rng, s) for s in base]
    frames = [render_pil.render(rng, s) for s in imgs]
    pix = torch.from_numpy(np.stack([processor.process(f, SHORTER, IMAGE, PATCH) for f in frames]))
    patches = [patch_targets(s, f.size) for s, f in zip(imgs, frames)]
    whole = [scene_targets(s) for s in imgs]
    aux = (torch.from_numpy(np.stack([p[0] for p in patches])),
           torch.from_numpy(np.stack([p[1] for p in patches])),
           torch.from_numpy(np.stack([p[2] for p in patches])),
           torch.from_numpy(np.stack([p[3] for p in patches])),
           torch.tensor([w[0] for w in whole]), torch.tensor([w[1] for w in whole]),
           torch.from_numpy(np.stack([w[2] for w in whole])),
           torch.from_numpy(np.stack([w[3] for w in whole])),
           torch.from_numpy(np.stack([w[4] for w in whole])),
           torch.from_numpy(np.stack([w[5] for w in whole])))
    if not captions:
        return pix, None, None, None, aux
    pos = [scenes.loosen(rng, s["spec"]) for s in imgs]
    neg1 = [negative(rng, s, p, True) for s, p in zip(imgs, pos)]
    neg2 = [negative(rng, s, p, rng.random() < hard) for s, p in zip(imgs, pos)]
    specs = pos + neg1 + neg2
    ids, mask = pad([vocab_mod.encode(scenes.caption(p), vocab) for p in specs])
    return pix, ids, mask, truth_mask(imgs, specs), aux


@functools.lru_cache(maxsize=None)
def domain_vocab():
    """The tokenizer's vocabulary, built once per process."""
    return vocab_mod.build()[0]


def step_batch(job):
    """The batch of one step, from its own random stream (seed, step): a
    worker process can draw it ahead while the trainer computes, and a
    resumed run draws the same batches."""
    seed, step, n, hard, captions = job
    torch.set_num_threads(1)
    return batch(scenes.make_rng(f"{seed}:{step}"), domain_vocab(), n, hard, captions)


def batches(args, first):
    """The batches of steps first.. in order, rendered by one worker process
    (rendering is half a step's time) at most two steps ahead."""
    def job(step):
        towers = step < args.towers_steps
        # the second negative: mostly easy at first, then mostly one-attribute changes
        hard = min(0.8, 0.2 + max(0, step - args.towers_steps) / max(1, args.steps - args.towers_steps))
        return (args.seed, step, args.towers_batch if towers else args.batch, hard,
                step >= args.vision_steps)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        ahead = collections.deque(pool.apply_async(step_batch, (job(s),))
                                  for s in range(first, min(first + 2, args.steps)))
        for step in range(first, args.steps):
            if step + 2 < args.steps:
                ahead.append(pool.apply_async(step_batch, (job(step + 2),)))
            yield step, ahead.popleft().get()


def masked_ce(logits, target, allowed):
    """Cross entropy where the disallowed (other true) entries do not compete."""
    return F.cross_entropy(logits.masked_fill(~allowed, -1e4), target)


def step_loss(model, aux_heads, pix, ids, mask, truth, aux, cross_modal):
    """The loss; without cross_modal the towers alone (ITC text-image and the
    auxiliary heads), without captions (ids None) the vision tower alone."""
    n = pix.shape[0]
    bt = model.bridgetower
    visual = bt.vision_model.visual
    v = visual.ln_pre(visual.embeddings(pix)).transpose(0, 1)
    images = []
    for block in visual.transformer.resblocks:
        v = block(v)
        images.append(v)
    feats = visual.ln_post(images[-1].transpose(0, 1))
    aux_loss = aux_heads.loss(feats, aux)
    if ids is None:
        return aux_loss, 0.0, 0.0, aux_loss.item(), 0.0
    # the text tower once per caption, the vision tower once per image
    text_ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    t = bt.text_model.embeddings(ids)
    texts = []
    for layer in bt.text_model.encoder.layer:
        t = layer(t, text_ext)
        texts.append(t)
    # ITC over the batch
    te = model.itc_text(texts)
    ie = model.itc_image(images)
    scale = model.logit_scale.exp()
    target = torch.arange(n)
    eye = torch.eye(n, dtype=torch.bool)
    t2i_ok = ~truth[:n] | eye                    # [caption, image]
    i2t_ok = (~truth.t()) | torch.cat([eye, torch.zeros(n, 2 * n, dtype=torch.bool)], 1)
    itc = (masked_ce(scale * te[:n] @ ie.t(), target, t2i_ok)
           + masked_ce(scale * ie @ te.t(), target, i2t_ok)) / 2
    if not cross_modal:
        return itc + 0.5 * aux_loss, 0.0, itc.item(), aux_loss.item(), 0.0
    # ITM on (image i, caption i), (image i, caption n + i), (image i, caption 2n + i)
    img_idx = torch.arange(n).repeat(3)
    pair_images = [x[:, img_idx] for x in images]
    _, _, pooled = bt.cross(text_ext, texts, pair_images, pooled_only=True)
    labels = torch.cat([torch.ones(n), torch.zeros(2 * n)]).long()
    scores = model.itm_score(pooled)
    # positives weigh as much as both negatives: 0.5 stays the decision point
    itm = F.cross_entropy(scores, labels, weight=torch.tensor([1.0, 2.0]))
    # accuracy as evaluated: the true caption above its hard negative
    itm_acc = (scores[:n, 1] - scores[:n, 0] > scores[n:2 * n, 1] - scores[n:2 * n, 0]).float().mean()
    ce = model.itc_cross(pooled[:n])
    itc = (2 * itc + masked_ce(scale * te[:n] @ ce.t(), target, t2i_ok)
           + masked_ce(scale * ie @ ce.t(), target, t2i_ok.t())) / 4
    return itm + itc + 0.5 * aux_loss, itm.item(), itc.item(), aux_loss.item(), itm_acc.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=10600)
    ap.add_argument("--batch", type=int, default=32, help="images per step")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak rate of the full phase")
    ap.add_argument("--towers-lr", type=float, default=1e-3, help="peak rate of the towers phase")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--towers-steps", type=int, default=7000,
                    help="first steps without the cross-modal part (ITC and auxiliary heads only)")
    ap.add_argument("--towers-batch", type=int, default=64, help="images per step of that phase")
    ap.add_argument("--vision-steps", type=int, default=6000,
                    help="first steps of the towers phase on the vision tower alone (auxiliary heads)")
    ap.add_argument("--checkpoint", help="resume from / save the full training state here")
    ap.add_argument("--init", help="start from this exported folder's weights")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = make_config(len(domain_vocab()))
    model = btmodel.BridgeTowerItmItc(cfg)
    # PyTorch's default initialisation: with BERT's N(0, 0.02) the vision
    # class token stayed at the mean of the patches for much longer
    with torch.no_grad():
        model.bridgetower.vision_model.visual.embeddings.position_embedding.weight.copy_(
            sincos_positions(HIDDEN, IMAGE // PATCH))
    dct_patch_init(model.bridgetower.vision_model.visual.embeddings.patch_embedding.weight)
    aux_heads = Aux()
    if args.init:
        weights = safetensors_np.load(os.path.join(args.init, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()})
    model.train()
    params = list(model.parameters()) + list(aux_heads.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    def rate(s):
        """Warm-up and cosine decay, once per phase."""
        if s >= args.towers_steps:
            s, n, peak = s - args.towers_steps, args.steps - args.towers_steps, 1.0
        else:
            n, peak = args.towers_steps, args.towers_lr / args.lr
        return peak * min(1.0, (s + 1) / max(1, n // 30)) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / n)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    first = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint)
        model.load_state_dict(state["model"])
        aux_heads.load_state_dict(state["aux"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        first = state["step"]
        print(f"resumed at step {first}", flush=True)
    start = time.time()
    for step, (pix, ids, mask, truth, aux) in batches(args, first):
        towers = step < args.towers_steps
        loss, itm, itc, aux_loss, acc = step_loss(model, aux_heads, pix, ids, mask, truth, aux,
                                                  not towers)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 25 == 0 or step == args.steps - 1:
            print(f"step {step} itm {itm:.3f} itc {itc:.3f} aux {aux_loss:.3f} hard_acc {acc:.2f} "
                  f"scale {model.logit_scale.exp().item():.1f} {time.time() - start:.0f}s", flush=True)
        if (step + 1) % 100 == 0 or step == args.steps - 1:
            export(model, cfg, args.out)
            if args.checkpoint:
                torch.save({"model": model.state_dict(), "aux": aux_heads.state_dict(),
                            "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "torch_rng": torch.get_rng_state(),
                            "step": step + 1}, args.checkpoint)
    print(f"trained {args.steps - first} steps of {args.batch} in {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
