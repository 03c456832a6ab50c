#!/usr/bin/python3
"""Checks btmodel.py against the golden outputs HF transformers computed
(tests/data/golden): ITM logits and ITC embeddings of every ITM / ITC case,
covering the add, scaled_add and interpolate link towers, and
processor.py's pixel values against HF's image processor (a crop smaller
than the resize, as bt-shapes uses). Run before training; exits non-zero on
a mismatch."""
import json
import os
import sys

import numpy as np

try:
    import torch
except ImportError:             # only retraining needs torch: skip (meson's 77)
    print("python3-torch is not installed: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import btmodel  # noqa: E402
import processor  # noqa: E402
import safetensors_np  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
MODELS = {"itm_add_t3v3c2": "itm", "itm_scaled_add_t4v4c3_eps": "itm",
          "itc_interpolate_t3v4rm_c2": "itc"}
# parameters HF keeps but no forward pass of these heads reads
UNUSED = ("text_model.pooler.", "vision_model.visual.ln_separate.")


def check(name, head):
    folder = os.path.join(GOLDEN, "models", name)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    model = btmodel.BridgeTowerItmItc(cfg).eval()
    weights = {k: torch.from_numpy(v) for k, v in
               safetensors_np.load(os.path.join(folder, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # the head this checkpoint lacks stays missing; the towers must be complete
    other = ("itc_", "logit_scale") if head == "itm" else ("itm_score",)
    missing = [k for k in missing if not k.startswith(other)]
    n_text = cfg["text_config"]["num_hidden_layers"]
    unexpected = [k for k in unexpected if not any(u in k for u in UNUSED)
                  and not (".resblocks." in k and int(k.split(".resblocks.")[1].split(".")[0]) >= n_text)]
    assert not missing and not unexpected, (missing, unexpected)
    expected = safetensors_np.load(os.path.join(GOLDEN, "expected", name + ".safetensors"))
    cases = sorted({k.split(".")[0] for k in expected if not k.split(".")[0].startswith("interp")})
    worst = 0.0
    for case in cases:
        ids = torch.from_numpy(expected[case + ".inputs.input_ids"])
        mask = torch.from_numpy(expected[case + ".inputs.attention_mask"])
        pix = torch.from_numpy(expected[case + ".inputs.pixel_values"])
        if ids.dim() == 1:
            ids, mask, pix = ids[None], mask[None], pix[None]
        with torch.no_grad():
            tmask, texts, images = model.bridgetower.towers(ids, mask, pix)
            _, _, pooled = model.bridgetower.cross(tmask, texts, images)
            if head == "itm":
                got = {"logits": model.itm_score(pooled)}
            else:
                got = {"text_embeds": model.itc_text(texts), "image_embeds": model.itc_image(images),
                       "cross_embeds": model.itc_cross(pooled)}
        for k, v in got.items():
            ref = expected[case + ".out." + k]
            err = float(np.abs(v.numpy().reshape(ref.shape) - ref).max())
            tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
            worst = max(worst, err / tol)
            status = "ok" if err <= tol else "MISMATCH"
            print(f"{name} {case} {k}: max |diff| {err:.2e} (tol {tol:.0e}) {status}")
            if err > tol:
                return False
    return True


def check_processor(config):
    """The training inputs' pixel values against HF's on the golden RGB
    images (exact up to float32 rounding)."""
    from PIL import Image
    folder = os.path.join(GOLDEN, "image_processor", config)
    cfg = json.load(open(os.path.join(folder, "preprocessor_config.json")))
    expected = safetensors_np.load(os.path.join(folder, "expected.safetensors"))
    mean, std = (np.array(cfg[k], np.float32) for k in ("image_mean", "image_std"))
    shorter = cfg["size"]["shortest_edge"]
    crop = (cfg.get("crop_size") or cfg["size"])["shortest_edge"]     # HF: null = size
    images = os.path.join(GOLDEN, "inputs", "images")
    ok = True
    for key in sorted(expected):
        name = key.split(".")[0]
        path = os.path.join(images, name + ".png")
        if not key.endswith(".pixel_values") or not os.path.exists(path):
            continue
        img = Image.open(path)
        if img.mode != "RGB":
            continue
        got = processor.process(img, shorter, crop, cfg["size_divisor"], mean, std)
        err = float(np.abs(got - expected[key][0]).max())
        print(f"processor {config} {name}: max |diff| {err:.2e} {'ok' if err <= 1e-6 else 'MISMATCH'}")
        ok = ok and err <= 1e-6
    return ok


if __name__ == "__main__":
    torch.set_num_threads(1)
    ok = all([check(n, h) for n, h in MODELS.items()]
             + [check_processor(c) for c in ("default", "se100_crop99_mean05")])
    print("parity:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)
