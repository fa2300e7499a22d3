"""Photos at the HTTP edge: uploads, base64 strings and URLs -> a checked RGB image, and
the folder where photos searched on the page are kept for their share links.

Decoding is left to ``indexer.images`` (size and pixel limits, format allow-list, SSRF
guard); this module maps its ``ImageError`` to HTTP statuses and never opens untrusted
bytes itself.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from indexer.images import ImageError, decode_image
from web.errors import ApiError

_DATA_URL_RE = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.I)
_WS_RE = re.compile(r"\s+")
_PHOTO_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")

Fetcher = Callable[..., bytes]


def image_error(e: ImageError, field: str) -> ApiError:
    """The HTTP answer to an image that ``indexer.images`` refused."""
    msg = str(e)
    if msg.startswith("not a supported image"):
        return ApiError(415, "unsupported_image", msg, field)
    if msg.startswith("image too large") and "pixels" in msg:
        return ApiError(413, "too_many_pixels", msg, field)
    if msg.startswith(("image too large", "image file too large")):
        return ApiError(413, "image_too_large", msg, field)
    if msg.startswith("refusing to fetch") or msg.startswith(("only http", "URLs with credentials", "invalid URL",
                                                              "URL has no host")):
        return ApiError(400, "image_url_refused", msg, field)
    if field == "image_url":
        return ApiError(422, "image_fetch_failed", msg, field)
    return ApiError(422, "corrupt_image", msg, field)


def decode(data: bytes, field: str, cfg: dict[str, Any]) -> Image.Image:
    max_bytes = cfg["MAX_IMAGE_BYTES"]
    if len(data) > max_bytes:
        raise ApiError(413, "image_too_large", f"image too large: {len(data)} bytes (limit {max_bytes})", field)
    try:
        return decode_image(data, max_bytes=max_bytes, max_pixels=cfg["MAX_IMAGE_PIXELS"])
    except ImageError as e:
        raise image_error(e, field) from None


def from_upload(storage: Any, cfg: dict[str, Any], field: str = "photo") -> Image.Image:
    """A multipart file (Werkzeug ``FileStorage``)."""
    mimetype = (storage.mimetype or "").lower()
    if mimetype and not (mimetype.startswith("image/") or mimetype == "application/octet-stream"):
        raise ApiError(415, "unsupported_image", f"{field}: expected an image, got {mimetype}", field)
    data = storage.stream.read(cfg["MAX_IMAGE_BYTES"] + 1)
    if not data:
        raise ApiError(400, "empty_photo", f"{field}: the file is empty", field)
    return decode(data, field, cfg)


def from_base64(text: str, cfg: dict[str, Any], field: str = "image_base64") -> Image.Image:
    body = _WS_RE.sub("", _DATA_URL_RE.sub("", text.strip(), count=1))
    if not body:
        raise ApiError(400, "bad_base64", f"{field}: empty", field)
    if len(body) > (cfg["MAX_IMAGE_BYTES"] + 2) // 3 * 4 + 4:
        raise ApiError(413, "image_too_large", f"{field}: image larger than {cfg['MAX_IMAGE_BYTES']} bytes", field)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_base64", f"{field}: not valid base64", field) from None
    if not data:
        raise ApiError(400, "bad_base64", f"{field}: empty", field)
    return decode(data, field, cfg)


def from_url(url: str, cfg: dict[str, Any], fetcher: Fetcher, field: str = "image_url") -> Image.Image:
    try:
        data = fetcher(url, timeout=cfg["URL_TIMEOUT"], max_bytes=cfg["MAX_IMAGE_BYTES"])
    except ImageError as e:
        raise image_error(e, field) from None
    return decode(data, field, cfg)


class PhotoStore:
    """Photos searched on the page, kept as re-encoded JPEGs (EXIF, GPS included, dropped)
    under random ids for ``days`` days, so a photo search has a stable share link."""

    MAX_SIDE = 1600

    def __init__(self, folder: Path | str, days: float, *, clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.days = float(days)
        self.clock = clock
        self._lock = threading.Lock()
        self._last_purge = 0.0

    @staticmethod
    def valid_id(photo_id: str) -> bool:
        return bool(_PHOTO_ID_RE.fullmatch(photo_id or ""))

    def path(self, photo_id: str) -> Path | None:
        """The stored file, or None if the id is malformed, unknown or expired."""
        if not self.valid_id(photo_id):
            return None
        p = self.folder / f"{photo_id}.jpg"
        try:
            age = self.clock() - p.stat().st_mtime
        except OSError:
            return None
        return p if age <= self.days * 86400 else None

    def save(self, image: Image.Image) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        im = image.copy()
        im.thumbnail((self.MAX_SIDE, self.MAX_SIDE))
        photo_id = secrets.token_urlsafe(12)
        tmp = self.folder / f".{photo_id}.tmp"
        im.save(tmp, "JPEG", quality=88)
        os.replace(tmp, self.folder / f"{photo_id}.jpg")
        self.purge()
        return photo_id

    def load(self, photo_id: str, cfg: dict[str, Any]) -> Image.Image:
        p = self.path(photo_id)
        if p is None:
            raise ApiError(404, "photo_not_found", "this photo is unknown or has expired; upload it again",
                           "photo_id")
        return decode(p.read_bytes(), "photo_id", cfg)

    def purge(self, *, every: float = 3600.0) -> int:
        """Delete expired photos (at most once per ``every`` seconds). Returns how many."""
        now = self.clock()
        with self._lock:
            if now - self._last_purge < every:
                return 0
            self._last_purge = now
        removed = 0
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return 0
        for entry in entries:
            try:
                if entry.is_file() and now - entry.stat().st_mtime > self.days * 86400:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
        return removed
