"""The Elasticsearch backend: the same ``Store`` on a cluster, for catalogs that outgrow one machine.

Layout: reads and writes go through an alias ``<prefix>`` that points at one versioned
index ``<prefix>-v<UTC timestamp>``. ``rebuilding()`` fills a new versioned index and then
moves the alias in one atomic ``update_aliases`` call, so searches keep answering from
the old index until the swap; the old index is deleted afterwards.

The mapping comes from ``search.store.schema.es_mapping``; the embedding models, their
dims and a write generation live in the mapping's ``_meta``. Vector fields are mapped
when ``set_models`` gives their dims. A document's image vectors are a ``nested`` list, so
image kNN returns each document once, scored by its best image (see ``es_queries``).

An index of another schema version is refused with the advice to rebuild it; a writer
opens it all the same, for ``rebuilding()`` alone, which replaces it with a current one.

Writes use ``helpers.streaming_bulk`` with the document id as ``_id`` (an upsert replaces
the whole document), retrying rejected records (429) and transient server errors
(502/503/504) with exponential backoff. Records that still fail are reported after the
batch in a ``BulkWriteError`` (a ``StoreError``) listing each id and reason: never
silently lost. Each write call ends with a refresh, so its changes are searchable when it
returns. Unlike the embedded store, a write call is atomic per document, not per call: if
some records fail, the others are written (and the error says which ones failed).

Every failure to reach or use the cluster becomes a ``StoreError`` that names the URL and
the reason (never a raw transport traceback).
"""
from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search.store import es_queries, schema
from search.store.base import (
    Filters, Hit, IndexDoc, IndexInfo, ModelMismatchError, Store, StoreError, VectorField,
)
from search.store.es_client import (
    ENV_VARS, RETRY_STATUS, ElasticConfig, error_type, item_reason, make_client, reason, redact, transport_reason,
)

log = logging.getLogger(__name__)

_MAX_REPORTED = 20          # failed records listed in an error message (all are in .failures)


class BulkWriteError(StoreError):
    """Some records of a write call failed; ``failures`` lists (id, reason) for each one."""

    def __init__(self, action: str, failures: list[tuple[str, str]], total: int) -> None:
        self.failures = failures
        shown = "; ".join(f"{i}: {r}" for i, r in failures[:_MAX_REPORTED])
        more = f"; ... and {len(failures) - _MAX_REPORTED} more" if len(failures) > _MAX_REPORTED else ""
        super().__init__(f"{len(failures)} of {total} records failed to {action}: {shown}{more}")


@dataclass
class IndexMeta:
    """What the index behind the alias holds by its mapping (``ElasticStore.describe``)."""
    index: str                              # concrete index name
    models: dict[str, str] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    mapped_dims: dict[str, int] = field(default_factory=dict)   # vector fields in the mapping
    generation: int = 0
    schema_version: int | None = None
    unmapped: tuple[str, ...] = ()          # filter fields the mapping lacks (an index from an earlier version)

    def as_meta(self, **changes: Any) -> dict[str, Any]:
        meta = {"schema_version": schema.SCHEMA_VERSION, "models": self.models, "dims": self.dims,
                "generation": self.generation}
        meta.update(changes)
        return meta


