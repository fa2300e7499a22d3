"""Endorsement labels and the counterfeit guard (pure functions), the parts of the claim
rule (``search.claims``) that look at one factory or one listing.

A label is a claim, so it is shown only with valid evidence: evidence text present,
verified (who and when), not expired on the day of the search. Anything else is at best
"similar". A factory listing that uses a brand's trademark words is a counterfeit, not a
dupe.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from search.analysis import LATIN_LEFT, LATIN_RIGHT, is_cjk, normalise
from search.records import Endorsement, Factory
from search.texts import LocalText, present

LABEL_ORDER = {"same_foundry": 0, "equal_quality": 1, "similar": 2}


@dataclass(frozen=True)
class Label:
    """An endorsement shown as a claim, with its evidence; ``similar`` carries none."""
    type: str                      # same_foundry | equal_quality | similar
    brand: str | None = None
    evidence: LocalText | None = None
    verified_by: LocalText | None = None
    verified_at: dt.date | None = None
    expires_at: dt.date | None = None

    @property
    def rank(self) -> int:
        return LABEL_ORDER[self.type]

    @property
    def endorsed(self) -> bool:
        return self.type != "similar"


SIMILAR = Label("similar")


def endorsement_problem(e: Endorsement, today: dt.date) -> str | None:
    """Why an endorsement cannot be shown as a label today, or None if it can."""
    if not present(e.evidence):
        return "no evidence"
    if not present(e.verified_by):
        return "no verifier"
    if e.verified_at is None:
        return "no verification date"
    if e.verified_at > today:
        return "verification date in the future"
    if e.expires_at is not None and e.expires_at < today:
        return f"expired on {e.expires_at.isoformat()}"
    return None


def label_for(factory: Factory, brand: str | None, today: dt.date) -> tuple[Label, str | None]:
    """The strongest valid label the factory holds for ``brand`` today, and when there is
    none, why (no brand, no endorsement, or the problem of the best one it holds)."""
    if brand is None:
        return SIMILAR, "no brand to compare with"
    best, problem = SIMILAR, f"no endorsement for {brand}"
    for e in factory.endorsements:
        if e.brand != brand or e.type not in LABEL_ORDER:
            continue
        why = endorsement_problem(e, today)
        if why is None and LABEL_ORDER[e.type] < best.rank:
            best = Label(e.type, brand, e.evidence, e.verified_by, e.verified_at, e.expires_at)
        elif why is not None and best is SIMILAR:
            problem = f"{e.type} endorsement for {brand}: {why}"
    return best, (None if best is not SIMILAR else problem)


class TrademarkGuard:
    """Finds brand trademark words in listing text (case, width and script folded)."""

    def __init__(self, trademarks: Mapping[str, Iterable[str]]) -> None:
        cjk: list[str] = []
        latin: list[str] = []
        self._owner: dict[str, str] = {}
        for brand, words in trademarks.items():
            for w in words:
                key = normalise(w)
                if len(key) < 2:
                    continue
                self._owner[key] = brand
                esc = re.escape(key).replace("\\ ", r"\s*")
                (cjk if is_cjk(key) else latin).append(esc)
        # One boundary check around all Latin words (one lookbehind, not one per word).
        parts = sorted(cjk, key=len, reverse=True)
        if latin:
            parts.append(f"{LATIN_LEFT}(?:{'|'.join(sorted(latin, key=len, reverse=True))}){LATIN_RIGHT}")
        self._re = re.compile("|".join(parts)) if parts else None

    def find(self, texts: Iterable[str]) -> list[tuple[str, str]]:
        """(brand, trademark word) pairs found in the texts."""
        if self._re is None:
            return []
        found: dict[tuple[str, str], None] = {}
        for t in texts:
            for m in self._re.finditer(normalise(t)):
                word = re.sub(r"\s+", " ", m.group(0))
                brand = self._owner.get(word) or self._owner.get(word.replace(" ", ""))
                if brand is None:
                    brand = next((b for k, b in self._owner.items() if k.replace(" ", "") == word.replace(" ", "")), "?")
                found[(brand, word)] = None
        return list(found)
