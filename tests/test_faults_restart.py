"""Faults: the service restarts cleanly on an existing index; a missing or corrupt index
gives a clear message (API: 503 JSON with the store's message; page: a readable 503;
``dupe info`` / ``dupe search``: one ``Error:`` line, exit code 1), never a traceback.

The real ``dupe serve`` (waitress, fake embedders) is started on 127.0.0.1, searched,
killed with SIGKILL in the middle of a burst of requests, and started again on the same
index: the answers are the same.
"""
from __future__ import annotations

import http.client
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import main as dupe
from indexer.embed import registry
from tests.es_server import free_port
from tests.fakes import (
    IMAGE_SPEC,
    FakeImageEmbedder,
    FakeTextEmbedder,
    indexed_tiny_catalog,
)
from tests.fault_tools.procs import ROOT, Child
from web import create_app
from web.auth import hash_key

pytestmark = pytest.mark.slow  # restarts and broken indexes, in real processes too

SEARCHES = ["/api/v1/search?q=lululemon+leggings", "/api/v1/search?q=%E7%91%9C%E4%BC%BD%E8%A3%A4",
            "/api/v1/search?q=toothbrush&label=same_foundry", "/api/v1/search?q=yoga&k=2&page=2",
            "/api/v1/brands", "/api/v1/products/p1", "/api/v1/brand-products/bp-align/dupes"]


# The real server is asked in English only: a Chinese query would load the Chinese segmenter
# in each server process (~4 s on a slow machine); the in-process restart test asks both.
SERVER_SEARCHES = [u for u in SEARCHES if "%E7" not in u]


def _stable(body: dict) -> dict:
    body = dict(body)
    for k in ("took_ms", "timings_ms"):
        body.pop(k, None)
    return body


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    return indexed_tiny_catalog(tmp_path_factory.mktemp("restart"))


def _app(index: Path, cat: Path, tmp_path: Path):
    return create_app({"TESTING": True, "INDEX_DIR": str(index), "CATALOG_DIR": str(cat), "OCR": False,
                       "UPLOAD_DIR": str(tmp_path / "uploads"), "ANON_RATE_LIMIT_PER_MIN": 100_000})


def test_app_restarts_on_an_existing_index_with_the_same_answers(built, fake_models, tmp_path):
    cat, index = built
    answers = []
    for _ in range(2):                      # start, answer, stop; start again on the same folder
        app = _app(index, cat, tmp_path)
        c = app.test_client()
        got = {}
        for url in SEARCHES:
            resp = c.get(url)
            assert resp.status_code == 200, resp.get_data(as_text=True)
            got[url] = _stable(resp.get_json())
        answers.append(got)
        app.extensions["dupe_engine"].get().store.close()
    assert answers[0] == answers[1]
    assert [r["id"] for r in answers[0][SEARCHES[0]]["results"]][:2] == ["p1", "p2"]


# ----------------------------------------------------------------------------- the real server


