"""Finding names in query text (pure): brand names, brand-product nicknames and known
brands we do not carry, in any language.

``NameMatcher`` matches a set of names (each owned by an id) against a text, tolerant of
case, full/half width, spacing, Traditional/Simplified script and small misspellings of
Latin names, and across scripts: a name written in Hangul, Kana, Cyrillic, Thai, Greek,
Arabic or Hebrew (룰루레몬, ルルレモン, лулулемон) is transliterated (``anyascii``) and
compared with the Latin names by sound (``phonetic_key``). ``BrandDetector`` is the
matcher over the catalog's brands.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from anyascii import anyascii
from rapidfuzz import fuzz

from search.analysis import NONCJK_WORD, is_cjk, normalise

# Scripts whose words are compared by sound with Latin names (not Chinese: Chinese names
# are catalog names or aliases, and Han characters transliterate to pinyin, not to sound).
_FOREIGN_RUN = re.compile(
    "[\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0e00-\u0e7f"
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f\uac00-\ud7af\u1100-\u11ff]+")
FUZZY_MIN = 0.8            # rapidfuzz ratio for a misspelt Latin name
SOUND_MIN = 0.8            # ... for a transliterated one


@dataclass(frozen=True)
class BrandHit:
    brand: str            # brand id (or, for NameMatcher in general, the owner id)
    name: str             # display name
    matched: str          # the name that matched
    how: str              # "alias" (exact) | "fuzzy" | "sound" | "ocr" | "image" | "user" ...
    confidence: float     # 0..1


@dataclass(frozen=True)
class _Name:
    key: str              # normalised; spaces removed
    owner: str
    name: str
    sound: str            # phonetic key of a Latin name ("" for Chinese ones)
    heads: frozenset[str] = frozenset()     # keys of its first words, shorter than it ("oralb" of "oral-b io")


def _leading_words(name: str) -> frozenset[str]:
    """Keys of a Latin name's first words, shorter than the whole ("oralb" of "oral-b io")."""
    words = NONCJK_WORD.findall(normalise(name))
    return frozenset("".join(words[:j]) for j in range(1, len(words)))


def _key(name: str) -> str:
    n = normalise(name)
    return n.replace(" ", "") if is_cjk(n) else "".join(NONCJK_WORD.findall(n))


# Sounds that scripts without them write with a neighbour: Korean has no f or v (p, b),
# Japanese no l (r); vowels transliterated in two letters ("eu", "eo", "ae") become one.
_SOUND_FOLDS = (("eu", "u"), ("eo", "o"), ("ph", "p"), ("ck", "k"), ("x", "ks"), ("c", "k"), ("q", "k"),
                ("f", "p"), ("v", "p"), ("b", "p"), ("l", "r"), ("y", "i"), ("ee", "i"), ("oo", "u"),
                ("ou", "u"), ("ae", "a"), ("w", "u"), ("g", "k"), ("d", "t"), ("z", "s"), ("j", "s"), ("h", ""))


@lru_cache(maxsize=4096)
def phonetic_key(text: str) -> str:
    """A rough sound of a name in Latin letters, the same for its spellings in several
    scripts: "lululemon", "룰루레몬" and "ルルレモン" fold to about "rururemon"."""
    s = re.sub(r"[^a-z]", "", anyascii(text).lower())
    for a, b in _SOUND_FOLDS:
        s = s.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", s)


def _skeleton(sound: str) -> str:
    return sound[:1] + re.sub(r"[aeiou]", "", sound[1:])


def sound_similarity(a: str, b: str) -> float:
    """How alike two phonetic keys are (0..1): the better of the whole keys and their
    consonant skeletons (transliteration adds vowels: "sutanre" ~ "stanrei")."""
    if not a or not b:
        return 0.0
    best = fuzz.ratio(a, b) / 100.0
    sa, sb = _skeleton(a), _skeleton(b)
    if min(len(sa), len(sb)) >= 4:
        best = max(best, fuzz.ratio(sa, sb) / 100.0)
    return best


