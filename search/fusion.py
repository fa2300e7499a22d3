"""Fusing ranked lists (pure). Ranks are 1-based; a list that did not return a document
adds nothing for it.

- ``rrf``: reciprocal-rank fusion, score = sum(w / (k + rank)).
- ``zscore_fusion``: per-list z-scores of the raw scores, weighted sum; a document missing
  from a list gets that list's floor (its lowest z-score), since it scored below the cut.
- ``lexical_weight``: how much BM25 should count for this query, from what its lists say
  about themselves (``Evidence``: coverage, each list's top gap): cross-lingual queries
  have nothing lexical to match, and a list whose first hit stands far above the rest is
  sure of it.
- ``code_rule``: an exact product-code match gets a bonus (model numbers are what decides
  between near-identical titles), and a listing carrying another code never stays above a
  code match of the same brand.

The few numbers of the rule (``RULE``) are fitted on the tuning halves of every text
dataset of the quality benchmark together: ``python -m benchmarks.fit_fusion``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Ranking = Sequence[tuple[str, float]]        # (doc id, score), best first


def rrf(rankings: Mapping[str, Ranking], weights: Mapping[str, float] | None = None, k: int = 60) -> list[tuple[str, float]]:
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 0.0)
        for rank, (doc, _) in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def zscores(ranking: Ranking) -> dict[str, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    if std < 1e-9:
        return {d: 0.0 for d, _ in ranking}
    return {d: (s - mean) / std for d, s in ranking}


def zscore_fusion(rankings: Mapping[str, Ranking], weights: Mapping[str, float]) -> list[tuple[str, float]]:
    per = {name: zscores(r) for name, r in rankings.items() if r and weights.get(name, 0.0) > 0}
    docs: dict[str, None] = {}
    for z in per.values():
        docs.update(dict.fromkeys(z))
    total = sum(weights[n] for n in per) or 1.0
    # A document missing from a list counts as that list's worst score.
    floor = {name: min(z.values()) for name, z in per.items()}
    fused = {}
    for d in docs:
        s = 0.0
        for name, z in per.items():
            s += weights[name] * z.get(d, floor[name])
        fused[d] = s / total
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def top_gap(ranking: Ranking) -> float:
    """How far the first hit stands above the second, in the list's z units (0 for a list
    of fewer than two hits or of equal scores)."""
    if len(ranking) < 2:
        return 0.0
    z = zscores(ranking)
    return z[ranking[0][0]] - z[ranking[1][0]]


@dataclass(frozen=True)
class Evidence:
    """What one query's lexical and dense lists say about themselves."""
    coverage: float                 # share of the query's tokens found in the best lexical hits
    lexical_gap: float = 0.0        # ``top_gap`` of the BM25 list
    dense_gap: float = 0.0          # ``top_gap`` of the dense list


@dataclass(frozen=True)
class FusionRule:
    """The per-query fusion's few parameters (fitted: see the module docstring)."""
    low: float = 0.1                # BM25's weight when nothing of the query is found lexically
    high: float = 0.6               # ... when all of it is
    gap: float = 0.0                # weight moved towards the list whose first hit stands out, per z unit
    code_bonus: float = 0.0         # added to the fused score (z units) of a listing carrying the query's code
    floor: float = 0.05             # neither list ever counts less than this


# Fitted by ``python -m benchmarks.fit_fusion`` on the tuning halves of Abt-Buy, WDC
# Products, Shopee and Product1M together (2026-12-02; ``low`` kept <= 0.2 by its grid).
RULE = FusionRule(low=0.2, high=0.55, gap=0.05, code_bonus=1.5)


def lexical_weight(ev: Evidence, rule: FusionRule = RULE) -> float:
    """BM25's share in the fusion for one query (the dense list gets the rest).

    Coverage sets it between ``low`` and ``high`` (a Chinese query over an English catalog
    finds ~nothing lexically); then the list whose first hit stands further above its
    second gets more say (``gap``), within ``floor`` of either end."""
    coverage = min(max(ev.coverage, 0.0), 1.0)
    w = rule.low + (rule.high - rule.low) * coverage
    if coverage > 0:
        w += rule.gap * (ev.lexical_gap - ev.dense_gap)
    return min(max(w, rule.floor), 1.0 - rule.floor)


CODE_MARGIN = 1e-6          # how far a code match is put above a mismatch it must beat


def code_rule(fused: Ranking, state: Mapping[str, int], brand: Mapping[str, str | None],
              bonus: float = RULE.code_bonus) -> list[tuple[str, float]]:
    """``fused`` (best first) after the product-code rule. ``state``: +1 a listing carries
    one of the query's codes, -1 it carries only other codes, 0 (or absent) neither;
    ``brand``: each listing's brand when known.

    A match gains ``bonus``; then no mismatch of the same brand (or of an unknown one)
    stays above a match: the match is lifted just above the best such mismatch. Listings
    of two known, different brands are not compared: another maker's product may well be
    the better answer."""
    scores = {d: s + (bonus if state.get(d, 0) > 0 else 0.0) for d, s in fused}
    matched = [d for d, _ in fused if state.get(d, 0) > 0]
    mismatched = [d for d, _ in fused if state.get(d, 0) < 0]
    if matched and mismatched:
        for m in matched:
            bm = brand.get(m)
            rivals = [scores[x] for x in mismatched
                      if bm is None or brand.get(x) is None or brand.get(x) == bm]
            if rivals and max(rivals) >= scores[m]:
                scores[m] = max(rivals) + CODE_MARGIN
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
