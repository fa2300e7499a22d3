"""Remote catalog images for the pages, served by this service.

Pages load images from this service only (CSP ``img-src 'self' data: blob:``). A catalog
image given as a URL would otherwise send every visitor's browser to an address the
server-side guard refuses (an intranet host, a tracker). ``/img/<kind>/<id>/<n>`` serves
the ``n``-th image of one catalog record: only URLs the catalog gives, never one the
request names (that would be an open proxy). The image is fetched with the guarded
fetcher (``URL_FETCHER``: public addresses only, one deadline), decoded with the usual
limits, re-encoded as a JPEG of at most ``MAX_SIDE`` pixels a side (no foreign bytes
reach the browser) and kept in a small in-memory LRU cache; failures are remembered for
a few minutes, and fetches (cache misses) are rate limited per client address.

The API's ``image_urls`` keep the catalog's own URLs: agents fetch images themselves,
from their own network, and are not subject to the pages' policy.
"""
from __future__ import annotations

import io
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, url_for

from indexer.images import ImageError, decode_image
from web import service
from web.errors import ApiError

bp = Blueprint("imageproxy", __name__)
log = logging.getLogger(__name__)

KINDS = ("product", "brand_product")
MAX_SIDE = 800
FAILURE_SECONDS = 300.0
_REMOTE = ("http://", "https://")


class RemoteImageCache:
    """Least recently used JPEGs up to ``max_bytes`` in all; failures (None) expire."""

    def __init__(self, max_bytes: int, clock: Any = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self.size = 0
        self._items: OrderedDict[tuple[str, ...], tuple[bytes | None, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> tuple[bool, bytes | None]:
        """(found, image); found with None: a recent failure."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return False, None
            data, expires = hit
            if data is None and self.clock() > expires:
                del self._items[key]
                return False, None
            self._items.move_to_end(key)
            return True, data

    def put(self, key: tuple[str, ...], data: bytes | None) -> None:
        cost = len(data) if data else 64
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= len(old[0]) if old[0] else 64
            self._items[key] = (data, self.clock() + FAILURE_SECONDS)
            self.size += cost
            while self.size > self.max_bytes and self._items:
                _, (gone, _) = self._items.popitem(last=False)
                self.size -= len(gone) if gone else 64


def img_src(record: Mapping[str, Any], kind: str = "product") -> str | None:
    """The page's ``<img src>`` for a record's first image: catalog files under /images/,
    remote images through ``/img/...``. Root-relative, so ``'self'`` covers it."""
    return next(iter(img_srcs(record, kind)), None)


def img_srcs(record: Mapping[str, Any], kind: str = "product") -> list[str]:
    """``img_src`` of every image of a record, in catalog order (a product page shows them all)."""
    out = []
    for n, ref in enumerate(record.get("images") or []):
        if not ref or not isinstance(ref, str):
            continue
        if ref.lower().startswith(_REMOTE):
            out.append(url_for("imageproxy.remote_image", kind=kind, record_id=record["id"], n=n))
        elif (local := service.image_url(ref, external=False)) is not None:
            out.append(local)
    return out


def _refs(kind: str, record_id: str) -> tuple[str, ...]:
    if kind == "product":
        return tuple(service.listing(record_id).product.images)
    view = service.guarded(service.engine().view)
    found = view.brand_products.get(record_id)
    if found is None:
        abort(404)
    return tuple(found.images)


def _limit() -> None:
    per_minute = int(current_app.config["IMAGE_PROXY_RATE_LIMIT_PER_MIN"])
    ok, wait, _ = current_app.extensions["dupe_limiter"].take(f"img:{request.remote_addr}", per_minute)
    if not ok:
        raise ApiError(429, "rate_limited", f"too many remote images (limit {per_minute} per minute)", None,
                       {"Retry-After": str(max(1, int(wait + 0.999)))})


def _fetch_jpeg(url: str) -> bytes | None:
    cfg = current_app.config
    try:
        data = cfg["URL_FETCHER"](url, timeout=float(cfg["URL_TIMEOUT"]), max_bytes=int(cfg["MAX_IMAGE_BYTES"]))
        im = decode_image(data, max_bytes=int(cfg["MAX_IMAGE_BYTES"]), max_pixels=int(cfg["MAX_IMAGE_PIXELS"]),
                          draft=(MAX_SIDE, MAX_SIDE))
        im.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85)
        return out.getvalue()
    except (ImageError, OSError, ValueError) as e:
        log.info("catalog image %s not served: %s", url[:200], e)
        return None


@bp.get("/img/<kind>/<record_id>/<int:n>")
def remote_image(kind: str, record_id: str, n: int):
    if kind not in KINDS:
        abort(404)
    refs = _refs(kind, record_id)
    if n >= len(refs) or not isinstance(refs[n], str) or not refs[n].lower().startswith(_REMOTE):
        abort(404)
    url = refs[n]
    cache: RemoteImageCache = current_app.extensions["dupe_remote_images"]
    key = (kind, record_id, str(n), url)
    found, data = cache.get(key)
    if not found:
        _limit()
        data = _fetch_jpeg(url)
        cache.put(key, data)
    if data is None:
        abort(404)
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
