"""Embedding models behind one interface (``indexer.embed.base.Embedder``).

``indexer.embed.registry`` builds the configured text and image embedders; each loads its
model once, lazily, on first use.
"""
from indexer.embed.base import Embedder, EmbedderError

__all__ = ["Embedder", "EmbedderError"]
