"""Bad input at the HTTP edge, beyond the parameter and body cases of test_web_api.py:
oversized bodies on every route that takes one, query-language injection attempts (they
are words, never syntax: SQL and the Elasticsearch DSL alike), script in
every catalog field the page shows (escaped), and image URLs that reach private,
loopback or link-local addresses directly, through redirects, or through DNS (refused;
an internal test server on 127.0.0.2 must never see a request).

Each case: a clear 4xx with the one error shape (or a normal 200 for text), never a 500.
"""
from __future__ import annotations

import functools
import http.server
import io
import json
import socket
import threading
from pathlib import Path

import pytest

from indexer.images import fetch_url, is_public_address
from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.requests import SearchRequest
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, tiny_catalog, write_jsonl
from tests.test_web_helpers import jpeg_bytes, make_app
from web.auth import hash_key

pytest_plugins = ["tests.es_server"]

ADMIN = "bad-input-admin-key"


def assert_4xx(resp, status: int | None = None, code: str | None = None) -> dict:
    body = resp.get_data(as_text=True)
    assert 400 <= resp.status_code < 500, (resp.status_code, body[:300])
    if status is not None:
        assert resp.status_code == status, body[:300]
    assert resp.mimetype == "application/json" and "Traceback" not in body
    err = resp.get_json()["error"]
    # ``valid``: what an ``unknown_value`` parameter may be
    assert {"code", "message", "field"} <= set(err) <= {"code", "message", "field", "valid"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


# ----------------------------------------------------------------------------- oversized bodies


def test_oversized_bodies_are_413_on_every_route_that_takes_a_body(built, tmp_path):
    c = make_app(tmp_path, built, MAX_CONTENT_LENGTH=20_000, MAX_FORM_MEMORY_SIZE=10_000, CATALOG_MAX_BYTES=5_000,
                 ADMIN_KEYS=f"ops:{hash_key(ADMIN)}").test_client()
    big = "x" * 30_000
    assert_4xx(c.post("/api/v1/search", data={"q": "x", "image_base64": big[:15_000]},     # one form field
                      content_type="multipart/form-data"), 413)
    assert_4xx(c.post("/api/v1/search", data=json.dumps({"q": big}), content_type="application/json"), 413)
    assert_4xx(c.post("/api/v1/search", data={"q": "x", "photo": (io.BytesIO(b"\xff" * 25_000), "a.jpg")}), 413)
    assert_4xx(c.post("/api/v1/search/batch", json={"items": [{"q": big}]}), 413)
    h = {"X-API-Key": ADMIN}
    assert_4xx(c.put("/api/v1/admin/catalog/products.jsonl", data=b"{}\n" * 3000, headers=h), 413)
    assert c.put("/api/v1/admin/catalog/products.jsonl", data=b"{}\n", headers=h).status_code == 200
    # Many small form parts, and a query string far beyond any parameter's limit.
    parts = {f"f{i}": "1" for i in range(1500)}
    assert c.post("/api/v1/search", data=parts).status_code in (400, 413)
    assert_4xx(c.get("/api/v1/search", query_string={"q": "y" * 100_000}), 400, "invalid_parameter")
    assert_4xx(c.get("/api/v1/search?q=x&k=" + "9" * 5000), 400, "invalid_parameter")
    assert c.get("/api/v1/search?q=x&" + "&".join("label=same_foundry" for _ in range(5000))).status_code == 200
    page = c.get("/search", query_string={"q": "y" * 100_000})
    assert page.status_code == 400 and "Traceback" not in page.get_data(as_text=True)


# ----------------------------------------------------------------------------- injection: text, never syntax

INJECTIONS = ['" OR 1=1 --', "*", "NEAR(", '{"query": {"match_all": {}}}', "'; DROP TABLE docs; --",
              "title:x AND y", "a* OR b^2", "-leggings", "\\", "/.*/", "yoga~2", "${jndi:ldap://x}", "{{7*7}}",
              "%", "_", "NOT leggings", "leggings NEAR/2 yoga", 'tokens:"yoga"', ")(", "' OR ''='", "1; SELECT *",
              "<script>alert(1)</script>", "yoga\u202eleggings", "ＹＯＧＡ", "yoga\tleggings\n", "瑜伽' OR 1=1"]


@pytest.mark.parametrize("q", INJECTIONS)
def test_query_syntax_in_q_is_searched_as_text(client, built, q):
    engine = built[0]
    resp = client.get("/api/v1/search", query_string={"q": q, "mode": "bm25", "group_by_factory": "false"})
    body = resp.get_data(as_text=True)
    assert resp.status_code in (200, 400), body[:300]
    if resp.status_code == 400:                         # only when nothing searchable is left
        assert resp.get_json()["error"]["field"] == "q"
        return
    got = [r["id"] for r in resp.get_json()["results"]]
    # The same answer as the words alone: nothing in q acted as query syntax.
    words = " ".join(engine.view().analyzer.tokens(q)) or "zzzznothing"
    plain = client.get("/api/v1/search", query_string={"q": words, "mode": "bm25", "group_by_factory": "false"})
    assert got == [r["id"] for r in plain.get_json()["results"]], (q, words)
    assert len(got) < 7                                 # never "everything" (the catalog has 7 products)
    page = client.get("/search", query_string={"q": q})
    assert page.status_code in (200, 400) and "<script>alert(1)" not in page.get_data(as_text=True)


@pytest.mark.parametrize("args", [
    {"q": "yoga", "category": "' OR '1'='1"},
    {"q": "yoga", "region": "%"},
    {"q": "yoga", "region": "' OR '1'='1"},
    {"q": "yoga", "category": "leggings' --"},
    {"q": "yoga", "certification": "BSCI' OR 1=1"},
    {"q": "yoga", "brand": "lululemon' OR '1'='1"},
    {"q": "yoga", "brand_product": "bp-align\" OR 1=1"},
])
def test_query_syntax_in_filters_matches_nothing(client, args):
    """A filter value is a value the catalog has or a 400 naming the field, never a query."""
    resp = client.get("/api/v1/search", query_string=args)
    assert_4xx(resp, 400)
    error = resp.get_json()["error"]
    assert error["field"] in args
    if error["code"] == "unknown_value":                  # the catalog's values are listed instead
        assert not any("'" in v for v in error["valid"])


HOSTILE_TOKENS = ['"', "OR", "*", "NEAR(", '{"query":{"match_all":{}}}', "\\", "'", ")", "AND", "^", ":", "-x",
                  "x*", "tokens:yoga", "1=1", "\u0000", "' OR 1=1 --", "yoga OR leggings"]


def _store_catalog_check(store, text, image, folder: Path) -> None:
    Indexer(store, text, image).run(folder)
    for tok in HOSTILE_TOKENS:
        assert store.bm25([tok], 10) == [], tok                   # no document holds this exact token
    # Among ordinary words, a hostile token changes nothing.
    base = [h.id for h in store.bm25(["yoga"], 10)]
    assert base and [h.id for h in store.bm25(["yoga", *HOSTILE_TOKENS], 10)] == base
    engine = SearchEngine(store, text, image)
    for q in INJECTIONS:
        resp = engine.search(SearchRequest(text=q, k=5))
        assert isinstance(resp.results, list)


def test_hostile_tokens_are_never_syntax_in_the_embedded_store(tmp_path):
    folder = tiny_catalog(tmp_path / "catalog")
    store = EmbeddedStore(tmp_path / "index")
    try:
        _store_catalog_check(store, FakeTextEmbedder(), FakeImageEmbedder(), folder)
    finally:
        store.close()


@pytest.mark.slow
def test_hostile_tokens_are_never_syntax_in_elasticsearch(es_store_factory, tmp_path):
    folder = tiny_catalog(tmp_path / "catalog")
    _store_catalog_check(es_store_factory("inject"), FakeTextEmbedder(), FakeImageEmbedder(), folder)


# ----------------------------------------------------------------------------- script in every displayed field

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_in_every_catalog_field_is_escaped_on_the_page(tmp_path):
    folder = tiny_catalog(tmp_path / "catalog")
    write_jsonl(folder / "brands.jsonl", [
        {"id": "lululemon", "names": {"en": f"lululemon {XSS}", "zh": f"露露乐蒙{XSS}"}, "aliases": ["lulu"],
         "trademarks": ["lululemon"], "categories": ["leggings"]}])
    write_jsonl(folder / "brand_products.jsonl", [
        {"id": "bp-align", "brand": "lululemon", "titles": {"en": f"Align pant {XSS}"}, "category": "leggings",
         "price": 850, "currency": "CNY", "images": ["img/bp-align.jpg"]}])
    write_jsonl(folder / "factories.jsonl", [
        {"id": "f-oem", "names": {"en": f"Factory {XSS}"}, "region": f"Yiwu {XSS}", "ship_within_hours": 24,
         "returns": f"7 days {XSS}", "certifications": [XSS],
         "endorsements": [{"type": "same_foundry", "brand": "lululemon", "evidence": f"audit {XSS}",
                           "verified_by": f"QA {XSS}", "verified_at": "2026-01-10", "expires_at": "2027-01-10"}]}])
    write_jsonl(folder / "products.jsonl", [
        {"id": "p1", "factory": "f-oem", "titles": {"en": f"yoga leggings {XSS}", "zh": f"瑜伽裤{XSS}"},
         "description": f"soft {XSS}", "category": "leggings", "attributes": {"size": XSS, XSS[:20]: "v"},
         "price_tiers": [{"min_qty": 2, "price": 79}], "currency": "CNY", "moq": 2, "images": ["img/p1.jpg"],
         "dupe_of": ["bp-align"]}])
    store = EmbeddedStore(tmp_path / "index")
    report = Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(folder)
    assert report.rejected == 0, report.rejects
    import datetime as dt
    engine = SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder(), today=lambda: dt.date(2026, 6, 1))
    c = make_app(tmp_path, (engine, folder, tmp_path / "index")).test_client()
    for url in ("/search?q=lululemon+yoga+leggings", "/search?q=lululemon+yoga+leggings&lang=zh",
                "/search?q=yoga&brand=lululemon", f"/search?q={XSS}", "/"):
        resp = c.get(url)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, (url, page[:300])
        assert "<script>alert" not in page and "<img src=x" not in page, url
    results = c.get("/search?q=lululemon+yoga+leggings").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in results                   # shown, as text
    card = c.get("/card/p1.png?bp=bp-align")
    assert card.status_code == 200 and card.mimetype == "image/png"
    api = c.get("/api/v1/products/p1")
    assert api.mimetype == "application/json" and api.get_json()["title"].endswith(XSS)   # data stays data
    store.close()


