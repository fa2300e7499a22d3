"""Shared builders for the web tests: a real small index (fake embedders, embedded store)
over the conftest's tiny catalog plus one product whose title and factory name try to
inject HTML, and the app around it. Imported by the other ``test_web_*`` modules."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, solid_image, tiny_catalog, write_jsonl
from web import create_app

EVIL_TITLE = "<script>alert('x')</script> yoga leggings"
EVIL_FACTORY = "<img src=x onerror=alert(1)>厂"
TODAY = dt.date(2026, 6, 1)


def catalog(folder: Path) -> Path:
    tiny_catalog(folder)
    factories = [json.loads(line) for line in (folder / "factories.jsonl").read_text().splitlines()]
    factories.append({"id": "f-evil", "names": {"en": EVIL_FACTORY}, "region": "Zhejiang Yiwu",
                      "ship_within_hours": 48})
    write_jsonl(folder / "factories.jsonl", factories)
    products = [json.loads(line) for line in (folder / "products.jsonl").read_text().splitlines()]
    products.append({"id": "p6", "factory": "f-evil", "titles": {"en": EVIL_TITLE}, "category": "leggings",
                     "price_tiers": [{"min_qty": 50, "price": 30}], "currency": "CNY", "moq": 50,
                     "images": ["img/p6.jpg"], "dupe_of": ["bp-align"]})
    # A listing that uses the brand's trademark: a counterfeit, hidden unless asked for.
    products.append({"id": "p7", "factory": "f-plain", "titles": {"en": "lululemon Align leggings copy"},
                     "category": "leggings", "price_tiers": [{"min_qty": 5, "price": 25}], "currency": "CNY",
                     "moq": 5})
    write_jsonl(folder / "products.jsonl", products)
    solid_image(folder / "img" / "p6.jpg", (200, 30, 30))
    return folder


def build_engine(root: Path) -> tuple[SearchEngine, Path, Path]:
    """(engine, catalog folder, index folder) under ``root``."""
    cat = catalog(root / "catalog")
    index = root / "index"
    store = EmbeddedStore(index)
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    report = Indexer(store, text, image).run(cat)
    assert report.rejected == 0, report.rejects
    return SearchEngine(store, text, image, None, today=lambda: TODAY), cat, index


def make_app(root: Path, built: tuple[SearchEngine, Path, Path] | None = None, **config: Any):
    """The app over ``built`` (from ``build_engine``; built under ``root`` if not given)."""
    engine, cat, index = built or build_engine(root)
    cfg = {"TESTING": True, "ENGINE": engine, "CATALOG_DIR": str(cat), "INDEX_DIR": str(index),
           "UPLOAD_DIR": str(root / "uploads"), "URL_FETCHER": refuse_fetch,
           "ANON_RATE_LIMIT_PER_MIN": 100_000, "PAGE_RATE_LIMIT_PER_MIN": 100_000}
    cfg.update(config)
    return create_app(cfg)


def refuse_fetch(url: str, **kw: Any) -> bytes:
    """Tests never reach the network: any URL that would be fetched fails like a dead host."""
    from indexer.images import fetch_url
    # The real guard first, so private/loopback/link-local addresses are refused by it.
    return fetch_url(url, resolver=_no_dns, **kw)


def _no_dns(host: str, port: int) -> list[str]:
    import ipaddress
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        raise OSError(f"no DNS in tests ({host})") from None


def jpeg_bytes(colour: tuple[int, int, int] = (25, 22, 20), size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def png_bytes(colour: tuple[int, int, int] = (25, 22, 20), size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def test_helper_index_has_the_catalog(tmp_path):
    engine, cat, _ = build_engine(tmp_path)
    assert engine.store.info().count == 11          # 2 brands + 2 brand products + 7 products
    assert (cat / "img" / "p6.jpg").exists()


def test_refuse_fetch_refuses_private_addresses_before_connecting(tmp_path):
    import pytest

    from indexer.images import ImageError
    for url in ("http://127.0.0.1/x.jpg", "http://10.0.0.1/x.jpg", "http://169.254.169.254/latest"):
        with pytest.raises(ImageError, match="non-public"):
            refuse_fetch(url, timeout=1, max_bytes=100)
    with pytest.raises(ImageError, match="cannot resolve"):
        refuse_fetch("http://example.invalid/x.jpg", timeout=1, max_bytes=100)
