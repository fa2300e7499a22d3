"""Several products in one photo: find the distinct products in a photo, say what each one
looks like, and pick the one searched by default.

No object detector whose weights ship inside a package could be used here (weights cannot be
downloaded at run time), so regions are proposed from the picture itself and checked with the
image model the engine already has:

1. **Proposals** (``proposals``, pure, on a small copy of the photo): the foreground against
   the background (the colour of the photo's border, row by row and column by column, so a
   gradient table top is background too) and the edges, closed and split into connected
   components; a component much wider (or taller) than a product is also cut into its halves
   and thirds, since products side by side touch. A photo whose foreground is one component
   holds one product: nothing more is done (no embedding, the whole photo is searched as
   before). Otherwise the boxes are ranked by how much they look like a separate thing (size,
   fill, separation) and the best ``MAX_CROPS`` are kept.
2. **Scoring**: each proposed crop is embedded with the engine's image model (one batch) and
   compared with the brand products' own image vectors (``score``); a crop is an object when
   its best match is strong (``MATCH_MIN``) or when it is a cleanly separated component.
3. **Distinct objects** (``distinct``): greedy non-maximum suppression, best match first, by box
   overlap and by the brand product matched (one object per brand product); a box that holds
   two kept objects is dropped.
4. **The prominent object** (``prominent``): the largest confident one (area x confidence).

Boxes are ``(x, y, w, h)`` in the pixels of the photo as sent (a large JPEG may be decoded at a
reduced scale: ``source`` gives the size as sent, and boxes are scaled to it).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from search.understanding import IMAGE_MIN

Box = tuple[int, int, int, int]          # x, y, w, h

WORK_SIDE = 320            # proposals are computed on a copy this long on its long side
MAX_CROPS = 8              # crops embedded per photo at most
MIN_AREA = 0.008           # a component smaller than this share of the photo is not a product
MAX_AREA = 0.80            # ... nor one covering (almost) all of it
BUSY = 0.5                 # a photo this much foreground has a busy background
BG_DIFF = 20               # colour distance (max over channels) from the background that is foreground
MATCH_MIN = IMAGE_MIN      # a crop this close to a brand product names it (the photo's rule) and is an object
CLEAN_MIN = 0.38           # ... or this close for a cleanly separated component
IOU_MAX = 0.30             # two objects overlap at most this much (intersection over union)
INSIDE_MAX = 0.60          # ... and the smaller lies at most this much inside the larger
SQUARE_MARGIN = 0.08       # an object is searched as the square around its box, this much wider


@dataclass(frozen=True)
class Proposal:
    """A candidate region, in the coordinates of the array it was found on."""
    box: Box
    source: str            # "component" (separated from the background), "part" (of a wide component)
    objectness: float      # how much it looks like a thing of its own, 0..1 (ranks proposals)


@dataclass(frozen=True)
class DetectedObject:
    """One distinct product found on the photo."""
    box: Box                               # x, y, w, h in the pixels of the photo as sent
    brand_product: str | None              # the brand product it looks like (None: none closely)
    category: str | None                   # its category (of the nearest brand product)
    confidence: float                      # 0..1: the image similarity to that brand product
    area: float                            # share of the photo's area
    searched: bool = False                 # this object's box is what the search searched
    # The image model's query vector of the object's search box (``search_box``): searching
    # the object reuses it instead of embedding the same square again.
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def prominence(self) -> float:
        return self.area * self.confidence


# ----------------------------------------------------------------------------- geometry


def iou(a: Box, b: Box) -> float:
    inter = _inter(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def inside(a: Box, b: Box) -> float:
    """Share of the smaller of ``a`` and ``b`` that lies inside the other."""
    small = min(a[2] * a[3], b[2] * b[3])
    return _inter(a, b) / small if small > 0 else 0.0


def _inter(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def scale_box(box: Box, sx: float, sy: float, limit: tuple[int, int]) -> Box:
    """``box`` scaled by (sx, sy), rounded outwards and kept inside a ``limit`` (W, H) frame."""
    x0, y0 = int(np.floor(box[0] * sx)), int(np.floor(box[1] * sy))
    x1, y1 = int(np.ceil((box[0] + box[2]) * sx)), int(np.ceil((box[1] + box[3]) * sy))
    x0, y0 = max(0, min(x0, limit[0] - 1)), max(0, min(y0, limit[1] - 1))
    x1, y1 = max(x0 + 1, min(x1, limit[0])), max(y0 + 1, min(y1, limit[1]))
    return x0, y0, x1 - x0, y1 - y0


def search_box(box: Box, limit: tuple[int, int], margin: float = SQUARE_MARGIN) -> Box:
    """The region searched for an object: the square around its box with a margin, kept in
    the ``limit`` (W, H) frame (shifted, then cut, at the photo's edges). The image model
    embeds a photo's centred square: a tall bottle's own box would lose its top and bottom."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2 * margin)
    W, H = limit
    sw, sh = min(side, W), min(side, H)
    cx, cy = x + w / 2.0, y + h / 2.0
    left = min(max(0.0, cx - sw / 2.0), W - sw)
    top = min(max(0.0, cy - sh / 2.0), H - sh)
    return scale_box((left, top, sw, sh), 1.0, 1.0, limit)      # type: ignore[arg-type]


def pad(box: Box, frac: float, limit: tuple[int, int]) -> Box:
    x, y, w, h = box
    dx, dy = round(w * frac), round(h * frac)
    return scale_box((x - dx, y - dy, w + 2 * dx, h + 2 * dy), 1.0, 1.0, limit)


# ----------------------------------------------------------------------------- proposals


def small_copy(image: Image.Image, side: int = WORK_SIDE) -> np.ndarray:
    """The photo as an RGB uint8 array at most ``side`` px on its long side."""
    im = image.convert("RGB") if image.mode != "RGB" else image
    w, h = im.size
    s = min(1.0, side / max(w, h))
    if s < 1.0:
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR,
                       reducing_gap=2.0)
    return np.asarray(im, dtype=np.uint8)


