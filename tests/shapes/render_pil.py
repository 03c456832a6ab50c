"""The training renderer: Pillow's ImageDraw, aliased or supersampled, with
jittered colours, small rotations and optional JPEG (4:2:0) compression."""
import io
import math

from PIL import Image, ImageDraw, ImageFilter

RGB = {"red": (230, 25, 25), "green": (30, 180, 40), "blue": (30, 60, 230),
       "yellow": (240, 220, 30), "white": (245, 245, 245), "black": (15, 15, 15)}
# half of the frames 16:9, as most video is (its small shapes were the misses)
ASPECTS = [1.0, 4 / 3, 3 / 2, 16 / 10, 5 / 4] + [16 / 9] * 5


def jitter(rng, rgb, amount=24):
    """A nearby shade: a common brightness shift plus a smaller per-channel one."""
    base = rng.randint(-amount, amount)
    return tuple(max(0, min(255, c + base + rng.randint(-amount // 3, amount // 3)))
                 for c in rgb)


def shape_points(o, x0, side, rot, tri_w):
    cx, cy, r = x0 + o["cx"] * side, o["cy"] * side, o["size"] * side / 2
    if o["shape"] == "square":
        pts = [(-r, -r), (r, -r), (r, r), (-r, r)]
    else:
        pts = [(0, -r), (r * tri_w, r), (-r * tri_w, r)]
    c, s = math.cos(rot), math.sin(rot)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def render(rng, scene):
    """A scene -> PIL RGB image of a random size and aspect."""
    # from 120 px high, the smallest frame the model is asked to read: on
    # lower frames a small square and circle are the same few pixels
    h = rng.randint(120, 320)
    w = int(h * rng.choice(ASPECTS))
    # aliased or supersampled (larger frames are anti-aliased by the
    # processor's downscale anyway, so only smaller ones are supersampled)
    ss = 3 if h < 180 and rng.random() < 0.5 else 1
    bg = jitter(rng, RGB[scene["bg"]]) if scene["bg"] else jitter(rng, scene["bg_rgb"], 15)
    img = Image.new("RGB", (w * ss, h * ss), bg)
    d = ImageDraw.Draw(img)
    side, x0 = h * ss, (w - h) * ss / 2
    for o in scene["objects"]:
        col = jitter(rng, RGB[o["colour"]])
        if o["shape"] == "circle":
            cx, cy, r = x0 + o["cx"] * side, o["cy"] * side, o["size"] * side / 2
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        else:
            rot = math.radians(rng.uniform(-12, 12))
            d.polygon(shape_points(o, x0, side, rot, rng.uniform(0.85, 1.15)), fill=col)
    if ss > 1:
        img = img.resize((w, h), Image.BOX)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    if rng.random() < 0.7:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(30, 90))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img
