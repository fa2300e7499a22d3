"""Hostile input against the real ``dupe serve`` (issue 18): each case's status, wall time
and the server's memory, whether normal requests stayed fast meanwhile, then a load run
mixing hostile and normal traffic.

    python -m benchmarks.hostile [--index-dir D] [--catalog seeds] [--port P]
        [--cases all|a,b] [--load-seconds 60] [--clients 16] [--load-mix mixed|normal|both]
        [--fake-models] [--rss-cap-gb 3] [--case-cap-s 60] [--json out.json]

The server is ``dupe serve`` (waitress, its default thread count as deployed) started by
``benchmarks.hostile_server`` on 127.0.0.1, a fresh process per case, on a copy of the
index (the given index folder is never written; an empty one is first filled by
``dupe index``). Its RSS is sampled every 50 ms with psutil; a server past
``--rss-cap-gb`` or a case past ``--case-cap-s`` is killed and reported as such, so the
machine survives the code before the fixes. Hostile requests are anonymous, each case
(and each load-run request) from its own loopback address, so per-address limits work as
they would against many callers; normal traffic uses an API key with a high limit. The
real models are used unless ``--fake-models`` (the fakes of tests/conftest.py replace the
text and image models; OCR stays real). Cases that cannot be driven over HTTP are
measured by calling the function and labelled ``function``. Only measured figures are
printed.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
MiB = MB

# Keys the server is started with: name -> (key, per-minute limit or None). The key text
# is random per run; only its hash goes to the server, as in production.
_SALT = os.urandom(4).hex()
KEYS = {
    "bench": (f"bench-{_SALT}", 1_000_000),          # normal traffic and probes
    "small": (f"small-{_SALT}", 5),                  # a key whose limit a batch exceeds
    "intl": (f"clé-ключ-钥匙-{_SALT}", 1_000_000),      # a non-ASCII key
}
ADMIN = ("admin", f"admin-{_SALT}")

TEXT_QUERIES = ["lululemon align leggings", "yoga pants high waist", "wireless earbuds noise cancelling",
                "beef jerky", "hair dryer", "down jacket", "sonicare toothbrush", "rain jacket gore-tex",
                "airpods pro dupe", "face cream 50ml", "dyson airwrap alternative", "running shoes"]


# ----------------------------------------------------------------------------- fixtures (bytes)


def png(w: int, h: int, colour: tuple[int, int, int] = (200, 200, 200)) -> bytes:
    """A plain PNG of w x h pixels (a 2000x3 one is ~100 bytes)."""
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(out, "PNG", optimize=True)
    return out.getvalue()


def photo_jpeg(w: int = 1200, h: int = 1600, text: str = "ALIGN 25\"") -> bytes:
    """A photo-like JPEG: a gradient, a product-shaped block and a printed name (work for
    OCR and the image model alike)."""
    from PIL import Image, ImageDraw, ImageFont
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    arr = (np.concatenate([200 - 80 * y + 0 * x, 180 + 40 * x + 0 * y, 160 + 60 * y * x], axis=2)).clip(0, 255)
    im = Image.fromarray(arr.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((w * 0.2, h * 0.15, w * 0.8, h * 0.85), radius=w // 20, fill=(40, 40, 60))
    font = ImageFont.load_default(size=max(12, w // 12))
    d.text((w * 0.25, h * 0.4), text, fill=(240, 240, 240), font=font)
    d.text((w * 0.25, h * 0.55), "yoga", fill=(240, 200, 200), font=font)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()


def gif_screen(screen: int = 7000) -> bytes:
    """A GIF whose one frame is 1x1 pixel on a ``screen`` x ``screen`` logical screen,
    written byte by byte (35 bytes): decoders paint the whole screen."""
    return (b"GIF89a" + struct.pack("<HHBBB", screen, screen, 0x80, 0, 0)   # screen, 2-colour table
            + b"\x00\x00\x00\xff\xff\xff"                                  # the colour table
            + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0)                  # image descriptor: 1x1
            + b"\x02\x02\x44\x01\x00"                                      # LZW: clear, 0, end
            + b";")


def empty_objects_json(size: int = 32 * MiB - 1024) -> bytes:
    """A JSON array of empty objects, ``size`` bytes long at most (just under the 32 MiB body
    limit, so the server has to read and parse it)."""
    n = (size - 2) // 3
    return b"[" + b"{}," * (n - 1) + b"{}]"


def big_number(digits: int = 400) -> str:
    return "1" + "0" * (digits - 1)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "hostile" + os.urandom(8).hex()
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ----------------------------------------------------------------------------- HTTP client


@dataclass
class Reply:
    status: int | None          # None: no answer (connection error or client timeout)
    seconds: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    retries: int = 0            # times a polite client waited out Retry-After first

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def failed(self) -> bool:
        """An error in the issue's sense: a 5xx, no answer, or an answer after 30 s."""
        return self.status is None or self.status >= 500 or self.seconds > 30


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, Any] | None = None,
         *, source: str | None = None, timeout: float = 30.0, host: str | None = None) -> Reply:
    """One request on a new connection, from loopback address ``source`` if given. Header
    values may be bytes (sent as they are: a UTF-8 key)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    t0 = time.perf_counter()
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, time.perf_counter() - t0, data, {k.lower(): v for k, v in resp.getheaders()})
    except (OSError, http.client.HTTPException) as e:
        return Reply(None, time.perf_counter() - t0, error=f"{type(e).__name__}: {e}"[:200])
    finally:
        conn.close()


def key_header(name: str) -> dict[str, Any]:
    return {"X-API-Key": KEYS[name][0].encode("utf-8")}


def post_json(port: int, path: str, obj: Any, **kw: Any) -> Reply:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return call(port, "POST", path, body, headers, **kw)


def post_photo(port: int, path: str, data: bytes, fields: dict[str, str] | None = None, *, name: str = "photo",
               filename: str = "photo.jpg", ctype: str = "image/jpeg", **kw: Any) -> Reply:
    body, content_type = multipart(fields or {}, {name: (filename, data, ctype)})
    headers = {"Content-Type": content_type, **kw.pop("headers", {})}
    return call(port, "POST", path, body, headers, **kw)


class Addresses:
    """Distinct loopback source addresses (127.0.a.b), one per hostile caller."""

    def __init__(self, first: int = 2) -> None:
        self._n = first * 256
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._n += 1
            if self._n % 256 in (0, 255):
                self._n += 2
            return f"127.0.{(self._n // 256) % 250 + 2}.{self._n % 256}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


# ----------------------------------------------------------------------------- the server


def server_env(index_dir: Path, catalog: Path, upload_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    def entry(name: str, key: str, limit: int | None) -> str:
        return f"{name}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}" + (f":{limit}" if limit else "")
    env = {"DUPE_INDEX_DIR": str(index_dir), "DUPE_CATALOG_DIR": str(catalog), "DUPE_UPLOAD_DIR": str(upload_dir),
           "DUPE_API_KEYS": ",".join(entry(n, k, lim) for n, (k, lim) in KEYS.items()),
           "DUPE_ADMIN_KEYS": entry(ADMIN[0], ADMIN[1], 1_000_000), "DUPE_OCR": "true",
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.update(extra or {})
    return env


class Server:
    """One ``dupe serve`` child, its RSS sampled every 50 ms; killed (SIGKILL, by pid) when
    it passes ``cap_bytes``."""

    def __init__(self, env: dict[str, str], *, port: int, threads: int | None, fake_models: bool, cap_bytes: int,
                 log: Path) -> None:
        import psutil
        self.port, self.cap = port, cap_bytes
        self.log = open(log, "w", encoding="utf-8")
        args = [sys.executable, "-m", "benchmarks.hostile_server", "serve", str(port)]
        args += ["--threads", str(threads)] if threads else []
        self.proc = subprocess.Popen(args + (["--fake-models"] if fake_models else []), cwd=ROOT,
                                     env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.ps = psutil.Process(self.proc.pid)
        self.killed: str | None = None
        self._t0 = time.monotonic()
        self._window_start = self._t0
        self.peak = 0
        self.last = 0
        self.log_mark = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.ps.memory_info().rss
            except Exception:
                return
            self.last = rss
            self.peak = max(self.peak, rss)
            if rss > self.cap and self.killed is None:
                self.kill(f"killed at {rss / 1e9:.1f} GB after {time.monotonic() - self._window_start:.1f} s")
                return
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.output()[-2000:]}")
            if "dupe search is serving" in self.output():
                code = re.search(r"^code: (.*)$", self.output(), re.MULTILINE)
                if not code or Path(code.group(1)).resolve() != ROOT:
                    raise RuntimeError(f"the server runs code from {code and code.group(1)}, not {ROOT}")
                if call(self.port, "GET", "/api/v1/openapi.json", timeout=5).status is not None:
                    return
            time.sleep(0.2)
        raise TimeoutError("server did not start")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def window_output(self) -> str:
        return self.output()[self.log_mark:]

    def mark(self) -> int:
        """Start a measuring window: the peak is reset, the log read from here; returns the
        RSS now."""
        self._window_start = time.monotonic()
        self.log_mark = len(self.output())
        self.peak = self.last
        return self.last

    def alive(self) -> bool:
        return self.proc.poll() is None and self.killed is None

    def kill(self, why: str) -> None:
        self.killed = self.killed or why
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._stop.set()
        self.log.close()


def copy_index(src: Path, dst: Path) -> Path:
    """A copy of the index folder with its WAL folded into the database file, so the
    copy's bytes can be edited in place."""
    shutil.copytree(src, dst)
    db = dst / (dst / "CURRENT").read_text().strip()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def first_product_id(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        (doc,) = con.execute("SELECT id FROM docs WHERE kind = 'product' ORDER BY rowid LIMIT 1").fetchone()
    finally:
        con.close()
    from search.store.schema import record_id
    return record_id(doc)


def product_ids(catalog: Path, n: int = 200) -> list[str]:
    ids = []
    with open(catalog / "products.jsonl", encoding="utf-8") as f:
        for line in f:
            try:
                ids.append(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError):
                continue
            if len(ids) >= n:
                break
    return ids


def build_index(catalog: Path, index_dir: Path, fake_models: bool) -> float:
    t0 = time.monotonic()
    args = [sys.executable, "-m", "benchmarks.hostile_server", "index", str(catalog), str(index_dir)]
    subprocess.run(args + (["--fake-models"] if fake_models else []), cwd=ROOT, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.monotonic() - t0


# ----------------------------------------------------------------------------- cases


@dataclass
class Ctx:
    port: int
    srv: Server | None
    work: Path
    catalog: Path
    addrs: Addresses
    cap_s: float
    products: list[str]
    db: Path | None = None                  # the server's copy of the index database
    photo: bytes = b""
    baseline_photo_s: float | None = None   # a normal photo search on the warm server
    prepared: dict[str, Any] = field(default_factory=dict)   # what ``Case.prepare`` changed

    def anon(self) -> str:
        return self.addrs.next()


@dataclass
class Case:
    name: str
    what: str
    run: Callable[[Ctx], dict[str, Any]]
    how: str = "HTTP"
    prepare: Callable[[Path, Ctx], dict[str, Any]] | None = None   # edits the index copy before the start
    warm: bool = True                       # load the models first (not on an index that cannot load)


def _statuses(replies: list[Reply]) -> str:
    c = Counter(str(r.status) if r.status is not None else "no-answer" for r in replies)
    return " ".join(f"{k}x{v}" if v > 1 else k for k, v in sorted(c.items()))


def _err_code(r: Reply) -> str:
    body = r.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return ""


def _one(r: Reply, **note: Any) -> dict[str, Any]:
    return {"status": _statuses([r]), "seconds": r.seconds, "replies": [r], "code": _err_code(r), **note}


def _many(replies: list[Reply], seconds: float, **note: Any) -> dict[str, Any]:
    return {"status": _statuses(replies), "seconds": seconds, "replies": replies, **note}


def _concurrently(fns: list[Callable[[], Reply]], delays: list[float] | None = None) -> tuple[list[Reply], float]:
    out: list[Reply | None] = [None] * len(fns)
    t0 = time.perf_counter()

    def go(i: int) -> None:
        if delays:
            time.sleep(delays[i])
        out[i] = fns[i]()
    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in out if r is not None], time.perf_counter() - t0


def case_thin(w: int, h: int) -> Callable[[Ctx], dict[str, Any]]:
    def run(c: Ctx) -> dict[str, Any]:
        data = png(w, h)
        return _one(post_photo(c.port, "/api/v1/search", data, filename="thin.png", ctype="image/png",
                               source=c.anon(), timeout=c.cap_s + 5), fixture=f"{len(data)} bytes")
    return run


def case_crop(c: Ctx) -> dict[str, Any]:
    return _one(post_photo(c.port, "/api/v1/search", c.photo, {"crop": "0,0,1200,2"}, source=c.anon(),
                           timeout=c.cap_s + 5), fixture="1200x1600 JPEG, crop=0,0,1200,2")


def case_gif(c: Ctx) -> dict[str, Any]:
    data = gif_screen()
    return _one(post_photo(c.port, "/api/v1/search", data, filename="s.gif", ctype="image/gif", source=c.anon(),
                           timeout=c.cap_s + 5), fixture=f"{len(data)}-byte GIF, 1x1 frame on 7000x7000")


def normal_photos_while(port: int, photo: bytes, busy: Callable[[], tuple[list[Reply], float]],
                        timeout: float = 65) -> tuple[list[Reply], float, list[Reply]]:
    """Run ``busy`` while normal photo searches (the bench key) follow one another, the
    first 0.5 s in, until it is done (at least one): busy's replies and time, and the
    normal replies."""
    normal: list[Reply] = []
    done = threading.Event()

    def searches() -> None:
        done.wait(0.5)
        while not done.is_set() or not normal:
            normal.append(post_photo(port, "/api/v1/search", photo, headers=key_header("bench"), timeout=timeout))
    t = threading.Thread(target=searches, daemon=True)
    t.start()
    replies, seconds = busy()
    done.set()
    t.join(timeout + 10)
    return replies, seconds, normal


#: A GIF screen just under the service's decoded-pixel budget (24 Mpx): decoded and read
#: in full, unlike the 7000x7000 one, so four at once really compete with a normal photo.
GIF_UNDER_BUDGET = 4800


def case_gif_x4(c: Ctx) -> dict[str, Any]:
    data = gif_screen(GIF_UNDER_BUDGET)
    gifs = [lambda s=s: post_photo(c.port, "/api/v1/search", data, filename="s.gif", ctype="image/gif",
                                   source=s, timeout=c.cap_s + 5) for s in [c.anon() for _ in range(4)]]
    replies, seconds, normal = normal_photos_while(c.port, c.photo, lambda: _concurrently(gifs), c.cap_s + 5)
    times = [r.seconds for r in normal]
    base = f"{c.baseline_photo_s:.2f} s alone" if c.baseline_photo_s is not None else "alone: not measured"
    return _many(replies, seconds, normal_photo=_statuses(normal), normal_photo_s=times,
                 note=f"normal photo searches meanwhile: {_statuses(normal) or 'none'}, "
                      f"max {_f(max(times) if times else None)} s ({base})")


def case_page_thin_visit(c: Ctx) -> dict[str, Any]:
    src = c.anon()
    up = post_photo(c.port, "/search", png(2000, 3), filename="thin.png", ctype="image/png", source=src,
                    timeout=c.cap_s + 5)
    loc = up.headers.get("location", "")
    m = re.search(r"/s/([^/?]+)", loc)
    if not m:
        return _one(up, note=f"upload answered {up.status} without a share link")
    visits = [call(c.port, "GET", f"/s/{m.group(1)}", source=src, timeout=c.cap_s + 5) for _ in range(2)]
    return _many([up, *visits], up.seconds + sum(v.seconds for v in visits),
                 note=f"upload {up.status}; 2 visits of /s/<id>: {_statuses(visits)} in "
                      f"{', '.join(f'{v.seconds:.1f}' for v in visits)} s")


class DripServer:
    """An HTTP server on 127.0.0.1 that answers 200 image/png and then sends one byte a
    second, for at most ``limit`` seconds per connection."""

    def __init__(self, limit: float = 90) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.limit = limit
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        t0 = time.monotonic()
        try:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n"
                         b"Connection: close\r\n\r\n")
            while not self.stop.is_set() and time.monotonic() - t0 < self.limit:
                conn.sendall(b"\x89")
                time.sleep(1.0)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def case_drip_http(c: Ctx) -> dict[str, Any]:
    drip = DripServer()
    try:
        url = f"http://localhost:{drip.port}/slow.png"
        r = post_json(c.port, "/api/v1/search", {"image_url": url}, source=c.anon(), timeout=c.cap_s + 5)
    finally:
        drip.close()
    text = r.body.decode("utf-8", "replace")
    leaks = "127.0.0.1" in text or "::1" in text
    return _one(r, note=f"url host 'localhost'; resolver answer in message: {'yes' if leaks else 'no'}")


