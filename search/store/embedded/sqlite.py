"""The SQLite database of the embedded store: the source of truth.

Tables: ``docs`` (one row per document: its id, one column per ``schema.FIELDS`` row, the
content hash, the analysed tokens and the source as JSON), ``vec_text`` and ``vec_image``
(a document's vectors of one field as one float32 blob, one vector after another), ``meta``
(models, dims, generation, schema version) and ``vlog``, the change log: one entry per row
a write touched, saying what of it changed (``LOG_*``), which the in-memory views follow.

Everything about the tables is here: the DDL and the columns derived from the field
table, migrations of indexes created by earlier versions, connecting, telling damaged
bytes from a busy database, reading meta values and the log, encoding and decoding
document rows, sources and vector blobs, and the per-record check of ``verify``.
"""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from search.store import schema
from search.store.base import CorruptRecordError, IndexDoc, StoreError

LAYOUT_VERSION = 2
#: Schema versions read as they are, recording the current one on open (so an older
#: program refuses the index instead of misreading it): version 1 held one image vector
#: per document, a blob that reads as a list of one.
UPGRADABLE_SCHEMAS = frozenset({1})

# -- columns ------------------------------------------------------------------------------
_SQL_TYPES = {"keyword": "TEXT", "float": "REAL", "integer": "INTEGER"}
#: Separates the values of a multi-valued column ("\x1fBSCI\x1fISO 9001\x1f"): catalog
#: values may hold spaces. Columns written before held ids between spaces (" a b "), read
#: as such (``decode_values``).
MULTI_SEP = "\x1f"


def encode_values(values: Sequence[str]) -> str:
    """A multi-valued column's stored text."""
    return MULTI_SEP + "".join(v.replace(MULTI_SEP, " ") + MULTI_SEP for v in values)


def decode_values(text: str) -> list[str]:
    """The values of a multi-valued column's stored text (``encode_values``, or the
    space-separated text of earlier versions)."""
    if text[:1] == MULTI_SEP:
        return text.split(MULTI_SEP)[1:-1]
    return text.split()


def column_sql(field: schema.Field) -> str:
    """The SQLite declaration of a field's column."""
    if field.multi:
        return f"{field.name} TEXT NOT NULL DEFAULT ' '"          # no values (``decode_values``)
    return f"{field.name} {_SQL_TYPES[field.type]}{' NOT NULL' if field.name == 'kind' else ''}"


#: ``vlog.what``: what a logged write changed besides the filter columns, as bits. Readers
#: re-insert a row's vectors into the graphs, and its tokens into the postings, only if
#: they changed (a new price changes neither): re-inserting every changed row's vectors
#: under the view's write lock stalled searches for > 60 s during a 12,000-product
#: reindex at 100k products.
LOG_TOKENS = 1
LOG_VECTOR = {"text": 2, "image": 4}
LOG_ALL = 7

#: Columns an index created by an earlier version may lack, by table: ``connect`` adds
#: them with their defaults (old rows read as empty; old log entries as "everything
#: changed"). Every field but ``kind`` qualifies, so a new field needs no migration code.
ADDABLE_COLUMNS: dict[str, dict[str, str]] = {
    "docs": {f.name: column_sql(f) for f in schema.FIELDS if f.name != "kind"},
    "vlog": {"what": f"what INTEGER NOT NULL DEFAULT {LOG_ALL}"},
}

_FIELD_COLUMNS_SQL = ",\n    ".join(column_sql(f) for f in schema.FIELDS)
DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    {_FIELD_COLUMNS_SQL},
    content_hash TEXT NOT NULL,
    tokens TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_kind ON docs(kind);
