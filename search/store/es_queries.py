"""Elasticsearch request bodies for the store's two retrievals, as small pure functions.

Each function returns the keyword arguments of one ``Elasticsearch.search`` call (the
search request body), so it can be unit-tested by equality without a server.

* ``bm25_query``: a bool query, one ``term`` clause per distinct analysed token on the
  ``tokens`` field (OR semantics, at least one must match), filters in the bool ``filter``
  (they restrict without scoring). Tokens are final: ``term`` never re-analyses them, so a
  token is matched exactly as the indexer wrote it and nothing in it is query syntax. A
  token repeated in the query gets ``boost`` = its count, which scores exactly like
  repeating the clause (what a ``match`` query would do) with fewer clauses. Scores are
  the index's BM25 (Elasticsearch 8 default similarity, k1=1.2, b=0.75).
* ``knn_query``: the top-level ``knn`` search option with the filters *inside* the kNN
  clause (so they apply during the graph search, never after it) and
  ``num_candidates = max(100, 10k)``. The quantised (int8_hnsw) graph only proposes
  candidates: an oversampled set (``max(3k, 30)``) is rescored with the exact cosine of
  the raw float vectors (Elasticsearch's documented "oversample and rescore" pattern for
  quantized vectors, a ``script_score`` rescorer: no paid licence needed), so the returned
  scores are exact cosines (+1) and the order matches a brute-force search over the same
  candidates. ``rescore=False`` gives the plain kNN search (scores are then Elasticsearch's
  ``(1 + cos) / 2``). Use ``knn_cosine`` to turn a hit's ``_score`` into a cosine.

  Image vectors are a ``nested`` list (``schema.es_vector_properties``): kNN over them
  returns each document once, scored by its best image, and the rescorer is a ``nested``
  query taking the best (``score_mode: max``) exact cosine of the document's images. So a
  document is ranked by its best-matching image on both backends.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from search.store import schema
from search.store.base import Filters
from search.store.schema import TOKENS_FIELD

MAX_NUM_CANDIDATES = 10_000     # Elasticsearch's upper limit for knn.num_candidates


def vector_field(field: str) -> str:
    """The mapped ``dense_vector`` field of a vector role ("text" -> "text_vector", "image"
    -> "image_vectors.vector")."""
    path = nested_path(field)
    return f"{path}.{schema.NESTED_VECTOR}" if path else schema.FLAT_VECTORS[field]


def nested_path(field: str) -> str | None:
    """The ``nested`` object holding a role's vectors (None: one plain field per document)."""
    return schema.FLAT_VECTORS[field] if schema.MAX_VECTORS[field] > 1 else None


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """Non-scoring filter clauses for ``filters`` (for a bool ``filter`` or a knn ``filter``),
    one per filtered field of ``schema.FIELDS``, in its order, then ``ids``.

    A keyword field is a ``term`` clause, a multi-valued one a ``terms`` clause (any of; a
    field the index does not map matches nothing); a numeric field's bounds are one
    ``range`` clause, which excludes documents without a value, as the embedded store's
    masks do; ``ids=()`` matches nothing.
    """
    out: list[dict[str, Any]] = []
    for f in schema.FIELDS:
        if f.type == "keyword":
            value = getattr(filters, f.name)
            if f.multi and value:
                out.append({"terms": {f.name: list(value)}})
            elif not f.multi and value is not None:
                out.append({"term": {f.name: value}})
            continue
        bounds = {op: getattr(filters, attr) for op, attr in (("gte", f.at_least), ("lte", f.at_most))
                  if attr and getattr(filters, attr) is not None}
        if bounds:
            out.append({"range": {f.name: bounds}})
    if filters.ids is not None:
        out.append({"ids": {"values": list(filters.ids)}})
    return out


def bm25_query(tokens: Sequence[str], k: int, filters: Filters = Filters()) -> dict[str, Any]:
    """Search body: top ``k`` by BM25 over the analysed ``tokens`` (OR), filtered.

    Empty tokens are dropped; the caller returns no hits without searching when none are
    left (see ``query_tokens``).
    """
    counts = Counter(query_tokens(tokens))
    should: list[dict[str, Any]] = []
    for token, n in counts.items():      # Counter keeps first-seen order
        term: dict[str, Any] = {"value": token}
        if n > 1:
            term["boost"] = float(n)
        should.append({"term": {TOKENS_FIELD: term}})
    bool_q: dict[str, Any] = {"should": should, "minimum_should_match": 1}
    clauses = filter_clauses(filters)
    if clauses:
        bool_q["filter"] = clauses
    return {"query": {"bool": bool_q}, "size": k, "_source": False, "track_total_hits": False}


def query_tokens(tokens: Sequence[str]) -> list[str]:
    """The tokens a BM25 query uses: the non-empty ones, in order."""
    return [t for t in tokens if t]


def knn_sizes(k: int) -> tuple[int, int]:
    """(candidates rescored, num_candidates) for a top-``k`` kNN search."""
    if k <= 0:
        raise ValueError("k must be positive")
    num_candidates = min(MAX_NUM_CANDIDATES, max(100, 10 * k))
    if k > num_candidates:
        raise ValueError(f"k={k} is above Elasticsearch's limit of {MAX_NUM_CANDIDATES} kNN candidates")
    return min(num_candidates, max(3 * k, 30)), num_candidates


def knn_query(field: str, vector: Sequence[float] | np.ndarray, k: int, filters: Filters = Filters(),
              *, rescore: bool = True) -> dict[str, Any]:
    """Search body: top ``k`` by cosine similarity of vector role ``field``, filtered inside kNN."""
    qv = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
    name = vector_field(field)
    oversampled, num_candidates = knn_sizes(k)
    knn: dict[str, Any] = {"field": name, "query_vector": qv,
                           "k": oversampled if rescore else k, "num_candidates": num_candidates}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = clauses
    body: dict[str, Any] = {"knn": knn, "size": k, "_source": False, "track_total_hits": False}
    if rescore:
        exact: dict[str, Any] = {"script_score": {
            # Every candidate has the vector; ``exists`` (not match_all) keeps the
            # script off documents without one, which would make it fail.
            "query": {"exists": {"field": name}},
            # +1 because script scores must not be negative; knn_cosine undoes it.
            "script": {"source": f"cosineSimilarity(params.query_vector, '{name}') + 1.0",
                       "params": {"query_vector": qv}},
        }}
        path = nested_path(field)
        if path:        # the script scores each image; the document gets its best one
            exact = {"nested": {"path": path, "score_mode": "max", "query": exact}}
        body["rescore"] = {
            "window_size": oversampled,
            "query": {"rescore_query": exact, "query_weight": 0.0, "rescore_query_weight": 1.0},
        }
    return body


def knn_cosine(score: float, *, rescore: bool = True) -> float:
    """The cosine similarity behind a kNN hit's ``_score`` from ``knn_query``."""
    return float(score) - 1.0 if rescore else 2.0 * float(score) - 1.0