# ----------------------------------------------------------------------------- SSRF through redirects and DNS


class _Recorder(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.server.hits.append(self.path)                 # type: ignore[attr-defined]
        target = self.server.routes.get(self.path)         # type: ignore[attr-defined]
        if target is None:
            body = jpeg_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()


def _serve(host: str, routes: dict[str, str]):
    httpd = http.server.ThreadingHTTPServer((host, 0), _Recorder)
    httpd.hits, httpd.routes = [], routes                   # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="module")
def _servers():
    """``cdn`` on 127.0.0.1 stands in for a public image host; ``internal`` on 127.0.0.2 for
    a private service (cloud metadata, an admin port) that must never be reached."""
    try:
        internal = _serve("127.0.0.2", {})
    except OSError as e:
        pytest.skip(f"cannot listen on 127.0.0.2: {e}")
    ip2, port2 = internal.server_address[:2]
    cdn = _serve("127.0.0.1", {})
    port = cdn.server_address[1]
    cdn.routes.update({                                     # type: ignore[attr-defined]
        "/ok-redirect": f"http://cdn.test:{port}/img.jpg",
        "/to-internal-ip": f"http://127.0.0.2:{port2}/secret",
        "/to-internal-name": f"http://internal.test:{port2}/secret",
        "/to-rebinding-name": f"http://rebind.test:{port2}/secret",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-private": "http://10.0.0.7/x.jpg",
        "/to-v6-loopback": f"http://[::1]:{port2}/secret",
        "/to-v4-mapped": f"http://[::ffff:127.0.0.2]:{port2}/secret",
        "/to-decimal-ip": f"http://2130706434:{port2}/secret",
        "/to-file": "file:///etc/passwd",
        "/chain": f"http://cdn.test:{port}/to-internal-name",
    })
    yield cdn, internal, port, port2
    for s in (cdn, internal):
        s.shutdown()
        s.server_close()


@pytest.fixture
def servers(_servers):
    for s in _servers[:2]:
        s.hits.clear()
    return _servers


def _resolver(host: str, port: int) -> list[str]:
    names = {"cdn.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"],
             "rebind.test": ["93.184.216.34", "127.0.0.2"]}      # one public answer, one internal
    if host in names:
        return names[host]
    try:
        import ipaddress
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _policy(ip: str) -> bool:
    """127.0.0.1 plays the public internet; everything else is judged by the real policy."""
    return ip == "127.0.0.1" or is_public_address(ip)