CREATE TABLE IF NOT EXISTS vec_text (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vec_image (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vlog (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER NOT NULL,
                                 {ADDABLE_COLUMNS["vlog"]["what"]});
"""

_FIELD_NAMES = tuple(schema.FILTER_FIELDS)
#: What the in-memory view reads of each row: rowid, the fields in ``schema.FIELDS`` order,
#: the tokens.
FILTER_SELECT = f"SELECT rowid, {', '.join(_FIELD_NAMES)}, tokens FROM docs"
TOKENS_AT = 1 + len(_FIELD_NAMES)

#: What a document is read back from (``row_doc``), the vector blobs after it.
_HEAD = ("id", "content_hash", "source", "tokens")
DOC_COLUMNS = ", ".join(f"d.{c}" for c in (*_HEAD, *_FIELD_NAMES))
_N_DOC = len(_HEAD) + len(_FIELD_NAMES)
_MULTI = tuple(f.name for f in schema.FIELDS if f.multi)
DOC_SELECT = f"SELECT {DOC_COLUMNS} FROM docs d"
DOC_SELECT_VECTORS = (f"SELECT {DOC_COLUMNS}, t.v, i.v FROM docs d LEFT JOIN vec_text t ON t.rowid = d.rowid"
                      f" LEFT JOIN vec_image i ON i.rowid = d.rowid")
#: Columns written by ``upsert``, and its statements.
WRITE_COLUMNS = ("id", *_FIELD_NAMES, "content_hash", "tokens", "source")
INSERT_DOC = f"INSERT INTO docs ({', '.join(WRITE_COLUMNS)}) VALUES ({','.join('?' * len(WRITE_COLUMNS))})"
UPDATE_DOC = f"UPDATE docs SET {', '.join(c + ' = ?' for c in WRITE_COLUMNS[1:])} WHERE rowid = ?"

#: Told of a document's stored vectors that cannot be used: (doc id, field, why).
NoteVector = Callable[[str, str, str], None]


def doc_row(d: IndexDoc) -> tuple[Any, ...]:
    """A document as the values of ``WRITE_COLUMNS``."""
    fields = (encode_values(getattr(d, name)) if name in _MULTI else getattr(d, name) for name in _FIELD_NAMES)
    return (d.id, *fields, d.content_hash, " ".join(d.tokens), dumps_source(d.source))


def _doc_maker() -> Callable[..., IndexDoc]:
    """The constructor ``row_doc`` calls, generated from the field table (as ``dataclasses``
    generates ``__init__``): naming the fields at run time (a dict per row) took twice as
    long, and ``get`` builds ~60 documents per query."""
    args = "".join(f", {name}=" + (f"decode(r[{i}])" if name in _MULTI else f"r[{i}]")
                   for i, name in enumerate(_FIELD_NAMES, start=len(_HEAD)))
    code = (f"def make(r, source, text_vector=None, image_vectors=()):\n"
            f"    return IndexDoc(id=r[0], content_hash=r[1], source=source, tokens=r[3].split(){args},\n"
            f"                    text_vector=text_vector, image_vectors=image_vectors)\n")
    scope: dict[str, Any] = {"IndexDoc": IndexDoc, "decode": decode_values}
    exec(code, scope)   # noqa: S102 - code built from the field table above, no outside input
    return scope["make"]


_make_doc = _doc_maker()


def row_doc(r: Sequence[Any], dims: dict[str, int] | None = None, note: NoteVector | None = None) -> IndexDoc:
    """A document from a row of ``DOC_SELECT``, or of ``DOC_SELECT_VECTORS`` with the index's
    ``dims`` (which say where one vector of a blob ends); damaged vectors are left out and
    told to ``note``."""
    if dims is not None and len(r) > _N_DOC:
        text = blob_vectors(r[0], "text", r[_N_DOC], dims, note)
        return _make_doc(r, source(r[0], r[2]), text[0] if text else None,
                         blob_vectors(r[0], "image", r[_N_DOC + 1], dims, note))
    return _make_doc(r, source(r[0], r[2]))


def blob_vectors(doc_id: str, field: str, blob: bytes | None, dims: dict[str, int], note: NoteVector | None
                 ) -> tuple[np.ndarray, ...]:
    """One document's stored vectors of one field, or none if they are damaged (then told to
    ``note``, and never handed out): the checks of ``vectors.decode_vectors``, for one
    document (3x faster)."""
    if blob is None:
        return ()
    dim = int(dims.get(field) or 0)
    size = 4 * dim if dim else len(blob)
    problem = blob_problem(blob, size, schema.MAX_VECTORS[field])
    if problem is None:
        block = np.frombuffer(blob, dtype=np.float32).reshape(-1, size // 4)
        ok = schema.valid_rows(block)
        if ok.all():
            return tuple(block.copy())
        problem = f"stored vector {schema.vector_problem(block[int(np.argmin(ok))], None)}"
    if note is not None:
        note(doc_id, field, problem)
    return ()


# -- errors -------------------------------------------------------------------------------
class IndexCorruptError(StoreError):
    """The database file cannot be read as an index (damaged pages, not a database, no
    readable ``CURRENT``): it must be rebuilt from the catalog (``dupe index`` does so by
    itself). ``reason`` is what is wrong, without advice."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


#: SQLite's primary result codes of damaged bytes, as opposed to a database that is busy,
#: locked, read-only or full, which may answer later.
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_IOERR})


