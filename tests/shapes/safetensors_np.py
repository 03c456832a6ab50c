"""The safetensors format with numpy only (no safetensors package here)."""
import json
import struct

import numpy as np

_DT = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U8": np.uint8, "BF16": None}


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        if v["dtype"] == "BF16":
            raw = np.frombuffer(data[b:e], np.uint16).astype(np.uint32) << 16
            a = raw.view(np.float32)
        else:
            a = np.frombuffer(data[b:e], _DT[v["dtype"]])
        out[k] = a.reshape(v["shape"]).copy()
    return out


def save(path, tensors, dtype="F16"):
    """tensors: name -> float numpy array, written as F16 or F32."""
    np_dt = np.float16 if dtype == "F16" else np.float32
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = np.array(tensors[k], dtype=np_dt, order="C")   # keeps 0-d shapes
        header[k] = {"dtype": dtype, "shape": list(a.shape),
                     "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
