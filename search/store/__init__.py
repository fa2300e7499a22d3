"""Storage backends behind one interface (``search.store.base.Store``).

``base``: the interface and the typed data it speaks; ``schema``: the fields of a document,
one table from which both backends derive their storage and filters; ``embedded``: the
default on-disk store (a package); ``elastic`` and ``es_queries``: the Elasticsearch store
and its request bodies. ``search.settings.open_store(settings)`` picks the backend.
"""
from search.store.base import Filters, Hit, IndexDoc, IndexInfo, ModelMismatchError, Store, StoreError

__all__ = ["Filters", "Hit", "IndexDoc", "IndexInfo", "ModelMismatchError", "Store", "StoreError"]
