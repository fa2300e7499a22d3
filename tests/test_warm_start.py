"""Warm start (issue 13, item 3): with ``WARM_START`` the engine is built and warmed in a
background thread; ``/api/v1/health`` says ``starting`` (503, Retry-After) until then and
``ok`` after; a search during the warm-up waits for it; a failure is reported as before.
The CLI's embedders load their model on first use only (``LazyEmbedder``)."""
from __future__ import annotations

import threading

from indexer.embed import registry
from tests.fakes import IMAGE_SPEC, TEXT_SPEC, FakeImageEmbedder, FakeTextEmbedder
from tests.test_web_helpers import build_engine, make_app
from web.service import EngineHolder, warm


def _slow_app(tmp_path, gate: threading.Event, **config):
    """An app whose engine is built by a factory that waits for ``gate``."""
    built = build_engine(tmp_path)
    engine = built[0]
    app = make_app(tmp_path, built, **config)

    def factory():
        assert gate.wait(10)
        return engine
    hold = EngineHolder(factory, wait_s=float(config.get("WARM_WAIT_S", 10)))
    app.extensions["dupe_engine"] = hold
    return app, hold


def test_health_says_starting_until_warm_then_ok(tmp_path):
    gate = threading.Event()
    app, hold = _slow_app(tmp_path, gate)
    thread = hold.start_warm(warm)
    c = app.test_client()
    r = c.get("/api/v1/health")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "starting"
    assert r.headers["Retry-After"] == "5"
    gate.set()
    thread.join(10)
    r = c.get("/api/v1/health")
    assert r.status_code == 200 and r.get_json()["status"] == "ok", r.get_json()
    assert hold.ready_in is not None


def test_a_search_during_warm_up_waits_and_succeeds(tmp_path):
    gate = threading.Event()
    app, hold = _slow_app(tmp_path, gate)
    built: list[int] = []
    factory = hold.factory
    hold.factory = lambda: (built.append(1), factory())[1]
    hold.start_warm(warm)
    got: dict = {}

    def search() -> None:
        got["r"] = app.test_client().get("/api/v1/search?q=lululemon+leggings")
    t = threading.Thread(target=search)
    t.start()
    t.join(0.3)
    assert t.is_alive()                                 # waiting for the engine
    gate.set()
    t.join(10)
    assert got["r"].status_code == 200 and got["r"].get_json()["results"]
    assert built == [1]                                 # one engine, not a second one


def test_a_search_waits_at_most_warm_wait_s(tmp_path):
    gate = threading.Event()
    app, hold = _slow_app(tmp_path, gate, WARM_WAIT_S=0.2)
    hold.start_warm(warm)
    r = app.test_client().get("/api/v1/search?q=leggings")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "starting"
    gate.set()


def test_warm_failure_is_reported_and_retried(tmp_path):
    # No index: the warm-up fails, health says why (no server path), and the retry logic
    # of EngineHolder still applies.
    app = make_app(tmp_path, build_engine(tmp_path / "b"), ENGINE=None, INDEX_DIR=str(tmp_path / "missing"),
                   WARM_START=True)
    hold = app.extensions["dupe_engine"]
    assert hold.wait_ready(30)
    r = app.test_client().get("/api/v1/health")
    body = r.get_json()
    assert r.status_code == 503 and body["error"]["code"] == "index_unavailable"
    assert "no index" in body["error"]["message"] and str(tmp_path) not in body["error"]["message"]
    assert hold._error is not None


def test_warm_start_builds_and_warms_the_configured_models(tmp_path, monkeypatch):
    # The real path of `dupe serve`: create_app(WARM_START) builds the engine from the
    # model specs (fakes here) and runs the warm-up searches before health says ok.
    _, _, index = build_engine(tmp_path / "b")
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    monkeypatch.setenv("DUPE_TEXT_MODEL", TEXT_SPEC)
    monkeypatch.setenv("DUPE_IMAGE_MODEL", IMAGE_SPEC)
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), text)
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), image)
    app = make_app(tmp_path, build_engine(tmp_path / "c"), ENGINE=None, INDEX_DIR=str(index), OCR=False,
                   WARM_START=True)
    hold = app.extensions["dupe_engine"]
    assert hold.wait_ready(30)
    assert app.test_client().get("/api/v1/health").get_json()["status"] == "ok"
    assert text.calls > 0 and image.calls > 0          # both models ran before ready


def test_without_warm_start_nothing_is_built_at_creation(tmp_path):
    app = make_app(tmp_path, build_engine(tmp_path / "b"), ENGINE=None, INDEX_DIR=str(tmp_path / "missing"))
    hold = app.extensions["dupe_engine"]
    assert hold.starting() is None and hold.engine is None and hold._error is None


# ----------------------------------------------------------------------------- lazy models


class Counting(FakeImageEmbedder):
    loads = 0

    def _load(self):
        Counting.loads += 1
        return super()._load()


def test_lazy_embedder_loads_nothing_until_first_use(monkeypatch):
    Counting.loads = 0
    builds: list[str] = []
    inner = Counting()

    def build(spec: str):
        builds.append(spec)
        return inner
    lazy = registry.LazyEmbedder("image", "x", inner.model_id, build)
    assert lazy.model_id == "fake-image@1" and not lazy.loaded
    assert builds == [] and Counting.loads == 0
    from PIL import Image
    v = lazy.embed(Image.new("RGB", (8, 8), (200, 10, 10)), query=True)
    assert v.shape == (48,) and builds == ["x"] and Counting.loads == 1 and lazy.loads == 1
    lazy.embed(Image.new("RGB", (8, 8), (10, 10, 200)))
    assert builds == ["x"] and Counting.loads == 1 and lazy.dim == 48


def test_cli_engine_for_a_text_search_loads_no_image_model_or_ocr(tmp_path, monkeypatch):
    from indexer.compose import build_engine as cli_engine
    from search.requests import SearchRequest
    from search.settings import Settings
    _, _, index = build_engine(tmp_path)
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), text)
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), image)
    eng = cli_engine(Settings.from_env(index_dir=str(index), text_model=TEXT_SPEC, image_model=IMAGE_SPEC))
    assert not eng.text.loaded and not eng.image.loaded
    assert eng.search(SearchRequest(text="lululemon leggings", k=3)).results
    assert eng.text.loaded and not eng.image.loaded and image.calls == 0
    assert eng.ocr is not None and not eng.ocr._idle                 # OCR not loaded either


def test_lazy_specs_know_their_model_id_without_loading():
    lazy = registry.lazy_text_embedder("use")
    assert lazy.model_id.startswith("use-multilingual") and not lazy.loaded
    img = registry.lazy_image_embedder("effnet-sscd")
    assert img is not None and img.model_id.startswith("effnet-lite1+sscd@") and not img.loaded
    assert registry.lazy_image_embedder("none") is None
