"""The held-out renderer: numpy rasterisation, unlike training's Pillow one.
Shapes are coverage-sampled (n x n samples per pixel: 1 = aliased), colours
are other shades than training's, triangles are equilateral and upright,
squares unrotated. Frames are any size; the scene sits in the central square."""
import numpy as np

RGB = {"red": (205, 35, 45), "green": (40, 160, 70), "blue": (35, 75, 205),
       "yellow": (250, 205, 50), "white": (235, 235, 230), "black": (30, 28, 32)}


def coverage(shape, cx, cy, r, xs, ys):
    """Inside test on sample coordinates (pixels)."""
    dx, dy = xs - cx, ys - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    # equilateral triangle, apex up, side 2r, centered on its bounding box
    h = r * np.sqrt(3.0)
    top, bottom = cy - h / 2, cy + h / 2
    half = (ys - top) / np.sqrt(3.0)
    return (ys >= top) & (ys <= bottom) & (np.abs(dx) <= half)


def render(scene, width, height, samples=4, background=None):
    """A scene -> uint8 RGB array (height, width, 3)."""
    bg = RGB[scene["bg"]] if scene["bg"] else scene["bg_rgb"]
    img = np.empty((height, width, 3), np.float32)
    img[:] = bg
    side, x0 = height, (width - height) / 2
    offs = (np.arange(samples) + 0.5) / samples
    for o in scene["objects"]:
        cx, cy, r = x0 + o["cx"] * side, o["cy"] * side, o["size"] * side / 2
        xa, xb = max(0, int(cx - r) - 1), min(width, int(cx + r) + 2)
        ya, yb = max(0, int(cy - r) - 1), min(height, int(cy + r) + 2)
        py, px = np.mgrid[ya:yb, xa:xb].astype(np.float32)
        cov = np.zeros(py.shape, np.float32)
        for sy in offs:
            for sx in offs:
                cov += coverage(o["shape"], cx, cy, r, px + sx, py + sy)
        cov = (cov / (samples * samples))[..., None]
        patch = img[ya:yb, xa:xb]
        img[ya:yb, xa:xb] = patch * (1 - cov) + np.array(RGB[o["colour"]], np.float32) * cov
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