class ElasticStore(Store):
    """``ElasticStore(config)`` opens the index behind alias ``config.index_prefix``.

    With ``create=True`` (the default) a missing index is created empty; with
    ``create=False`` it is a ``StoreError`` (for read-only users such as the service).
    """

    def __init__(self, config: ElasticConfig | None = None, *, create: bool = True,
                 _client: Any = None, _index: str | None = None) -> None:
        self.config = config or ElasticConfig.from_env()
        self.config.validate()
        self._owns_client = _client is None
        #: The ``elasticsearch.Elasticsearch`` client this store talks through.
        self.client = _client if _client is not None else make_client(self.config)
        self._lock = threading.RLock()
        self._meta_cache: IndexMeta | None = None
        self._closed = False
        self._outdated: StoreError | None = None     # why this index must be rebuilt first
        if _index is not None:                 # a store filling a new index during a rebuild
            self._alias: str | None = None
            self._target = _index
            return
        self._alias = self.config.index_prefix
        self._target = self._alias
        try:
            with self._errors("connect to"):
                self.client.info()
            self._open(create)
        except BaseException:
            self.close()
            raise

    # -- errors ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn client/transport exceptions into a StoreError naming the cluster and reason."""
        from elasticsearch import (
            ApiError, AuthenticationException, AuthorizationException, ConnectionError, ConnectionTimeout,
            TransportError,
        )
        try:
            yield
        except StoreError:
            raise
        except AuthenticationException:
            raise StoreError(f"Elasticsearch at {self.config.where()} refused the credentials while trying to "
                             f"{action} index '{self._target}': check DUPE_ES_API_KEY or "
                             f"DUPE_ES_USER/DUPE_ES_PASSWORD") from None
        except AuthorizationException as e:
            raise StoreError(f"Elasticsearch at {self.config.where()} does not permit these credentials to "
                             f"{action} index '{self._target}': {reason(e)}") from None
        except ApiError as e:
            raise StoreError(f"Elasticsearch at {self.config.where()} failed to {action} index "
                             f"'{self._target}' (HTTP {e.status_code}): {reason(e)}") from None
        except ConnectionTimeout:
            raise StoreError(f"Elasticsearch at {self.config.where()} did not answer within "
                             f"{self.config.request_timeout:g}s while trying to {action} index '{self._target}' "
                             f"(DUPE_ES_REQUEST_TIMEOUT)") from None
        except ConnectionError as e:
            hint = " (TLS: check DUPE_ES_CA_CERTS and the URL scheme)" if "tls" in type(e).__name__.lower() \
                or "ssl" in str(e).lower() or "certificate" in str(e).lower() else ""
            raise StoreError(f"cannot reach Elasticsearch at {self.config.where()} to {action} index "
                             f"'{self._target}': {transport_reason(e)}{hint}") from None
        except TransportError as e:
            raise StoreError(f"Elasticsearch at {self.config.where()} failed to {action} index "
                             f"'{self._target}': {transport_reason(e)}") from None

    # -- index / alias management ------------------------------------------------------
    def _index_settings(self) -> dict[str, Any]:
        return {"number_of_shards": self.config.shards, "number_of_replicas": self.config.replicas}

    def _new_index_name(self) -> str:
        now = time.time()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int(now * 1e6) % 1_000_000:06d}"
        return f"{self.config.index_prefix}-v{stamp}"

    def _create_index(self, mapping: dict[str, Any], aliases: dict[str, Any] | None = None) -> str:
        """Create a new versioned index (a fresh name on a clash); returns its name."""
        from elasticsearch import BadRequestError
        for _ in range(5):
            name = self._new_index_name()
            with self._errors("create"):
                try:
                    self.client.indices.create(index=name, mappings=mapping, settings=self._index_settings(),
                                            **({"aliases": aliases} if aliases else {}))
                except BadRequestError as e:
                    if error_type(e) == "resource_already_exists_exception":
                        time.sleep(0.001)
                        continue
                    raise
            return name
        raise StoreError(f"could not pick a free index name for prefix '{self.config.index_prefix}'")

    def _alias_indices(self) -> list[str]:
        """The indices the alias points at ([] when the alias does not exist)."""
        from elasticsearch import NotFoundError
        assert self._alias is not None
        with self._errors("look up the alias of"):
            try:
                return sorted(self.client.indices.get_alias(name=self._alias).body)
            except NotFoundError:
                return []

    def _open(self, create: bool) -> None:
        assert self._alias is not None
        indices = self._alias_indices()
        if not indices:
            with self._errors("look up"):
                concrete = bool(self.client.indices.exists(index=self._alias))
            if concrete:
                raise StoreError(f"'{self._alias}' on {self.config.where()} is an index, not an alias: this "
                                 f"store needs the name free for its alias; choose another DUPE_ES_INDEX_PREFIX")
            if not create:
                raise StoreError(f"no index at {self.config.where()} (alias '{self._alias}'): build one first "
                                 f"(dupe index CATALOG_DIR)")
            name = self._create_index(schema.es_mapping({}, {}), aliases={self._alias: {}})
            indices = self._alias_indices()
            if len(indices) > 1 and name != indices[0]:
                # Another process created a first index at the same moment: every racer
                # keeps the oldest name and drops its own.
                with self._errors("clean up"):
                    self.client.indices.delete(index=name, ignore_unavailable=True)
                indices = self._alias_indices()
        if len(indices) != 1:
            raise StoreError(f"alias '{self._alias}' on {self.config.where()} points at {len(indices)} indices "
                             f"({', '.join(indices) or 'none'}); it must point at exactly one: rebuild the index")
        meta = self._read_meta()
        if meta.schema_version != schema.SCHEMA_VERSION:
            outdated = StoreError(f"index '{meta.index}' on {self.config.where()} has schema version "
                                  f"{meta.schema_version}, this program needs {schema.SCHEMA_VERSION}: rebuild it "
                                  f"(dupe index CATALOG_DIR --rebuild)")
            if not create:
                raise outdated
            # Opened for writing anyway, so that ``rebuilding()`` can replace it (what the
            # message advises); searches and writes raise the message until then.
            self._outdated = outdated
            return
        if create and meta.unmapped:
            # A writer maps them at once. If that is refused, writes into this index fail
            # with the reason and the advice to rebuild, and a rebuild (a new index) works.
            try:
                self._map_new_fields(meta)
            except StoreError as e:
                log.warning("%s", e)

    def _map_new_fields(self, meta: IndexMeta) -> None:
        """Add the filter fields an index built by an earlier version lacks to its mapping
        (a mapping may gain fields; documents written before have no value for them until
        they are indexed again). Writers call this; readers leave the mapping alone (a
        filter on an unmapped field matches nothing)."""
        fields = schema.es_mapping({}, {})["properties"]
        try:
            with self._errors("add fields to the mapping of"):
                self.client.indices.put_mapping(index=self._target,
                                             properties={name: fields[name] for name in meta.unmapped})
        except StoreError as e:
            raise StoreError(f"index '{meta.index}' on {self.config.where()} was built by an earlier version "
                             f"(its mapping lacks {', '.join(meta.unmapped)}) and adding them to the mapping "
                             f"failed ({e}): rebuild it (dupe index CATALOG_DIR --rebuild)") from None
        with self._lock:
            self._meta_cache = None

    def _read_meta(self) -> IndexMeta:
        with self._errors("read the mapping of"):
            body = self.client.indices.get_mapping(index=self._target).body
        if len(body) != 1:
            raise StoreError(f"'{self._target}' on {self.config.where()} resolves to {len(body)} indices, "
                             f"expected exactly one")
        (index, entry), = body.items()
        mappings = entry.get("mappings", {})
        raw = mappings.get("_meta") or {}
        properties = mappings.get("properties", {})
        mapped = {name: dim for name in schema.VECTOR_FIELDS
                  if (dim := schema.es_mapped_dim(properties, name)) is not None}
        meta = IndexMeta(index=index, models=dict(raw.get("models") or {}),
                     dims={k: int(v) for k, v in (raw.get("dims") or {}).items()}, mapped_dims=mapped,
                     generation=int(raw.get("generation") or 0), schema_version=raw.get("schema_version"),
                     unmapped=tuple(name for name in schema.FILTER_FIELDS if name not in properties))
        with self._lock:
            self._meta_cache = meta
        return meta

    def describe(self) -> IndexMeta:
        """What the index behind the alias is now (read from its mapping): for tests and
        diagnostics."""
        return self._read_meta()

    def _meta(self) -> IndexMeta:
        with self._lock:
            cached = self._meta_cache
        return cached if cached is not None else self._read_meta()

    def _put_meta(self, meta: dict[str, Any], properties: dict[str, Any] | None = None) -> None:
        with self._errors("update the mapping of"):
            self.client.indices.put_mapping(index=self._target, meta=meta, **({"properties": properties}
                                                                           if properties else {}))
        with self._lock:
            self._meta_cache = None

    def _bump_generation(self) -> None:
        meta = self._read_meta()
        self._put_meta(meta.as_meta(generation=meta.generation + 1))

    def _check_current(self) -> None:
        """Raise why this index must be rebuilt before it is searched or written, if it must."""
        if self._outdated is not None:
            raise self._outdated.with_traceback(None)

    def _count(self) -> int:
        with self._errors("count documents in"):
            return int(self.client.count(index=self._target)["count"])

    def _refresh(self) -> None:
        with self._errors("refresh"):
            self.client.indices.refresh(index=self._target)

    # -- Store interface -------------------------------------------------------------
    def info(self) -> IndexInfo:
        meta = self._read_meta()
        return IndexInfo(count=self._count(), models=dict(meta.models), dims=dict(meta.dims),
                         generation=meta.generation)

    def set_models(self, models: dict[str, str], dims: dict[str, int]) -> None:
        unknown = set(dims) - set(schema.VECTOR_FIELDS)
        if unknown:
            raise ValueError(f"unknown vector field(s) {sorted(unknown)}; known: {list(schema.VECTOR_FIELDS)}")
        self._check_current()
        meta = self._read_meta()
        if meta.unmapped:
            self._map_new_fields(meta)
        count = self._count()
        if meta.models and meta.models != models and count:
            raise ModelMismatchError(_mismatch(meta.models, models))
        clash = {f for f, d in dims.items() if f in meta.mapped_dims and meta.mapped_dims[f] != int(d)}
        new_meta = meta.as_meta(models=dict(models), dims={k: int(v) for k, v in dims.items()},
                                generation=meta.generation + 1)
        if not clash:
            props = {k: v for f, d in dims.items() for k, v in schema.es_vector_properties(f, d).items()}
            self._put_meta(new_meta, props)
            return
        if count:
            raise ModelMismatchError(f"the index holds {sorted(clash)} vectors of {[meta.mapped_dims[f] for f in sorted(clash)]} "
                                     f"dimensions, {[int(dims[f]) for f in sorted(clash)]} asked for: rebuild the "
                                     f"index (dupe index CATALOG_DIR --rebuild)")
        # Empty index whose vector fields have other sizes: a mapping cannot change a
        # field's dims, so replace the (empty) index with a freshly mapped one.
        mapping = schema.es_mapping(new_meta["dims"], new_meta["models"], generation=new_meta["generation"])
        self._replace_empty_index(meta.index, mapping)

    def _replace_empty_index(self, old: str, mapping: dict[str, Any]) -> None:
        if self._alias is None:        # a rebuild target nobody reads yet: recreate it in place
            with self._errors("recreate"):
                self.client.indices.delete(index=old)
                self.client.indices.create(index=old, mappings=mapping, settings=self._index_settings())
        else:
            new = self._create_index(mapping)
            self._swap_alias([old], new)
        with self._lock:
            self._meta_cache = None

    def check_models(self, models: dict[str, str]) -> None:
        current = self._read_meta().models
        wanted = {k: v for k, v in models.items() if k in current}
        if current and {k: current[k] for k in wanted} != wanted:
            raise ModelMismatchError(_mismatch(current, models))

    def upsert(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        self._check_current()
        meta = self._read_meta()
        if meta.unmapped:       # opened read-only on an index from an earlier version
            self._map_new_fields(meta)
        problems = [(d.id, p) for d in docs if (p := _doc_problem(d, meta))]
        if problems:     # refuse the whole call before writing anything
            raise BulkWriteError("index", problems, len(docs))
        actions = ({"_op_type": "index", "_index": self._target, "_id": d.id, "_source": _es_source(d)}
                   for d in docs)
        self._write("index", actions, len(docs))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        self._check_current()
        actions = ({"_op_type": "delete", "_index": self._target, "_id": i} for i in ids)
        self._write("delete", actions, len(ids))

    def _write(self, action: str, actions: Iterable[dict[str, Any]], total: int) -> None:
        from elasticsearch import helpers
        failures: list[tuple[str, str]] = []
        applied = 0
        try:
            with self._errors(f"{action} documents in"):
                for ok, item in helpers.streaming_bulk(
                        self.client, actions, chunk_size=self.config.chunk_size,
                        max_retries=self.config.max_retries, initial_backoff=self.config.initial_backoff,
                        max_backoff=self.config.max_backoff, raise_on_error=False, raise_on_exception=False,
                        yield_ok=True, **_bulk_retry_option()):
                    if ok:
                        applied += 1
                        continue
                    op, info = next(iter(item.items()))
                    if op == "delete" and info.get("status") == 404:
                        continue          # deleting what is not there is fine
                    failures.append((str(info.get("_id")), item_reason(info)))
        finally:
            if applied:
                # Whatever was written is made visible (and counted) even when the call fails.
                with contextlib.suppress(StoreError):
                    self._refresh()
                    self._bump_generation()
        if failures:
            raise BulkWriteError(action, failures, total)

    def get(self, ids: Sequence[str], *, vectors: bool = True) -> list[IndexDoc | None]:
        ids = list(ids)
        found: dict[str, IndexDoc] = {}
        unique = list(dict.fromkeys(ids))
        excludes = {} if vectors else {"_source_excludes": _VECTOR_SOURCES}
        for start in range(0, len(unique), 1000):
            with self._errors("get documents from"):
                resp = self.client.mget(index=self._target, ids=unique[start:start + 1000], **excludes)
            for d in resp["docs"]:
                if d.get("found"):
                    found[d["_id"]] = schema.from_flat(d["_source"])
                elif "error" in d:
                    raise StoreError(f"Elasticsearch at {self.config.where()} failed to get document "
                                     f"'{d.get('_id')}' from '{self._target}': {item_reason(d)}")
        return [found.get(i) for i in ids]

    def scan(self, kind: str) -> list[IndexDoc]:
        from elasticsearch import helpers
        docs: list[IndexDoc] = []
        with self._errors("scan"):
            for hit in helpers.scan(self.client, index=self._target, query={"query": {"term": {"kind": kind}}},
                                    _source_excludes=_VECTOR_SOURCES, size=1000, scroll="2m"):
                docs.append(schema.from_flat(hit["_source"]))
        docs.sort(key=lambda d: d.id)
        return docs

    def hashes(self) -> dict[str, str]:
        from elasticsearch import helpers
        out: dict[str, str] = {}
        with self._errors("scan"):
            for hit in helpers.scan(self.client, index=self._target, query={"query": {"match_all": {}}},
                                    _source=["content_hash"], size=1000, scroll="2m"):
                out[hit["_id"]] = hit["_source"]["content_hash"]
        return out

    def bm25(self, tokens: Sequence[str], k: int, filters: Filters = Filters()) -> list[Hit]:
        if k <= 0 or not es_queries.query_tokens(tokens) or filters.ids == ():
            return []
        self._check_current()
        body = es_queries.bm25_query(tokens, k, filters)
        # With several shards, score with index-wide term statistics (as one shard would).
        extra = {"search_type": "dfs_query_then_fetch"} if self.config.shards > 1 else {}
        with self._errors("search"):
            resp = self.client.search(index=self._target, **body, **extra)
        return [Hit(h["_id"], float(h["_score"])) for h in resp["hits"]["hits"]]

    def knn(self, field: VectorField, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[Hit]:
        if field not in schema.VECTOR_FIELDS:
            raise ValueError(f"unknown vector field {field!r}")
        if k <= 0 or filters.ids == ():
            return []
        self._check_current()
        q = np.asarray(vector, dtype=np.float32)
        dim = self._meta().mapped_dims.get(field)
        if dim is None or q.shape != (dim,):
            dim = self._read_meta().mapped_dims.get(field)      # maybe stale: another process wrote
            if dim is None:
                return []               # no vectors of this field can exist yet
            if q.shape != (dim,):
                raise ValueError(f"query vector has shape {q.shape}, index '{field}' vectors have {dim} dimensions")
        if not np.all(np.isfinite(q)) or not np.any(q):
            raise ValueError("query vector must be finite and non-zero for cosine similarity")
        rescore = self.config.knn_rescore
        body = es_queries.knn_query(field, q, k, filters, rescore=rescore)
        with self._errors("search"):
            resp = self.client.search(index=self._target, **body)
        # One hit per document: image vectors are nested, and nested kNN ranks documents.
        hits = [Hit(h["_id"], es_queries.knn_cosine(h["_score"], rescore=rescore)) for h in resp["hits"]["hits"]]
        hits.sort(key=lambda h: -h.score)     # stable; already in order from Elasticsearch
        return hits

    # -- rebuild ---------------------------------------------------------------------
    @contextlib.contextmanager
    def rebuilding(self) -> Iterator["ElasticStore"]:
        if self._alias is None:
            raise StoreError("a store that is itself being rebuilt cannot start another rebuild")
        old_meta = self._read_meta()
        new_index = self._create_index(schema.es_mapping({}, {}, generation=old_meta.generation + 1))
        fresh = ElasticStore(self.config, _client=self.client, _index=new_index)
        try:
            yield fresh
            fresh._refresh()
            self._swap_alias(self._alias_indices(), new_index)
            self._outdated = None           # the alias now names an index of this schema
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.indices.delete(index=new_index, ignore_unavailable=True)
            raise
        finally:
            with self._lock:
                self._meta_cache = None

    def _swap_alias(self, old: list[str], new: str) -> None:
        """Point the alias at ``new`` instead of ``old`` in one atomic call, then drop ``old``."""
        assert self._alias is not None
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self._alias, "must_exist": True}}
                                         for i in old if i != new]
        actions.append({"add": {"index": new, "alias": self._alias}})
        with self._errors("move the alias to"):
            resp = self.client.indices.update_aliases(actions=actions)
        if resp.get("errors"):
            raise StoreError(f"moving alias '{self._alias}' to '{new}' on {self.config.where()} partly failed: "
                             f"{resp.get('action_results')}")
        stale = [i for i in old if i != new]
        if stale:
            try:
                with self._errors("delete old"):
                    self.client.indices.delete(index=",".join(stale), ignore_unavailable=True)
            except StoreError as e:      # the swap succeeded; leftovers only cost disk
                log.warning("rebuild done, but old indices were not deleted: %s", e)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            with contextlib.suppress(Exception):
                self.client.close()


