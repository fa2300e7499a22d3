"""Hostile callers at the HTTP edges (issue 18 items 3, 7, 8, 11, 12, 13, 14, 15).

* image URLs: one deadline for the whole fetch, however slowly a server drips (status
  line, headers, body, TLS handshake, name resolution); a batch's URLs within one budget;
* JSON bodies: size and structure refused before ``json.loads`` (RSS checked in a
  subprocess server, marked slow);
* numbers: out of range, non-finite or 400 digits long -> 400 naming the field and its
  range, the value echoed cut short; a batch item's failure stays that item's;
* leaks: no server path in public 503s or in public /health, no resolver answer in
  image-URL errors; admins still see the cause;
* links from ``PUBLIC_URL``, never from the ``Host`` header;
* concurrent catalog uploads: each whole, none interleaved;
* keys: non-ASCII keys work, guesses are rate limited, a batch over a key's limit is a
  413 (it could never pass), not a 429;
* pages load images from this service only; remote catalog images through ``/img/``.
"""
from __future__ import annotations

import base64
import concurrent.futures
import functools
import http.client
import http.server
import io
import ipaddress
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from indexer.images import (
    FetchError,
    ImageError,
    fetch_url,
    is_public_address,
    load_local,
)
from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.store.embedded import EmbeddedStore
from tests.fakes import (
    FakeImageEmbedder,
    FakeTextEmbedder,
    tiny_catalog,
    write_jsonl,
)
from tests.test_web_helpers import TODAY, build_engine, jpeg_bytes, make_app
from web import create_app
from web.auth import RateLimiter, hash_key
from web.links import PublicUrlError

pytestmark = pytest.mark.slow  # hostile callers: slow servers, big bodies, concurrency

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "hostile-http-admin-key"
BIG = "1" + "0" * 400


