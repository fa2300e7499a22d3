"""``verify``: what the indexer checks before trusting an index (``Store.verify``).

``PRAGMA integrity_check`` (damaged pages, or indexes that disagree with their tables: the
index must be rebuilt), then every document's text columns decoded and source parsed, and
every vector checked (a damaged record: ``dupe index`` writes it again). Reads the whole
file on its own connection: ~0.7 s for 20,000 products (a tenth of a run that finds
nothing changed); ``quick_check`` would save little, and miss damaged indexes.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from search.store import schema
from search.store.base import Damage
from search.store.embedded import sqlite as db
from search.store.embedded.vectors import decode_vectors


def verify(db_file: Path, where: Path) -> Damage:
    """The damage of ``db_file`` (of the index at ``where``); never raises for damage."""
    try:
        conn = sqlite3.connect(db_file, isolation_level=None, timeout=30)
    except sqlite3.Error as e:
        return Damage(corrupt=db.corrupt(where, e).reason)
    conn.text_factory = bytes               # a damaged text is found per row, not by a failed scan
    try:
        with db.snapshot(conn):
            found = [r[0].decode("utf-8", "replace") for r in conn.execute("PRAGMA integrity_check(5)")]
            if found != ["ok"]:
                found = [f for f in found if not f.startswith("*** in database")]
                return Damage(corrupt=db.corrupt(where, "; ".join(found)).reason)
            for key, value in conn.execute("SELECT key, value FROM meta"):
                json.loads(value.decode("utf-8"))       # models, dims, generation: or rebuild
            return Damage(records=damaged_records(conn))
    except (sqlite3.Error, ValueError) as e:         # UnicodeDecodeError, JSONDecodeError
        return Damage(corrupt=db.corrupt(where, e).reason)
    finally:
        conn.close()


def damaged_records(conn: sqlite3.Connection) -> dict[str, str]:
    """Documents of ``conn`` (reading text as bytes) that cannot be read back whole: id -> why."""
    out, rowid_of = db.damaged_texts(conn)
    dims = json.loads((conn.execute("SELECT value FROM meta WHERE key = 'dims'").fetchone() or [b"{}"])[0])
    for name in schema.VECTOR_FIELDS:
        cur = conn.execute(f"SELECT rowid, v FROM vec_{name}")
        while rows := cur.fetchmany(20_000):
            for rowid, reason in decode_vectors(rows, int(dims.get(name) or 0), schema.MAX_VECTORS[name])[2]:
                if rowid in rowid_of:
                    out.setdefault(rowid_of[rowid], f"{name} {reason}")
    return out
