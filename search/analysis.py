"""Text analysis shared by the indexer, the query path and both storage backends.

Pipeline: Unicode NFKC (full-width -> half-width), lowercase, Traditional -> Simplified
Chinese, brand-alias normalisation (every alias of a brand becomes one canonical token),
then segmentation: jieba (search mode) for runs of Chinese, word splitting for the rest.
Model-number-like words ("WH-1000XM4") also yield their joined form ("wh1000xm4").

Tokens contain only letters, digits and non-ASCII characters, so a backend can index
them with a plain whitespace (or SQLite ``ascii``) tokenizer and rank the very same tokens.

Indexing analyses every title, attribute and description of every product, so the costly
steps are kept cheap without changing a token: the alias regex is laid out so the regex
engine can skip most positions, and normalising a text and segmenting one run of Chinese
or one word chunk are cached, as catalogs repeat them a lot.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
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


# Cached: indexing normalises each title twice (trademark guard, then analysis), and
# categories and attribute texts repeat across products; OpenCC alone costs ~20 us a text.
@lru_cache(maxsize=1 << 14)
def normalise(text: str) -> str:
    """NFKC, lowercase, Traditional -> Simplified, apostrophes dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _CJK_RUN.search(text):
        text = _t2s().convert(text)
    text = text.replace("'", "").replace("\u2019", "")
    return " ".join(text.split())


def is_cjk(text: str) -> bool:
    return bool(_CJK_RUN.search(text))


@lru_cache(maxsize=1 << 16)
def _cjk_run_tokens(run: str) -> tuple[str, ...]:
    """jieba's search-mode tokens of one run of Chinese characters (stopwords dropped).

    Cached: catalogs and queries repeat the same runs (瑜伽裤, 高腰, 黑色), and jieba costs
    tens of microseconds a run. jieba's dictionary never changes after loading, so a run
    always segments the same way."""
    return tuple(t for t in _jieba_tokenizer().cut_for_search(run) if t.strip() and t not in STOPWORDS)


@lru_cache(maxsize=1 << 16)
def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    """Tokens of one space-free chunk without Chinese: its words (stopwords dropped), then
    the joined form of each model-number-like part ("wh-1000xm4" -> "wh1000xm4").
    Cached like ``_cjk_run_tokens``: sizes, colours and materials repeat."""
    words = _WORD.findall(chunk)
    out = [w for w in words if w not in STOPWORDS]
    for j in _JOINABLE.findall(chunk):
        joined = "".join(_WORD.findall(j))
        if joined not in words:
            out.append(joined)
    return tuple(out)


def _key_regex(key: str) -> str:
    """A normalised alias as a regex: its spaces are optional ("lulu lemon" ~ "lululemon")."""
    return re.escape(key).replace("\\ ", r"\s*")


def _alias_pattern(keys: Sequence[str]) -> str:
    """One regex over the aliases ``keys``; at a position the first key in order that
    matches wins (longest first). Latin aliases must stand as whole words ("mac" not in
    "macbook"); Chinese ones match anywhere, as Chinese has no spaces.

    Written as ``LEFT(?:all keys, Latin ones followed by RIGHT) | Chinese keys``, which
    matches exactly what ``key | LEFT latin-key RIGHT | ...`` matches, in the same order
    (where LEFT holds the first branch tries every key in order; where it does not, only
    Chinese keys can match, in the same order). But it is ~10x faster: with LEFT in front
    of every Latin key the regex engine evaluated the lookbehind once per key at every
    position, while keys that start with a literal character are skipped at a glance."""
    every = "|".join(_key_regex(k) if is_cjk(k) else f"{_key_regex(k)}{LATIN_RIGHT}" for k in keys)
    parts = [f"{LATIN_LEFT}(?:{every})"] + [_key_regex(k) for k in keys if is_cjk(k)]
    return "|".join(parts)


def canonical_token(brand_id: str) -> str:
    """The single token a brand's aliases are folded into (letters/digits only)."""
    return "".join(_WORD.findall(normalise(brand_id))) or brand_id


_TOKEN_CACHE = 1 << 13          # texts
_TOKEN_CACHE_TEXT = 300         # characters


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
            self._alias_re = re.compile(_alias_pattern(sorted(self._alias_target, key=len, reverse=True)))
        # Whole texts repeat too: categories, attribute texts, templated descriptions. A plain
        # dict, emptied when full: no reference back to self (a cycle would outlive a view
        # reload once the store freezes the GC), and safe to share between threads.
        self._token_cache: dict[tuple[str, int | None], tuple[str, ...]] = {}

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

    def tokens(self, text: str, limit: int | None = None) -> list[str]:
        """The tokens of ``text``; with ``limit``, only its first ``limit`` tokens (the rest
        of a long text is not segmented)."""
        if text is None or len(text) > _TOKEN_CACHE_TEXT:     # long texts rarely repeat whole
            return list(self._tokens(text, limit))
        key = (text, limit)
        found = self._token_cache.get(key)
        if found is None:
            if len(self._token_cache) >= _TOKEN_CACHE:
                self._token_cache.clear()
            found = self._token_cache[key] = self._tokens(text, limit)
        return list(found)

    def _tokens(self, text: str, limit: int | None) -> tuple[str, ...]:
        out: list[str] = []
        for m in _SEGMENT.finditer(self.fold_aliases(text)):
            cjk, other = m.groups()
            out.extend(_cjk_run_tokens(cjk) if cjk else _chunk_tokens(other))
            if limit is not None and len(out) >= limit:
                return tuple(out[:limit])
        return tuple(out)

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
