"""Typed read models: stored documents decoded once into catalog records.

The store keeps each record as JSON (``IndexDoc.source``, written by ``indexer.documents``);
everything after the store (understanding, claims, ranking, the API and the pages) works on
these dataclasses and never reads ``dict.get("...")``. Decoding is tolerant of documents
written by older versions (a missing field takes its default) and keeps only known
fields, so indexer bookkeeping in the source (``_keys``) never reaches a user.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from search.quantity import Quantity, of_listing, of_titles
from search.records import Brand, BrandProduct, Endorsement, Factory, PriceTier, Product

Json = Mapping[str, Any]


@dataclass(frozen=True)
class Listing:
    """A factory product as the index holds it: the record, its factory, and the trademark
    words the indexer found in its titles (a counterfeit when there are any)."""
    product: Product
    factory: Factory
    trademark_hits: tuple[tuple[str, str], ...] = ()
    words: frozenset[str] = frozenset()     # its analysed words (what kind of product it is)

    @property
    def id(self) -> str:
        return self.product.id

    @property
    def counterfeit(self) -> bool:
        return bool(self.trademark_hits)

    @cached_property
    def contents(self) -> tuple[Quantity, ...]:
        """What its pack holds, as its attributes and titles state it."""
        return of_listing(self.product.attributes, self.product.titles.values())


# Stored sources were written from validated records (strings are strings), so decoding
# copies rather than converts: it runs for every candidate of every search.
def _texts(v: Any) -> dict[str, str]:
    return dict(v) if isinstance(v, dict) else {}


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(v) if isinstance(v, list) else ()


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and v:
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _opt_int(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def brand(src: Json) -> Brand:
    return Brand(id=src["id"], names=_texts(src.get("names")), aliases=_strs(src.get("aliases")),
                 trademarks=_strs(src.get("trademarks")), categories=_strs(src.get("categories")))


def brand_product(src: Json) -> BrandProduct:
    return BrandProduct(id=src["id"], brand=src["brand"], titles=_texts(src.get("titles")),
                        category=src.get("category") or "", price=float(src.get("price") or 0),
                        currency=src.get("currency") or "CNY", images=_strs(src.get("images")),
                        aliases=_strs(src.get("aliases")))


def brand_contents(bp: BrandProduct) -> Quantity | None:
    """What a brand product's pack holds, as its titles state it ("750 g (30 packs)")."""
    return _titles_contents(tuple(bp.titles[k] for k in dict.fromkeys(("en", *bp.titles)) if k in bp.titles))


@lru_cache(maxsize=4096)
def _titles_contents(titles: tuple[str, ...]) -> Quantity | None:
    return of_titles(titles)


def endorsement(src: Json) -> Endorsement:
    return Endorsement(type=src.get("type"), brand=src.get("brand"),  # type: ignore[arg-type]
                       evidence=src.get("evidence"), verified_by=src.get("verified_by"),
                       verified_at=_date(src.get("verified_at")), expires_at=_date(src.get("expires_at")))


def factory(src: Json) -> Factory:
    return Factory(id=src.get("id") or "", names=_texts(src.get("names")), region=src.get("region"),
                   certifications=_strs(src.get("certifications")),
                   ship_within_hours=_opt_int(src.get("ship_within_hours")),
                   reply_minutes=_opt_int(src.get("reply_minutes")), returns=src.get("returns"),
                   endorsements=tuple(endorsement(e) for e in src.get("endorsements") or () if isinstance(e, Mapping)),
                   url=src.get("url"), email=src.get("email"))


def listing(src: Json, find_trademarks: Callable[[Iterable[str]], list[tuple[str, str]]] | None = None,
            factories: dict[str, Factory] | None = None, words: Iterable[str] = ()) -> Listing:
    """A stored product. Its trademark words were found by the indexer; a document written
    before it did that is checked with ``find_trademarks``. ``factories`` caches decoded
    factories by id (every product of a factory carries the same copy of it); ``words``
    are its analysed words (``IndexDoc.tokens``: titles, attributes, the start of the
    description), for the claim rule's kind of product."""
    tiers = tuple(PriceTier(int(t["min_qty"]), float(t["price"])) for t in src.get("price_tiers") or ())
    product = Product(id=src["id"], factory=(src.get("factory") or {}).get("id") or "",
                      titles=_texts(src.get("titles")), category=src.get("category") or "",
                      price_tiers=tiers, currency=src.get("currency") or "CNY", moq=int(src.get("moq") or 1),
                      description=src.get("description") or "", attributes=_texts(src.get("attributes")),
                      images=_strs(src.get("images")), dupe_of=_strs(src.get("dupe_of")), url=src.get("url"))
    raw = src.get("trademark_hits")
    if raw is None and find_trademarks is not None:
        raw = find_trademarks(product.titles.values())
    hits = tuple((str(b), str(w)) for b, w in raw or ())
    fsrc = src.get("factory") or {}
    f = factories.get(product.factory) if factories is not None else None
    if f is None:
        f = factory(fsrc)
        if factories is not None:
            factories[product.factory] = f
    return Listing(product, f, hits, frozenset(words))
