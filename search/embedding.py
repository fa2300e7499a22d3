"""What the search engine needs of a model, and of a photo: the ``Embedder`` protocol the
indexer's models implement (``indexer.embed``), the error they raise, and the size a photo
was sent at. Defined here so that ``search`` never imports ``indexer``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image


class EmbedderError(Exception):
    """A model could not be loaded or run."""


@runtime_checkable
class Embedder(Protocol):
    """One embedding model: items in, L2-normalised float32 vectors out. ``model_id`` is
    recorded in the index, so a query with another model is refused."""

    @property
    def model_id(self) -> str: ...

    dim: int

    def embed_batch(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray: ...

    def embed(self, item: Any, *, query: bool = False) -> np.ndarray: ...


#: ``Image.info`` key under which a decoder that reduced a photo (a JPEG decoded at 1/2,
#: 1/4...) records ``(size as sent, size decoded)``.
SOURCE_SIZE = "dupe_source_size"


def source_size(im: Image.Image) -> tuple[int, int]:
    """The size of the image as it was sent, in the same orientation: a JPEG decoded at a
    reduced scale by ``indexer.images.decode_image(work_side=...)`` is smaller than that.
    Coordinates a caller gives (a crop) are in these pixels. A resized or cropped copy is
    its own size."""
    sent = im.info.get(SOURCE_SIZE)
    if isinstance(sent, tuple) and len(sent) == 2 and sent[1] == im.size:
        return sent[0]
    return im.size
