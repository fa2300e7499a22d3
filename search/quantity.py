"""Net contents read from product text (pure): "750 g", "1.13 kg jar", "40 oz", "24 packs",
"12 rolls", "230ml", "10枚装".

Used so that a saving is stated in comparable units: a 1.13 kg jar of nuts against a
750 g brand pack is compared per gram as well as per item (``search.prices``). Goods sold
by weight or count (food, paper) are compared only when both sides state them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# unit -> (dimension, factor to the dimension's base unit: g, ml or item)
_UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 0.001), "g": ("mass", 1.0), "gram": ("mass", 1.0), "grams": ("mass", 1.0),
    "kg": ("mass", 1000.0), "克": ("mass", 1.0), "千克": ("mass", 1000.0), "公斤": ("mass", 1000.0),
    "斤": ("mass", 500.0), "lb": ("mass", 453.6), "lbs": ("mass", 453.6),
    "ml": ("volume", 1.0), "毫升": ("volume", 1.0), "l": ("volume", 1000.0), "升": ("volume", 1000.0),
    "floz": ("volume", 29.57),
    "oz": ("oz", 1.0),        # mass or fluid ounce: settled by the other side (see comparable)
    "pcs": ("count", 1.0), "pc": ("count", 1.0), "pieces": ("count", 1.0), "packs": ("count", 1.0),
    "pack": ("count", 1.0), "rolls": ("count", 1.0), "roll": ("count", 1.0), "bags": ("count", 1.0),
    "sachets": ("count", 1.0), "枚": ("count", 1.0), "包": ("count", 1.0), "卷": ("count", 1.0),
    "袋": ("count", 1.0), "片": ("count", 1.0), "支": ("count", 1.0), "个": ("count", 1.0),
}
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QTY = re.compile(rf"(?<![\w.])(\d+(?:[.,]\d+)*)\s*(fl\.?\s*oz|{_UNIT_RE})(?![a-z])", re.IGNORECASE)
# Attributes that state what is in the pack (not the product's own weight or size).
NET_CONTENT_KEYS = ("net_weight", "net_content", "net_volume", "volume", "capacity", "spec", "pack", "count")


@dataclass(frozen=True)
class Quantity:
    amount: float          # in the dimension's base unit (g, ml, items; oz as oz)
    dimension: str         # mass | volume | count | oz

    @property
    def sold_by_it(self) -> bool:
        """A brand product sold by weight or count (750 g of nuts, 24 packs of tissues)
        is only comparable with listings that say how much they hold; a volume may be a
        capacity (a 2 L blender, a 40 oz tumbler) and is not required."""
        return self.dimension in ("mass", "count")


def parse(text: str) -> Quantity | None:
    """The first net content stated in ``text``, mass or volume before counts
    ("750 g (30 packs)" -> 750 g)."""
    found: list[Quantity] = []
    for m in _QTY.finditer(text or ""):
        unit = re.sub(r"[\s.]", "", m.group(2).lower())
        dim, factor = _UNITS["floz" if unit == "floz" else unit]
        num = m.group(1)
        # "1,600 g" is sixteen hundred grams; "1,5 kg" is one and a half kilos
        num = num.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", num) else num.replace(",", ".")
        try:
            amount = float(num)
        except ValueError:          # "1.2.3 g": not a quantity
            continue
        if amount > 0:
            found.append(Quantity(amount * factor, dim))
    if not found:
        return None
    return next((q for q in found if q.dimension != "count"), found[0])


def of_listing(attributes: Mapping[str, str], titles: Iterable[str]) -> tuple[Quantity, ...]:
    """Every net content a factory listing states, in the attributes that state one and in
    its titles (they do not always agree: a saving is then judged on the least favourable)."""
    found: list[Quantity] = []
    for key in NET_CONTENT_KEYS:
        if key in attributes:
            q = parse(attributes[key])
            if q is None and key in ("pack", "count"):
                q = parse(f"{attributes[key]} pcs")
            if q is not None:
                found.append(q)
    found += [q for t in titles if (q := parse(t)) is not None]
    return tuple(dict.fromkeys(found))


def of_titles(titles: Iterable[str]) -> Quantity | None:
    for t in titles:
        q = parse(t)
        if q is not None:
            return q
    return None


def comparable(a: Quantity, b: Quantity) -> tuple[float, float] | None:
    """The two amounts in one unit, or None when they measure different things."""
    if a.dimension == b.dimension:
        return a.amount, b.amount
    for x, y, flip in ((a, b, False), (b, a, True)):
        if x.dimension == "oz" and y.dimension in ("mass", "volume"):
            conv = x.amount * (28.35 if y.dimension == "mass" else 29.57)
            return (y.amount, conv) if flip else (conv, y.amount)
    return None
