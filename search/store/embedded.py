"""The embedded on-disk store (the default backend; no server to install).

One SQLite database holds documents, filter columns, vectors and an FTS5 index over the
pre-analysed tokens; every write call is one transaction, so a crash mid-write leaves the
last committed state. FTS5's ``bm25()`` (k1=1.2, b=0.75) ranks the tokens. Vectors are
also kept in memory as one matrix per field for exact cosine kNN; the matrix is reloaded
when another connection (the indexer) commits (``PRAGMA data_version``).

Layout of the index folder: ``CURRENT`` names the live database file
(``index-<n>.sqlite``); ``rebuilding()`` fills a new file and swaps ``CURRENT``
atomically, so readers keep answering from the old file until the swap.
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
from search.store.base import (
    Filters, Hit, IndexDoc, IndexInfo, ModelMismatchError, Store, StoreError, VectorField,
)

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    tokens TEXT NOT NULL,
    category TEXT, price_min REAL, moq INTEGER, region TEXT, ship_within_hours INTEGER,
    factory TEXT, brand TEXT, labels TEXT NOT NULL DEFAULT ' ',
    text_vector BLOB, image_vector BLOB
);
CREATE INDEX IF NOT EXISTS docs_kind ON docs(kind);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(tokens, tokenize = 'ascii');
"""


def filter_sql(f: Filters) -> tuple[str, list[Any]]:
    """SQL condition over table alias ``d`` for the filters (pure; tested directly)."""
    conds: list[str] = []
    args: list[Any] = []
    for col, val in (("kind", f.kind), ("category", f.category), ("region", f.region),
                     ("factory", f.factory), ("brand", f.brand)):
        if val is not None:
            conds.append(f"d.{col} = ?")
            args.append(val)
    if f.price_min is not None:
        conds.append("d.price_min >= ?")
        args.append(f.price_min)
    if f.price_max is not None:
        conds.append("d.price_min <= ?")
        args.append(f.price_max)
    if f.moq_max is not None:
        conds.append("d.moq <= ?")
        args.append(f.moq_max)
    if f.ship_within_max is not None:
        conds.append("d.ship_within_hours <= ?")
        args.append(f.ship_within_max)
    if f.labels:
        conds.append("(" + " OR ".join("instr(d.labels, ?) > 0" for _ in f.labels) + ")")
        args.extend(f" {label} " for label in f.labels)
    if f.ids is not None:
        if not f.ids:
            conds.append("0")
        else:
            conds.append(f"d.id IN ({','.join('?' * len(f.ids))})")
            args.extend(f.ids)
    return (" AND ".join(conds) or "1"), args


