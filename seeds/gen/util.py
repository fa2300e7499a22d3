"""Deterministic randomness and small helpers shared by the generator modules."""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import unicodedata

SEED = 20261122
TODAY = dt.date(2026, 11, 22)
USD_CNY = 7.1


def rng_for(*keys: object) -> random.Random:
    """A Random seeded from the global seed and ``keys`` (stable across runs and machines)."""
    h = hashlib.sha256(("|".join(map(str, (SEED, *keys)))).encode("utf-8")).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def cny(price: float, currency: str) -> float:
    return price * USD_CNY if currency == "USD" else price


def money(x: float) -> float:
    """A plausible wholesale price: 2 decimals under 10 CNY, 1 decimal under 100, whole above."""
    if x < 10:
        return round(max(x, 0.5), 2)
    if x < 100:
        return round(x, 1)
    return float(round(x))


def weighted(rng: random.Random, items: list, weights: list[float]):
    return rng.choices(items, weights=weights, k=1)[0]


# --- trademark scan (same folding idea as the search service: NFKC, case, apostrophes) ---
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u3040-\u30ff"


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("'", "").replace("\u2019", "")
    return " ".join(text.split())


def trademark_regex(words: list[str]) -> re.Pattern:
    parts = []
    for w in sorted({fold(w) for w in words if len(fold(w)) >= 2}, key=len, reverse=True):
        esc = re.escape(w).replace("\\ ", r"\s*")
        if re.search(f"[{_CJK}]", w):
            parts.append(esc)
        else:
            parts.append(f"(?<![^\\W_{_CJK}]){esc}(?![^\\W_{_CJK}])")
    return re.compile("|".join(parts))
