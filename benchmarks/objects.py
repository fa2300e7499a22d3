"""Several products in one photo: are they found, and is each one's brand product understood
when its object is searched?

    python -m benchmarks.objects [--work DIR] [--n N] [--only detect|search|single] [--no-ocr] [--write DIR]

Composite photos of two and of three brand-product pictures (``seeds/images/bp-*.jpg``), built
deterministically (``composites``): side by side, stacked or scattered, of different sizes, as
whole pictures (a collage of screenshots) or cut out of their backdrop (products on a table), on
a plain, gradient or cluttered background, at 4000x3000 (blurred, with sensor noise, like
``benchmarks.dupe_photos.phone``) and smaller. Each goes through the JSON API (Flask test
client) of the real engine over an index of ``seeds/`` (``benchmarks.dupes.build_app``): the photo
alone (what is detected, what is searched by default), then each detected object with
``object=i``. The composites are split in two fixed halves: the detector's constants were tuned
on ``tune`` and are reported on ``test``; both are printed.

Figures:
- objects found: a detected box covers the product (IoU >= 0.5), or the detected object's brand
  product is the product's;
- understood when its object is searched: the product's brand product is the one understood when
  the object found for it is searched (a product not found counts as a failure);
- false objects per photo: detected objects that are none of the products;
- default searched: the brand product understood for the photo alone is one of its products;
- detection ms: median of ``timings_ms.objects`` (machine-dependent; the figures above are not).

Single-product photos (``benchmarks.dupe_photos`` variants other than ``pair``) are searched
with detection and without it (``crop`` = the whole photo: the user's choice, nothing detected):
top-1 brand product understood, and how often detection changed what was searched.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from benchmarks.dupe_photos import _cluttered_canvas, _noise, _random_colour, photo_queries
from search.objects import iou

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261202
SIZES = ((4000, 3000), (1600, 1200), (1200, 900), (900, 600), (640, 480))
LAYOUTS = ("row", "column", "scatter")
BACKGROUNDS = ("plain", "plain", "gradient", "cluttered")


@dataclass(frozen=True)
class Composite:
    id: str
    split: str                                   # "tune" or "test"
    size: tuple[int, int]
    layout: str
    background: str
    cutout: bool                                 # products cut out of their picture's backdrop
    brand_products: tuple[str, ...]
    sources: tuple[Path, ...] = field(repr=False)

    def render(self) -> tuple[bytes, list[tuple[int, int, int, int]]]:
        """(JPEG bytes, the products' boxes x,y,w,h in the photo's pixels)."""
        return render(self, random.Random(f"{SEED}:{self.id}:draw"))


def _canvas(c: Composite, rng: random.Random) -> Image.Image:
    W, H = c.size
    if c.background == "cluttered":
        return _cluttered_canvas((W, H), rng)
    if c.background == "gradient":
        top, bottom = np.array(_random_colour(rng, 110, 235)), np.array(_random_colour(rng, 80, 210))
        t = np.linspace(0.0, 1.0, H)[:, None, None]
        return Image.fromarray((top * (1 - t) + bottom * t).astype(np.uint8)).resize((W, H), Image.Resampling.NEAREST)
    return Image.new("RGB", (W, H), _random_colour(rng, 120, 250))


def _cut(img: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The product without its backdrop: (image cropped to it, its mask)."""
    a = np.asarray(img, dtype=np.int16)
    bg = np.median(np.concatenate([a[:4].reshape(-1, 3), a[-4:].reshape(-1, 3)]), axis=0)
    mask = np.abs(a - bg).max(axis=2) > 14
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    m = Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3))
    return img.crop(box), m.crop(box)


