"""Catalog-level data of one index generation (``CatalogView``): brands, brand products and
their vectors, decoded once and kept with the caches of that generation (decoded listings,
anchor lists); and the anchor lists' shape (``Anchors``)."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search import models
from search.analysis import Analyzer
from search.labels import TrademarkGuard
from search.records import Brand, BrandProduct
from search.store.base import Hit
from search.understanding import Understander

BRAND_PRODUCT_DEPTH = 50      # brand products compared with the query's text and photo (a named brand's among them)


@dataclass
class CatalogView:
    """Catalog-level data (brands, brand products and their vectors), decoded once per
    index generation, and the anchor lists computed from it."""
    generation: int
    analyzer: Analyzer
    guard: TrademarkGuard
    brands: dict[str, Brand]
    brand_products: dict[str, BrandProduct]
    understander: Understander
    vectors: dict[str, dict[str, np.ndarray]]          # brand product id -> field -> vector (main image's)
    anchors: OrderedDict[Any, "Anchors"] = field(default_factory=OrderedDict)
    factories: dict[str, Any] = field(default_factory=dict)   # decoded factories of this generation
    # Decoded candidates (listing, tokens) of this generation: the heads of searches for
    # the same brand products repeat, and fetching and decoding them was a third of a search.
    listings: OrderedDict[str, tuple[models.Listing, list[str]]] = field(default_factory=OrderedDict)
    # Every image's vector of each brand product (main first): a photo of its back or its
    # box is understood as the product too. Anchor lists use the main image's.
    image_vectors: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    _matrices: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)

    def nearest_brand_products(self, name: str, vec: np.ndarray | None,
                               k: int = BRAND_PRODUCT_DEPTH) -> list[tuple[str, float]]:
        """(brand product id, cosine), best first: exact, over the brand products' own
        vectors kept in memory (a few hundred; the store would read them from disk)."""
        if vec is None:
            return []
        if name not in self._matrices:
            sets = {i: (self.image_vectors.get(i) or (v[name],)) if name == "image" else (v[name],)
                    for i, v in self.vectors.items() if name in v}
            ids = list(sets)
            rows = [x for i in ids for x in sets[i]]
            # each brand product's rows are consecutive: starts[j] is brand product j's first
            starts = np.cumsum([0] + [len(sets[i]) for i in ids[:-1]]) if ids else np.zeros(0, dtype=np.int64)
            self._matrices[name] = (ids, np.stack(rows) if rows else np.zeros((0, 1)), starts)
        ids, m, starts = self._matrices[name]
        if not ids or m.shape[1] != vec.shape[-1]:
            return []
        scores = np.maximum.reduceat(m @ np.asarray(vec, dtype=np.float32), starts)   # best image each
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[i], float(scores[i])) for i in order]


@dataclass(frozen=True)
class Anchors:
    lists: dict[str, list[Hit]]                        # "anchor_text", "anchor_image"
    nearest: dict[str, dict[str, float]]               # record id -> brand product id -> similarity
    declared: frozenset[str]                           # record ids of listings declaring one of the anchors
