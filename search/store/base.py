"""The storage interface every backend implements, and the typed data it speaks.

Both backends (embedded SQLite, Elasticsearch) implement ``Store`` and pass the same
contract suite in ``tests/store_contract.py``. Text arrives here already analysed
(``search.analysis``), so both backends rank the same tokens.
"""
from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

VectorField = Literal["text", "image"]
DocKind = Literal["product", "brand_product", "brand"]


class StoreError(Exception):
    """The index cannot be opened or used (missing, corrupt, unreachable)."""


class ModelMismatchError(StoreError):
    """The index was built with other embedding models than the ones asked for."""


class CorruptRecordError(StoreError):
    """A stored document cannot be read back (its bytes were damaged): ``dupe index``
    writes it again from the catalog."""

    def __init__(self, doc_id: str, reason: str) -> None:
        self.doc_id, self.reason = doc_id, reason
        super().__init__(f"stored document {doc_id!r} is damaged ({reason}): run dupe index CATALOG_DIR "
                         f"to write it again")


class InvalidDocumentError(StoreError):
    """Documents handed to ``upsert`` break the schema (e.g. a vector that is not a finite
    unit vector of the index's size); nothing of the call was written. ``failures``
    lists (id, reason)."""

    def __init__(self, failures: list[tuple[str, str]], total: int) -> None:
        self.failures = failures
        shown = "; ".join(f"{i}: {r}" for i, r in failures[:20])
        more = f"; ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"{len(failures)} of {total} documents refused: {shown}{more}")


@dataclass
class IndexDoc:
    """One document: a factory product, a brand reference product, or a brand (brands carry
    the aliases that query analysis and brand detection need at search time).

    ``source`` is the record as JSON (what results display); the flat fields below it are
    what filters need, denormalised at index time (see ``search.store.schema``).

    A document has at most one text vector and up to ``schema.MAX_IMAGES`` image vectors,
    one per image of the record, main image first: image kNN scores a document by its
    best-matching image (a photo of a product's back finds it by its back view).
    """
    id: str
    kind: DocKind
    source: dict[str, Any]
    tokens: list[str]
    content_hash: str
    text_vector: np.ndarray | None = None
    image_vectors: tuple[np.ndarray, ...] = ()
    category: str | None = None
    price_min: float | None = None
    moq: int | None = None
    region: str | None = None
    ship_within_hours: int | None = None
    factory: str | None = None
    brand: str | None = None
    # Endorsements of the product's factory that carry evidence, each as its type and as its
    # type scoped by brand, sorted: ["same_foundry", "same_foundry:lululemon"]. Expiry is not
    # applied here (it is judged at query time).
    labels: list[str] = field(default_factory=list)
    # Ids of the brand products this product declares itself a dupe of (``Product.dupe_of``,
    # catalog ids such as "bp-align", not document ids).
    dupe_of: list[str] = field(default_factory=list)
    # The certifications of the product's factory, as the catalog spells them ("ISO 9001").
    certifications: list[str] = field(default_factory=list)
    # Every prefix of the factory's region path ("Zhejiang", "Zhejiang Yiwu"): a filter on a
    # province takes in its cities (``search.regions``).
    regions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A list (or any sequence) is accepted, a tuple is kept: documents compare and copy alike.
        if type(self.image_vectors) is not tuple:
            self.image_vectors = tuple(self.image_vectors)

    @property
    def image_vector(self) -> np.ndarray | None:
        """The main image's vector (the first one), or None: for callers that use one image."""
        return self.image_vectors[0] if self.image_vectors else None


@dataclass(frozen=True)
class Filters:
    """Filters applied inside every retrieval (never after it). Which attribute filters
    which document field, and how, is ``search.store.schema.FIELDS``."""
    kind: DocKind | None = "product"
    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    moq_max: int | None = None
    # Any of these exact ``IndexDoc.labels`` values: a type ("same_foundry") or a type
    # scoped by brand ("same_foundry:lululemon"). Empty: no filter.
    labels: tuple[str, ...] = ()
    # Any of these brand product ids in ``IndexDoc.dupe_of``. Empty: no filter.
    dupe_of: tuple[str, ...] = ()
    region: str | None = None
    ship_within_max: int | None = None
    factory: str | None = None
    brand: str | None = None
    # Any of these exact ``IndexDoc.certifications`` values. Empty: no filter.
    certifications: tuple[str, ...] = ()
    # Any of these ``IndexDoc.regions`` values (region paths or their prefixes). Empty: no filter.
    regions: tuple[str, ...] = ()
    ids: tuple[str, ...] | None = None    # restrict to these ids


