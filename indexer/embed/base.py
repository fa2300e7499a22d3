"""The embedder interface: items in, L2-normalised float32 vectors out."""
from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from search.embedding import EmbedderError  # noqa: F401  (defined with the protocol the engine uses)

T = TypeVar("T")


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        n = float(np.linalg.norm(x))
        return x / n if n > 0 else x
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (x / n).astype(np.float32, copy=False)


class Embedder(abc.ABC, Generic[T]):
    """One embedding model.

    Subclasses implement ``_load`` (called once, lazily, thread-safely) and ``_encode``
    (a batch of items -> raw vectors). ``model_id`` is recorded in the index so a query
    with a different model is refused.
    """

    name: str = "embedder"
    version: str = "0"
    dim: int = 0
    batch_size: int = 32

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @abc.abstractmethod
    def _load(self) -> Any: ...

    @abc.abstractmethod
    def _encode(self, model: Any, items: Sequence[T], query: bool) -> np.ndarray: ...

    def embed_batch(self, items: Sequence[T], *, query: bool = False) -> np.ndarray:
        """Vectors for ``items`` as an (n, dim) float32 array, rows L2-normalised.

        ``query`` marks query-side items (photos get a centre crop, asymmetric text
        models get their query prefix); catalog items use the default.
        """
        if len(items) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._ensure_loaded()
        out = []
        for i in range(0, len(items), self.batch_size):
            out.append(np.asarray(self._encode(model, items[i:i + self.batch_size], query), dtype=np.float32))
        return l2_normalise(np.concatenate(out, axis=0))

    def embed(self, item: T, *, query: bool = False) -> np.ndarray:
        return self.embed_batch([item], query=query)[0]
