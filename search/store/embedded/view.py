"""The in-memory view of one database file, at one position of its change log: what every
search reads (filter columns, BM25 postings, vectors), never SQLite's tables.

Rows live at positions (reused after removals); ``View`` maps rowids to positions and
holds the ``Columns``, the ``Lexicon`` and one ``Vectors`` per field. ``load`` builds a
view (from the view saved beside the database, ``<db>.view.s<seq>.npz``, when there is
one the log can bring up to date: a large index is not re-read and re-tokenised on every
start); ``catch_up`` applies the rows logged since the view's position (after a commit by
any connection, e.g. the indexer process) and says when a reload is needed instead.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from search.store import schema
from search.store.base import Filters
from search.store.embedded import files, sqlite, vectors
from search.store.embedded.columns import Columns
from search.store.embedded.lexicon import Lexicon
from search.store.embedded.sqlite import FILTER_SELECT, LOG_ALL, LOG_TOKENS, TOKENS_AT, chunks, marks
from search.store.embedded.vectors import ROWID_MASK, NoteBad, Vectors, slot_keys

#: Documents changed since the postings were built, beyond which they are rebuilt.
LEX_DELTA_MAX = 20_000
#: From this many documents, the view (filter columns and postings) is saved beside the
#: database, so opening it does not re-read and re-tokenise every document.
VIEW_SAVE_MIN = 50_000


@dataclass(frozen=True)
class FieldState:
    """What the view holds of one vector field (``EmbeddedStore.describe``)."""
    graph: bool             # an HNSW graph (else an exact matrix)
    origin: str             # "built" or "loaded" (graph), "matrix" (exact)
    vectors: int
    documents: int          # documents holding at least one vector of the field
    dim: int
    saved_seq: int          # log position of the graph saved beside the database (-1: none)
    beam: int | None        # the graph's search beam (usearch ``expansion_search``)


@dataclass(frozen=True)
class StoreState:
    """What an ``EmbeddedStore`` serves searches from now (``describe``): its database
    file and the in-memory view, if one is loaded (searches load it)."""
    db_file: Path
    loaded: bool
    seq: int = -1                   # log position the view reflects
    generation: int | None = None
    documents: int = 0
    saved_seq: int = -1             # log position of the view saved beside the database (-1: none)
    postings_changed: int = 0       # documents in the postings' delta part (not yet compacted)
    fields: dict[str, FieldState] | None = None


class RWLock:
    """Many readers or one writer; a waiting writer blocks new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class View:
    """Filter columns, postings and vectors of one database file at log position ``seq``."""

    def __init__(self, db_file: Path, dims: dict[str, int]) -> None:
        self.db_file = db_file
        self.seq = 0
        self.generation: int | None = None
        self.dims = dict(dims)
        self.cap = 0
        self.top = 0                                     # positions in use are < top
        self.free: list[int] = []
        self.pos_of = np.full(0, -1, dtype=np.int64)     # rowid -> position
        self.rowid = np.zeros(0, dtype=np.int64)         # position -> rowid
        self.alive = np.zeros(0, dtype=bool)
        self.count = 0
        self.columns = Columns()
        self.vectors = {f: Vectors(f, int(dims.get(f, 0)), np.zeros(0, dtype=np.int8)) for f in schema.VECTOR_FIELDS}
        self.lex = Lexicon()
        self.saved_seq = -1                              # log position of the saved view file
        self.masks: dict[tuple[str | None, Filters], tuple[np.ndarray, int]] = {}

    # positions ---------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        cap = max(1024, self.cap)
        while cap < need:
            cap *= 2
        if cap == self.cap:
            return

        def grow(a: np.ndarray, fill: Any) -> np.ndarray:
            out = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
            out[:a.shape[0]] = a
            return out
        self.rowid = grow(self.rowid, 0)
        self.alive = grow(self.alive, False)
        self.columns.grow(grow)
        for v in self.vectors.values():
            v.nvec = grow(v.nvec, 0)
        self.lex.grow(cap)
        self.cap = cap

    def position(self, rowid: int) -> int | None:
        return int(self.pos_of[rowid]) if 0 <= rowid < self.pos_of.shape[0] and self.pos_of[rowid] >= 0 else None

    def set_row(self, row: Sequence[Any], *, lexicon: bool = True) -> int:
        """Store a row of ``sqlite.FILTER_SELECT``; ``lexicon=False`` when postings are built in bulk after."""
        rowid = int(row[0])
        pos = self.position(rowid)
        if pos is None:
            pos = self.free.pop() if self.free else self.top
            if pos == self.top:
                self.top += 1
                self._grow(self.top)
            if rowid >= self.pos_of.shape[0]:
                grown = np.full(max(rowid + 1, 2 * self.pos_of.shape[0], 1024), -1, dtype=np.int64)
                grown[:self.pos_of.shape[0]] = self.pos_of
                self.pos_of = grown
            self.pos_of[rowid] = pos
            self.rowid[pos] = rowid
            self.alive[pos] = True
            self.count += 1
        self.columns.set(pos, row[1:TOKENS_AT])
        if lexicon:
            self.lex.put(pos, row[TOKENS_AT] or "")
        return pos

    def remove_row(self, rowid: int) -> None:
        pos = self.position(rowid)
        if pos is None:
            return
        for v in self.vectors.values():
            self.set_vectors(v, [rowid])
        self.alive[pos] = False
        self.lex.forget(pos)
        self.columns.clear(pos)
        self.pos_of[rowid] = -1
        self.free.append(pos)
        self.count -= 1

    def positions(self, rowids: np.ndarray) -> np.ndarray:
        """Position of each rowid (-1: not a live row)."""
        rowids = np.asarray(rowids, dtype=np.int64)
        inside = (rowids >= 0) & (rowids < self.pos_of.shape[0])
        out = np.full(rowids.shape, -1, dtype=np.int64)
        out[inside] = self.pos_of[rowids[inside]]
        return out

    def set_vectors(self, v: Vectors, rowids: Sequence[int], keys: np.ndarray | None = None,
                    block: np.ndarray | None = None) -> None:
        """Replace the vectors of these rows by those of ``block`` (row i keyed ``keys[i]``,
        keys of these rows only), or remove them (``keys`` None or empty).

        With a graph, the old vectors of all the rows go first, then the new ones are added
        in one call: removing and re-adding key by key took 50 ms a row in a graph of 1M
        vectors (usearch 2.x; 2 ms this way), so a reindex batch of 256 changed titles held
        the view's write lock for 13 s and searches queued behind it for minutes."""
        rids = np.asarray(rowids, dtype=np.int64)
        pos = self.positions(rids)
        rids, pos = rids[pos >= 0], pos[pos >= 0]
        if not pos.size:
            return
        old = v.nvec[pos].astype(np.int64)
        if old.any():
            v.index.remove(slot_keys(rids, old).astype(np.uint64))
        v.nvec[pos] = 0
        added = 0
        if keys is not None and keys.size:
            keys = np.asarray(keys, dtype=np.int64)
            owner = self.positions(keys & ROWID_MASK)
            keep = owner >= 0
            v.index.add(keys[keep].astype(np.uint64), block[keep])
            np.add.at(v.nvec, owner[keep], 1)
            added = int(keep.sum())
        if v.ann is not None:
            v.changed_since_save += int(np.count_nonzero(old)) if not added else pos.size
        v.count += added - int(old.sum())
        v.rows += int(np.count_nonzero(v.nvec[pos])) - int(np.count_nonzero(old))

    # filters -----------------------------------------------------------------------
    def mask(self, f: Filters, vector_field: str | None) -> tuple[np.ndarray, int]:
        """Bool by position: live rows passing the filters (and holding a vector of the
        field, if given), and how many there are. ``f.ids`` must be resolved by the caller."""
        key = (vector_field, f)
        hit = self.masks.get(key)
        if hit is not None:
            return hit
        n = self.top
        m = self.vectors[vector_field].nvec[:n] > 0 if vector_field else self.alive[:n].copy()
        m = self.columns.mask(f, m)
        out = (m, int(m.sum()))
        if len(self.masks) > 32:
            self.masks.clear()
        self.masks[key] = out
        return out

    def describe(self) -> StoreState:
        fields = {name: FieldState(graph=v.ann is not None, origin=v.origin, vectors=v.count, documents=v.rows,
                                   dim=v.dim, saved_seq=v.saved_seq,
                                   beam=int(v.ann.expansion_search) if v.ann is not None else None)
                  for name, v in self.vectors.items()}
        return StoreState(db_file=self.db_file, loaded=True, seq=self.seq, generation=self.generation,
                          documents=self.count, saved_seq=self.saved_seq, postings_changed=self.lex.changed(),
                          fields=fields)

    def nbytes(self) -> dict[str, int]:
        """Bytes held, by part."""
        out = {"columns": int(self.pos_of.nbytes + self.rowid.nbytes + self.alive.nbytes + self.columns.nbytes()),
               "postings": self.lex.nbytes()}
        out.update({name: v.nbytes() for name, v in self.vectors.items()})
        return out

    # persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Columns and postings (compacted first) as one .npz, written atomically."""
        if self.lex.changed() or self.lex.any_stale:
            self.lex.compact()
        n = self.top
        lex = self.lex
        arrays: dict[str, np.ndarray] = {
            "rowid": self.rowid[:n], "alive": self.alive[:n], "free": np.asarray(self.free, dtype=np.int64),
            "lex_offsets": lex.offsets, "lex_pos": lex.pos, "lex_tf": lex.tf, "lex_dl": lex.dl[:n],
            "lex_vocab": np.frombuffer(json.dumps(sorted(lex.vocab, key=lex.vocab.__getitem__),
                                                  ensure_ascii=False).encode(), dtype=np.uint8)}
        self.columns.save(arrays, n)
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}-{threading.get_ident()}.npz")
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    @classmethod
    def restore(cls, path: Path, db_file: Path, dims: dict[str, int]) -> "View":
        """The view saved at ``path``. Raises (the caller builds the view instead) if the file
        is damaged or lacks a column (saved by an earlier version)."""
        with np.load(path, allow_pickle=False) as data:
            missing = Columns.missing(data.files)
            if missing:
                raise ValueError(f"{path.name} lacks {missing}")
            view = cls(db_file, dims)
            rowid = data["rowid"].astype(np.int64)
            n = rowid.shape[0]
            view._grow(n)
            view.top = n
            view.rowid[:n] = rowid
            view.alive[:n] = data["alive"]
            view.free = data["free"].tolist()
            view.count = int(view.alive[:n].sum())
            live = np.flatnonzero(view.alive[:n])
            view.pos_of = np.full(int(rowid[live].max()) + 1 if live.size else 0, -1, dtype=np.int64)
            view.pos_of[rowid[live]] = live
            view.columns.restore(data, n)
            lex = view.lex
            lex.vocab = {t: i for i, t in enumerate(json.loads(data["lex_vocab"].tobytes().decode()))}
            lex.offsets, lex.pos = data["lex_offsets"], data["lex_pos"]
            lex.tf = np.minimum(data["lex_tf"], 65535).astype(np.uint16)
            lex.dl[:n] = data["lex_dl"]
            lex.total = float(lex.dl[:n].sum())
            lex.weigh(lex.total / max(view.count, 1))
        return view


