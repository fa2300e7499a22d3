"""Price comparison against the brand product (pure): ratio per MOQ tier and its wording."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Rough reference rates to CNY, used only to compare prices across currencies; a
# deployment can pass its own table (DUPE_FX="USD=7.1,EUR=7.7").
DEFAULT_FX_TO_CNY: dict[str, float] = {"CNY": 1.0, "USD": 7.1, "EUR": 7.7, "GBP": 9.0, "HKD": 0.91,
                                       "JPY": 0.047, "KRW": 0.0052, "VND": 0.00028, "RUB": 0.078}


@dataclass(frozen=True)
class TierSaving:
    min_qty: int
    price: float
    currency: str
    ratio: float            # factory price / brand price, same currency
    text: str               # "about 1/9 of the brand price"


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


def tier_savings(tiers: Sequence[Mapping[str, Any]], currency: str, brand_price: float, brand_currency: str,
                 fx: Mapping[str, float] = DEFAULT_FX_TO_CNY) -> list[TierSaving]:
    out = []
    for t in tiers:
        price = convert(float(t["price"]), currency, brand_currency, fx)
        if price is None or brand_price <= 0:
            continue
        ratio = price / brand_price
        out.append(TierSaving(int(t["min_qty"]), float(t["price"]), currency, round(ratio, 4), ratio_text(ratio)))
    return out