def case_drip_function(c: Ctx) -> dict[str, Any]:
    """``fetch_url(..., timeout=3)`` against the drip server, with the address guard
    opened (the server's guard refuses loopback, and no setting opens it)."""
    from indexer.images import fetch_url
    drip = DripServer(limit=c.cap_s + 10)
    box: dict[str, Any] = {}

    def go() -> None:
        t0 = time.perf_counter()
        try:
            data = fetch_url(f"http://127.0.0.1:{drip.port}/slow.png", timeout=3.0, is_allowed=lambda ip: True)
            box["result"] = f"returned {len(data)} bytes"
        except Exception as e:  # noqa: BLE001 - any outcome is recorded
            box["result"] = f"{type(e).__name__}: {str(e)[:120]}"
        box["seconds"] = time.perf_counter() - t0
    t = threading.Thread(target=go, daemon=True)
    t0 = time.perf_counter()
    t.start()
    t.join(c.cap_s)
    drip.close()
    if t.is_alive():
        return {"status": "running", "seconds": time.perf_counter() - t0,
                "note": f"fetch_url(timeout=3) still running after {c.cap_s:.0f} s"}
    return {"status": "raised" if "Error" in box["result"] else "returned", "seconds": box["seconds"],
            "note": f"fetch_url(timeout=3): {box['result']}"}


