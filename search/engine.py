"""The search path: understand the query, retrieve (BM25 + text kNN + image kNN, filtered
inside each), fuse, and rank as dupes. The one code path used by the service, the CLI and
the quality benchmark.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from indexer.embed.base import Embedder
from search.analysis import Analyzer, alias_map
from search.brands import BrandDetector, BrandHit
from search.fusion import has_model_number, lexical_weight, rrf, zscore_fusion
from search.labels import TrademarkGuard
from search.ranking import Candidate, RankingConfig, Result, rank
from search.store.base import Filters, Hit, Store

Mode = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class SearchRequest:
    text: str | None = None
    image: Any = None                                  # PIL image (already validated)
    crop: tuple[int, int, int, int] | None = None      # x, y, w, h in image pixels
    filters: Filters = Filters()
    k: int = 20
    offset: int = 0
    mode: Mode = "hybrid"
    fusion: Literal["zscore", "rrf"] = "zscore"
    ocr: bool = True
    group_by_factory: bool = True
    include_counterfeits: bool = False
    brand: str | None = None                           # the user's correction of the detected brand
    brand_product: str | None = None                   # ... or of the detected brand product
    today: dt.date | None = None


@dataclass
class Understanding:
    text: str | None = None
    ocr_text: str | None = None
    brand: BrandHit | None = None
    other_brands: list[BrandHit] = field(default_factory=list)
    brand_product: dict[str, Any] | None = None        # {id, brand, titles, price, currency, how, confidence}
    looks_like: list[dict[str, Any]] = field(default_factory=list)
    lexical_weight: float | None = None
    tokens: list[str] = field(default_factory=list)


@dataclass
class SearchResponse:
    understood: Understanding
    results: list[Result]
    total: int
    took_ms: float
    timings: dict[str, float] = field(default_factory=dict)


class QueryError(ValueError):
    """The request cannot be searched (no text and no photo, a crop outside the photo...)."""


@dataclass
class _CatalogView:
    generation: int
    analyzer: Analyzer
    detector: BrandDetector
    guard: TrademarkGuard
    brands: dict[str, dict[str, Any]]
    brand_products: dict[str, dict[str, Any]]


# A brand product is "the one meant" only above these similarities (cosine).
BRAND_PRODUCT_MIN_TEXT = 0.55
BRAND_PRODUCT_MIN_IMAGE = 0.55
IMAGE_BRAND_MIN = 0.6
LOOKS_LIKE_MIN = 0.3          # below this a neighbour is not worth naming


class SearchEngine:
    def __init__(self, store: Store, text: Embedder, image: Embedder | None = None, ocr: Any = None, *,
                 ranking: RankingConfig = RankingConfig(), today: Callable[[], dt.date] = dt.date.today) -> None:
        self.store, self.text, self.image, self.ocr = store, text, image, ocr
        self.ranking = ranking
        self.today = today
        self._view: _CatalogView | None = None
        self._lock = threading.Lock()
        models = {"text": text.model_id}
        if image is not None:
            models["image"] = image.model_id
        store.check_models(models)

    # -- catalog-level data (brands, brand products), refreshed when the index changes ----
    def view(self) -> _CatalogView:
        gen = self.store.generation()
        with self._lock:
            if self._view is None or self._view.generation != gen:
                brands = {d.source["id"]: d.source for d in self.store.scan("brand")}
                bps = {d.source["id"]: d.source for d in self.store.scan("brand_product")}
                self._view = _CatalogView(
                    gen, Analyzer(alias_map(brands.values())), BrandDetector(brands.values()),
                    TrademarkGuard({b: [*(s.get("trademarks") or [])] for b, s in brands.items()}), brands, bps)
            return self._view

    # -- the search path -------------------------------------------------------------------
    def search(self, req: SearchRequest) -> SearchResponse:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        text = (req.text or "").strip()
        if not text and req.image is None:
            raise QueryError("give a text query or a photo")
        view = self.view()
        u = Understanding(text=text or None)
        n = max(100, 5 * (req.k + req.offset))
        lists: dict[str, list[Hit]] = {}
        weights: dict[str, float] = {}

        image = _crop(req.image, req.crop) if req.image is not None else None
        if image is not None and req.ocr and self.ocr is not None:
            t = time.perf_counter()
            u.ocr_text = self.ocr.read_text(image) or None
            timings["ocr"] = time.perf_counter() - t

        # Brand understanding: the user's correction wins, then text, then OCR.
        hits = view.detector.detect(text) if text else []
        if u.ocr_text:
            hits += [h for h in view.detector.detect(u.ocr_text, how="ocr") if h.brand not in {x.brand for x in hits}]
        if req.brand and req.brand in view.brands:
            hits = [BrandHit(req.brand, view.detector.name(req.brand), req.brand, "user", 1.0)] + \
                   [h for h in hits if h.brand != req.brand]
        u.brand, u.other_brands = (hits[0], hits[1:]) if hits else (None, [])

        f = req.filters
        t = time.perf_counter()
        qvec = None
        if text:
            u.tokens = view.analyzer.tokens(text)
            if req.mode in ("hybrid", "bm25"):
                lists["bm25"] = self.store.bm25(u.tokens, n, f)
            if req.mode in ("hybrid", "dense"):
                qvec = self.text.embed(text, query=True)
                lists["text"] = self.store.knn("text", qvec, n, f)
        ivec = None
        if image is not None and self.image is not None:
            ivec = self.image.embed(image, query=True)
            lists["image"] = self.store.knn("image", ivec, n, f)
        if u.ocr_text and req.mode != "dense":
            ocr_tokens = view.analyzer.tokens(u.ocr_text)
            lists["ocr"] = self.store.bm25(ocr_tokens, n, f)
        timings["retrieve"] = time.perf_counter() - t

        # Which brand product is meant: the user's correction, else the nearest brand
        # reference product by text or image, if near enough.
        self._understand_brand_product(req, u, view, qvec, ivec)

        # Per-query weights: lexical evidence decides how much BM25 counts.
        t = time.perf_counter()
        if "bm25" in lists:
            best = [d for d in self.store.get([h.id for h in lists["bm25"][:3]], vectors=False) if d is not None]
            cov = _coverage(u.tokens, [d.tokens for d in best])
            w = lexical_weight(cov, has_model_number(u.tokens)) if req.mode == "hybrid" else 1.0
            weights["bm25"] = w
            u.lexical_weight = round(w, 3)
        if "text" in lists:
            weights["text"] = 1.0 - weights.get("bm25", 0.0) if req.mode == "hybrid" else 1.0
        if "image" in lists:
            weights["image"] = 1.0
        if "ocr" in lists:
            weights["ocr"] = 0.3
        ranked = {k: [(h.id, h.score) for h in v] for k, v in lists.items()}
        fused = zscore_fusion(ranked, weights) if req.fusion == "zscore" else rrf(ranked, weights)
        # Only the head of the fused list can reach the page (after the relevance gate,
        # counterfeits and grouping take their share), so only it is fetched.
        head = fused[:max(60, 3 * (req.k + req.offset))]
        docs = {d.id: d for d in self.store.get([i for i, _ in head], vectors=False) if d is not None}
        raw = {k: {h.id: h.score for h in v} for k, v in lists.items()}
        qset = set(u.tokens)
        cands = []
        for doc_id, score in head:
            d = docs.get(doc_id)
            if d is None:
                continue
            signals = {k: raw[k][doc_id] for k in raw if doc_id in raw[k]}
            cands.append(Candidate(doc_id, score, signals, d.source, sorted(qset.intersection(d.tokens))))
        timings["fuse"] = time.perf_counter() - t

        t = time.perf_counter()
        brand = u.brand.brand if u.brand else (u.brand_product or {}).get("brand")
        cfg = replace(self.ranking, group_by_factory=req.group_by_factory,
                      include_counterfeits=req.include_counterfeits)
        results = rank(cands, brand=brand, target=u.brand_product, brand_products=view.brand_products,
                       guard=view.guard, today=req.today or self.today(), cfg=cfg)
        timings["rank"] = time.perf_counter() - t
        page = results[req.offset:req.offset + req.k]
        return SearchResponse(u, page, len(results), (time.perf_counter() - t0) * 1000,
                              {k: round(v * 1000, 2) for k, v in timings.items()})

    def _understand_brand_product(self, req: SearchRequest, u: Understanding, view: _CatalogView,
                                  qvec: np.ndarray | None, ivec: np.ndarray | None) -> None:
        if req.brand_product and req.brand_product in view.brand_products:
            u.brand_product = {**_bp_view(view.brand_products[req.brand_product]), "how": "user", "confidence": 1.0}
            return
        brand = u.brand.brand if u.brand else None
        bp_filter = Filters(kind="brand_product", brand=brand)
        best: dict[str, Any] | None = None
        if ivec is not None:
            hits = self.store.knn("image", ivec, 3, Filters(kind="brand_product"))
            u.looks_like = [{**_bp_view(view.brand_products[h.id.split(":", 1)[1]]), "confidence": round(h.score, 3)}
                            for h in hits if h.id.split(":", 1)[1] in view.brand_products and h.score >= LOOKS_LIKE_MIN]
            if u.looks_like and u.looks_like[0]["confidence"] >= BRAND_PRODUCT_MIN_IMAGE and \
                    (brand is None or u.looks_like[0]["brand"] == brand):
                best = {**u.looks_like[0], "how": "image"}
        if best is None and qvec is not None:
            hits = self.store.knn("text", qvec, 1, bp_filter)
            if hits and hits[0].score >= BRAND_PRODUCT_MIN_TEXT:
                bp = view.brand_products.get(hits[0].id.split(":", 1)[1])
                if bp is not None:
                    best = {**_bp_view(bp), "how": "text", "confidence": round(hits[0].score, 3)}
        u.brand_product = best
        if u.brand is None and best is not None and best["confidence"] >= IMAGE_BRAND_MIN:
            u.brand = BrandHit(best["brand"], view.detector.name(best["brand"]), best["id"], best["how"],
                               best["confidence"])


def _bp_view(bp: dict[str, Any]) -> dict[str, Any]:
    return {k: bp.get(k) for k in ("id", "brand", "titles", "category", "price", "currency", "images")}


def _coverage(query_tokens: list[str], hit_tokens: list[list[str]]) -> float:
    """Share of distinct query tokens present in the best lexical hits."""
    q = set(query_tokens)
    if not q or not hit_tokens:
        return 0.0
    best = max(len(q.intersection(t)) for t in hit_tokens)
    return best / len(q)


def _crop(image: Any, crop: tuple[int, int, int, int] | None) -> Any:
    if crop is None:
        return image
    x, y, w, h = crop
    W, H = image.size
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > W or y + h > H:
        raise QueryError(f"crop ({x}, {y}, {w}, {h}) is outside the {W}x{H} photo")
    return image.crop((x, y, x + w, y + h))
