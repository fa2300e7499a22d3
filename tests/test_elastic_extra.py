"""What only the Elasticsearch store promises: versioned indices behind an alias, atomic
alias swaps, per-record error reports, retries on 429, configuration from the environment
and clear errors when the cluster cannot be reached."""
from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from search.store import schema
from search.store.base import Filters, ModelMismatchError, StoreError
from search.store.elastic import BulkWriteError, ElasticConfig, ElasticStore, _es_source, redact
from tests.store_contract import DIMS, MODELS, basis, catalog_docs, doc, unit

pytest_plugins = ["tests.es_server"]

pytestmark = pytest.mark.slow  # the Elasticsearch emulator


@pytest.fixture
def make(es_store_factory):
    return es_store_factory


@pytest.fixture
def store(make):
    s = make()
    s.set_models(MODELS, DIMS)
    return s


def alias_targets(store: ElasticStore) -> list[str]:
    return sorted(store.client.indices.get_alias(name=store.config.index_prefix).body)


def prefix_indices(store: ElasticStore) -> list[str]:
    return sorted(store.client.indices.get(index=f"{store.config.index_prefix}-v*").body)


# -- layout: alias over a versioned index ------------------------------------------------
def test_alias_points_at_one_versioned_index_with_schema_meta(store):
    (index,) = alias_targets(store)
    assert index.startswith(store.config.index_prefix + "-v")
    mapping = store.client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["_meta"]["models"] == MODELS and mapping["_meta"]["dims"] == DIMS
    assert mapping["properties"]["text_vector"]["dims"] == 8
    images = mapping["properties"]["image_vectors"]                 # several per document: nested
    assert images["type"] == "nested" and images["properties"]["vector"]["index_options"]["type"] == "int8_hnsw"
    assert mapping["properties"]["tokens"]["analyzer"] == "whitespace"


def test_rebuild_moves_alias_atomically_and_deletes_old_index(store):
    store.upsert(catalog_docs())
    (old,) = alias_targets(store)
    generation = store.info().generation
    with store.rebuilding() as fresh:
        (new,) = [i for i in prefix_indices(store) if i != old]
        assert alias_targets(store) == [old]                  # searches still served by the old index
        fresh.set_models(MODELS, DIMS)
        fresh.upsert([doc("n1", "brand new tumbler", text=basis(8, 4), image=basis(6, 4))])
        assert {h.id for h in store.bm25(["yoga"], 5)} == {"p1", "p2"}
        assert store.bm25(["tumbler"], 5) == []
    assert alias_targets(store) == [new]
    assert prefix_indices(store) == [new]                     # old index cleaned up
    assert [h.id for h in store.bm25(["tumbler"], 5)] == ["n1"]
    assert store.info().generation > generation


def test_failed_rebuild_deletes_new_index_and_keeps_alias(store):
    store.upsert(catalog_docs())
    before = alias_targets(store)
    with pytest.raises(KeyError):
        with store.rebuilding() as fresh:
            fresh.set_models(MODELS, DIMS)
            fresh.upsert(catalog_docs()[:1])
            raise KeyError("indexer crashed")
    assert alias_targets(store) == before
    assert prefix_indices(store) == before
    assert store.info().count == 5


def test_other_connections_follow_a_rebuild(make, store):
    store.upsert(catalog_docs())
    reader = make("default")                   # a second store on the same alias (the service)
    assert reader.info().count == 5
    with store.rebuilding() as fresh:
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs()[:2])
        assert reader.info().count == 5
    assert reader.info().count == 2
    assert reader.knn("text", unit(basis(8, 1)), 1)[0].id == "p2"


def test_missing_index_without_create_is_a_clear_error(es_config):
    config = replace(es_config, index_prefix="dupe-test-never-created")
    with pytest.raises(StoreError, match="no index at .*dupe-test-never-created"):
        ElasticStore(config, create=False)


