#!/usr/bin/env python3
# test-cmd.py - the `bridgetower` model subcommands (run, itm, itc, mlm)
# against the golden data: every golden model case through `run --inputs`
# and `run --image/--text`, the hub-style folder with its original's cases,
# the three example commands, and the errors. Python standard library only.
# Environment: BRIDGETOWER (the command), BT_TEST_DATA (tests/data).
# Output: TAP.
#
# SPDX-License-Identifier: MIT

import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
from array import array

BRIDGETOWER = os.environ["BRIDGETOWER"]
GOLDEN = os.path.join(os.environ["BT_TEST_DATA"], "golden")
MANIFEST = json.load(open(os.path.join(GOLDEN, "manifest.json"), encoding="utf-8"))

HEADS = {
    "BridgeTowerModel": "base",
    "BridgeTowerForImageAndTextRetrieval": "itm",
    "BridgeTowerForMaskedLM": "mlm",
    "BridgeTowerForContrastiveLearning": "itc",
}
EMBEDDINGS = ("text_embeds", "image_embeds", "cross_embeds")
# HF computes these only on request (loss) or outside the model (derived.*)
OPTIONAL_OUTPUTS = ("loss", "derived.")
TYPECODES = {"F32": "f", "I64": "q", "I32": "i", "U8": "B", "F64": "d"}
SIZES = {"F32": 4, "I64": 8, "I32": 4, "U8": 1, "F64": 8}


# ---- safetensors -----------------------------------------------------------

class Tensor:
    def __init__(self, dtype, shape, values):
        self.dtype = dtype
        self.shape = list(shape)
        self.values = values

    def row(self, *index):
        """The flat values under a leading index (e.g. row(b) of [B, S, V])."""
        inner = 1
        for d in self.shape[len(index):]:
            inner *= d
        offset = 0
        for i, d in zip(index, self.shape):
            offset = offset * d + i
        return self.values[offset * inner:(offset + 1) * inner]


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        values = array(TYPECODES[info["dtype"]])
        values.frombytes(data[base + begin:base + end])
        tensors[name] = Tensor(info["dtype"], info["shape"], values)
    return tensors


