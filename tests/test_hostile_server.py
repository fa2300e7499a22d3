"""Hostile input against the real ``dupe serve`` (issue 18): each case answers with a 4xx
or a correct result, never a 5xx, within a generous bound of wall time and of the
server's peak RSS growth.

The server is a subprocess (``dupe serve``, waitress, its defaults) with the fake text and
image models and the real OCR, over the tiny catalog; its RSS is sampled every 50 ms
(psutil) and it is killed past ``RSS_CAP``, so a regression fails the test, not the machine. The
fixtures and the client are those of ``benchmarks.hostile``, which measures the same
cases with the real models for the issue's table. Heavy cases get a fresh server each,
so one case's memory does not hide another's; cheap ones share one.
"""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from benchmarks import hostile as h
from tests.fakes import indexed_tiny_catalog

pytestmark = pytest.mark.slow

MB = 1024 * 1024
RSS_CAP = int(2.5e9)          # the server is killed past this: a blow-up fails, the machine survives
GROWTH_MB = 400               # peak RSS growth allowed for one hostile case
#: ... for four large photos at once beside normal photo searches: the photo gate runs two
#: at a time, so at most two decoded photos (~70 MB each) and one OCR pass (~250-300 MB of
#: feature maps) coexist, however many are sent (before the gate: +1.6 GB for four).
GROWTH_CONCURRENT_MB = 600
WALL_S = 20.0                 # wall time allowed for one hostile request (the fixes aim at < 5 s)
CAP_S = 60.0                  # a request still running after this has failed
QUERIES = ["yoga leggings", "lululemon align", "electric toothbrush", "sonicare", "water flosser",
           "high-rise leggings", "stretch pants", "toothbrush sonic"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return indexed_tiny_catalog(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def photo() -> bytes:
    return h.photo_jpeg()


@pytest.fixture(scope="module")
def addrs() -> h.Addresses:
    return h.Addresses(first=40)


@contextlib.contextmanager
def serving(built: tuple[Path, Path], work: Path, photo: bytes, prepare=None) -> Iterator[tuple[int, h.Server]]:
    """A fresh server on a copy of the index (edited by ``prepare(db)`` first), warmed
    with a normal photo search so model loading is not counted as a case's growth."""
    cat, index = built
    work.mkdir(parents=True, exist_ok=True)
    db = h.copy_index(index, work / "index")
    if prepare:
        prepare(db)
    port = h.free_port()
    srv = h.Server(h.server_env(db.parent, cat, work / "uploads"), port=port, threads=None, fake_models=True,
                   cap_bytes=RSS_CAP, log=work / "server.log")
    try:
        srv.wait_ready(timeout=120)
        if prepare is None:
            h.warm(port, photo, ["p1"])
        yield port, srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def shared(built, photo, tmp_path_factory) -> Iterator[tuple[int, h.Server]]:
    with serving(built, tmp_path_factory.mktemp("shared"), photo) as s:
        yield s


@pytest.fixture
def fresh(built, photo, tmp_path) -> Iterator[tuple[int, h.Server]]:
    with serving(built, tmp_path, photo) as s:
        yield s


def measured(srv: h.Server, fn):
    """``fn()``, its wall time and the server's peak RSS growth (MB) meanwhile; fails if the
    server had to be killed or the case outlived ``CAP_S``."""
    box: dict = {}

    def run() -> None:
        try:
            box["out"] = fn()
        except BaseException as e:  # re-raised below, in the test's thread
            box["error"] = e
    base = srv.mark()
    t0 = time.perf_counter()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(CAP_S)
    seconds = time.perf_counter() - t0
    if t.is_alive():
        srv.kill(f"still running after {CAP_S:.0f} s at {srv.last / 1e9:.1f} GB")
        t.join(30)
    time.sleep(0.2)
    assert srv.killed is None, srv.killed
    if "error" in box:
        raise box["error"]
    return box["out"], seconds, (srv.peak - base) / MB


def assert_bounded(replies: list[h.Reply], seconds: float, growth: float, max_growth: float = GROWTH_MB) -> None:
    for r in replies:
        assert r.status is not None, r.error
        assert r.status < 500, (r.status, r.body[:300])
    assert seconds < WALL_S, f"took {seconds:.1f} s"
    assert growth < max_growth, f"server RSS grew by {growth:.0f} MB"


def error_shape(r: h.Reply) -> dict:
    body = r.json()
    assert isinstance(body, dict) and set(body["error"]) >= {"code", "message", "field"}, r.body[:300]
    return body["error"]


# ----------------------------------------------------------------------------- images and OCR


@pytest.mark.parametrize("size", [(2000, 3), (3, 2000)], ids=["2000x3", "3x2000"])
def test_a_thin_image_is_bounded(fresh, addrs, size):
    port, srv = fresh
    data = h.png(*size)
    r, seconds, growth = measured(srv, lambda: h.post_photo(port, "/api/v1/search", data, filename="t.png",
                                                            ctype="image/png", source=addrs.next(), timeout=CAP_S))
    assert_bounded([r], seconds, growth)


def test_a_crop_to_a_sliver_is_bounded(fresh, addrs, photo):
    port, srv = fresh
    r, seconds, growth = measured(srv, lambda: h.post_photo(port, "/api/v1/search", photo, {"crop": "0,0,1200,2"},
                                                            source=addrs.next(), timeout=CAP_S))
    assert_bounded([r], seconds, growth)


def test_a_kept_thin_page_upload_is_bounded_on_every_visit(fresh, addrs):
    port, srv = fresh
    src = addrs.next()
    up = h.post_photo(port, "/search", h.png(2000, 3), filename="t.png", ctype="image/png", source=src)
    assert up.status is not None and up.status < 500
    m = re.search(r"/s/([^/?]+)", up.headers.get("location", ""))
    if m is None:
        assert 400 <= up.status < 500      # refused at upload: nothing kept to re-run
        return
    visits, seconds, growth = measured(srv, lambda: [h.call(port, "GET", f"/s/{m.group(1)}", source=src,
                                                            timeout=CAP_S) for _ in range(2)])
    assert_bounded(visits, seconds, growth)


def test_a_gif_screen_bomb_is_bounded(fresh, addrs):
    port, srv = fresh
    gif = h.gif_screen()
    r, seconds, growth = measured(srv, lambda: h.post_photo(port, "/api/v1/search", gif, filename="s.gif",
                                                            ctype="image/gif", source=addrs.next(), timeout=CAP_S))
    assert_bounded([r], seconds, growth)


def test_four_gif_bombs_do_not_stall_normal_photo_searches(fresh, addrs, photo):
    port, srv = fresh
    gif = h.gif_screen(h.GIF_UNDER_BUDGET)    # decoded, not refused: they compete for the photo slots
    gifs = [lambda s=s: h.post_photo(port, "/api/v1/search", gif, filename="s.gif", ctype="image/gif",
                                     source=s, timeout=CAP_S) for s in [addrs.next() for _ in range(4)]]
    (replies, seconds, normal), _, growth = measured(
        srv, lambda: h.normal_photos_while(port, photo, lambda: h._concurrently(gifs), CAP_S))
    assert_bounded(replies, seconds, growth, GROWTH_CONCURRENT_MB)
    assert normal and all(r.status == 200 for r in normal), h._statuses(normal)
    slowest = max(r.seconds for r in normal)
    assert slowest < 10, f"a normal photo search waited {slowest:.1f} s behind the GIFs"


def test_an_image_url_fetch_is_bounded_by_its_timeout():
    """A server sending one byte a second: ``fetch_url(timeout=3)`` gives up in about 3 s
    (measured on the function: the service's address guard refuses loopback)."""
    from indexer.images import ImageError, fetch_url
    drip = h.DripServer(limit=30)
    try:
        t0 = time.perf_counter()
        with pytest.raises(ImageError):
            fetch_url(f"http://127.0.0.1:{drip.port}/slow.png", timeout=3.0, is_allowed=lambda ip: True)
        assert time.perf_counter() - t0 < 6
    finally:
        drip.close()


# ----------------------------------------------------------------------------- bodies and parameters


@pytest.mark.parametrize("n", [1, 4], ids=["one", "four-at-once"])
def test_a_32_mib_body_of_empty_objects_is_refused_cheaply(fresh, addrs, n):
    port, srv = fresh
    body = h.empty_objects_json()
    fns = [lambda s=s: h.post_json(port, "/api/v1/search", body, source=s, timeout=CAP_S)
           for s in [addrs.next() for _ in range(n)]]
    (replies, seconds), _, growth = measured(srv, lambda: h._concurrently(fns))
    assert_bounded(replies, seconds, growth)
    for r in replies:
        assert 400 <= r.status < 500
        error_shape(r)


def test_a_400_digit_price_is_a_400(shared, addrs):
    port, _ = shared
    r = h.post_json(port, "/api/v1/search", ('{"q": "yoga", "price_min": ' + h.big_number() + "}").encode(),
                    source=addrs.next())
    assert r.status == 400, r.body[:300]
    err = error_shape(r)
    assert err["field"] == "price_min"
    assert "0" * 50 not in err["message"]          # the number is not echoed back


def test_a_400_digit_price_fails_only_its_batch_item(shared, addrs):
    port, _ = shared
    body = ('{"items": [{"q": "yoga"}, {"q": "yoga", "price_min": ' + h.big_number() + "}]}").encode()
    r = h.post_json(port, "/api/v1/search/batch", body, source=addrs.next())
    assert r.status == 200, r.body[:300]
    assert [it["status"] for it in r.json()["items"]] == [200, 400]


# ----------------------------------------------------------------------------- keys and limits


def test_a_non_ascii_api_key_authenticates(shared, addrs):
    port, _ = shared
    r = h.call(port, "GET", "/api/v1/search?q=yoga", headers=h.key_header("intl"), source=addrs.next())
    assert r.status == 200, r.body[:300]


def test_unknown_key_guesses_are_rate_limited(shared, addrs):
    port, _ = shared
    src = addrs.next()
    statuses = [h.call(port, "GET", "/api/v1/search?q=yoga", headers={"X-API-Key": f"guess-{i}"}, source=src).status
                for i in range(50)]
    assert set(statuses) <= {401, 429}
    assert 429 in statuses, "50 unknown-key guesses from one address were never limited"


def test_a_batch_larger_than_the_key_limit_is_not_retryable(shared, addrs):
    port, _ = shared
    items = [{"q": q} for q in (QUERIES * 2)[:10]]          # the 'small' key allows 5 a minute
    r = h.post_json(port, "/api/v1/search/batch", {"items": items}, headers=h.key_header("small"), source=addrs.next())
    assert r.status is not None and 400 <= r.status < 500, r.body[:300]
    error_shape(r)
    assert not (r.status == 429 and "retry-after" in r.headers), \
        f"answers 429 Retry-After: {r.headers.get('retry-after')} to a batch that can never succeed"


def test_page_photo_uploads_are_limited(shared, addrs):
    port, _ = shared
    src = addrs.next()
    small = h.photo_jpeg(320, 240)
    statuses = [h.post_photo(port, "/search", small, source=src).status for _ in range(150)]
    assert all(s is not None and s < 500 for s in statuses), statuses
    assert 429 in statuses or sum(1 for s in statuses if s == 303) < 150, \
        "150 page uploads from one address were all kept"


# ----------------------------------------------------------------------------- links


def test_the_host_header_does_not_make_absolute_links(shared, addrs):
    port, _ = shared
    api = h.call(port, "GET", "/api/v1/search?q=yoga+leggings", headers=h.key_header("bench"), host="evil.example")
    page = h.call(port, "GET", "/search?q=yoga+leggings", source=addrs.next(), host="evil.example")
    assert api.status == 200 and page.status == 200
    assert "evil.example" not in api.body.decode("utf-8"), "the Host header went into API links"
    og = re.findall(r'<meta[^>]+property="og:[^"]+"[^>]+content="([^"]*)"', page.body.decode("utf-8"))
    assert not any("evil.example" in u for u in og), og


# ----------------------------------------------------------------------------- admin


def test_concurrent_catalog_uploads_each_land_whole(shared, built):
    port, _ = shared
    cat, _ = built
    saved = (cat / "brands.jsonl").read_bytes()
    contents = [(json.dumps({"id": f"b{i}", "names": {"en": f"Brand {i}"}}) + "\n").encode() * 2000 for i in range(50)]
    admin = {"X-API-Key": h.ADMIN[1].encode()}
    try:
        replies, _ = h._concurrently([lambda b=b: h.call(port, "PUT", "/api/v1/admin/catalog/brands.jsonl", b, admin)
                                      for b in contents])
        assert all(r.status is not None and r.status < 500 for r in replies), h._statuses(replies)
        accepted = [b for b, r in zip(contents, replies) if r.status == 200]
        assert (cat / "brands.jsonl").read_bytes() in accepted
    finally:
        (cat / "brands.jsonl").write_bytes(saved)


# ----------------------------------------------------------------------------- a damaged index


def _flip(db: Path) -> None:
    rng = np.random.default_rng(18)
    data = bytearray(db.read_bytes())
    for i in rng.integers(4096, len(data), 64):
        data[int(i)] ^= 0xFF
    db.write_bytes(bytes(data))


def test_health_tells_the_truth_about_a_damaged_index(built, photo, tmp_path):
    with serving(built, tmp_path, photo, prepare=_flip) as (port, _):
        health = h.call(port, "GET", "/api/v1/health")
        searches = [h.call(port, "GET", f"/api/v1/search?q={q.replace(' ', '+')}", headers=h.key_header("bench"))
                    for q in QUERIES]
    for r in [health, *searches]:
        assert r.status is not None and r.status != 500, r.body[:300]
    if any(r.status >= 500 for r in searches):
        assert health.status != 200, "/health says 200 while searches fail"
        assert str(tmp_path) not in health.body.decode("utf-8"), "a server path in a public message"


def _tops(port: int) -> list[str | None]:
    """The first dense result of leggings queries (p1 and p2 are the tiny catalog's leggings)."""
    out = []
    for q in ["yoga leggings", "lululemon align", "high-rise leggings", "stretch pants", "yoga pants"]:
        r = h.call(port, "GET", f"/api/v1/search?mode=dense&q={q.replace(' ', '+')}", headers=h.key_header("bench"))
        assert r.status == 200, r.body[:300]
        out.append(((r.json().get("results") or [{}])[0]).get("id"))
    return out


def test_a_huge_stored_vector_does_not_take_the_top_of_every_query(built, photo, tmp_path, shared):
    def scale(db: Path) -> None:
        con = sqlite3.connect(db)
        (rowid,) = con.execute("SELECT rowid FROM docs WHERE id = 'product:p2'").fetchone()
        (blob,) = con.execute("SELECT v FROM vec_text WHERE rowid = ?", (rowid,)).fetchone()
        v = (np.frombuffer(blob, dtype=np.float32) * np.float32(1e30)).astype(np.float32)
        con.execute("UPDATE vec_text SET v = ? WHERE rowid = ?", (v.tobytes(), rowid))
        con.commit()
        con.close()
    clean = _tops(shared[0])
    with serving(built, tmp_path, photo, prepare=scale) as (port, _):
        tampered = _tops(port)
    assert tampered.count("p2") <= clean.count("p2"), (clean, tampered)


def test_a_broken_stored_record_is_not_a_500(built, photo, tmp_path):
    def break_source(db: Path) -> None:
        con = sqlite3.connect(db)
        con.execute("UPDATE docs SET source = '{\"broken' WHERE id = 'product:p1'")
        con.commit()
        con.close()
    with serving(built, tmp_path, photo, prepare=break_source) as (port, _):
        r = h.call(port, "GET", "/api/v1/products/p1", headers=h.key_header("bench"))
    assert r.status is not None and r.status != 500, r.body[:300]
    error_shape(r)