def case_big_json(n: int) -> Callable[[Ctx], dict[str, Any]]:
    def run(c: Ctx) -> dict[str, Any]:
        body = empty_objects_json()
        fns = [lambda s=s: post_json(c.port, "/api/v1/search", body, source=s, timeout=c.cap_s + 5)
               for s in [c.anon() for _ in range(n)]]
        replies, seconds = _concurrently(fns)
        return _many(replies, seconds, code=_err_code(replies[0]), fixture=f"{len(body)} bytes each")
    return run


def case_price_digits(c: Ctx) -> dict[str, Any]:
    body = ('{"q": "yoga", "price_min": ' + big_number() + "}").encode()
    r = post_json(c.port, "/api/v1/search", body, source=c.anon(), timeout=c.cap_s + 5)
    echoed = "0" * 100 in r.body.decode("utf-8", "replace")
    return _one(r, note=f"400-digit number echoed in the message: {'yes' if echoed else 'no'}")


def case_price_digits_batch(c: Ctx) -> dict[str, Any]:
    body = ('{"items": [{"q": "yoga"}, {"q": "yoga", "price_min": ' + big_number() + "}]}").encode()
    r = post_json(c.port, "/api/v1/search/batch", body, source=c.anon(), timeout=c.cap_s + 5)
    data = r.json()
    items = [it.get("status") for it in data.get("items", [])] if isinstance(data, dict) else []
    return _one(r, note=f"item statuses: {items if items else 'none (whole batch failed)'}")


