"""The embedded on-disk store (the default backend; no server to install).

One SQLite database is the source of truth: documents with their filter columns and
pre-analysed tokens, vectors as float32 BLOBs (one table per field, one row per document
holding its vectors one after another: one text vector, up to ``schema.MAX_IMAGES`` image
vectors) and ``vlog``, a log of the rows each write touched. Every write call is one
transaction, so a crash mid-write leaves the last committed state.

Searching uses an in-memory view of the database, brought up to date whenever the
generation changes (any connection's commit, e.g. the indexer process):

* filter columns as numpy arrays, so filters are evaluated in memory (no table scans);
* BM25 postings (``_Lexicon``): FTS5's ``bm25()`` formula (k1=1.2, b=0.75), computed with
  numpy, with MaxScore pruning of common tokens (SQLite FTS5 scores every matching row:
  ~0.5 s per query at 1M products, against a few ms here);
* per vector field, either an exact float32 matrix (fewer than ``ann_min`` vectors,
  20,000 by default) or an HNSW graph (usearch, vectors held as int8) whose candidates
  are re-scored exactly from the float32 vectors in SQLite. Both hold every vector of a
  document (keyed ``rowid | slot << SLOT_SHIFT``); kNN returns each document once, scored
  by its best vector (max cosine), so a product is found by any of its images. Filtered
  queries over few documents are answered exactly over those documents; otherwise the
  graph is searched with oversampling and post-filtered, falling back to exact search
  when too few survive.

The view follows the log: after a commit elsewhere it re-reads only the rows logged
since its position. Graphs and, for large indexes, the view itself are saved beside the
database (``<db>.<part>.s<seq>.<ext>``, ``seq`` = the log position they reflect), so
another process or a restart loads them and applies the log from there instead of
building them again. ``warm()`` brings the view and the saved files up to date (call it
after indexing; ``rebuilding()`` does it before the swap, so readers switch to a ready
view).

Reads use one SQLite connection per thread (no lock around queries); writes go through
one connection under a lock.

Layout of the index folder: ``CURRENT`` names the live database file
(``index-<n>.sqlite``); ``rebuilding()`` fills a new file and swaps ``CURRENT``
atomically, so readers keep answering from the old file until the swap. ``LOCK`` is
held (``flock``) by the one process writing (``writing()``; readers never take it); under
it, database files ``CURRENT`` does not name are removed: no other writer can be filling
them, and readers only ever open the file ``CURRENT`` names (see ``_remove_stale_files``).

What is read back is checked: a source that is not JSON raises ``CorruptRecordError``; a
vector that is not a finite unit vector (``schema.vector_problem``) is left out of search
and reported by ``health()``; ``verify()`` (the indexer's check) finds both, and damaged
pages (``PRAGMA integrity_check``), so ``dupe index`` writes the records again or rebuilds.
A writer (``create=True``) opens a damaged index without raising, so that it can be
rebuilt; every other use raises the damage as a ``StoreError``.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import functools
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import orjson

from search.store import schema
from search.store.base import (
    CorruptRecordError, Damage, Filters, Health, Hit, IndexDoc, IndexInfo, InvalidDocumentError, ModelMismatchError,
    Store, StoreError, VectorField,
)

log = logging.getLogger(__name__)

LAYOUT_VERSION = 2
#: Schema versions this store reads as they are, recording the current one on open (so an
#: older program refuses the index instead of misreading it): version 1 held one image
#: vector per document, a blob that reads as a list of one.
_UPGRADABLE_SCHEMAS = frozenset({1})
#: Key of vector ``slot`` of a document (its ``slot``-th image) in the graphs and matrices:
#: ``rowid | slot << SLOT_SHIFT``. The first vector is keyed by the rowid alone, as when a
#: document had one, so graphs saved by that version load as they are. SQLite gives a new
#: row the largest rowid + 1: rowids stay far below 2**40.
SLOT_SHIFT = 40
ROWID_MASK = (1 << SLOT_SHIFT) - 1

_SQL_TYPES = {"keyword": "TEXT", "float": "REAL", "integer": "INTEGER"}


def _column_sql(name: str) -> str:
    """The SQLite declaration of filter column ``name`` (``schema.FILTER_FIELDS``). A
    multi-valued column holds its values between spaces (``_padded``: " a b ")."""
    if name in schema.MULTI_VALUED:
        return f"{name} TEXT NOT NULL DEFAULT ' '"
    return f"{name} {_SQL_TYPES[schema.FILTER_FIELDS[name]]}{' NOT NULL' if name == 'kind' else ''}"


def _padded(values: Sequence[str]) -> str:
    """A multi-valued column's stored text (values never hold spaces: they are ids)."""
    return " " + " ".join(values) + " "


#: ``vlog.what``: what a logged write changed besides the filter columns, as bits. Readers
#: re-insert a row's vectors into the graphs, and its tokens into the postings, only if
#: they changed (a new price changes neither): re-inserting every changed row's vectors
#: under the view's write lock stalled searches for > 60 s during a 12,000-product
#: reindex at 100k products.
LOG_TOKENS = 1
LOG_VECTOR = {"text": 2, "image": 4}
LOG_ALL = 7

#: Columns an index created by an earlier version may lack, by table: ``_connect`` adds
#: them with their defaults (old rows read as empty; old log entries as "everything
#: changed"). Every filter column but ``kind`` qualifies, so a new filter field needs no
#: migration code of its own.
_ADDABLE_COLUMNS: dict[str, dict[str, str]] = {
    "docs": {c: _column_sql(c) for c in schema.FILTER_FIELDS if c != "kind"},
    "vlog": {"what": f"what INTEGER NOT NULL DEFAULT {LOG_ALL}"},
}

_FILTER_COLUMNS_SQL = ",\n    ".join(_column_sql(c) for c in schema.FILTER_FIELDS)
_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    {_FILTER_COLUMNS_SQL},
    content_hash TEXT NOT NULL,
    tokens TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_kind ON docs(kind);