def foreground(arr: np.ndarray, diff: int = BG_DIFF) -> np.ndarray:
    """Pixels that differ from the background: the border's colour, taken per row (left and
    right edges) and per column (top and bottom edges) so a gradient is background too;
    plus strong edges. A bool mask of ``arr``'s height and width."""
    import cv2
    a = arr.astype(np.int16)
    h, w = a.shape[:2]
    e = max(1, min(h, w) // 60)
    border = np.concatenate([a[:e].reshape(-1, 3), a[-e:].reshape(-1, 3), a[:, :e].reshape(-1, 3),
                             a[:, -e:].reshape(-1, 3)])
    rows = np.median(np.concatenate([a[:, :e], a[:, -e:]], axis=1), axis=1)[:, None, :]     # (h, 1, 3)
    cols = np.median(np.concatenate([a[:e], a[-e:]], axis=0), axis=0)[None, :, :]            # (1, w, 3)
    glob = np.median(border, axis=0)[None, None, :]
    d = np.minimum(np.minimum(np.abs(a - rows).max(axis=2), np.abs(a - cols).max(axis=2)),
                   np.abs(a - glob).max(axis=2))
    mask = d > diff
    gray = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 60, 160) > 0
    return mask | edges


def smooth(arr: np.ndarray, std_max: float = 6.0) -> np.ndarray:
    """Flat areas: pixels whose 5x5 neighbourhood barely varies. On a busy background (a shelf,
    a patterned cloth) the products' own surfaces are what is flat."""
    import cv2
    g = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean = cv2.blur(g, (5, 5))
    var = cv2.blur(g * g, (5, 5)) - mean * mean
    return np.sqrt(np.maximum(var, 0.0)) < std_max


def components(mask: np.ndarray, close: int | None = None) -> list[tuple[Box, float]]:
    """Connected components of ``mask`` after closing small gaps: (box, fill) each, fill being
    the share of the box the component covers."""
    import cv2
    h, w = mask.shape
    k = close or max(3, round(max(h, w) * 0.025)) | 1
    m = mask.astype(np.uint8) * 255
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        out.append(((x, y, bw, bh), area / float(bw * bh)))
    return out


def _parts(box: Box) -> list[Box]:
    """Halves and thirds of a box much wider (or taller) than a product: products side by side."""
    x, y, w, h = box
    ratio = w / h if h else 1.0
    out: list[Box] = []
    for n in (2, 3):
        if ratio >= 0.75 * n + 0.25:
            step = w / n
            out += [(x + round(i * step), y, round(step), h) for i in range(n)]
        if 1 / ratio >= 0.75 * n + 0.25:
            step = h / n
            out += [(x, y + round(i * step), w, round(step)) for i in range(n)]
    return out