# -- building and following the log --------------------------------------------------------------
def load(conn: sqlite3.Connection, db_file: Path, ann_min: int, note_bad: NoteBad) -> View:
    """The view of ``db_file`` (``conn``'s file) as of its last commit."""
    with sqlite.snapshot(conn):
        seq, pruned, gen = sqlite.log_position(conn)
        dims = sqlite.meta(conn, "dims") or {}
        view = None
        for saved, path in files.sidecars(db_file, "view", ".npz"):
            if pruned <= saved <= seq:
                try:
                    view = View.restore(path, db_file, dims)
                except Exception:  # noqa: BLE001 - missing or damaged: try the next, else build
                    continue
                view.saved_seq = saved
                apply_rows(conn, view, sqlite.changed_since(conn, saved, seq))
                view.lex.refresh(view.count)
                break
        if view is None:
            view = View(db_file, dims)
            positions, token_strings = [], []
            for row in conn.execute(FILTER_SELECT):
                positions.append(view.set_row(row, lexicon=False))
                token_strings.append(row[TOKENS_AT] or "")
            view.lex.build(np.asarray(positions, dtype=np.int64), token_strings, view.cap)
            del token_strings
        view.seq, view.generation = seq, gen
        for name, vecs in view.vectors.items():
            if sqlite.stored_count(conn, name, vecs.dim) >= ann_min:
                vectors.load_graph(conn, view, vecs, seq, pruned, note_bad)
            else:
                vectors.load_matrix(conn, view, vecs, note_bad)
    if view.saved_seq < 0 and view.count >= VIEW_SAVE_MIN:
        save(view)
    return view


