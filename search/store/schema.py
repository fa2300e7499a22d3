"""The index schema: the one place that says which fields a document has.

Both backends store exactly these fields. ``to_flat``/``from_flat`` convert between the
typed ``IndexDoc`` and a flat JSON-able dict (vectors as lists), which is what the
Elasticsearch backend sends and what the embedded store keeps beside its columns.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from search.store.base import IndexDoc

SCHEMA_VERSION = 1

# Filterable scalar fields: name -> type ("keyword", "float", "integer").
FILTER_FIELDS: dict[str, str] = {
    "kind": "keyword",
    "category": "keyword",
    "price_min": "float",
    "moq": "integer",
    "region": "keyword",
    "ship_within_hours": "integer",
    "factory": "keyword",
    "brand": "keyword",
    "labels": "keyword",        # multi-valued
}
VECTOR_FIELDS: tuple[str, ...] = ("text", "image")
TOKENS_FIELD = "tokens"         # analysed text, space-joined; BM25 runs on this


def to_flat(doc: IndexDoc) -> dict[str, Any]:
    flat: dict[str, Any] = {
        "id": doc.id,
        "source": doc.source,
        TOKENS_FIELD: " ".join(doc.tokens),
        "content_hash": doc.content_hash,
    }
    for name in FILTER_FIELDS:
        flat[name] = getattr(doc, name)
    for name in VECTOR_FIELDS:
        vec = getattr(doc, f"{name}_vector")
        flat[f"{name}_vector"] = None if vec is None else [float(x) for x in vec]
    return flat


def from_flat(flat: dict[str, Any]) -> IndexDoc:
    vectors = {}
    for name in VECTOR_FIELDS:
        v = flat.get(f"{name}_vector")
        vectors[f"{name}_vector"] = None if v is None else np.asarray(v, dtype=np.float32)
    return IndexDoc(
        id=flat["id"],
        kind=flat["kind"],
        source=flat["source"],
        tokens=[t for t in (flat.get(TOKENS_FIELD) or "").split(" ") if t],
        content_hash=flat["content_hash"],
        category=flat.get("category"),
        price_min=flat.get("price_min"),
        moq=flat.get("moq"),
        region=flat.get("region"),
        ship_within_hours=flat.get("ship_within_hours"),
        factory=flat.get("factory"),
        brand=flat.get("brand"),
        labels=list(flat.get("labels") or []),
        **vectors,
    )
