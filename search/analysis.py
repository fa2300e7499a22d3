"""Text analysis shared by the indexer, the query path and both storage backends.

Pipeline: Unicode NFKC (full-width -> half-width), lowercase, Traditional -> Simplified
Chinese, brand-alias normalisation (every alias of a brand becomes one canonical token),
then segmentation: jieba (search mode) for runs of Chinese, word splitting for the rest.
Model-number-like words ("WH-1000XM4") also yield their joined form ("wh1000xm4").

Tokens contain only letters, digits and non-ASCII characters, so a backend can index
them with a plain whitespace (or SQLite ``ascii``) tokenizer and rank the very same tokens.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_SEGMENT = re.compile(f"([{_CJK}]+)|([^\\s{_CJK}]+)")
# A "word" is a run of letters/digits (any script); ASCII punctuation and "_" separate words.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_JOINABLE = re.compile(r"[^\W_]+(?:[-./][^\W_]+)+", re.UNICODE)
# Words of non-Chinese scripts; a Chinese character also ends a word ("lululemon同款").
NONCJK_WORD = re.compile(f"[^\\W_{_CJK}]+")
# Boundaries for matching a Latin alias inside text: no letter/digit of a non-Chinese
# script may touch it ("mac" must not fire inside "macbook", but fires in "mac口红").
LATIN_LEFT = f"(?<![^\\W_{_CJK}])"
LATIN_RIGHT = f"(?![^\\W_{_CJK}])"

STOPWORDS = frozenset("""
a an and the of for with in on to by from or at as is are be this that these those it its
的 了 和 与 及 或 在 是 款
""".split())

_jieba_lock = threading.Lock()
_jieba = None


def _jieba_tokenizer():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                _jieba = tk
    return _jieba


@lru_cache(maxsize=1)
def _t2s():
    import opencc
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """NFKC, lowercase, Traditional -> Simplified, apostrophes dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _CJK_RUN.search(text):
        text = _t2s().convert(text)
    text = text.replace("'", "").replace("\u2019", "")
    return " ".join(text.split())


def is_cjk(text: str) -> bool:
    return bool(_CJK_RUN.search(text))


def canonical_token(brand_id: str) -> str:
    """The single token a brand's aliases are folded into (letters/digits only)."""
    return "".join(_WORD.findall(normalise(brand_id))) or brand_id


class Analyzer:
    """Turns text into index/query tokens. Immutable once built; safe across threads.

    ``aliases`` maps a brand alias (any spelling, any language) to the brand id; every
    occurrence of an alias is replaced by the brand's canonical token, so "露露乐蒙",
    "Lululemon" and "lulu lemon" all match the same postings.
    """

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self._alias_re: re.Pattern[str] | None = None
        self._alias_target: dict[str, str] = {}
        for alias, brand_id in (aliases or {}).items():
            key = normalise(alias)
            if len(key) >= 2:
                self._alias_target[key] = canonical_token(brand_id)
        if self._alias_target:
            parts = []
            for key in sorted(self._alias_target, key=len, reverse=True):
                esc = re.escape(key).replace("\\ ", r"\s*")
                # Latin aliases must stand as whole words ("mac" not in "macbook");
                # Chinese ones are matched anywhere, as Chinese has no spaces.
                parts.append(esc if is_cjk(key) else f"{LATIN_LEFT}{esc}{LATIN_RIGHT}")
            self._alias_re = re.compile("|".join(parts))

    def fold_aliases(self, text: str) -> str:
        """Normalised text with each brand alias followed by its brand's canonical token.

        The alias's own words stay: real aliases often carry product words ("戴森吹风机",
        "stanley tumbler") that must still match listings."""
        text = normalise(text)
        if self._alias_re is None:
            return text

        def repl(m: re.Match[str]) -> str:
            key = re.sub(r"\s+", " ", m.group(0))
            target = self._alias_target.get(key) or self._alias_target.get(key.replace(" ", ""))
            if target is None:  # matched via \s* flexibility: find by squeezed comparison
                squeezed = key.replace(" ", "")
                target = next((t for k, t in self._alias_target.items() if k.replace(" ", "") == squeezed), None)
            if not target or target in _WORD.findall(key):
                return m.group(0)
            return f"{m.group(0)} {target} "
        return self._alias_re.sub(repl, text)

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for m in _SEGMENT.finditer(self.fold_aliases(text)):
            cjk, other = m.groups()
            if cjk:
                out.extend(t for t in _jieba_tokenizer().cut_for_search(cjk) if t.strip() and t not in STOPWORDS)
            else:
                words = _WORD.findall(other)
                out.extend(w for w in words if w not in STOPWORDS)
                for j in _JOINABLE.findall(other):
                    joined = "".join(_WORD.findall(j))
                    if joined not in words:
                        out.append(joined)
        return out

    def tokens_many(self, texts: Iterable[str]) -> list[str]:
        out: list[str] = []
        for t in texts:
            out.extend(self.tokens(t))
        return out


def alias_map(brands: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """alias -> brand id over every name, alias and trademark of brand records (as dicts)."""
    out: dict[str, str] = {}
    for b in brands:
        names = b.get("names") or {}
        for name in (*names.values(), *(b.get("aliases") or ()), *(b.get("trademarks") or ()), b["id"]):
            if name:
                out.setdefault(name, b["id"])
    return out
