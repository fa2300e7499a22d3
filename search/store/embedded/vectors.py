"""The vectors of the in-memory view, per field: an exact float32 matrix, or an HNSW graph,
and their lifecycle (read from SQLite, built, saved beside the database, loaded and brought
up to date from the change log, switched from matrix to graph as a field grows).

A field with fewer than ``ann_min`` vectors is held as a matrix and searched exactly; from
``ann_min`` on, as an HNSW graph (usearch, vectors held as int8) whose candidates are
re-scored exactly from the float32 vectors in SQLite (``knn``). Both hold every vector of
a document, keyed ``rowid | slot << SLOT_SHIFT``. A graph is saved as
``<db>.<field>.s<seq>.usearch`` (``seq``: the log position it reflects), so another
process or a restart loads it and applies the log from there instead of building it.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from search.store import schema
from search.store.embedded import files
from search.store.embedded.sqlite import LOG_ALL, LOG_VECTOR, blob_problem, changed_since, chunks, marks

if TYPE_CHECKING:
    from search.store.embedded.view import View

#: Key of vector ``slot`` of a document (its ``slot``-th image) in the graphs and matrices:
#: ``rowid | slot << SLOT_SHIFT``. The first vector is keyed by the rowid alone, as when a
#: document had one, so graphs saved by that version load as they are. SQLite gives a new
#: row the largest rowid + 1: rowids stay far below 2**40.
SLOT_SHIFT = 40
ROWID_MASK = (1 << SLOT_SHIFT) - 1

#: Vector fields with fewer vectors than this are searched exactly (brute force).
ANN_MIN = 20000             # a deployment sets its own: DUPE_ANN_MIN (search.settings)
#: Graph parameters (usearch): vectors held as int8 (cosine), neighbours per node, build and
#: search beam widths. int8 halves memory against float16 and, with candidates re-scored
#: exactly, gave equal or better recall on our vectors; near-duplicate listings (many at
#: 1M) need the wider graph and beams: 16/128/200 gave recall@10 0.83 there, 24/200/500
#: 0.98 (measured in benchmarks.speed).
HNSW_DTYPE = "i8"
HNSW_CONNECTIVITY = 24
HNSW_EXPANSION_ADD = 200
HNSW_EXPANSION_SEARCH = 500
#: The search beam grows with the graph: at 1M near-duplicate-rich vectors a beam of 500
#: reached recall@10 0.92 (text) / 0.94 (image), 2,000 reached 0.989 / 0.989.
HNSW_VECTORS_PER_BEAM_SLOT = 500

#: Notes vectors that cannot be read back (damaged bytes): (connection, field, [(rowid, why)]).
NoteBad = Callable[[sqlite3.Connection, str, "list[tuple[int, str]]"], None]


def search_beam(n_vectors: int) -> int:
    """HNSW search beam width (usearch ``expansion_search``) for a graph of this size."""
    return max(HNSW_EXPANSION_SEARCH, n_vectors // HNSW_VECTORS_PER_BEAM_SLOT)


def usearch() -> Any:
    """The usearch module. onnxruntime (the models) must be imported before it: the other
    order crashes the process (usearch 2.26 + onnxruntime 1.31, a C++ runtime clash)."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    import usearch.index
    return usearch.index


def hnsw(dim: int) -> Any:
    u = usearch()
    return u.Index(ndim=dim, metric=u.MetricKind.Cos, dtype=HNSW_DTYPE, connectivity=HNSW_CONNECTIVITY,
                   expansion_add=HNSW_EXPANSION_ADD, expansion_search=HNSW_EXPANSION_SEARCH)


