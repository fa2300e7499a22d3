"""Shared fixtures. The fakes and catalog helpers they use live in ``tests/fakes.py``
(import them from there, not from this file).

Real models are exercised in their own tests (test_image_embedder, test_text_models,
test_search_seeds: marked ``slow``); everything else runs on the fake embedders, which
still put similar inputs near each other.
"""
from __future__ import annotations

import pytest

from tests.fakes import IMAGE_SPEC, TEXT_SPEC, FakeImageEmbedder, FakeTextEmbedder


@pytest.fixture
def fake_models(monkeypatch):
    """Code that builds its engine from the configured model specs (the service, the CLI)
    gets the fake embedders."""
    from indexer.embed import registry
    monkeypatch.setenv("DUPE_TEXT_MODEL", TEXT_SPEC)
    monkeypatch.setenv("DUPE_IMAGE_MODEL", IMAGE_SPEC)
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), FakeTextEmbedder())
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), FakeImageEmbedder())


@pytest.fixture
def fake_text() -> FakeTextEmbedder:
    return FakeTextEmbedder()


@pytest.fixture
def fake_image() -> FakeImageEmbedder:
    return FakeImageEmbedder()


# ----------------------------------------------------------------------------- web apps
# The web tests' app over a small real index (fake embedders, embedded store): see
# ``tests/test_web_helpers.py``. A module overrides ``built`` (another index), ``app``
# (other config) or ``client`` by defining a fixture of the same name.


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """(engine, catalog folder, index folder) of ``test_web_helpers.build_engine``, built
    once per test module."""
    from tests.test_web_helpers import build_engine
    return build_engine(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))


@pytest.fixture
def app(built, tmp_path):
    """The app over ``built`` with the test config of ``test_web_helpers.make_app``."""
    from tests.test_web_helpers import make_app
    return make_app(tmp_path, built)


@pytest.fixture
def client(app):
    return app.test_client()
