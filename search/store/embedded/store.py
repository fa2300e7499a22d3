"""``EmbeddedStore``: the ``Store`` interface over the package's parts (see ``__init__``).

Reads use one SQLite connection per thread (no lock around queries) and the in-memory view
(one per store, brought up to date when the generation changes, held under a
readers-writer lock); writes go through one connection under a lock, each call one
transaction. Every SQLite error leaves as a ``StoreError`` (``IndexCorruptError`` when the
bytes are damaged), and damage is remembered for ``health()``.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from search.store import schema
from search.store.base import (
    CorruptRecordError, Damage, Filters, Health, Hit, IndexDoc, IndexInfo, InvalidDocumentError, ModelMismatchError,
    Store, StoreError, VectorField,
)
from search.store.embedded import checks, files, knn, sqlite, vectors, view as views
from search.store.embedded.sqlite import IndexCorruptError, chunks, marks
from search.store.embedded.view import RWLock, StoreState, View

log = logging.getLogger(__name__)

#: How long a search that failed on damaged pages keeps ``health()`` failing: a damaged
#: page fails only the searches that read it, which a tiny probe may not.
FAILURE_MEMORY_S = 60.0

_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(fn: _F) -> _F:
    """SQLite errors on an open index become ``StoreError`` (damage: rebuild it).
    Damage is remembered for ``health()``."""
    @functools.wraps(fn)
    def wrapper(self: "EmbeddedStore", *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except CorruptRecordError as e:
            self._note_damage(e.doc_id, str(e))
            raise
        except sqlite3.Error as e:
            err = sqlite.store_error(self.path, e)
            if isinstance(err, IndexCorruptError):
                self._failure = (time.monotonic(), self._db_file, str(err))
            raise err from None
    return wrapper  # type: ignore[return-value]


class EmbeddedStore(Store):
    """``EmbeddedStore(path)`` opens (or, with ``create=True``, creates) the index folder.

    ``ann_min``: vector fields with at least this many vectors use an HNSW graph.
    """

    def __init__(self, path: str | Path, *, create: bool = True, ann_min: int | None = None,
                 _db_file: Path | None = None) -> None:
        self.path = Path(path)
        self.ann_min = vectors.ANN_MIN if ann_min is None else int(ann_min)
        self._lock = threading.RLock()           # writes and connection switches
        self._rw = RWLock()                      # the in-memory view
        self._view: View | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        # A store being rebuilt is pinned to its new file until the swap.
        self._pinned = _db_file is not None
        # Why this index cannot be used: a writer opens a damaged index (IndexCorruptError,
        # which ``dupe index`` rebuilds by itself) or one of another version (rebuilt when
        # asked) instead of failing, so that ``rebuilding()`` can replace it.
        self._broken: StoreError | None = None
        self._failure: tuple[float, Path, str] | None = None     # last search failed on damaged pages
        self._damage: dict[str, str] = {}         # doc id -> what of it was left out of search, and why
        self._damage_file: Path | None = None
        self._current = self.path / "CURRENT"
        self._current_stamp: tuple[int, int, int] | None = None
        self._conn: sqlite3.Connection = None  # type: ignore[assignment]
        if _db_file is not None:
            self._db_file = _db_file
        else:
            if not self._current.exists():
                if not create:
                    raise StoreError(f"no index at {self.path}: build one first (dupe index CATALOG_DIR)")
                try:
                    self.path.mkdir(parents=True, exist_ok=True)
                    files.write_current(self.path, "index-1.sqlite")
                except OSError as e:
                    raise StoreError(f"cannot create an index at {self.path} ({e.strerror})") from None
            name, problem = files.read_current(self.path)
            self._db_file = self.path / (name or "CURRENT")
            # Opening for reading must not create an empty database in place of a lost one.
            if not problem and not create and (not self._db_file.is_file() or self._db_file.stat().st_size == 0):
                problem = f"incomplete: its database file {name!r} is missing or empty"
            if problem:
                err = StoreError(f"index at {self.path} is {problem}: rebuild it (dupe index CATALOG_DIR --rebuild)")
                if not create:
                    raise err
                self._broken = IndexCorruptError(str(err), problem)
                return
        try:
            self._conn = sqlite.connect(self._db_file, self.path)
        except StoreError as e:
            if not create or self._pinned:
                raise
            self._broken = e

    # -- connections ---------------------------------------------------------------------
    def _check_usable(self) -> None:
        """Raise why this index cannot be used, unless another process rebuilt it since."""
        if self._broken is not None:
            self._follow()
            if self._broken is not None:
                raise self._broken.with_traceback(None)

    def _follow(self) -> None:
        """Follow a rebuild by another connection (a new CURRENT)."""
        if self._pinned:
            return
        # CURRENT is only ever replaced (os.replace), so an unchanged inode and mtime mean
        # an unchanged name: a stat instead of an open + read on every call.
        try:
            st = os.stat(self._current)
        except OSError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._current_stamp:
            return
        try:
            name = self._current.read_text().strip()
        except OSError:
            return
        if files.DB_NAME.fullmatch(name) and (self.path / name != self._db_file or self._broken is not None):
            with self._lock:
                if self.path / name != self._db_file or self._broken is not None:
                    try:
                        new = sqlite.connect(self.path / name, self.path)
                    except StoreError:
                        if self._broken is None:
                            raise
                        self._current_stamp = stamp        # still damaged: try again once CURRENT changes
                        return
                    old, self._conn, self._db_file = self._conn, new, self.path / name
                    self._broken = None
                    if old is not None:
                        old.close()
        self._current_stamp = stamp

    def _rconn(self) -> tuple[sqlite3.Connection, Path]:
        """This thread's read connection to the live database file."""
        if self._closed:
            raise StoreError("the index is closed")
        self._follow()
        self._check_usable()
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.file != self._db_file:
            if conn is not None:
                with self._lock:
                    if conn in self._readers:
                        self._readers.remove(conn)
                conn.close()
            db_file = self._db_file
            conn = sqlite.reader(db_file, self.path)
            local.conn, local.file = conn, db_file
            with self._lock:
                self._readers.append(conn)
        return conn, local.file

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that bumps the generation."""
        self._follow()
        self._check_usable()
        with self._lock, sqlite.immediate(self._conn) as c:
            yield c
            sqlite.bump_generation(c)
            sqlite.prune_log(c)

    # -- damage ---------------------------------------------------------------------------
    def _note_damage(self, doc_id: str, what: str) -> None:
        """Remember (for ``health()``) a document left out of search, or refused, because it
        could not be read back; logged once."""
        with self._lock:
            if self._damage_file != self._db_file:
                self._damage, self._damage_file = {}, self._db_file
            if doc_id not in self._damage and len(self._damage) < 1000:
                self._damage[doc_id] = what
                log.warning("index at %s: %s", self.path, what)

    def _note_bad_vectors(self, conn: sqlite3.Connection, field: str, bad: list[tuple[int, str]]) -> None:
        if not bad:
            return
        ids = sqlite.ids_of(conn, [r for r, _ in bad[:100]])
        for rowid, reason in bad[:100]:
            self._note_vector(ids.get(rowid, f"row {rowid}"), field, reason)

    def _note_vector(self, doc_id: str, field: str, problem: str) -> None:
        self._note_damage(doc_id, f"{field} vector of {doc_id!r}: {problem}: left out of search until dupe index "
                                  f"writes it again")

    # -- Store interface ------------------------------------------------------------------
    @_guarded
    def info(self) -> IndexInfo:
        conn, _ = self._rconn()
        with sqlite.snapshot(conn):
            count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
            return IndexInfo(count=count, models=sqlite.meta(conn, "models") or {},
                             dims=sqlite.meta(conn, "dims") or {}, generation=int(sqlite.meta(conn, "generation") or 0))

    @_guarded
    def generation(self) -> int:
        conn, _ = self._rconn()
        return int(sqlite.meta(conn, "generation") or 0)

    @_guarded
    def set_models(self, models: dict[str, str], dims: dict[str, int]) -> None:
        with self._tx() as c:
            current = sqlite.meta(c, "models")
            if current and current != models and c.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
                raise ModelMismatchError(_mismatch(current, models))
            sqlite.set_meta(c, "models", models)
            sqlite.set_meta(c, "dims", dims)

    def check_models(self, models: dict[str, str]) -> None:
        current = self.info().models
        wanted = {k: v for k, v in models.items() if k in current}
        if current and {k: current[k] for k in wanted} != wanted:
            raise ModelMismatchError(_mismatch(current, models))

    @_guarded
    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        with self._tx() as c:
            dims = sqlite.meta(c, "dims") or {}
            problems = [(d.id, problem) for d in docs for name in schema.VECTOR_FIELDS
                        if (problem := schema.vectors_problem(d, name, dims.get(name)))]
            if problems:        # refuse the whole call before writing anything
                raise InvalidDocumentError(problems, len(docs))
            for d in docs:
                vals = sqlite.doc_row(d)
                old = c.execute("SELECT rowid, tokens FROM docs WHERE id = ?", (d.id,)).fetchone()
                if old:
                    rid = old[0]
                    c.execute(sqlite.UPDATE_DOC, (*vals[1:], rid))
                else:
                    rid = c.execute(sqlite.INSERT_DOC, vals).lastrowid
                what = 0 if old and old[1] == vals[-2] else sqlite.LOG_TOKENS
                for name in schema.VECTOR_FIELDS:
                    blob = sqlite.vec_blob(schema.vectors_of(d, name))
                    prev = c.execute(f"SELECT v FROM vec_{name} WHERE rowid = ?", (rid,)).fetchone() if old else None
                    if (prev[0] if prev else None) == blob:
                        continue                # unchanged: readers keep their graph as it is
                    what |= sqlite.LOG_VECTOR[name]
                    if blob is None:
                        c.execute(f"DELETE FROM vec_{name} WHERE rowid = ?", (rid,))
                    else:
                        c.execute(f"INSERT OR REPLACE INTO vec_{name} (rowid, v) VALUES (?, ?)", (rid, blob))
                sqlite.log_change(c, rid, what)

    @_guarded
    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._tx() as c:
            for i in ids:
                row = c.execute("SELECT rowid FROM docs WHERE id = ?", (i,)).fetchone()
                if row:
                    c.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))
                    for name in schema.VECTOR_FIELDS:
                        c.execute(f"DELETE FROM vec_{name} WHERE rowid = ?", (row[0],))
                    sqlite.log_change(c, row[0], sqlite.LOG_ALL)

    @_guarded
    def get(self, ids: Sequence[str], *, vectors: bool = True) -> list[IndexDoc | None]:
        """Documents by id (None where absent); ``vectors=False`` skips reading the vectors
        (what search needs: a third of the time at 100k documents)."""
        conn, _ = self._rconn()
        found: dict[str, IndexDoc] = {}
        select = sqlite.DOC_SELECT_VECTORS if vectors else sqlite.DOC_SELECT
        with sqlite.snapshot(conn):
            dims = (sqlite.meta(conn, "dims") or {}) if vectors else None
            for chunk in chunks(list(dict.fromkeys(ids))):
                query = f"{select} WHERE d.id IN ({marks(len(chunk))})"
                try:
                    rows = conn.execute(query, chunk).fetchall()
                except sqlite3.OperationalError as e:
                    if sqlite.is_undecodable(e):
                        sqlite.raise_undecodable(conn, query, chunk)
                    raise
                for r in rows:
                    found[r[0]] = sqlite.row_doc(r, dims, self._note_vector)
        return [found.get(i) for i in ids]

    @_guarded
    def scan(self, kind: str) -> list[IndexDoc]:
        conn, _ = self._rconn()
        rows = conn.execute(f"{sqlite.DOC_SELECT} WHERE d.kind = ? ORDER BY d.id", (kind,))
        return [sqlite.row_doc(r) for r in rows.fetchall()]

    @_guarded
    def hashes(self) -> dict[str, str]:
        conn, _ = self._rconn()
        return dict(conn.execute("SELECT id, content_hash FROM docs").fetchall())

    def _allowed(self, conn: sqlite3.Connection, view: View, filters: Filters, field: str | None
                 ) -> tuple[np.ndarray, int]:
        """Bool by view position: the documents the filters allow, and how many."""
        allowed, m = view.mask(replace(filters, ids=None) if filters.ids is not None else filters, field)
        if filters.ids is not None:
            listed = np.zeros(view.top, dtype=bool)
            pos = view.positions(np.asarray(sqlite.rowids_of(conn, filters.ids), dtype=np.int64))
            listed[pos[pos >= 0]] = True
            allowed = allowed & listed
            m = int(allowed.sum())
        return allowed, m

    @_guarded
    def bm25(self, tokens: Sequence[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        tokens = [t for t in tokens if t]
        if not tokens or k <= 0:
            return []
        conn, db_file = self._rconn()
        with self._viewing(conn, db_file) as view:
            allowed, m = self._allowed(conn, view, filters, None)
            if m == 0:
                return []
            pos, scores = view.lex.search(tokens, view.count, allowed, k)
            rowids, scores = knn.top(view.rowid[pos], scores, k)
        ids = sqlite.ids_of(conn, rowids)
        return [Hit(ids[r], float(sc)) for r, sc in zip(rowids, scores) if r in ids]

    @_guarded
    def knn(self, field: VectorField, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[Hit]:
        if field not in schema.VECTOR_FIELDS:
            raise ValueError(f"unknown vector field {field!r}")
        if k <= 0:
            return []
        conn, db_file = self._rconn()
        q = np.asarray(vector, dtype=np.float32)
        with self._viewing(conn, db_file) as view:
            vecs = view.vectors[field]
            if vecs.count == 0:
                return []
            if q.shape != (vecs.dim,):
                raise ValueError(f"query vector has shape {q.shape}, index '{field}' vectors have "
                                 f"{vecs.dim} dimensions")
            allowed, m = self._allowed(conn, view, filters, field)
            if m == 0:
                return []
            rowids, scores = knn.search(conn, view, vecs, q, min(k, m), allowed, m, self._note_bad_vectors)
        ids = sqlite.ids_of(conn, rowids)
        return [Hit(ids[r], float(s)) for r, s in zip(rowids, scores) if r in ids]

    # -- the in-memory view -----------------------------------------------------------------
    @contextlib.contextmanager
    def _viewing(self, conn: sqlite3.Connection, db_file: Path) -> Iterator[View]:
        """The view of ``db_file`` (``conn``'s file), brought up to date, held for reading."""
        gen = int(sqlite.meta(conn, "generation") or 0)
        view = self._view
        if view is None or view.db_file != db_file or view.generation != gen:
            with self._rw.write():
                view = self._view
                if view is None or view.db_file != db_file or (
                        view.generation != gen and not views.catch_up(conn, view, self.ann_min,
                                                                      self._note_bad_vectors)):
                    self._view = None          # free the old view before building the new one
                    self._view = views.load(conn, db_file, self.ann_min, self._note_bad_vectors)
                    # The view is ~10^5-10^6 long-lived objects: out of the collector's
                    # generations, full collections stop walking them during queries
                    # (text query p99 54 -> 37 ms at 100k products).
                    gc.collect()
                    gc.freeze()
                self._failure = None        # a write since the failure (a repair?) read back whole
        with self._rw.read():
            yield self._view  # type: ignore[misc]

    @_guarded
    def warm(self) -> None:
        """Bring the in-memory view up to date and save the graphs it changed (so the
        next process starts without building them)."""
        conn, db_file = self._rconn()
        with self._viewing(conn, db_file):
            pass
        with self._rw.write():
            if self._view is not None:
                views.warm(self._view)

    def describe(self) -> StoreState:
        """What searches are served from now (for tests, benchmarks and diagnostics). Reads
        nothing: the view is described as the last search left it."""
        with self._rw.read():
            return self._view.describe() if self._view is not None else StoreState(self._db_file, loaded=False)

    def memory(self) -> dict[str, int]:
        """Bytes held by the in-memory view, by part (for benchmarks and health checks)."""
        view = self._view
        return {} if view is None else view.nbytes()

    # -- checks ---------------------------------------------------------------------------------
    def verify(self) -> Damage:
        """See ``Store.verify`` and ``checks.verify``."""
        if self._broken is not None:
            self._follow()
        if self._broken is not None:
            return Damage(corrupt=self._broken.reason) if isinstance(self._broken, IndexCorruptError) else Damage()
        return checks.verify(self._db_file, self.path)

    def health(self) -> Health:
        """See ``Store.health``: the in-memory view (what every search uses) is up to date
        and one document reads back whole; plus what searches and reads found damaged
        lately (a damaged page fails only the searches that touch it)."""
        try:
            self._probe()
        except CorruptRecordError:
            pass                                 # one document: noted, searches answer
        except StoreError as e:
            return Health(failing=str(e))
        failure = self._failure
        if failure and failure[1] == self._db_file and time.monotonic() - failure[0] < FAILURE_MEMORY_S:
            return Health(failing=f"a search failed {time.monotonic() - failure[0]:.0f} s ago: {failure[2]}")
        return Health(problems=tuple(self._damage_left()))

    def _damage_left(self) -> list[str]:
        """The damage noted that is still there: each noted document is read again (a run of
        ``dupe index`` in another process may have written it since)."""
        with self._lock:
            noted = list(self._damage) if self._damage_file == self._db_file else []
            for doc_id in noted:
                del self._damage[doc_id]
        for doc_id in noted:
            if doc_id.startswith("row "):
                continue            # no document to read again: it was deleted
            with contextlib.suppress(StoreError):
                self.get([doc_id])          # notes it again if it is still damaged
        with self._lock:
            return list(self._damage.values()) if self._damage_file == self._db_file else []

    @_guarded
    def _probe(self) -> None:
        conn, db_file = self._rconn()
        with self._viewing(conn, db_file):
            pass
        row = conn.execute(f"{sqlite.DOC_SELECT_VECTORS} LIMIT 1").fetchone()
        if row is not None:
            sqlite.row_doc(row, sqlite.meta(conn, "dims") or {}, self._note_vector)

    # -- rebuilding and writing --------------------------------------------------------------------
    @contextlib.contextmanager
    def rebuilding(self) -> Iterator["EmbeddedStore"]:
        """See ``Store.rebuilding``. Needs nothing of the old index (a damaged database or
        ``CURRENT`` is what a rebuild repairs): a new file, named by ``CURRENT`` at the swap."""
        with self.writing():
            new_file = files.next_db_file(self.path)
            new = EmbeddedStore(self.path, _db_file=new_file, ann_min=self.ann_min)
            # Continue the generation count, so readers caching by generation see a change
            # (from the clock when the old count cannot be read: larger than any count).
            try:
                generation = self.generation() + 1
            except StoreError:
                generation = int(time.time())
            try:
                new._start_at(generation)
                yield new
                new.warm()          # readers switch to ready graphs
            except BaseException:
                new.close()
                files.remove_db(new_file)
                raise
            new.close()
            with self._lock:
                files.write_current(self.path, new_file.name)
                self._follow()
            files.remove_stale_files(self.path)      # the replaced file among them

    @_guarded
    def _start_at(self, generation: int) -> None:
        sqlite.set_meta(self._conn, "generation", generation)

    @contextlib.contextmanager
    def writing(self, on_wait: Callable[[str], None] | None = None) -> Iterator[list[str]]:
        """See ``Store.writing``: ``flock`` on ``<index>/LOCK``; a second writer waits."""
        with files.WriterLock.hold(self.path, on_wait) as first:
            yield files.remove_stale_files(self.path) if first else []

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in [self._conn, *self._readers]:
                with contextlib.suppress(sqlite3.Error, AttributeError):
                    conn.close()
            self._readers.clear()
            self._view = None


def _mismatch(current: dict[str, str], wanted: dict[str, str]) -> str:
    return (f"the index was built with models {current}, but {wanted} are configured: "
            f"use the same models, or rebuild the index (dupe index CATALOG_DIR --rebuild)")