def test_prefix_taken_by_a_plain_index_is_refused(make, es_config):
    s = make("plain")
    name = "dupe-test-plain-index-" + s.config.index_prefix.split("-")[2]
    s.client.indices.create(index=name)
    try:
        with pytest.raises(StoreError, match="is an index, not an alias"):
            ElasticStore(replace(es_config, index_prefix=name))
    finally:
        s.client.indices.delete(index=name)


def test_set_models_on_empty_index_may_change_dims(make):
    s = make()
    s.set_models(MODELS, DIMS)
    s.set_models({"text": "bigger@2", "image": "fake-image@1"}, {"text": 12, "image": 6})
    assert s.info().dims == {"text": 12, "image": 6}
    s.upsert([doc("a", "x", text=np.arange(1, 13))])
    assert s.knn("text", unit(np.arange(1, 13)), 1)[0].id == "a"
    assert len(alias_targets(s)) == 1 and len(prefix_indices(s)) == 1
    with pytest.raises(ModelMismatchError):
        s.set_models(MODELS, DIMS)


def test_generation_increases_with_every_write(store):
    g0 = store.info().generation
    store.upsert(catalog_docs()[:1])
    g1 = store.info().generation
    store.delete(["p1"])
    assert g0 < g1 < store.info().generation


# -- indexes built by an earlier version ------------------------------------------------
def old_index(make, name: str = "old") -> str:
    """An index as the version before ``dupe_of`` built it (its mapping lacks the field),
    holding p1, behind its alias; returns the alias (``make(name)`` opens it)."""
    probe = make("probe")
    prefix = probe.config.index_prefix.removesuffix("-probe") + f"-{name}"
    mapping = schema.es_mapping(DIMS, MODELS, generation=3)
    del mapping["properties"]["dupe_of"]
    probe.client.indices.create(index=f"{prefix}-v1", mappings=mapping, aliases={prefix: {}},
                             settings={"number_of_replicas": 0})
    source = _es_source(catalog_docs()[0])
    del source["dupe_of"]
    probe.client.index(index=prefix, id="p1", document=source, refresh=True)
    return prefix


def test_an_index_without_a_new_filter_field_gets_it_when_opened_for_writing(make, es_config):
    prefix = old_index(make)
    reader = ElasticStore(replace(es_config, index_prefix=prefix), create=False)     # e.g. the service
    assert reader.describe().unmapped == ("dupe_of",)           # readers leave the mapping alone
    assert reader.bm25(["yoga"], 5, Filters(dupe_of=("bp-align",))) == []   # an unmapped field matches nothing
    assert [h.id for h in reader.bm25(["yoga"], 5)] == ["p1"]
    assert reader.get(["p1"])[0].dupe_of == []
    writer = make("old")                                             # e.g. dupe index
    (index,) = alias_targets(writer)
    mapping = writer.client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["dupe_of"] == {"type": "keyword"}
    assert mapping["_meta"]["models"] == MODELS and mapping["_meta"]["generation"] == 3    # kept
    writer.upsert(catalog_docs())
    assert {h.id for h in reader.knn("text", unit(np.ones(8)), 10, Filters(dupe_of=("bp-align",)))} == {"p1", "p2"}
    reader.close()


def test_an_index_whose_mapping_cannot_be_updated_asks_for_a_rebuild(proxy, make, es_config):
    proxy.forbid_mapping_updates = old_index(make)
    writer = make("old", urls=(proxy.url,))                          # opens (dupe index --rebuild needs it)
    assert [h.id for h in writer.bm25(["yoga"], 5)] == ["p1"]       # reading needs no new field
    rebuild = r"lacks dupe_of.*security_exception.*rebuild it \(dupe index CATALOG_DIR --rebuild\)"
    with pytest.raises(StoreError, match=rebuild):
        writer.set_models(MODELS, DIMS)
    with pytest.raises(StoreError, match=rebuild):
        writer.upsert(catalog_docs())
    assert writer.info().count == 1                                  # nothing written
    with writer.rebuilding() as fresh:                               # what the message asks for
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs())
    assert {h.id for h in writer.bm25(["yoga"], 5, Filters(dupe_of=("bp-align",)))} == {"p1", "p2"}

    proxy.forbid_mapping_updates = old_index(make, "old2")
    late = make("old2", urls=(proxy.url,))
    proxy.forbid_mapping_updates = None
    late.upsert(catalog_docs())                                       # a write maps the field first
    assert {h.id for h in late.bm25(["yoga"], 5, Filters(dupe_of=("bp-align",)))} == {"p1", "p2"}


