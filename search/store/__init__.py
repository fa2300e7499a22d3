"""Storage backends behind one interface (``search.store.base.Store``).

``open_store(config)`` picks the backend: the embedded on-disk store is the default;
Elasticsearch is selected by configuration.
"""
from search.store.base import Filters, Hit, IndexDoc, IndexInfo, ModelMismatchError, Store, StoreError

__all__ = ["Filters", "Hit", "IndexDoc", "IndexInfo", "ModelMismatchError", "Store", "StoreError"]
