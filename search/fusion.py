"""Fusing ranked lists (pure). Ranks are 1-based; a list that did not return a document
adds nothing for it.

- ``rrf``: reciprocal-rank fusion, score = sum(w / (k + rank)).
- ``zscore_fusion``: per-list z-scores of the raw scores, weighted sum; a document missing
  from a list gets that list's floor (its lowest z-score), since it scored below the cut.
- ``lexical_weight``: how much BM25 should count for this query (cross-lingual queries
  have nothing lexical to match, model numbers are matched best lexically).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

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


_MODEL_NUMBER = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{3,}$")


def has_model_number(tokens: Sequence[str]) -> bool:
    """A token mixing letters and digits ("wh1000xm4", "x200") identifies a product exactly."""
    return any(_MODEL_NUMBER.match(t) for t in tokens)


def lexical_weight(coverage: float, model_number: bool, *, low: float = 0.1, high: float = 0.6) -> float:
    """BM25's share in the fusion for one query.

    ``coverage`` is the share of query tokens found in the best lexical hits: a Chinese
    query over an English catalog finds ~nothing (weight ``low``), a query that matches
    lexically counts up to ``high``; a model number present in the hits gets ``high``.
    """
    coverage = min(max(coverage, 0.0), 1.0)
    if model_number and coverage > 0:
        return high
    return low + (high - low) * coverage