class DamagedValue(sqlite3.DatabaseError):
    """A stored value that does not decode (``meta``): damage, though SQLite saw none."""


def is_damage(e: sqlite3.Error) -> bool:
    """Whether an SQLite error means damaged bytes: by its result code (the low byte of an
    extended code) when SQLite gave one, never by its message; without a code, only a
    stored text that is not UTF-8 (``is_undecodable``) or a value that does not decode
    (``DamagedValue``). A closed connection, a constraint or a wrong call is a bug or a
    race, not a reason to rebuild the index."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in DAMAGE_CODES
    return isinstance(e, DamagedValue) or is_undecodable(e)


def is_undecodable(e: sqlite3.Error) -> bool:
    """Whether reading rows failed on a stored text that is not UTF-8 (Python's sqlite3
    module raises it, so it carries no SQLite result code)."""
    return isinstance(e, sqlite3.OperationalError) and getattr(e, "sqlite_errorcode", None) is None


def corrupt(path: Path, e: object) -> IndexCorruptError:
    return IndexCorruptError(f"index at {path} is corrupt ({e}): rebuild it (dupe index CATALOG_DIR rebuilds "
                             f"a corrupt index by itself)", f"damaged database ({e})")


def store_error(path: Path, e: sqlite3.Error) -> StoreError:
    """The ``StoreError`` an SQLite error on the index at ``path`` is."""
    if is_damage(e):
        return corrupt(path, e)
    return StoreError(f"index at {path} cannot be used right now ({e})")


# -- connecting and migrations ----------------------------------------------------------------
@contextlib.contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
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


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE``), rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def add_missing_columns(conn: sqlite3.Connection) -> None:
    """Add the ``ADDABLE_COLUMNS`` an index created by an earlier version lacks. Checked
    again inside a write transaction, so two processes opening the index at once add each
    column once (the second waits for the first, then finds nothing to do)."""
    def missing() -> list[tuple[str, str]]:
        out = []
        for table, columns in ADDABLE_COLUMNS.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            out += [(table, sql) for name, sql in columns.items() if name not in have]
        return out
    if not missing():
        return
    with immediate(conn):
        for table, sql in missing():
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {sql}")


def upgrade_schema(conn: sqlite3.Connection) -> None:
    """Record the current schema version in an index of one this store reads as it is
    (``UPGRADABLE_SCHEMAS``); checked again inside the write transaction, as in
    ``add_missing_columns``, so two processes opening it at once both succeed."""
    with immediate(conn):
        conn.execute(f"UPDATE meta SET value = ? WHERE key = 'schema_version' AND value IN "
                     f"({','.join('?' * len(UPGRADABLE_SCHEMAS))})",
                     (str(schema.SCHEMA_VERSION), *map(str, sorted(UPGRADABLE_SCHEMAS))))


def connect(db_file: Path, where: Path) -> sqlite3.Connection:
    """The writing connection to ``db_file`` (of the index at ``where``), its tables created
    or brought up to this version. Raises ``StoreError`` (``IndexCorruptError`` for damage)."""
    conn = None
    try:
        conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        cols = {r[1] for r in conn.execute("PRAGMA table_info(docs)")}
        if cols and "text_vector" in cols:
            raise StoreError(f"index at {where} was built by an older version of this program: "
                             f"rebuild it (dupe index CATALOG_DIR --rebuild)")
        conn.executescript(DDL)
        add_missing_columns(conn)
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(schema.SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('layout', ?)", (str(LAYOUT_VERSION),))
        elif int(version[0]) in UPGRADABLE_SCHEMAS:
            upgrade_schema(conn)
        elif int(version[0]) != schema.SCHEMA_VERSION:
            raise StoreError(f"index at {where} has schema version {version[0]}, this program "
                             f"needs {schema.SCHEMA_VERSION}: rebuild it (dupe index --rebuild)")
        return conn
    except (sqlite3.Error, StoreError) as e:
        if conn is not None:
            conn.close()
        if isinstance(e, StoreError):
            raise
        raise store_error(where, e) from None


def reader(db_file: Path, where: Path) -> sqlite3.Connection:
    """A read-only connection to ``db_file`` (of the index at ``where``)."""
    try:
        conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA query_only=1")
        conn.execute("PRAGMA cache_size=-32768")
    except sqlite3.Error as e:
        raise StoreError(f"index at {where} is unreadable ({e})") from None
    return conn


# -- meta and the change log --------------------------------------------------------------------
#: Log entries kept; a reader further behind rebuilds its view from scratch.
VLOG_KEEP = 2_000_000
VLOG_PRUNE_STEP = 10_000


def meta(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    try:
        return None if row is None else json.loads(row[0])
    except (ValueError, TypeError):
        raise DamagedValue(f"the stored value of {key!r} is damaged") from None


def set_meta(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, json.dumps(value, sort_keys=True)))


def bump_generation(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                 "DO UPDATE SET value = CAST(value AS INTEGER) + 1")


def log_position(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(last log entry, entries pruned up to, generation)."""
    seq = conn.execute("SELECT max(seq) FROM vlog").fetchone()[0] or 0
    return seq, int(meta(conn, "vlog_pruned") or 0), int(meta(conn, "generation") or 0)