def _get(port: int, path: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _start_server(index: Path, cat: Path, env: dict[str, str]) -> tuple[Child, int]:
    port = free_port()
    child = Child("tests.fault_tools.serve", str(index), str(cat), str(port), env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.proc.poll() is None, child.stderr[-3000:]
        try:
            if _get(port, "/api/v1/health", timeout=5)[0] == 200:
                return child, port
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    child.kill9()
    raise AssertionError(f"dupe serve did not come up: {child.stderr[-3000:]}")


def test_dupe_serve_killed_mid_traffic_restarts_with_the_same_answers(built, tmp_path):
    cat, index = built
    key = "restart-test-key-7f3a9c"                    # must never appear in the server's output
    env = {"DUPE_API_KEYS": f"agent:{hash_key(key)}:100000"}
    headers = {"X-API-Key": key}
    child, port = _start_server(index, cat, env)
    try:
        first = {url: _get(port, url, headers) for url in SERVER_SEARCHES}
        assert all(status == 200 for status, _ in first.values()), first
        # A burst of concurrent requests, and SIGKILL in the middle of it.
        results: list[object] = []

        def hit() -> None:
            for url in SERVER_SEARCHES[:3]:
                try:
                    results.append(_get(port, url, headers, timeout=5)[0])
                except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
                    results.append(type(e).__name__)      # the server died under this request
        threads = [threading.Thread(target=hit) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.05)
    finally:
        child.kill9()
    for t in threads:
        t.join(timeout=30)
    assert child.proc.returncode == -9
    assert "Traceback" not in child.stderr, child.stderr[-3000:]
    second_child, port2 = _start_server(index, cat, env)
    try:
        second = {url: _get(port2, url, headers) for url in SERVER_SEARCHES}
    finally:
        second_child.terminate()

    def same(answers: dict, on_port: int) -> dict:
        # Links in the answers name the server's address: compare them without it.
        return {u: (s, json.loads(json.dumps(_stable(b)).replace(f"127.0.0.1:{on_port}", "HOST")))
                for u, (s, b) in answers.items()}
    assert same(first, port) == same(second, port2)
    for c in (child, second_child):
        assert key not in c.stdout + c.stderr
    print(f"\nRESTART: {len(results)} requests in the burst, killed mid-burst; "
          f"{sum(1 for r in results if r == 200)} answered before the kill")


# ----------------------------------------------------------------------------- missing or corrupt index


def _variants(good: Path, root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (index folder, a fragment the message must contain)."""
    db = good / "index-1.sqlite"
    data = db.read_bytes()

    def copy(name: str, change) -> Path:
        d = root / name
        shutil.copytree(good, d)
        change(d)
        return d

    def schema_999(d: Path) -> None:
        conn = sqlite3.connect(d / "index-1.sqlite")
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()

    def current_is_dir(d: Path) -> None:
        (d / "CURRENT").unlink()
        (d / "CURRENT").mkdir()

    return {
        "missing folder": (root / "nowhere", "no index at"),
        "empty folder": (copy("empty", lambda d: [p.unlink() for p in d.iterdir()]), "no index at"),
        "CURRENT names a missing file": (copy("lost-db", lambda d: (d / "CURRENT").write_text("index-7.sqlite\n")),
                                         "missing or empty"),
        "CURRENT empty": (copy("empty-current", lambda d: (d / "CURRENT").write_text("")), "missing or empty"),
        "CURRENT a folder": (copy("current-dir", current_is_dir), "unreadable"),
        "database zero bytes": (copy("zero", lambda d: (d / "index-1.sqlite").write_bytes(b"")), "missing or empty"),
        "database garbage": (copy("garbage", lambda d: (d / "index-1.sqlite").write_bytes(b"garbage!" * 4096)),
                             "corrupt"),
        "database truncated": (copy("truncated", lambda d: (d / "index-1.sqlite").write_bytes(data[:len(data) // 2])),
                               "corrupt"),
        "database header zeroed": (copy("header", lambda d: (d / "index-1.sqlite").write_bytes(b"\0" * 100 + data[100:])),
                                   "corrupt"),
        "database pages scrambled": (copy("scrambled", lambda d: (d / "index-1.sqlite").write_bytes(
            data[:4096] + bytes(b ^ 0x5A for b in data[4096:]))), "corrupt"),
        "other schema version": (copy("schema", schema_999), "schema version 999"),
    }


@pytest.fixture(scope="module")
def broken(built, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    return _variants(built[1], tmp_path_factory.mktemp("broken"))


VARIANTS = ["missing folder", "empty folder", "CURRENT names a missing file", "CURRENT empty", "CURRENT a folder",
            "database zero bytes", "database garbage", "database truncated", "database header zeroed",
            "database pages scrambled", "other schema version"]


def _files(index: Path) -> list[str] | None:
    if not index.is_dir():
        return None
    return sorted(p.name for p in index.iterdir() if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("variant", VARIANTS)
def test_broken_index_is_a_clear_503_and_a_clear_cli_error(broken, built, fake_models, tmp_path, variant):
    index, fragment = broken[variant]
    before = _files(index)
    c = _app(index, built[0], tmp_path).test_client()
    for url in ("/api/v1/search?q=leggings", "/api/v1/health", "/api/v1/brands", "/api/v1/products/p1"):
        resp = c.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 503 and resp.mimetype == "application/json", (url, body)
        err = resp.get_json()["error"]
        assert err["code"] == "index_unavailable" and fragment in err["message"], (url, err)
        assert "Traceback" not in body and resp.headers["Retry-After"]
    page = c.get("/search?q=leggings")
    assert page.status_code == 503 and "Traceback" not in page.get_data(as_text=True)
    for args in (["info", "--index-dir", str(index)],
                 ["search", "leggings", "--index-dir", str(index), "--no-ocr"]):
        res = CliRunner().invoke(dupe, args)
        assert res.exit_code == 1 and not (res.exception and not isinstance(res.exception, SystemExit)), \
            (args, res.exception, res.output)
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], res.output
    # Reading never "repairs" an index by creating a database (SQLite's -wal/-shm aside).
    assert _files(index) == before


def test_broken_index_in_a_real_process_prints_one_line_without_traceback(broken):
    for variant in ("CURRENT names a missing file", "database truncated"):
        index, fragment = broken[variant]
        for args in (["info"], ["search", "leggings", "--no-ocr"]):
            proc = subprocess.run([sys.executable, "-m", "indexer.cli", *args, "--index-dir", str(index)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 1, proc
            assert "Traceback" not in proc.stderr and proc.stdout == ""
            assert proc.stderr.strip().startswith("Error: ") and fragment in proc.stderr, proc.stderr


def test_index_built_with_other_models_is_a_clear_503(built, monkeypatch, tmp_path):
    class OtherText(FakeTextEmbedder):
        name = "other-text"
    monkeypatch.setenv("DUPE_TEXT_MODEL", "other")
    monkeypatch.setenv("DUPE_IMAGE_MODEL", IMAGE_SPEC)
    monkeypatch.setitem(registry._cache, ("text", "other"), OtherText())
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), FakeImageEmbedder())
    c = _app(built[1], built[0], tmp_path).test_client()
    resp = c.get("/api/v1/search?q=leggings")
    assert resp.status_code == 503
    assert "rebuild" in resp.get_json()["error"]["message"] and "other-text" in resp.get_json()["error"]["message"]