class NameMatcher:
    """Names owned by ids (``{owner: [names]}``), found in texts."""

    def __init__(self, names: Mapping[str, Iterable[str]], display: Mapping[str, str] | None = None) -> None:
        self._display = dict(display or {})
        entries: dict[tuple[str, str], _Name] = {}
        for owner, owned in names.items():
            for name in owned:
                key = _key(name)
                if len(key) >= 2:
                    sound = "" if is_cjk(key) else phonetic_key(key)
                    entries.setdefault((key, owner), _Name(key, owner, name, sound, _leading_words(name)))
        self._names = sorted(entries.values(), key=lambda a: len(a.key), reverse=True)
        # Exact matching looks names up: Latin names by the word runs of the text that
        # join into them; Chinese ones are searched for in the text without spaces.
        self._latin: dict[str, list[_Name]] = {}
        for a in self._names:
            if not is_cjk(a.key):
                self._latin.setdefault(a.key, []).append(a)
        cjk = [a for a in self._names if is_cjk(a.key)]
        self._cjk = {a.key: [x for x in cjk if x.key == a.key] for a in cjk}

    def name(self, owner: str) -> str:
        return self._display.get(owner, owner)

    def find(self, text: str, *, how: str = "alias", fuzzy: bool = True, sound: bool = True) -> list[BrandHit]:
        """Owners named in ``text``, best first (one hit per owner): exact names first; if
        none, misspelt Latin names and names in other scripts."""
        norm = normalise(text)
        words = NONCJK_WORD.findall(norm)
        found: list[_Name] = []
        # whole words only for Latin names ("mac" must not fire inside "macbook"); "le
        # creuset" and "lecreuset" both match
        for i in range(len(words)):
            acc = ""
            for w in words[i:i + 4]:
                acc += w
                found += self._latin.get(acc, ())
        if self._cjk:
            squeezed = norm.replace(" ", "")
            # every Chinese name inside the text, overlapping ones too
            for key, names in self._cjk.items():
                if key in squeezed:
                    found += names
        hits: dict[str, BrandHit] = {}
        for a in sorted(found, key=lambda a: len(a.key), reverse=True):
            if a.owner not in hits:
                hits[a.owner] = BrandHit(a.owner, self.name(a.owner), a.name, how, 1.0)
        if not hits and fuzzy:
            hits.update(self._fuzzy(words, how))
        if sound:
            for h in self._sound(norm, how):
                if h.brand not in hits:
                    hits[h.brand] = h
        return sorted(hits.values(), key=lambda h: -h.confidence)

    def _fuzzy(self, words: list[str], how: str) -> dict[str, BrandHit]:
        """Small misspellings of Latin-script names ("lululemom", "adidsa"): one edit per
        ~5 letters, on words (and word pairs) of 5+ letters, so short words never fire."""
        out: dict[str, BrandHit] = {}
        candidates = [w for w in words + [a + b for a, b in zip(words, words[1:])] if not _FOREIGN_RUN.search(w)]
        for a in self._names:
            if is_cjk(a.key) or len(a.key) < 5:
                continue
            for w in candidates:
                if abs(len(w) - len(a.key)) > 2 or w[0] != a.key[0]:
                    continue
                # The leading words of a longer name ("oral-b" of "oral-b io"), alone or
                # followed by other words ("oral-b pro"), name something else, not a
                # misspelling of it: the words that differ are the ones that tell them apart.
                if any(w.startswith(h) for h in a.heads):
                    continue
                score = fuzz.ratio(w, a.key) / 100.0
                if score >= FUZZY_MIN and score > (out[a.owner].confidence if a.owner in out else 0):
                    out[a.owner] = BrandHit(a.owner, self.name(a.owner), a.name, "fuzzy" if how == "alias" else how,
                                            round(score, 3))
        return out

    def _sound(self, norm: str, how: str) -> list[BrandHit]:
        """Names written in another script, compared by sound with the Latin names. Only
        runs of 2+ letters count; a run and the one after it are also tried joined
        ("캐나다 구스")."""
        runs = [r for r in _FOREIGN_RUN.findall(norm) if len(r) >= 2]
        if not runs:
            return []
        pieces = runs + [a + b for a, b in zip(runs, runs[1:])]
        out: dict[str, BrandHit] = {}
        for piece in pieces:
            ps = phonetic_key(piece)
            if len(ps) < 3:
                continue
            for a in self._names:
                if not a.sound or len(a.sound) < 3 or abs(len(a.sound) - len(ps)) > len(a.sound) // 2 + 3:
                    continue
                score = sound_similarity(ps, a.sound)
                if score >= SOUND_MIN and score * 0.9 > (out[a.owner].confidence if a.owner in out else 0):
                    out[a.owner] = BrandHit(a.owner, self.name(a.owner), a.name, "sound" if how == "alias" else how,
                                            round(score * 0.9, 3))
        return list(out.values())


class BrandDetector(NameMatcher):
    """The matcher over brand records (``Brand`` or ``{"id", "names", "aliases", "trademarks"}``):
    every name, alias and trademark of a brand names it."""

    def __init__(self, brands: Iterable[Any]) -> None:
        names: dict[str, list[str]] = {}
        display: dict[str, str] = {}
        for b in brands:
            get = b.get if isinstance(b, Mapping) else lambda k, _b=b: getattr(_b, k)
            bid = get("id")
            bnames = get("names") or {}
            display[bid] = bnames.get("en") or next(iter(bnames.values()), bid)
            names[bid] = [*bnames.values(), *(get("aliases") or ()), *(get("trademarks") or ()), bid]
        super().__init__(names, display)

    def detect(self, text: str, *, how: str = "alias") -> list[BrandHit]:
        """Brands mentioned in ``text``, best first (at most one hit per brand)."""
        return self.find(text, how=how)
