"""Faults: ``kill -9`` of the indexer at random points.

The real ``dupe index`` (fake embedders, a generated catalog of 2,000 products, batches of
16) runs in a subprocess that prints a line after each committed batch; the test SIGKILLs
it at a random point (during start-up, or a random number of batches in plus a random
sub-batch delay), then checks that the index opens and holds a committed state: a prefix
of the catalog in plan order, a whole number of batches, every document intact (get,
BM25, kNN, SQLite's integrity check and the store's ``verify``). Runs are chained, each resuming where the
last was killed; a last run completes and the index then holds exactly the catalog's ids.
The same for ``--rebuild``: a killed rebuild leaves the old index served, unchanged.

The seed is random per run and printed on failure (set ``DUPE_FAULT_SEED`` to replay).
"""
from __future__ import annotations

import math
import os
import random
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.requests import SearchRequest
from search.store.base import Filters, StoreError
from search.store.base import Damage
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder
from tests.fault_tools.catalog_gen import make_catalog
from tests.fault_tools.procs import Child

pytestmark = pytest.mark.slow  # kill -9 of indexer processes

N_PRODUCTS = 2000
BATCH = 16
KILLS = 5
SEED = int(os.environ.get("DUPE_FAULT_SEED") or random.SystemRandom().randrange(1 << 30))
INDEXER = "tests.fault_tools.run_indexer"

#: Counts for the closing note of issue 7 (printed by the tests; run with -s to see them).
STATS = {"kills": 0, "kills_rebuild": 0, "checks": 0}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("kill-catalog")
    return folder, make_catalog(folder, N_PRODUCTS, chinese=False)


def _sqlite_integrity(index: Path) -> None:
    db = index / (index / "CURRENT").read_text().strip()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def check_committed(index: Path, expected: list[str], batch: int, ctx: str) -> int:
    """The index opens and holds a committed state; returns how many documents it holds."""
    STATS["checks"] += 1
    _sqlite_integrity(index)
    store = EmbeddedStore(index, create=False)
    try:
        # Every record reads back whole (texts, sources, vectors), as the indexer checks it.
        assert store.verify() == Damage(), ctx
        ids = list(store.hashes())
        info = store.info()
        n = len(ids)
        assert info.count == n == len(set(ids)), ctx
        # Batches commit in plan order, each resumed run continuing after the last: a prefix.
        assert set(ids) == set(expected[:n]), f"{ctx}: not a prefix of the plan"
        assert n == len(expected) or n % batch == 0, f"{ctx}: {n} documents is not whole batches of {batch}"
        docs = store.get(ids)
        for i, d in zip(ids, docs):
            assert d is not None and d.id == i, ctx
            assert d.content_hash and isinstance(d.source, dict) and d.source.get("id") == i.split(":", 1)[1]
            if d.kind != "brand":
                assert d.text_vector is not None and d.text_vector.shape == (FakeTextEmbedder.dim,), (ctx, i)
                assert np.isfinite(d.text_vector).all()
            if d.kind == "product":
                number = int(i.split(":p")[1])
                assert d.tokens, (ctx, i)
                assert (d.image_vector is not None) == bool(number % 3), (ctx, i)   # every third has no image
        products = [i for i in ids if i.startswith("product:")]
        if products:
            last = products[-1]
            token = f"item{int(last.split(':p')[1])}"
            assert last in [h.id for h in store.bm25([token], 5)], ctx
            q = FakeTextEmbedder().embed("yoga leggings", query=True)
            hits = store.knn("text", q, 10)
            assert hits and all(h.id in set(ids) for h in hits), ctx
            img = store.knn("image", np.full(FakeImageEmbedder.dim, 0.1, dtype=np.float32), 5,
                            Filters(category="leggings"))
            assert all(h.id in set(ids) for h in img), ctx
        return n
    finally:
        store.close()


