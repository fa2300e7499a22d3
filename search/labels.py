"""Endorsement labels and the counterfeit guard (pure functions).

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
from typing import Any

from search.analysis import LATIN_LEFT, LATIN_RIGHT, is_cjk, normalise

LABEL_ORDER = {"same_foundry": 0, "equal_quality": 1, "similar": 2}


@dataclass(frozen=True)
class Label:
    type: str                      # same_foundry | equal_quality | similar
    brand: str | None = None
    evidence: str | None = None
    verified_by: str | None = None
    verified_at: str | None = None
    expires_at: str | None = None

    @property
    def rank(self) -> int:
        return LABEL_ORDER[self.type]


SIMILAR = Label("similar")


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and v:
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def endorsement_problem(e: Mapping[str, Any], today: dt.date) -> str | None:
    """Why an endorsement cannot be shown as a label today, or None if it can."""
    if not (e.get("evidence") or "").strip():
        return "no evidence"
    if not (e.get("verified_by") or "").strip():
        return "no verifier"
    verified, expires = _date(e.get("verified_at")), _date(e.get("expires_at"))
    if verified is None:
        return "no verification date"
    if verified > today:
        return "verification date in the future"
    if expires is not None and expires < today:
        return f"expired on {expires.isoformat()}"
    return None


def label_for(factory: Mapping[str, Any], brand: str | None, today: dt.date) -> Label:
    """The strongest valid label the factory holds for ``brand`` (None: no brand, no label)."""
    if brand is None:
        return SIMILAR
    best = SIMILAR
    for e in factory.get("endorsements") or []:
        if e.get("brand") != brand or e.get("type") not in LABEL_ORDER:
            continue
        if endorsement_problem(e, today) is None and LABEL_ORDER[e["type"]] < best.rank:
            best = Label(e["type"], brand, e.get("evidence"), e.get("verified_by"),
                         e.get("verified_at"), e.get("expires_at"))
    return best


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