@dataclass(frozen=True)
class Hit:
    id: str
    score: float


@dataclass(frozen=True)
class Damage:
    """What ``Store.verify`` found. ``corrupt``: why the index as a whole cannot be trusted
    (it must be rebuilt); ``records``: ids of documents that cannot be read back whole,
    with the reason (they must be written again)."""
    corrupt: str | None = None
    records: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    """What ``Store.health`` found. ``failing``: why searches fail now (None: they answer);
    ``problems``: what the store noticed it could not read back and left out of search."""
    failing: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexInfo:
    count: int
    models: dict[str, str]      # role ("text", "image") -> model id ("name@version")
    dims: dict[str, int]
    generation: int


class Store(abc.ABC):
    """An index of ``IndexDoc``s with BM25 and kNN retrieval, both filtered.

    After ``upsert``/``delete`` returns, the change is committed and visible. The embedded
    store commits each call as one transaction (a crash mid-call leaves the previous
    state); Elasticsearch commits each document on its own, and a call whose records
    partly failed raises ``StoreError`` naming the failed ids after writing the rest.
    Vectors are checked before anything is written (``schema.vector_problem``: finite,
    L2-normalised, of the index's size); a call holding a bad one is refused whole.
    """

    @abc.abstractmethod
    def info(self) -> IndexInfo: ...

    def generation(self) -> int:
        """A number that changes whenever the index's contents change (cheap to call)."""
        return self.info().generation

    @abc.abstractmethod
    def set_models(self, models: dict[str, str], dims: dict[str, int]) -> None:
        """Record the embedding models of this index. Raises ModelMismatchError if the
        index already holds vectors from other models (rebuild to change models)."""

    @abc.abstractmethod
    def check_models(self, models: dict[str, str]) -> None:
        """Raise ModelMismatchError unless the index was built with these models."""

    @abc.abstractmethod
    def upsert(self, docs: Sequence[IndexDoc]) -> None: ...

    @abc.abstractmethod
    def delete(self, ids: Iterable[str]) -> None: ...

    @abc.abstractmethod
    def get(self, ids: Sequence[str], *, vectors: bool = True) -> list[IndexDoc | None]:
        """Documents by id, in order (None where absent). Vectors (all of them) included
        unless ``vectors=False`` (what ranking needs: reading vectors is most of the cost)."""

    @abc.abstractmethod
    def scan(self, kind: DocKind) -> list[IndexDoc]:
        """Every document of one kind, without vectors, ordered by id (for brand lists)."""

    @abc.abstractmethod
    def hashes(self) -> dict[str, str]:
        """id -> content_hash of every document (for incremental indexing)."""

    @abc.abstractmethod
    def bm25(self, tokens: Sequence[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        """Top k by BM25 over analysed tokens (OR semantics), best first."""

    @abc.abstractmethod
    def knn(self, field: VectorField, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[Hit]:
        """Top k documents by cosine similarity of the given vector field, best first. A
        document with several vectors of the field (images) is one hit, scored by its best."""

    @abc.abstractmethod
    def rebuilding(self) -> contextlib.AbstractContextManager["Store"]:
        """A fresh, empty store of the same backend and configuration; when the ``with``
        block exits without error it atomically replaces this store's contents (searches
        on this store keep answering from the old contents until then). On error the
        new contents are discarded. Used by ``index --rebuild``."""

    def writing(self, on_wait: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[list[str]]:
        """The right to write, held by one indexing run at a time (readers never take it).
        A second writer waits, calling ``on_wait`` with a message first. Yields notes on
        housekeeping done under it (e.g. unfinished rebuilds removed). Re-entrant within a
        thread. The default (a backend without a local folder) holds nothing."""
        return contextlib.nullcontext([])

    def verify(self) -> Damage:
        """Check what is stored can be read back (costs a scan: called by the indexer, not by
        searches). Never raises for damage: it is reported in the ``Damage``."""
        return Damage()

    def health(self) -> Health:
        """A cheap end-to-end check for monitoring: the store opens and answers a tiny query."""
        try:
            info = self.info()
            self.bm25(["health"], 1)
            for name, dim in info.dims.items():
                if name in ("text", "image") and dim:
                    self.knn(name, np.eye(1, int(dim), dtype=np.float32)[0], 1)  # type: ignore[arg-type]
        except (StoreError, ValueError) as e:
            return Health(failing=str(e))
        return Health()

    def close(self) -> None:  # pragma: no cover - trivial default
        pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
