"""Dupe ranking (pure): fused candidates -> labelled, tiered, grouped results.

When a brand (or brand product) is understood, products of factories with a valid
same-foundry endorsement for that brand come first, then equal-quality, then similar;
each tier by match strength. Without a brand, results are ordered by match strength and
still show the label for the brand each product replaces. Counterfeits (brand trademark
words in the listing) are left out unless asked for. A relevance gate drops weak tails.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from search.labels import SIMILAR, Label, TrademarkGuard, label_for
from search.prices import DEFAULT_FX_TO_CNY, TierSaving, tier_savings


@dataclass
class Candidate:
    id: str
    fused: float
    signals: dict[str, float]            # "bm25", "text", "image", "ocr": raw scores
    source: dict[str, Any]               # product record + denormalised factory
    matched_words: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RankingConfig:
    min_text_cosine: float = 0.25        # a candidate needs one signal at least this strong...
    min_image_cosine: float = 0.15       # real photos vs catalog shots score low (grocery: median .32)
    max_drop: float = 3.0                # ...and a fused score (z units) at most this far below the best
    group_by_factory: bool = True
    include_counterfeits: bool = False


@dataclass
class Result:
    id: str
    score: float
    label: Label
    product: dict[str, Any]
    factory: dict[str, Any]
    replaces: dict[str, Any] | None
    savings: list[TierSaving]
    why: dict[str, Any]
    counterfeit: list[tuple[str, str]] = field(default_factory=list)
    more: list[dict[str, Any]] = field(default_factory=list)    # collapsed listings of the same factory
    tier: int = 2


def _relevant(c: Candidate, cfg: RankingConfig) -> bool:
    return (c.signals.get("bm25", 0.0) > 0 or c.signals.get("ocr", 0.0) > 0
            or c.signals.get("text", 0.0) >= cfg.min_text_cosine
            or c.signals.get("image", 0.0) >= cfg.min_image_cosine)


def apply_gate(cands: Sequence[Candidate], cfg: RankingConfig) -> list[Candidate]:
    kept = [c for c in cands if _relevant(c, cfg)]
    if not kept:
        return []
    top = max(c.fused for c in kept)
    # Near the best, or above the mean of the retrieved candidates (z-fused scores are
    # centred on it): an exact match scoring far above everything must not push out the
    # good matches behind it.
    return [c for c in kept if c.fused >= top - cfg.max_drop or c.fused >= 0.0]


def _replaces(source: Mapping[str, Any], brand: str | None, target: Mapping[str, Any] | None,
              brand_products: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    dupe_of = [brand_products[b] for b in source.get("dupe_of") or [] if b in brand_products]
    if target is not None and any(bp.get("id") == target.get("id") for bp in dupe_of):
        return dict(target)
    for bp in dupe_of:
        if brand is None or bp.get("brand") == brand:
            return dict(bp)
    return dict(target) if target is not None else None


def rank(cands: Sequence[Candidate], *, brand: str | None, target: Mapping[str, Any] | None,
         brand_products: Mapping[str, Mapping[str, Any]], guard: TrademarkGuard, today: dt.date,
         cfg: RankingConfig = RankingConfig(), fx: Mapping[str, float] = DEFAULT_FX_TO_CNY) -> list[Result]:
    """Rank candidates (already fused, best first) as dupes. See the module docstring."""
    results: list[Result] = []
    found = {c.id: _trademark_hits(c.source, guard) for c in cands}
    allowed = [c for c in cands if cfg.include_counterfeits or not found[c.id]]
    for c in apply_gate(allowed, cfg):
        src = c.source
        factory = src.get("factory") or {}
        counterfeit = found[c.id]
        replaces = _replaces(src, brand, target, brand_products)
        label_brand = brand or (replaces or {}).get("brand")
        label = SIMILAR if counterfeit else label_for(factory, label_brand, today)
        same_kind = (target is None or src.get("category") == target.get("category")
                     or target.get("id") in (src.get("dupe_of") or []))
        tier = label.rank if (brand is not None and same_kind) else 2
        savings = []
        if replaces is not None:
            savings = tier_savings(src.get("price_tiers") or [], src.get("currency", "CNY"),
                                   float(replaces.get("price") or 0), replaces.get("currency", "CNY"), fx)
        why = {"signals": {k: round(v, 4) for k, v in c.signals.items()}, "words": c.matched_words}
        product = {k: v for k, v in src.items() if k not in ("factory", "_keys", "trademark_hits")}
        results.append(Result(c.id, c.fused, label, product, factory, replaces, savings, why, counterfeit, tier=tier))

    if brand is not None:
        results.sort(key=lambda r: (r.tier, -r.score))
    else:
        results.sort(key=lambda r: -r.score)
    return group_by_factory(results) if cfg.group_by_factory else results


def _trademark_hits(source: Mapping[str, Any], guard: TrademarkGuard) -> list[tuple[str, str]]:
    """Trademark words in a listing: found by the indexer, or here for documents without them."""
    hits = source.get("trademark_hits")
    if hits is not None:
        return [(b, w) for b, w in hits]
    return guard.find((source.get("titles") or {}).values())


def group_by_factory(results: Sequence[Result]) -> list[Result]:
    """Keep the best result per factory; its other listings go into ``more``."""
    first: dict[str, Result] = {}
    out: list[Result] = []
    for r in results:
        fid = r.factory.get("id") or r.id
        if fid in first:
            first[fid].more.append({"id": r.id, "titles": r.product.get("titles"), "score": r.score,
                                    "min_price": r.product.get("min_price")})
        else:
            first[fid] = r
            out.append(r)
    return out
