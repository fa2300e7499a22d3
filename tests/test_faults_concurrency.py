"""Faults: searches keep answering while a reindex runs.

A bounded loop of concurrent searches (threads, one shared ``SearchEngine`` as in the
service) runs while the index is updated incrementally, shrunk, and rebuilt, by a thread
writing through the same store (the service's reindex job) and by another process
(``dupe index --rebuild``). Embedded store and Elasticsearch (the noida-db
emulator on loopback, or ``DUPE_ES_URL``). Every search must answer, with results, and
nothing may raise: zero errors.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.requests import SearchRequest
from search.store.base import Filters
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder
from tests.fault_tools.catalog_gen import make_catalog
from tests.fault_tools.procs import Child

pytest_plugins = ["tests.es_server"]

pytestmark = pytest.mark.slow  # reindex under search load, by thread, process and on Elasticsearch


def queries(catalog: Path) -> list[SearchRequest]:
    """Text, Chinese, BM25-only, dense-only, filtered, and photo searches (the photo: one of
    the catalog's images, so image matches exist in every version of the catalog)."""
    with Image.open(catalog / "img" / "i1.jpg") as im:
        photo = im.convert("RGB")
    return [
        SearchRequest(text="yoga leggings", k=10),
        SearchRequest(text="露露乐蒙 瑜伽裤", k=10),
        SearchRequest(text="sonic toothbrush", k=5, mode="bm25"),
        SearchRequest(text="cotton shirt", k=5, mode="dense"),
        SearchRequest(text="leather bag", k=5, filters=Filters(category="bag")),
        SearchRequest(image=photo, k=5),
    ]


class SearchLoad:
    """``threads`` workers cycling through the queries until stopped or ``max_requests`` made,
    each pausing ``pause`` seconds between searches."""

    def __init__(self, engine: SearchEngine, queries: list[SearchRequest], threads: int, max_requests: int,
                 pause: float = 0.01) -> None:
        self.engine, self.queries, self.max_requests, self.pause = engine, queries, max_requests, pause
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = 0
        self.errors: list[str] = []
        self.empty: list[str] = []
        self.workers = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(threads)]

    def _work(self, n: int) -> None:
        i = n
        while not self.stop.is_set():
            with self.lock:
                if self.requests >= self.max_requests:
                    return
                self.requests += 1
            req = self.queries[i % len(self.queries)]
            i += 1
            try:
                resp = self.engine.search(req)
                if not resp.results:
                    with self.lock:
                        self.empty.append(repr(req.text or "(photo)"))
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                with self.lock:
                    self.errors.append(f"{type(e).__name__}: {e}")
            self.stop.wait(self.pause)       # bounded load: leaves CPU for the indexer on 2 cores

    def __enter__(self) -> "SearchLoad":
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for w in self.workers:
            w.join(timeout=60)

    def assert_clean(self, min_requests: int) -> None:
        assert not self.errors, f"{len(self.errors)} errors in {self.requests} searches: {self.errors[:5]}"
        assert not self.empty, f"{len(self.empty)} empty answers in {self.requests} searches: {self.empty[:5]}"
        assert self.requests >= min_requests, self.requests
        print(f"\nLOAD: {self.requests} searches during reindex, {len(self.errors)} errors")


def _index(store, folder: Path) -> None:
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder(), batch_size=64).run(folder)


def _while(load: SearchLoad, job: Callable[[], None], min_seconds: float = 0.5) -> None:
    """Run ``job`` under load, and keep the load on a little after it for readers to catch up."""
    t = time.monotonic()
    job()
    took = time.monotonic() - t
    time.sleep(max(0.0, min_seconds - took))
    print(f"\n{job.__name__}: {took:.1f}s, {load.requests} searches so far")


def test_embedded_searches_answer_during_reindex_by_thread_and_by_process(tmp_path):
    v1, v2, v3 = tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"
    make_catalog(v1, 400)
    make_catalog(v2, 400, price_shift=5.0)          # every product changed
    make_catalog(v3, 250, price_shift=7.0, chinese=False)   # 150 products left; no Chinese titles
    index = tmp_path / "index"
    store = EmbeddedStore(index)
    _index(store, v1)
    engine = SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder())
    with SearchLoad(engine, queries(v1), threads=3, max_requests=3000) as load:
        # The service's own reindex job writes through the same store object.
        _while(load, lambda: _index(store, v2))
        _while(load, lambda: _index(store, v3))
        def rebuild() -> None:
            with store.rebuilding() as fresh:
                _index(fresh, v1)
        _while(load, rebuild)
        # `dupe index --rebuild` in another process: a new database file, swapped in.
        def run_child() -> None:
            child = Child("tests.fault_tools.run_indexer", str(v3), str(index), "--batch-size", "32", "--rebuild")
            assert child.wait(timeout=120) == 0, child.stderr[-3000:]
        _while(load, run_child)
        time.sleep(0.5)
    load.assert_clean(min_requests=50)
    assert store.info().count == 250 + 4
    assert engine.store.get(["product:p00001"])[0].source["price_tiers"][0]["price"] == 11 + 7.0
    store.close()


def test_elasticsearch_searches_answer_during_reindex(es_store_factory, tmp_path):
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    make_catalog(v1, 60, n_images=4)
    make_catalog(v2, 40, n_images=4, price_shift=3.0)
    store = es_store_factory("load")
    _index(store, v1)
    engine = SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder())
    with SearchLoad(engine, queries(v1), threads=3, max_requests=300) as load:
        _while(load, lambda: _index(store, v2), min_seconds=1.0)        # changes and removals

        def rebuild() -> None:
            with store.rebuilding() as fresh:
                _index(fresh, v1)
        _while(load, rebuild, min_seconds=1.0)                         # alias moved, old index deleted
    load.assert_clean(min_requests=20)
    assert store.info().count == 60 + 4
