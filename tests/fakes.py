"""Test doubles and catalog helpers shared by the tests and by the subprocess entry points
in ``tests/fault_tools`` (so not in conftest.py, which holds only fixtures).

* ``FakeTextEmbedder`` / ``FakeImageEmbedder``: deterministic, fast, offline embedders that
  still put similar inputs near each other. Real models are exercised in their own
  (``slow``) tests; everything else runs on these.
* ``TEXT_SPEC`` / ``IMAGE_SPEC`` and ``register()``: the fakes under the model specs
  ``fake-text`` and ``fake-image``, so the real CLI and service code paths can use them.
* ``write_jsonl``, ``solid_image``, ``tiny_catalog``, ``indexed_tiny_catalog``: a small
  valid catalog on disk (and indexed with the fakes).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from indexer.embed.base import Embedder

TEXT_SPEC, IMAGE_SPEC = "fake-text", "fake-image"


class _Fake(Embedder):
    """A model with nothing to load that counts the items it embeds (``calls``)."""
    version = "1"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _load(self) -> Any:
        return object()


class FakeTextEmbedder(_Fake):
    """Hashed character-trigram bag: texts sharing words get close vectors."""
    name = "fake-text"
    dim = 64

    def _encode(self, model: Any, items, query: bool) -> np.ndarray:
        self.calls += len(items)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for row, text in enumerate(items):
            t = f"  {text.lower()}  "
            for i in range(len(t) - 2):
                h = int.from_bytes(hashlib.blake2b(t[i:i + 3].encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
            out[row, 0] += 1e-3
        return out


class FakeImageEmbedder(_Fake):
    """An 4x4 colour thumbnail, centred: same-looking images get close vectors."""
    name = "fake-image"
    dim = 48

    def _encode(self, model: Any, items, query: bool) -> np.ndarray:
        self.calls += len(items)
        rows = [np.asarray(im.convert("RGB").resize((4, 4)), dtype=np.float32).ravel() / 255.0 for im in items]
        x = np.stack(rows)
        return x - 0.5 + 1e-3


def register() -> None:
    """Put the fakes in the model registry under ``TEXT_SPEC`` / ``IMAGE_SPEC`` (for
    processes that build their engine from the configured specs: CLI, server)."""
    from indexer.embed import registry
    with registry._lock:
        registry._cache.setdefault(("text", TEXT_SPEC), FakeTextEmbedder())
        registry._cache.setdefault(("image", IMAGE_SPEC), FakeImageEmbedder())


def write_jsonl(path: Path, rows: list[Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")


def solid_image(path: Path, colour: tuple[int, int, int], size: int = 64) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", (size, size), colour)
    for x in range(size // 4, size // 2):
        for y in range(size // 4, size // 2):
            im.putpixel((x, y), (255 - colour[0], 255 - colour[1], 255 - colour[2]))
    im.save(path, "JPEG")


def tiny_catalog(folder: Path) -> Path:
    """A valid 2-brand, 3-factory, 5-product catalog with images."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "brands.jsonl", [
        {"id": "lululemon", "names": {"en": "lululemon", "zh": "露露乐蒙"}, "aliases": ["lulu"],
         "trademarks": ["lululemon", "露露乐蒙", "Align"], "categories": ["leggings"]},
        {"id": "sonicare", "names": {"en": "Philips Sonicare", "zh": "飞利浦"}, "aliases": ["飞利浦声波"],
         "trademarks": ["Sonicare", "Philips"], "categories": ["toothbrush"]},
    ])
    write_jsonl(folder / "brand_products.jsonl", [
        {"id": "bp-align", "brand": "lululemon", "titles": {"en": "lululemon Align High-Rise Pant", "zh": "露露乐蒙 Align 高腰瑜伽裤"},
         "category": "leggings", "price": 850, "currency": "CNY", "images": ["img/bp-align.jpg"]},
        {"id": "bp-diamond", "brand": "sonicare", "titles": {"en": "Sonicare DiamondClean electric toothbrush", "zh": "飞利浦钻石电动牙刷"},
         "category": "toothbrush", "price": 1999, "currency": "CNY", "images": ["img/bp-diamond.jpg"]},
    ])
    write_jsonl(folder / "factories.jsonl", [
        {"id": "f-oem", "names": {"zh": "义乌针织厂"}, "region": "Zhejiang Yiwu", "ship_within_hours": 24,
         "reply_minutes": 10, "returns": "7-day returns",
         "endorsements": [{"type": "same_foundry", "brand": "lululemon", "evidence": "OEM purchase orders audited",
                           "verified_by": "QA team", "verified_at": "2026-01-10", "expires_at": "2027-01-10"}]},
        {"id": "f-eq", "names": {"zh": "晋江面料厂"}, "region": "Fujian Jinjiang", "ship_within_hours": 48,
         "endorsements": [{"type": "equal_quality", "brand": "lululemon", "evidence": "Lab test of fabric",
                           "verified_by": "SGS", "verified_at": "2026-02-01", "expires_at": "2027-02-01"}]},
        {"id": "f-plain", "names": {"zh": "深圳电器厂"}, "region": "Guangdong Shenzhen", "ship_within_hours": 72},
    ])
    write_jsonl(folder / "products.jsonl", [
        {"id": "p1", "factory": "f-oem", "titles": {"zh": "高腰裸感瑜伽裤", "en": "High-rise nude-feel yoga leggings"},
         "category": "leggings", "price_tiers": [{"min_qty": 2, "price": 79}, {"min_qty": 100, "price": 59}],
         "currency": "CNY", "moq": 2, "images": ["img/p1.jpg"], "dupe_of": ["bp-align"]},
        {"id": "p2", "factory": "f-eq", "titles": {"zh": "瑜伽裤 高弹", "en": "Stretch yoga pants"},
         "category": "leggings", "price_tiers": [{"min_qty": 10, "price": 45}], "currency": "CNY", "moq": 10,
         "images": ["img/p2.jpg"], "dupe_of": ["bp-align"]},
        {"id": "p3", "factory": "f-plain", "titles": {"zh": "声波电动牙刷", "en": "Sonic electric toothbrush"},
         "category": "toothbrush", "price_tiers": [{"min_qty": 5, "price": 120}], "currency": "CNY", "moq": 5,
         "images": ["img/p3.jpg"]},
        {"id": "p4", "factory": "f-plain", "titles": {"zh": "冲牙器 便携", "en": "Portable water flosser"},
         "category": "flosser", "price_tiers": [{"min_qty": 5, "price": 99}], "currency": "CNY", "moq": 5,
         "images": ["img/p4.jpg"]},
        {"id": "p5", "factory": "f-plain", "titles": {"en": "Cotton white shirt"}, "category": "shirt",
         "price_tiers": [{"min_qty": 20, "price": 35}], "currency": "CNY", "moq": 20},
    ])
    colours = {"bp-align": (20, 20, 20), "bp-diamond": (240, 240, 250), "p1": (25, 22, 20), "p2": (60, 60, 200),
               "p3": (235, 235, 245), "p4": (40, 180, 90)}
    for name, colour in colours.items():
        solid_image(folder / "img" / f"{name}.jpg", colour)
    return folder


def indexed_tiny_catalog(root: Path) -> tuple[Path, Path]:
    """``tiny_catalog`` under ``root``/catalog, indexed with the fake embedders into
    ``root``/index (store closed): (catalog folder, index folder)."""
    from indexer.pipeline import Indexer
    from search.store.embedded import EmbeddedStore
    cat = tiny_catalog(root / "catalog")
    store = EmbeddedStore(root / "index")
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    store.close()
    return cat, root / "index"
