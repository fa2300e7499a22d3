"""A generated, valid catalog of any size (deterministic for a seed), and the document ids
indexing it must produce."""
from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

WORDS = ["yoga", "leggings", "toothbrush", "sonic", "cotton", "shirt", "bag", "leather", "running", "shoe",
         "serum", "cream", "jacket", "down", "watch", "steel", "bottle", "flask", "cap", "scarf"]
CATEGORIES = ["leggings", "toothbrush", "shirt", "bag", "shoe", "skincare"]


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def make_catalog(folder: Path | str, n_products: int = 2000, *, n_images: int = 12, seed: int = 0,
                 price_shift: float = 0.0, chinese: bool = True) -> list[str]:
    """Write the catalog into ``folder``; return the ids of the documents it must index.

    Every product has a unique token ``item<N>`` in its English title, so a BM25 search
    can find each one. ``price_shift`` changes every price (a catalog "update").
    ``chinese=False`` leaves Chinese out of titles: a process indexing it then never loads
    the Chinese segmenter (~4 s per process on a slow machine), which keeps tests that start
    many indexer processes fast."""
    folder = Path(folder)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    _write(folder / "brands.jsonl", [
        {"id": "lululemon", "names": {"en": "lululemon", "zh": "露露乐蒙"}, "aliases": ["lulu"],
         "trademarks": ["lululemon", "露露乐蒙"], "categories": ["leggings"]},
        {"id": "sonicare", "names": {"en": "Philips Sonicare", "zh": "飞利浦"}, "aliases": [],
         "trademarks": ["Sonicare"], "categories": ["toothbrush"]},
    ])
    _write(folder / "brand_products.jsonl", [
        {"id": "bp-align", "brand": "lululemon",
         "titles": {"en": "lululemon Align pant", **({"zh": "露露乐蒙 瑜伽裤"} if chinese else {})},
         "category": "leggings", "price": 850, "currency": "CNY", "images": ["img/i0.jpg"]},
        {"id": "bp-diamond", "brand": "sonicare", "titles": {"en": "Sonicare DiamondClean toothbrush"},
         "category": "toothbrush", "price": 1999, "currency": "CNY", "images": ["img/i1.jpg"]},
    ])
    factories = []
    for i in range(10):
        f = {"id": f"f{i}", "names": {"zh": f"工厂{i}", "en": f"Factory {i}"}, "region": f"Region {i % 3}",
             "ship_within_hours": 24 * (1 + i % 3)}
        if i % 4 == 0:
            f["endorsements"] = [{"type": "same_foundry" if i % 8 == 0 else "equal_quality", "brand": "lululemon",
                                  "evidence": "audited orders", "verified_by": "QA", "verified_at": "2026-01-01",
                                  "expires_at": "2030-01-01"}]
        factories.append(f)
    _write(folder / "factories.jsonl", factories)
    for i in range(n_images):
        c = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        Image.new("RGB", (24, 24), c).save(folder / "img" / f"i{i}.jpg", "JPEG")
    products = []
    for i in range(n_products):
        words = rnd.sample(WORDS, 3)
        p = {"id": f"p{i:05d}", "factory": f"f{i % 10}",
             "titles": {"en": f"{' '.join(words)} item{i}", **({"zh": f"商品{i}"} if chinese else {})},
             "category": CATEGORIES[i % len(CATEGORIES)],
             "price_tiers": [{"min_qty": 1 + i % 5, "price": round(10 + (i % 97) + price_shift, 2)}],
             "currency": "CNY", "moq": 1 + i % 5}
        if i % 3:
            p["images"] = [f"img/i{i % n_images}.jpg"]
        if i % 7 == 0:
            p["dupe_of"] = ["bp-align"]
        products.append(p)
    _write(folder / "products.jsonl", products)
    return (["brand:lululemon", "brand:sonicare", "brand_product:bp-align", "brand_product:bp-diamond"]
            + [f"product:{p['id']}" for p in products])
