"""Price comparison against a brand product (pure): the ratio per price tier and its wording.

A saving is a claim, so it is stated conservatively: prices are converted to the brand
price's currency with the stated exchange table (``FX_BASE`` rates; a currency without a
rate gives no saving), and where both sides state their net contents in comparable units
(``search.quantity``) the ratio is the larger of the per-item and the per-unit ratio.
Only tiers below the brand price are savings. Whether a product may be compared with a
brand product at all is decided by ``search.claims``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from search.quantity import Quantity, comparable
from search.records import PriceTier

FX_BASE = "CNY"
# Rough reference rates to CNY, used only to compare prices across currencies; a
# deployment can pass its own table.
DEFAULT_FX_TO_CNY: dict[str, float] = {"CNY": 1.0, "USD": 7.1, "EUR": 7.7, "GBP": 9.0, "HKD": 0.91,
                                       "JPY": 0.047, "KRW": 0.0052, "VND": 0.00028, "RUB": 0.078}


@dataclass(frozen=True)
class TierSaving:
    min_qty: int
    price: float
    currency: str
    ratio: float            # factory price / brand price, same currency (and units, see basis)
    text: str               # "about 1/9 of the brand price"
    basis: str = "item"     # "item", or "unit" when the per-unit ratio was the larger one


def fx_table(fx: Mapping[str, float]) -> dict[str, object]:
    """The exchange table prices were compared with, as responses state it."""
    return {"base": FX_BASE, "rates": dict(fx)}


def convert(amount: float, src: str, dst: str, fx: Mapping[str, float] = DEFAULT_FX_TO_CNY) -> float | None:
    if src == dst:
        return amount
    if src not in fx or dst not in fx:
        return None
    return amount * fx[src] / fx[dst]


def ratio_text(ratio: float) -> str:
    """Human wording of a price ratio: 0.11 -> 'about 1/9 of the brand price'."""
    if ratio <= 0:
        return ""
    if ratio >= 1:
        return f"{ratio:.1f}x the brand price"
    if ratio > 0.5:
        return f"{round(ratio * 100)}% of the brand price"
    n = round(1 / ratio)
    return f"about 1/{n} of the brand price"


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
        out.append(TierSaving(int(t.min_qty), float(t.price), currency, round(ratio, 4), ratio_text(ratio), basis))
    return out, (None if out else why)