# -- per-record error report -------------------------------------------------------------
def test_failing_record_is_reported_and_the_others_written(store):
    docs = catalog_docs()
    docs[1].moq = 2 ** 40                      # out of range for the integer field: Elasticsearch refuses it
    with pytest.raises(BulkWriteError) as err:
        store.upsert(docs)
    assert [i for i, _ in err.value.failures] == ["p2"]
    reason = err.value.failures[0][1]
    assert "HTTP 400" in reason and "moq" in reason
    assert "1 of 5 records failed to index: p2: HTTP 400" in str(err.value)
    assert isinstance(err.value, StoreError)
    assert store.get(["p2"]) == [None]
    assert store.info().count == 4             # the good records are written and visible


def test_invalid_vectors_are_refused_before_anything_is_written(store):
    bad_dims = doc("x1", "wrong size", text=np.ones(5))
    zero = doc("x2", "zero", image=np.ones(6))
    zero.image_vectors = (unit(np.ones(6)), np.zeros(6, dtype=np.float32))
    nan = doc("x3", "nan", text=np.ones(8))
    nan.text_vector[0] = math.nan
    with pytest.raises(BulkWriteError) as err:
        store.upsert([catalog_docs()[0], bad_dims, zero, nan])
    assert [i for i, _ in err.value.failures] == ["x1", "x2", "x3"]
    assert "shape (5,)" in err.value.failures[0][1] and "image vector 2 is all zeros" in err.value.failures[1][1]
    assert store.info().count == 0


def test_vectors_need_set_models_first(make):
    s = make()
    with pytest.raises(BulkWriteError, match="call set_models first"):
        s.upsert(catalog_docs()[:1])
    s.upsert([doc("t1", "no vectors at all")])              # documents without vectors are fine
    assert s.get(["t1"])[0].tokens == ["no", "vectors", "at", "all"]
    assert s.knn("text", unit(np.ones(8)), 3) == []


def test_error_report_lists_at_most_twenty_ids():
    err = BulkWriteError("index", [(f"id{i}", "boom") for i in range(25)], 30)
    assert str(err).startswith("25 of 30 records failed to index: id0: boom;")
    assert "id19: boom; ... and 5 more" in str(err) and "id20" not in str(err)
    assert len(err.failures) == 25


