"""Price comparison against a brand product (pure): the ratio per price tier and its wording.

A saving is a claim, so it is stated conservatively: prices are converted to the brand
price's currency with the stated exchange table (``FX_BASE`` rates; a currency without a
rate gives no saving), and where both sides state their net contents in comparable units
(``search.quantity``) the ratio is the larger of the per-item and the per-unit ratio.
Only tiers below the brand price are savings. Whether a product may be compared with a
brand product at all is decided by ``search.claims``.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from search.quantity import Quantity, comparable
from search.records import PriceTier
from search.texts import base_lang

FX_BASE = "CNY"
# Rough reference rates to CNY, used only to compare prices across currencies; a
# deployment states its own table (``DUPE_FX``: ``load_fx``).
DEFAULT_FX_TO_CNY: dict[str, float] = {"CNY": 1.0, "USD": 7.1, "EUR": 7.7, "GBP": 9.0, "HKD": 0.91,
                                       "JPY": 0.047, "KRW": 0.0052, "VND": 0.00028, "RUB": 0.078}
DEFAULT_FX_DATE = "2026-11-01"
#: Digits after the point of a currency's amounts (ISO 4217 minor units), where not 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0, "XOF": 0, "XAF": 0,
               "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3}
_CODE = re.compile(r"^[A-Z]{3}$")


class FxError(ValueError):
    """The configured exchange table cannot be used (the message says why)."""


@dataclass(frozen=True)
class FxTable:
    """The exchange table every price comparison and conversion uses, as responses state it:
    ``rates[c]`` is what one unit of ``c`` is worth in ``base`` (``rates[base]`` is 1)."""
    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FX_TO_CNY))
    base: str = FX_BASE
    date: str | None = DEFAULT_FX_DATE       # the day the rates are of (ISO)
    source: str = "built-in reference rates (set DUPE_FX for your own)"

    def json(self) -> dict[str, object]:
        return {"base": self.base, "rates": dict(self.rates), "date": self.date, "source": self.source}

    def unknown(self, code: str | None) -> str | None:
        """Why prices cannot be shown in ``code`` (no rate for it), or None if they can."""
        if code is None or code in self.rates:
            return None
        return f"no exchange rate for {code!r}; the table has {', '.join(sorted(self.rates))}"


def load_fx(spec: str | None) -> FxTable:
    """The table ``DUPE_FX`` names: a JSON file's path, or the JSON itself, of the shape
    ``{"base": "CNY", "date": "2026-11-30", "source": "...", "rates": {"USD": 7.12, ...}}``.
    None or empty: the built-in reference table. Raises ``FxError`` naming the problem."""
    if not spec or not spec.strip():
        return FxTable()
    text, where = spec, "DUPE_FX"
    if not spec.lstrip().startswith("{"):
        try:
            text, where = Path(spec).read_text(encoding="utf-8"), spec
        except (OSError, UnicodeDecodeError) as e:
            raise FxError(f"DUPE_FX: cannot read {spec!r}: {e}") from None
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise FxError(f"{where}: not JSON: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rates"), dict):
        raise FxError(f'{where}: expected {{"base": ..., "date": ..., "rates": {{"USD": 7.1, ...}}}}')
    base = str(raw.get("base") or FX_BASE).upper()
    rates: dict[str, float] = {}
    for code, rate in raw["rates"].items():
        c = str(code).upper()
        if not _CODE.match(c):
            raise FxError(f"{where}: {code!r} is not a currency code (three letters, ISO 4217)")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise FxError(f"{where}: the rate of {c} must be a positive number, got {rate!r}")
        rates[c] = float(rate)
    if rates.setdefault(base, 1.0) != 1.0:
        raise FxError(f"{where}: the base currency {base} must have the rate 1")
    date = raw.get("date")
    if date is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(date)):
        raise FxError(f"{where}: date must be YYYY-MM-DD, got {date!r}")
    return FxTable(rates, base, str(date) if date else None, str(raw.get("source") or where))


@dataclass(frozen=True)
class TierSaving:
    min_qty: int
    price: float
    currency: str
    ratio: float            # factory price / brand price, same currency (and units, see basis)
    text: str               # "about 1/9 of the brand price"
    basis: str = "item"     # "item", or "unit" when the per-unit ratio was the larger one


def convert(amount: float, src: str, dst: str, fx: Mapping[str, float] = DEFAULT_FX_TO_CNY) -> float | None:
    if src == dst:
        return amount
    if src not in fx or dst not in fx:
        return None
    return amount * fx[src] / fx[dst]


#: The wording of a saving, in every language it is shown in: the one rule every page,
#: card, API answer and CLI line uses (``ratio_text``).
SAVING_WORDS: dict[str, dict[str, str]] = {
    "en": {"about": "about 1/{n} of the brand price", "share": "{p}% of the brand price",
           "more": "{x:.1f}x the brand price", "unit": "{text} (per unit of content)"},
    "zh": {"about": "约为品牌价的 1/{n}", "share": "品牌价的 {p}%",
           "more": "品牌价的 {x:.1f} 倍", "unit": "{text}（按单位含量）"},
}


def ratio_text(ratio: float | None, lang: str = "en", basis: str = "item") -> str:
    """How a price ratio (factory price / brand price, same currency) is said: a fraction
    of the brand price, never a bare percentage that reads like a discount. 0.11 -> 'about
    1/9 of the brand price'; above a half, the share of it ('60% of the brand price'); 1 or
    more, a multiple. ``basis`` "unit": the ratio is per unit of content, and says so.
    Languages without their own words (``SAVING_WORDS``) get English."""
    if not ratio or ratio <= 0:
        return ""
    words = SAVING_WORDS.get(base_lang(lang), SAVING_WORDS["en"])     # zh-TW, zh-Hans: zh
    if ratio >= 1:
        text = words["more"].format(x=ratio)
    elif ratio > 0.5:
        text = words["share"].format(p=round(ratio * 100))
    else:
        text = words["about"].format(n=round(1 / ratio))
    return words["unit"].format(text=text) if basis == "unit" else text


@dataclass(frozen=True)
class Conversion:
    """An amount converted for display, with the rate used and the day it is of: the
    page says ``1 USD = 7.1 CNY (rates of 2026-11-01)`` next to the converted amount."""
    amount: float
    currency: str
    source_currency: str
    rate: float                 # 1 ``source_currency`` = ``rate`` ``currency``
    date: str | None


def conversion(amount: float, src: str, dst: str, fx: FxTable) -> Conversion | None:
    """``amount`` in ``src`` expressed in ``dst`` with ``fx``; None when it is already in
    ``dst`` or the table has no rate for one of them."""
    rate = convert(1.0, src, dst, fx.rates)
    if src == dst or rate is None:
        return None
    return Conversion(amount * rate, dst, src, rate, fx.date)


def tier_savings(tiers: Sequence[PriceTier], currency: str, brand_price: float, brand_currency: str,
                 fx: Mapping[str, float] = DEFAULT_FX_TO_CNY, *, contents: Sequence[Quantity] = (),
                 brand_contents: Quantity | None = None) -> tuple[list[TierSaving], str | None]:
    """The savings per tier, and why there is none when the list is empty. ``contents``:
    every net content the listing states; the least favourable comparable one counts."""
    if brand_price <= 0:
        return [], "no brand price"
    factors = [units[1] / units[0] for q in contents
               if brand_contents and (units := comparable(q, brand_contents)) and units[0] > 0]
    per_unit = max(factors) if factors else None          # brand contents / ours
    if per_unit is None and brand_contents is not None and brand_contents.sold_by_it:
        return [], "the listing does not say how much it holds"
    out: list[TierSaving] = []
    why = None
    for t in tiers:
        price = convert(float(t.price), currency, brand_currency, fx)
        if price is None:
            return [], f"no exchange rate between {currency} and {brand_currency}"
        ratio, basis = price / brand_price, "item"
        if per_unit is not None and ratio * per_unit > ratio:
            ratio, basis = ratio * per_unit, "unit"
        if ratio >= 1:
            why = "not below the brand price" + (" per unit" if basis == "unit" else "")
            continue
        out.append(TierSaving(int(t.min_qty), float(t.price), currency, round(ratio, 4), ratio_text(ratio, basis=basis),
                              basis))
    return out, (None if out else why)
