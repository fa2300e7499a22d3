"""The embedded store against the shared contract, plus what only it promises."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from search.store import schema
from search.store.base import Filters, IndexDoc, StoreError
from search.store.embedded import EmbeddedStore, knn, view
from search.store.embedded.vectors import usearch
from tests.store_contract import DIMS, MODELS, StoreContract, basis, catalog_docs, doc, unit


@pytest.fixture
def make_store(tmp_path):
    opened = []

    def make(name: str = "default"):
        s = EmbeddedStore(tmp_path / name)
        opened.append(s)
        return s
    yield make
    for s in opened:
        s.close()


class TestEmbeddedStore(StoreContract):
    pass


class TestEmbeddedStoreOnGraphs(StoreContract):
    """The contract again with every vector field in an HNSW graph (``ann_min=1``) and every
    filtered kNN searching the graph (oversampled, then filtered) instead of the exact
    search over the few documents a filter leaves."""

    @pytest.fixture
    def make_store(self, tmp_path, monkeypatch):
        monkeypatch.setattr(knn, "EXACT_SUBSET_MAX", 0)
        opened = []

        def make(name: str = "default"):
            s = EmbeddedStore(tmp_path / name, ann_min=1)
            opened.append(s)
            return s
        yield make
        for s in opened:
            s.close()

    def test_filtered_knn_runs_on_the_graphs(self, store):
        store.upsert(catalog_docs())
        f = Filters(dupe_of=("bp-align", "bp-diamond"), labels=("same_foundry",))
        assert {h.id for h in store.knn("text", unit(np.ones(8)), 10, f)} == {"p1", "p3"}
        assert {h.id for h in store.knn("image", unit(np.ones(6)), 10, f)} == {"p1", "p3"}
        assert all(f.graph for f in store.describe().fields.values())


def test_the_field_table_names_document_and_filter_attributes():
    """Every row of ``schema.FIELDS`` is an ``IndexDoc`` attribute filtered by ``Filters``
    attributes, and every ``Filters`` attribute but ``ids`` filters a row: what the masks,
    the columns and the Elasticsearch clauses are derived from."""
    from dataclasses import fields
    doc_attrs, filter_attrs = {f.name for f in fields(IndexDoc)}, {f.name for f in fields(Filters)}
    named = [a for f in schema.FIELDS for a in f.filters]
    assert {f.name for f in schema.FIELDS} <= doc_attrs
    assert len(named) == len(set(named)) and set(named) == filter_attrs - {"ids"}
    assert all(f.multi == (f.name in schema.MULTI_VALUED) and (f.type == "keyword" or not f.multi)
               for f in schema.FIELDS)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no index at"):
        EmbeddedStore(tmp_path / "nothing", create=False)


def test_corrupt_index_is_a_clear_error(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "CURRENT").write_text("index-1.sqlite\n")
    (folder / "index-1.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        EmbeddedStore(folder, create=False)
    writer = EmbeddedStore(folder)        # a writer opens it (to rebuild it); any other use says why it cannot
    with pytest.raises(StoreError, match="corrupt"):
        writer.info()


def test_second_connection_sees_commits_of_the_first(tmp_path):
    writer = EmbeddedStore(tmp_path / "i")
    reader = EmbeddedStore(tmp_path / "i", create=False)
    writer.set_models(MODELS, DIMS)
    writer.upsert(catalog_docs()[:1])
    assert [h.id for h in reader.knn("text", catalog_docs()[0].text_vector, 1)] == ["p1"]
    writer.upsert(catalog_docs()[1:3])
    assert reader.info().count == 3
    assert len(reader.knn("text", catalog_docs()[0].text_vector, 10)) == 3   # vector cache refreshed


def test_reader_follows_a_rebuild_by_another_connection(tmp_path):
    writer = EmbeddedStore(tmp_path / "i")
    writer.set_models(MODELS, DIMS)
    writer.upsert(catalog_docs())
    reader = EmbeddedStore(tmp_path / "i", create=False)
    assert reader.info().count == 5
    with writer.rebuilding() as fresh:
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs()[:2])
    assert reader.info().count == 2
    assert len(list((tmp_path / "i").glob("index-*.sqlite"))) == 1

    with writer.rebuilding() as fresh:            # and the next one (CURRENT is checked by stat)
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs()[:4])
    assert reader.info().count == 4


def test_sources_beyond_what_orjson_reads_come_back_whole(tmp_path):
    from dataclasses import replace
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    doc = catalog_docs()[0]
    source = {**doc.source, "big": 2 ** 70 + 1, "nan": float("nan"), "zh": "露露乐蒙"}
    s.upsert([replace(doc, source=source)])
    got = s.get([doc.id], vectors=False)[0].source
    assert got["big"] == 2 ** 70 + 1 and type(got["big"]) is int
    assert got["nan"] != got["nan"] and got["zh"] == "露露乐蒙"
    s.close()


def test_corruption_after_open_is_a_store_error(tmp_path):
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    db = next((tmp_path / "i").glob("index-*.sqlite"))
    s.close()
    reader = EmbeddedStore(tmp_path / "i", create=False)
    with open(db, "r+b") as f:          # scribble over the pages behind the header
        f.seek(4096)
        f.write(b"\x00garbage" * 4096)
    for wal in (tmp_path / "i").glob("*-wal"):
        wal.write_bytes(b"")
    with pytest.raises(StoreError, match="rebuild"):
        for _ in range(3):
            reader.bm25(["yoga"], 5)
            reader.get(["p1", "p2"])
            reader.knn("text", catalog_docs()[0].text_vector, 3)


def test_dupe_of_and_label_filters_on_graphs_match_exact_search(tmp_path, monkeypatch):
    """At a size where the graphs matter: selective filters (exact over the documents left),
    broad ones (graph, oversampled, post-filtered) and, forced, selective ones on the graph
    (oversampling, then the exact fallback)."""
    from tests.test_ann import ANN_MIN, N, clustered, exact_many, make_docs, recall
    vecs = clustered(N)
    docs = make_docs(vecs)
    for i, d in enumerate(docs):
        d.dupe_of = [f"bp-{i % 40}", "bp-popular"] if i % 3 == 0 else [f"bp-{i % 40}"]
        d.labels = ["same_foundry", f"same_foundry:b{i % 5}"]
    s = EmbeddedStore(tmp_path / "idx", ann_min=ANN_MIN)
    s.set_models(MODELS, {"text": vecs.shape[1], "image": vecs.shape[1]})
    s.upsert(docs)
    held = {"text": {d.id: d.text_vector for d in docs},
            "image": {d.id: d.image_vector for d in docs if d.image_vector is not None}}
    by_id = {d.id: d for d in docs}
    rng = np.random.default_rng(4)
    queries = vecs[rng.integers(0, N, 20)]
    cases = [Filters(dupe_of=("bp-3",)),                                              # 40 documents
             Filters(dupe_of=("bp-popular", "bp-1", "bp-2")),                          # ~40%
             Filters(dupe_of=("bp-popular", "bp-1"), labels=("same_foundry:b1", "same_foundry:b2")),
             Filters(labels=("same_foundry:b0", "same_foundry:b1", "same_foundry:b2")),   # 60%
             Filters(dupe_of=("bp-nothing",))]

    def keep(f: Filters):
        return lambda i: (not f.dupe_of or bool(set(f.dupe_of) & set(by_id[i].dupe_of))) and \
            (not f.labels or bool(set(f.labels) & set(by_id[i].labels)))

    def check() -> None:
        for field, vectors in held.items():
            qs = queries if field == "text" else queries[:, ::-1].copy()
            for f in cases:
                got = [[h.id for h in s.knn(field, q, 10, f)] for q in qs]
                assert all(keep(f)(i) for g in got for i in g), (field, f)
                assert recall(got, exact_many(vectors, qs, 10, keep(f))) >= 0.98, (field, f)
    check()
    assert all(f.graph for f in s.describe().fields.values())
    monkeypatch.setattr(knn, "EXACT_SUBSET_MAX", 10)
    check()
    s.close()


# -- indexes created by an earlier version -------------------------------------------------
def _drop_docs_column(folder: Path, column: str) -> Path:
    """Make the index look as an earlier version left it: without ``column``."""
    db = next(folder.glob("index-*.sqlite"))
    conn = sqlite3.connect(db)
    conn.execute(f"ALTER TABLE docs DROP COLUMN {column}")
    conn.commit()
    conn.close()
    return db


def _open_in_processes(folder: Path, n: int) -> list[subprocess.CompletedProcess]:
    """Open the index in ``n`` processes at (nearly) the same moment."""
    start = time.time() + 3
    code = ("import sys, time\n"
            "from search.store.embedded import EmbeddedStore\n"
            "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
            "EmbeddedStore(sys.argv[1], create=False).close()\n"
            "print('ok')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(folder), str(start)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
             for _ in range(n)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=60), *p.communicate()) for p in procs]


@pytest.mark.slow
def test_an_index_without_the_dupe_of_column_gets_it_on_open(tmp_path):
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    s.close()
    db = _drop_docs_column(tmp_path / "i", "dupe_of")
    for done in _open_in_processes(tmp_path / "i", 3):          # each adds it, or finds it added
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    conn = sqlite3.connect(db)
    assert [r[1] for r in conn.execute("PRAGMA table_info(docs)")].count("dupe_of") == 1
    conn.close()

    old = EmbeddedStore(tmp_path / "i", create=False)
    assert old.get(["p1"])[0].dupe_of == []                    # until the product is indexed again
    assert old.bm25(["yoga"], 10, Filters(dupe_of=("bp-align",))) == []
    assert {h.id for h in old.bm25(["yoga"], 10, Filters(labels=("same_foundry:lululemon",)))} == {"p1"}
    writer = EmbeddedStore(tmp_path / "i")
    writer.upsert(catalog_docs())
    assert {h.id for h in old.knn("text", unit(np.ones(8)), 10, Filters(dupe_of=("bp-align",)))} == {"p1", "p2"}
    writer.close()
    old.close()


def test_a_saved_view_without_the_dupe_of_column_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setattr(view, "VIEW_SAVE_MIN", 3)
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    s.warm()
    s.close()
    (saved,) = (tmp_path / "i").glob("*.view.s*.npz")
    with np.load(saved) as data:                                # as an earlier version saved it
        arrays = {k: data[k] for k in data.files if k != "s_dupe_of"}
    vocab = json.loads(arrays["vocab"].tobytes().decode())
    del vocab["dupe_of"]
    arrays["vocab"] = np.frombuffer(json.dumps(vocab).encode(), dtype=np.uint8)
    np.savez(saved, **arrays)
    _drop_docs_column(tmp_path / "i", "dupe_of")

    old = EmbeddedStore(tmp_path / "i", create=False)
    assert {h.id for h in old.bm25(["yoga", "leggings"], 10, Filters(category="leggings", moq_max=10))} == {"p1"}
    assert old.bm25(["yoga"], 10, Filters(dupe_of=("bp-align",))) == []
    with np.load(saved) as data:
        assert "s_dupe_of" in data.files                        # saved again, whole
    old.upsert(catalog_docs()[:1])
    assert [h.id for h in old.bm25(["yoga"], 10, Filters(dupe_of=("bp-align",)))] == ["p1"]
    old.close()


@pytest.mark.slow
def test_an_index_of_schema_version_1_opens_searches_and_takes_more_images(tmp_path):
    """Version 1 stored one image vector per document: the same blob and graph key as a
    list of one now, so such an index is read as it is (saved graphs included) and records
    the current version on open, which an older program then refuses."""
    s = EmbeddedStore(tmp_path / "i", ann_min=1)
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    s.warm()                                                     # graphs saved beside it
    s.close()
    db = next((tmp_path / "i").glob("index-*.sqlite"))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    for done in _open_in_processes(tmp_path / "i", 3):          # each records it, or finds it recorded
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
        (str(schema.SCHEMA_VERSION),)]
    conn.close()

    old = EmbeddedStore(tmp_path / "i", create=False, ann_min=1)
    assert [h.id for h in old.knn("image", unit(basis(6, 1)), 1)] == ["p2"]
    assert old.describe().fields["image"].origin == "loaded"
    assert len(old.get(["p1"])[0].image_vectors) == 1
    writer = EmbeddedStore(tmp_path / "i", ann_min=1)
    writer.upsert([doc("m1", "enamel teapot", images=[basis(6, 3), basis(6, 4), basis(6, 5)])])
    assert old.knn("image", unit(basis(6, 5)), 1)[0].id == "m1"
    writer.close()
    old.close()


def test_a_graph_that_misses_nodes_still_answers_a_selective_filter_exactly(tmp_path, monkeypatch):
    """HNSW search does not reach every node: asked for all entries it can return fewer. A
    selective filter whose documents the graph did not return falls back to exact search
    (it used to return what the graph gave)."""
    from tests.test_ann import ANN_MIN, N, clustered, exact_many, make_docs, recall
    vecs = clustered(N)
    docs = make_docs(vecs)
    for i, d in enumerate(docs):
        d.dupe_of = ["bp-few"] if i % 40 == 0 else ["bp-other"]
    s = EmbeddedStore(tmp_path / "idx", ann_min=ANN_MIN)
    s.set_models(MODELS, {"text": vecs.shape[1], "image": vecs.shape[1]})
    s.upsert(docs)
    s.knn("text", vecs[0], 1)
    assert s.describe().fields["text"].graph
    graph_class = usearch().Index
    real_search = graph_class.search

    class Half:
        """The graph's answer with every other entry missing."""
        def __init__(self, found):
            self.keys = np.asarray(found.keys)[::2]

    monkeypatch.setattr(knn, "EXACT_SUBSET_MAX", 10)
    monkeypatch.setattr(graph_class, "search", lambda graph, q, count, **kw: Half(real_search(graph, q, count, **kw)))
    f = Filters(dupe_of=("bp-few",))
    held = {d.id: d.text_vector for d in docs}
    few = {d.id for d in docs if d.dupe_of == ["bp-few"]}
    qs = vecs[:5]
    got = [[h.id for h in s.knn("text", q, 10, f)] for q in qs]
    assert recall(got, exact_many(held, qs, 10, lambda i: i in few)) == 1.0
    s.close()


