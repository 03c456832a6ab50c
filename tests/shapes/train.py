#!/usr/bin/python3
"""Trains bt-shapes, a small BridgeTower for the shapes domain (scenes.py), on
scenes it renders with Pillow, and writes an HF BridgeTower folder.

    /usr/bin/python3 tests/shapes/train.py --out tests/data/bt-shapes

Deterministic for a given --seed, --steps and thread count (1). Losses: ITM
on the true caption against a caption with one attribute changed, and ITC
(text-image, text-cross, image-cross) over the batch, whose images are
scenes and their one-attribute twins; pairs whose caption is also true (or
arguably true) of another image of the batch are masked out."""
import argparse
import json
import math
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
            "do_resize": True, "size": {"shortest_edge": IMAGE}, "size_divisor": PATCH,
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


def truth_mask(imgs, specs):
    """[spec, image]: 1 where the caption is true or arguable for the image."""
    return torch.tensor([[scenes.truth(s, p) is not False for s in imgs] for p in specs])


def batch(rng, vocab, n):
    base = [scenes.random_scene(rng) for _ in range(n // 2)]
    imgs = base + [scenes.twin(rng, s) for s in base]
    pix = torch.from_numpy(np.stack([processor.process(render_pil.render(rng, s), IMAGE, PATCH)
                                     for s in imgs]))
    pos = [scenes.loosen(rng, s["spec"]) for s in imgs]
    neg = []
    for i, s in enumerate(imgs):
        # half one-attribute changes, half captions of fresh random scenes
        # (easy ones: ITM does not get off the ground on hard ones alone)
        hard = scenes.random_hard_negative(rng, s, pos[i]) if rng.random() < 0.5 else None
        while hard is None or scenes.truth(s, hard) is not False:
            hard = scenes.loosen(rng, scenes.random_scene(rng)["spec"])
        neg.append(hard)
    specs = pos + neg
    ids, mask = pad([vocab_mod.encode(scenes.caption(p), vocab) for p in specs])
    return pix, ids, mask, truth_mask(imgs, specs)


def masked_ce(logits, target, allowed):
    """Cross entropy where the disallowed (other true) entries do not compete."""
    return F.cross_entropy(logits.masked_fill(~allowed, -1e4), target)


def step_loss(model, pix, ids, mask, truth):
    n = pix.shape[0]
    bt = model.bridgetower
    # the text tower once per caption, the vision tower once per image
    text_ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    t = bt.text_model.embeddings(ids)
    texts = []
    for layer in bt.text_model.encoder.layer:
        t = layer(t, text_ext)
        texts.append(t)
    visual = bt.vision_model.visual
    v = visual.ln_pre(visual.embeddings(pix)).transpose(0, 1)
    images = []
    for block in visual.transformer.resblocks:
        v = block(v)
        images.append(v)
    # ITM on (image i, caption i) and (image i, caption n + i)
    img_idx = torch.cat([torch.arange(n), torch.arange(n)])
    pair_images = [x[:, img_idx] for x in images]
    _, _, pooled = bt.cross(text_ext, texts, pair_images)
    labels = torch.cat([torch.ones(n), torch.zeros(n)]).long()
    itm = F.cross_entropy(model.itm_score(pooled), labels)
    itm_acc = (model.itm_score(pooled).argmax(-1) == labels).float().mean()
    # ITC over the batch
    te = model.itc_text(texts)
    ie = model.itc_image(images)
    ce = model.itc_cross(pooled[:n])
    scale = model.logit_scale.exp()
    target = torch.arange(n)
    eye = torch.eye(n, dtype=torch.bool)
    t2i_ok = ~truth[:n] | eye                    # [caption, image]
    i2t_ok = (~truth.t()) | torch.cat([eye, torch.zeros(n, n, dtype=torch.bool)], 1)
    itc = (masked_ce(scale * te[:n] @ ie.t(), target, t2i_ok)
           + masked_ce(scale * ie @ te.t(), target, i2t_ok)
           + masked_ce(scale * te[:n] @ ce.t(), target, t2i_ok)
           + masked_ce(scale * ie @ ce.t(), target, t2i_ok.t())) / 4
    return itm + itc, itm.item(), itc.item(), itm_acc.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", help="continue from this exported folder's weights")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = scenes.make_rng(args.seed)
    vocab, _ = vocab_mod.build()
    cfg = make_config(len(vocab))
    model = btmodel.BridgeTowerItmItc(cfg)
    for name, p in model.named_parameters():        # BERT-style init
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.02)
    if args.init:
        weights = safetensors_np.load(os.path.join(args.init, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()})
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    start = time.time()
    for step in range(args.steps):
        pix, ids, mask, truth = batch(rng, vocab, args.batch)
        loss, itm, itc, acc = step_loss(model, pix, ids, mask, truth)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 25 == 0 or step == args.steps - 1:
            print(f"step {step} itm {itm:.3f} itc {itc:.3f} itm_acc {acc:.2f} "
                  f"scale {model.logit_scale.exp().item():.1f} {time.time() - start:.0f}s", flush=True)
        if (step + 1) % 100 == 0 or step == args.steps - 1:
            export(model, cfg, args.out)
    print(f"trained {args.steps} steps of {args.batch} in {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