def save(view: View) -> None:
    """Save the view beside its database (a read-only folder or a full disk: not saved)."""
    try:
        view.save(files.sidecar(view.db_file, "view", view.seq, ".npz"))
    except Exception:  # noqa: BLE001 - a read-only folder or a full disk: serve, just do not save
        return
    view.saved_seq = view.seq
    files.remove_older_sidecars(view.db_file, "view", view.seq, ".npz")


def catch_up(conn: sqlite3.Connection, view: View, ann_min: int, note_bad: NoteBad) -> bool:
    """Apply the rows logged since the view's position. False: the view cannot follow (the
    log was pruned past it, or a field's dims changed): load it again instead."""
    with sqlite.snapshot(conn):
        seq, pruned, gen = sqlite.log_position(conn)
        dims = sqlite.meta(conn, "dims") or {}
        if pruned > view.seq or any(dims.get(f, v.dim) != v.dim and v.count for f, v in view.vectors.items()):
            return False
        for f, v in view.vectors.items():
            if not v.count and f in dims:
                v.dim = int(dims[f])
        changed = sqlite.changed_since(conn, view.seq, seq)
        if not changed and seq == view.seq:
            view.generation = gen           # a commit that logged nothing (e.g. set_models)
            return True
        for chunk in chunks(list(changed)):
            live = apply_rows(conn, view, changed, chunk)
            for vecs in view.vectors.values():
                vectors.apply_vectors(conn, view, vecs, vectors.vector_changed(changed, vecs.name, live), note_bad)
        for vecs in view.vectors.values():
            if vecs.ann is None and vecs.count >= ann_min:
                vectors.to_graph(view, vecs, seq)
        if view.lex.changed() > max(LEX_DELTA_MAX, view.count // 10):
            view.lex.compact()
        view.lex.refresh(view.count)
        view.seq, view.generation = seq, gen
        view.masks.clear()
    return True


def apply_rows(conn: sqlite3.Connection, view: View, changed: dict[int, int],
               rowids: Iterable[int] | None = None) -> list[int]:
    """Bring the filter columns and postings of these rows (default: all ``changed``) up
    to SQLite; returns the live ones."""
    live: list[int] = []
    for chunk in chunks(list(changed if rowids is None else rowids)):
        rows = {r[0]: r for r in conn.execute(f"{FILTER_SELECT} WHERE rowid IN ({marks(len(chunk))})", chunk)}
        for rid in chunk:
            if rid in rows:
                view.set_row(rows[rid], lexicon=view.position(rid) is None
                             or bool(changed.get(rid, LOG_ALL) & LOG_TOKENS))
                live.append(rid)
            else:
                view.remove_row(rid)
    view.masks.clear()
    return live


def warm(view: View) -> None:
    """Save the graphs and the view where they changed since saved (held for writing)."""
    for vecs in view.vectors.values():
        if vecs.ann is not None and (vecs.saved_seq != view.seq and vecs.changed_since_save):
            vectors.save_graph(view, vecs, view.seq)
    if view.count >= VIEW_SAVE_MIN and view.saved_seq != view.seq:
        save(view)
