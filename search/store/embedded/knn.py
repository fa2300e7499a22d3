"""kNN over the view's vectors: each document once, scored by its best vector (max cosine),
so a product is found by any of its images.

A field held as a matrix is searched exactly. With a graph, a filter leaving few documents
is answered exactly over those documents (their vectors read from SQLite); otherwise the
graph is searched with oversampling and post-filtered (falling back to exact search when
too few survive), and its candidates are re-scored exactly from the float32 vectors in
SQLite (the graph holds int8).
"""
from __future__ import annotations

import sqlite3

import numpy as np

from search.store.embedded.vectors import ROWID_MASK, NoteBad, Vectors, search_beam, vectors_of
from search.store.embedded.view import View

#: With an HNSW graph, a filter leaving at most this many documents (and at most half of
#: them) is answered exactly, over those documents.
EXACT_SUBSET_MAX = 4096
#: ANN candidates re-scored exactly beyond k: max(RERANK_EXTRA, k // 2). int8 distances
#: mis-order near-duplicates; 90 extra (not 20) lifted image recall@10 at 1M .968 -> .989.
RERANK_EXTRA = 90


def search(conn: sqlite3.Connection, view: View, vecs: Vectors, q: np.ndarray, k: int, allowed: np.ndarray,
           m: int, note_bad: NoteBad) -> tuple[list[int], list[float]]:
    """(rowids, scores) of the top ``k`` of the ``m`` allowed documents (bool by position)."""
    if vecs.ann is None:
        return exact(view, vecs, q, k, allowed)
    if m <= min(EXACT_SUBSET_MAX, vecs.rows // 2):
        return exact_sql(conn, vecs, view.rowid[np.flatnonzero(allowed)], q, k, note_bad)
    return ann(conn, view, vecs, q, k, allowed, m, note_bad)


def top(rowids: np.ndarray, scores: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """Best k by score, ties by rowid."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return [], []
    if k < scores.shape[0]:
        part = np.argpartition(-scores, k - 1)[:k]
        # Keep every row tied with the k-th score, so ties are broken by rowid, not by chance.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
    else:
        part = np.arange(scores.shape[0])
    order = np.lexsort((rowids[part], -scores[part]))[:k]
    sel = part[order]
    return rowids[sel].tolist(), scores[sel].tolist()


def best_per_row(keys: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rowids of these vectors (``vectors.slot_keys``) and their scores, each row once
    with its best score: a document scores by its best-matching image."""
    if not np.any(keys > ROWID_MASK):         # first vectors only (e.g. text): one per row
        return keys, scores
    rowids = keys & ROWID_MASK
    order = np.lexsort((-scores, rowids))
    r = rowids[order]
    first = np.ones(r.size, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    return r[first], scores[order][first]


def first_seen(a: np.ndarray) -> np.ndarray:
    """The distinct values of ``a`` in the order they first occur."""
    _, at = np.unique(a, return_index=True)
    return a[np.sort(at)]


def exact(view: View, vecs: Vectors, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[list[int], list[float]]:
    """Top k allowed rows over the matrix, each by its best vector."""
    assert vecs.flat is not None
    keys, rows = vecs.flat.used()
    ok = allowed[view.pos_of[keys & ROWID_MASK]]
    keys, rows = keys[ok], rows[ok]
    if rows.size < vecs.flat.top // 4:
        scores = vecs.flat.mat[rows] @ q
    else:
        scores = (vecs.flat.mat[:vecs.flat.top] @ q)[rows]
    return top(*best_per_row(keys, scores), k)


def exact_sql(conn: sqlite3.Connection, vecs: Vectors, rowids: np.ndarray, q: np.ndarray, k: int,
              note_bad: NoteBad) -> tuple[list[int], list[float]]:
    """Top k of these rows, each by its best vector, read from SQLite."""
    keys, vectors = vectors_of(conn, vecs.name, rowids, vecs.dim, note_bad)
    if not keys.size:
        return [], []
    return top(*best_per_row(keys, vectors @ q), k)


def ann(conn: sqlite3.Connection, view: View, vecs: Vectors, q: np.ndarray, k: int, allowed: np.ndarray, m: int,
        note_bad: NoteBad) -> tuple[list[int], list[float]]:
    want = k + max(RERANK_EXTRA, k // 2)
    # Graph entries to fetch for ``want`` allowed documents: documents with several
    # images take several entries, and a filter keeps m of them.
    per_row = vecs.count / max(vecs.rows, 1)
    count = min(vecs.count, int(np.ceil(want * per_row)) if m >= vecs.rows
                else int(want * per_row * vecs.rows / m * 1.3) + 16)
    while True:
        with vecs.lock:
            vecs.ann.expansion_search = search_beam(vecs.count)
            found = vecs.ann.search(q, count)
        rowids = first_seen(np.asarray(found.keys, dtype=np.int64) & ROWID_MASK)
        pos = view.positions(rowids)
        rowids = rowids[(pos >= 0) & allowed[np.maximum(pos, 0)]]
        if rowids.size >= min(want, m):
            break
        # Too few allowed documents found: a graph search does not reach every node (asked
        # for all 1,600 entries it may return fewer), so a selective filter goes exact.
        if count * 4 >= vecs.count and m <= 8 * EXACT_SUBSET_MAX:
            return exact_sql(conn, vecs, view.rowid[np.flatnonzero(allowed)], q, k, note_bad)
        if count >= vecs.count:
            break
        count = min(vecs.count, count * 4)
    # Re-score the candidates exactly from the float32 vectors (the graph holds int8),
    # each by its best vector.
    return exact_sql(conn, vecs, rowids[:want], q, k, note_bad)
