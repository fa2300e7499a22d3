"""Dupe ranking (pure): fused candidates -> claimed, tiered, grouped results.

Every result's label and saving come from the claim rule (``search.claims.decide``)
against one brand product: the one the search is about, else (with only a brand
understood) the listing's declared or closest product of that brand, else the brand
product the listing declares. With a brand understood, results are tiered: same foundry,
then equal quality, then similar, and within a tier the listings that declare the target
first, then by match strength (fused score, which with a target is mostly the similarity
to the brand product). A listing of another kind of product than the one searched for is
not shown. Without a brand, results are ordered by match strength. The ``label`` filter
keeps the results whose *decided* label it names. Counterfeits are left out unless asked
for (and then never labelled). A relevance gate drops weak tails.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from search.claims import Claim, decide, reference
from search.models import Listing
from search.prices import DEFAULT_FX_TO_CNY
from search.records import BrandProduct


@dataclass
class Candidate:
    id: str                              # record id
    fused: float
    signals: dict[str, float]            # "bm25", "text", "image", "ocr", "anchor_text", "anchor_image"
    listing: Listing
    matched_words: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RankingConfig:
    min_text_cosine: float = 0.25        # a candidate needs one signal at least this strong...
    min_image_cosine: float = 0.15       # real photos vs catalog shots score low (grocery: median .32)
    max_drop: float = 3.0                # ...and a fused score (z units) at most this far below the best
    group_by_factory: bool = True
    include_counterfeits: bool = False
    lexical_is_relevant: bool = True     # any BM25 match keeps a candidate (not for an unknown brand's words)


# A query naming a brand the catalog does not carry: nothing is compared with anything,
# and only products close to its other words are shown.
UNKNOWN_BRAND = RankingConfig(min_text_cosine=0.5, min_image_cosine=0.5, lexical_is_relevant=False)


@dataclass
class Result:
    id: str
    score: float
    listing: Listing
    claim: Claim
    why: dict[str, object]
    tier: int = 2
    declared: bool = False               # the listing declares the brand product searched for
    more: list["Result"] = field(default_factory=list)    # collapsed listings of the same factory

    @property
    def label(self):  # noqa: ANN201 - Label; kept short for templates and tests
        return self.claim.label


def _relevant(c: Candidate, cfg: RankingConfig, declared: bool) -> bool:
    s = c.signals
    lexical = cfg.lexical_is_relevant and (s.get("bm25", 0.0) > 0 or s.get("ocr", 0.0) > 0)
    text = max((s[k] for k in ("text", "anchor_text") if k in s), default=-math.inf)
    image = max((s[k] for k in ("image", "anchor_image") if k in s), default=-math.inf)
    return declared or lexical or text >= cfg.min_text_cosine or image >= cfg.min_image_cosine


def apply_gate(cands: Sequence[Candidate], cfg: RankingConfig,
               declared: frozenset[str] | set[str] = frozenset()) -> list[Candidate]:
    kept = [c for c in cands if _relevant(c, cfg, c.id in declared)]
    if not kept:
        return []
    top = max(c.fused for c in kept)
    # Near the best, or above the mean of the retrieved candidates (z-fused scores are
    # centred on it): an exact match scoring far above everything must not push out the
    # good matches behind it. A declared dupe of the target is always kept.
    return [c for c in kept if c.fused >= top - cfg.max_drop or c.fused >= 0.0 or c.id in declared]


def rank(cands: Sequence[Candidate], *, target: BrandProduct | None, brand: str | None,
         brand_products: Mapping[str, BrandProduct], today: dt.date, cfg: RankingConfig = RankingConfig(),
         categories: Sequence[str] = (), labels: Sequence[str] = (),
         closest: Callable[[Listing], BrandProduct | None] | None = None,
         declared: frozenset[str] | set[str] = frozenset(), claims: bool = True,
         fx: Mapping[str, float] = DEFAULT_FX_TO_CNY, kinds: Mapping[str, frozenset[str]] | None = None
         ) -> list[Result]:
    """Rank candidates (already fused, best first) as dupes. See the module docstring.
    ``declared``: record ids of listings that declare the target; ``claims=False``
    (a brand the catalog does not carry) compares nothing with anything."""
    results: list[Result] = []
    allowed = [c for c in cands if (cfg.include_counterfeits or not c.listing.counterfeit)
               and (not categories or c.listing.product.category in categories)]
    for c in apply_gate(allowed, cfg, declared):
        ref = reference(c.listing, target, brand_products, brand) if claims else None
        if ref is None and claims and brand is not None and closest is not None:
            ref = closest(c.listing)
        claim = decide(c.listing, ref, today, brand_products, fx, kinds)
        if labels and claim.label.type not in labels:
            continue
        is_declared = c.id in declared
        tier = claim.label.rank if brand is not None else 2
        why = {"signals": {k: round(v, 4) for k, v in c.signals.items()}, "words": c.matched_words}
        if claim.problems:
            why["claim"] = list(claim.problems)
        results.append(Result(c.id, c.fused, c.listing, claim, why, tier, is_declared))

    # A total order (ties broken by id): equal scores are common (listings sharing a title
    # and a photo), and pages cut from the list must cut the same list every time.
    if brand is not None:
        results.sort(key=lambda r: (r.tier, not r.declared, -r.score, r.id))
    else:
        results.sort(key=lambda r: (-r.score, r.id))
    return group_by_factory(results) if cfg.group_by_factory else results


def group_by_factory(results: Sequence[Result]) -> list[Result]:
    """Keep the best result per factory; its other listings go into ``more``."""
    first: dict[str, Result] = {}
    out: list[Result] = []
    for r in results:
        fid = r.listing.factory.id or r.id
        if fid in first:
            first[fid].more.append(r)
        else:
            first[fid] = r
            out.append(r)
    return out