# -- retrieval details ---------------------------------------------------------------------
def test_knn_scores_are_exact_cosines_after_rescoring(store):
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(60, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store.upsert([doc(f"r{i}", "w", text=v) for i, v in enumerate(vecs)])
    q = unit(rng.normal(size=8))
    exact = vecs @ q
    hits = store.knn("text", q, 10)
    assert [h.id for h in hits] == [f"r{i}" for i in np.argsort(-exact)[:10]]
    for h in hits:
        assert h.score == pytest.approx(float(exact[int(h.id[1:])]), abs=1e-5)


def test_image_knn_ranks_documents_by_their_best_image_with_exact_cosines(store):
    rng = np.random.default_rng(5)
    images = {f"r{i}": rng.normal(size=(1 + i % 3, 6)).astype(np.float32) for i in range(40)}
    for m in images.values():
        m /= np.linalg.norm(m, axis=1, keepdims=True)
    store.upsert([doc(i, "w", images=list(m)) for i, m in images.items()])
    for q in (unit(rng.normal(size=6)), images["r5"][2]):
        best = {i: float((m @ q).max()) for i, m in images.items()}
        hits = store.knn("image", q, 10)
        assert [h.id for h in hits] == sorted(best, key=lambda i: -best[i])[:10]     # each document once
        for h in hits:
            assert h.score == pytest.approx(best[h.id], abs=1e-5)
    assert store.knn("image", images["r5"][2], 1)[0].id == "r5"          # by its third image


def schema_1_index(make, name: str = "v1") -> str:
    """An index as schema version 1 left it (one ``image_vector`` per document); its prefix."""
    probe = make(f"{name}-probe")
    prefix = probe.config.index_prefix.removesuffix(f"-{name}-probe") + f"-{name}"
    mapping = schema.es_mapping({"text": 8}, MODELS, generation=3)
    mapping["properties"]["image_vector"] = schema.es_vector_mapping(6)
    mapping["_meta"].update(schema_version=1, dims=DIMS)
    probe.client.indices.create(index=f"{prefix}-v1", mappings=mapping, aliases={prefix: {}},
                             settings={"number_of_replicas": 0})
    source = {k: v for k, v in _es_source(catalog_docs()[0]).items() if k != "image_vectors"}
    probe.client.index(index=prefix, id="p1", document={**source, "image_vector": [float(x) for x in unit(basis(6, 0))]},
                    refresh=True)
    return prefix


def test_an_index_of_schema_version_1_asks_for_a_rebuild_which_works(make, es_config):
    prefix = schema_1_index(make)
    rebuild = r"schema version 1, this program needs 2: rebuild it \(dupe index CATALOG_DIR --rebuild\)"
    with pytest.raises(StoreError, match=rebuild):
        ElasticStore(replace(es_config, index_prefix=prefix), create=False)        # e.g. the service
    writer = make("v1")                                      # opens: dupe index --rebuild needs it
    for use in (lambda: writer.set_models(MODELS, DIMS), lambda: writer.upsert(catalog_docs()),
                lambda: writer.knn("image", unit(basis(6, 0)), 3), lambda: writer.bm25(["yoga"], 3)):
        with pytest.raises(StoreError, match=rebuild):
            use()
    old, = writer.get(["p1"], vectors=False)                   # last valid versions stay readable
    assert old.tokens == catalog_docs()[0].tokens and old.image_vectors == ()
    assert len(writer.get(["p1"])[0].image_vectors) == 1
    with writer.rebuilding() as fresh:                          # what the message asks for
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs())
    assert writer.knn("image", unit(basis(6, 0)), 1)[0].id == "p1"
    with ElasticStore(replace(es_config, index_prefix=prefix), create=False) as reader:
        assert reader.info().count == 5 and reader.knn("image", unit(basis(6, 0)), 1)[0].id == "p1"


def test_knn_without_rescoring_still_returns_cosine_scale(make):
    s = make(knn_rescore=False)
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    hits = s.knn("text", unit(basis(8, 1)), 2)
    assert hits[0].id == "p2" and hits[0].score == pytest.approx(1.0, abs=5e-2)
    assert -1.0 <= hits[1].score < hits[0].score


def test_knn_refuses_bad_query_vectors(store):
    store.upsert(catalog_docs())
    with pytest.raises(ValueError, match="dimensions"):
        store.knn("text", np.ones(3), 5)
    with pytest.raises(ValueError, match="non-zero"):
        store.knn("text", np.zeros(8), 5)
    with pytest.raises(ValueError, match="unknown vector field"):
        store.knn("audio", np.ones(8), 5)   # type: ignore[arg-type]


def test_bm25_scores_are_lucene_bm25(store):
    docs = [doc("a", "red shoe red"), doc("b", "blue shoe"), doc("c", "blue hat")]
    store.upsert(docs)

    def bm25(term: str, d) -> float:      # Elasticsearch's BM25: k1=1.2, b=0.75, (k1 + 1) boost
        n_docs, lengths = len(docs), [len(x.tokens) for x in docs]
        df = sum(term in x.tokens for x in docs)
        idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        tf = d.tokens.count(term)
        norm = 1.2 * (0.25 + 0.75 * len(d.tokens) / (sum(lengths) / n_docs))
        return 2.2 * idf * tf / (tf + norm)

    hits = store.bm25(["red", "shoe"], 5)
    assert [h.id for h in hits] == ["a", "b"]
    assert hits[0].score == pytest.approx(bm25("red", docs[0]) + bm25("shoe", docs[0]), rel=1e-4)
    assert hits[1].score == pytest.approx(bm25("shoe", docs[1]), rel=1e-4)
    # tokens are case-sensitive and final: no lowercasing or stemming in the index
    assert store.bm25(["Red"], 5) == [] and store.bm25(["shoes"], 5) == []