def _slots(c: Composite, rng: random.Random, sizes: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    W, H = c.size
    n = len(sizes)
    if c.layout in ("row", "column"):
        along = 0 if c.layout == "row" else 1
        span = (W, H)[along]
        used = sum(s[along] for s in sizes)
        free = span - used
        if free < 0:
            return None
        gaps = [rng.random() + 0.2 for _ in range(n + 1)]
        gaps = [g / sum(gaps) * free for g in gaps]
        pos, out = gaps[0], []
        for s, g in zip(sizes, gaps[1:]):
            other = (H, W)[along] - s[1 - along]
            o = rng.randint(0, max(0, other))
            out.append((round(pos), o) if along == 0 else (o, round(pos)))
            pos += s[along] + g
        return out
    out = []
    for s in sizes:
        for _ in range(200):
            x, y = rng.randint(0, W - s[0]), rng.randint(0, H - s[1])
            box = (x, y, s[0], s[1])
            if all(iou(box, (p[0], p[1], q[0], q[1])) == 0 and not _near(box, (p[0], p[1], q[0], q[1]), W // 40)
                   for p, q in zip(out, sizes)):
                out.append((x, y))
                break
        else:
            return None
    return out


def _near(a, b, gap: int) -> bool:
    return not (a[0] + a[2] + gap <= b[0] or b[0] + b[2] + gap <= a[0] or a[1] + a[3] + gap <= b[1]
                or b[1] + b[3] + gap <= a[1])


def render(c: Composite, rng: random.Random) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    W, H = c.size
    n = len(c.sources)
    pics = [Image.open(p).convert("RGB") for p in c.sources]
    parts = [_cut(p) if c.cutout else (p, None) for p in pics]
    for _ in range(50):
        # the long side of each product: a share of what a row of n leaves it
        room = (W if c.layout == "row" else H if c.layout == "column" else min(W, H) * 1.3) / n
        limit = min(W, H) * 0.9
        sizes = []
        for im, _m in parts:
            side = min(limit, room * rng.uniform(0.45, 0.85))
            s = side / max(im.size)
            sizes.append((max(8, round(im.size[0] * s)), max(8, round(im.size[1] * s))))
        slots = _slots(c, rng, sizes)
        if slots is not None:
            break
    else:
        raise RuntimeError(f"no layout for {c.id}")
    canvas = _canvas(c, rng)
    boxes = []
    for (im, m), (w, h), (x, y) in zip(parts, sizes, slots):
        big = im.resize((w, h), Image.Resampling.BICUBIC)
        canvas.paste(big, (x, y), m.resize((w, h), Image.Resampling.BILINEAR) if m is not None else None)
        boxes.append((x, y, w, h))
    if W >= 2000:
        canvas = canvas.filter(ImageFilter.GaussianBlur(1.5))
        canvas = _noise(canvas, rng, 5.0)
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=85 if W >= 2000 else 90)
    return buf.getvalue(), boxes


def composites(seeds: Path, n: int = 160) -> list[Composite]:
    """``n`` composites (half of two products, half of three), in a fixed order and split."""
    with open(seeds / "brand_products.jsonl", encoding="utf-8") as f:
        bps = sorted((json.loads(line) for line in f if line.strip()), key=lambda b: b["id"])
    rng = random.Random(f"{SEED}:composites")
    out = []
    for i in range(n):
        k = 2 if i % 2 == 0 else 3
        group = rng.sample(bps, k)
        out.append(Composite(
            id=f"c{i:03d}-{k}", split="tune" if rng.random() < 0.5 else "test",
            size=rng.choice(SIZES), layout=rng.choice(LAYOUTS), background=rng.choice(BACKGROUNDS),
            cutout=rng.random() < 0.5, brand_products=tuple(b["id"] for b in group),
            sources=tuple(seeds / b["images"][0] for b in group)))
    return out


# ----------------------------------------------------------------------------- running


def _post(client, jpeg: bytes, **fields: Any) -> dict[str, Any]:
    data = {"photo": (io.BytesIO(jpeg), "photo.jpg", "image/jpeg"), "k": "5"}
    data.update({k: str(v) for k, v in fields.items()})
    resp = client.post("/api/v1/search", data=data, content_type="multipart/form-data")
    body = resp.get_json(silent=True) or {}
    if resp.status_code != 200:
        raise RuntimeError(f"{resp.status_code}: {body}")
    return body


def _understood(body: dict[str, Any]) -> str | None:
    return ((body.get("understood") or {}).get("brand_product") or {}).get("id")


def match(truth: list[tuple[int, int, int, int]], bps: tuple[str, ...], objects: list[dict[str, Any]]
          ) -> tuple[list[int | None], int]:
    """For each product, the index of the detected object found for it (or None); and how many
    detected objects are none of the products. A box covering the product (IoU >= 0.5) or the
    product's brand product, each object used once, the best overlap first."""
    pairs = []
    for t, (box, bp) in enumerate(zip(truth, bps)):
        for o, obj in enumerate(objects):
            ov = iou(tuple(box), tuple(obj["box"]))
            same = (obj.get("brand_product") or {}).get("id") == bp
            if ov >= 0.5 or same:
                pairs.append((-(ov + (1.0 if same else 0.0)), t, o))
    found: list[int | None] = [None] * len(truth)
    used: set[int] = set()
    for _, t, o in sorted(pairs):
        if found[t] is None and o not in used:
            found[t], used = o, used | {o}
    return found, len(objects) - len(used)


def run_composites(client, items: list[Composite], search: bool, ocr: bool) -> list[dict[str, Any]]:
    out = []
    for i, c in enumerate(items, 1):
        jpeg, truth = c.render()
        body = _post(client, jpeg, ocr=str(ocr).lower())
        objects = body["understood"].get("objects") or []
        found, false = match(truth, c.brand_products, objects)
        row = {"id": c.id, "split": c.split, "n": len(truth), "found": [f is not None for f in found],
               "false": false, "ms": body.get("timings_ms", {}).get("objects"),
               "default_ok": _understood(body) in c.brand_products, "understood": [None] * len(truth),
               "detected": len(objects), "layout": c.layout, "background": c.background, "cutout": c.cutout,
               "size": c.size}
        if search:
            for t, o in enumerate(found):
                if o is not None:
                    got = _understood(_post(client, jpeg, object=o, ocr=str(ocr).lower()))
                    row["understood"][t] = got == c.brand_products[t]
                else:
                    row["understood"][t] = False
        out.append(row)
        if i % 20 == 0:
            print(f"  composites: {i}/{len(items)}", file=sys.stderr)
    return out


def run_single(client, ocr: bool, limit: int | None) -> dict[str, Any]:
    qs = [q for q in photo_queries(ROOT / "seeds") if q.variant != "pair"][:limit]
    with_ok = without_ok = changed = split = 0
    for i, q in enumerate(qs, 1):
        jpeg = q.jpeg()
        w, h = Image.open(io.BytesIO(jpeg)).size
        a = _post(client, jpeg, ocr=str(ocr).lower())
        b = _post(client, jpeg, crop=f"0,0,{w},{h}", ocr=str(ocr).lower())
        with_ok += _understood(a) in q.brand_products
        without_ok += _understood(b) in q.brand_products
        changed += bool(a["understood"].get("objects"))
        split += any(o.get("searched") for o in a["understood"].get("objects") or [])
        if i % 50 == 0:
            print(f"  single: {i}/{len(qs)}", file=sys.stderr)
    return {"n": len(qs), "with": with_ok / len(qs), "without": without_ok / len(qs), "changed": changed,
            "split": split}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    objs = [f for r in rows for f in r["found"]]
    und = [u for r in rows for u in r["understood"] if u is not None]
    ms = [r["ms"] for r in rows if r["ms"] is not None]
    return {"photos": len(rows), "objects": len(objs), "found": sum(objs) / max(1, len(objs)),
            "understood": sum(und) / len(und) if und else None,
            "false_per_photo": sum(r["false"] for r in rows) / max(1, len(rows)),
            "default_ok": sum(r["default_ok"] for r in rows) / max(1, len(rows)),
            "ms_p50": statistics.median(ms) if ms else None}


def _fmt(x: Any, pct: bool = True) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if pct else f"{x:.0f}"


def report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [("| composites | photos | objects | found | understood when searched | false objects / photo "
              "| default search one of them | detection ms p50 |"), "|---|---|---|---|---|---|---|---|"]
    groups = [("tune", lambda r: r["split"] == "tune"), ("test", lambda r: r["split"] == "test"),
              ("test, two products", lambda r: r["split"] == "test" and r["n"] == 2),
              ("test, three products", lambda r: r["split"] == "test" and r["n"] == 3),
              ("test, 4000x3000", lambda r: r["split"] == "test" and r["size"][0] >= 2000),
              ("test, cluttered background", lambda r: r["split"] == "test" and r["background"] == "cluttered"),
              ("test, cut out", lambda r: r["split"] == "test" and r["cutout"]),
              ("test, whole pictures (a collage of product photos)", lambda r: r["split"] == "test" and not r["cutout"]),
              ("test, cut out on a plain or gradient table",
               lambda r: r["split"] == "test" and r["cutout"] and r["background"] != "cluttered"),
              ("test, cut out on a cluttered background",
               lambda r: r["split"] == "test" and r["cutout"] and r["background"] == "cluttered")]
    for name, keep in groups:
        sub = [r for r in rows if keep(r)]
        if not sub:
            continue
        s = summary(sub)
        lines.append(f"| {name} | {s['photos']} | {s['objects']} | {_fmt(s['found'])} | {_fmt(s['understood'])} | "
                     f"{s['false_per_photo']:.2f} | {_fmt(s['default_ok'])} | {_fmt(s['ms_p50'], False)} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/dupe-bench"), help="index folder (reused)")
    ap.add_argument("--n", type=int, default=160, help="composites (half of two products, half of three)")
    ap.add_argument("--only", choices=["detect", "search", "single"],
                    help="detect: composites without searching each object; search: composites; single: "
                         "single-product photos")
    ap.add_argument("--split", choices=["tune", "test"], help="only this half of the composites")
    ap.add_argument("--no-ocr", action="store_true", help="search without reading the text on the photos")
    ap.add_argument("--single-limit", type=int, help="at most N single-product photos")
    ap.add_argument("--write", type=Path, help="write the composites as JPEGs here, to look at")
    ap.add_argument("--json", type=Path, help="write per-photo outcomes here")
    args = ap.parse_args(argv)

    items = composites(ROOT / "seeds", args.n)
    if args.split:
        items = [c for c in items if c.split == args.split]
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for c in items:
            (args.write / f"{c.id}.jpg").write_bytes(c.render()[0])
        print(f"wrote {len(items)} composites to {args.write}")
        return
    from benchmarks.dupes import build_app
    app = build_app(ROOT / "seeds", args.work.resolve())
    ocr = not args.no_ocr
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    single = None
    with app.test_client() as client:
        _post(client, composites(ROOT / "seeds", 2)[0].render()[0])          # warm the models
        if args.only in (None, "detect", "search"):
            rows = run_composites(client, items, search=args.only != "detect", ocr=ocr)
        if args.only in (None, "single"):
            single = run_single(client, ocr, args.single_limit)
    print(f"ran in {time.perf_counter() - t0:.0f} s (OCR {'on' if ocr else 'off'})", file=sys.stderr)
    n2 = sum(1 for c in items if len(c.brand_products) == 2)
    print(f"composites: {len(items)} ({n2} of two products, {len(items) - n2} of three), OCR {'on' if ocr else 'off'}")
    if rows:
        print("\n".join(report(rows)))
    if single:
        print(f"\nsingle-product photos ({single['n']}, dupe_photos variants but pair): brand product understood "
              f"{single['with']:.3f} with detection, {single['without']:.3f} without; "
              f"objects offered on {single['changed']} of them, a part searched instead of the whole photo on "
              f"{single['split']}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "single": single}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
