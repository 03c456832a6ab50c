#!/usr/bin/python3
"""Writes the image-file test inputs of tests/test-image.c and, in
expected-rgb.safetensors, what PIL 9.4 (Debian 12's python3-pil) gives for
Image.open(file).convert('RGB') of each: U8 tensors [H, W, 3] named after the
file. Needs python3-pil and python3-numpy; the tests only read the output."""
import io, json, struct, zlib

import numpy as np
from PIL import Image

W, H = 37, 23
rng = np.random.default_rng(20261129)
yy, xx = np.mgrid[0:H, 0:W]
smooth = np.stack([xx * 255 // (W - 1), yy * 255 // (H - 1), (xx + yy) * 4 % 256], -1)
noise = rng.integers(0, 256, (H, W, 3))
rgb8 = ((smooth + noise) // 2).astype(np.uint8)


def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def png(width, height, color_type, bit_depth, rows, extra=b''):
    """A PNG with one IDAT: `rows` are the packed scanlines (filter 0)."""
    raw = b''.join(b'\x00' + r for r in rows)
    ihdr = struct.pack('>IIBBBBB', width, height, bit_depth, color_type, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + extra
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def pack_bits(values, bits):
    out = []
    for row in values:
        acc, n, packed = 0, 0, bytearray()
        for v in row:
            acc = (acc << bits) | int(v)
            n += bits
            if n == 8:
                packed.append(acc)
                acc, n = 0, 0
        if n:
            packed.append(acc << (8 - n))
        out.append(bytes(packed))
    return out


files = {}
wide16 = (rgb8.astype(np.uint16) * 257 + rng.integers(0, 257, (H, W, 3))).astype('>u2')
files['rgb16.png'] = png(W, H, 2, 16, [r.tobytes() for r in wide16])
alpha16 = rng.integers(0, 65536, (H, W, 1)).astype('>u2')
files['rgba16.png'] = png(W, H, 6, 16, [r.tobytes() for r in np.concatenate([wide16, alpha16], -1)])
files['la16.png'] = png(W, H, 4, 16, [r.tobytes() for r in np.concatenate([wide16[..., :1], alpha16], -1)])
# 16-bit gray spans 0..65535: PIL reads it as mode I and clips to 255
gray16 = ((xx * 65535 // (W - 1)) * (yy % 2) + (1 - yy % 2) * (xx * 7)).astype('>u2')
files['gray16.png'] = png(W, H, 0, 16, [r.tobytes() for r in gray16])
for bits in (1, 2, 4):
    v = rng.integers(0, 1 << bits, (H, W))
    files['gray%d.png' % bits] = png(W, H, 0, bits, pack_bits(v, bits))
# 4-bit palette with 5 entries: indices 5..15 fall past the palette
plte = chunk(b'PLTE', bytes(rng.integers(0, 256, 15).astype(np.uint8)))
trns = chunk(b'tRNS', bytes([0, 128, 255]))
v = rng.integers(0, 16, (H, W))
files['palette4_short.png'] = png(W, H, 3, 4, pack_bits(v, 4), plte + trns)
files['gray_trns.png'] = png(W, H, 0, 8, [r.tobytes() for r in rgb8[..., 1]],
                             chunk(b'tRNS', struct.pack('>H', 77)))
files['rgb_trns.png'] = png(W, H, 2, 8, [r.tobytes() for r in rgb8],
                            chunk(b'tRNS', struct.pack('>HHH', 1, 2, 3)))

img = Image.fromarray(rgb8, 'RGB')
b = io.BytesIO(); img.save(b, 'JPEG', quality=90); files['ycbcr420.jpg'] = b.getvalue()
b = io.BytesIO(); img.save(b, 'JPEG', quality=95, subsampling=0, progressive=True)
files['progressive444.jpg'] = b.getvalue()
b = io.BytesIO(); img.convert('L').save(b, 'JPEG', quality=90); files['gray.jpg'] = b.getvalue()
cmyk = Image.fromarray(np.concatenate([rgb8, rgb8[..., :1] // 3], -1), 'CMYK')
b = io.BytesIO(); cmyk.save(b, 'JPEG', quality=90); files['cmyk.jpg'] = b.getvalue()

header, blobs, offset = {}, [], 0
for name in sorted(files):
    with open(name, 'wb') as f:
        f.write(files[name])
    arr = np.ascontiguousarray(np.array(Image.open(name).convert('RGB')), dtype=np.uint8)
    data = arr.tobytes()
    header[name] = {'dtype': 'U8', 'shape': list(arr.shape),
                    'data_offsets': [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
header['__metadata__'] = {'generator': 'make-files.py, PIL %s' % Image.__version__}
h = json.dumps(header, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
with open('expected-rgb.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