def case_intl_key(c: Ctx) -> dict[str, Any]:
    r = call(c.port, "GET", "/api/v1/search?q=yoga", headers=key_header("intl"), source=c.anon())
    return _one(r, note="a configured key 'clé-ключ-钥匙-…' sent as UTF-8 in X-API-Key")


def case_key_guesses(c: Ctx) -> dict[str, Any]:
    src = c.anon()
    t0 = time.perf_counter()
    replies = [call(c.port, "GET", "/api/v1/search?q=yoga", headers={"X-API-Key": f"guess-{i:04d}-{os.urandom(6).hex()}"},
                    source=src) for i in range(50)]
    first_429 = next((i + 1 for i, r in enumerate(replies) if r.status == 429), None)
    return _many(replies, time.perf_counter() - t0,
                 note=f"50 unknown keys from one address; first 429 at guess {first_429 or 'never'}")


def case_batch_over_limit(c: Ctx) -> dict[str, Any]:
    items = [{"q": q} for q in TEXT_QUERIES[:10]]
    r = post_json(c.port, "/api/v1/search/batch", {"items": items}, headers=key_header("small"), source=c.anon())
    return _one(r, note=f"10 items, key limit 5/min; Retry-After: {r.headers.get('retry-after', 'none')}")


def case_host_header(c: Ctx) -> dict[str, Any]:
    api = call(c.port, "GET", "/api/v1/search?q=lululemon+align+leggings", headers=key_header("bench"),
               host="evil.example")
    page = call(c.port, "GET", "/search?q=lululemon+align+leggings", source=c.anon(), host="evil.example")
    data = api.json() or {}
    links = [r.get("card_url", "") for r in data.get("results", [])] + \
            [u for r in data.get("results", []) for u in r.get("image_urls", [])]
    html = page.body.decode("utf-8", "replace")
    og = re.findall(r'<meta[^>]+property="og:(?:url|image)"[^>]+content="([^"]*)"', html)
    csp = page.headers.get("content-security-policy", "")
    img_src = next((d.strip() for d in csp.split(";") if d.strip().startswith("img-src")), "none")
    in_api = any("evil.example" in u for u in links)
    in_og = any("evil.example" in u for u in og)
    return _many([api, page], api.seconds + page.seconds,
                 note=f"evil.example in API card_url/image_urls: {'yes' if in_api else 'no'} "
                      f"({len(links)} links); in og:url/og:image: {'yes' if in_og else 'no'} ({len(og)} tags); "
                      f"page CSP {img_src}")


