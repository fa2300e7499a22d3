"""The photo query set of the dupe benchmark: brand product pictures as buyers photograph them.

    python -m benchmarks.dupe_photos OUT_DIR [--seeds seeds]   # write the set as JPEGs, to look at

Small-B buyers search by a photo of a brand product: a screenshot, a phone shot in a shop, a
picture forwarded five times. From each brand product's own picture (``seeds/images/bp-*.jpg``,
a 256x256 drawing with the brand logo printed) this module derives one query per variant:

- ``rotated``: turned 10-30 degrees either way, the corners filled with a plain colour;
- ``cropped``: a 60-75 % window of the picture;
- ``busy``: pasted smaller onto a noisy, cluttered canvas;
- ``small``: about 80 px on its long side;
- ``jpeg``: re-encoded at JPEG quality 5-10;
- ``phone``: a 4000x3000 photo, the product filling ~25-40 % of the frame, upscaled with blur and
  sensor noise;
- ``pair``: two different brand products side by side; either is a right answer.

Everything is deterministic: each picture's randomness is seeded by (SEED, brand product, variant),
so the set does not depend on the order or the subset generated. Images are built in memory
(``PhotoQuery.jpeg()``), never written into the repository.
"""
from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

SEED = 20261122
VARIANTS = ("rotated", "cropped", "busy", "small", "jpeg", "phone", "pair")


@dataclass(frozen=True)
class PhotoQuery:
    """One photo query: what it was made from, what a right answer is, and how to draw it."""
    id: str
    variant: str
    brand_products: tuple[str, ...]   # expected: any of these (two for ``pair``)
    brands: tuple[str, ...]
    categories: tuple[str, ...]
    sources: tuple[Path, ...] = field(repr=False)

    def jpeg(self) -> bytes:
        """The photo as JPEG bytes (built on each call; the phone shots are megabytes)."""
        return render(self.variant, [Image.open(p).convert("RGB") for p in self.sources],
                      _rng(self.id))