@pytest.mark.parametrize("path", ["/to-internal-ip", "/to-internal-name", "/to-rebinding-name", "/to-metadata",
                                  "/to-private", "/to-v6-loopback", "/to-v4-mapped", "/to-decimal-ip", "/to-file",
                                  "/chain"])
def test_image_url_redirecting_to_an_internal_address_is_refused(built, tmp_path, servers, path):
    cdn, internal, port, port2 = servers
    fetcher = functools.partial(fetch_url, resolver=_resolver, is_allowed=_policy)
    c = make_app(tmp_path, built, URL_FETCHER=fetcher, URL_TIMEOUT=5).test_client()
    ok = c.post("/api/v1/search", json={"image_url": f"http://cdn.test:{port}/ok-redirect"})
    assert ok.status_code == 200, ok.get_data(as_text=True)       # the setup works: a vetted redirect is fine
    resp = c.post("/api/v1/search", json={"image_url": f"http://cdn.test:{port}{path}"})
    err = assert_4xx(resp, 400, "image_url_refused")
    assert err["field"] == "image_url"
    batch = c.post("/api/v1/search/batch", json={"items": [{"id": "a", "image_url": f"http://cdn.test:{port}{path}"}]})
    assert batch.status_code == 200 and batch.get_json()["items"][0]["status"] == 400
    assert internal.hits == [], internal.hits                     # never reached