def case_page_uploads(c: Ctx) -> dict[str, Any]:
    src = c.anon()
    small = photo_jpeg(320, 240)
    upload_dir = c.work / "uploads"
    before = sum(1 for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else 0
    t0 = time.perf_counter()
    replies = [post_photo(c.port, "/search", small, source=src) for _ in range(150)]
    seconds = time.perf_counter() - t0
    after = sum(1 for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else 0
    return _many(replies, seconds, files_kept=after - before,
                 note=f"150 page uploads from one address; files kept: {after - before}")


def prepare_flip(db: Path, c: Ctx) -> dict[str, Any]:
    rng = random.Random(18)
    data = bytearray(db.read_bytes())
    spots = sorted(rng.randrange(4096, len(data)) for _ in range(64))
    for i in spots:
        data[i] ^= 0xFF
    db.write_bytes(bytes(data))
    return {"flipped": f"64 bytes of {len(data)} (seed 18, after the first page)"}


def case_flip(c: Ctx) -> dict[str, Any]:
    health = call(c.port, "GET", "/api/v1/health")
    searches = [call(c.port, "GET", "/api/v1/search?q=" + urllib.parse.quote(q), headers=key_header("bench"))
                for q in TEXT_QUERIES[:5]]
    path_leak = any(str(c.work) in r.body.decode("utf-8", "replace") for r in [health, *searches])
    return _many([health, *searches], health.seconds + sum(r.seconds for r in searches),
                 health=health.status,
                 note=f"/health {health.status}; 5 searches: {_statuses(searches)}; "
                      f"server path in a message: {'yes' if path_leak else 'no'}")


LEGGINGS_QUERIES = ["yoga leggings", "high waist leggings", "lululemon align leggings", "leggings with pockets",
                    "running tights", "yoga pants"]


def last_product_of(db: Path, category: str) -> tuple[str, int]:
    con = sqlite3.connect(db)
    try:
        doc, rowid = con.execute("SELECT id, rowid FROM docs WHERE kind = 'product' AND category = ? "
                                 "ORDER BY rowid DESC LIMIT 1", (category,)).fetchone()
    finally:
        con.close()
    from search.store.schema import record_id
    return record_id(doc), rowid


def prepare_vector(scale: float) -> Callable[[Path, Ctx], dict[str, Any]]:
    """The last leggings product's text vector multiplied by ``scale`` (1: left as it is, for
    the ranks on a clean index)."""
    def prepare(db: Path, c: Ctx) -> dict[str, Any]:
        pid, rowid = last_product_of(db, "leggings")
        if scale != 1:
            con = sqlite3.connect(db)
            (blob,) = con.execute("SELECT v FROM vec_text WHERE rowid = ?", (rowid,)).fetchone()
            v = np.frombuffer(blob, dtype=np.float32) * np.float32(scale)
            con.execute("UPDATE vec_text SET v = ? WHERE rowid = ?", (v.astype(np.float32).tobytes(), rowid))
            con.commit()
            con.close()
        return {"product": pid, "scale": scale}
    return prepare


def case_vector(c: Ctx) -> dict[str, Any]:
    pid, scale = c.prepared["product"], c.prepared["scale"]
    replies, ranks = [], {"hybrid": [], "dense": []}
    for mode in ranks:
        for q in LEGGINGS_QUERIES:
            r = call(c.port, "GET", f"/api/v1/search?mode={mode}&q=" + urllib.parse.quote(q), headers=key_header("bench"))
            replies.append(r)
            ids = [x.get("id") for x in ((r.json() or {}).get("results") or [])]
            ranks[mode].append(ids.index(pid) + 1 if pid in ids else None)
    said = "; ".join(f"{mode}: top result of {sum(1 for x in rs if x == 1)}/{len(rs)} leggings queries, "
                     f"on the first page of {sum(1 for x in rs if x)}" for mode, rs in ranks.items())
    what = "as stored" if scale == 1 else f"scaled by {scale:g}"
    return _many(replies, sum(r.seconds for r in replies), ranks=ranks, note=f"text vector of {pid} {what}: {said}")


def prepare_source(db: Path, c: Ctx) -> dict[str, Any]:
    pid = first_product_id(db)
    con = sqlite3.connect(db)
    from search.store.schema import doc_id
    con.execute("UPDATE docs SET source = '{\"broken' WHERE id = ?", (doc_id("product", pid),))
    con.commit()
    con.close()
    return {"product": pid}


def case_source(c: Ctx) -> dict[str, Any]:
    pid = c.prepared.get("product")
    r = call(c.port, "GET", f"/api/v1/products/{pid}", headers=key_header("bench"))
    return _one(r, note=f"stored source of {pid} is '{{\"broken'")


def case_catalog_uploads(c: Ctx) -> dict[str, Any]:
    contents = [(json.dumps({"id": f"b{i}", "names": {"en": f"Brand {i}"}}) + "\n").encode() * 2000
                for i in range(50)]
    admin = {"X-API-Key": ADMIN[1].encode()}
    fns = [lambda b=b: call(c.port, "PUT", "/api/v1/admin/catalog/brands.jsonl", b, admin) for b in contents]
    replies, seconds = _concurrently(fns)
    final = (c.catalog / "brands.jsonl").read_bytes()
    ok = [b for b, r in zip(contents, replies) if r.status == 200]
    return _many(replies, seconds, note=f"50 concurrent admin PUTs of brands.jsonl; final file is one of the "
                                        f"accepted uploads: {'yes' if final in ok else 'no'}")


CASES = [
    Case("thin_2000x3", "2000x3 PNG photo (OCR blow-up)", case_thin(2000, 3)),
    Case("crop_Wx2", "normal photo with crop=0,0,W,2", case_crop),
    Case("thin_3x2000", "3x2000 PNG photo", case_thin(3, 2000)),
    Case("page_thin_visit", "2000x3 page upload, then 2 visits of /s/<id>", case_page_thin_visit),
    Case("gif_7000", "GIF: 1x1 frame on a 7000x7000 screen", case_gif),
    Case("gif_x4_photo", "4 such GIFs at once, a normal photo search 0.5 s later", case_gif_x4),
    Case("url_drip_http", "image_url to a 1 byte/s server (HTTP: the guard)", case_drip_http),
    Case("url_drip_fetch", "fetch_url(timeout=3) from a 1 byte/s server", case_drip_function, how="function"),
    Case("json_32mib", "32 MiB JSON body of empty objects", case_big_json(1)),
    Case("json_32mib_x4", "four such bodies at once", case_big_json(4)),
    Case("price_400_digits", "price_min with 400 digits", case_price_digits),
    Case("price_400_batch", "price_min with 400 digits as one batch item", case_price_digits_batch),
    Case("key_non_ascii", "a non-ASCII API key", case_intl_key),
    Case("key_guesses_50", "50 unknown-key guesses", case_key_guesses),
    Case("batch_over_limit", "a batch larger than the key's per-minute limit", case_batch_over_limit),
    Case("host_evil", "Host: evil.example in absolute links", case_host_header),
    Case("page_uploads_150", "150 page photo uploads", case_page_uploads),
    Case("catalog_put_x50", "50 concurrent admin catalog uploads", case_catalog_uploads),
    Case("flipped_bytes", "/health and searches after 64 flipped bytes (copy)", case_flip, prepare=prepare_flip,
         warm=False),
    Case("vector_clean", "ranks of one leggings product, clean copy", case_vector, prepare=prepare_vector(1)),
    Case("vector_1e30", "the same product's text vector scaled by 1e30 (copy)", case_vector,
         prepare=prepare_vector(1e30)),
    Case("broken_source", "a broken stored source JSON (copy)", case_source, prepare=prepare_source),
]


# ----------------------------------------------------------------------------- running cases


class Probe:
    """Normal requests (a text search, a product GET) every 0.25 s while a case runs."""

    def __init__(self, port: int, products: list[str]) -> None:
        self.port, self.products = port, products
        self.replies: list[Reply] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            if i % 2 == 0:
                path = "/api/v1/search?q=" + urllib.parse.quote(TEXT_QUERIES[i // 2 % len(TEXT_QUERIES)])
            else:
                path = f"/api/v1/products/{self.products[i // 2 % len(self.products)]}"
            self.replies.append(call(self.port, "GET", path, headers=key_header("bench"), timeout=60))
            i += 1
            self._stop.wait(0.25)

    def __enter__(self) -> Probe:
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join(timeout=70)

    def summary(self) -> dict[str, Any]:
        secs = [r.seconds for r in self.replies]
        return {"n": len(secs), "p50_s": pct(secs, 50), "max_s": max(secs) if secs else None,
                "errors": sum(1 for r in self.replies if r.failed)}


def warm(port: int, photo: bytes, products: list[str]) -> float | None:
    """Load every model (text, image, OCR) before measuring; returns the time of a normal
    photo search on the warm server."""
    call(port, "GET", "/api/v1/search?q=yoga", headers=key_header("bench"), timeout=300)
    call(port, "GET", f"/api/v1/products/{products[0]}", headers=key_header("bench"), timeout=60)
    post_photo(port, "/api/v1/search", photo, headers=key_header("bench"), timeout=300)
    r = post_photo(port, "/api/v1/search", photo, headers=key_header("bench"), timeout=300)
    return r.seconds if r.status == 200 else None


def _exceptions(log: str) -> list[str]:
    """Exception class names logged by the server (tracebacks' last lines)."""
    names = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt))\b", log, re.MULTILINE)
    return sorted(set(names))


def run_case(case: Case, opts: argparse.Namespace, work: Path, photo: bytes, products: list[str],
             addrs: Addresses) -> dict[str, Any]:
    row: dict[str, Any] = {"case": case.name, "what": case.what, "how": case.how}
    cdir = work / case.name
    shutil.rmtree(cdir, ignore_errors=True)
    cdir.mkdir(parents=True)
    ctx = Ctx(port=0, srv=None, work=cdir, catalog=opts.catalog, addrs=addrs, cap_s=opts.case_cap_s,
              products=products, photo=photo)
    if case.how == "function":
        t0 = time.perf_counter()
        out = case.run(ctx)
        row.update({k: v for k, v in out.items() if k != "replies"})
        row.setdefault("seconds", time.perf_counter() - t0)
        return row

    db = copy_index(opts.index_dir, cdir / "index")
    ctx.db = db
    catalog = opts.catalog
    if case.name == "catalog_put_x50":          # admin uploads write into the catalog folder: a copy
        catalog = cdir / "catalog"
        shutil.copytree(opts.catalog, catalog, ignore=shutil.ignore_patterns("images", "gen"))
        (catalog / "images").symlink_to(Path(opts.catalog).resolve() / "images")
        ctx.catalog = catalog
    if case.prepare:
        ctx.prepared = case.prepare(db, ctx)
    port = opts.port or free_port()
    env = server_env(db.parent, catalog, cdir / "uploads", dict(opts.server_env))
    srv = Server(env, port=port, threads=opts.threads, fake_models=opts.fake_models,
                 cap_bytes=int(opts.rss_cap_gb * 1e9), log=cdir / "server.log")
    try:
        srv.wait_ready()
        ctx.port, ctx.srv = port, srv
        if case.warm:
            ctx.baseline_photo_s = warm(port, photo, products)
        time.sleep(0.3)
        rss0 = srv.mark()
        box: dict[str, Any] = {}
        with Probe(port, products) as probe:
            t = threading.Thread(target=lambda: box.update(out=case.run(ctx)), daemon=True)
            t.start()
            t.join(opts.case_cap_s)
            if t.is_alive():
                srv.kill(f"killed after {opts.case_cap_s:.0f} s at {srv.last / 1e9:.1f} GB (case time cap)")
                t.join(30)
        time.sleep(1.0)
        out = box.get("out", {"status": "no-result"})
        row.update({k: v for k, v in out.items() if k != "replies"})
        row.update({"rss_before_mb": rss0 / MB, "rss_peak_mb": srv.peak / MB,
                    "rss_after_mb": srv.last / MB if srv.alive() else None,
                    "probe": probe.summary(), "killed": srv.killed,
                    "server_exceptions": _exceptions(srv.window_output())})
        if ctx.baseline_photo_s is not None:
            row["warm_photo_search_s"] = ctx.baseline_photo_s
        if srv.killed:
            row["status"] = "killed"
            row["note"] = srv.killed + ("; " + row["note"] if row.get("note") else "")
    finally:
        srv.stop()
        if not opts.keep_work:
            shutil.rmtree(cdir / "index", ignore_errors=True)
    return row


# ----------------------------------------------------------------------------- load run


def polite(send: Callable[[], Reply], budget: float = 30.0) -> Reply:
    """A request as a well-behaved client sends it: on 503 or 429 with ``Retry-After`` it
    waits that long and asks again, within ``budget`` seconds. The reply is the last one,
    timed from the first attempt (so waiting counts against the 30 s of ``failed``)."""
    t0 = time.perf_counter()
    retries = 0
    while True:
        r = send()
        wait = r.headers.get("retry-after", "")
        spent = time.perf_counter() - t0
        if r.status not in (429, 503) or not wait.isdigit() or spent + int(wait) > budget:
            return replace(r, seconds=spent, retries=retries)
        time.sleep(int(wait))
        retries += 1

NORMAL, HOSTILE = ("text", "product", "photo"), ("thin_png", "gif", "gif_under_budget", "json_32mib")


def load_run(opts: argparse.Namespace, work: Path, photo: bytes, products: list[str], addrs: Addresses,
             mix: str) -> dict[str, Any]:
    """``opts.clients`` threads for ``opts.load_seconds``: 3 in 8 send hostile traffic
    (anonymous, a new address each request) when ``mix`` is "mixed", the rest normal
    traffic (the bench key); every reply's class, status and time recorded."""
    ldir = work / f"load-{mix}"
    shutil.rmtree(ldir, ignore_errors=True)
    ldir.mkdir(parents=True)
    db = copy_index(opts.index_dir, ldir / "index")
    port = opts.port or free_port()
    srv = Server(server_env(db.parent, opts.catalog, ldir / "uploads", dict(opts.server_env)), port=port,
                 threads=opts.threads, fake_models=opts.fake_models, cap_bytes=int(opts.rss_cap_gb * 1e9),
                 log=ldir / "server.log")
    thin, gif, body = png(2000, 3), gif_screen(), empty_objects_json()
    gif_under = gif_screen(GIF_UNDER_BUDGET)
    records: list[tuple[str, Reply]] = []
    lock = threading.Lock()
    n_hostile = round(opts.clients * 3 / 8) if mix == "mixed" else 0
    try:
        srv.wait_ready()
        warm(port, photo, products)
        rss0 = srv.mark()
        stop_at = time.monotonic() + opts.load_seconds

        def client(i: int) -> None:
            rng = random.Random(i)
            hostile = i < n_hostile
            while time.monotonic() < stop_at and srv.alive():
                if hostile:
                    kind = rng.choice(HOSTILE)
                    src = addrs.next()
                    if kind == "thin_png":
                        r = post_photo(port, "/api/v1/search", thin, filename="t.png", ctype="image/png", source=src)
                    elif kind in ("gif", "gif_under_budget"):
                        r = post_photo(port, "/api/v1/search", gif if kind == "gif" else gif_under, filename="s.gif",
                                       ctype="image/gif", source=src)
                    else:
                        r = post_json(port, "/api/v1/search", body, source=src)
                else:
                    kind = rng.choices(NORMAL, weights=(2, 2, 1))[0]
                    if kind == "text":
                        q = f"{rng.choice(TEXT_QUERIES)} {rng.choice(['', 'cheap', 'dupe', '2024', 'oem'])}".strip()
                        r = polite(lambda q=q: call(port, "GET", "/api/v1/search?q=" + urllib.parse.quote(q),
                                                    headers=key_header("bench")))
                    elif kind == "product":
                        pid = rng.choice(products)
                        r = polite(lambda pid=pid: call(port, "GET", f"/api/v1/products/{pid}",
                                                        headers=key_header("bench")))
                    else:
                        r = polite(lambda: post_photo(port, "/api/v1/search", photo, headers=key_header("bench")))
                with lock:
                    records.append((kind, r))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(opts.clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(opts.load_seconds + 90)
        elapsed = time.monotonic() - t0
        peak, killed, exceptions = srv.peak, srv.killed, _exceptions(srv.window_output())
    finally:
        srv.stop()
        if not opts.keep_work:
            shutil.rmtree(ldir / "index", ignore_errors=True)

    def stats(rs: list[Reply]) -> dict[str, Any]:
        secs = [r.seconds for r in rs if r.status is not None]
        return {"count": len(rs), "ok": sum(1 for r in rs if r.status is not None and r.status < 400),
                "4xx": sum(1 for r in rs if r.status is not None and 400 <= r.status < 500),
                "429": sum(1 for r in rs if r.status == 429),
                "5xx": sum(1 for r in rs if r.status is not None and r.status >= 500),
                "errors": sum(1 for r in rs if r.failed), "retried": sum(1 for r in rs if r.retries),
                "p50_s": pct(secs, 50), "p99_s": pct(secs, 99),
                "max_s": max(secs) if secs else None}
    classes = {k: stats([r for kind, r in records if kind == k]) for k in (*NORMAL, *HOSTILE)}
    classes = {k: v for k, v in classes.items() if v["count"]}
    normal = stats([r for kind, r in records if kind in NORMAL])
    return {"mix": mix, "clients": opts.clients, "hostile_clients": n_hostile, "seconds": elapsed,
            "rss_before_mb": rss0 / MB, "rss_peak_mb": peak / MB, "killed": killed,
            "server_exceptions": exceptions, "classes": classes, "normal_all": normal}


# ----------------------------------------------------------------------------- report


def _f(v: Any, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def print_cases(rows: list[dict[str, Any]]) -> None:
    print("| case | how | status | time s | RSS before / peak / after MB | probe n, max s, errors | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rss = " / ".join(_f(r.get(k), "{:.0f}") for k in ("rss_before_mb", "rss_peak_mb", "rss_after_mb"))
        p = r.get("probe")
        probe = f"{p['n']}, {_f(p['max_s'])}, {p['errors']}" if p else "-"
        note = r.get("note", "")
        if r.get("server_exceptions"):
            note += f" [server logged: {', '.join(r['server_exceptions'])}]"
        print(f"| {r['case']} | {r['how']} | {r.get('status')} | {_f(r.get('seconds'))} | {rss} | {probe} | {note} |")


def print_load(load: dict[str, Any]) -> None:
    print(f"\nload run ({load['mix']}): {load['clients']} clients ({load['hostile_clients']} hostile), "
          f"{load['seconds']:.0f} s until the last reply; server RSS {load['rss_before_mb']:.0f} -> peak {load['rss_peak_mb']:.0f} MB"
          + (f"; {load['killed']}" if load["killed"] else "")
          + (f"; server logged {', '.join(load['server_exceptions'])}" if load["server_exceptions"] else ""))
    print("| class | count | ok | 4xx (429) | errors (5xx) | retried after Retry-After | p50 s | p99 s | max s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s in [*load["classes"].items(), ("normal, all", load["normal_all"])]:
        print(f"| {name} | {s['count']} | {s['ok']} | {s['4xx']} ({s['429']}) | {s['errors']} ({s['5xx']}) | "
              f"{s.get('retried', 0)} | {_f(s['p50_s'])} | {_f(s['p99_s'])} | {_f(s['max_s'])} |")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks.hostile", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", type=Path, default=Path(tempfile.gettempdir()) / "dupe-hostile-index")
    ap.add_argument("--catalog", type=Path, default=ROOT / "seeds")
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one per start)")
    ap.add_argument("--cases", default="all", help="all, none, or names separated by commas")
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--load-mix", choices=("mixed", "normal", "both"), default="mixed")
    ap.add_argument("--threads", type=int, help="waitress threads (default: dupe serve's own default)")
    ap.add_argument("--fake-models", action="store_true", help="fake text/image models, real OCR")
    ap.add_argument("--rss-cap-gb", type=float, default=3.0)
    ap.add_argument("--case-cap-s", type=float, default=60.0)
    ap.add_argument("--server-env", action="append", default=[], type=lambda s: tuple(s.split("=", 1)),
                    help="KEY=VALUE added to the server's environment (repeatable)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dupe-hostile-work")
    ap.add_argument("--keep-work", action="store_true")
    ap.add_argument("--json", type=Path)
    opts = ap.parse_args(argv)
    opts.catalog = opts.catalog.resolve()
    opts.index_dir = opts.index_dir.resolve()

    import web
    if Path(web.__file__).resolve().parents[1] != ROOT:
        print(f"error: imports resolve to {Path(web.__file__).parents[1]}, not {ROOT}; run from {ROOT} "
              f"with PYTHONPATH={ROOT}", file=sys.stderr)
        return 2
    meta = {"code": str(ROOT), "commit": _commit(), "models": "fake text/image, real OCR" if opts.fake_models else "real",
            "threads": opts.threads or "dupe serve default", "cpus": os.cpu_count(), "rss_cap_gb": opts.rss_cap_gb,
            "case_cap_s": opts.case_cap_s, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if not (opts.index_dir / "CURRENT").exists():
        opts.index_dir.mkdir(parents=True, exist_ok=True)
        print(f"indexing {opts.catalog} into {opts.index_dir} ...", file=sys.stderr)
        meta["index_built_s"] = build_index(opts.catalog, opts.index_dir, opts.fake_models)
    opts.work.mkdir(parents=True, exist_ok=True)
    photo = photo_jpeg()
    products = product_ids(opts.catalog)
    addrs = Addresses()
    names = [c.name for c in CASES] if opts.cases == "all" else \
        [] if opts.cases == "none" else [n.strip() for n in opts.cases.split(",") if n.strip()]
    unknown = set(names) - {c.name for c in CASES}
    if unknown:
        print(f"error: unknown cases {sorted(unknown)}; known: {[c.name for c in CASES]}", file=sys.stderr)
        return 2
    print(f"code {meta['commit']} at {ROOT}; models: {meta['models']}", file=sys.stderr)
    rows = []
    for case in CASES:
        if case.name in names:
            print(f"case {case.name} ...", file=sys.stderr, flush=True)
            rows.append(run_case(case, opts, opts.work, photo, products, addrs))
            print(f"  {rows[-1].get('status')} {_f(rows[-1].get('seconds'))} s {rows[-1].get('note', '')}",
                  file=sys.stderr, flush=True)
    loads = []
    if opts.load_seconds > 0:
        for mix in (("mixed", "normal") if opts.load_mix == "both" else (opts.load_mix,)):
            print(f"load run {mix} ...", file=sys.stderr, flush=True)
            loads.append(load_run(opts, opts.work, photo, products, addrs, mix))
    print(f"code {meta['commit']} ({meta['models']} models, {meta['threads']} server threads, "
          f"{meta['cpus']} CPUs); caps: {opts.rss_cap_gb} GB RSS, {opts.case_cap_s:.0f} s per case\n")
    if rows:
        print_cases(rows)
    for load in loads:
        print_load(load)
    if opts.json:
        opts.json.write_text(json.dumps({"meta": meta, "cases": rows, "load": loads}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