def _creation_state(index: Path) -> str:
    """How far creating the index got: "no index", "no database", "half made", "created"."""
    try:
        db = index / (index / "CURRENT").read_text().strip()
    except OSError:
        return "no index"
    if not db.is_file() or db.stat().st_size == 0:
        return "no database"
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        done = {"docs", "vlog", "vec_text", "vec_image"} <= tables and conn.execute(
            "SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as e:
        return f"half made ({e})"
    finally:
        conn.close()
    return "created" if done else "half made"


def _engine(index: Path, **kw) -> SearchEngine:
    return SearchEngine(EmbeddedStore(index, create=False, **kw), FakeTextEmbedder(), FakeImageEmbedder())


def test_kill9_indexer_at_random_points_then_rerun_completes(catalog, tmp_path):
    folder, expected = catalog
    rnd = random.Random(SEED)
    index = tmp_path / "index"
    total_batches = math.ceil(len(expected) / BATCH)
    committed, reader, history = 0, None, []
    for run in range(KILLS):
        ctx = f"seed={SEED} run={run}"
        child = Child(INDEXER, str(folder), str(index), "--batch-size", str(BATCH))
        try:
            if run == 0:
                # Early: during start-up (imports, store creation, reading, planning), or at the
                # first batch when it comes before the random delay: the indexer commits ~100
                # batches a second once started, so a plain sleep let it commit most of the
                # catalog, and sometimes all of it, before the first kill.
                delay = rnd.uniform(0.1, 1.0)
                try:
                    first = child.wait_lines(1, "committed", timeout=delay)
                except TimeoutError:
                    first = 0
                point = "at the first batch" if first else f"{delay:.2f} s after start"
            else:
                left = total_batches - committed // BATCH
                k = rnd.randint(1, max(1, 2 * left // (KILLS - run + 2)))
                got = child.wait_lines(k, "committed", timeout=90)
                assert got == k, f"{ctx}: the run ended before the kill point: {child.stderr[-2000:]}"
                time.sleep(rnd.uniform(0.0, 0.03))          # anywhere inside the next batch
                point = f"after {k} batches"
        finally:
            child.kill9()
        STATS["kills"] += 1
        assert child.proc.returncode == -9, f"{ctx}: {child.stderr[-2000:]}"
        state = _creation_state(index)
        if state != "created":
            # Killed while the index was being created: nothing was committed. A reader gets
            # a clear error (no database yet) or an empty index (tables half made).
            assert run == 0 and committed == 0, (ctx, state)
            if state == "no database":
                with pytest.raises(StoreError, match="missing or empty"):
                    EmbeddedStore(index, create=False)
            elif state.startswith("half made"):
                s = EmbeddedStore(index, create=False)
                assert s.info().count == 0
                s.close()
            history.append((point, state))
            continue
        n = check_committed(index, expected, BATCH, f"{ctx} ({point})")
        assert n >= committed, f"{ctx}: committed documents were lost ({committed} -> {n})"
        committed = n
        history.append((point, n))
        if reader is None:
            reader = _engine(index)
        if any(i.startswith("product:") for i in expected[:n]):
            # A service that kept its index open across the crash still answers.
            assert reader.search(SearchRequest(text="yoga leggings item1", k=5)).results, ctx
    assert committed < len(expected), f"seed={SEED}: every kill landed after the end: {history}"

    child = Child(INDEXER, str(folder), str(index), "--batch-size", str(BATCH))
    assert child.wait(timeout=120) == 0, child.stderr[-3000:]
    summary = re.search(r"indexed (\d+), unchanged (\d+), removed (\d+), rejected (\d+)", child.stdout)
    assert summary, child.stdout
    indexed, unchanged, removed, rejected = map(int, summary.groups())
    # Resumed where the last kill left it: committed documents are not embedded again.
    assert (unchanged, indexed, removed, rejected) == (committed, len(expected) - committed, 0, 0), history
    assert check_committed(index, expected, BATCH, f"seed={SEED} final") == len(expected)
    store = EmbeddedStore(index, create=False)
    try:
        ids = list(store.hashes())
        assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids)) == N_PRODUCTS + 4
    finally:
        store.close()
    assert reader is not None
    assert {r.id for r in reader.search(SearchRequest(text="item1999", mode="bm25", k=3)).results} == \
        {"p01999"}
    reader.store.close()
    print(f"\nFAULTS seed={SEED}: {KILLS} SIGKILLs of `dupe index` at {history}; resumed with {committed} of "
          f"{len(expected)} documents committed; {STATS['checks']} consistency checks")


def test_kill9_during_rebuild_keeps_the_old_index_served(catalog, tmp_path):
    folder, expected = catalog
    rnd = random.Random(SEED + 1)
    index = tmp_path / "index"
    store = EmbeddedStore(index, ann_min=500)
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder(), batch_size=512).run(folder)
    store.close()
    old_current = (index / "CURRENT").read_text()
    old_price = 10 + 1 % 97
    # The rebuild indexes an updated catalog (every price changed), so old and new differ.
    new_folder = tmp_path / "catalog-v2"
    make_catalog(new_folder, N_PRODUCTS, price_shift=1000.0, chinese=False)
    reader = _engine(index, ann_min=500)           # HNSW graphs at this size: graph files are saved too
    before = [r.id for r in reader.search(SearchRequest(text="yoga leggings", k=10)).results]
    assert before

    def price(engine: SearchEngine) -> float:
        return engine.store.get(["product:p00001"])[0].source["price_tiers"][0]["price"]

    total_batches = math.ceil(len(expected) / BATCH)
    env = {"DUPE_ANN_MIN": "500"}
    for run, point in enumerate(("mid-run", "end")):
        ctx = f"seed={SEED} rebuild run={run} ({point})"
        child = Child(INDEXER, str(new_folder), str(index), "--batch-size", str(BATCH), "--rebuild", env=env)
        try:
            if point == "mid-run":
                k = rnd.randint(1, total_batches - 1)
            else:
                k = total_batches                       # then die in warm(), the graph save or the swap
            assert child.wait_lines(k, "committed", timeout=90) == k, child.stderr[-2000:]
            time.sleep(rnd.uniform(0.0, 0.03) if point == "mid-run" else rnd.uniform(0.0, 0.4))
        finally:
            child.kill9()
        STATS["kills_rebuild"] += 1
        swapped = (index / "CURRENT").read_text() != old_current
        assert check_committed(index, expected, BATCH, ctx) == len(expected)
        if not swapped:
            # The old index is still the one served, in full and unchanged.
            assert price(reader) == old_price, ctx
            assert [r.id for r in reader.search(SearchRequest(text="yoga leggings", k=10)).results] == before, ctx
            fresh = _engine(index, ann_min=500)     # a restarted service sees the same
            assert price(fresh) == old_price and fresh.store.info().count == len(expected), ctx
            fresh.store.close()
        else:
            # Killed after the atomic swap: the new index is complete.
            assert point == "end" and price(reader) == old_price + 1000.0, ctx

    child = Child(INDEXER, str(new_folder), str(index), "--batch-size", str(BATCH), "--rebuild", env=env)
    assert child.wait(timeout=120) == 0, child.stderr[-3000:]
    assert (index / "CURRENT").read_text() != old_current
    assert check_committed(index, expected, BATCH, f"seed={SEED} rebuild final") == len(expected)
    assert price(reader) == old_price + 1000.0                # the open reader followed the swap
    assert reader.search(SearchRequest(text="yoga leggings", k=10)).results
    assert not (index / old_current.strip()).exists()         # the replaced database is gone
    reader.store.close()
    print(f"\nFAULTS seed={SEED}: {STATS['kills_rebuild']} SIGKILLs of `dupe index --rebuild`, old index served")