CREATE TABLE IF NOT EXISTS vec_text (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vec_image (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vlog (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER NOT NULL,
                                 {_ADDABLE_COLUMNS["vlog"]["what"]});
"""

# Filter columns kept in memory, in this order (after rowid) in ``_FILTER_SELECT``. The
# keyword columns are named as the ``Filters`` attributes that filter them.
_STR_COLS = tuple(c for c, t in schema.FILTER_FIELDS.items() if t == "keyword")
_NUM_COLS = tuple(c for c, t in schema.FILTER_FIELDS.items() if t != "keyword")
_MULTI_COLS = schema.MULTI_VALUED
_FILTER_SELECT = f"SELECT rowid, {', '.join(_STR_COLS + _NUM_COLS)}, tokens FROM docs"
_TOKENS_AT = 1 + len(_STR_COLS) + len(_NUM_COLS)
#: BM25 parameters (FTS5's and Elasticsearch's defaults).
BM25_K1 = 1.2
BM25_B = 0.75
#: Documents changed since the postings were built, beyond which they are rebuilt.
LEX_DELTA_MAX = 20_000
#: From this many documents, the view (filter columns and postings) is saved beside the
#: database, so opening it does not re-read and re-tokenise every document.
VIEW_SAVE_MIN = 50_000

#: Vector fields with fewer vectors than this are searched exactly (brute force).
ANN_MIN = 20000             # a deployment sets its own: DUPE_ANN_MIN (search.settings)
#: With an HNSW graph, a filter leaving at most this many documents (and at most half of
#: them) is answered exactly, over those documents.
EXACT_SUBSET_MAX = 4096
#: Log entries kept; a reader further behind rebuilds its view from scratch.
VLOG_KEEP = 2_000_000
VLOG_PRUNE_STEP = 10_000
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
#: ANN candidates re-scored exactly beyond k: max(RERANK_EXTRA, k // 2). int8 distances
#: mis-order near-duplicates; 90 extra (not 20) lifted image recall@10 at 1M .968 -> .989.
RERANK_EXTRA = 90


def search_beam(n_vectors: int) -> int:
    """HNSW search beam width (usearch ``expansion_search``) for a graph of this size."""
    return max(HNSW_EXPANSION_SEARCH, n_vectors // HNSW_VECTORS_PER_BEAM_SLOT)


def fts_match(tokens: Sequence[str]) -> str:
    """An FTS5 MATCH expression: OR of the tokens, each quoted (never query syntax)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens if t)


_F = TypeVar("_F", bound=Callable[..., Any])


class IndexCorruptError(StoreError):
    """The database file cannot be read as an index (damaged pages, not a database, no
    readable ``CURRENT``): it must be rebuilt from the catalog (``dupe index`` does so by
    itself). ``reason`` is what is wrong, without advice."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


#: SQLite messages of damaged bytes (as opposed to a busy or locked database).
_DAMAGE_WORDS = ("malformed", "not a database", "could not decode", "disk i/o error")
#: How long a search that failed on damaged pages keeps ``health()`` failing: a damaged
#: page fails only the searches that read it, which a tiny probe may not.
FAILURE_MEMORY_S = 60.0


def _corrupt(path: Path, e: object) -> IndexCorruptError:
    return IndexCorruptError(f"index at {path} is corrupt ({e}): rebuild it (dupe index CATALOG_DIR rebuilds "
                             f"a corrupt index by itself)", f"damaged database ({e})")


def _guarded(fn: _F) -> _F:
    """SQLite errors on an open index become ``StoreError`` (corruption: rebuild it).
    Damage is remembered for ``health()``."""
    @functools.wraps(fn)
    def wrapper(self: "EmbeddedStore", *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except CorruptRecordError as e:
            self._note_damage(e.doc_id, str(e))
            raise
        except sqlite3.OperationalError as e:
            if any(w in str(e).lower() for w in _DAMAGE_WORDS):
                err: StoreError = _corrupt(self.path, e)
                self._note_failure(str(err))
                raise err from None
            raise StoreError(f"index at {self.path} cannot be used right now ({e})") from None
        except sqlite3.DatabaseError as e:
            err = _corrupt(self.path, e)
            self._note_failure(str(err))
            raise err from None
    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction: every query inside sees the same committed state."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Add the ``_ADDABLE_COLUMNS`` an index created by an earlier version lacks. Checked
    again inside a write transaction, so two processes opening the index at once add each
    column once (the second waits for the first, then finds nothing to do)."""
    def missing() -> list[tuple[str, str]]:
        out = []
        for table, columns in _ADDABLE_COLUMNS.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            out += [(table, sql) for name, sql in columns.items() if name not in have]
        return out
    if not missing():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, sql in missing():
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {sql}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _upgrade_schema(conn: sqlite3.Connection) -> None:
    """Record the current schema version in an index of one this store reads as it is
    (``_UPGRADABLE_SCHEMAS``); checked again inside the write transaction, as in
    ``_add_missing_columns``, so two processes opening it at once both succeed."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"UPDATE meta SET value = ? WHERE key = 'schema_version' AND value IN "
                     f"({','.join('?' * len(_UPGRADABLE_SCHEMAS))})",
                     (str(schema.SCHEMA_VERSION), *map(str, sorted(_UPGRADABLE_SCHEMAS))))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _vec_blob(vectors: Sequence[np.ndarray]) -> bytes | None:
    """A document's vectors of one field as stored: one after another (None: it has none)."""
    if not vectors:
        return None
    return b"".join(np.asarray(v, dtype=np.float32).tobytes() for v in vectors)


def _blob_problem(blob: bytes | None, size: int, slots: int) -> str | None:
    """Why a stored blob is not 1 to ``slots`` vectors of ``size`` bytes (None: it is)."""
    n = len(blob or b"")
    if blob is not None and size > 0 and n % size == 0 and 0 < n <= size * slots:
        return None
    return f"stored vector has {n} bytes, not {size}" + (f" to {size * slots}" if slots > 1 else "")


def _slot_keys(rowids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The keys of ``counts[i]`` vectors of row ``rowids[i]``, row by row (see ``SLOT_SHIFT``)."""
    owner = np.repeat(np.asarray(rowids, dtype=np.int64), counts)
    slot = np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner | (slot << SLOT_SHIFT)


def _decode_vectors(rows: Sequence[tuple[int, bytes]], dim: int, slots: int = 1
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Keys (``_slot_keys``) and float32 vectors of ``(rowid, blob)`` rows read from SQLite
    (a blob holds 1 to ``slots`` vectors), without the rows that are not valid stored vectors
    (a wrong size, a vector not finite or not of length 1: damaged bytes), which come back
    apart as (rowid, reason): never ranked, nor any other vector of theirs."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32), []
    size = 4 * dim if dim else len(rows[0][1] or b"")
    bad = [(int(r), problem) for r, b in rows if (problem := _blob_problem(b, size, slots))]
    good = [(r, b) for r, b in rows if not _blob_problem(b, size, slots)] if bad else rows
    rowids = np.fromiter((r for r, _ in good), dtype=np.int64, count=len(good))
    counts = np.fromiter((len(b) // size for _, b in good), dtype=np.int64, count=len(good))
    keys = _slot_keys(rowids, counts)
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


def _best_per_row(keys: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rowids of these vectors (``_slot_keys``) and their scores, each row once with its
    best score: a document scores by its best-matching image."""
    if not np.any(keys > ROWID_MASK):         # first vectors only (e.g. text): one per row
        return keys, scores
    rowids = keys & ROWID_MASK
    order = np.lexsort((-scores, rowids))
    r = rowids[order]
    first = np.ones(r.size, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    return r[first], scores[order][first]


def _first_seen(a: np.ndarray) -> np.ndarray:
    """The distinct values of ``a`` in the order they first occur."""
    _, at = np.unique(a, return_index=True)
    return a[np.sort(at)]


def _source(doc_id: str, text: str) -> dict[str, Any]:
    """A stored source, decoded; damaged bytes raise ``CorruptRecordError``."""
    try:
        source = _loads(text)
    except (ValueError, RecursionError):
        raise CorruptRecordError(doc_id, "its stored source is not valid JSON") from None
    if not isinstance(source, dict):
        raise CorruptRecordError(doc_id, "its stored source is not a JSON object")
    return source


_DB_NAME = re.compile(r"index-([0-9]{1,18})\.sqlite")


class _WriterLock:
    """``flock`` on ``<folder>/LOCK``: one writing process (or thread) at a time, re-entrant
    within a thread (a rebuild holds it while the indexer fills the new file). The kernel
    drops it when the holder dies, so a killed run never leaves it held."""

    _held = threading.local()

    @classmethod
    @contextlib.contextmanager
    def hold(cls, folder: Path, on_wait: Callable[[str], None] | None) -> Iterator[bool]:
        """Yields True when this call took the lock, False when the thread held it already."""
        held: dict[str, int] = cls._held.__dict__.setdefault("folders", {})
        key = str(folder.resolve())
        if key in held:
            held[key] += 1
            try:
                yield False
            finally:
                held[key] -= 1
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(f"cannot write to the index at {folder} ({e.strerror})") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                (on_wait or log.warning)(f"another indexing run ({who}) is writing to this index: "
                                         f"waiting for it to finish")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            held[key] = 1
            try:
                yield True
            finally:
                del held[key]
        finally:
            os.close(fd)                # releases the lock


class _RWLock:
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


# -- the in-memory view -----------------------------------------------------------------

class _Flat:
    """Vectors by key (``_slot_keys``) in one float32 matrix, searched exactly: a field with
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
class _Vectors:
    """The vectors of one field: an exact matrix or an HNSW graph, both by key (vector
    ``j`` of a row: ``rowid | j << SLOT_SHIFT``; ``nvec`` says how many a row has)."""
    name: str
    dim: int
    nvec: np.ndarray                         # int8 by position: vectors the row has (0: none)
    count: int = 0                           # vectors
    rows: int = 0                            # rows with at least one vector
    flat: _Flat | None = None                # exact mode
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



class _VocabIds(dict):
    """token -> id, adding unseen tokens."""
    def __missing__(self, key: str) -> int:
        val = self[key] = len(self)
        return val


class _Lexicon:
    """BM25 over the documents' tokens, in memory: postings (position, term frequency)
    per token built in bulk, plus the documents changed since then (``delta``), merged in
    by ``compact``. Scores are FTS5's ``bm25()`` (k1=1.2, b=0.75; idf = ln((N - n + 0.5) /
    (n + 0.5)), at least 1e-6) over all documents, so filters never change a score, only
    which documents are kept. The length-normalised term weights of the bulk postings are
    precomputed, and recomputed when the mean document length drifts by more than 0.1%."""

    AVGDL_TOLERANCE = 1e-3
    PRUNE_BUDGET = 2000          # postings scored in full before pruning is considered

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.offsets = np.zeros(1, dtype=np.int64)
        self.pos = np.zeros(0, dtype=np.int32)
        self.tf = np.zeros(0, dtype=np.uint16)      # term frequency (capped at 65535)
        self.w = np.zeros(0, dtype=np.float32)      # tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl_w))
        self.maxw = np.zeros(0, dtype=np.float32)   # by token: the largest of its weights
        self.avgdl_w = 0.0
        self.stale = np.zeros(0, dtype=bool)        # by position: postings in the bulk part are out of date
        self.any_stale = False
        self.dl = np.zeros(0, dtype=np.float64)     # by position: document length in tokens
        self.delta: dict[str, dict[int, int]] = {}  # token -> {position: tf} of changed documents
        self.delta_docs: dict[int, list[str]] = {}  # position -> its distinct tokens in ``delta``
        self.total = 0.0                            # sum of document lengths

    def grow(self, cap: int) -> None:
        for name in ("stale", "dl"):
            a = getattr(self, name)
            if a.shape[0] < cap:
                out = np.zeros(cap, dtype=a.dtype)
                out[:a.shape[0]] = a
                setattr(self, name, out)

    def build(self, positions: np.ndarray, token_strings: Sequence[str], cap: int) -> None:
        """Postings of these documents, in bulk (the previous contents are dropped)."""
        from array import array
        vocab = _VocabIds()
        ids = array("i")
        lengths = np.zeros(len(token_strings), dtype=np.int64)
        for i, s in enumerate(token_strings):
            toks = s.split()
            lengths[i] = len(toks)
            ids.extend(map(vocab.__getitem__, toks))
        self.stale = np.zeros(cap, dtype=bool)
        self.any_stale = False
        self.dl = np.zeros(cap, dtype=np.float64)
        self.dl[positions] = lengths
        self.total = float(lengths.sum())
        self.delta, self.delta_docs = {}, {}
        self.vocab = dict(vocab)
        tok = np.frombuffer(ids, dtype=np.int32).astype(np.int64)
        owner = np.repeat(np.asarray(positions, dtype=np.int64), lengths)
        keys, tf = np.unique(tok * (cap + 1) + owner, return_counts=True)
        del tok, owner
        tok_sorted = keys // (cap + 1)
        self.pos = (keys % (cap + 1)).astype(np.int32)
        self.tf = np.minimum(tf, 65535).astype(np.uint16)
        self.offsets = np.searchsorted(tok_sorted, np.arange(len(self.vocab) + 1)).astype(np.int64)
        self._weights(self.total / max(len(token_strings), 1))

    def refresh(self, n_docs: int) -> None:
        """Recompute the bulk weights if the mean document length drifted (writers only:
        searches read the weights without a lock)."""
        avgdl = self.total / n_docs if n_docs > 0 and self.total > 0 else 1.0
        if self.pos.size and abs(avgdl - self.avgdl_w) > self.AVGDL_TOLERANCE * self.avgdl_w:
            self._weights(avgdl)

    def _weights(self, avgdl: float) -> None:
        avgdl = avgdl if avgdl > 0 else 1.0
        tf = self.tf.astype(np.float32)
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.dl[self.pos] / avgdl)
        self.w = (tf * (BM25_K1 + 1.0) / (tf + norm)).astype(np.float32)
        self.avgdl_w = avgdl
        # Largest weight per token (0 for tokens without bulk postings).
        counts = np.diff(self.offsets)
        self.maxw = np.zeros(counts.size, dtype=np.float32)
        nonempty = counts > 0
        if self.w.size:
            self.maxw[nonempty] = np.maximum.reduceat(self.w, self.offsets[:-1][nonempty])

    def forget(self, pos: int) -> None:
        """The document at ``pos`` is gone or about to change."""
        self.stale[pos] = self.any_stale = True
        self.total -= self.dl[pos]
        self.dl[pos] = 0
        for t in self.delta_docs.pop(pos, ()):
            d = self.delta.get(t)
            if d is not None:
                d.pop(pos, None)
                if not d:
                    del self.delta[t]

    def put(self, pos: int, tokens: str) -> None:
        self.forget(pos)
        toks = tokens.split()
        self.dl[pos] = len(toks)
        self.total += len(toks)
        counts: dict[str, int] = {}
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            self.delta.setdefault(t, {})[pos] = c
        self.delta_docs[pos] = list(counts)

    def _term(self, token: str, n_docs: int, avgdl: float) -> tuple[float, float, np.ndarray, np.ndarray] | None:
        """(idf, upper bound of its score, positions sorted, weights) of one query token."""
        tid = self.vocab.get(token)
        d = self.delta.get(token)
        if tid is None and not d:
            return None
        maxw = 0.0
        if tid is not None:
            a, b = self.offsets[tid], self.offsets[tid + 1]
            p, w = self.pos[a:b], self.w[a:b]
            maxw = float(self.maxw[tid]) if b > a else 0.0
            if self.any_stale:
                live = ~self.stale[p]
                p, w = p[live], w[live]
        else:
            p, w = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        if d:
            dp = np.fromiter(d.keys(), dtype=np.int32, count=len(d))
            dtf = np.fromiter(d.values(), dtype=np.float64, count=len(d))
            dw = dtf * (BM25_K1 + 1.0) / (dtf + BM25_K1 * (1.0 - BM25_B + BM25_B * self.dl[dp] / avgdl))
            p = np.concatenate([p, dp])
            w = np.concatenate([w.astype(np.float64), dw])
            order = np.argsort(p, kind="stable")
            p, w = p[order], w[order]
            maxw = max(maxw, float(dw.max()))
        if not p.size:
            return None
        idf = float(np.log((n_docs - p.size + 0.5) / (p.size + 0.5)))
        idf = idf if idf > 0 else 1e-6
        return idf, idf * maxw, p, w

    def search(self, tokens: Sequence[str], n_docs: int, allowed: np.ndarray | None, k: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, exact scores) of allowed documents matching any token: all of them,
        or (``k`` given) a subset holding the best k. With ``k``, MaxScore pruning: after
        the rare tokens are scored, a common token whose best possible contribution (with
        the others left) cannot lift an unseen document above the k-th score so far only
        adds its weight to the candidates found, instead of bringing in its postings."""
        empty = np.zeros(0, dtype=np.int64), np.zeros(0)
        if n_docs <= 0:
            return empty
        avgdl = self.total / n_docs if self.total > 0 else 1.0
        terms = [x for x in (self._term(t, n_docs, avgdl) for t in tokens) if x is not None]
        if not terms:
            return empty
        terms.sort(key=lambda x: x[2].size)                    # rare first
        if k is None:
            done, rest = terms, []
        else:
            budget = max(self.PRUNE_BUDGET, 10 * k)
            n_first = 1
            while n_first < len(terms) and sum(x[2].size for x in terms[:n_first + 1]) <= budget:
                n_first += 1
            done, rest = terms[:n_first], sorted(terms[n_first:], key=lambda x: -x[1])
        uniq, sums = self._aggregate([(x[2], x[3], x[0]) for x in done], allowed)
        while rest and k is not None:
            bound = sum(x[1] for x in rest)
            if uniq.size >= k and bound < np.partition(sums, uniq.size - k)[uniq.size - k]:
                break           # no document outside the candidates can reach the top k
            x = rest.pop(0)     # the token with the largest possible contribution
            more_p, more_s = self._aggregate([(x[2], x[3], x[0])], allowed)
            uniq, sums = self._aggregate([(uniq, sums, 1.0), (more_p, more_s, 1.0)], None)
        for idf, _, p, w in rest:                         # add the pruned tokens' weights
            if not uniq.size:
                break
            at = np.searchsorted(p, uniq)
            ok = at < p.size
            ok[ok] = p[at[ok]] == uniq[ok]
            sums[ok] += w[at[ok]].astype(np.float64) * idf
        return uniq, sums

    def _aggregate(self, parts: Sequence[tuple[np.ndarray, np.ndarray, float]], allowed: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Sum weights x factor by position over the parts; keep allowed positions."""
        if len(parts) == 1:
            p, w, f = parts[0]
            uniq, sums = p.astype(np.int64), w.astype(np.float64) * f
        else:
            p = np.concatenate([x[0] for x in parts])
            c = np.concatenate([x[1].astype(np.float64) * x[2] for x in parts])
            if p.size * 8 < self.dl.shape[0]:
                uniq, inv = np.unique(p, return_inverse=True)
                sums = np.bincount(inv, weights=c, minlength=uniq.size)
            else:       # many postings: add up by position directly (linear, no sort)
                full = np.bincount(p, weights=c, minlength=self.dl.shape[0])
                uniq = np.flatnonzero(full)
                sums = full[uniq]
            uniq = uniq.astype(np.int64)
        if allowed is not None:
            keep = allowed[uniq]
            uniq, sums = uniq[keep], sums[keep]
        return uniq, sums

    def changed(self) -> int:
        return len(self.delta_docs)

    def compact(self) -> None:
        """Merge the changed documents into the bulk postings."""
        vocab = _VocabIds(self.vocab)
        counts = np.diff(self.offsets)
        tok = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
        pos, tf = self.pos.astype(np.int64), self.tf
        if self.any_stale:
            live = ~self.stale[pos]
            tok, pos, tf = tok[live], pos[live], tf[live]
        parts_t, parts_p, parts_f = [tok], [pos], [tf]
        for t, d in self.delta.items():
            parts_t.append(np.full(len(d), vocab[t], dtype=np.int64))
            parts_p.append(np.fromiter(d.keys(), dtype=np.int64, count=len(d)))
            parts_f.append(np.minimum(np.fromiter(d.values(), dtype=np.int64, count=len(d)), 65535).astype(np.uint16))
        tok, pos, tf = np.concatenate(parts_t), np.concatenate(parts_p), np.concatenate(parts_f).astype(np.uint16)
        order = np.lexsort((pos, tok))
        self.vocab = dict(vocab)
        self.pos, self.tf = pos[order].astype(np.int32), tf[order]
        self.offsets = np.searchsorted(tok[order], np.arange(len(self.vocab) + 1)).astype(np.int64)
        self.stale[:] = False
        self.any_stale = False
        self.delta, self.delta_docs = {}, {}
        self._weights(self.avgdl_w)

    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.pos.nbytes + self.tf.nbytes + self.w.nbytes + self.stale.nbytes
                   + self.dl.nbytes)


class _View:
    """Filter columns and vectors of one database file at log position ``seq``."""

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
        self.str_cols = {c: np.zeros(0, dtype=np.int32) for c in _STR_COLS}
        self.num_cols = {c: np.zeros(0, dtype=np.float64) for c in _NUM_COLS}
        self.vocab: dict[str, dict[str, int]] = {c: {} for c in _STR_COLS}
        # Multi-valued columns: value -> codes (in ``vocab``) of the stored texts holding it.
        self.codes_of: dict[str, dict[str, list[int]]] = {c: {} for c in _MULTI_COLS}
        self.vectors = {f: _Vectors(f, int(dims.get(f, 0)), np.zeros(0, dtype=np.int8)) for f in schema.VECTOR_FIELDS}
        self.lex = _Lexicon()
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
        for c in _STR_COLS:
            self.str_cols[c] = grow(self.str_cols[c], -1)
        for c in _NUM_COLS:
            self.num_cols[c] = grow(self.num_cols[c], np.nan)
        for v in self.vectors.values():
            v.nvec = grow(v.nvec, 0)
        self.lex.grow(cap)
        self.cap = cap

    def position(self, rowid: int) -> int | None:
        return int(self.pos_of[rowid]) if 0 <= rowid < self.pos_of.shape[0] and self.pos_of[rowid] >= 0 else None

    def set_row(self, row: Sequence[Any], *, lexicon: bool = True) -> int:
        """Store a row of ``_FILTER_SELECT``; ``lexicon=False`` when postings are built in bulk after."""
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
        for i, c in enumerate(_STR_COLS, start=1):
            val = row[i]
            if val is None:
                self.str_cols[c][pos] = -1
            else:
                code = self.vocab[c].get(val)
                self.str_cols[c][pos] = self._add_code(c, val) if code is None else code
        for i, c in enumerate(_NUM_COLS, start=1 + len(_STR_COLS)):
            self.num_cols[c][pos] = np.nan if row[i] is None else float(row[i])
        if lexicon:
            self.lex.put(pos, row[_TOKENS_AT] or "")
        return pos

    def _add_code(self, col: str, text: str) -> int:
        vocab = self.vocab[col]
        code = vocab[text] = len(vocab)
        if col in _MULTI_COLS:
            for value in text.split():
                self.codes_of[col].setdefault(value, []).append(code)
        return code

    def remove_row(self, rowid: int) -> None:
        pos = self.position(rowid)
        if pos is None:
            return
        for v in self.vectors.values():
            self.set_vectors(v, [rowid])
        self.alive[pos] = False
        self.lex.forget(pos)
        for c in _STR_COLS:
            self.str_cols[c][pos] = -1
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

    def set_vectors(self, v: _Vectors, rowids: Sequence[int], keys: np.ndarray | None = None,
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
            v.index.remove(_slot_keys(rids, old).astype(np.uint64))
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
                                                  ensure_ascii=False).encode(), dtype=np.uint8),
            "vocab": np.frombuffer(json.dumps({c: sorted(v, key=v.__getitem__) for c, v in self.vocab.items()},
                                              ensure_ascii=False).encode(), dtype=np.uint8)}
        for c in _STR_COLS:
            arrays[f"s_{c}"] = self.str_cols[c][:n]
        for c in _NUM_COLS:
            arrays[f"n_{c}"] = self.num_cols[c][:n]
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}-{threading.get_ident()}.npz")
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    @classmethod
    def restore(cls, path: Path, db_file: Path, dims: dict[str, int]) -> "_View":
        """The view saved at ``path``. Raises (the caller builds the view instead) if the file
        is damaged or lacks a column (saved by an earlier version)."""
        with np.load(path, allow_pickle=False) as data:
            missing = ({f"s_{c}" for c in _STR_COLS} | {f"n_{c}" for c in _NUM_COLS}) - set(data.files)
            if missing:
                raise ValueError(f"{path.name} lacks {sorted(missing)}")
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
            for c in _STR_COLS:
                view.str_cols[c][:n] = data[f"s_{c}"]
            for c in _NUM_COLS:
                view.num_cols[c][:n] = data[f"n_{c}"]
            vocab = json.loads(data["vocab"].tobytes().decode())
            for c in _STR_COLS:
                for text in vocab[c]:
                    view._add_code(c, text)
            lex = view.lex
            lex.vocab = {t: i for i, t in enumerate(json.loads(data["lex_vocab"].tobytes().decode()))}
            lex.offsets, lex.pos = data["lex_offsets"], data["lex_pos"]
            lex.tf = np.minimum(data["lex_tf"], 65535).astype(np.uint16)
            lex.dl[:n] = data["lex_dl"]
            lex.total = float(lex.dl[:n].sum())
            lex._weights(lex.total / max(view.count, 1))
        return view

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
        for col in _STR_COLS:
            val = getattr(f, col)
            if col in _MULTI_COLS:
                if val:                 # any of these values
                    hit = np.zeros(len(self.vocab[col]) + 1, dtype=bool)   # by code; the last one is -1 (NULL)
                    hit[[code for v in val for code in self.codes_of[col].get(v, ())]] = True
                    m &= hit[self.str_cols[col][:n]]
            elif val is not None:
                code = self.vocab[col].get(val)
                if code is None:
                    m[:] = False
                    break
                m &= self.str_cols[col][:n] == code
        with np.errstate(invalid="ignore"):
            for col, val, ge in (("price_min", f.price_min, True), ("price_min", f.price_max, False),
                                 ("moq", f.moq_max, False), ("ship_within_hours", f.ship_within_max, False)):
                if val is not None:
                    arr = self.num_cols[col][:n]
                    m &= (arr >= float(val)) if ge else (arr <= float(val))
        out = (m, int(m.sum()))
        if len(self.masks) > 32:
            self.masks.clear()
        self.masks[key] = out
        return out


def _usearch() -> Any:
    """The usearch module. onnxruntime (the models) must be imported before it: the other
    order crashes the process (usearch 2.26 + onnxruntime 1.31, a C++ runtime clash)."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    import usearch.index
    return usearch.index


def _hnsw(dim: int) -> Any:
    u = _usearch()
    Index, MetricKind = u.Index, u.MetricKind
    return Index(ndim=dim, metric=MetricKind.Cos, dtype=HNSW_DTYPE, connectivity=HNSW_CONNECTIVITY,
                 expansion_add=HNSW_EXPANSION_ADD, expansion_search=HNSW_EXPANSION_SEARCH)


def _sidecars(db_file: Path, part: str, suffix: str) -> list[tuple[int, Path]]:
    """Files saved beside a database (``<db>.<part>.s<seq><suffix>``), newest first."""
    out = []
    prefix = f"{db_file.name}.{part}.s"
    for p in db_file.parent.glob(f"{prefix}*{suffix}"):
        seq = p.name[len(prefix):-len(suffix)]
        if seq.isdigit():
            out.append((int(seq), p))
    return sorted(out, reverse=True)


def _graph_files(db_file: Path, field: str) -> list[tuple[int, Path]]:
    return _sidecars(db_file, field, ".usearch")


class EmbeddedStore(Store):
    """``EmbeddedStore(path)`` opens (or, with ``create=True``, creates) the index folder.

    ``ann_min``: vector fields with at least this many vectors use an HNSW graph.
    """

    def __init__(self, path: str | Path, *, create: bool = True, ann_min: int | None = None,
                 _db_file: Path | None = None) -> None:
        self.path = Path(path)
        self.ann_min = ANN_MIN if ann_min is None else int(ann_min)
        self._lock = threading.RLock()           # writes and connection switches
        self._rw = _RWLock()                     # the in-memory view
        self._view: _View | None = None
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
                self.path.mkdir(parents=True, exist_ok=True)
                self._write_current("index-1.sqlite")
            name, problem = self._read_current()
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
            self._conn = self._connect(self._db_file)
        except StoreError as e:
            if not create or self._pinned:
                raise
            self._broken = e

    # -- connection management -------------------------------------------------------
    def _write_current(self, name: str) -> None:
        tmp = self.path / f"CURRENT.tmp-{os.getpid()}"
        tmp.write_text(name + "\n")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        if self._current.is_dir() and not self._current.is_symlink():     # a damaged folder: move it aside
            os.replace(self._current, self.path / f"CURRENT.broken-{time.time_ns()}")
        os.replace(tmp, self._current)

    def _read_current(self) -> tuple[str, str | None]:
        """The database file ``CURRENT`` names, or why it names none."""
        try:
            name = self._current.read_text().strip()
        except (OSError, UnicodeError) as e:
            return "", f"unreadable ({e})"
        if not _DB_NAME.fullmatch(name):
            return "", f"incomplete: its database file is missing or empty (CURRENT holds {name[:40]!r})"
        return name, None

    def _check_usable(self) -> None:
        """Raise why this index cannot be used, unless another process rebuilt it since."""
        if self._broken is not None:
            self._follow()
            if self._broken is not None:
                raise self._broken.with_traceback(None)

    def _connect(self, db_file: Path) -> sqlite3.Connection:
        conn = None
        try:
            conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            cols = {r[1] for r in conn.execute("PRAGMA table_info(docs)")}
            if cols and "text_vector" in cols:
                raise StoreError(f"index at {self.path} was built by an older version of this program: "
                                 f"rebuild it (dupe index CATALOG_DIR --rebuild)")
            conn.executescript(_DDL)
            _add_missing_columns(conn)
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(schema.SCHEMA_VERSION),))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('layout', ?)", (str(LAYOUT_VERSION),))
            elif int(version[0]) in _UPGRADABLE_SCHEMAS:
                _upgrade_schema(conn)
            elif int(version[0]) != schema.SCHEMA_VERSION:
                raise StoreError(f"index at {self.path} has schema version {version[0]}, this program "
                                 f"needs {schema.SCHEMA_VERSION}: rebuild it (dupe index --rebuild)")
            return conn
        except (sqlite3.DatabaseError, StoreError) as e:
            if conn is not None:
                conn.close()
            if isinstance(e, StoreError):
                raise
            if isinstance(e, sqlite3.OperationalError) and not any(w in str(e).lower() for w in _DAMAGE_WORDS):
                raise StoreError(f"index at {self.path} cannot be used right now ({e})") from None
            raise _corrupt(self.path, e) from None

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
        if _DB_NAME.fullmatch(name) and (self.path / name != self._db_file or self._broken is not None):
            with self._lock:
                if self.path / name != self._db_file or self._broken is not None:
                    try:
                        new = self._connect(self.path / name)
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
            try:
                conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None, timeout=30)
                conn.execute("PRAGMA query_only=1")
                conn.execute("PRAGMA cache_size=-32768")
            except sqlite3.DatabaseError as e:
                raise StoreError(f"index at {self.path} is unreadable ({e})") from None
            local.conn, local.file = conn, db_file
            with self._lock:
                self._readers.append(conn)
        return conn, local.file

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._follow()
        self._check_usable()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute(
                    "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1")
                self._prune_log(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _note_failure(self, message: str) -> None:
        self._failure = (time.monotonic(), self._db_file, message)

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
        ids = self._ids(conn, [r for r, _ in bad[:100]])
        for rowid, reason in bad[:100]:
            doc_id = ids.get(rowid, f"row {rowid}")
            self._note_damage(doc_id, f"{field} vector of {doc_id!r}: {reason}: left out of search until "
                                      f"dupe index writes it again")

    @staticmethod
    def _prune_log(c: sqlite3.Connection) -> None:
        """Keep the last ``VLOG_KEEP`` log entries (pruning in steps of ``VLOG_PRUNE_STEP``)."""
        cut = (c.execute("SELECT max(seq) FROM vlog").fetchone()[0] or 0) - VLOG_KEEP
        if cut <= 0:
            return
        pruned = int(EmbeddedStore._meta(c, "vlog_pruned") or 0)
        if cut - pruned >= VLOG_PRUNE_STEP:
            c.execute("DELETE FROM vlog WHERE seq <= ?", (cut,))
            c.execute("INSERT INTO meta VALUES ('vlog_pruned', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (str(cut),))

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> Any:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        try:
            return None if row is None else json.loads(row[0])
        except (ValueError, TypeError):
            raise sqlite3.DatabaseError(f"the stored value of {key!r} is damaged") from None

    # -- Store interface -------------------------------------------------------------
    @_guarded
    def info(self) -> IndexInfo:
        conn, _ = self._rconn()
        with _snapshot(conn):
            count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
            return IndexInfo(count=count, models=self._meta(conn, "models") or {}, dims=self._meta(conn, "dims") or {},
                             generation=int(self._meta(conn, "generation") or 0))

    @_guarded
    def generation(self) -> int:
        conn, _ = self._rconn()
        return int(self._meta(conn, "generation") or 0)

    @_guarded
    def set_models(self, models: dict[str, str], dims: dict[str, int]) -> None:
        with self._tx() as c:
            current = self._meta(c, "models")
            if current and current != models and c.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
                raise ModelMismatchError(_mismatch(current, models))
            for key, val in (("models", models), ("dims", dims)):
                c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          (key, json.dumps(val, sort_keys=True)))

    def check_models(self, models: dict[str, str]) -> None:
        current = self.info().models
        wanted = {k: v for k, v in models.items() if k in current}
        if current and {k: current[k] for k in wanted} != wanted:
            raise ModelMismatchError(_mismatch(current, models))

    _DOC_COLS = ("id", *schema.FILTER_FIELDS, "content_hash", "tokens", "source")

    @_guarded
    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        insert = f"INSERT INTO docs ({', '.join(self._DOC_COLS)}) VALUES ({','.join('?' * len(self._DOC_COLS))})"
        update = f"UPDATE docs SET {', '.join(c + ' = ?' for c in self._DOC_COLS[1:])} WHERE rowid = ?"
        with self._tx() as c:
            dims = self._meta(c, "dims") or {}
            problems = [(d.id, problem) for d in docs for name in schema.VECTOR_FIELDS
                        if (problem := schema.vectors_problem(d, name, dims.get(name)))]
            if problems:        # refuse the whole call before writing anything
                raise InvalidDocumentError(problems, len(docs))
            for d in docs:
                tokens = " ".join(d.tokens)
                vals = (d.id, *(_padded(getattr(d, c)) if c in _MULTI_COLS else getattr(d, c)
                                for c in schema.FILTER_FIELDS),
                        d.content_hash, tokens, _dumps_source(d.source))
                old = c.execute("SELECT rowid, tokens FROM docs WHERE id = ?", (d.id,)).fetchone()
                if old:
                    rid = old[0]
                    c.execute(update, (*vals[1:], rid))
                else:
                    rid = c.execute(insert, vals).lastrowid
                what = 0 if old and old[1] == tokens else LOG_TOKENS
                for name in schema.VECTOR_FIELDS:
                    blob = _vec_blob(schema.vectors_of(d, name))
                    prev = c.execute(f"SELECT v FROM vec_{name} WHERE rowid = ?", (rid,)).fetchone() if old else None
                    if (prev[0] if prev else None) == blob:
                        continue                # unchanged: readers keep their graph as it is
                    what |= LOG_VECTOR[name]
                    if blob is None:
                        c.execute(f"DELETE FROM vec_{name} WHERE rowid = ?", (rid,))
                    else:
                        c.execute(f"INSERT OR REPLACE INTO vec_{name} (rowid, v) VALUES (?, ?)", (rid, blob))
                c.execute("INSERT INTO vlog (rid, what) VALUES (?, ?)", (rid, what))

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
                    c.execute("INSERT INTO vlog (rid, what) VALUES (?, ?)", (row[0], LOG_ALL))

    # Spelled out, not derived from ``schema.FILTER_FIELDS``: ``get`` builds ~60 documents per
    # query, and building them by name from the schema took 1.5x as long. The contract suite
    # round-trips every filter field, so one missing here fails it.
    _COLUMNS = ("d.id, d.kind, d.content_hash, d.source, d.tokens, d.category, d.price_min, d.moq, d.region,"
                " d.ship_within_hours, d.factory, d.brand, d.labels, d.dupe_of")

    def _row_doc(self, r: Sequence[Any], dims: dict[str, int] | None = None) -> IndexDoc:
        """A document from a row of ``_COLUMNS`` (plus the text and image blobs, with the
        index's ``dims``, which say where one vector of a blob ends)."""
        text = self._vectors(r[0], "text", r[14], dims) if len(r) > 14 else ()
        return IndexDoc(id=r[0], kind=r[1], content_hash=r[2], source=_source(r[0], r[3]), tokens=r[4].split(),
                        category=r[5], price_min=r[6], moq=r[7], region=r[8], ship_within_hours=r[9],
                        factory=r[10], brand=r[11], labels=r[12].split(), dupe_of=r[13].split(),
                        text_vector=text[0] if text else None,
                        image_vectors=self._vectors(r[0], "image", r[15], dims) if len(r) > 15 else ())

    def _vectors(self, doc_id: str, field: str, blob: bytes | None, dims: dict[str, int] | None
                 ) -> tuple[np.ndarray, ...]:
        """A document's stored vectors of one field, or none if they are damaged (then noted,
        and never handed out)."""
        if blob is None:
            return ()
        dim = int((dims or {}).get(field) or 0)
        size = 4 * dim if dim else len(blob)
        problem = _blob_problem(blob, size, schema.MAX_VECTORS[field])
        if problem is None:         # the checks of ``_decode_vectors``, for one document (3x faster)
            block = np.frombuffer(blob, dtype=np.float32).reshape(-1, size // 4)
            ok = schema.valid_rows(block)
            if ok.all():
                return tuple(block.copy())
            problem = f"stored vector {schema.vector_problem(block[int(np.argmin(ok))], None)}"
        self._note_damage(doc_id, f"{field} vector of {doc_id!r}: {problem}: left out of search "
                                  f"until dupe index writes it again")
        return ()

    @_guarded
    def get(self, ids: Sequence[str], *, vectors: bool = True) -> list[IndexDoc | None]:
        """Documents by id (None where absent); ``vectors=False`` skips reading the vectors
        (what search needs: a third of the time at 100k documents)."""
        conn, _ = self._rconn()
        found: dict[str, IndexDoc] = {}
        select = (f"SELECT {self._COLUMNS}, t.v, i.v FROM docs d LEFT JOIN vec_text t ON t.rowid = d.rowid"
                  f" LEFT JOIN vec_image i ON i.rowid = d.rowid" if vectors else f"SELECT {self._COLUMNS} FROM docs d")
        with _snapshot(conn):
            dims = self._meta(conn, "dims") if vectors else None
            for chunk in _chunks(list(dict.fromkeys(ids)), 500):
                query = f"{select} WHERE d.id IN ({','.join('?' * len(chunk))})"
                try:
                    rows = conn.execute(query, chunk).fetchall()
                except sqlite3.OperationalError as e:
                    if "decode" in str(e).lower():
                        self._undecodable(conn, query, chunk)
                    raise
                for r in rows:
                    found[r[0]] = self._row_doc(r, dims)
        return [found.get(i) for i in ids]

    @staticmethod
    def _undecodable(conn: sqlite3.Connection, query: str, ids: Sequence[str]) -> None:
        """Raise ``CorruptRecordError`` for the document whose stored text is not UTF-8 (the
        query failed on it as a whole): ``dupe index`` writes that one again."""
        conn.text_factory = bytes
        try:
            for row in conn.execute(query, ids):
                for value in row[1:EmbeddedStore._COLUMNS.count(",") + 1]:     # not the vectors
                    if isinstance(value, bytes):
                        try:
                            value.decode("utf-8")
                        except UnicodeDecodeError:
                            raise CorruptRecordError(row[0].decode("utf-8", "replace"),
                                                     "a stored text is not valid UTF-8") from None
        finally:
            conn.text_factory = str

    @_guarded
    def scan(self, kind: str) -> list[IndexDoc]:
        conn, _ = self._rconn()
        rows = conn.execute(f"SELECT {self._COLUMNS} FROM docs d WHERE d.kind = ? ORDER BY d.id", (kind,))
        return [self._row_doc(r) for r in rows.fetchall()]

    @_guarded
    def hashes(self) -> dict[str, str]:
        conn, _ = self._rconn()
        return dict(conn.execute("SELECT id, content_hash FROM docs").fetchall())

    @_guarded
    def bm25(self, tokens: Sequence[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        tokens = [t for t in tokens if t]
        if not tokens or k <= 0:
            return []
        conn, db_file = self._rconn()
        with self._viewing(conn, db_file) as view:
            allowed, m = view.mask(replace_ids(filters), None)
            if filters.ids is not None:
                allowed = allowed & self._id_mask(conn, view, filters.ids)
                m = int(allowed.sum())
            if m == 0:
                return []
            pos, scores = view.lex.search(tokens, view.count, allowed, k)
            rowids, scores = _top(view.rowid[pos], scores, k)
        ids = self._ids(conn, rowids)
        return [Hit(ids[r], float(sc)) for r, sc in zip(rowids, scores) if r in ids]

    @staticmethod
    def _ids(conn: sqlite3.Connection, rowids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(list(rowids), 500):
            out.update(conn.execute(f"SELECT rowid, id FROM docs WHERE rowid IN ({','.join('?' * len(chunk))})",
                                    [int(r) for r in chunk]).fetchall())
        return out

    def _vectors_of(self, conn: sqlite3.Connection, name: str, rowids: Sequence[int], dim: int
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Keys and float32 vectors of these rows from SQLite (rows without one are left out)."""
        rows: list[tuple[int, bytes]] = []
        for chunk in _chunks([int(r) for r in rowids], 500):
            rows += conn.execute(f"SELECT rowid, v FROM vec_{name} WHERE rowid IN "
                                 f"({','.join('?' * len(chunk))})", chunk).fetchall()
        keys, block, bad = _decode_vectors(rows, dim, schema.MAX_VECTORS[name])
        self._note_bad_vectors(conn, name, bad)
        return keys, block

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
            allowed, m = view.mask(replace_ids(filters), field)
            if filters.ids is not None:
                allowed = allowed & self._id_mask(conn, view, filters.ids)
                m = int(allowed.sum())
            if m == 0:
                return []
            k = min(k, m)
            if vecs.ann is None:
                rowids, scores = _exact(view, vecs, q, k, allowed)
            elif m <= min(EXACT_SUBSET_MAX, vecs.rows // 2):
                rowids, scores = self._exact_sql(conn, field, view.rowid[np.flatnonzero(allowed)], q, k, vecs.dim)
            else:
                rowids, scores = self._ann(conn, view, vecs, q, k, allowed, m)
        ids = self._ids(conn, rowids)
        return [Hit(ids[r], float(s)) for r, s in zip(rowids, scores) if r in ids]

    def _id_mask(self, conn: sqlite3.Connection, view: _View, ids: Sequence[str]) -> np.ndarray:
        mask = np.zeros(view.top, dtype=bool)
        for chunk in _chunks(list(ids), 500):
            for (rid,) in conn.execute(f"SELECT rowid FROM docs WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                pos = view.position(rid)
                if pos is not None:
                    mask[pos] = True
        return mask

    def _exact_sql(self, conn: sqlite3.Connection, field: str, rowids: np.ndarray, q: np.ndarray, k: int,
                   dim: int) -> tuple[list[int], list[float]]:
        keys, vectors = self._vectors_of(conn, field, rowids, dim)
        if not keys.size:
            return [], []
        return _top(*_best_per_row(keys, vectors @ q), k)

    def _ann(self, conn: sqlite3.Connection, view: _View, vecs: _Vectors, q: np.ndarray, k: int,
             allowed: np.ndarray, m: int) -> tuple[list[int], list[float]]:
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
            rowids = _first_seen(np.asarray(found.keys, dtype=np.int64) & ROWID_MASK)
            pos = view.positions(rowids)
            rowids = rowids[(pos >= 0) & allowed[np.maximum(pos, 0)]]
            if rowids.size >= min(want, m):
                break
            # Too few allowed documents found: a graph search does not reach every node (asked
            # for all 1,600 entries it may return fewer), so a selective filter goes exact.
            if count * 4 >= vecs.count and m <= 8 * EXACT_SUBSET_MAX:
                return self._exact_sql(conn, vecs.name, view.rowid[np.flatnonzero(allowed)], q, k, vecs.dim)
            if count >= vecs.count:
                break
            count = min(vecs.count, count * 4)
        # Re-score the candidates exactly from the float32 vectors (the graph holds int8),
        # each by its best vector.
        return self._exact_sql(conn, vecs.name, rowids[:want], q, k, vecs.dim)

    # -- the in-memory view ------------------------------------------------------------
    @contextlib.contextmanager
    def _viewing(self, conn: sqlite3.Connection, db_file: Path) -> Iterator[_View]:
        """The view of ``db_file`` (``conn``'s file), brought up to date, held for reading."""
        gen = int(self._meta(conn, "generation") or 0)
        view = self._view
        if view is None or view.db_file != db_file or view.generation != gen:
            with self._rw.write():
                view = self._view
                if view is None or view.db_file != db_file:
                    self._view = None          # free the old view before building the new one
                    self._view = self._load(conn, db_file)
                    # The view is ~10^5-10^6 long-lived objects: out of the collector's
                    # generations, full collections stop walking them during queries
                    # (text query p99 54 -> 37 ms at 100k products).
                    gc.collect()
                    gc.freeze()
                elif view.generation != gen:
                    self._catch_up(conn, view)
                self._failure = None        # a write since the failure (a repair?) read back whole
        with self._rw.read():
            yield self._view  # type: ignore[misc]

    def _load(self, conn: sqlite3.Connection, db_file: Path) -> _View:
        with _snapshot(conn):
            seq, pruned, gen = self._log_position(conn)
            dims = self._meta(conn, "dims") or {}
            view = None
            for saved, path in _sidecars(db_file, "view", ".npz"):
                if pruned <= saved <= seq:
                    try:
                        view = _View.restore(path, db_file, dims)
                    except Exception:  # noqa: BLE001 - missing or damaged: try the next, else build
                        continue
                    view.saved_seq = saved
                    self._apply_rows(conn, view, self._changed_since(conn, saved, seq))
                    view.lex.refresh(view.count)
                    break
            if view is None:
                view = _View(db_file, dims)
                positions, token_strings = [], []
                for row in conn.execute(_FILTER_SELECT):
                    positions.append(view.set_row(row, lexicon=False))
                    token_strings.append(row[_TOKENS_AT] or "")
                view.lex.build(np.asarray(positions, dtype=np.int64), token_strings, view.cap)
                del token_strings
            view.seq, view.generation = seq, gen
            for name, vecs in view.vectors.items():
                if self._stored_count(conn, name, vecs.dim) >= self.ann_min:
                    self._load_graph(conn, view, vecs, seq, pruned)
                else:
                    self._load_matrix(conn, view, vecs)
        if view.saved_seq < 0 and view.count >= VIEW_SAVE_MIN:
            self._save_view(view)
        return view

    @staticmethod
    def _stored_count(conn: sqlite3.Connection, name: str, dim: int) -> int:
        """How many vectors of one field SQLite holds (from the blobs' sizes, not their bytes)."""
        rows, size = conn.execute(f"SELECT count(*), coalesce(sum(length(v)), 0) FROM vec_{name}").fetchone()
        return int(size) // (4 * dim) if dim else int(rows)

    def _save_view(self, view: _View) -> None:
        path = view.db_file.parent / f"{view.db_file.name}.view.s{view.seq}.npz"
        try:
            view.save(path)
        except Exception:  # noqa: BLE001 - a read-only folder or a full disk: serve, just do not save
            return
        view.saved_seq = view.seq
        for old_seq, p in _sidecars(view.db_file, "view", ".npz"):
            if old_seq < view.seq:
                with contextlib.suppress(OSError):
                    p.unlink()

    @staticmethod
    def _changed_since(conn: sqlite3.Connection, after: int, upto: int) -> dict[int, int]:
        """Rows logged after ``after`` up to ``upto``: rowid -> what changed (``LOG_*`` bits)."""
        out: dict[int, int] = {}
        for rid, what in conn.execute("SELECT rid, what FROM vlog WHERE seq > ? AND seq <= ?", (after, upto)):
            out[rid] = out.get(rid, 0) | what
        return out

    @staticmethod
    def _vector_changed(changed: dict[int, int], field: str, rowids: Iterable[int]) -> list[int]:
        """Those of ``rowids`` whose ``field`` vector changed."""
        bit = LOG_VECTOR[field]
        return [r for r in rowids if changed.get(r, LOG_ALL) & bit]

    def _apply_rows(self, conn: sqlite3.Connection, view: _View, changed: dict[int, int],
                    rowids: Iterable[int] | None = None) -> list[int]:
        """Bring the filter columns and postings of these rows (default: all ``changed``) up
        to SQLite; returns the live ones."""
        live: list[int] = []
        for chunk in _chunks(list(changed if rowids is None else rowids), 500):
            rows = {r[0]: r for r in conn.execute(f"{_FILTER_SELECT} WHERE rowid IN "
                                                  f"({','.join('?' * len(chunk))})", chunk)}
            for rid in chunk:
                if rid in rows:
                    view.set_row(rows[rid], lexicon=view.position(rid) is None
                                 or bool(changed.get(rid, LOG_ALL) & LOG_TOKENS))
                    live.append(rid)
                else:
                    view.remove_row(rid)
        view.masks.clear()
        return live

    @staticmethod
    def _log_position(conn: sqlite3.Connection) -> tuple[int, int, int]:
        seq = conn.execute("SELECT max(seq) FROM vlog").fetchone()[0] or 0
        pruned = int(EmbeddedStore._meta(conn, "vlog_pruned") or 0)
        gen = int(EmbeddedStore._meta(conn, "generation") or 0)
        return seq, pruned, gen

    def _scan_vectors(self, conn: sqlite3.Connection, name: str, dim: int, chunk: int = 50_000
                      ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Keys and vectors of every valid vector of one field, in chunks (damaged ones are
        noted and left out)."""
        cur = conn.execute(f"SELECT rowid, v FROM vec_{name} ORDER BY rowid")
        bad: list[tuple[int, str]] = []
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            keys, block, damaged = _decode_vectors(rows, dim, schema.MAX_VECTORS[name])
            bad += damaged
            if keys.size:
                yield keys, block
        self._note_bad_vectors(conn, name, bad)

    def _load_matrix(self, conn: sqlite3.Connection, view: _View, vecs: _Vectors) -> None:
        vecs.ann, vecs.origin = None, "matrix"
        vecs.flat = None
        vecs.nvec[:] = 0
        for keys, block in self._scan_vectors(conn, vecs.name, vecs.dim):
            if vecs.flat is None:
                vecs.dim = block.shape[1]
                vecs.flat = _Flat(vecs.dim)
            self._hold(view, vecs, keys, block)
        if vecs.flat is None:
            vecs.flat = _Flat(vecs.dim)
        vecs.recount(view.top)

    @staticmethod
    def _hold(view: _View, vecs: _Vectors, keys: np.ndarray, block: np.ndarray) -> None:
        """Put vectors read in bulk (of rows holding none in the view yet) into its index."""
        vecs.index.add(keys.astype(np.uint64), block)
        np.add.at(vecs.nvec, view.pos_of[keys & ROWID_MASK], 1)

    def _load_graph(self, conn: sqlite3.Connection, view: _View, vecs: _Vectors, seq: int, pruned: int) -> None:
        """Load the newest saved graph the log can bring up to ``seq``, else build one."""
        vecs.flat = None
        for saved, path in _graph_files(view.db_file, vecs.name):
            if saved > seq or saved < pruned:
                continue
            try:
                index = _usearch().Index.restore(str(path))
                index.expansion_search = HNSW_EXPANSION_SEARCH      # not kept in the file
            except Exception:  # noqa: BLE001 - a missing or damaged file: build instead
                continue
            if index is None or index.ndim != vecs.dim and vecs.dim:
                continue
            vecs.ann, vecs.dim = index, index.ndim
            vecs.nvec[:] = 0
            keys = np.asarray(index.keys, dtype=np.int64) if len(index) else np.zeros(0, dtype=np.int64)
            live = view.positions(keys & ROWID_MASK) >= 0
            changed = self._changed_since(conn, saved, seq)
            if not live.all():
                # Rows gone since the save must be among the changed ones; anything else is damage.
                if not set((keys[~live] & ROWID_MASK).tolist()) <= set(changed):
                    continue
                index.remove(keys[~live].astype(np.uint64))
                keys = keys[live]
            np.add.at(vecs.nvec, view.pos_of[keys & ROWID_MASK], 1)
            vecs.recount(view.top)
            moved = self._vector_changed(changed, vecs.name, changed)
            self._apply_vectors(conn, view, vecs, moved)
            total = conn.execute(f"SELECT count(*) FROM vec_{vecs.name}").fetchone()[0]
            if vecs.rows != total:
                continue                        # not what the log promised: build instead
            vecs.saved_seq, vecs.origin = saved, "loaded"
            vecs.changed_since_save = len(moved)
            if len(moved) > max(10_000, vecs.count // 10):
                self._save_graph(view, vecs, seq)
            return
        vecs.ann = _hnsw(vecs.dim) if vecs.dim else None
        vecs.nvec[:] = 0
        for keys, block in self._scan_vectors(conn, vecs.name, vecs.dim):
            if vecs.ann is None:
                vecs.dim = block.shape[1]
                vecs.ann = _hnsw(vecs.dim)
            self._hold(view, vecs, keys, block)
        vecs.recount(view.top)
        vecs.origin = "built"
        self._save_graph(view, vecs, seq)

    def _save_graph(self, view: _View, vecs: _Vectors, seq: int) -> None:
        if vecs.ann is None:
            return
        final = view.db_file.parent / f"{view.db_file.name}.{vecs.name}.s{seq}.usearch"
        tmp = final.with_name(final.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            vecs.ann.save(str(tmp))
            os.replace(tmp, final)
        except Exception:  # noqa: BLE001 - a read-only folder or a full disk: serve, just do not save
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        vecs.saved_seq, vecs.changed_since_save = seq, 0
        for old_seq, p in _graph_files(view.db_file, vecs.name):
            if old_seq < seq:
                with contextlib.suppress(OSError):
                    p.unlink()

    def _apply_vectors(self, conn: sqlite3.Connection, view: _View, vecs: _Vectors, rowids: Sequence[int]) -> None:
        """Bring one field's vectors of these rows up to what SQLite holds now."""
        for chunk in _chunks(list(rowids), 500):
            keys, block = self._vectors_of(conn, vecs.name, chunk, vecs.dim)
            if keys.size and vecs.ann is None and (vecs.flat is None or vecs.flat.dim != block.shape[1]):
                vecs.dim = block.shape[1]
                vecs.flat = _Flat(vecs.dim)
            view.set_vectors(vecs, chunk, keys, block)

    def _catch_up(self, conn: sqlite3.Connection, view: _View) -> None:
        """Apply the rows logged since the view's position (or reload, if the log was pruned)."""
        with _snapshot(conn):
            seq, pruned, gen = self._log_position(conn)
            dims = self._meta(conn, "dims") or {}
            reload = pruned > view.seq or any(dims.get(f, v.dim) != v.dim and v.count for f, v in view.vectors.items())
            if not reload:
                self._apply_log(conn, view, seq, gen, dims)
        if reload:
            self._view = None
            self._view = self._load(conn, view.db_file)

    def _apply_log(self, conn: sqlite3.Connection, view: _View, seq: int, gen: int, dims: dict[str, int]) -> None:
        for f, v in view.vectors.items():
            if not v.count and f in dims:
                v.dim = int(dims[f])
        changed = self._changed_since(conn, view.seq, seq)
        if not changed and seq == view.seq:
            view.generation = gen           # a commit that logged nothing (e.g. set_models)
            return
        for chunk in _chunks(list(changed), 500):
            live = self._apply_rows(conn, view, changed, chunk)
            for vecs in view.vectors.values():
                self._apply_vectors(conn, view, vecs, self._vector_changed(changed, vecs.name, live))
        for vecs in view.vectors.values():
            if vecs.ann is None and vecs.count >= self.ann_min:
                self._to_graph(view, vecs, seq)
        if view.lex.changed() > max(LEX_DELTA_MAX, view.count // 10):
            view.lex.compact()
        view.lex.refresh(view.count)
        view.seq, view.generation = seq, gen
        view.masks.clear()

    def _to_graph(self, view: _View, vecs: _Vectors, seq: int) -> None:
        """Switch a field that grew past ``ann_min`` from the exact matrix to a graph."""
        assert vecs.flat is not None
        keys, rows = vecs.flat.used()
        index = _hnsw(vecs.dim)
        for i in range(0, keys.size, 50_000):
            index.add(keys[i:i + 50_000].astype(np.uint64), vecs.flat.mat[rows[i:i + 50_000]])
        vecs.ann, vecs.flat, vecs.origin = index, None, "built"
        self._save_graph(view, vecs, seq)

    @_guarded
    def warm(self) -> None:
        """Bring the in-memory view up to date and save the graphs it changed (so the
        next process starts without building them)."""
        conn, db_file = self._rconn()
        with self._viewing(conn, db_file):
            pass
        with self._rw.write():
            view = self._view
            if view is None:
                return
            for vecs in view.vectors.values():
                if vecs.ann is not None and (vecs.saved_seq != view.seq and vecs.changed_since_save):
                    self._save_graph(view, vecs, view.seq)
            if view.count >= VIEW_SAVE_MIN and view.saved_seq != view.seq:
                self._save_view(view)

    def verify(self) -> Damage:
        """See ``Store.verify``: ``PRAGMA integrity_check`` (damaged pages, or indexes that
        disagree with their tables: rebuild), then every document's text columns decoded and
        source parsed, and every vector checked (a damaged record: written again). Reads the
        whole file on its own connection: ~0.7 s for 20,000 products (a tenth of a run that
        finds nothing changed); ``quick_check`` would save little, and miss damaged indexes."""
        if self._broken is not None:
            self._follow()
        if self._broken is not None:
            return Damage(corrupt=self._broken.reason) if isinstance(self._broken, IndexCorruptError) else Damage()
        try:
            conn = sqlite3.connect(self._db_file, isolation_level=None, timeout=30)
        except sqlite3.DatabaseError as e:
            return Damage(corrupt=_corrupt(self.path, e).reason)
        conn.text_factory = bytes               # a damaged text is found per row, not by a failed scan
        try:
            with _snapshot(conn):
                found = [r[0].decode("utf-8", "replace") for r in conn.execute("PRAGMA integrity_check(5)")]
                if found != ["ok"]:
                    found = [f for f in found if not f.startswith("*** in database")]
                    return Damage(corrupt=_corrupt(self.path, "; ".join(found)).reason)
                for key, value in conn.execute("SELECT key, value FROM meta"):
                    json.loads(value.decode("utf-8"))       # models, dims, generation: or rebuild
                return Damage(records=self._damaged_records(conn))
        except (sqlite3.DatabaseError, ValueError) as e:         # UnicodeDecodeError, JSONDecodeError
            return Damage(corrupt=_corrupt(self.path, e).reason)
        finally:
            conn.close()

    _TEXT_COLUMNS = ("content_hash", "tokens", *(c for c in schema.FILTER_FIELDS if c in _STR_COLS and c != "kind"))

    def _damaged_records(self, conn: sqlite3.Connection) -> dict[str, str]:
        """Documents of ``conn`` (reading text as bytes) that cannot be read back whole. A
        damaged id or kind raises ``UnicodeDecodeError``: the index cannot be trusted."""
        out: dict[str, str] = {}
        rowid_of: dict[int, str] = {}
        cur = conn.execute(f"SELECT rowid, id, kind, source, {', '.join(self._TEXT_COLUMNS)} FROM docs")
        while rows := cur.fetchmany(5000):
            for rowid, raw_id, kind, source, *texts in rows:
                doc_id = raw_id.decode("utf-8")
                kind.decode("utf-8")
                rowid_of[rowid] = doc_id
                try:
                    for t in texts:
                        if t is not None:
                            t.decode("utf-8")
                    _source(doc_id, source.decode("utf-8"))
                except UnicodeDecodeError:
                    out[doc_id] = "a stored text is not valid UTF-8"
                except CorruptRecordError as e:
                    out[doc_id] = e.reason
        dims = json.loads((conn.execute("SELECT value FROM meta WHERE key = 'dims'").fetchone() or [b"{}"])[0])
        for name in schema.VECTOR_FIELDS:
            cur = conn.execute(f"SELECT rowid, v FROM vec_{name}")
            while rows := cur.fetchmany(20_000):
                for rowid, reason in _decode_vectors(rows, int(dims.get(name) or 0), schema.MAX_VECTORS[name])[2]:
                    if rowid in rowid_of:
                        out.setdefault(rowid_of[rowid], f"{name} {reason}")
        return out

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
        row = conn.execute(f"SELECT {self._COLUMNS}, t.v, i.v FROM docs d LEFT JOIN vec_text t ON t.rowid = d.rowid"
                           f" LEFT JOIN vec_image i ON i.rowid = d.rowid LIMIT 1").fetchone()
        if row is not None:
            self._row_doc(row, self._meta(conn, "dims"))

    def memory(self) -> dict[str, int]:
        """Bytes held by the in-memory view, by part (for benchmarks and health checks)."""
        view = self._view
        if view is None:
            return {}
        out = {"columns": int(view.pos_of.nbytes + view.rowid.nbytes + view.alive.nbytes
                              + sum(a.nbytes for a in view.str_cols.values())
                              + sum(a.nbytes for a in view.num_cols.values())),
               "postings": view.lex.nbytes()}
        for name, v in view.vectors.items():
            out[name] = int(v.nvec.nbytes + (v.flat.mat.nbytes + v.flat.keys.nbytes if v.flat is not None else 0)
                            + (v.ann.memory_usage if v.ann is not None else 0))
        return out

    @contextlib.contextmanager
    def rebuilding(self) -> Iterator["EmbeddedStore"]:
        """See ``Store.rebuilding``. Needs nothing of the old index (a damaged database or
        ``CURRENT`` is what a rebuild repairs): a new file, named by ``CURRENT`` at the swap."""
        with self.writing():
            n = max([int(m.group(1)) for p in self.path.glob("index-*.sqlite")
                     if (m := _DB_NAME.fullmatch(p.name))] or [0]) + 1
            new_file = self.path / f"index-{n}.sqlite"
            new = EmbeddedStore(self.path, _db_file=new_file, ann_min=self.ann_min)
            # Continue the generation count, so readers caching by generation see a change
            # (from the clock when the old count cannot be read: larger than any count).
            try:
                generation = self.generation() + 1
            except StoreError:
                generation = int(time.time())
            new._conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
            try:
                yield new
                new.warm()          # readers switch to ready graphs
            except BaseException:
                new.close()
                _remove_db(new_file)
                raise
            new.close()
            with self._lock:
                self._write_current(new_file.name)
                self._follow()
            self._remove_stale_files()      # the replaced file among them

    @contextlib.contextmanager
    def writing(self, on_wait: Callable[[str], None] | None = None) -> Iterator[list[str]]:
        """See ``Store.writing``: ``flock`` on ``<index>/LOCK``; a second writer waits."""
        with _WriterLock.hold(self.path, on_wait) as first:
            yield self._remove_stale_files() if first else []

    def _remove_stale_files(self) -> list[str]:
        """Under the writer lock: remove the database files (and their -wal, -shm, saved
        graphs and views) that ``CURRENT`` does not name. Returns a note if any were.

        No writer can be filling them (the lock), so each is a rebuild that never finished
        (killed: no reader ever opened it, readers open only what ``CURRENT`` names) or a
        replaced file whose removal was cut short. A reader may still hold a replaced file
        open: removing it is what every swap does (a removed file stays readable through
        open handles on POSIX, and readers check ``CURRENT`` on every call and move on).
        Nothing is removed while ``CURRENT`` names no existing file: which file is live is
        then unknown (the rebuild that repairs it cleans up after its swap)."""
        live, problem = self._read_current()
        if problem or not (self.path / live).is_file():
            return []
        stale: dict[str, list[Path]] = {}
        for p in self.path.iterdir():
            m = re.match(r"(index-[0-9]{1,18}\.sqlite)(-wal|-shm|\..+)?$", p.name)
            if m and m.group(1) != live:
                stale.setdefault(m.group(1), []).append(p)
            elif p.name.startswith("CURRENT.tmp-") or p.name.startswith("CURRENT.broken-"):
                stale.setdefault(p.name, []).append(p)
        size = 0
        for files in stale.values():
            for p in files:
                with contextlib.suppress(OSError):
                    size += p.stat().st_size if p.is_file() else 0
                    if p.is_dir() and not p.is_symlink():
                        os.rmdir(p)
                    else:
                        p.unlink()
        dbs = sum(1 for name in stale if name.endswith(".sqlite"))
        if not dbs:
            return []
        return [f"removed {dbs} unfinished or replaced index file{'s' if dbs > 1 else ''} ({size / 1e6:.1f} MB)"]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in [self._conn, *self._readers]:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
            self._view = None


def replace_ids(f: Filters) -> Filters:
    """The filters without the id list (resolved separately, by SQL)."""
    if f.ids is None:
        return f
    from dataclasses import replace
    return replace(f, ids=None)


def _top(rowids: np.ndarray, scores: np.ndarray, k: int) -> tuple[list[int], list[float]]:
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


def _exact(view: _View, vecs: _Vectors, q: np.ndarray, k: int, allowed: np.ndarray
           ) -> tuple[list[int], list[float]]:
    """Top k allowed rows over the matrix, each by its best vector."""
    assert vecs.flat is not None
    keys, rows = vecs.flat.used()
    ok = allowed[view.pos_of[keys & ROWID_MASK]]
    keys, rows = keys[ok], rows[ok]
    if rows.size < vecs.flat.top // 4:
        scores = vecs.flat.mat[rows] @ q
    else:
        scores = (vecs.flat.mat[:vecs.flat.top] @ q)[rows]
    return _top(*_best_per_row(keys, scores), k)


_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _dumps_source(source: dict[str, Any]) -> str:
    """A source as stored. orjson reads it back (``_loads``) unless it holds a run of 19
    digits, where orjson would differ from json (integers beyond 64 bits become floats):
    those are stored with a leading space (still JSON), read by json."""
    text = json.dumps(source, ensure_ascii=False)
    return " " + text if _LONG_DIGITS.search(text) else text


def _loads(text: str) -> Any:
    """A stored source: orjson (json.loads took a tenth of a text query at 100k products),
    json where orjson would differ (see ``_dumps_source``; orjson also refuses NaN)."""
    if not text.startswith(" "):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _remove_db(db_file: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(str(db_file) + suffix)
    for p in db_file.parent.glob(db_file.name + ".*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _chunks(xs: list, n: int) -> Iterator[list]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def _mismatch(current: dict[str, str], wanted: dict[str, str]) -> str:
    return (f"the index was built with models {current}, but {wanted} are configured: "
            f"use the same models, or rebuild the index (dupe index CATALOG_DIR --rebuild)")