def log_change(conn: sqlite3.Connection, rowid: int, what: int) -> None:
    conn.execute("INSERT INTO vlog (rid, what) VALUES (?, ?)", (rowid, what))


def changed_since(conn: sqlite3.Connection, after: int, upto: int) -> dict[int, int]:
    """Rows logged after ``after`` up to ``upto``: rowid -> what changed (``LOG_*`` bits)."""
    out: dict[int, int] = {}
    for rid, what in conn.execute("SELECT rid, what FROM vlog WHERE seq > ? AND seq <= ?", (after, upto)):
        out[rid] = out.get(rid, 0) | what
    return out


def prune_log(c: sqlite3.Connection) -> None:
    """Keep the last ``VLOG_KEEP`` log entries (pruning in steps of ``VLOG_PRUNE_STEP``)."""
    cut = (c.execute("SELECT max(seq) FROM vlog").fetchone()[0] or 0) - VLOG_KEEP
    if cut <= 0:
        return
    pruned = int(meta(c, "vlog_pruned") or 0)
    if cut - pruned >= VLOG_PRUNE_STEP:
        c.execute("DELETE FROM vlog WHERE seq <= ?", (cut,))
        set_meta(c, "vlog_pruned", cut)


# -- rows ---------------------------------------------------------------------------------------
def chunks(xs: list, n: int = 500) -> Iterator[list]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def marks(n: int) -> str:
    return ",".join("?" * n)


def ids_of(conn: sqlite3.Connection, rowids: Sequence[int]) -> dict[int, str]:
    """rowid -> document id of these rows (rows gone are left out)."""
    out: dict[int, str] = {}
    for chunk in chunks([int(r) for r in rowids]):
        out.update(conn.execute(f"SELECT rowid, id FROM docs WHERE rowid IN ({marks(len(chunk))})", chunk).fetchall())
    return out


def rowids_of(conn: sqlite3.Connection, ids: Sequence[str]) -> list[int]:
    """The rowids of these document ids (ids absent are left out)."""
    out: list[int] = []
    for chunk in chunks(list(ids)):
        out += [r for (r,) in conn.execute(f"SELECT rowid FROM docs WHERE id IN ({marks(len(chunk))})", chunk)]
    return out