# -- helpers -------------------------------------------------------------------------
def _bulk_retry_option() -> dict[str, Any]:
    """Retry records rejected with 429 *and* 502/503/504 where the client supports choosing
    (``retry_on_status``, elasticsearch-py >= 8.16); older clients retry 429 only."""
    import inspect

    from elasticsearch import helpers
    if "retry_on_status" in inspect.signature(helpers.streaming_bulk).parameters:
        return {"retry_on_status": RETRY_STATUS}
    return {}


def _es_source(doc: IndexDoc) -> dict[str, Any]:
    """The document as sent to Elasticsearch: the flat schema dict without empty values
    (a missing field and ``null`` mean the same; a strict mapping rejects nulls for
    fields it does not map, such as a vector role not configured)."""
    return {k: v for k, v in schema.to_flat(doc).items() if v is not None}


#: Source fields holding vectors (left out when vectors are not wanted), with the one of
#: schema version 1 (``image_vector``), read while such an index is rebuilt.
_VECTOR_SOURCES = [*schema.FLAT_VECTORS.values(), "image_vector"]


def _doc_problem(doc: IndexDoc, meta: IndexMeta) -> str | None:
    """Why Elasticsearch would refuse this document's vectors, checked before writing."""
    for name in schema.VECTOR_FIELDS:
        if not schema.vectors_of(doc, name):
            continue
        dim = meta.mapped_dims.get(name)
        if dim is None:
            return f"has a {name} vector but no {name} model is set (call set_models first)"
        problem = schema.vectors_problem(doc, name, dim)
        if problem:
            return problem
    if doc.price_min is not None and not math.isfinite(doc.price_min):
        return "price_min is not a finite number"
    return None










def _mismatch(current: dict[str, str], wanted: dict[str, str]) -> str:
    return (f"the index was built with models {current}, but {wanted} are configured: "
            f"use the same models, or rebuild the index (dupe index CATALOG_DIR --rebuild)")


def delete_indices(config: ElasticConfig, client: Any = None) -> list[str]:
    """Delete the alias ``config.index_prefix`` and every ``<prefix>-v*`` index (for tests
    and ``dupe`` maintenance). Returns the deleted index names."""
    es = client if client is not None else make_client(config)
    store_where = config.where()
    try:
        names = sorted(es.indices.get(index=f"{config.index_prefix}-v*", allow_no_indices=True,
                                      expand_wildcards="all").body)
        if names:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        return names
    except Exception as e:  # noqa: BLE001 - reported as a StoreError
        raise StoreError(f"cannot delete indices '{config.index_prefix}-v*' on {store_where}: {e}") from None
    finally:
        if client is None:
            with contextlib.suppress(Exception):
                es.close()


__all__ = ["BulkWriteError", "ENV_VARS", "ElasticConfig", "ElasticStore", "IndexMeta", "delete_indices", "make_client",
           "redact"]
