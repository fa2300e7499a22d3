"""Brand detection in query text (pure): names and aliases in any language, tolerant of
case, full/half width, spacing, Traditional/Simplified script and small misspellings."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from search.analysis import NONCJK_WORD, is_cjk, normalise


@dataclass(frozen=True)
class BrandHit:
    brand: str            # brand id
    name: str             # display name
    matched: str          # the alias that matched
    how: str              # "alias" (exact) | "fuzzy" | "ocr" | "image"
    confidence: float     # 0..1


@dataclass(frozen=True)
class _Alias:
    key: str              # normalised, spaces removed
    brand: str
    alias: str


class BrandDetector:
    """Built from brand records (``{"id", "names", "aliases", "trademarks"}`` dicts)."""

    def __init__(self, brands: Iterable[Mapping[str, Any]]) -> None:
        self._names: dict[str, str] = {}
        self._aliases: list[_Alias] = []
        for b in brands:
            names = b.get("names") or {}
            self._names[b["id"]] = names.get("en") or next(iter(names.values()), b["id"])
            for a in {*names.values(), *(b.get("aliases") or ()), *(b.get("trademarks") or ()), b["id"]}:
                na = normalise(a)
                key = na.replace(" ", "") if is_cjk(na) else "".join(NONCJK_WORD.findall(na))
                if len(key) >= 2:
                    self._aliases.append(_Alias(key, b["id"], a))
        self._aliases.sort(key=lambda a: len(a.key), reverse=True)

    def name(self, brand: str) -> str:
        return self._names.get(brand, brand)

    def detect(self, text: str, *, how: str = "alias") -> list[BrandHit]:
        """Brands mentioned in ``text``, best first (at most one hit per brand)."""
        norm = normalise(text)
        squeezed = norm.replace(" ", "")
        words = NONCJK_WORD.findall(norm)
        hits: dict[str, BrandHit] = {}
        for a in self._aliases:
            if a.brand in hits:
                continue
            if is_cjk(a.key):
                found = a.key in squeezed
            else:
                # whole words only ("mac" must not fire inside "macbook"); "le creuset" and
                # "lecreuset" both match
                found = _joined_words_contain(words, a.key)
            if found:
                hits[a.brand] = BrandHit(a.brand, self.name(a.brand), a.alias, how, 1.0)
        if not hits:
            hits.update(self._fuzzy(words, how))
        return sorted(hits.values(), key=lambda h: -h.confidence)

    def _fuzzy(self, words: list[str], how: str) -> dict[str, BrandHit]:
        """Small misspellings of Latin-script names ("lululemom", "adidsa"): one edit per
        ~5 letters, on words (and word pairs) of 5+ letters, so short words never fire."""
        out: dict[str, BrandHit] = {}
        candidates = words + [a + b for a, b in zip(words, words[1:])]
        for a in self._aliases:
            if is_cjk(a.key) or len(a.key) < 5:
                continue
            for w in candidates:
                if abs(len(w) - len(a.key)) > 2 or w[0] != a.key[0]:
                    continue
                score = fuzz.ratio(w, a.key) / 100.0
                if score >= 0.8 and score > (out[a.brand].confidence if a.brand in out else 0):
                    out[a.brand] = BrandHit(a.brand, self.name(a.brand), a.alias, "fuzzy" if how == "alias" else how,
                                            round(score, 3))
        return out


def _joined_words_contain(words: list[str], key: str) -> bool:
    """True if consecutive words join into ``key`` ("sams club" -> "samsclub")."""
    for i in range(len(words)):
        acc = ""
        for w in words[i:i + 4]:
            acc += w
            if acc == key:
                return True
            if len(acc) >= len(key):
                break
    return False