def test_an_index_without_the_certifications_column_gets_it_and_reads_as_before(tmp_path):
    """A new field of ``schema.FIELDS`` on an index built before it: the column is added on
    open, old rows read as having no value (its filter matches nothing until the product is
    written again), and everything else answers as before."""
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    s.close()
    _drop_docs_column(tmp_path / "i", "certifications")
    old = EmbeddedStore(tmp_path / "i", create=False)
    assert old.get(["p1"])[0].certifications == [] and old.get(["p1"])[0].dupe_of == ["bp-align"]
    assert old.bm25(["yoga"], 10, Filters(certifications=("ISO 9001",))) == []
    assert {h.id for h in old.bm25(["yoga"], 10, Filters(dupe_of=("bp-align",)))} == {"p1", "p2"}
    writer = EmbeddedStore(tmp_path / "i")
    writer.upsert(catalog_docs())
    assert {h.id for h in old.knn("text", unit(np.ones(8)), 10, Filters(certifications=("ISO 9001",)))} == {"p1", "p3"}
    writer.close()
    old.close()


def test_multi_valued_columns_written_by_earlier_versions_read_as_before(tmp_path):
    """Earlier versions stored a list as ids between spaces (" a b "): such rows read back
    and filter as they did, next to rows written now (values holding spaces)."""
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    s.close()
    conn = sqlite3.connect(next((tmp_path / "i").glob("index-*.sqlite")))
    conn.execute("UPDATE docs SET labels = ' same_foundry same_foundry:lululemon ', dupe_of = '  ' WHERE id = 'p1'")
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    conn.commit()
    conn.close()
    old = EmbeddedStore(tmp_path / "i", create=False)
    p1, p3 = old.get(["p1", "p3"])
    assert (p1.labels, p1.dupe_of, p3.certifications) == (["same_foundry", "same_foundry:lululemon"], [],
                                                          ["CE", "ISO 9001"])
    assert {h.id for h in old.bm25(["yoga", "toothbrush"], 10, Filters(labels=("same_foundry:lululemon",)))} == {"p1"}
    assert {h.id for h in old.bm25(["yoga"], 10, Filters(dupe_of=("bp-align",)))} == {"p2"}
    old.close()


