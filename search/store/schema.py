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

# Filterable fields: name -> type ("keyword", "float", "integer"). Each is an ``IndexDoc``
# attribute; the keyword ones are also ``Filters`` attributes (equality, or any-of for the
# multi-valued ones), the numeric ones are filtered by ranges.
FILTER_FIELDS: dict[str, str] = {
    "kind": "keyword",
    "category": "keyword",
    "price_min": "float",
    "moq": "integer",
    "region": "keyword",
    "ship_within_hours": "integer",
    "factory": "keyword",
    "brand": "keyword",
    "labels": "keyword",
    "dupe_of": "keyword",
}
# Fields holding a list of values (any-of filters).
MULTI_VALUED: frozenset[str] = frozenset({"labels", "dupe_of"})
VECTOR_FIELDS: tuple[str, ...] = ("text", "image")


def doc_id(kind: str, record_id: str) -> str:
    """Document ids are namespaced by kind, so a product and a brand product may share an id."""
    return f"{kind}:{record_id}"


def record_id(document_id: str) -> str:
    """The catalog record id of a document id ("product:p-001" -> "p-001")."""
    return document_id.split(":", 1)[1]


def doc_kind(document_id: str) -> str:
    """The kind of a document id ("product:p-001" -> "product")."""
    return document_id.split(":", 1)[0]


def label_key(type_: str, brand: str) -> str:
    """The ``labels`` value of an endorsement of ``type_`` for ``brand``; a product's
    ``labels`` hold each endorsement type alone and scoped by brand this way."""
    return f"{type_}:{brand}"
TOKENS_FIELD = "tokens"         # analysed text, space-joined; BM25 runs on this

#: How far a stored vector's length may be from 1. The embedders return L2-normalised
#: float32 vectors (length within 1e-6 of 1) and the embedded store scores by dot product,
#: so a vector of another length would out-rank everything: one stored vector of 1e30
#: was the top result of every query.
NORM_TOLERANCE = 1e-2


def vector_problem(vector: Any, dim: int | None) -> str | None:
    """Why ``vector`` cannot be stored as a vector of ``dim`` dimensions (None: it can).
    Checked on write by both backends, and on read by the embedded store."""
    v = np.asarray(vector, dtype=np.float32)
    if v.ndim != 1 or (dim and v.shape[0] != dim):
        return f"has shape {v.shape}, the index expects ({dim},)"
    if not np.all(np.isfinite(v)):
        return "has NaN or infinite values"
    if not np.any(v):
        return "is all zeros (cosine similarity needs a direction)"
    norm = float(np.linalg.norm(v.astype(np.float64)))
    if abs(norm - 1.0) > NORM_TOLERANCE:
        return f"has length {norm:.3g}, not 1 (vectors are L2-normalised)"
    return None


def valid_rows(block: np.ndarray) -> np.ndarray:
    """Bool per row of a float32 matrix: the row is a finite vector of length ~1 (what
    ``vector_problem`` accepts), checked in one pass for vectors read in bulk."""
    with np.errstate(over="ignore", invalid="ignore"):
        sq = np.einsum("ij,ij->i", block, block)
    return np.isfinite(sq) & (np.abs(sq - 1.0) <= 2 * NORM_TOLERANCE)


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
    # A field missing from ``flat`` (a document written before the field existed) is empty.
    fields = {name: list(flat.get(name) or []) if name in MULTI_VALUED else flat.get(name)
              for name in FILTER_FIELDS}
    fields["kind"] = flat["kind"]
    return IndexDoc(
        id=flat["id"],
        source=flat["source"],
        tokens=[t for t in (flat.get(TOKENS_FIELD) or "").split(" ") if t],
        content_hash=flat["content_hash"],
        **fields,
        **vectors,
    )


# Elasticsearch field types for FILTER_FIELDS (the names above are already ES-compatible).
_ES_TYPES = {"keyword": "keyword", "float": "float", "integer": "integer"}


def es_mapping(dims: dict[str, int], models: dict[str, str], *, generation: int = 0) -> dict[str, Any]:
    """The Elasticsearch index mapping of these fields (``search.store.elastic``).

    * ``source``: kept in ``_source`` only (an ``enabled: false`` object: never indexed).
    * ``tokens``: the pre-analysed tokens, space-joined, as ``text`` with the
      ``whitespace`` analyzer (no lowercasing or stemming: our analysis is final) and the
      default BM25 similarity.
    * ``id``, ``content_hash`` and every ``FILTER_FIELDS`` entry: keyword/numeric fields.
    * one ``dense_vector`` per role in ``dims`` (cosine, ``int8_hnsw``); a role without
      dims gets no vector field yet (its size is unknown until ``set_models``).
    * ``_meta``: schema version, embedding models, dims and the write generation.

    ``dynamic: strict`` rejects any field not listed here.
    """
    properties: dict[str, Any] = {
        "id": {"type": "keyword"},
        "source": {"type": "object", "enabled": False},
        TOKENS_FIELD: {"type": "text", "analyzer": "whitespace"},
        "content_hash": {"type": "keyword"},
    }
    for name, kind in FILTER_FIELDS.items():
        properties[name] = {"type": _ES_TYPES[kind]}
    for name in VECTOR_FIELDS:
        if name in dims:
            properties[f"{name}_vector"] = es_vector_mapping(dims[name])
    return {
        "dynamic": "strict",
        "_meta": {"schema_version": SCHEMA_VERSION, "models": dict(models), "dims": dict(dims),
                  "generation": generation},
        "properties": properties,
    }


def es_vector_mapping(dim: int) -> dict[str, Any]:
    """The ``dense_vector`` mapping of one vector field with ``dim`` dimensions."""
    return {"type": "dense_vector", "dims": int(dim), "index": True, "similarity": "cosine",
            "index_options": {"type": "int8_hnsw"}}