def test_filters_on_ids_and_labels_inside_knn(store):
    store.upsert(catalog_docs())
    got = store.knn("text", unit(basis(8, 0)), 5, Filters(ids=("p3", "p4")))
    assert [h.id for h in got] == ["p3", "p4"] or [h.id for h in got] == ["p4", "p3"]
    assert store.knn("text", unit(basis(8, 0)), 5, Filters(ids=())) == []
    assert [h.id for h in store.bm25(["yoga"], 5, Filters(labels=("equal_quality",)))] == ["p2"]


# -- configuration -----------------------------------------------------------------------
def test_config_from_env():
    env = {"DUPE_ES_URL": "https://es1:9200, https://es2:9200", "DUPE_ES_API_KEY": "k3y",
           "DUPE_ES_SHARDS": "3", "DUPE_ES_REPLICAS": "2", "DUPE_ES_INDEX_PREFIX": "shop",
           "DUPE_ES_VERIFY_CERTS": "false", "DUPE_ES_REQUEST_TIMEOUT": "12.5"}
    c = ElasticConfig.from_env(env)
    assert c.urls == ("https://es1:9200", "https://es2:9200")
    assert (c.api_key, c.user, c.password) == ("k3y", None, None)
    assert (c.shards, c.replicas, c.index_prefix, c.verify_certs, c.request_timeout) == (3, 2, "shop", False, 12.5)
    assert ElasticConfig.from_env({}) == ElasticConfig()


