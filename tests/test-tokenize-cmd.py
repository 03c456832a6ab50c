#!/usr/bin/env python3
"""`bridgetower tokenize` against the golden token ids (TAP output).

Every tokenizer-full case in every id variant, and the processor inputs of
every golden model case through every model folder (tokenizer.json with
"a b" or ["a", "b"] merges, vocab.json + merges.txt, hub-style folders),
many texts per invocation to keep it quick.
"""
import json
import os
import struct
import subprocess
import sys

DATA = os.environ["BT_TEST_DATA"]
GOLDEN = os.path.join(DATA, "golden")
BT = os.environ["BRIDGETOWER"]

results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def tokenize(folder, texts, args=()):
    cmd = [BT, "tokenize", folder, *args, "--", *texts]
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:5]}... exit {p.returncode}: {p.stderr.decode()}")
    return json.loads(p.stdout)


def unpad(out):
    """Per-row ids with the padding removed, after checking the padding."""
    rows = []
    for ids, mask in zip(out["input_ids"], out["attention_mask"]):
        n = sum(mask)
        assert mask == [1] * n + [0] * (len(mask) - n), "mask is not 1s then 0s"
        rows.append(ids[:n])
    return rows


def padded(rows, pad):
    width = max(len(r) for r in rows)
    return ([r + [pad] * (width - len(r)) for r in rows],
            [[1] * len(r) + [0] * (width - len(r)) for r in rows])


def full_cases():
    cases = json.load(open(os.path.join(GOLDEN, "tokenizer-full", "cases.json")))["cases"]
    folder = os.path.join(GOLDEN, "tokenizer-full")
    texts = [c["text"] for c in cases]
    variants = [("input_ids", ()), ("input_ids_no_special", ("--no-special-tokens",)),
                ("input_ids_trunc16", ("--max-length", "16")),
                ("input_ids_trunc6", ("--max-length", "6"))]
    for key, args in variants:
        out = tokenize(folder, texts, args)
        want_ids, want_mask = padded([c[key] for c in cases], 1)
        check(f"full {key}: padded batch of {len(texts)}",
              out["input_ids"] == want_ids and out["attention_mask"] == want_mask)
        bad = [c["id"] for c, got in zip(cases, unpad(out)) if got != c[key]]
        check(f"full {key}: every case", not bad, f"failing case ids {bad[:20]}")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "I64":
            continue
        b, e = info["data_offsets"]
        flat = list(struct.unpack(f"<{(e - b) // 8}q", data[b:e]))
        rows, width = info["shape"] if len(info["shape"]) == 2 else (1, info["shape"][0])
        tensors[name] = [flat[i * width:(i + 1) * width] for i in range(rows)]
    return tensors


def model_cases():
    manifest = json.load(open(os.path.join(GOLDEN, "manifest.json")))
    hub = manifest.get("hubstyle_folders", {})
    by_model = {}
    for case in manifest["cases"]:
        by_model.setdefault(case["model"], []).append(case)
    folders = sorted(os.listdir(os.path.join(GOLDEN, "models")))
    for folder in folders:
        source = hub.get(folder, {}).get("same_outputs_as", folder)
        cases = by_model.get(source, [])
        if not cases:
            continue
        expected = read_safetensors(os.path.join(GOLDEN, "expected", source + ".safetensors"))
        for case in cases:
            # truncation=True takes the tokenizer's model_max_length, 32 for
            # every tiny model; the command is told it explicitly.
            trunc = "truncation" in case["processor_call"]
            args = ("--max-length", "32") if trunc else ()
            tok_dirs = [os.path.join(GOLDEN, "models", folder)]
            if folder == source:  # the tiny models share vocab-tiny's files
                tok_dirs.append(os.path.join(GOLDEN, "vocab-tiny"))
            for tok_dir in tok_dirs:
                out = tokenize(tok_dir, case["texts"], args)
                keys = case["input_keys"]
                ok = (out["input_ids"] == expected[keys["input_ids"]] and
                      out["attention_mask"] == expected[keys["attention_mask"]])
                check(f"{os.path.basename(tok_dir)} for {folder}/{case['case']}", ok)


def errors():
    folder = os.path.join(GOLDEN, "tokenizer-full")
    for args, what in ((["tokenize", folder], "no text"),
                       (["tokenize", "/nonexistent-folder", "x"], "missing folder"),
                       (["tokenize", folder, "--max-length", "0", "x"], "bad length"),
                       (["tokenize", folder, "--bogus", "x"], "unknown option")):
        p = subprocess.run([BT, *args], capture_output=True)
        check(f"error exit: {what}", p.returncode != 0 and not p.stdout and p.stderr)
    p = subprocess.run([BT, "tokenize", folder, b"caf\xe9"], capture_output=True)
    check("error exit: invalid UTF-8", p.returncode != 0 and not p.stdout and p.stderr)
    p = subprocess.run([BT, "tokenize", "--help"], capture_output=True)
    check("--help", p.returncode == 0 and b"usage" in p.stdout)


for part in (full_cases, model_cases, errors):
    try:
        part()
    except Exception as e:  # one failing part must not hide the others
        check(part.__name__, False, repr(e))

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"# {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