def proposals(arr: np.ndarray, max_crops: int = MAX_CROPS) -> list[Proposal]:
    """Candidate product regions of a photo (an RGB array, best first), in its coordinates.

    An empty list, or one proposal, means the photo shows one thing (or nothing separable):
    it is searched whole."""
    h, w = arr.shape[:2]
    if min(h, w) < 16:
        return []
    total = float(h * w)
    fg = foreground(arr)
    found = [(b, f) for b, f in components(fg) if MIN_AREA <= b[2] * b[3] / total <= MAX_AREA]
    if fg.mean() > BUSY and len(found) < 2:
        # A busy background is foreground nearly everywhere: look for flat areas instead.
        found = [(b, f) for b, f in components(smooth(arr), close=3) if MIN_AREA <= b[2] * b[3] / total <= MAX_AREA]
    out: list[Proposal] = []
    for b, fill in found:
        share = b[2] * b[3] / total
        touches = b[0] <= 1 or b[1] <= 1 or b[0] + b[2] >= w - 1 or b[1] + b[3] >= h - 1
        objectness = min(1.0, 0.4 + fill * 0.4 + min(share, 0.3)) * (0.6 if touches else 1.0)
        out.append(Proposal(pad(b, 0.04, (w, h)), "component", round(objectness, 4)))
    for p in list(out):
        for part in _parts(p.box):
            out.append(Proposal(part, "part", round(p.objectness * 0.8, 4)))
    if len(out) < 2 and not any(x.source == "part" for x in out):
        return out
    # The same region found twice is proposed once (the better-separated one).
    out.sort(key=lambda p: (-p.objectness, p.box))
    kept: list[Proposal] = []
    for p in out:
        if all(iou(p.box, q.box) < 0.8 for q in kept):
            kept.append(p)
    return kept[:max_crops]


# ----------------------------------------------------------------------------- scoring and choice


@dataclass(frozen=True)
class Scored:
    proposal: Proposal
    box: Box                        # in the photo-as-sent's pixels
    match: str | None               # nearest brand product id
    similarity: float
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


def distinct(scored: Sequence[Scored], match_min: float = MATCH_MIN, clean_min: float = CLEAN_MIN
             ) -> list[Scored]:
    """The confident, distinct ones: best first; overlapping boxes and the same brand product
    are suppressed; a box that holds two kept ones is dropped (it is both of them)."""
    ok = [s for s in scored if s.similarity >= match_min
          or (s.proposal.source == "component" and s.similarity >= clean_min)]
    ok.sort(key=lambda s: (-s.similarity, -s.proposal.objectness, s.box))
    kept: list[Scored] = []
    for s in ok:
        if any(s.match is not None and s.match == k.match for k in kept):
            continue
        if any(iou(s.box, k.box) > IOU_MAX or inside(s.box, k.box) > INSIDE_MAX for k in kept):
            continue
        kept.append(s)
    # A kept box that contains two other kept boxes is a group of them, not a product.
    groups = {i for i, a in enumerate(kept)
              if sum(1 for j, b in enumerate(kept) if j != i and _inter(a.box, b.box) > 0.7 * b.box[2] * b.box[3]) >= 2}
    return [s for i, s in enumerate(kept) if i not in groups]


def prominent(objects: Sequence[DetectedObject]) -> int | None:
    """Index of the object searched by default: the largest confident one."""
    if not objects:
        return None
    return max(range(len(objects)), key=lambda i: (objects[i].prominence, -i))


def detect(image: Image.Image, embed: Callable[[list[Image.Image]], np.ndarray],
           nearest: Callable[[np.ndarray], list[tuple[str, float]]],
           brand_products: Mapping[str, Any], source: tuple[int, int] | None = None,
           max_crops: int = MAX_CROPS) -> list[DetectedObject]:
    """The distinct products on ``image`` (left to right, top to bottom), or [] when it holds
    one or none. ``embed``: crops -> query vectors (one batch); ``nearest``: a vector ->
    [(brand product id, similarity)] best first; ``source``: the size of the photo as sent."""
    arr = small_copy(image)
    props = proposals(arr, max_crops)
    if len(props) < 2:
        return []
    W, H = source or image.size
    ah, aw = arr.shape[:2]
    in_image = [search_box(scale_box(p.box, image.size[0] / aw, image.size[1] / ah, image.size), image.size)
                for p in props]
    crops = [image.crop((x, y, x + w, y + h)) for x, y, w, h in in_image]
    vecs = embed(crops)
    scored = []
    for p, v in zip(props, vecs):
        near = nearest(v)
        match, sim = near[0] if near else (None, 0.0)
        scored.append(Scored(p, scale_box(p.box, W / aw, H / ah, (W, H)), match, float(sim), v))
    kept = distinct(scored)
    if len(kept) < 2:
        return []
    out = []
    for s in sorted(kept, key=lambda s: (s.box[1] // max(1, H // 4), s.box[0])):
        bp = brand_products.get(s.match) if s.match is not None else None
        strong = bp is not None and s.similarity >= MATCH_MIN
        out.append(DetectedObject(s.box, bp.id if strong else None, bp.category if bp is not None else None,
                                  round(max(0.0, min(1.0, s.similarity)), 3),
                                  round(s.box[2] * s.box[3] / float(W * H), 4), vector=s.vector))
    return out


def searched(objects: Sequence[DetectedObject], i: int | None) -> list[DetectedObject]:
    """``objects`` with object ``i`` marked as the one searched."""
    return [replace(o, searched=(j == i)) for j, o in enumerate(objects)]