def error_of(resp, status: int, code: str | None = None) -> dict:
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body[:400]
    assert resp.mimetype == "application/json" and "Traceback" not in body
    err = resp.get_json()["error"]
    assert set(err) == {"code", "message", "field"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


# ----------------------------------------------------------------------------- slow servers


class Drip:
    """A TCP server on 127.0.0.1 that answers every connection slowly, one thread each.

    ``headers``: the whole response one byte per ``pace`` seconds; ``body``: headers at
    once, then the body one byte per ``pace``; ``silent``: never says anything (a stalled
    TLS handshake or status line)."""

    def __init__(self, mode: str, pace: float = 0.5) -> None:
        self.mode, self.pace = mode, pace
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 400\r\n\r\n"
        try:
            if self.mode == "silent":
                self._stop.wait(30)
                return
            conn.settimeout(5)
            conn.recv(65536)
            if self.mode == "body":
                conn.sendall(head)
                head = b""
            for b in head + b"x" * 400:
                if self._stop.wait(self.pace):
                    return
                conn.sendall(bytes([b]))
        except OSError:
            pass                                  # the client gave up: that is the point
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _loopback_ok(ip: str) -> bool:
    return ip == "127.0.0.1"


def _resolver(host: str, port: int) -> list[str]:
    """Test names: ``intranet.test`` is internal, ``rebind.test`` half internal, IP literals
    are themselves, every other name is 127.0.0.1 (a public host, for ``_loopback_ok``)."""
    if host == "slow-dns.test":
        time.sleep(5)
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    return {"intranet.test": ["10.0.0.7"], "rebind.test": ["93.184.216.34", "10.9.8.7"]}.get(host, ["127.0.0.1"])


@pytest.mark.parametrize("mode", ["headers", "body", "silent"])
def test_a_dripping_server_cannot_hold_a_fetch_past_its_timeout(mode):
    server = Drip(mode)
    try:
        t = time.monotonic()
        with pytest.raises(ImageError, match="timed out"):
            fetch_url(f"http://127.0.0.1:{server.port}/x.jpg", timeout=1, is_allowed=_loopback_ok)
        took = time.monotonic() - t
        # Before: each recv got the whole timeout again, so 1 byte / 0.5 s held it ~32 s.
        assert took < 2.5, took
    finally:
        server.close()


def test_a_stalled_tls_handshake_and_a_slow_resolver_are_bounded_too():
    server = Drip("silent")
    try:
        t = time.monotonic()
        with pytest.raises(ImageError, match="timed out"):
            fetch_url(f"https://127.0.0.1:{server.port}/x.jpg", timeout=1, is_allowed=_loopback_ok)
        assert time.monotonic() - t < 2.5
        t = time.monotonic()
        with pytest.raises(ImageError, match="timed out resolving"):
            fetch_url("http://slow-dns.test/x.jpg", timeout=1, resolver=_resolver, is_allowed=_loopback_ok)
        assert time.monotonic() - t < 2.5
    finally:
        server.close()


def test_a_fetch_that_finishes_in_time_is_unharmed():
    server = Drip("body", pace=0.001)
    try:
        assert fetch_url(f"http://127.0.0.1:{server.port}/x.jpg", timeout=5, is_allowed=_loopback_ok) == b"x" * 400
    finally:
        server.close()


def test_a_batch_of_slow_urls_is_bounded_by_one_budget(built, tmp_path):
    server = Drip("headers")
    try:
        fetcher = functools.partial(fetch_url, resolver=_resolver, is_allowed=_loopback_ok)
        c = make_app(tmp_path, built, URL_FETCHER=fetcher, URL_TIMEOUT=1, URL_BATCH_TIMEOUT=2,
                     URL_BATCH_WORKERS=4).test_client()
        items = [{"id": i, "image_url": f"http://cdn{i}.test:{server.port}/x.jpg"} for i in range(20)]
        items[7] = {"id": 7, "q": "yoga leggings"}
        t = time.monotonic()
        resp = c.post("/api/v1/search/batch", json={"items": items})
        took = time.monotonic() - t
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        out = resp.get_json()["items"]
        assert [x["status"] for x in out] == [422] * 7 + [200] + [422] * 12
        assert all("timed out" in x["error"]["message"] for x in out if x["status"] == 422)
        # Before: one after another, 20 x 32 s. Now: 4 at a time, all within the 2 s budget.
        assert took < 6, took
    finally:
        server.close()


# ----------------------------------------------------------------------------- JSON bodies


def test_json_bodies_are_sized_and_counted_before_parsing(built, tmp_path, monkeypatch):
    c = make_app(tmp_path, built, MAX_IMAGE_BYTES=30_000, BATCH_MAX=20).test_client()
    parsed = []
    real = json.loads

    def spy(data, *a, **k):
        if len(data) > 10_000:
            parsed.append(len(data))
        return real(data, *a, **k)
    monkeypatch.setattr(json, "loads", spy)
    from web.bodylimits import json_limit
    limit = json_limit(30_000, 20)
    for url in ("/api/v1/search", "/api/v1/search/batch"):
        err = error_of(c.post(url, data=b" " * (limit + 1), content_type="application/json"), 413,
                       "payload_too_large")
        assert str(limit) in err["message"]
        err = error_of(c.post(url, data=b"[" + b"{}," * 20_000 + b"{}]", content_type="application/json"), 400,
                       "too_many_values")
        assert err["field"] == "body"
    assert parsed == []                                       # refused before json.loads
    # What a search needs still passes: a photo as base64 near the limit, a full batch.
    photo = base64.b64encode(jpeg_bytes(size=(64, 64)) + b"\0" * 20_000).decode()
    assert c.post("/api/v1/search", json={"q": "yoga", "image_base64": photo}).status_code in (200, 422)
    full = {"q": "yoga, leggings, high-rise, black", "lang": "en", "category": "leggings", "price_min": 1,
            "price_max": 100, "moq_max": 10, "label": ["same_foundry", "equal_quality"], "region": "Zhejiang",
            "ship_within": 48, "k": 5, "page": 1, "group_by_factory": True, "include_counterfeits": False,
            "ocr": False, "mode": "hybrid"}
    resp = c.post("/api/v1/search/batch", json={"items": [dict(full, id=i) for i in range(20)]})
    assert resp.status_code == 200 and resp.get_json()["ok"] == 20


_SERVER = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.test_web_helpers import make_app
from waitress.server import create_server
srv = create_server(make_app(Path(tempfile.mkdtemp())), host="127.0.0.1", port=0, threads=8)
print(srv.effective_port, flush=True)
srv.run()
"""


@pytest.mark.slow
def test_four_large_json_bodies_at_once_cost_little_memory_and_time():
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(ROOT)], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        port = int(proc.stdout.readline())
        server = psutil.Process(proc.pid)

        def post(body: bytes) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("POST", "/api/v1/search", body=body, headers={"Content-Type": "application/json"})
                return conn.getresponse().status
            except (ConnectionError, OSError):
                return 413                   # refused before the whole body was read
            finally:
                conn.close()

        assert post(b'{"q": "yoga"}') == 200
        base = peak = server.memory_info().rss
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server.memory_info().rss)
                time.sleep(0.02)
        threading.Thread(target=sample, daemon=True).start()
        # Before: one 32 MiB body of {} took the server +888 MiB and 2.9 s; four, +1.9 GB and 11.7 s.
        big = b'{"q": "yoga", "x": [' + b"{}," * ((32 * 2**20 - 40) // 3) + b"{}]}"
        under = b'{"q": "yoga", "x": [' + b"{}," * ((19 * 2**20) // 3) + b"{}]}"     # under the size limit
        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, [big, big, under, under]))
        took = time.monotonic() - t
        done.set()
        growth = (peak - base) / 2**20
        print(f"\nJSON BODIES: 2 x 32 MiB + 2 x 19 MiB of {{}} at once: {statuses}, {took:.2f} s, "
              f"peak RSS growth {growth:.0f} MiB")
        assert statuses == [413, 413, 400, 400]
        assert growth < 300 and took < 10
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ----------------------------------------------------------------------------- numbers


NUMERIC = {"price_min": "0 to 1e+09", "price_max": "0 to 1e+09", "moq_max": "1 to 1000000000",
           "ship_within": "1 to 10000", "k": "1 to 100", "page": "1 to 1000"}


@pytest.mark.parametrize("field", list(NUMERIC))
def test_huge_and_non_finite_numbers_are_a_400_naming_the_field_and_its_range(client, field):
    bodies = [f'{{"q": "yoga", "{field}": {BIG}}}', f'{{"q": "yoga", "{field}": -{BIG}}}',
              f'{{"q": "yoga", "{field}": 1e400}}', f'{{"q": "yoga", "{field}": -1e400}}',
              f'{{"q": "yoga", "{field}": NaN}}', f'{{"q": "yoga", "{field}": Infinity}}',
              f'{{"q": "yoga", "{field}": 1e300}}', f'{{"q": "yoga", "{field}": "{BIG}"}}']
    for body in bodies:
        err = error_of(client.post("/api/v1/search", data=body, content_type="application/json"), 400,
                       "invalid_parameter")
        assert err["field"] == field and NUMERIC[field] in err["message"], (body[:60], err)
        assert BIG not in err["message"] and len(err["message"]) < 160, err
    for value in (BIG, "1e400", "nan", "inf", "-inf", "1" * 40):
        err = error_of(client.get("/api/v1/search", query_string={"q": "yoga", field: value}), 400)
        assert err["field"] == field and BIG not in err["message"]
    page = client.get("/search", query_string={"q": "yoga", field: BIG})     # k is not a page field: ignored
    assert page.status_code in (200, 400) and "Traceback" not in page.get_data(as_text=True)


def test_crop_numbers_and_long_names_are_cut_short(client):
    err = error_of(client.post("/api/v1/search", data=f'{{"q": "yoga", "crop": [0, 0, {BIG}, 5]}}',
                               content_type="application/json"), 400, "invalid_parameter")
    assert err["field"] == "crop" and BIG not in err["message"]
    name = "x" * 5000
    err = error_of(client.post(f"/api/v1/search?{name}=1", json={name: 1}), 400)
    assert len(err["message"]) < 120 and len(err["field"]) <= 43


def test_one_bad_item_fails_only_itself(client, monkeypatch):
    items = [{"id": "big", "q": "yoga", "price_min": 10**400}, {"id": "ok", "q": "yoga leggings"},
             {"id": "nan", "q": "yoga", "k": float("inf")}, {"id": "boom", "q": "explode please"}]
    from web import service
    real = service.run_search

    def run(p, image=None):
        if p.q == "explode please":
            raise RuntimeError("a bug met by one item")
        return real(p, image)
    monkeypatch.setattr(service, "run_search", run)
    body = json.dumps({"items": items}, allow_nan=True)
    resp = client.post("/api/v1/search/batch", data=body, content_type="application/json")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    out = {x["id"]: x for x in resp.get_json()["items"]}
    assert out["big"]["status"] == 400 and out["big"]["error"]["field"] == "price_min"
    assert out["ok"]["status"] == 200 and out["ok"]["result"]["results"]
    assert out["nan"]["status"] == 400 and out["nan"]["error"]["field"] == "k"
    assert out["boom"]["status"] == 500 and out["boom"]["error"]["code"] == "internal_error"
    assert "a bug" not in resp.get_data(as_text=True)
    assert resp.get_json()["ok"] == 1 and resp.get_json()["failed"] == 3


def test_an_unavailable_index_still_fails_the_whole_batch(tmp_path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "missing"), "UPLOAD_DIR": str(tmp_path / "u")})
    resp = app.test_client().post("/api/v1/search/batch", json={"items": [{"q": "a"}, {"q": "b"}]})
    error_of(resp, 503, "index_unavailable")


# ----------------------------------------------------------------------------- leaks


def test_503_names_the_cause_without_server_paths_except_to_admins(tmp_path):
    missing = tmp_path / "secret-place" / "index"
    app = create_app({"TESTING": True, "INDEX_DIR": str(missing), "UPLOAD_DIR": str(tmp_path / "u"),
                      "ADMIN_KEYS": f"ops:{hash_key(ADMIN)}"})
    c = app.test_client()
    for url in ("/api/v1/health", "/api/v1/search?q=x", "/api/v1/brands"):
        err = error_of(c.get(url), 503, "index_unavailable")
        assert "no index" in err["message"] and "dupe index" in err["message"]      # the cause, still
        assert str(tmp_path) not in err["message"] and "secret-place" not in err["message"], err
    page = c.get("/search?q=x").get_data(as_text=True)
    assert "no index" in page and "secret-place" not in page
    err = error_of(c.get("/api/v1/health", headers={"X-API-Key": ADMIN}), 503)
    assert str(missing) in err["message"]                                             # admins see where


def test_public_health_shows_only_the_reindex_state(built, tmp_path):
    app = make_app(tmp_path, built, ADMIN_KEYS=f"ops:{hash_key(ADMIN)}")
    app.extensions["dupe_reindex"].status = {
        "state": "failed", "started_at": "x", "finished_at": "y", "summary": None,
        "error": "StoreError: index at /srv/private/index is corrupt"}
    c = app.test_client()
    anon = c.get("/api/v1/health").get_json()
    assert anon["reindex"] == {"state": "failed"}
    admin = c.get("/api/v1/health", headers={"X-API-Key": ADMIN}).get_json()
    assert "/srv/private/index" in admin["reindex"]["error"]


def test_image_url_errors_do_not_say_how_names_resolve(built, tmp_path):
    def resolver(host: str, port: int) -> list[str]:
        if host == "gone.test":
            raise OSError("[Errno -2] lookup via 10.1.2.3:53 failed (search corp.internal)")
        return _resolver(host, port)
    fetcher = functools.partial(fetch_url, resolver=resolver)
    c = make_app(tmp_path, built, URL_FETCHER=fetcher).test_client()
    for host in ("intranet.test", "rebind.test", "10.0.0.7", "[::1]"):
        err = error_of(c.get("/api/v1/search", query_string={"image_url": f"http://{host}/x.jpg"}), 400,
                       "image_url_refused")
        assert err["message"] == "refusing to fetch: the host is not a public address", err
        batch = c.post("/api/v1/search/batch", json={"items": [{"image_url": f"http://{host}/x.jpg"}]})
        assert batch.get_json()["items"][0]["error"]["message"] == "refusing to fetch: the host is not a public address"
    err = error_of(c.get("/api/v1/search", query_string={"image_url": "http://gone.test/x.jpg"}), 422,
                   "image_fetch_failed")
    assert err["message"] == "cannot resolve host 'gone.test'"
    # Operators (catalog rejects, logs) keep the whole story.
    with pytest.raises(FetchError, match="non-public address 10.0.0.7") as e:
        fetcher("http://intranet.test/x.jpg", timeout=1)
    assert e.value.public == "refusing to fetch: the host is not a public address"


# ----------------------------------------------------------------------------- links


def test_links_never_come_from_the_host_header(built, tmp_path):
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for public in (None, "https://dupes.example/"):
        c = make_app(tmp_path, built, PUBLIC_URL=public).test_client()
        api = c.get("/api/v1/search?q=lululemon+leggings", headers=evil).get_data(as_text=True)
        product = c.get("/api/v1/products/p1", headers=evil).get_data(as_text=True)
        doc = c.get("/api/v1/openapi.json", headers=evil).get_json()
        page = c.get("/search?q=lululemon+leggings", headers=evil).get_data(as_text=True)
        for text in (api, product, json.dumps(doc), page):
            assert "evil.example" not in text
        first = json.loads(api)["results"][0]
        if public is None:
            assert first["card_url"] == "/card/p1.png?bp=bp-align" and doc["servers"] == [{"url": "/api/v1"}]
            assert 'property="og:url"' not in page and 'property="og:image"' not in page
        else:
            assert first["card_url"] == "https://dupes.example/card/p1.png?bp=bp-align"
            assert first["image_urls"] == ["https://dupes.example/images/img/p1.jpg"]
            assert doc["servers"] == [{"url": "https://dupes.example/api/v1"}]
            assert 'property="og:url" content="https://dupes.example/search?q=lululemon+leggings"' in page
            assert 'property="og:image" content="https://dupes.example/card/p1.png?bp=bp-align"' in page
            assert 'value="https://dupes.example/search?q=lululemon+leggings"' in page      # the share box


@pytest.mark.parametrize("bad", ["dupes.example", "ftp://dupes.example", "https://dupes.example/?a=1",
                                 "https://user:pw@dupes.example", "https://dupes.example:99999"])
def test_a_malformed_public_url_is_refused_at_start(tmp_path, bad):
    with pytest.raises(PublicUrlError):
        create_app({"PUBLIC_URL": bad, "UPLOAD_DIR": str(tmp_path)})


# ----------------------------------------------------------------------------- catalog uploads


def _waitress(app):
    from waitress.server import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def test_concurrent_catalog_uploads_each_land_whole(tmp_path):
    built = build_engine(tmp_path / "own")
    app = make_app(tmp_path, built, ADMIN_KEYS=f"ops:{hash_key(ADMIN)}")
    server = _waitress(app)
    folder = built[1]
    uploads = [(f'{{"id": "p{i}", "n": {i}, "pad": "{"x" * (2000 + 97 * i)}"}}\n' * 40).encode() for i in range(50)]
    barrier = threading.Barrier(50)

    def put(body: bytes) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=60)
        barrier.wait(timeout=30)
        conn.request("PUT", "/api/v1/admin/catalog/products.jsonl", body=body, headers={"X-API-Key": ADMIN})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    try:
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(put, uploads))
    finally:
        server.close()
    # Before: a shared temporary name; 7 of 50 got a 500 and one upload was lost.
    assert [s for s, _ in answers] == [200] * 50, answers
    assert all(a["bytes"] == len(u) for (_, a), u in zip(answers, uploads))
    assert (folder / "products.jsonl").read_bytes() in uploads              # one whole upload
    assert not [p.name for p in folder.iterdir() if ".upload" in p.name]    # no temporary left


# ----------------------------------------------------------------------------- keys


def test_a_non_ascii_key_authenticates(built, tmp_path):
    key = "clé-агента-钥匙-🔑"
    app = make_app(tmp_path, built, API_KEYS=f"intl:{hash_key(key)}:7")
    c = app.test_client()
    as_wsgi = key.encode("utf-8").decode("latin-1")          # what a WSGI server hands over
    for headers in ({"X-API-Key": as_wsgi}, {"Authorization": f"Bearer {as_wsgi}"}):
        resp = c.get("/api/v1/brands", headers=headers)
        assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "7", resp.get_data(as_text=True)
    assert c.get("/api/v1/brands", headers={"X-API-Key": "clé".encode().decode("latin-1")}).status_code == 401
    # And through a real server, from the bytes on the wire.
    server = _waitress(app)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)
        conn.putrequest("GET", "/api/v1/brands")
        conn.putheader("X-API-Key", key.encode("utf-8"))
        conn.endheaders()
        assert conn.getresponse().status == 200
    finally:
        server.close()


def test_unknown_key_guesses_are_rate_limited(built, tmp_path):
    app = make_app(tmp_path, built, API_KEYS=f"agent:{hash_key('real-key')}", ANON_RATE_LIMIT_PER_MIN=5)
    app.extensions["dupe_limiter"] = RateLimiter(clock=lambda: 100.0)
    c = app.test_client()
    statuses = [c.get("/api/v1/brands", headers={"X-API-Key": f"guess-{i}"}) for i in range(8)]
    assert [r.status_code for r in statuses] == [401] * 5 + [429] * 3
    assert int(statuses[-1].headers["Retry-After"]) >= 1 and statuses[-1].get_json()["error"]["code"] == "rate_limited"
    assert c.get("/api/v1/brands", headers={"X-API-Key": "real-key"}).status_code == 200    # a real key still works


def test_a_batch_over_the_keys_limit_is_refused_without_retry_after(built, tmp_path):
    app = make_app(tmp_path, built, API_KEYS=f"small:{hash_key('small-key')}:3", ANON_RATE_LIMIT_PER_MIN=2)
    app.extensions["dupe_limiter"] = RateLimiter(clock=lambda: 100.0)
    c = app.test_client()
    h = {"X-API-Key": "small-key"}
    resp = c.post("/api/v1/search/batch", json={"items": [{"q": "yoga"}] * 5}, headers=h)
    err = error_of(resp, 413, "batch_over_rate_limit")
    assert "Retry-After" not in resp.headers and err["field"] == "items" and "3" in err["message"]
    assert c.post("/api/v1/search/batch", json={"items": [{"q": "yoga"}] * 2}, headers=h).status_code == 200
    anon = c.post("/api/v1/search/batch", json={"items": [{"q": "yoga"}] * 3})
    error_of(anon, 413, "batch_over_rate_limit")


def test_the_openapi_document_says_each_batch_item_counts(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    batch = doc["paths"]["/search/batch"]["post"]
    assert "each item" in batch["description"].lower() and "413" in batch["responses"]


# ----------------------------------------------------------------------------- page images


class _Images(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)           # type: ignore[attr-defined]
        body = jpeg_bytes((200, 30, 30), (900, 600))
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """A catalog whose p1 and bp-align images are URLs on a local image server ``cdn.test``,
    and p2's on an internal address the guard refuses."""
    cdn = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    cdn.hits = []                                    # type: ignore[attr-defined]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    port = cdn.server_address[1]
    root = tmp_path_factory.mktemp("remote-images")
    folder = tiny_catalog(root / "catalog")
    rows = [json.loads(x) for x in (folder / "products.jsonl").read_text().splitlines()]
    rows[0]["images"] = [f"http://cdn.test:{port}/p1.jpg"]
    rows[1]["images"] = [f"http://intranet.test:{port}/p2.jpg"]
    write_jsonl(folder / "products.jsonl", rows)
    bps = [json.loads(x) for x in (folder / "brand_products.jsonl").read_text().splitlines()]
    bps[0]["images"] = [f"http://cdn.test:{port}/bp.jpg"]
    write_jsonl(folder / "brand_products.jsonl", bps)
    store = EmbeddedStore(root / "index")

    def loader(ref: str, base: Path) -> Image.Image:      # indexing needs no network
        return Image.new("RGB", (32, 32)) if ref.startswith("http") else load_local(ref, base)
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder(), image_loader=loader).run(folder)
    engine = SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder(), today=lambda: TODAY)

    def policy(ip: str) -> bool:                          # 127.0.0.1 plays the public internet
        return ip == "127.0.0.1" or is_public_address(ip)
    fetcher = functools.partial(fetch_url, resolver=_resolver, is_allowed=policy)
    yield (engine, folder, root / "index"), fetcher, cdn, port
    cdn.shutdown()
    store.close()