class Flat:
    """Vectors by key (``slot_keys``) in one float32 matrix, searched exactly: a field with
    fewer vectors than ``ann_min``. Packed (rows freed by removals are reused), not one row
    per document and image: most documents have fewer images than the most allowed."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.mat = np.zeros((0, dim), dtype=np.float32)
        self.keys = np.zeros(0, dtype=np.int64)      # by matrix row; -1: free
        self.row_of: dict[int, int] = {}
        self.free: list[int] = []
        self.top = 0                                  # rows in use are < top

    def add(self, keys: np.ndarray, block: np.ndarray) -> None:
        keys = np.asarray(keys).astype(np.int64)
        reused = [self.free.pop() for _ in range(min(keys.size, len(self.free)))]
        fresh = keys.size - len(reused)
        rows = np.concatenate([np.asarray(reused, dtype=np.int64), np.arange(self.top, self.top + fresh)])
        if self.top + fresh > self.keys.size:
            cap = max(1024, self.keys.size)
            while cap < self.top + fresh:
                cap *= 2
            self.mat = np.concatenate([self.mat, np.zeros((cap - self.keys.size, self.dim), dtype=np.float32)])
            self.keys = np.concatenate([self.keys, np.full(cap - self.keys.size, -1, dtype=np.int64)])
        self.top += fresh
        self.mat[rows] = block
        self.keys[rows] = keys
        self.row_of.update(zip(keys.tolist(), rows.tolist()))

    def remove(self, keys: np.ndarray) -> None:
        rows = [self.row_of.pop(k) for k in np.asarray(keys).astype(np.int64).tolist()]
        self.keys[rows] = -1
        self.free += rows

    def used(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, matrix rows) of the vectors held."""
        rows = np.flatnonzero(self.keys[:self.top] >= 0)
        return self.keys[rows], rows


@dataclass
class Vectors:
    """The vectors of one field: an exact matrix or an HNSW graph, both by key (vector
    ``j`` of a row: ``rowid | j << SLOT_SHIFT``; ``nvec`` says how many a row has)."""
    name: str
    dim: int
    nvec: np.ndarray                         # int8 by position: vectors the row has (0: none)
    count: int = 0                           # vectors
    rows: int = 0                            # rows with at least one vector
    flat: Flat | None = None                 # exact mode
    ann: Any = None                          # usearch Index, ANN mode
    lock: threading.Lock = field(default_factory=threading.Lock)   # usearch calls, one at a time
    saved_seq: int = -1                      # log position of the graph file on disk
    origin: str = ""                         # "built" or "loaded" (graph), "matrix" (exact)
    changed_since_save: int = 0

    @property
    def index(self) -> Any:
        """Where the vectors are (graph or matrix: both ``add`` and ``remove`` by key)."""
        return self.ann if self.ann is not None else self.flat

    def recount(self, top: int) -> None:
        self.count = int(self.nvec[:top].sum(dtype=np.int64))
        self.rows = int(np.count_nonzero(self.nvec[:top]))

    def nbytes(self) -> int:
        return int(self.nvec.nbytes + (self.flat.mat.nbytes + self.flat.keys.nbytes if self.flat is not None else 0)
                   + (self.ann.memory_usage if self.ann is not None else 0))