def fts_match(tokens: Sequence[str]) -> str:
    """An FTS5 MATCH expression: OR of the tokens, each quoted (never query syntax)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens if t)


@dataclass
class _Matrix:
    rowids: np.ndarray          # sorted int64
    ids: list[str]
    vectors: np.ndarray         # (n, dim) float32


def _vec_blob(v: np.ndarray | None) -> bytes | None:
    return None if v is None else np.asarray(v, dtype=np.float32).tobytes()


class EmbeddedStore(Store):
    """``EmbeddedStore(path)`` opens (or, with ``create=True``, creates) the index folder."""

    def __init__(self, path: str | Path, *, create: bool = True, _db_file: Path | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._matrices: dict[str, _Matrix] = {}
        self._data_version: int | None = None
        # A store being rebuilt is pinned to its new file until the swap.
        self._pinned = _db_file is not None
        if _db_file is not None:
            self._db_file = _db_file
        else:
            current = self.path / "CURRENT"
            if not current.exists():
                if not create:
                    raise StoreError(f"no index at {self.path}: build one first (dupe index CATALOG_DIR)")
                self.path.mkdir(parents=True, exist_ok=True)
                self._write_current("index-1.sqlite")
            self._db_file = self.path / current.read_text().strip()
        self._conn = self._connect(self._db_file)

    # -- connection management -------------------------------------------------------
    def _write_current(self, name: str) -> None:
        tmp = self.path / f"CURRENT.tmp-{os.getpid()}"
        tmp.write_text(name + "\n")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path / "CURRENT")

    def _connect(self, db_file: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_DDL)
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(schema.SCHEMA_VERSION),))
            elif int(version[0]) != schema.SCHEMA_VERSION:
                raise StoreError(f"index at {self.path} has schema version {version[0]}, this program "
                                 f"needs {schema.SCHEMA_VERSION}: rebuild it (dupe index --rebuild)")
            return conn
        except sqlite3.DatabaseError as e:
            raise StoreError(f"index at {self.path} is unreadable or corrupt ({e}): rebuild it "
                             f"(dupe index CATALOG_DIR --rebuild)") from None

    def _refresh(self) -> None:
        """Follow a rebuild (a new CURRENT) and drop cached vectors after outside commits."""
        if self._pinned:
            return
        try:
            name = (self.path / "CURRENT").read_text().strip()
        except OSError:
            return
        if name and self.path / name != self._db_file:
            new = self._connect(self.path / name)
            old, self._conn, self._db_file = self._conn, new, self.path / name
            self._matrices.clear()
            old.close()
        # data_version changes when another connection (e.g. the indexer process) commits.
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            self._matrices.clear()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute(
                "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            self._conn.execute("COMMIT")
            self._matrices.clear()

    def _meta(self, key: str) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    # -- Store interface -------------------------------------------------------------
    def info(self) -> IndexInfo:
        with self._lock:
            self._refresh()
            count = self._conn.execute("SELECT count(*) FROM docs").fetchone()[0]
            return IndexInfo(count=count, models=self._meta("models") or {}, dims=self._meta("dims") or {},
                             generation=int(self._meta("generation") or 0))

    def generation(self) -> int:
        with self._lock:
            self._refresh()
            return int(self._meta("generation") or 0)

    def set_models(self, models: dict[str, str], dims: dict[str, int]) -> None:
        with self._tx() as c:
            current = self._meta("models")
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

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        with self._tx() as c:
            for d in docs:
                old = c.execute("SELECT rowid FROM docs WHERE id = ?", (d.id,)).fetchone()
                if old:
                    c.execute("DELETE FROM fts WHERE rowid = ?", old)
                    c.execute("DELETE FROM docs WHERE rowid = ?", old)
                tokens = " ".join(d.tokens)
                cur = c.execute(
                    "INSERT INTO docs (id, kind, content_hash, source, tokens, category, price_min, moq, region,"
                    " ship_within_hours, factory, brand, labels, text_vector, image_vector)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (d.id, d.kind, d.content_hash, json.dumps(d.source, ensure_ascii=False), tokens, d.category,
                     d.price_min, d.moq, d.region, d.ship_within_hours, d.factory, d.brand,
                     " " + " ".join(d.labels) + " ", _vec_blob(d.text_vector), _vec_blob(d.image_vector)))
                c.execute("INSERT INTO fts (rowid, tokens) VALUES (?, ?)", (cur.lastrowid, tokens))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._tx() as c:
            for i in ids:
                row = c.execute("SELECT rowid FROM docs WHERE id = ?", (i,)).fetchone()
                if row:
                    c.execute("DELETE FROM fts WHERE rowid = ?", row)
                    c.execute("DELETE FROM docs WHERE rowid = ?", row)

    _COLUMNS = ("id, kind, content_hash, source, tokens, category, price_min, moq, region,"
                " ship_within_hours, factory, brand, labels")

    @staticmethod
    def _row_doc(r: Sequence[Any]) -> IndexDoc:
        vec = (lambda b: None if b is None else np.frombuffer(b, dtype=np.float32).copy())
        return IndexDoc(id=r[0], kind=r[1], content_hash=r[2], source=json.loads(r[3]), tokens=r[4].split(),
                        category=r[5], price_min=r[6], moq=r[7], region=r[8], ship_within_hours=r[9],
                        factory=r[10], brand=r[11], labels=r[12].split(),
                        text_vector=vec(r[13]) if len(r) > 13 else None,
                        image_vector=vec(r[14]) if len(r) > 14 else None)

    def get(self, ids: Sequence[str]) -> list[IndexDoc | None]:
        with self._lock:
            self._refresh()
            found: dict[str, IndexDoc] = {}
            for chunk in _chunks(list(ids), 500):
                rows = self._conn.execute(
                    f"SELECT {self._COLUMNS}, text_vector, image_vector FROM docs"
                    f" WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for r in rows:
                    found[r[0]] = self._row_doc(r)
            return [found.get(i) for i in ids]

    def scan(self, kind: str) -> list[IndexDoc]:
        with self._lock:
            self._refresh()
            rows = self._conn.execute(f"SELECT {self._COLUMNS} FROM docs WHERE kind = ? ORDER BY id", (kind,))
            return [self._row_doc(r) for r in rows.fetchall()]

    def hashes(self) -> dict[str, str]:
        with self._lock:
            self._refresh()
            return dict(self._conn.execute("SELECT id, content_hash FROM docs").fetchall())

    def bm25(self, tokens: Sequence[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        expr = fts_match(tokens)
        if not expr or k <= 0:
            return []
        where, args = filter_sql(filters)
        with self._lock:
            self._refresh()
            rows = self._conn.execute(
                f"SELECT d.id, -bm25(fts) FROM fts JOIN docs d ON d.rowid = fts.rowid"
                f" WHERE fts MATCH ? AND {where} ORDER BY bm25(fts) LIMIT ?", [expr, *args, k]).fetchall()
        return [Hit(i, float(s)) for i, s in rows]

    def knn(self, field: VectorField, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[Hit]:
        if field not in schema.VECTOR_FIELDS:
            raise ValueError(f"unknown vector field {field!r}")
        if k <= 0:
            return []
        with self._lock:
            self._refresh()
            m = self._matrix(field)
            if not m.ids:
                return []
            q = np.asarray(vector, dtype=np.float32)
            if q.shape != (m.vectors.shape[1],):
                raise ValueError(f"query vector has shape {q.shape}, index '{field}' vectors have "
                                 f"{m.vectors.shape[1]} dimensions")
            where, args = filter_sql(filters)
            if where == "1":
                positions = None
            else:
                allowed = np.fromiter((r for (r,) in self._conn.execute(
                    f"SELECT d.rowid FROM docs d WHERE {where} AND d.{field}_vector IS NOT NULL", args)),
                    dtype=np.int64)
                positions = np.searchsorted(m.rowids, np.sort(allowed))
                if positions.size == 0:
                    return []
        vecs = m.vectors if positions is None else m.vectors[positions]
        scores = vecs @ q
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        idx = top if positions is None else positions[top]
        return [Hit(m.ids[i], float(scores[j])) for i, j in zip(idx, top)]

    def _matrix(self, field: str) -> _Matrix:
        if field not in self._matrices:
            rows = self._conn.execute(
                f"SELECT rowid, id, {field}_vector FROM docs WHERE {field}_vector IS NOT NULL ORDER BY rowid").fetchall()
            dim = (self._meta("dims") or {}).get(field, 0)
            if rows:
                vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            else:
                vectors = np.zeros((0, dim), dtype=np.float32)
            self._matrices[field] = _Matrix(np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows], vectors)
        return self._matrices[field]

    @contextlib.contextmanager
    def rebuilding(self) -> Iterator["EmbeddedStore"]:
        with self._lock:
            n = max([int(p.stem.split("-")[1]) for p in self.path.glob("index-*.sqlite")
                     if p.stem.split("-")[1].isdigit()] or [0]) + 1
        new_file = self.path / f"index-{n}.sqlite"
        new = EmbeddedStore(self.path, _db_file=new_file)
        # Continue the generation count, so readers caching by generation see a change.
        new._conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
        try:
            yield new
        except BaseException:
            new.close()
            _remove_db(new_file)
            raise
        new.close()
        with self._lock:
            old_file = self._db_file
            self._write_current(new_file.name)
            self._refresh()
            _remove_db(old_file)

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass


def _remove_db(db_file: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(str(db_file) + suffix)


def _chunks(xs: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def _mismatch(current: dict[str, str], wanted: dict[str, str]) -> str:
    return (f"the index was built with models {current}, but {wanted} are configured: "
            f"use the same models, or rebuild the index (dupe index CATALOG_DIR --rebuild)")
