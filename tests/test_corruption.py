"""Damaged index files (issue 18, item 6): what is read back is checked, ``/health`` tells
the truth, and ``dupe index`` repairs what it finds.

Before: a stored source that was not JSON gave a 500 on ``/products/<id>``; 64 flipped
bytes made every search 503 while ``/health`` said 200 and ``dupe index`` said "unchanged"
(or failed); one stored vector of 1e30 was the top result of every query; an empty
``CURRENT`` advised ``--rebuild``, which failed with the same error."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from indexer.cli import main as dupe
from indexer.pipeline import Indexer
from search.store.base import CorruptRecordError, StoreError
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, indexed_tiny_catalog, tiny_catalog
from tests.fault_tools.catalog_gen import make_catalog
from web import create_app


@pytest.fixture
def built(tmp_path) -> tuple[Path, Path]:
    return indexed_tiny_catalog(tmp_path)


def client(index: Path, cat: Path, tmp_path: Path):
    return create_app({"TESTING": True, "INDEX_DIR": str(index), "CATALOG_DIR": str(cat), "OCR": False,
                       "UPLOAD_DIR": str(tmp_path / "uploads"), "ANON_RATE_LIMIT_PER_MIN": 100_000}).test_client()


def reindex(index: Path, cat: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(dupe, ["index", str(cat), "--index-dir", str(index), *args])
    assert not (res.exception and not isinstance(res.exception, SystemExit)), res.output
    return res.exit_code, res.output


def db_of(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip()


def sql(index: Path, query: str, *args) -> None:
    conn = sqlite3.connect(db_of(index))
    conn.execute(query, args)
    conn.commit()
    conn.close()


def reindexed(index: Path, cat: Path):
    store = EmbeddedStore(index)
    report = Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    return store, report


# -- a damaged stored source ------------------------------------------------------------------
@pytest.mark.parametrize("damage", ['{"id": "p1", broken', "[1, 2]", "CAST(x'7b22ff22' AS TEXT)"])
def test_a_damaged_source_is_a_store_error_a_503_and_is_written_again(built, fake_models, tmp_path, damage):
    cat, index = built
    if damage.startswith("CAST"):          # bytes that are not UTF-8
        sql(index, f"UPDATE docs SET source = {damage} WHERE id = 'product:p1'")
    else:
        sql(index, "UPDATE docs SET source = ? WHERE id = 'product:p1'", damage)
    store = EmbeddedStore(index, create=False)
    with pytest.raises(StoreError):
        store.get(["product:p1"])
    assert store.get(["product:p2"])[0] is not None
    c = client(index, cat, tmp_path)
    resp = c.get("/api/v1/products/p1")                                    # before: 500
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "index_unavailable"
    assert "product:p1" in resp.get_json()["error"]["message"]
    assert c.get("/api/v1/products/p2").status_code == 200
    health = c.get("/api/v1/health")
    if not damage.startswith("CAST"):      # undecodable text fails as a damaged database: a 503
        assert health.status_code == 200 and health.get_json()["status"] == "degraded"
        assert any("product:p1" in p for p in health.get_json()["problems"])
    writer, report = reindexed(index, cat)
    assert report.repaired == 1 and "1 damaged stored record written again" in report.summary()
    assert writer.get(["product:p1"])[0].source["id"] == "p1"
    assert c.get("/api/v1/products/p1").status_code == 200
    assert c.get("/api/v1/health").get_json()["status"] == "ok"             # the note is read again
    writer.close()
    store.close()


def test_a_source_that_is_not_json_raises_the_stores_own_error(tmp_path):
    from tests.store_contract import DIMS, MODELS, catalog_docs
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    sql(tmp_path / "i", "UPDATE docs SET source = 'not json' WHERE id = 'p2'")
    with pytest.raises(CorruptRecordError, match="'p2' is damaged"):
        s.get(["p1", "p2"], vectors=False)
    assert s.verify().records == {"p2": "its stored source is not valid JSON"}
    s.close()


# -- damaged pages --------------------------------------------------------------------------------
def test_damaged_pages_fail_health_and_dupe_index_rebuilds(built, fake_models, tmp_path):
    cat, index = built
    db = db_of(index)
    data = bytearray(db.read_bytes())
    for i in range(2 * 4096, 4 * 4096):          # two pages behind the schema
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))
    c = client(index, cat, tmp_path)
    assert c.get("/api/v1/search?q=yoga").status_code == 503
    health = c.get("/api/v1/health")
    assert health.status_code == 503 and health.get_json()["error"]["code"] == "index_unavailable"   # before: 200
    code, out = reindex(index, cat)              # before: "unchanged", or an error advising --rebuild
    assert code == 0 and "the index is damaged" in out and "rebuilding it from the catalog" in out
    assert "the index was rebuilt from the catalog: it was damaged (damaged database" in out
    assert [p.name for p in index.glob("index-*.sqlite")] == [db_of(index).name] != db.name   # the damaged file gone
    c = client(index, cat, tmp_path)
    assert c.get("/api/v1/search?q=yoga").status_code == 200
    assert c.get("/api/v1/health").get_json()["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_64_flipped_bytes_are_found_and_repaired_by_dupe_index(tmp_path, seed):
    cat, index = tmp_path / "cat", tmp_path / "index"
    make_catalog(cat, 300, chinese=False)
    store = EmbeddedStore(index)
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    store.close()
    db = db_of(index)
    data = bytearray(db.read_bytes())
    rnd = random.Random(seed)
    for _ in range(64):
        data[rnd.randrange(4096, len(data))] ^= 0xFF
    db.write_bytes(bytes(data))
    store, report = reindexed(index, cat)
    assert report.rebuilt or report.repaired, report.summary()
    conn = sqlite3.connect(db_of(index))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    ids = list(store.hashes())
    assert len(ids) == 304 and all(d is not None for d in store.get(ids))
    assert store.verify().records == {} and store.health().failing is None and not store.health().problems
    q = FakeTextEmbedder().embed("yoga leggings", query=True)
    assert len(store.knn("text", q, 10)) == 10 and store.bm25(["item7"], 3)[0].id == "product:p00007"
    store.close()


# -- damaged vectors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ann_min", [None, 1])          # exact matrix, HNSW graph
@pytest.mark.parametrize("blob", ["1e30", "nan", "short"])
def test_a_damaged_vector_is_never_ranked_reported_and_repaired(built, tmp_path, ann_min, blob):
    cat, index = built
    dim = FakeTextEmbedder.dim
    value = {"1e30": np.full(dim, 1e30, dtype=np.float32).tobytes(), "short": b"\x01" * 7,
             "nan": np.full(dim, np.nan, dtype=np.float32).tobytes()}[blob]
    sql(index, "UPDATE vec_text SET v = ? WHERE rowid = (SELECT rowid FROM docs WHERE id = 'product:p3')", value)
    store = EmbeddedStore(index, create=False, ann_min=ann_min)
    text = FakeTextEmbedder()
    for q in ("yoga leggings", "sonic electric toothbrush", "water flosser", "cotton shirt"):
        hits = store.knn("text", text.embed(q, query=True), 10)          # before: p3 first every time (1e30)
        assert hits and "product:p3" not in [h.id for h in hits] and all(np.isfinite(h.score) for h in hits)
    assert store.get(["product:p3"])[0].text_vector is None               # never handed out either
    problems = store.health().problems
    assert len(problems) == 1 and "text vector of 'product:p3'" in problems[0]
    assert store.health().failing is None
    writer, report = reindexed(index, cat)
    assert report.repaired == 1 and report.texts_embedded == 2                # p3's two titles
    p3 = writer.get(["product:p3"])[0]
    assert store.knn("text", p3.text_vector, 1)[0].id == "product:p3"       # the reader follows
    assert store.health().problems == ()
    writer.close()
    store.close()


@pytest.mark.parametrize("ann_min", [None, 1])          # exact matrix, HNSW graph
def test_a_damaged_later_image_vector_keeps_the_whole_document_out_until_repaired(built, tmp_path, ann_min):
    """A product with several images whose 2nd stored vector is damaged: none of its images
    is ranked or handed out (which one is damaged is not trusted), it is reported, and
    ``dupe index`` writes it again whole."""
    cat, index = built
    image = FakeImageEmbedder()
    p3, = EmbeddedStore(index, create=False).get(["product:p3"])
    blob = p3.image_vector.tobytes() + np.full(image.dim, np.nan, dtype=np.float32).tobytes()
    sql(index, "UPDATE vec_image SET v = ? WHERE rowid = (SELECT rowid FROM docs WHERE id = 'product:p3')", blob)
    store = EmbeddedStore(index, create=False, ann_min=ann_min)
    assert "product:p3" not in {h.id for h in store.knn("image", p3.image_vector, 5)}
    assert store.get(["product:p3"])[0].image_vectors == ()
    problems = store.health().problems
    assert len(problems) == 1 and "image vector of 'product:p3'" in problems[0] and "NaN" in problems[0]
    assert store.verify().records == {"product:p3": "image stored vector has NaN or infinite values"}
    writer, report = reindexed(index, cat)
    assert report.repaired == 1 and report.images_embedded == 1
    assert store.knn("image", p3.image_vector, 1)[0].id == "product:p3" and store.health().problems == ()
    writer.close()
    store.close()


def test_vectors_are_checked_on_write(tmp_path):
    from tests.store_contract import DIMS, MODELS, doc
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    bad = doc("x", "huge", text=np.ones(8))
    bad.text_vector = np.full(8, 1e30, dtype=np.float32)
    with pytest.raises(StoreError, match="x: text vector has length"):
        s.upsert([doc("ok", "fine", text=np.ones(8)), bad])
    assert s.info().count == 0
    s.close()


def test_an_embedder_giving_a_zero_vector_does_not_fail_the_run(tmp_path):
    class Blank(FakeImageEmbedder):
        def _encode(self, model, items, query):
            return np.zeros((len(items), self.dim), dtype=np.float32)
    cat = tiny_catalog(tmp_path / "cat")
    store = EmbeddedStore(tmp_path / "index")
    report = Indexer(store, FakeTextEmbedder(), Blank()).run(cat)
    assert report.indexed == 9 and all("image not indexed: its vector is all zeros" in r.reason
                                       for r in report.rejects)
    assert store.get(["product:p1"])[0].image_vector is None and store.get(["product:p1"])[0].text_vector is not None
    store.close()


# -- CURRENT --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["empty", "garbage", "folder", "missing database"])
def test_a_bad_current_is_rebuilt_with_or_without_asking(built, fake_models, tmp_path, damage):
    cat, index = built
    current = index / "CURRENT"

    def spoil() -> None:
        if damage == "folder":
            current.unlink()
            current.mkdir()
        elif damage == "missing database":
            db_of(index).unlink()
            current.write_text("index-1.sqlite\n")
        else:
            current.write_text("" if damage == "empty" else "\x00\x01 what?\n")
    spoil()
    res = CliRunner().invoke(dupe, ["info", "--index-dir", str(index)])
    assert res.exit_code == 1 and "rebuild" in res.output                   # reading still says what to do
    code, out = reindex(index, cat, "--rebuild")                              # before: the same error again
    assert code == 0 and "indexed 9" in out, out
    assert CliRunner().invoke(dupe, ["info", "--index-dir", str(index)]).exit_code == 0
    if damage != "missing database":     # a CURRENT naming a lost file: a plain run indexes into a new one
        spoil()
        code, out = reindex(index, cat)
        assert code == 0 and "rebuilding it from the catalog" in out and "indexed 9" in out, out
    assert [p.name for p in index.glob("index-*.sqlite")] == [db_of(index).name]
    assert client(index, cat, tmp_path).get("/api/v1/health").get_json()["status"] == "ok"
