#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora from the golden files and fixtures
(small files only; nothing here is committed).

usage: make-seeds.py DATA_DIR OUT_DIR   ->  OUT_DIR/<target>/<sha1>
"""
import hashlib
import json
import os
import struct
import sys
import zipfile


def main():
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    seeds = {}

    def add(target, blob):
        d = os.path.join(out_dir, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, hashlib.sha1(blob).hexdigest()), "wb") as f:
            f.write(blob)
        seeds[target] = seeds.get(target, 0) + 1

    def files(sub, suffix):
        for root, _, names in os.walk(os.path.join(data_dir, sub)):
            for n in sorted(names):
                if n.endswith(suffix):
                    yield os.path.join(root, n)

    # safetensors: the fixtures as they are, and every golden model's header
    # with its tensors shrunk to one element, to keep seeds small
    for path in files("fixtures", ".safetensors"):
        add("safetensors", open(path, "rb").read())
    for path in files("golden/models", ".safetensors"):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
                 "U8": 1, "BOOL": 1}
        out, data, off = {}, b"", 0
        for name, t in header.items():
            if name == "__metadata__":
                out[name] = t
                continue
            shape = [1] * len(t["shape"])
            sz = sizes[t["dtype"]]
            out[name] = {"dtype": t["dtype"], "shape": shape,
                         "data_offsets": [off, off + sz]}
            data += b"\0" * sz
            off += sz
        text = json.dumps(out).encode()
        text += b" " * (-len(text) % 8)
        add("safetensors", struct.pack("<Q", len(text)) + text + data)

    # zip: the torch fixtures whole (a few KB each)
    for path in files("fixtures", ".bin"):
        add("zip", open(path, "rb").read())

    # pickle: every data.pkl, golden ones included (tens of KB)
    for sub in ("fixtures", "golden/models"):
        for path in files(sub, ".bin"):
            with zipfile.ZipFile(path) as z:
                for n in z.namelist():
                    if n.endswith("/data.pkl"):
                        add("pickle", z.read(n))

    # config: every config.json, golden and hub (old-style and 4.43)
    for sub in ("golden/models", "hub"):
        for path in files(sub, "config.json"):
            if os.path.basename(path) == "config.json":
                add("config", open(path, "rb").read())

    # tokenizer: the small tokenizer.json files, and texts (not starting
    # with '{') for the built-in tokenizer
    for path in files("golden", "tokenizer.json"):
        if os.path.getsize(path) <= 64 * 1024:
            add("tokenizer", open(path, "rb").read())
    cases = json.load(open(os.path.join(data_dir, "golden", "tokenizer-full",
                                        "cases.json")))["cases"]
    for case in cases:
        if len(case["text"]) <= 200 and not case["text"].startswith("{"):
            add("tokenizer", case["text"].encode())

    # image: the small golden inputs and the PNG/JPEG variants
    for sub in ("golden/inputs/images", "image"):
        for suffix in (".png", ".jpg"):
            for path in files(sub, suffix):
                if os.path.getsize(path) <= 64 * 1024:
                    add("image", open(path, "rb").read())

    # queries: strings (first byte 0) and query files (first byte 1)
    for spec in ("a cat;a dog", "a\\;b;;  c  ;\\\\", "caf\u00e9 ; \U0001f370"):
        add("queries", b"\0" + spec.encode())
    for doc in (["a cat", "a dog"],
                [{"text": "a red car", "threshold": 0.7}, "x"],
                [{"text": "a\u001fb", "threshold": -1}, {"text": " "}]):
        add("queries", b"\1" + json.dumps(doc).encode())

    for t, n in sorted(seeds.items()):
        print("%s: %d seeds" % (t, n))


if __name__ == "__main__":
    main()
