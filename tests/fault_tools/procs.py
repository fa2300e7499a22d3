"""Subprocesses for fault tests: started from the repo root, their stdout read line by line
in a thread, killed by their own pid (never by name), always reaped."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Child:
    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, encoding="utf-8", errors="replace")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out, True), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err, False), daemon=True)]
        for t in self._threads:
            t.start()

    def _pump(self, stream, into: list[str], signal_lines: bool) -> None:
        for line in stream:
            into.append(line)
            if signal_lines:
                self.lines.put(line.rstrip("\n"))
        if signal_lines:
            self.lines.put(None)

    def wait_lines(self, n: int, prefix: str, timeout: float) -> int:
        """Wait until ``n`` lines starting with ``prefix`` were printed (or the child ended);
        return how many were seen."""
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"child printed {seen} of {n} {prefix!r} lines in {timeout}s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith(prefix):
                seen += 1
        return seen

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.join()

    def terminate(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.join()

    def wait(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise
        self.join()
        return rc

    def join(self) -> None:
        for t in self._threads:
            t.join(timeout=10)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)
