"""API keys and rate limits.

Keys are configured, never committed: ``DUPE_API_KEYS`` / ``DUPE_ADMIN_KEYS`` hold
``name:sha256hex[:per_minute],...`` and ``DUPE_API_KEYS_FILE`` one such entry per line
(``#`` comments). Only SHA-256 hashes of keys are kept; a presented key is hashed and
compared with ``hmac.compare_digest`` against every configured hash. Make a hash with
``python -m web.auth NEW_KEY``.

Rate limits are token buckets kept in process memory: per key, and per client address
for anonymous callers (a lower limit). A request that finds its bucket empty gets 429
with ``Retry-After``.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

_HEX_RE = re.compile(r"[0-9a-f]{64}")


class KeyConfigError(ValueError):
    """The key configuration is malformed (refused at start-up, not at first request)."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    admin: bool = False
    per_minute: int | None = None        # None: the configured default


@dataclass(frozen=True)
class Identity:
    name: str                # key name, or "anonymous"
    admin: bool = False
    anonymous: bool = True
    per_minute: int | None = None


ANONYMOUS = Identity("anonymous")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_keys(spec: str | Iterable[str], *, admin: bool = False) -> list[ApiKey]:
    """Entries ``name:sha256hex[:per_minute]``, comma- or line-separated."""
    lines = spec.replace(",", "\n").splitlines() if isinstance(spec, str) else list(spec)
    keys = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(":")]
        if len(parts) not in (2, 3) or not parts[0]:
            raise KeyConfigError(f"API key entry must be name:sha256hex[:per_minute], got {line[:20]!r}...")
        name, digest = parts[0], parts[1].lower()
        if not _HEX_RE.fullmatch(digest):
            raise KeyConfigError(f"API key {name!r}: the second field must be a SHA-256 hex digest "
                                 f"(never the key itself)")
        per_minute = None
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) < 1:
                raise KeyConfigError(f"API key {name!r}: per_minute must be a positive integer")
            per_minute = int(parts[2])
        keys.append(ApiKey(name, digest, admin, per_minute))
    return keys


def load_keys(api_keys: str = "", admin_keys: str = "", keys_file: str | None = None) -> list[ApiKey]:
    keys = parse_keys(api_keys or "") + parse_keys(admin_keys or "", admin=True)
    if keys_file:
        try:
            text = Path(keys_file).read_text(encoding="utf-8")
        except OSError as e:
            raise KeyConfigError(f"cannot read API keys file {keys_file}: {e}") from None
        for line in text.splitlines():
            # "admin name:hash" marks an admin key in the file.
            stripped = line.strip()
            if stripped.startswith("admin "):
                keys += parse_keys([stripped[6:]], admin=True)
            else:
                keys += parse_keys([stripped])
    return keys


def identify(presented: str | None, keys: list[ApiKey]) -> Identity | None:
    """The identity of a presented key; ``ANONYMOUS`` if none; None if the key is unknown."""
    if presented is None:
        return ANONYMOUS
    digest = hash_key(presented)
    found: ApiKey | None = None
    for k in keys:  # no early exit: the time taken does not depend on which key matched
        if hmac.compare_digest(digest, k.sha256):
            found = k
    if found is None:
        return None
    return Identity(found.name, found.admin, False, found.per_minute)


class RateLimiter:
    """Token buckets: ``per_minute`` tokens of capacity, refilled continuously."""

    MAX_BUCKETS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}     # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: int, cost: int = 1) -> tuple[bool, float, int]:
        """Take ``cost`` tokens. Returns (allowed, seconds to wait if not, tokens left)."""
        rate = per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if cost > per_minute:
                return False, 60.0, int(tokens)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                self._prune(now)
                return True, 0.0, int(tokens - cost)
            self._buckets[key] = (tokens, now)
            return False, (cost - tokens) / rate, int(tokens)

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= self.MAX_BUCKETS:
            return
        # Buckets idle for a minute are full again: forgetting them changes nothing.
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 2:
        print("usage: python -m web.auth KEY   (prints the SHA-256 to configure)", file=sys.stderr)
        sys.exit(2)
    print(hash_key(sys.argv[1]))