def stored_count(conn: sqlite3.Connection, name: str, dim: int) -> int:
    """How many vectors of one field SQLite holds (from the blobs' sizes, not their bytes)."""
    rows, size = conn.execute(f"SELECT count(*), coalesce(sum(length(v)), 0) FROM vec_{name}").fetchone()
    return int(size) // (4 * dim) if dim else int(rows)


def vec_blob(vectors: Sequence[np.ndarray]) -> bytes | None:
    """A document's vectors of one field as stored: one after another (None: it has none)."""
    if not vectors:
        return None
    return b"".join(np.asarray(v, dtype=np.float32).tobytes() for v in vectors)


def blob_problem(blob: bytes | None, size: int, slots: int) -> str | None:
    """Why a stored blob is not 1 to ``slots`` vectors of ``size`` bytes (None: it is)."""
    n = len(blob or b"")
    if blob is not None and size > 0 and n % size == 0 and 0 < n <= size * slots:
        return None
    return f"stored vector has {n} bytes, not {size}" + (f" to {size * slots}" if slots > 1 else "")


_LONG_DIGITS = re.compile(r"[0-9]{19}")


def dumps_source(source: dict[str, Any]) -> str:
    """A source as stored. orjson reads it back (``loads``) unless it holds a run of 19
    digits, where orjson would differ from json (integers beyond 64 bits become floats):
    those are stored with a leading space (still JSON), read by json."""
    text = json.dumps(source, ensure_ascii=False)
    return " " + text if _LONG_DIGITS.search(text) else text


def loads(text: str) -> Any:
    """A stored source: orjson (json.loads took a tenth of a text query at 100k products),
    json where orjson would differ (see ``dumps_source``; orjson also refuses NaN)."""
    if not text.startswith(" "):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def source(doc_id: str, text: str) -> dict[str, Any]:
    """A stored source, decoded; damaged bytes raise ``CorruptRecordError``."""
    try:
        value = loads(text)
    except (ValueError, RecursionError):
        raise CorruptRecordError(doc_id, "its stored source is not valid JSON") from None
    if not isinstance(value, dict):
        raise CorruptRecordError(doc_id, "its stored source is not a JSON object")
    return value


def raise_undecodable(conn: sqlite3.Connection, query: str, args: Sequence[Any]) -> None:
    """Raise ``CorruptRecordError`` for the document whose stored text is not UTF-8 (the
    query of ``DOC_COLUMNS`` failed on it as a whole): ``dupe index`` writes that one again."""
    conn.text_factory = bytes
    try:
        for row in conn.execute(query, args):
            for value in row[1:_N_DOC]:     # not the vectors
                if isinstance(value, bytes):
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError:
                        raise CorruptRecordError(row[0].decode("utf-8", "replace"),
                                                 "a stored text is not valid UTF-8") from None
    finally:
        conn.text_factory = str


_TEXT_COLUMNS = ("content_hash", "tokens", *(f.name for f in schema.FIELDS if f.type == "keyword" and f.name != "kind"))


def damaged_texts(conn: sqlite3.Connection) -> tuple[dict[str, str], dict[int, str]]:
    """Documents of ``conn`` (reading text as bytes) whose texts cannot be read back whole
    (id -> why), and rowid -> id of every document. A damaged id or kind raises
    ``UnicodeDecodeError``: the index cannot be trusted."""
    out: dict[str, str] = {}
    rowid_of: dict[int, str] = {}
    cur = conn.execute(f"SELECT rowid, id, kind, source, {', '.join(_TEXT_COLUMNS)} FROM docs")
    while rows := cur.fetchmany(5000):
        for rowid, raw_id, kind, text, *texts in rows:
            doc_id = raw_id.decode("utf-8")
            kind.decode("utf-8")
            rowid_of[rowid] = doc_id
            try:
                for t in texts:
                    if t is not None:
                        t.decode("utf-8")
                source(doc_id, text.decode("utf-8"))
            except UnicodeDecodeError:
                out[doc_id] = "a stored text is not valid UTF-8"
            except CorruptRecordError as e:
                out[doc_id] = e.reason
    return out, rowid_of
