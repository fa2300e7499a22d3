"""Pure mapping from catalog records to index documents (without vectors).

Each ``DocPlan`` says what the document is, what text and images feed its vectors, and a
content hash over all of that; the pipeline embeds only plans whose hash changed. Every
image of a record is embedded, up to ``schema.MAX_IMAGES`` (main image first).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.catalog.records import (
    Brand,
    BrandProduct,
    Catalog,
    Factory,
    Product,
    to_json,
)
from search.analysis import Analyzer, alias_map
from search.labels import TrademarkGuard
from search.regions import path as region_path
from search.regions import prefixes
from search.store.base import IndexDoc
from search.store.schema import FIELDS, MAX_IMAGES, doc_id, label_key
from search.texts import canonical

ANALYSIS_VERSION = "5"
# BM25 runs on one token field, so field weights are expressed by repetition (BM25F with
# integer weights): titles count twice, and only the start of a description counts, since
# long marketing text drowns the identifying words. Measured on the quality benchmark
# (Abt-Buy, WDC, Shopee, Product1M): titles x2 + 30 description tokens beat both
# titles-only and full descriptions across the sets.
TITLE_WEIGHT = 2
DESCRIPTION_TOKENS = 30


# One encoder for every hash (json.dumps with options builds a new one per call); the
# text it writes is json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).
_HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _hash(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(_HASH_JSON.encode(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:32]


@dataclass
class DocPlan:
    doc: IndexDoc                      # vectors still None
    texts: list[str]                   # embedded one by one, then averaged
    images: list[str]                  # image references to embed, one vector each (``plan_images``)
    text_key: str                      # hash of what the text vector depends on
    # What each image's vector depends on, by image (filled by the pipeline), and the
    # vectors found so far (reused or embedded; None: not yet, or it failed).
    image_keys: list[str] = dataclasses.field(default_factory=list)
    image_found: list[np.ndarray | None] = dataclasses.field(default_factory=list)


def plan_images(refs: list[str]) -> list[str]:
    """The images of a record that get a vector: distinct, in catalog order (the main image
    first), at most ``MAX_IMAGES`` (see there why)."""
    return list(dict.fromkeys(refs))[:MAX_IMAGES]


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _to_json(v: Any) -> Any:
    """``records.to_json``, ~3x faster (it ran for every product and its factory: a quarter
    of planning): exact built-in types are dispatched first and field names are looked up
    once per record class. Anything unusual goes to ``to_json`` itself."""
    t = type(v)
    if t in _SCALARS:
        return v
    if t is dict:
        return {k: _to_json(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [_to_json(x) for x in v]
    names = _FIELDS.get(t)
    if names is None:
        if not dataclasses.is_dataclass(t):
            return to_json(v)
        names = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(t))
    return {n: _to_json(getattr(v, n)) for n in names}


def _factory_view(f: Factory) -> dict:
    return _to_json(f)


def endorsement_labels(f: Factory) -> list[str]:
    """The factory's endorsements that carry evidence, each as its type and as its type
    scoped by brand (``"same_foundry"``, ``"same_foundry:lululemon"``), sorted and distinct:
    what ``Filters.labels`` matches. Expiry is judged at query time, not here."""
    return sorted({label for e in f.endorsements if e.evidence for label in (e.type, label_key(e.type, e.brand))})


def plan_product(p: Product, cat: Catalog, analyzer: Analyzer, guard: TrademarkGuard) -> DocPlan:
    f = cat.factories[p.factory]
    targets = [cat.brand_products[b] for b in p.dupe_of if b in cat.brand_products]
    source = _to_json(p)
    source["factory"] = _factory_view(f)
    source["min_price"] = p.min_price
    # Trademark words in the listing (a counterfeit, not a dupe), found once at index time.
    source["trademark_hits"] = [list(hit) for hit in guard.find(p.titles.values())]
    attr_text = " ".join(f"{k} {v}" for k, v in p.attributes.items())
    title_tokens = analyzer.tokens_many(p.titles.values())
    tokens = (title_tokens * TITLE_WEIGHT + analyzer.tokens_many([p.category, attr_text])
              + analyzer.tokens(p.description, limit=DESCRIPTION_TOKENS))
    texts = list(p.titles.values())
    doc = IndexDoc(id=doc_id("product", p.id), kind="product", source=source, tokens=tokens, content_hash="",
                   category=p.category, price_min=p.min_price, moq=p.moq, region=region_path(f.region),
                   regions=prefixes(region_path(f.region)),
                   ship_within_hours=f.ship_within_hours, factory=f.id,
                   brand=targets[0].brand if targets else None, labels=endorsement_labels(f),
                   dupe_of=list(dict.fromkeys(bp.id for bp in targets)),
                   certifications=[c for c in map(canonical, f.certifications) if c])
    return DocPlan(doc, texts, plan_images(p.images), _hash(texts))


def plan_brand_product(bp: BrandProduct, cat: Catalog, analyzer: Analyzer) -> DocPlan:
    brand = cat.brands[bp.brand]
    source = _to_json(bp)
    source["brand_names"] = brand.names
    tokens = (analyzer.tokens_many(bp.titles.values()) * TITLE_WEIGHT
              + analyzer.tokens_many([*brand.names.values(), bp.category]))
    texts = list(bp.titles.values())
    doc = IndexDoc(id=doc_id("brand_product", bp.id), kind="brand_product", source=source, tokens=tokens,
                   content_hash="", category=bp.category, price_min=bp.price, brand=bp.brand)
    return DocPlan(doc, texts, plan_images(bp.images), _hash(texts))


def plan_brand(b: Brand) -> DocPlan:
    # Brand docs are not searched by text: their tokens stay empty so they never enter BM25.
    doc = IndexDoc(id=doc_id("brand", b.id), kind="brand", source=_to_json(b), tokens=[], content_hash="",
                   brand=b.id)
    return DocPlan(doc, [], [], _hash([]))


def iter_plans(cat: Catalog) -> Iterator[DocPlan]:
    """The plans of a catalog, one at a time (brands, brand products, then products), so
    the indexer can embed the first batches while it plans the rest."""
    analyzer = Analyzer(alias_map(to_json(b) for b in cat.brands.values()))
    guard = TrademarkGuard({b.id: b.trademarks for b in cat.brands.values()})
    for b in cat.brands.values():
        yield plan_brand(b)
    for bp in cat.brand_products.values():
        yield plan_brand_product(bp, cat, analyzer)
    for p in cat.products.values():
        yield plan_product(p, cat, analyzer, guard)


def plan_catalog(cat: Catalog) -> list[DocPlan]:
    return list(iter_plans(cat))


def finish_hash(plan: DocPlan, models: dict[str, str]) -> str:
    """The content hash: changes whenever anything the stored document depends on changes."""
    d = plan.doc
    return _hash(ANALYSIS_VERSION, models, d.source, d.tokens, *(getattr(d, f.name) for f in FIELDS),
                 plan.text_key, plan.image_keys)
