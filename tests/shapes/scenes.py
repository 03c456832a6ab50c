"""The bt-shapes domain: scenes, their captions, when a caption is true of a
scene, and captions with one attribute changed (hard negatives).

Geometry lives in the frame's central square (side = frame height), the part
of the frame BridgeTower's processor keeps whatever the aspect ratio (it
center-crops to a square); coordinates are fractions of that square.
"""
import random

COLOURS = ["red", "green", "blue", "yellow", "white", "black"]
SHAPES = ["circle", "square", "triangle"]
COUNTS = {1: "a", 2: "two", 3: "three"}
POSITIONS = ["on the left", "on the right", "at the top", "at the bottom"]
RELATIONS = ["above", "below", "left of", "right of"]
ATTRIBUTES = ["colour", "shape", "count", "position", "relation"]
# every word a caption can hold (the tokenizer's domain vocabulary)
WORDS = sorted(set(COLOURS + SHAPES + [s + "s" for s in SHAPES] + list(COUNTS.values())
                   + " ".join(POSITIONS + RELATIONS).split() + ["background", "one"]))

# backgrounds a caption never names
OTHER_BACKGROUNDS = [(128, 128, 128), (90, 90, 90), (175, 175, 175), (110, 60, 140),
                     (40, 110, 120), (150, 110, 70)]


# --- scenes ----------------------------------------------------------------

def _fits(o, others, margin=0.03):
    h = o["size"] / 2
    if not (h <= o["cx"] <= 1 - h and h <= o["cy"] <= 1 - h):
        return False
    for p in others:
        d = (o["size"] + p["size"]) / 2 + margin
        if abs(o["cx"] - p["cx"]) < d and abs(o["cy"] - p["cy"]) < d:
            return False
    return True


def _region(pos, size):
    """Center ranges (x, y) for a group placed at `pos` (or anywhere)."""
    lo, hi = size / 2 + 0.02, 1 - size / 2 - 0.02
    x = y = (lo, hi)
    if pos == "on the left":
        x = (lo, 0.34)
    elif pos == "on the right":
        x = (0.66, hi)
    elif pos == "at the top":
        y = (lo, 0.34)
    elif pos == "at the bottom":
        y = (0.66, hi)
    return x, y


def group_scene(rng, count=None, colour=None, shape=None, pos=None, bg=None,
                positioned=0.6):
    count = count or rng.choice([1, 2, 3])
    colour = colour or rng.choice(COLOURS)
    shape = shape or rng.choice(SHAPES)
    if pos is None and rng.random() < positioned:
        pos = rng.choice(POSITIONS)
    if bg is None:
        bg = rng.choice([c for c in COLOURS if c != colour] + [None] * 2)
    big = {1: 0.4, 2: 0.3, 3: 0.24}[count] * (0.6 if pos else 1.0)
    while True:
        size = rng.uniform(0.08, max(0.09, big))
        objs = []
        for _ in range(count):
            for _ in range(50):
                s = size * rng.uniform(0.9, 1.1)
                (x0, x1), (y0, y1) = _region(pos, s)
                o = {"colour": colour, "shape": shape, "size": s,
                     "cx": rng.uniform(x0, max(x0, x1)), "cy": rng.uniform(y0, max(y0, y1))}
                if _fits(o, objs):
                    objs.append(o)
                    break
        if len(objs) == count:
            break
    spec = {"kind": "group", "count": count, "colour": colour, "shape": shape,
            "pos": pos, "bg": bg}
    return {"bg": bg, "bg_rgb": None if bg else rng.choice(OTHER_BACKGROUNDS),
            "objects": objs, "spec": spec}


def relation_scene(rng, a=None, b=None, rel=None, bg=None):
    while True:
        a = a or (rng.choice(COLOURS), rng.choice(SHAPES))
        b = b or (rng.choice(COLOURS), rng.choice(SHAPES))
        if a != b:
            break
        b = None
    rel = rel or rng.choice(RELATIONS)
    if bg is None:
        bg = rng.choice([c for c in COLOURS if c not in (a[0], b[0])] + [None] * 2)
    while True:
        sa, sb = rng.uniform(0.08, 0.3), rng.uniform(0.08, 0.3)
        gap = rng.uniform((sa + sb) / 2 + 0.05, 0.75)
        side = rng.uniform(-0.4, 0.4) * gap
        dx, dy = {"above": (side, gap), "below": (side, -gap),
                  "left of": (gap, side), "right of": (-gap, side)}[rel]
        # b sits at a + (dx, dy): "a above b" means b is lower
        ax, ay = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
        oa = {"colour": a[0], "shape": a[1], "size": sa, "cx": ax, "cy": ay}
        ob = {"colour": b[0], "shape": b[1], "size": sb, "cx": ax + dx, "cy": ay + dy}
        if _fits(oa, []) and _fits(ob, [oa]):
            break
    spec = {"kind": "relation", "a": a, "rel": rel, "b": b, "bg": bg}
    return {"bg": bg, "bg_rgb": None if bg else rng.choice(OTHER_BACKGROUNDS),
            "objects": [oa, ob], "spec": spec}


def random_scene(rng):
    return relation_scene(rng) if rng.random() < 0.35 else group_scene(rng)


# --- captions --------------------------------------------------------------

def caption(spec):
    if spec["kind"] == "group":
        n = spec["count"]
        words = [COUNTS[n], spec["colour"], spec["shape"] + ("s" if n > 1 else "")]
        if spec.get("pos"):
            words.append(spec["pos"])
    else:
        words = ["a", spec["a"][0], spec["a"][1], spec["rel"], "a", spec["b"][0], spec["b"][1]]
    if spec.get("bg"):
        words.append(f"on a {spec['bg']} background")
    return " ".join(words)