@pytest.mark.parametrize("url", ["http://internal.test:{port2}/secret", "http://rebind.test:{port2}/secret",
                                 "http://127.0.0.2:{port2}/secret", "http://[::1]:{port2}/", "http://0.0.0.0:{port2}/",
                                 "http://[::ffff:127.0.0.2]:{port2}/", "http://2130706434:{port2}/"])
def test_image_url_naming_an_internal_address_directly_or_by_dns_is_refused(built, tmp_path, servers, url):
    cdn, internal, port, port2 = servers
    fetcher = functools.partial(fetch_url, resolver=_resolver, is_allowed=_policy)
    c = make_app(tmp_path, built, URL_FETCHER=fetcher).test_client()
    assert_4xx(c.get("/api/v1/search", query_string={"image_url": url.format(port2=port2)}), 400, "image_url_refused")
    assert internal.hits == []


@pytest.mark.parametrize("url", ["http://localhost:9/x.jpg", "http://127.1:9/x.jpg", "http://2130706433/x.jpg",
                                 "http://0x7f000001/x.jpg", "http://[::ffff:7f00:1]/x.jpg", "http://[fe80::1]/x.jpg",
                                 "http://100.64.0.1/x.jpg", "http://[fd00::1]/x.jpg", "http://224.0.0.1/x.jpg"])
def test_loopback_spellings_are_refused_by_the_real_policy(built, tmp_path, url):
    # The service's own fetcher, unchanged: refused before any connection is made.
    c = make_app(tmp_path, built, URL_FETCHER=fetch_url).test_client()
    assert_4xx(c.get("/api/v1/search", query_string={"image_url": url}), 400, "image_url_refused")
