"""The embedded on-disk store (the default backend; no server to install).

One SQLite database is the source of truth (``sqlite``): documents with one column per
``schema.FIELDS`` row and their pre-analysed tokens, vectors as float32 BLOBs (one table
per field, one row per document holding its vectors one after another: one text vector,
up to ``schema.MAX_IMAGES`` image vectors) and ``vlog``, a log of the rows each write
touched. Every write call is one transaction, so a crash mid-write leaves the last
committed state.

Searching uses an in-memory view of the database (``view``), brought up to date whenever
the generation changes (any connection's commit, e.g. the indexer process) by re-reading
only the rows logged since its position:

* ``columns``: the filter columns as numpy arrays, so filters are evaluated in memory;
* ``lexicon``: BM25 postings, FTS5's ``bm25()`` formula computed with numpy, with MaxScore
  pruning of common tokens;
* ``vectors``: per vector field, an exact float32 matrix (fewer than ``ann_min`` vectors)
  or an HNSW graph whose candidates are re-scored exactly (``knn``), each document scored
  by its best vector.

Graphs and, for large indexes, the view itself are saved beside the database
(``<db>.<part>.s<seq>.<ext>``, ``seq`` = the log position they reflect), so another
process or a restart loads them and applies the log from there; ``warm()`` brings them up
to date (``rebuilding()`` calls it before the swap, so readers switch to a ready view).

The index folder (``files``): ``CURRENT`` names the live database file; ``rebuilding()``
fills a new file and swaps ``CURRENT`` atomically; ``LOCK`` is held by the one process
writing (``writing()``), under which files ``CURRENT`` does not name are removed.

What is read back is checked: a source that is not JSON raises ``CorruptRecordError``; a
vector that is not a finite unit vector (``schema.vector_problem``) is left out of search
and reported by ``health()``; ``verify()`` (the indexer's check) finds both, and damaged
pages (``PRAGMA integrity_check``), so ``dupe index`` writes the records again or rebuilds.
A writer (``create=True``) opens a damaged index without raising, so that it can be
rebuilt; every other use raises the damage as a ``StoreError``.
"""
from search.store.embedded.sqlite import IndexCorruptError
from search.store.embedded.store import EmbeddedStore
from search.store.embedded.view import FieldState, StoreState

__all__ = ["EmbeddedStore", "FieldState", "IndexCorruptError", "StoreState"]
