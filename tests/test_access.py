"""Access: API keys hashed at rest and compared in constant time, admin operations refused
without an admin key, per-key rate limits that hold under a concurrent burst against the
production server (waitress on 127.0.0.1), and no secret in the repository or in logs.

(test_web_api.py covers the basics: keys checked by hash, per-key and anonymous limits one
request at a time, admin 401/403 on reindex.)
"""
from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_web_helpers import make_app
from web import auth
from web.auth import RateLimiter, hash_key, identify, parse_keys

ROOT = Path(__file__).resolve().parents[1]
AGENT, ADMIN, FILE_AGENT = "agent-key-93f1c0ffee", "admin-key-4d2a77beef", "file-agent-key-5e6f"


@pytest.fixture
def app(built, tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"file-agent:{hash_key(FILE_AGENT)}\n", encoding="utf-8")
    return make_app(tmp_path, built, API_KEYS=f"agent:{hash_key(AGENT)}", ADMIN_KEYS=f"ops:{hash_key(ADMIN)}",
                    API_KEYS_FILE=str(keys_file), RATE_LIMIT_PER_MIN=1000, ANON_RATE_LIMIT_PER_MIN=1000)


# ----------------------------------------------------------------------------- hashed at rest, never logged


def test_keys_are_hashed_at_rest_and_never_in_logs_or_answers(app, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    c = app.test_client()
    secrets = (AGENT, ADMIN, FILE_AGENT)
    # What the service holds: hashes only.
    held = repr(app.extensions["dupe_keys"]) + repr(dict(app.config)) + (tmp_path / "keys.txt").read_text()
    assert not any(s in held for s in secrets)
    assert all(hash_key(s) in held for s in secrets)

    answers = []
    for key in secrets:
        for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
            answers.append(c.get("/api/v1/search?q=yoga", headers=headers))
            answers.append(c.get("/api/v1/search?q=yoga&k=0", headers=headers))           # a 400
            answers.append(c.post("/api/v1/admin/reindex", headers=headers))              # 202 or 403
            answers.append(c.get("/api/v1/admin/reindex", headers=headers))
    wrong = "wrong-key-0b5e1d2c3a"
    answers.append(c.get("/api/v1/search?q=yoga", headers={"X-API-Key": wrong}))         # 401
    answers.append(c.get("/api/v1/search?q=yoga", headers={"Authorization": f"Basic {wrong}"}))
    # An unexpected error is logged with its traceback: still no key in it.
    from web import service

    def boom(*a, **k):
        raise RuntimeError("internal failure")
    original = service.run_search
    service.run_search = boom
    try:
        answers.append(c.get("/api/v1/search?q=yoga", headers={"X-API-Key": AGENT}))
    finally:
        service.run_search = original
    assert answers[-1].status_code == 500
    app.extensions["dupe_reindex"].thread.join(timeout=30)

    logged = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert "internal failure" in logged and "Traceback" in logged       # the 500 was logged, in full
    for s in (*secrets, wrong):
        assert s not in logged, f"a key appears in the logs: {s}"
        for resp in answers:
            assert s not in resp.get_data(as_text=True) and s not in str(resp.headers)
    assert {r.status_code for r in answers} >= {200, 202, 400, 401, 403, 500}


def test_key_comparison_is_constant_time(monkeypatch):
    keys = parse_keys(",".join(f"k{i}:{hash_key(f'key-{i}')}" for i in range(5)))
    calls: list[tuple[str, str]] = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)
    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    for presented, expected in (("key-0", "k0"), ("key-4", "k4"), ("nope", None), ("x" * 10_000, None)):
        calls.clear()
        ident = identify(presented, keys)
        assert (ident.name if ident else None) == expected
        # Every configured key is compared, whichever matched, with hmac.compare_digest, on
        # fixed-length digests (the presented key's length does not show either).
        assert len(calls) == len(keys)
        assert all(len(a) == len(b) == 64 for a, b in calls)
        assert [b for _, b in calls] == [k.sha256 for k in keys]


def test_plaintext_keys_in_configuration_are_refused():
    for spec in ("agent:my-plain-key", f"agent:{AGENT}", "agent:" + "g" * 64):
        with pytest.raises(auth.KeyConfigError) as e:
            parse_keys(spec)
        assert AGENT not in str(e.value)          # the refusal does not echo the key either


# ----------------------------------------------------------------------------- admin operations


def test_admin_operations_are_refused_without_an_admin_key(app):
    c = app.test_client()
    catalog = Path(app.config["CATALOG_DIR"])
    before = (catalog / "products.jsonl").read_bytes()
    bad_body = b'{"id": "evil"}\n'
    for headers, status in (({}, 401), ({"X-API-Key": AGENT}, 403), ({"X-API-Key": FILE_AGENT}, 403),
                            ({"X-API-Key": "not-a-key"}, 401), ({"X-API-Key": hash_key(ADMIN)}, 401),
                            ({"Authorization": f"Bearer {hash_key(ADMIN)}"}, 401),
                            ({"Authorization": f"Basic {ADMIN}"}, 401), ({"X-API-Key": ""}, 401),
                            ({"X-API-Key": ADMIN + " "}, None)):
        for method, url in (("POST", "/api/v1/admin/reindex"), ("GET", "/api/v1/admin/reindex"),
                            ("PUT", "/api/v1/admin/catalog/products.jsonl")):
            if status is None:             # surrounding spaces are trimmed: this is the admin key
                if method == "GET":
                    assert c.open(url, method=method, headers=headers).status_code == 200
                continue
            resp = c.open(url, method=method, headers=headers, data=bad_body if method == "PUT" else None)
            assert resp.status_code == status, (headers, method, url, resp.get_data(as_text=True))
            assert resp.get_json()["error"]["code"] == ("unauthorized" if status == 401 else "forbidden")
    # The refused uploads wrote nothing, no reindex started; the admin's upload is written.
    assert (catalog / "products.jsonl").read_bytes() == before
    assert app.extensions["dupe_reindex"].snapshot()["state"] == "idle"
    resp = c.put("/api/v1/admin/catalog/products.jsonl", data=bad_body, headers={"X-API-Key": ADMIN})
    assert resp.status_code == 200 and (catalog / "products.jsonl").read_bytes() == bad_body
    (catalog / "products.jsonl").write_bytes(before)
    # A query parameter is no way to pass a key.
    resp = c.post(f"/api/v1/admin/reindex?api_key={ADMIN}")
    assert resp.status_code in (400, 401)


