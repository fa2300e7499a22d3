"""The last valid version of catalog records, read back from the index they were written to.

A record a run rejects keeps the version indexed before (``reader.load_catalog`` asks for
it here), and so does a rejected record others refer to. Brands, brand products and
products are documents of their own; a factory lives inside its products' documents
(``source["factory"]``). What is read back goes through the same ``parse_*`` rules as a
catalog line, so a version that no longer passes them is not kept.
"""
from __future__ import annotations

from typing import Any

from indexer.catalog.parse import (
    BRAND_FIELDS,
    BRAND_PRODUCT_FIELDS,
    FACTORY_FIELDS,
    PRODUCT_FIELDS,
    parse_brand,
    parse_brand_product,
    parse_factory,
    parse_product,
)
from indexer.catalog.records import Factory
from search.store.base import Store, StoreError
from search.store.schema import doc_id

_PARSERS = {"brand": (parse_brand, BRAND_FIELDS), "brand_product": (parse_brand_product, BRAND_PRODUCT_FIELDS),
            "product": (parse_product, PRODUCT_FIELDS)}


def _parsed(parse: Any, fields: frozenset[str], source: dict[str, Any]) -> Any | None:
    """A stored source as the record it was made from: only the catalog fields (documents
    carry derived ones too), parsed again; None if that fails."""
    try:
        return parse({k: v for k, v in source.items() if k in fields})
    except (ValueError, TypeError, AttributeError):      # InvalidRecord is a ValueError
        return None


class StoredRecords:
    """``reader.Previous`` over a store (None: no index yet, nothing to keep)."""

    def __init__(self, store: Store | None) -> None:
        self.store = store

    def _source(self, kind: str, rid: str) -> dict[str, Any] | None:
        if self.store is None:
            return None
        try:
            doc, = self.store.get([doc_id(kind, rid)], vectors=False)
        except StoreError:          # damaged or unreadable: there is no valid version to keep
            return None
        return None if doc is None else doc.source

    def record(self, kind: str, rid: str) -> Any | None:
        source = self._source(kind, rid)
        if source is None:
            return None
        if kind == "product" and isinstance(source.get("factory"), dict):
            source = {**source, "factory": source["factory"].get("id")}
        return _parsed(*_PARSERS[kind], source)

    def factory(self, fid: str, product_id: str) -> Factory | None:
        source = self._source("product", product_id)
        view = source.get("factory") if source else None
        if not isinstance(view, dict) or view.get("id") != fid:
            return None
        return _parsed(parse_factory, FACTORY_FIELDS, view)
