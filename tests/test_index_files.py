"""One writer at a time, and no files left behind (issue 18, item 5): killed or concurrent
``dupe index --rebuild`` runs left ``index-N.sqlite`` files forever (5 kills: 53 MB of
orphans next to a 33 MB index) and two concurrent rebuilds raced for the same file name.

Writers take ``<index>/LOCK`` (flock; a second writer waits, saying so); under it, database
files ``CURRENT`` does not name are removed. Readers never take the lock."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from indexer.pipeline import Indexer
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, tiny_catalog
from tests.fault_tools.catalog_gen import make_catalog
from tests.fault_tools.procs import Child

INDEXER = "tests.fault_tools.run_indexer"


def index_files(index: Path) -> list[str]:
    """The database files and their companions (not CURRENT, LOCK, -wal, -shm)."""
    return sorted(p.name for p in index.iterdir() if p.name.startswith("index-")
                  and not p.name.endswith(("-wal", "-shm")))


def live(index: Path) -> str:
    return (index / "CURRENT").read_text().strip()


def run(store, catalog: Path, **kw):
    return Indexer(store, FakeTextEmbedder(), FakeImageEmbedder(), **{k: v for k, v in kw.items() if k == "say"}
                   ).run(catalog, rebuild=kw.get("rebuild", False))


@pytest.fixture
def catalog(tmp_path) -> Path:
    return tiny_catalog(tmp_path / "cat")


def test_files_of_an_unfinished_rebuild_are_removed_by_the_next_run(catalog, tmp_path):
    index = tmp_path / "index"
    store = EmbeddedStore(index)
    run(store, catalog)
    good = (index / live(index)).read_bytes()
    # What a rebuild killed midway leaves: a partial database with its WAL and a saved
    # graph; and a CURRENT being written when the kill came.
    (index / "index-7.sqlite").write_bytes(good[:len(good) // 2])
    (index / "index-7.sqlite-wal").write_bytes(b"\0" * 5000)
    (index / "index-7.sqlite.text.s12.usearch").write_bytes(b"\0" * 3000)
    (index / "CURRENT.tmp-4242").write_text("index-7.sqlite\n")
    report = run(store, catalog)
    assert index_files(index) == ["index-1.sqlite"] and live(index) == "index-1.sqlite"
    assert not (index / "CURRENT.tmp-4242").exists() and not (index / "index-7.sqlite-wal").exists()
    assert "removed 1 unfinished or replaced index file" in report.summary()
    assert (report.unchanged, store.info().count) == (9, 9)                  # the live index intact
    assert store.bm25(["toothbrush"], 3)[0].id == "product:p3"
    assert "removed" not in run(store, catalog).notes                          # nothing left to remove
    store.close()


def test_nothing_is_removed_while_current_names_no_file(catalog, tmp_path):
    index = tmp_path / "index"
    store = EmbeddedStore(index)
    run(store, catalog)
    store.close()
    (index / "index-5.sqlite").write_bytes(b"partial")
    (index / "CURRENT").write_text("")              # which file is live is unknown ...
    with EmbeddedStore(index).writing() as notes:
        assert notes == [] and sorted(index_files(index)) == ["index-1.sqlite", "index-5.sqlite"]
    store = EmbeddedStore(index)
    report = run(store, catalog)                     # ... until the rebuild that repairs it
    assert report.rebuilt and index_files(index) == [live(index)] == ["index-6.sqlite"]
    store.close()


def test_two_rebuilds_at_once_one_waits_and_one_index_is_left(catalog, tmp_path):
    index = tmp_path / "index"
    run(EmbeddedStore(index), catalog)
    entered, release = threading.Event(), threading.Event()

    class Held(FakeTextEmbedder):
        """Holds the first rebuild inside its first batch until the second one is waiting."""
        def _encode(self, model, items, query):
            entered.set()
            release.wait(30)
            return super()._encode(model, items, query)

    said: list[str] = []
    results: dict[str, object] = {}

    def first() -> None:
        results["first"] = Indexer(EmbeddedStore(index), Held(), FakeImageEmbedder()).run(catalog, rebuild=True)

    def second() -> None:
        results["second"] = run(EmbeddedStore(index), catalog, rebuild=True, say=said.append)

    a = threading.Thread(target=first)
    a.start()
    assert entered.wait(30)
    b = threading.Thread(target=second)
    b.start()
    deadline = time.monotonic() + 30
    while not said and time.monotonic() < deadline:
        time.sleep(0.01)
    assert said and "waiting for it to finish" in said[0] and "pid" in said[0]
    assert index_files(index) == ["index-1.sqlite", "index-2.sqlite"]          # only the first is building
    release.set()
    a.join(60)
    b.join(60)
    assert results["first"].indexed == results["second"].indexed == 9        # type: ignore[attr-defined]
    assert index_files(index) == [live(index)] == ["index-3.sqlite"]         # the second, swapped in last
    reader = EmbeddedStore(index, create=False)
    assert reader.info().count == 9 and reader.get(["product:p1"])[0] is not None
    reader.close()


def test_readers_never_take_the_lock(catalog, tmp_path):
    index = tmp_path / "index"
    writer = EmbeddedStore(index)
    run(writer, catalog)
    reader = EmbeddedStore(index, create=False)
    with writer.writing():
        t = threading.Thread(target=lambda: (reader.bm25(["yoga"], 3), reader.health(), reader.info()))
        t.start()
        t.join(10)
        assert not t.is_alive()
    assert reader.bm25(["toothbrush"], 3)[0].id == "product:p3"
    reader.close()
    writer.close()


@pytest.mark.slow
def test_killed_rebuild_processes_leave_no_files_and_no_lock(tmp_path):
    """The finding as reported: five ``dupe index --rebuild`` killed with SIGKILL, then a run."""
    cat, index = tmp_path / "cat", tmp_path / "index"
    make_catalog(cat, 600, chinese=False)
    store = EmbeddedStore(index)
    run(store, cat)
    before = index_files(index)
    for _ in range(5):
        child = Child(INDEXER, str(cat), str(index), "--rebuild", "--batch-size", "16", "--slow", "0.05")
        try:
            assert child.wait_lines(2, "committed", timeout=120) == 2, child.stderr[-2000:]
        finally:
            child.kill9()
    left = index_files(index)
    assert len(left) > len(before), left        # the killed rebuilds' files (each run removes the last one's)
    said: list[str] = []
    report = run(store, cat, say=said.append)
    assert said == []                           # the kernel released the killed runs' lock
    assert index_files(index) == before == [live(index)]
    assert "unfinished or replaced index file" in report.summary() and report.unchanged == 604
    store.close()


@pytest.mark.slow
def test_two_rebuild_processes_at_once_end_with_one_valid_index(tmp_path):
    cat, index = tmp_path / "cat", tmp_path / "index"
    make_catalog(cat, 300, chinese=False)
    run(EmbeddedStore(index), cat)
    children = [Child(INDEXER, str(cat), str(index), "--rebuild", "--batch-size", "16", "--slow", "0.02")
                for _ in range(2)]
    codes = [c.wait(timeout=300) for c in children]
    assert codes == [0, 0], [c.stderr[-2000:] for c in children]
    assert sum("waiting for it to finish" in c.stderr for c in children) == 1
    assert index_files(index) == [live(index)]
    reader = EmbeddedStore(index, create=False)
    assert reader.info().count == 304 and len(reader.bm25(["item7"], 3)) >= 1
    reader.close()


def test_an_index_from_before_a_new_field_gets_its_values_at_the_next_run_without_embedding(tmp_path):
    """A field added to ``schema.FIELDS`` (here ``certifications``) on an index built before
    it: the column is added on open, and the next ``dupe index`` run writes every document
    again with the field's value (its content hash covers every field) while reusing every
    vector: nothing is embedded again."""
    import json
    import sqlite3

    from search.store.base import Filters
    cat = tiny_catalog(tmp_path / "catalog")
    factories = [json.loads(line) for line in (cat / "factories.jsonl").read_text().splitlines() if line.strip()]
    factories[0]["certifications"] = ["BSCI", "ISO 9001"]                  # f-oem, the factory of p1
    (cat / "factories.jsonl").write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in factories))
    index = tmp_path / "index"
    store = EmbeddedStore(index)
    first = run(store, cat)
    store.close()
    conn = sqlite3.connect(index / live(index))          # as the version before the field left it
    conn.execute("ALTER TABLE docs DROP COLUMN certifications")
    conn.execute("UPDATE docs SET content_hash = 'hash of the version before'")
    conn.commit()
    conn.close()

    store = EmbeddedStore(index)
    tokens = store.get(["product:p1"])[0].tokens
    assert store.get(["product:p1"])[0].certifications == []
    assert store.bm25(tokens, 10, Filters(certifications=("ISO 9001",))) == []       # no values yet
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    again = Indexer(store, text, image).run(cat)
    assert again.indexed == first.indexed and (text.calls, image.calls) == (0, 0)
    assert store.get(["product:p1"])[0].certifications == ["BSCI", "ISO 9001"]
    assert [h.id for h in store.bm25(tokens, 10, Filters(certifications=("ISO 9001",)))] == ["product:p1"]
    store.close()
