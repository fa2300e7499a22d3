"""Registers the fake embedders of tests/conftest.py under the model specs ``fake-text``
and ``fake-image``, so the real CLI and service code paths run with them."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEXT_SPEC, IMAGE_SPEC = "fake-text", "fake-image"


def register() -> None:
    from indexer.embed import registry
    from tests.conftest import FakeImageEmbedder, FakeTextEmbedder
    with registry._lock:
        registry._cache.setdefault(("text", TEXT_SPEC), FakeTextEmbedder())
        registry._cache.setdefault(("image", IMAGE_SPEC), FakeImageEmbedder())