def slot_keys(rowids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The keys of ``counts[i]`` vectors of row ``rowids[i]``, row by row (see ``SLOT_SHIFT``)."""
    owner = np.repeat(np.asarray(rowids, dtype=np.int64), counts)
    slot = np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner | (slot << SLOT_SHIFT)


def decode_vectors(rows: Sequence[tuple[int, bytes]], dim: int, slots: int = 1
                   ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Keys (``slot_keys``) and float32 vectors of ``(rowid, blob)`` rows read from SQLite
    (a blob holds 1 to ``slots`` vectors), without the rows that are not valid stored vectors
    (a wrong size, a vector not finite or not of length 1: damaged bytes), which come back
    apart as (rowid, reason): never ranked, nor any other vector of theirs."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32), []
    size = 4 * dim if dim else len(rows[0][1] or b"")
    bad = [(int(r), problem) for r, b in rows if (problem := blob_problem(b, size, slots))]
    good = [(r, b) for r, b in rows if not blob_problem(b, size, slots)] if bad else rows
    rowids = np.fromiter((r for r, _ in good), dtype=np.int64, count=len(good))
    counts = np.fromiter((len(b) // size for _, b in good), dtype=np.int64, count=len(good))
    keys = slot_keys(rowids, counts)
    block = np.frombuffer(b"".join(b for _, b in good), dtype=np.float32).reshape(keys.size, size // 4 or 1)
    ok = schema.valid_rows(block)
    if not ok.all():
        owner = keys & ROWID_MASK
        broken: dict[int, int] = {}
        for i in np.flatnonzero(~ok).tolist():
            broken.setdefault(int(owner[i]), i)
        bad += [(r, f"stored vector {schema.vector_problem(block[i], None)}") for r, i in broken.items()]
        keep = ~np.isin(owner, list(broken))
        keys, block = keys[keep], block[keep]
    return keys, block, bad


def vectors_of(conn: sqlite3.Connection, name: str, rowids: Sequence[int], dim: int, note_bad: NoteBad
               ) -> tuple[np.ndarray, np.ndarray]:
    """Keys and float32 vectors of these rows from SQLite (rows without one are left out)."""
    rows: list[tuple[int, bytes]] = []
    for chunk in chunks([int(r) for r in rowids]):
        rows += conn.execute(f"SELECT rowid, v FROM vec_{name} WHERE rowid IN ({marks(len(chunk))})", chunk).fetchall()
    keys, block, bad = decode_vectors(rows, dim, schema.MAX_VECTORS[name])
    note_bad(conn, name, bad)
    return keys, block


def scan_vectors(conn: sqlite3.Connection, name: str, dim: int, note_bad: NoteBad, chunk: int = 50_000
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Keys and vectors of every valid vector of one field, in chunks (damaged ones are
    noted and left out)."""
    cur = conn.execute(f"SELECT rowid, v FROM vec_{name} ORDER BY rowid")
    bad: list[tuple[int, str]] = []
    while True:
        rows = cur.fetchmany(chunk)
        if not rows:
            break
        keys, block, damaged = decode_vectors(rows, dim, schema.MAX_VECTORS[name])
        bad += damaged
        if keys.size:
            yield keys, block
    note_bad(conn, name, bad)


def vector_changed(changed: dict[int, int], field: str, rowids: Iterable[int]) -> list[int]:
    """Those of ``rowids`` whose ``field`` vectors changed (``changed``: rowid -> ``LOG_*`` bits)."""
    bit = LOG_VECTOR[field]
    return [r for r in rowids if changed.get(r, LOG_ALL) & bit]


def read_all(conn: sqlite3.Connection, view: View, vecs: Vectors, note_bad: NoteBad, make: Callable[[int], Any]
             ) -> Any:
    """Every valid stored vector of the field, in a new index made by ``make(dim)`` (a
    matrix or a graph; None when there are none and the dim is unknown)."""
    index = make(vecs.dim) if vecs.dim else None
    vecs.nvec[:] = 0
    for keys, block in scan_vectors(conn, vecs.name, vecs.dim, note_bad):
        if index is None:
            vecs.dim = block.shape[1]
            index = make(vecs.dim)
        index.add(keys.astype(np.uint64), block)
        np.add.at(vecs.nvec, view.pos_of[keys & ROWID_MASK], 1)
    vecs.recount(view.top)
    return index


def load_matrix(conn: sqlite3.Connection, view: View, vecs: Vectors, note_bad: NoteBad) -> None:
    vecs.ann, vecs.origin, vecs.flat = None, "matrix", None
    vecs.flat = read_all(conn, view, vecs, note_bad, Flat) or Flat(vecs.dim)


def load_graph(conn: sqlite3.Connection, view: View, vecs: Vectors, seq: int, pruned: int, note_bad: NoteBad) -> None:
    """Load the newest saved graph the log can bring up to ``seq``, else build one."""
    vecs.flat = None
    for saved, path in files.sidecars(view.db_file, vecs.name, ".usearch"):
        if saved > seq or saved < pruned:
            continue
        try:
            index = usearch().Index.restore(str(path))
            index.expansion_search = HNSW_EXPANSION_SEARCH      # not kept in the file
        except Exception:  # noqa: BLE001 - a missing or damaged file: build instead
            continue
        if index is None or index.ndim != vecs.dim and vecs.dim:
            continue
        vecs.ann, vecs.dim = index, index.ndim
        vecs.nvec[:] = 0
        keys = np.asarray(index.keys, dtype=np.int64) if len(index) else np.zeros(0, dtype=np.int64)
        live = view.positions(keys & ROWID_MASK) >= 0
        changed = changed_since(conn, saved, seq)
        if not live.all():
            # Rows gone since the save must be among the changed ones; anything else is damage.
            if not set((keys[~live] & ROWID_MASK).tolist()) <= set(changed):
                continue
            index.remove(keys[~live].astype(np.uint64))
            keys = keys[live]
        np.add.at(vecs.nvec, view.pos_of[keys & ROWID_MASK], 1)
        vecs.recount(view.top)
        moved = vector_changed(changed, vecs.name, changed)
        apply_vectors(conn, view, vecs, moved, note_bad)
        total = conn.execute(f"SELECT count(*) FROM vec_{vecs.name}").fetchone()[0]
        if vecs.rows != total:
            continue                        # not what the log promised: build instead
        vecs.saved_seq, vecs.origin = saved, "loaded"
        vecs.changed_since_save = len(moved)
        if len(moved) > max(10_000, vecs.count // 10):
            save_graph(view, vecs, seq)
        return
    vecs.ann = None
    vecs.ann = read_all(conn, view, vecs, note_bad, hnsw)
    vecs.origin = "built"
    save_graph(view, vecs, seq)


def save_graph(view: View, vecs: Vectors, seq: int) -> None:
    """Save the graph beside the database as of log position ``seq`` (a read-only folder or
    a full disk: not saved, the next process builds it)."""
    if vecs.ann is None:
        return
    final = files.sidecar(view.db_file, vecs.name, seq, ".usearch")
    tmp = final.with_name(final.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        vecs.ann.save(str(tmp))
        os.replace(tmp, final)
    except Exception:  # noqa: BLE001 - a read-only folder or a full disk: serve, just do not save
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    vecs.saved_seq, vecs.changed_since_save = seq, 0
    files.remove_older_sidecars(view.db_file, vecs.name, seq, ".usearch")


def apply_vectors(conn: sqlite3.Connection, view: View, vecs: Vectors, rowids: Sequence[int], note_bad: NoteBad
                  ) -> None:
    """Bring one field's vectors of these rows up to what SQLite holds now."""
    for chunk in chunks(list(rowids)):
        keys, block = vectors_of(conn, vecs.name, chunk, vecs.dim, note_bad)
        if keys.size and vecs.ann is None and (vecs.flat is None or vecs.flat.dim != block.shape[1]):
            vecs.dim = block.shape[1]
            vecs.flat = Flat(vecs.dim)
        view.set_vectors(vecs, chunk, keys, block)


def to_graph(view: View, vecs: Vectors, seq: int) -> None:
    """Switch a field that grew past ``ann_min`` from the exact matrix to a graph."""
    assert vecs.flat is not None
    keys, rows = vecs.flat.used()
    index = hnsw(vecs.dim)
    for i in range(0, keys.size, 50_000):
        index.add(keys[i:i + 50_000].astype(np.uint64), vecs.flat.mat[rows[i:i + 50_000]])
    vecs.ann, vecs.flat, vecs.origin = index, None, "built"
    save_graph(view, vecs, seq)
