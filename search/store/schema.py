"""The index schema: the one place that says which fields a document has.

Both backends store exactly these fields: the filterable ones are the table ``FIELDS``,
from which each backend derives its columns or mapping and its filters. ``to_flat`` and
``from_flat`` convert between the typed ``IndexDoc`` and a flat JSON-able dict (vectors as
lists), which is what the Elasticsearch backend sends and reads back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from search.store.base import IndexDoc

#: 1: one image vector per document; 2: up to ``MAX_IMAGES`` (``IndexDoc.image_vectors``).
#: The embedded store reads version 1 as it is (its blob of one vector is a list of one);
#: an Elasticsearch index of version 1 must be rebuilt (its mapping has another shape).
SCHEMA_VERSION = 2

FieldType = Literal["keyword", "float", "integer"]


@dataclass(frozen=True)
class Field:
    """One filterable field of a document: an ``IndexDoc`` attribute of that name, a column
    of the embedded store and a field of the Elasticsearch mapping, all derived from this row.

    * a keyword field is filtered by the ``Filters`` attribute of the same name: equality,
      or, ``multi`` (a list of values), any of the values given (empty: no filter);
    * a numeric field is filtered by ranges: ``at_least``/``at_most`` name the ``Filters``
      attributes of its bounds (a document without a value never passes a bound).

    ``origin`` says where an index document's value comes from (``indexer.documents``).
    """
    name: str
    type: FieldType
    origin: str
    multi: bool = False
    at_least: str | None = None
    at_most: str | None = None

    @property
    def filters(self) -> tuple[str, ...]:
        """The ``Filters`` attributes that filter this field."""
        if self.type == "keyword":
            return (self.name,)
        return tuple(a for a in (self.at_least, self.at_most) if a)


#: Every filterable field. Adding a filter is a row here, the ``IndexDoc`` and ``Filters``
#: attributes it names (``search.store.base``) and its value in ``indexer.documents``; both
#: backends derive their columns, mappings, masks and filter clauses from this table, and an
#: index built before the row existed gains the field empty (the next ``dupe index`` run
#: fills it: the field is part of every document's content hash).
FIELDS: tuple[Field, ...] = (
    Field("kind", "keyword", "the document's kind (product, brand_product, brand)"),
    Field("category", "keyword", "the product's or brand product's category"),
    Field("price_min", "float", "the product's lowest tier price; the brand product's price",
          at_least="price_min", at_most="price_max"),
    Field("moq", "integer", "the product's minimum order quantity", at_most="moq_max"),
    Field("labels", "keyword", "the factory's endorsements with evidence, by type and by type:brand",
          multi=True),
    Field("dupe_of", "keyword", "the brand product ids the product declares itself a dupe of", multi=True),
    Field("region", "keyword", "the factory's region"),
    Field("ship_within_hours", "integer", "the factory's shipping time", at_most="ship_within_max"),
    Field("factory", "keyword", "the product's factory id"),
    Field("brand", "keyword", "the brand of a brand product or brand; a product's first dupe_of target's"),
    Field("certifications", "keyword", "the factory's certifications (\"BSCI\", \"ISO 9001\")", multi=True),
    Field("regions", "keyword", "every prefix of the factory's region path (search.regions.prefixes)", multi=True),
)
FIELD: dict[str, Field] = {f.name: f for f in FIELDS}
# The same table as name -> type, and the names of the multi-valued fields.
FILTER_FIELDS: dict[str, FieldType] = {f.name: f.type for f in FIELDS}
MULTI_VALUED: frozenset[str] = frozenset(f.name for f in FIELDS if f.multi)
VECTOR_FIELDS: tuple[str, ...] = ("text", "image")

#: Images of a record that are embedded and matched, main image first. A photo search must
#: find a product by any view its listing shows (the back, the sole, the packaging), but
#: every image costs ~30 ms of model time at index time and ~9 KB in the index (int8 graph
#: node + float32 copy) at search time, and listings put the product views first: later
#: images are mostly size charts, certificates and factory photos, which match unrelated
#: photos rather than the product. Four covers the views of nearly every listing.
MAX_IMAGES = 4
#: Most vectors a document holds per field.
MAX_VECTORS: dict[str, int] = {"text": 1, "image": MAX_IMAGES}
#: Where a vector field lives in a flat document (``to_flat``) and in the Elasticsearch
#: mapping: the text vector as a list of floats; the image vectors as a list of objects
#: ``{"vector": [...]}``, mapped ``nested``, so that kNN scores a document by its best image
#: and returns it once.
FLAT_VECTORS: dict[str, str] = {"text": "text_vector", "image": "image_vectors"}
NESTED_VECTOR = "vector"


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


def vectors_of(doc: IndexDoc, name: str) -> tuple[np.ndarray, ...]:
    """The vectors of field ``name`` of a document (none, one, or one per image)."""
    if name == "image":
        return doc.image_vectors
    vec = doc.text_vector
    return () if vec is None else (vec,)


def vectors_problem(doc: IndexDoc, name: str, dim: int | None) -> str | None:
    """Why the ``name`` vectors of ``doc`` cannot be stored (None: they can): too many, or
    one that ``vector_problem`` refuses. Checked on write by both backends."""
    vecs = vectors_of(doc, name)
    if len(vecs) > MAX_VECTORS[name]:
        return f"has {len(vecs)} {name} vectors, at most {MAX_VECTORS[name]} are stored"
    for n, vec in enumerate(vecs, start=1):
        problem = vector_problem(vec, dim)
        if problem:
            return f"{name} vector{f' {n}' if len(vecs) > 1 else ''} {problem}"
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
    vec = doc.text_vector
    flat[FLAT_VECTORS["text"]] = None if vec is None else _floats(vec)
    flat[FLAT_VECTORS["image"]] = [{NESTED_VECTOR: _floats(v)} for v in doc.image_vectors] or None
    return flat


def _floats(vec: np.ndarray) -> list[float]:
    return [float(x) for x in vec]


def from_flat(flat: dict[str, Any]) -> IndexDoc:
    text = flat.get(FLAT_VECTORS["text"])
    images = [np.asarray(v[NESTED_VECTOR], dtype=np.float32) for v in flat.get(FLAT_VECTORS["image"]) or ()]
    if not images and flat.get("image_vector") is not None:         # written with schema version 1
        images = [np.asarray(flat["image_vector"], dtype=np.float32)]
    vectors = {"text_vector": None if text is None else np.asarray(text, dtype=np.float32),
               "image_vectors": tuple(images)}
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
    * one ``dense_vector`` per role in ``dims`` (cosine, ``int8_hnsw``), the image one
      inside a ``nested`` list (``es_vector_properties``); a role without dims gets no
      vector field yet (its size is unknown until ``set_models``).
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
            properties.update(es_vector_properties(name, dims[name]))
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


def es_vector_properties(name: str, dim: int) -> dict[str, Any]:
    """The mapping properties of vector field ``name``: a ``dense_vector`` for a field of one
    vector per document, a ``nested`` list of them for a field of several (kNN over nested
    vectors ranks each document by its best vector: Elasticsearch 8.11+, free licence)."""
    if MAX_VECTORS[name] == 1:
        return {FLAT_VECTORS[name]: es_vector_mapping(dim)}
    return {FLAT_VECTORS[name]: {"type": "nested", "properties": {NESTED_VECTOR: es_vector_mapping(dim)}}}


def es_mapped_dim(properties: dict[str, Any], name: str) -> int | None:
    """The dims of vector field ``name`` in a mapping's ``properties`` (None: not mapped)."""
    prop = properties.get(FLAT_VECTORS[name]) or {}
    if MAX_VECTORS[name] > 1:
        prop = (prop.get("properties") or {}).get(NESTED_VECTOR) or {}
    return int(prop["dims"]) if "dims" in prop else None