# ----------------------------------------------------------------------------- rate limits under a burst


def _burst(port: int, plan: list[tuple[dict, str]]) -> list[int]:
    """Fire every request at once (threads released together); return the statuses."""
    barrier = threading.Barrier(len(plan))
    statuses: list[int] = [0] * len(plan)

    def one(i: int, headers: dict, path: str) -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        barrier.wait(timeout=30)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                statuses[i] = r.status
        except urllib.error.HTTPError as e:
            statuses[i] = e.code
            if e.code == 429:
                assert int(e.headers["Retry-After"]) >= 1
                assert json.loads(e.read())["error"]["code"] == "rate_limited"
    threads = [threading.Thread(target=one, args=(i, h, p)) for i, (h, p) in enumerate(plan)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_per_key_rate_limits_hold_under_a_concurrent_burst(built, tmp_path):
    from waitress.server import create_server
    app = make_app(tmp_path, built, API_KEYS=f"burst:{hash_key('burst-key')}:20,other:{hash_key('other-key')}:7",
                   RATE_LIMIT_PER_MIN=1000, ANON_RATE_LIMIT_PER_MIN=5)
    app.extensions["dupe_limiter"] = RateLimiter(clock=lambda: 1000.0)   # no refill during the burst
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        plan = ([({"X-API-Key": "burst-key"}, "/api/v1/search?q=yoga")] * 50
                + [({"Authorization": "Bearer other-key"}, "/api/v1/brands")] * 20
                + [({}, "/api/v1/brands")] * 15)
        statuses = _burst(port, plan)
        burst, other, anon = statuses[:50], statuses[50:70], statuses[70:]
        assert sorted(set(statuses)) == [200, 429], statuses
        assert burst.count(200) == 20 and burst.count(429) == 30
        assert other.count(200) == 7 and other.count(429) == 13
        assert anon.count(200) == 5 and anon.count(429) == 10
        # Batches draw one token per item: an emptied bucket refuses a batch whole.
        assert _burst(port, [({"X-API-Key": "burst-key"}, "/api/v1/brands")]) == [429]
        print(f"\nBURST: {len(statuses) + 1} concurrent requests, limits held exactly")
    finally:
        server.close()
        t.join(timeout=10)


def test_rate_limiter_is_exact_under_contention():
    rl = RateLimiter(clock=lambda: 5.0)
    allowed = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            ok = rl.take("k", 300)[0]
            with lock:
                allowed.append(ok)
    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 300 and len(allowed) == 800


# ----------------------------------------------------------------------------- no secrets in the repository

_SECRET_PATTERNS = {
    "private key": re.compile("-----BEGIN [A-Z ]*" + "PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)" + r"[0-9A-Z]{16}\b"),
    "AWS secret": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}", re.I),
    "GitHub token": re.compile(r"\bgh[pousr]_" + r"[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-" + r"[A-Za-z0-9-]{10,}"),
    "OpenAI-style key": re.compile(r"\bsk-" + r"[A-Za-z0-9]{32,}\b"),
    "Google API key": re.compile(r"\bAIza" + r"[0-9A-Za-z_\-]{35}\b"),
    "key or password literal": re.compile(
        r"(api[_-]?key|secret|passwo?r?d|token)\s*[=:]\s*['\"][A-Za-z0-9_\-+/=]{24,}['\"]", re.I),
    "credentials in a URL": re.compile(r"https?://[^\s/:@'\"]+:[^\s/@'\"]{8,}@(?!es\.example)[\w.-]+"),
}
_SECRET_FILES = re.compile(r"(^|/)(\.env(\..*)?|id_rsa[^/]*|id_ed25519[^/]*|.*\.pem|.*\.p12|.*\.pfx|.*\.key|"
                           r"credentials(\.json)?|\.netrc|\.npmrc|\.pypirc)$")


def _repo_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"not a git checkout: {e}")
    return sorted({f for f in out.decode().split("\0") if f})


def test_no_secrets_in_the_repository():
    files = _repo_files()
    assert files
    assert not [f for f in files if _SECRET_FILES.search(f)]
    found = []
    scanned = 0
    for name in files:
        path = ROOT / name
        try:
            if not path.is_file() or path.stat().st_size > 2_000_000:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue                                    # binary (images, model files)
        scanned += 1
        text = data.decode("utf-8", errors="replace")
        for what, pattern in _SECRET_PATTERNS.items():
            for m in pattern.finditer(text):
                found.append(f"{name}: {what}: {m.group(0)[:40]}...")
    assert scanned > 50
    assert not found, "\n".join(found)