def _rng(key: str) -> random.Random:
    return random.Random(f"{SEED}:{key}")


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def _encode(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _noise(img: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    """Gaussian sensor noise, drawn at half resolution (a 12 MP frame at full size takes ~1 s)."""
    w, h = img.size
    grain = _np_rng(rng).standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32)
    grain = np.clip(grain * np.float32(sigma) + 128, 0, 255).astype(np.uint8)
    noise = Image.fromarray(grain).resize((w, h), Image.Resampling.BILINEAR)
    return ImageChops.add(img.convert("RGB"), noise, scale=1.0, offset=-128)


def _random_colour(rng: random.Random, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


def _cluttered_canvas(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A textured background with random shapes on it: a shop shelf or a messy desk, roughly."""
    w, h = size
    grain = _np_rng(rng).integers(0, 256, (max(h // 8, 1), max(w // 8, 1), 3), dtype=np.uint8)
    canvas = Image.fromarray(grain).resize((w, h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.randint(12, 24)):
        x0, y0 = rng.randint(-w // 8, w), rng.randint(-h // 8, h)
        x1, y1 = x0 + rng.randint(w // 20, w // 3), y0 + rng.randint(h // 20, h // 3)
        shape = rng.choice(("rect", "ellipse", "line"))
        colour = _random_colour(rng)
        if shape == "rect":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=rng.randint(2, max(3, w // 60)))
    return canvas


def rotated(img: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(10, 30) * rng.choice((-1, 1))
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                      fillcolor=_random_colour(rng, 60, 240))


def cropped(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    f = rng.uniform(0.60, 0.75)
    cw, ch = round(w * f), round(h * f)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return img.crop((x, y, x + cw, y + ch))


def busy(img: Image.Image, rng: random.Random) -> Image.Image:
    canvas = _cluttered_canvas((512, 512), rng)
    side = rng.randint(200, 300)
    small = img.resize((side, side), Image.Resampling.LANCZOS)
    canvas.paste(small, (rng.randint(0, 512 - side), rng.randint(0, 512 - side)))
    return _noise(canvas, rng, 6.0)


def small(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    scale = rng.uniform(76, 84) / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def phone(img: Image.Image, rng: random.Random) -> Image.Image:
    """A 4000x3000 shot: a table-top gradient, the product upscaled to 25-40 % of the frame."""
    W, H = 4000, 3000
    top, bottom = np.array(_random_colour(rng, 120, 230)), np.array(_random_colour(rng, 80, 200))
    t = np.linspace(0.0, 1.0, H)[:, None, None]
    column = (top * (1 - t) + bottom * t).astype(np.uint8)
    canvas = Image.fromarray(column).resize((W, H), Image.Resampling.NEAREST)
    side = round((rng.uniform(0.25, 0.40) * W * H) ** 0.5)
    # blurred before upscaling: the same soft look, at 1/50 of the cost of blurring 4 MP
    soft = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.0)))
    big = soft.resize((side, side), Image.Resampling.BICUBIC)
    canvas.paste(big, (rng.randint(0, W - side), rng.randint(0, H - side)))
    return _noise(canvas, rng, 5.0)


def pair(left: Image.Image, right: Image.Image, rng: random.Random) -> Image.Image:
    canvas = Image.new("RGB", (560, 300), _random_colour(rng, 200, 255))
    canvas.paste(left, (16, 22))
    canvas.paste(right, (288, 22))
    return canvas


def render(variant: str, images: list[Image.Image], rng: random.Random) -> bytes:
    """JPEG bytes of ``variant`` drawn from ``images`` (one picture; two for ``pair``)."""
    img = images[0]
    if variant == "rotated":
        return _encode(rotated(img, rng))
    if variant == "cropped":
        return _encode(cropped(img, rng))
    if variant == "busy":
        return _encode(busy(img, rng))
    if variant == "small":
        return _encode(small(img, rng))
    if variant == "jpeg":
        return _encode(img, quality=rng.randint(5, 10))
    if variant == "phone":
        return _encode(phone(img, rng), quality=85)
    if variant == "pair":
        return _encode(pair(img, images[1], rng))
    raise ValueError(f"unknown variant {variant!r}")


def _partners(bps: list[dict]) -> dict[str, dict]:
    """Each brand product's partner in a ``pair`` photo: a fixed shuffle, never the same brand."""
    order = sorted(bps, key=lambda b: b["id"])
    _rng("pairs").shuffle(order)
    out = {}
    for i, bp in enumerate(order):
        j = (i + 1) % len(order)
        while order[j]["brand"] == bp["brand"]:
            j = (j + 1) % len(order)
        out[bp["id"]] = order[j]
    return out


def photo_queries(seeds: Path, variants: tuple[str, ...] = VARIANTS) -> list[PhotoQuery]:
    """Every photo query over the catalog's brand products, in a stable order (brand product, variant)."""
    with open(seeds / "brand_products.jsonl", encoding="utf-8") as f:
        bps = [json.loads(line) for line in f if line.strip()]
    partners = _partners(bps)
    out = []
    for bp in bps:
        for variant in variants:
            group = [bp, partners[bp["id"]]] if variant == "pair" else [bp]
            out.append(PhotoQuery(
                id=f"{bp['id']}:{variant}", variant=variant,
                brand_products=tuple(b["id"] for b in group),
                brands=tuple(dict.fromkeys(b["brand"] for b in group)),
                categories=tuple(dict.fromkeys(b["category"] for b in group)),
                sources=tuple(seeds / b["images"][0] for b in group)))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write the photos into (outside the repository)")
    ap.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[1] / "seeds")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    queries = photo_queries(args.seeds)
    for pq in queries:
        (args.out / (pq.id.replace(":", "__") + ".jpg")).write_bytes(pq.jpeg())
    with open(args.out / "queries.jsonl", "w", encoding="utf-8") as f:
        for pq in queries:
            f.write(json.dumps({"id": pq.id, "variant": pq.variant, "brand_products": pq.brand_products,
                                "brands": pq.brands, "categories": pq.categories}) + "\n")
    print(f"wrote {len(queries)} photos to {args.out}")


if __name__ == "__main__":
    main()