def test_pages_load_images_only_from_this_service(remote, tmp_path):
    built, fetcher, _, port = remote
    c = make_app(tmp_path, built, URL_FETCHER=fetcher).test_client()
    resp = c.get("/search?q=lululemon+yoga+leggings")
    csp = resp.headers["Content-Security-Policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src")).split()[1:]
    assert img_src == ["'self'", "data:", "blob:"]
    page = resp.get_data(as_text=True)
    assert 'src="/img/product/p1/0"' in page and "cdn.test" not in page
    assert 'src="/images/img/p3.jpg"' in c.get("/search?q=sonic+toothbrush").get_data(as_text=True)
    # The API keeps the catalog's own URLs: agents fetch them themselves.
    api = c.get("/api/v1/products/p1").get_json()
    assert api["image_urls"] == [f"http://cdn.test:{port}/p1.jpg"]


def test_the_image_proxy_serves_catalog_images_only(remote, tmp_path):
    built, fetcher, cdn, port = remote
    app = make_app(tmp_path, built, URL_FETCHER=fetcher, IMAGE_PROXY_RATE_LIMIT_PER_MIN=3)
    app.extensions["dupe_limiter"] = RateLimiter(clock=lambda: 100.0)
    c = app.test_client()
    cdn.hits.clear()
    first = c.get("/img/product/p1/0")
    assert first.status_code == 200 and first.mimetype == "image/jpeg", first.get_data(as_text=True)[:300]
    assert Image.open(io.BytesIO(first.data)).size == (800, 533)          # re-encoded, at most 800 px
    assert c.get("/img/product/p1/0").data == first.data and cdn.hits == ["/p1.jpg"]    # cached
    assert c.get("/img/brand_product/bp-align/0").status_code == 200
    for url in ("/img/product/p1/1", "/img/product/nosuch/0", "/img/product/p3/0", "/img/evil/p1/0",
                f"/img?u=http://cdn.test:{port}/x.jpg", f"/img/product/http:%2F%2Fcdn.test:{port}%2Fx.jpg/0"):
        assert c.get(url).status_code == 404, url
    assert c.get("/img/product/p2/0").status_code == 404                 # internal address: refused
    assert c.get("/img/product/p2/0").status_code == 404                 # (and the failure remembered)
    assert cdn.hits == ["/p1.jpg", "/bp.jpg"]                            # p2's host never reached
    # Three fetches so far (p1, bp-align, p2): the next one is refused, cached images are not.
    assert c.get("/img/product/p1/0").status_code == 200
    app.extensions["dupe_remote_images"].__init__(32 * 2**20)           # forget everything
    resp = c.get("/img/product/p1/0")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