def test_damage_is_told_from_a_busy_database_by_sqlites_result_code(tmp_path):
    """``IndexCorruptError`` (rebuild) for damaged bytes, a plain ``StoreError`` (try again)
    for a database that is busy: decided by SQLite's result code, not by the message."""
    from search.store.embedded import IndexCorruptError, sqlite as db
    busy_db = tmp_path / "busy.sqlite"
    holder = sqlite3.connect(busy_db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(busy_db, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as busy:
        waiter.execute("SELECT * FROM t").fetchall()
    holder.execute("ROLLBACK")
    not_a_db = tmp_path / "junk.sqlite"
    not_a_db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError) as junk:
        sqlite3.connect(not_a_db).execute("SELECT * FROM sqlite_master").fetchall()
    text = sqlite3.connect(":memory:")
    text.execute("CREATE TABLE t (x TEXT)")
    text.execute("INSERT INTO t VALUES (CAST(x'ff00' AS TEXT))")
    with pytest.raises(sqlite3.OperationalError) as undecodable:
        text.execute("SELECT x FROM t").fetchall()
    assert not db.is_damage(busy.value) and db.is_damage(junk.value) and db.is_damage(undecodable.value)
    assert db.is_undecodable(undecodable.value) and not db.is_undecodable(busy.value)
    assert type(db.store_error(tmp_path, busy.value)) is StoreError
    assert isinstance(db.store_error(tmp_path, junk.value), IndexCorruptError)
    worded = sqlite3.OperationalError("database disk image is malformed")       # words of damage, code of busy
    worded.sqlite_errorcode = sqlite3.SQLITE_BUSY
    assert not db.is_damage(worded)
    disk = sqlite3.OperationalError("whatever the message")
    disk.sqlite_errorcode = sqlite3.SQLITE_IOERR | (3 << 8)                        # an extended I/O error code
    assert db.is_damage(disk)
    closed = sqlite3.connect(":memory:")
    closed.close()
    with pytest.raises(sqlite3.ProgrammingError) as race:                         # a reader met close()
        closed.execute("SELECT 1")
    with pytest.raises(sqlite3.IntegrityError) as constraint:
        text.execute("CREATE TABLE u (k PRIMARY KEY)")
        text.execute("INSERT INTO u VALUES (1), (1)")
    assert not db.is_damage(race.value) and not db.is_damage(constraint.value)
    assert type(db.store_error(tmp_path, race.value)) is StoreError
    assert db.is_damage(db.DamagedValue("the stored value of 'dims' is damaged"))
