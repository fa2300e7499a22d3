"""Admission for photo work: decoding a photo, embedding it and reading its text cost
seconds of CPU where a text search or a product page costs milliseconds, so at most
``PHOTO_WORKERS`` photo searches run at once (one per core), at most ``PHOTO_QUEUE`` wait
(in turn, for at most ``PHOTO_WAIT_S`` seconds; by default all of the server's
``SERVER_THREADS`` but ``CHEAP_THREADS``), and any beyond are answered at once with
``503 busy`` and ``Retry-After``. The other threads stay free for cheap requests.
Waiting in turn beats refusing: a refused client retries at the back of the line, so
under load a short queue turns a few seconds' wait into retries past any deadline.
Callers with an API key wait ahead of anonymous ones (``PhotoGate``).

    with work.photo_slot(photo_coming):      # the API search, batch items, page photos
        ...decode (web.photos calls claim() once the header passed its limits), search...

The slot is claimed only when the photo is about to be decoded: a photo refused on its
header (too many pixels, not an image) is answered without waiting in the queue.
"""
from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from flask import current_app, g, has_app_context

from web.errors import ApiError

RETRY_AFTER_S = 2
#: Request threads photo searches never hold: text searches and pages take a few ms each.
CHEAP_THREADS = 4


def busy() -> ApiError:
    return ApiError(503, "busy", "too many photo searches at the moment: try again in a few seconds", None,
                    {"Retry-After": str(RETRY_AFTER_S)})


class PhotoGate:
    """``slots`` holders at once, ``queue`` waiting for at most ``wait`` seconds each;
    ``enter`` raises ``busy()`` when the queue is full or the wait is over.

    Callers with an API key (``keyed``) wait ahead of anonymous ones, and anonymous callers
    may fill at most half of the queue: anonymous traffic from many addresses (which no
    per-address limit stops) cannot keep an agent's photo searches out."""

    def __init__(self, slots: int, queue: int, wait: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.slots, self.queue, self.wait = max(1, int(slots)), max(0, int(queue)), float(wait)
        self.anon_queue = max(1, self.queue // 2) if self.queue else 0
        self.clock = clock
        self.running = 0
        self._keyed: collections.deque[object] = collections.deque()
        self._anon: collections.deque[object] = collections.deque()
        self._cond = threading.Condition()

    def _first(self) -> object | None:
        return self._keyed[0] if self._keyed else (self._anon[0] if self._anon else None)

    def enter(self, keyed: bool = False) -> None:
        with self._cond:
            if self.running < self.slots and self._first() is None:
                self.running += 1
                return
            line = self._keyed if keyed else self._anon
            if len(self._keyed) + len(self._anon) >= self.queue or (not keyed and len(self._anon) >= self.anon_queue):
                raise busy()
            ticket = object()
            line.append(ticket)
            deadline = self.clock() + self.wait
            try:
                while self._first() is not ticket or self.running >= self.slots:
                    left = deadline - self.clock()
                    if left <= 0:
                        raise busy()
                    self._cond.wait(left)
            except BaseException:
                line.remove(ticket)
                self._cond.notify_all()      # the next in line may be first now
                raise
            line.popleft()
            self.running += 1
            self._cond.notify_all()

    def leave(self) -> None:
        with self._cond:
            self.running -= 1
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._keyed) + len(self._anon)


def gate_for(cfg: dict) -> PhotoGate:
    """The gate a configuration asks for: ``PHOTO_WORKERS`` (0: one per core) running,
    ``PHOTO_QUEUE`` waiting (None: the ``SERVER_THREADS`` left after those and
    ``CHEAP_THREADS``, at least 2)."""
    from indexer.embed.image import cpu_count
    workers = int(cfg.get("PHOTO_WORKERS") or 0) or cpu_count()
    queue = cfg.get("PHOTO_QUEUE")
    if queue is None:
        queue = max(2, int(cfg.get("SERVER_THREADS") or 32) - workers - CHEAP_THREADS)
    return PhotoGate(workers, int(queue), float(cfg.get("PHOTO_WAIT_S", 20.0)))


class _Claim:
    """A request's right to a slot, taken on first ``claim``."""

    def __init__(self, gate: PhotoGate, keyed: bool) -> None:
        self.gate, self.keyed, self.held = gate, keyed, False

    def claim(self) -> None:
        if not self.held:
            self.gate.enter(self.keyed)
            self.held = True


@contextlib.contextmanager
def photo_slot(needed: bool = True) -> Iterator[None]:
    """The scope of one photo search (nothing when ``needed`` is false): the slot it
    claims (``claim``) is held until the scope ends."""
    if not needed:
        yield
        return
    ident = g.get("identity")
    scope = _Claim(current_app.extensions["dupe_photo_gate"], keyed=ident is not None and not ident.anonymous)
    outer = g.get("photo_slot")
    g.photo_slot = scope
    try:
        yield
    finally:
        g.photo_slot = outer
        if scope.held:
            scope.gate.leave()


def claim() -> None:
    """Take the current photo search's slot (waiting in turn, or ``busy()``); nothing
    outside ``photo_slot``."""
    scope = g.get("photo_slot") if has_app_context() else None
    if scope is not None:
        scope.claim()
