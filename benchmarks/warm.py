"""Warm start (issue 13, item 3): how long ``dupe serve`` takes to say ready, and the first
text and photo searches after ready against the tenth.

    DUPE_INDEX_DIR=var/index .venv/bin/python -m benchmarks.warm [--port 8091] [--no-ocr]

Starts the real ``dupe serve`` on the built index, polls ``/api/v1/health`` until 200
(start-to-ready), then sends 10 text searches and 10 photo searches (a 1200x1600 JPEG of a
catalog image, base64 in the JSON body of ``POST /api/v1/search``) and prints each one's
latency end to end. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _call(port: int, path: str, body: dict | None = None, timeout: float = 120) -> tuple[int, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json"} if data else {})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        e.read()
        status = e.code
    return status, time.perf_counter() - t0


def _photo() -> str:
    from PIL import Image
    src = min((ROOT / "seeds" / "images").glob("*.jpg"))
    im = Image.open(src).convert("RGB").resize((1200, 1600))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode()


@contextlib.contextmanager
def serve(port: int, index_dir: str | None = None, extra_env: dict[str, str] | None = None):
    """Run the real ``dupe serve`` on ``index_dir`` (default ``DUPE_INDEX_DIR`` or var/index)
    until the block ends; yields (seconds to the first HTTP answer, seconds to health 200,
    a list that receives the server's output lines when it has stopped)."""
    env = {**os.environ, "DUPE_ANON_RATE_LIMIT_PER_MIN": "100000",
           "DUPE_INDEX_DIR": index_dir or os.environ.get("DUPE_INDEX_DIR", "var/index"), **(extra_env or {})}
    exe = str(Path(sys.executable).parent / "dupe")
    t0 = time.perf_counter()
    proc = subprocess.Popen([exe, "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_answer = None
    output: list[str] = []
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"dupe serve exited: {proc.stdout.read() if proc.stdout else ''}")
            try:
                status, _ = _call(port, "/api/v1/health", timeout=5)
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
                continue
            first_answer = first_answer or time.perf_counter() - t0
            if status == 200:
                break
            time.sleep(0.05)
        yield first_answer, time.perf_counter() - t0, output
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        output.extend(out.splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8091)
    ap.add_argument("--no-ocr", action="store_true", help="photo searches with ocr=false")
    ap.add_argument("--n", type=int, default=10)
    args = ap.parse_args()
    with serve(args.port) as (first_answer, ready, output):
        photo = _photo()
        texts = ["stanley cup dupe", "lululemon align leggings", "瑜伽裤", "dyson airwrap dupe",
                 "airpods pro alternative", "owala water bottle", "tumbler 40oz handle", "hair styler",
                 "wireless earbuds", "yoga pants high waist"]
        text_t = []
        for i in range(args.n):
            status, dt = _call(args.port, "/api/v1/search", {"q": texts[i % len(texts)], "k": 10})
            assert status == 200, status
            text_t.append(dt)
        photo_t = []
        for _ in range(args.n):
            body = {"image_base64": photo, "k": 10, **({"ocr": False} if args.no_ocr else {})}
            status, dt = _call(args.port, "/api/v1/search", body)
            assert status == 200, status
            photo_t.append(dt)
    ms = lambda s: f"{s * 1000:.0f} ms"
    print(f"dupe serve: first HTTP answer {first_answer:.2f} s, health 200 (ready) {ready:.2f} s after start")
    print("server said: " + " | ".join(line.strip() for line in output if "dupe search" in line))
    print(f"text search  : first {ms(text_t[0])}, tenth {ms(text_t[-1])}, median {ms(statistics.median(text_t))}")
    print(f"photo search ({'ocr off' if args.no_ocr else 'ocr on'}, 1200x1600 JPEG): first {ms(photo_t[0])}, "
          f"tenth {ms(photo_t[-1])}, median {ms(statistics.median(photo_t))}")
    print("text  ms: " + " ".join(f"{t * 1000:.0f}" for t in text_t))
    print("photo ms: " + " ".join(f"{t * 1000:.0f}" for t in photo_t))


if __name__ == "__main__":
    main()