def test_config_basic_auth_and_ca_certs(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    c = ElasticConfig.from_env({"DUPE_ES_USER": "elastic", "DUPE_ES_PASSWORD": "pw", "DUPE_ES_CA_CERTS": str(ca)})
    assert (c.user, c.password, c.ca_certs, c.api_key) == ("elastic", "pw", str(ca), None)


@pytest.mark.parametrize("env, message", [
    ({"DUPE_ES_SHARDS": "two"}, "DUPE_ES_SHARDS='two' is not a whole number"),
    ({"DUPE_ES_REPLICAS": "-1"}, "replicas >= 0"),
    ({"DUPE_ES_INDEX_PREFIX": "Dupe"}, "must be lowercase"),
    ({"DUPE_ES_URL": "localhost:9200"}, "must look like http"),
    ({"DUPE_ES_USER": "elastic"}, "must be set together"),
    ({"DUPE_ES_API_KEY": "k", "DUPE_ES_USER": "u", "DUPE_ES_PASSWORD": "p"}, "not both"),
    ({"DUPE_ES_CA_CERTS": "/nonexistent/ca.pem"}, "does not exist"),
    ({"DUPE_ES_VERIFY_CERTS": "maybe"}, "use true or false"),
])
def test_bad_config_is_a_clear_store_error(env, message):
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ElasticConfig.from_env(env)


def test_urls_are_redacted_in_messages():
    assert redact("https://elastic:secret@es.example:9243/x") == "https://es.example:9243/x"
    assert redact("http://es:9200") == "http://es:9200"


# -- unreachable clusters ------------------------------------------------------------------
def test_connection_failure_is_a_store_error_naming_the_url():
    from tests.es_server import free_port
    port = free_port()                       # nothing listens there
    config = ElasticConfig(urls=(f"http://user:pw@127.0.0.1:{port}",), request_timeout=2, max_retries=0)
    with pytest.raises(StoreError) as err:
        ElasticStore(config)
    text = str(err.value)
    assert f"cannot reach Elasticsearch at http://127.0.0.1:{port}" in text
    assert "pw" not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_cluster_going_away_mid_session_is_a_store_error(es_config):
    proxy = FaultyProxy(es_config.urls[0])
    try:
        config = replace(es_config, urls=(proxy.url,), index_prefix="dupe-test-goes-away", max_retries=0,
                         request_timeout=3)
        s = ElasticStore(config)
        s.set_models(MODELS, DIMS)
        proxy.down = True
        with pytest.raises(StoreError, match="Elasticsearch at"):
            s.bm25(["yoga"], 5)
        with pytest.raises(StoreError):
            s.upsert(catalog_docs())
        proxy.down = False
        s.client.indices.delete(index=",".join(alias_targets(s)))
        s.close()
    finally:
        proxy.close()


# -- retries on 429 -------------------------------------------------------------------------
class FaultyProxy:
    """An HTTP proxy to the test cluster that can reject bulk records with 429 or fail."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.reject_bulk_items = 0        # reject every record of this many _bulk requests
        self.down = False                 # answer everything with 503
        self.forbid_mapping_updates: str | None = None   # answer mapping updates of this index/alias with 403
        self.bulk_requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                es_headers = {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}
                if proxy.down:
                    self._reply(503, json.dumps({"error": {"type": "unavailable", "reason": "proxy down"},
                                                 "status": 503}).encode(), es_headers)
                    return
                if self.command == "PUT" and self.path.split("?")[0] == f"/{proxy.forbid_mapping_updates}/_mapping":
                    self._reply(403, json.dumps({"error": {"type": "security_exception",
                                                           "reason": "action [indices:admin/mapping/put] is "
                                                                     "unauthorized"}, "status": 403}).encode(),
                                es_headers)
                    return
                if self.path.split("?")[0].endswith("/_bulk"):
                    proxy.bulk_requests += 1
                    if proxy.reject_bulk_items > 0:
                        proxy.reject_bulk_items -= 1
                        self._reply(200, rejected_bulk_response(data), es_headers)
                        return
                req = urllib.request.Request(proxy.upstream + self.path, data=data if data else None,
                                             method=self.command, headers=dict(self.headers))
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        self._reply(r.status, r.read(), dict(r.headers))
                except urllib.error.HTTPError as e:
                    self._reply(e.code, e.read(), dict(e.headers))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rejected_bulk_response(ndjson: bytes) -> bytes:
    items = []
    lines = [json.loads(x) for x in ndjson.decode().splitlines() if x.strip()]
    i = 0
    while i < len(lines):
        (op, meta), = lines[i].items()
        i += 1 if op == "delete" else 2
        items.append({op: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 429,
                           "error": {"type": "es_rejected_execution_exception",
                                     "reason": "rejected execution (queue capacity 200)"}}})
    return json.dumps({"took": 1, "errors": True, "items": items}).encode()


@pytest.fixture
def proxy(es_config) -> Iterator[FaultyProxy]:
    p = FaultyProxy(es_config.urls[0])
    yield p
    p.close()


def test_rejected_records_are_retried_with_backoff(proxy, make):
    s = make("retried", urls=(proxy.url,))
    s.set_models(MODELS, DIMS)
    proxy.reject_bulk_items = 2                 # two rejections, then accepted (max_retries=3)
    s.upsert(catalog_docs())
    assert proxy.bulk_requests == 3
    assert s.info().count == 5


def test_records_still_rejected_after_retries_are_reported(proxy, make):
    s = make("rejected", urls=(proxy.url,), max_retries=1)
    s.set_models(MODELS, DIMS)
    proxy.reject_bulk_items = 10
    with pytest.raises(BulkWriteError) as err:
        s.upsert(catalog_docs())
    assert sorted(i for i, _ in err.value.failures) == ["b1", "p1", "p2", "p3", "p4"]
    assert "HTTP 429 es_rejected_execution_exception" in err.value.failures[0][1]
    assert proxy.bulk_requests == 2             # first try + one retry