def write_safetensors(path, tensors):
    """`tensors`: name -> Tensor. Larger elements first keeps each aligned."""
    names = sorted(tensors, key=lambda k: -SIZES[tensors[k].dtype])
    header, blobs, offset = {}, [], 0
    for name in names:
        t = tensors[name]
        blob = array(TYPECODES[t.dtype], t.values).tobytes()
        header[name] = {"dtype": t.dtype, "shape": t.shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---- TAP ---------------------------------------------------------------------

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diagnostics=()):
        self.n += 1
        if not ok:
            self.failed += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        for line in diagnostics:
            print("# " + line)
        sys.stdout.flush()

    def finish(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


TAP = Tap()


def run_command(args):
    proc = subprocess.run([BRIDGETOWER] + args, capture_output=True)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


# ---- comparing outputs --------------------------------------------------------

def tolerance(name, expected):
    if name in EMBEDDINGS:
        return 1e-5
    scale = max((abs(v) for v in expected.values), default=0.0)
    return 1e-4 * max(1.0, scale)


def compare(name, got, expected, tol):
    """(ok, message) for one tensor: same shape, max |got - expected| <= tol."""
    if got is None:
        return False, "%s: missing from the output" % name
    if got.shape != expected.shape:
        return False, "%s: shape %s, expected %s" % (name, got.shape, expected.shape)
    if expected.dtype in ("I64", "I32", "U8"):
        bad = sum(1 for a, b in zip(got.values, expected.values) if a != b)
        return bad == 0, "%s: %d of %d integers differ" % (name, bad, len(expected.values))
    err = max((abs(a - b) for a, b in zip(got.values, expected.values)), default=0.0)
    scale = max((abs(v) for v in expected.values), default=0.0)
    if math.isnan(err):
        err = math.inf
    return err <= tol, "%s: max abs %.3g, rel %.3g (tol %.3g)" % (
        name, err, err / scale if scale else err, tol)


def compare_pixel_values(got, expected):
    """The README's rule for the image processor: bit-exact ideally; a float
    port may be off by one uint8 level (<= 0.016) on < 0.1% of the values."""
    if got is None or got.shape != expected.shape:
        return False, "pixel_values: shape %s, expected %s" % (
            got.shape if got else None, expected.shape)
    diffs = [abs(a - b) for a, b in zip(got.values, expected.values)]
    err = max(diffs)
    off = sum(1 for d in diffs if d > 1e-6)
    ok = err <= 0.016 and off <= 0.001 * len(diffs)
    return ok, "pixel_values: max abs %.3g, %d of %d values off" % (err, off, len(diffs))


def case_inputs(case, expected):
    return {k: expected[v] for k, v in case["input_keys"].items()}


def truncation(case):
    """The *_trunc cases called the processor with truncation=True: the
    tiny tokenizers' model_max_length is 32."""
    return ["--max-length", "32"] if case["case"].endswith("_trunc") else []


def run_args(case, model_dir, out_path):
    args = ["run", model_dir, "--head", HEADS[case["class"]], "-o", out_path]
    if any(k.startswith("hidden_states") for k in case["output_keys"]):
        args.append("--hidden-states")
    if case["forward_kwargs"].get("interpolate_pos_encoding"):
        args.append("--interpolate-pos-encoding")
    return args


def check_outputs(label, case, expected, args, out_path, check_inputs):
    code, _, err = run_command(args)
    if code != 0:
        TAP.result(False, label, ["exit %d: %s" % (code, err.strip())])
        return
    got = read_safetensors(out_path)
    ok, lines = True, []
    for name, key in sorted(case["output_keys"].items()):
        if name.startswith(OPTIONAL_OUTPUTS) and name not in got:
            continue
        good, line = compare(name, got.get(name), expected[key],
                             tolerance(name, expected[key]))
        ok &= good
        lines.append(line)
    if check_inputs:
        for name, key in sorted(case["input_keys"].items()):
            mine = got.get("inputs." + name)
            if name == "pixel_values":
                good, line = compare_pixel_values(mine, expected[key])
            else:
                good, line = compare("inputs." + name, mine, expected[key], 0)
            ok &= good
            lines.append(line)
    TAP.result(ok, label, lines)


def test_run_inputs(case, model_dir, expected, tmp):
    in_path = os.path.join(tmp, "in.safetensors")
    out_path = os.path.join(tmp, "out.safetensors")
    write_safetensors(in_path, case_inputs(case, expected))
    args = run_args(case, model_dir, out_path) + ["--inputs", in_path]
    check_outputs("run --inputs %s %s" % (os.path.basename(model_dir), case["case"]),
                  case, expected, args, out_path, False)


def test_run_pairs(case, model_dir, expected, tmp):
    out_path = os.path.join(tmp, "out.safetensors")
    # all texts, then all images, then the folder: pairing goes by rank and
    # options go in any order
    args = run_args(case, model_dir, out_path)
    args.remove(model_dir)
    for text in case["texts"]:
        args += ["--text", text]
    for image in case["images"]:
        args += ["--image", os.path.join(GOLDEN, image)]
    args += truncation(case) + [model_dir]
    check_outputs("run --image/--text %s %s" % (os.path.basename(model_dir), case["case"]),
                  case, expected, args, out_path, True)


# ---- itm, itc, mlm --------------------------------------------------------------

def softmax(xs):
    top = max(xs)
    es = [math.exp(x - top) for x in xs]
    return [e / sum(es) for e in es]


def run_json(args):
    code, out, err = run_command(args)
    if code != 0:
        return None, "exit %d: %s" % (code, err.strip())
    return json.loads(out), None


def test_itm(case, model_dir, expected):
    """Each pair of the case alone: the score is the golden logits[i][1]."""
    logits = expected[case["output_keys"]["logits"]]
    tol = tolerance("logits", logits)
    for i, (image, text) in enumerate(zip(case["images"], case["texts"])):
        args = ["itm", "--json", model_dir, os.path.join(GOLDEN, image), text]
        args += truncation(case)
        # a second text checks that several texts are matched independently
        if i == 0:
            args.append(case["texts"][-1] + " (other)")
        result, err = run_json(args)
        label = "itm %s %s pair %d" % (case["model"], case["case"], i)
        if err:
            TAP.result(False, label, [err])
            continue
        row = list(logits.row(i))
        mine = result["results"][0]
        d_score = abs(mine["score"] - row[1])
        d_prob = abs(mine["probability"] - softmax(row)[1])
        ok = (len(result["results"]) == len(args) - 4 - len(truncation(case))
              and mine["text"] == text
              and d_score <= tol and d_prob <= tol)
        TAP.result(ok, label, ["score %.6f vs golden %.6f: max abs %.3g, probability "
                               "diff %.3g (tol %.3g)" % (mine["score"], row[1], d_score,
                                                         d_prob, tol)])


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_itc(case, model_dir, expected):
    """One image against all the case's texts: the cosines are the dots of
    the golden embeddings, the probabilities their scaled softmax."""
    text_embeds = expected[case["output_keys"]["text_embeds"]]
    image_embeds = expected[case["output_keys"]["image_embeds"]]
    scale = expected[case["output_keys"]["derived.logit_scale_exp"]].values[0]
    for j, image in enumerate(case["images"]):
        label = "itc %s %s image %d" % (case["model"], case["case"], j)
        result, err = run_json(["itc", model_dir, os.path.join(GOLDEN, image)]
                               + case["texts"] + ["--json"] + truncation(case))
        if err:
            TAP.result(False, label, [err])
            continue
        cosines = [dot(text_embeds.row(k), image_embeds.row(j))
                   for k in range(len(case["texts"]))]
        probs = softmax([scale * c for c in cosines])
        mine = result["results"]
        d_cos = max(abs(m["cosine"] - c) for m, c in zip(mine, cosines))
        d_prob = max(abs(m["probability"] - p) for m, p in zip(mine, probs))
        d_scale = abs(result["logit_scale"] - scale)
        ok = (len(mine) == len(cosines) and d_cos <= 2e-5 and d_prob <= 1e-4
              and d_scale <= 1e-5 * scale)
        TAP.result(ok, label, ["cosine max abs %.3g (tol 2e-5), probability max abs "
                               "%.3g (tol 1e-4), logit_scale %.6g vs %.6g"
                               % (d_cos, d_prob, result["logit_scale"], scale)])


def bytes_to_unicode():
    """GPT-2's byte <-> printable character table of byte-level BPE."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_OF_CHAR = {c: b for b, c in bytes_to_unicode().items()}


def decode(ids, id_to_token, skip):
    """Byte-level decoding of ids with no special token among them (or
    skipped)."""
    pieces = [id_to_token[i] for i in ids if i not in skip]
    raw = bytes(BYTE_OF_CHAR[c] for c in "".join(pieces))
    return raw.decode("utf-8", "replace")


def argmax_and_margin(values):
    best = max(range(len(values)), key=lambda k: values[k])
    second = max(v for k, v in enumerate(values) if k != best)
    return best, values[best] - second


def test_mlm(case, model_dir, expected):
    """Each text with a <mask>: the fill is the argmax of the golden logits at
    the mask positions; --all-positions the argmax at every position."""
    vocab = json.load(open(os.path.join(model_dir, "vocab.json"), encoding="utf-8"))
    id_to_token = {i: t for t, i in vocab.items()}
    specials = {vocab[t] for t in ("<s>", "</s>", "<pad>", "<unk>", "<mask>")}
    mask_id = vocab["<mask>"]
    logits = expected[case["output_keys"]["logits"]]
    ids = expected[case["input_keys"]["input_ids"]]
    attention = expected[case["input_keys"]["attention_mask"]]
    n_vocab = logits.shape[-1]
    tol = tolerance("logits", logits)

    for i, (image, text) in enumerate(zip(case["images"], case["texts"])):
        if "<mask>" not in text:
            continue
        label = "mlm %s %s text %d" % (case["model"], case["case"], i)
        result, err = run_json(["mlm", "--all-positions", "--json", model_dir,
                                os.path.join(GOLDEN, image), text])
        if err:
            TAP.result(False, label, [err])
            continue
        row_ids = [x for x, m in zip(ids.row(i), attention.row(i)) if m]
        row_logits = logits.row(i)
        best, close = [], 0
        for p in range(len(row_ids)):
            k, margin = argmax_and_margin(row_logits[p * n_vocab:(p + 1) * n_vocab])
            best.append(k)
            # a near tie may legitimately flip within the tolerance
            close += margin <= 2 * tol
        lines = []
        mask_pos = [p for p, x in enumerate(row_ids) if x == mask_id]
        mine_masks = [(m["position"], m["id"]) for m in result["masks"]]
        ok = mine_masks == [(p, best[p]) for p in mask_pos] or close > 0
        lines.append("masks at %s: ids %s, golden argmax %s"
                     % (mask_pos, [m[1] for m in mine_masks], [best[p] for p in mask_pos]))
        mine_all = result["all_position_ids"]
        if close == 0:
            ok &= mine_all == best
            filled = [best[p] if x == mask_id else x for p, x in enumerate(row_ids)]
            want = decode(filled, id_to_token, specials)
            ok &= result["filled"] == want
            lines.append("filled %r, expected %r" % (result["filled"], want))
            if not specials & set(best):
                want_all = decode(best, id_to_token, ())
                ok &= result["all_positions"] == want_all
                lines.append("all positions %r, expected %r"
                             % (result["all_positions"], want_all))
        else:
            lines.append("%d near ties: exact argmax not asserted" % close)
            ok &= len(mine_all) == len(best)
        TAP.result(ok, label, lines)


# ---- errors and help ----------------------------------------------------------------

def expect_failure(label, args, *needles):
    code, _, err = run_command(args)
    missing = [n for n in needles if n not in err]
    TAP.result(code != 0 and not missing and "Traceback" not in err, label,
               ["exit %d, stderr: %s" % (code, err.strip())]
               + ["stderr lacks %r" % n for n in missing])


def test_errors(tmp):
    itm_dir = os.path.join(GOLDEN, "models", "itm_add_t3v3c2")
    image = os.path.join(GOLDEN, "inputs", "images", "photo_640x480.png")
    out = os.path.join(tmp, "err.safetensors")
    expected = read_safetensors(os.path.join(GOLDEN, "expected", "itm_add_t3v3c2.safetensors"))
    case = next(c for c in MANIFEST["cases"]
                if c["model"] == "itm_add_t3v3c2" and c["case"] == "batch2")
    good = case_inputs(case, expected)

    missing_dir = os.path.join(tmp, "no-such-model")
    expect_failure("error: missing model folder",
                   ["run", missing_dir, "--head", "itm", "--image", image,
                    "--text", "a", "-o", out], missing_dir)
    missing_image = os.path.join(tmp, "no-such-image.png")
    expect_failure("error: missing image file",
                   ["run", itm_dir, "--head", "itm", "--image", missing_image,
                    "--text", "a", "-o", out], missing_image)
    expect_failure("error: unknown head",
                   ["run", itm_dir, "--head", "vqa", "--image", image, "--text", "a",
                    "-o", out], "vqa")
    expect_failure("error: head missing in the checkpoint",
                   ["run", itm_dir, "--head", "mlm", "--image", image, "--text", "a",
                    "-o", out], itm_dir, "mlm")
    expect_failure("error: more images than texts",
                   ["run", itm_dir, "--head", "itm", "--image", image, "--image", image,
                    "--text", "a", "-o", out], "2 --image", "1 --text")
    expect_failure("error: no output file",
                   ["run", itm_dir, "--head", "itm", "--image", image, "--text", "a"], "-o")

    def bad_inputs(label, needles, **changes):
        tensors = dict(good)
        tensors.update(changes)
        path = os.path.join(tmp, "bad.safetensors")
        write_safetensors(path, tensors)
        expect_failure(label, ["run", itm_dir, "--head", "itm", "--inputs", path,
                               "-o", out], path, *needles)

    ids = good["input_ids"]
    bad_inputs("error: input_ids as I32 in --inputs", ("input_ids", "I32"),
               input_ids=Tensor("I32", ids.shape, ids.values))
    bad_inputs("error: input_ids as F32 in --inputs", ("input_ids", "F32"),
               input_ids=Tensor("F32", ids.shape, [float(v) for v in ids.values]))
    pv = good["pixel_values"]
    bad_inputs("error: pixel_values of rank 3 in --inputs", ("pixel_values",),
               pixel_values=Tensor("F32", [pv.shape[0] * 3] + pv.shape[2:], pv.values))
    bad_inputs("error: batch of pixel_values differs from input_ids", ("pixel_values",),
               pixel_values=Tensor("F32", [1] + pv.shape[1:], pv.row(0)))
    bad_inputs("error: token id outside the vocabulary", ("input_ids", "vocabulary"),
               input_ids=Tensor("I64", ids.shape, [99999] + list(ids.values[1:])))
    mask = good["attention_mask"]
    bad_inputs("error: attention_mask shape differs from input_ids", ("attention_mask",),
               attention_mask=Tensor("I64", [mask.shape[0], mask.shape[1] - 1],
                                     mask.row(0)[:-1] + mask.row(1)[:-1]))
    path = os.path.join(tmp, "no-ids.safetensors")
    write_safetensors(path, {"pixel_values": pv})
    expect_failure("error: --inputs without input_ids",
                   ["run", itm_dir, "--head", "itm", "--inputs", path, "-o", out],
                   path, "input_ids")

    expect_failure("error: itc on a checkpoint without ITC",
                   ["itc", itm_dir, image, "a cat"], itm_dir, "itc")
    expect_failure("error: mlm on a checkpoint without MLM",
                   ["mlm", itm_dir, image, "a <mask>"], itm_dir, "mlm")
    expect_failure("error: itm without texts", ["itm", itm_dir, image], "TEXT")
    expect_failure("error: itm on a missing image",
                   ["itm", itm_dir, missing_image, "a cat"], missing_image)
    expect_failure("error: unknown option", ["itm", "--colour", itm_dir, image, "a"],
                   "--colour")

    expect_failure("error: unknown precision",
                   ["itm", "--precision", "fp8", itm_dir, image, "a"], "fp8")
    # bf16 either runs and stays near float32 (the bf16 parity test has the
    # exact bound), or says clearly why it cannot run here
    fp32, err32 = run_json(["itm", "--json", itm_dir, image, "a cat"])
    code, out_text, err_text = run_command(["itm", "--json", "--precision", "bf16",
                                            itm_dir, image, "a cat"])
    if code == 0 and fp32:
        d = abs(json.loads(out_text)["results"][0]["score"] - fp32["results"][0]["score"])
        TAP.result(d < 0.05, "itm --precision bf16 near fp32", ["|bf16 - fp32| = %.3g" % d])
    else:
        TAP.result(code != 0 and "bf16" in err_text, "itm --precision bf16 unavailable",
                   ["exit %d, fp32 %s, stderr: %s" % (code, err32, err_text.strip())])

    for command in ("run", "itm", "itc", "mlm"):
        code, out_text, _ = run_command([command, "--help"])
        TAP.result(code == 0 and "Usage:" in out_text and "bridgetower " + command in out_text,
                   "%s --help" % command, ["exit %d" % code])


def test_command_line(tmp):
    """`--` ends the options, --version, outputs readable as any new file."""
    itm_dir = os.path.join(GOLDEN, "models", "itm_add_t3v3c2")
    itc_dir = os.path.join(GOLDEN, "models", "itc_interpolate_t3v4rm_c2")
    mlm_dir = os.path.join(GOLDEN, "models", "mlm_scaled_add_t3v3c3")
    image = os.path.join(GOLDEN, "inputs", "images", "photo_640x480.png")
    for command, model_dir, text, key in (("itm", itm_dir, "-a", "text"),
                                          ("itc", itc_dir, "-a", "text"),
                                          ("mlm", mlm_dir, "-a <mask>", "text")):
        result, err = run_json([command, "--json", "--", model_dir, image, text])
        got = None
        if result:
            got = ([r[key] for r in result["results"]] if "results" in result
                   else [result[key]])
        TAP.result(got == [text], "%s: -- ends the options, %r is a text" % (command, text),
                   ["got %r %s" % (got, err or "")])

    os.umask(0o022)
    out = os.path.join(tmp, "after-separator.safetensors")
    code, _, err = run_command(["run", "--head", "itm", "--image", image, "--text", "a",
                                "-o", out, "--", itm_dir])
    mode = os.stat(out).st_mode & 0o777 if os.path.exists(out) else None
    TAP.result(code == 0 and mode == 0o644,
               "run: -- before MODEL_DIR; output mode 0644 under umask 022",
               ["exit %d, mode %s, stderr: %s" % (code, oct(mode) if mode else None,
                                                  err.strip())])
    out = os.path.join(tmp, "pre.safetensors")
    code, _, err = run_command(["preprocess", itm_dir, image, "-o", out])
    mode = os.stat(out).st_mode & 0o777 if os.path.exists(out) else None
    TAP.result(code == 0 and mode == 0o644, "preprocess: output mode 0644 under umask 022",
               ["exit %d, mode %s" % (code, oct(mode) if mode else None)])

    code, out_text, _ = run_command(["--version"])
    TAP.result(code == 0 and re.fullmatch(r"bridgetower \d+\.\d+\.\d+\n", out_text) is not None,
               "--version", ["exit %d, stdout %r" % (code, out_text)])


# ---- main ----------------------------------------------------------------------------

def main():
    cases_by_model = {}
    for case in MANIFEST["cases"]:
        cases_by_model.setdefault(case["model"], []).append(case)
    hubstyle = MANIFEST.get("hubstyle_folders", {})

    with tempfile.TemporaryDirectory() as tmp:
        for model, cases in cases_by_model.items():
            expected = read_safetensors(os.path.join(GOLDEN, "expected", model + ".safetensors"))
            dirs = [os.path.join(GOLDEN, "models", model)]
            dirs += [os.path.join(GOLDEN, "models", name)
                     for name, info in hubstyle.items() if info["same_outputs_as"] == model]
            for case in cases:
                for model_dir in dirs:
                    test_run_inputs(case, model_dir, expected, tmp)
                    # interp_* used another image-processor call than the
                    # processor's: --inputs only
                    if not case["case"].startswith("interp_"):
                        test_run_pairs(case, model_dir, expected, tmp)
                head = HEADS[case["class"]]
                if head == "itm":
                    test_itm(case, dirs[0], expected)
                elif head == "itc":
                    test_itc(case, dirs[0], expected)
                elif head == "mlm":
                    test_mlm(case, dirs[0], expected)
        test_errors(tmp)
        test_command_line(tmp)
    return TAP.finish()


if __name__ == "__main__":
    sys.exit(main())
