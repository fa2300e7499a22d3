"""An Elasticsearch endpoint for tests: a real cluster when ``DUPE_ES_URL`` is set, otherwise
noida-db's local Elasticsearch emulator started on a free loopback port.

Used as a pytest plugin (``pytest_plugins = ["tests.es_server"]`` in a test module) so the
session-scoped ``es_url`` fixture, and the emulator behind it, is shared by every module.
The emulator is an emulator: slow for kNN at scale and incomplete in places (see
``search/store/EMULATOR_NOTES.md``), never a source of performance figures.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest


class EmulatorError(RuntimeError):
    """The emulator binary is missing or did not come up."""


def noida_binary() -> Path:
    """The ``noida-db`` executable shipped inside the ``noida_db`` package."""
    try:
        import noida_db
    except ImportError as e:
        raise EmulatorError("the noida-db package is not installed (pip install noida-db)") from e
    binary = Path(noida_db.__file__).parent / ("noida-db.exe" if os.name == "nt" else "noida-db")
    if not binary.is_file():
        raise EmulatorError(f"noida-db binary not found at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when ``url`` answers an Elasticsearch root request with a version."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout) as r:
            return r.status == 200 and b'"version"' in r.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False


class EsEmulator:
    """``with EsEmulator() as url: ...`` runs noida-db's Elasticsearch on 127.0.0.1."""

    def __init__(self, data_dir: str | Path | None = None, port: int | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="noida-es-"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "noida-db.log"

    def start(self, timeout: float = 60.0) -> str:
        binary = noida_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(binary), "start", "--only", "elasticsearch", "--host", "127.0.0.1",
               "--elasticsearch-port", str(self.port), "--data-dir", str(self.data_dir)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmulatorError(f"noida-db exited with code {self.proc.returncode}: {self.log_tail()}")
            if answers(self.url):
                return self.url
            time.sleep(0.1)
        self.stop()
        raise EmulatorError(f"noida-db did not answer on {self.url} within {timeout:g}s: {self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:].strip()
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the process we started, by its PID (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """A reachable Elasticsearch URL: ``$DUPE_ES_URL`` (a real cluster, with the other
    ``DUPE_ES_*`` settings) or a local emulator for this test session; skips otherwise."""
    url = os.environ.get("DUPE_ES_URL", "").strip()
    if url:
        yield url
        return
    emulator = EsEmulator()
    try:
        emulator.start()
    except EmulatorError as e:
        emulator.stop()
        pytest.skip(f"no Elasticsearch for these tests: DUPE_ES_URL is not set and the noida-db emulator "
                    f"could not be started ({e})")
    try:
        yield emulator.url
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def es_is_emulator(es_url: str) -> bool:
    """True when the tests run against the noida-db emulator rather than a real cluster."""
    return not os.environ.get("DUPE_ES_URL", "").strip()


@pytest.fixture(scope="session")
def es_config(es_url: str):
    """Test configuration: the ``DUPE_ES_*`` settings for a real cluster (or just the
    emulator's URL), with no replicas and short retry backoffs."""
    from search.store.elastic import ElasticConfig
    if os.environ.get("DUPE_ES_URL", "").strip():
        base = ElasticConfig.from_env()
    else:
        base = ElasticConfig(urls=(es_url,))
    return replace(base, replicas=0, initial_backoff=0.05, max_backoff=0.5)


@pytest.fixture
def es_store_factory(es_config) -> Iterator[Callable[..., object]]:
    """``make(name="default", **config_changes) -> ElasticStore`` on an index prefix unique
    to this test (same name -> same index, reopened); every index is deleted afterwards."""
    from search.store.elastic import ElasticStore, delete_indices
    base = f"dupe-test-{uuid.uuid4().hex[:12]}"
    opened: list[ElasticStore] = []
    configs = {}

    def make(name: str = "default", **changes):
        config = replace(es_config, index_prefix=f"{base}-{name}", **changes)
        configs[config.index_prefix] = config
        store = ElasticStore(config)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
    for config in configs.values():
        delete_indices(replace(config, urls=es_config.urls))   # not through a test's proxy
