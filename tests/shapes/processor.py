"""BridgeTowerImageProcessor's steps with Pillow, as HF runs them (resize the
short side with size_divisor and the 1333/800 cap, center crop with zero
padding, rescale, normalise), for training inputs."""
import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def resized_size(w, h, shorter, divisor):
    longer = int(1333 / 800 * shorter)
    scale = shorter / min(w, h)
    nh, nw = (shorter, scale * w) if h < w else (scale * h, shorter)
    if max(nh, nw) > longer:
        s = longer / max(nh, nw)
        nh, nw = nh * s, nw * s
    nh, nw = int(nh + 0.5), int(nw + 0.5)
    return max(1, nw // divisor) * divisor, max(1, nh // divisor) * divisor


def scene_to_crop(w, h, shorter, size, divisor):
    """How the scene's central square (side h) of a w x h frame, resized to
    `shorter`, lands in the processed size x size crop: (sx, ox, sy, oy)
    with crop fraction x = sx * scene_x + ox (and y alike), scene coordinates
    as fractions of the square. Wide frames are scaled down by the 1333/800 cap and squeezed
    by the size_divisor rounding, then padded: the square is not the crop."""
    nw, nh = resized_size(w, h, shorter, divisor)
    def axis(n, full, start, span):
        off = -((n - size) // 2) if n >= size else (size - n + 1) // 2
        return span * n / full / size, (start * n / full + off) / size
    sx, ox = axis(nw, w, (w - h) / 2, h)
    sy, oy = axis(nh, h, 0, h)
    return sx, ox, sy, oy


def process(img, shorter, size, divisor, mean=MEAN, std=STD):
    """PIL RGB image -> float32 (3, size, size) pixel values: the short side
    resized to `shorter`, then the central size x size crop."""
    w, h = resized_size(img.width, img.height, shorter, divisor)
    a = np.asarray(img.resize((w, h), Image.BICUBIC) if (w, h) != img.size else img)
    out = np.zeros((size, size, 3), np.uint8)
    def axis(n):                        # source start, destination start, length
        return ((n - size) // 2, 0, size) if n >= size else (0, (size - n + 1) // 2, n)
    sx, dx, nx = axis(w)
    sy, dy, ny = axis(h)
    out[dy:dy + ny, dx:dx + nx] = a[sy:sy + ny, sx:sx + nx]
    x = (out.astype(np.float64) * (1 / 255)).astype(np.float32)
    return ((x - mean) / std).transpose(2, 0, 1)