def loosen(rng, spec, keep_pos=0.75, keep_bg=0.5):
    """A true caption of the scene that names fewer optional attributes."""
    spec = dict(spec)
    if spec.get("pos") and rng.random() > keep_pos:
        spec["pos"] = None
    if spec.get("bg") and rng.random() > keep_bg:
        spec["bg"] = None
    return spec


# --- truth -----------------------------------------------------------------

def pos_truth(o, pos):
    axis = o["cx"] if pos in ("on the left", "on the right") else o["cy"]
    if pos in ("on the right", "at the bottom"):
        axis = 1 - axis
    return True if axis < 0.38 else False if axis > 0.45 else None


def rel_truth(a, b, rel):
    dx, dy = b["cx"] - a["cx"], b["cy"] - a["cy"]
    along, across = {"above": (dy, dx), "below": (-dy, dx),
                     "left of": (dx, dy), "right of": (-dx, dy)}[rel]
    if along >= 0.1 and abs(across) <= 0.5 * along:
        return True
    if along <= 0 or abs(across) >= 1.5 * along:
        return False
    return None


def and_truth(values):
    values = list(values)
    if False in values:
        return False
    return None if None in values else True


def _or(values):
    values = list(values)
    if True in values:
        return True
    return None if None in values else False


def truth(scene, spec):
    """True, False, or None when a reader could go either way."""
    bg_ok = True
    if spec.get("bg"):
        bg_ok = scene["bg"] == spec["bg"]
    objs = scene["objects"]
    if spec["kind"] == "group":
        match = [o for o in objs if o["colour"] == spec["colour"] and o["shape"] == spec["shape"]]
        if len(match) != spec["count"] or not bg_ok:
            return False
        if not spec.get("pos"):
            return True
        return and_truth(pos_truth(o, spec["pos"]) for o in match)
    if not bg_ok:
        return False
    a = [o for o in objs if (o["colour"], o["shape"]) == tuple(spec["a"])]
    b = [o for o in objs if (o["colour"], o["shape"]) == tuple(spec["b"])]
    return _or(rel_truth(x, y, spec["rel"]) for x in a for y in b if x is not y)


# --- hard negatives --------------------------------------------------------

def alternatives(spec, attribute):
    """Every caption spec that differs from `spec` in one attribute."""
    out = []
    if spec["kind"] == "group":
        key, values = {"colour": ("colour", COLOURS), "shape": ("shape", SHAPES),
                       "count": ("count", [1, 2, 3]), "position": ("pos", POSITIONS),
                       "background": ("bg", COLOURS)}.get(attribute, (None, None))
        if key is None or (key in ("pos", "bg") and not spec.get(key)):
            return []
        return [dict(spec, **{key: v}) for v in values if v != spec[key]]
    if attribute == "relation":
        return [dict(spec, rel=r) for r in RELATIONS if r != spec["rel"]]
    if attribute in ("colour", "shape"):
        i = 0 if attribute == "colour" else 1
        values = COLOURS if attribute == "colour" else SHAPES
        for side in ("a", "b"):
            for v in values:
                if v != spec[side][i]:
                    t = list(spec[side])
                    t[i] = v
                    out.append(dict(spec, **{side: tuple(t)}))
        return out
    if attribute == "background" and spec.get("bg"):
        return [dict(spec, bg=c) for c in COLOURS if c != spec["bg"]]
    return []


def hard_negatives(scene, spec, attribute):
    """The alternatives that are clearly false of the scene."""
    return [s for s in alternatives(spec, attribute) if truth(scene, s) is False]


def random_hard_negative(rng, scene, spec):
    attrs = ["colour", "shape", "count", "position", "relation", "background"]
    rng.shuffle(attrs)
    for a in attrs:
        negs = hard_negatives(scene, spec, a)
        if negs:
            return rng.choice(negs)
    return None


def twin(rng, scene):
    """A scene that differs from `scene` in one attribute (a hard image)."""
    s = scene["spec"]
    if s["kind"] == "group":
        a = rng.choice(["colour", "shape", "count", "position", "background"])
        kw = {k: s[k] for k in ("count", "colour", "shape", "pos", "bg")}
        if a == "colour":
            kw["colour"] = rng.choice([c for c in COLOURS if c not in (s["colour"], s["bg"])])
        elif a == "shape":
            kw["shape"] = rng.choice([x for x in SHAPES if x != s["shape"]])
        elif a == "count":
            kw["count"] = rng.choice([n for n in (1, 2, 3) if n != s["count"]])
        elif a == "position" and s["pos"]:
            kw["pos"] = rng.choice([p for p in POSITIONS if p != s["pos"]])
        elif s["bg"]:
            kw["bg"] = rng.choice([c for c in COLOURS if c not in (s["bg"], s["colour"])])
        return group_scene(rng, positioned=0.0, **kw) if kw["pos"] is None else group_scene(rng, **kw)
    a = rng.choice(["relation", "colour", "shape"])
    ca, cb, rel = s["a"], s["b"], s["rel"]
    if a == "relation":
        rel = rng.choice([r for r in RELATIONS if r != rel])
    else:
        i = 0 if a == "colour" else 1
        values = COLOURS if a == "colour" else SHAPES
        t = list(ca)
        t[i] = rng.choice([v for v in values if v != t[i]])
        ca = tuple(t)
        if ca == cb:
            ca, cb = cb, s["a"]
    bg = s["bg"] if s["bg"] not in (ca[0], cb[0]) else None
    return relation_scene(rng, ca, cb, rel, bg)


def make_rng(seed):
    return random.Random(seed)
