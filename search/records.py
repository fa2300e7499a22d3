"""Typed catalog records: brands, brand (reference) products, factories with their
endorsements, and factory products.

The indexer validates catalog files into these (``indexer.catalog.parse``); the search
side decodes stored documents back into them (``search.models``). Frozen, so they can be
hashed for incremental indexing and shared between threads.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from search.texts import LocalText

EndorsementType = Literal["same_foundry", "equal_quality"]
ENDORSEMENT_TYPES: tuple[str, ...] = ("same_foundry", "equal_quality")


@dataclass(frozen=True)
class Brand:
    id: str
    names: dict[str, str]                # language -> display name, e.g. {"en": "lululemon", "zh": "露露乐蒙"}
    aliases: tuple[str, ...] = ()        # other spellings users type (露露, lulu, ...)
    trademarks: tuple[str, ...] = ()     # words a factory listing must not use
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrandProduct:
    id: str
    brand: str
    titles: dict[str, str]
    category: str
    price: float
    currency: str
    images: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()        # nicknames users type, any language ("stanley cup", 冰霸杯, 小棕瓶)


@dataclass(frozen=True)
class Endorsement:
    type: EndorsementType
    brand: str
    evidence: LocalText | None = None        # one string, or per language (``search.texts``)
    verified_by: LocalText | None = None
    verified_at: dt.date | None = None
    expires_at: dt.date | None = None


@dataclass(frozen=True)
class Factory:
    id: str
    names: dict[str, str]
    region: LocalText | None = None          # a path from the province ("Zhejiang Yiwu": ``search.regions``)
    certifications: tuple[LocalText, ...] = ()
    ship_within_hours: int | None = None
    reply_minutes: int | None = None
    returns: LocalText | None = None
    endorsements: tuple[Endorsement, ...] = ()
    url: str | None = None               # its store or shop (http(s)), where a buyer contacts it
    email: str | None = None             # where a buyer asks for a sample or a quote


@dataclass(frozen=True)
class PriceTier:
    min_qty: int
    price: float


@dataclass(frozen=True)
class Product:
    id: str
    factory: str
    titles: dict[str, str]
    category: str
    price_tiers: tuple[PriceTier, ...]
    currency: str
    moq: int
    description: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()
    dupe_of: tuple[str, ...] = ()
    url: str | None = None               # the listing on the factory's shop (http(s))

    @property
    def min_price(self) -> float:
        return min(t.price for t in self.price_tiers)


def to_json(record: Any) -> Any:
    """A record as plain JSON-compatible data (dates as ISO strings)."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_json(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, dict):
        return {k: to_json(v) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [to_json(v) for v in record]
    if isinstance(record, dt.date):
        return record.isoformat()
    return record
