"""The composition root: the search engine built from ``Settings`` (the store, the
models, OCR, the exchange table). The CLI and the service both build it here, so neither
imports the other to get an engine."""
from __future__ import annotations

from search.engine import SearchEngine
from search.prices import FxTable, load_fx
from search.settings import Settings, open_store


def build_engine(settings: Settings, *, ocr: bool = True, fx: FxTable | None = None) -> SearchEngine:
    """The search engine over the configured index and models. Each model loads on its
    first use (``LazyEmbedder``, ``OcrReader``): a text search loads no image model or OCR;
    ``dupe serve`` loads them all before it says ready (``web.service.warm``)."""
    from indexer.embed.ocr import OcrReader
    from indexer.embed.registry import lazy_image_embedder, lazy_text_embedder

    fx = fx or load_fx(settings.fx)        # a bad table stops here, before the index is opened
    store = open_store(settings, create=False)
    return SearchEngine(store, lazy_text_embedder(settings.text_model), lazy_image_embedder(settings.image_model),
                        OcrReader() if ocr else None, fx=fx)
