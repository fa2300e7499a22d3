"""Photos at the HTTP edge: uploads, base64 strings and URLs -> a checked RGB image, and
the folder where photos searched on the page are kept for their share links.

Decoding is left to ``indexer.images`` (size and pixel limits, format allow-list, SSRF
guard); this module answers each kind of its ``ImageError`` with an HTTP status
(``IMAGE_ANSWERS``) and never opens untrusted bytes itself. Photos are decoded at the
size the service works at (``WORK_SIDE``): a large JPEG at a reduced scale, so a 50 MP
phone photo costs what a 3 Mpx one does.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from indexer.images import ImageError, ImageErrorKind, decode_image
from web import work
from web.errors import ApiError

_DATA_URL_RE = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.I)
_WS_RE = re.compile(r"\s+")
_PHOTO_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")

Fetcher = Callable[..., bytes]

#: The largest side any use of a photo needs: the copy kept for its share link, and a crop
#: or an object of the photo read at OCR's size (``indexer.embed.ocr.MAX_SIDE``, 800 for
#: the whole photo); the image model needs less.
WORK_SIDE = 1600


#: The HTTP status and error code of each kind of ``ImageError`` a photo meets.
IMAGE_ANSWERS: dict[ImageErrorKind, tuple[int, str]] = {
    "refused": (400, "image_url_refused"),
    "unreachable": (422, "image_fetch_failed"),
    "wrong_type": (422, "image_fetch_failed"),    # the URL's server sent no image: not the caller's bytes
    "too_large": (413, "image_too_large"),
    "too_many_pixels": (413, "too_many_pixels"),
    "unsupported": (415, "unsupported_image"),
    "broken": (422, "corrupt_image"),
}


def image_error(e: ImageError, field: str) -> ApiError:
    """The HTTP answer to an image that ``indexer.images`` refused."""
    status, code = IMAGE_ANSWERS[e.kind]
    if code == "corrupt_image" and field == "image_url":
        # The caller never saw the bytes the server got from a URL (an error page, a
        # truncated download): what it can act on is that no usable image was fetched.
        code = "image_fetch_failed"
    return ApiError(status, code, str(e), field)


def decode(data: bytes, field: str, cfg: dict[str, Any]) -> Image.Image:
    max_bytes = cfg["MAX_IMAGE_BYTES"]
    if len(data) > max_bytes:
        raise ApiError(413, "image_too_large", f"image too large: {len(data)} bytes (limit {max_bytes})", field)
    try:
        return decode_image(data, max_bytes=max_bytes, max_pixels=cfg["MAX_IMAGE_PIXELS"], work_side=WORK_SIDE,
                            admit=work.claim)
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
    body = _DATA_URL_RE.sub("", text.strip(), count=1)
    limit = (cfg["MAX_IMAGE_BYTES"] + 2) // 3 * 4 + 4
    try:
        data = base64.b64decode(body, validate=True) if len(body) <= limit else None
    except (binascii.Error, ValueError):
        data = None
    if data is None:
        # Line breaks (MIME-style base64) and stray spaces are allowed; removing them from
        # every body cost 40-65 ms for a phone photo's 4 MB, so only from bodies that have them.
        body = _WS_RE.sub("", body)
        if len(body) > limit:
            raise ApiError(413, "image_too_large", f"{field}: image larger than {cfg['MAX_IMAGE_BYTES']} bytes",
                           field)
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


def photo_not_found() -> ApiError:
    return ApiError(404, "photo_not_found", "this photo is unknown or has expired; upload it again", "photo_id")


class PhotoStore:
    """Photos searched on the page, kept as re-encoded JPEGs (EXIF, GPS included, dropped)
    for ``days`` days, so a photo search has a stable share link; with each, once read,
    the text OCR found on it (``<id>.json``), so a visit to the link does not read it again.

    The same photo gets the same id and no new file: the id is a hash of its pixels, keyed
    with this process's secret (an id tells nothing to someone who has the photo; after a
    restart the photo gets a new id, the old link still works). At most ``max_files``
    photos and ``max_bytes`` are kept: beyond, the oldest go first.
    """

    MAX_SIDE = WORK_SIDE

    def __init__(self, folder: Path | str, days: float, *, max_files: int = 5000, max_bytes: int = 1 << 30,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.days = float(days)
        self.max_files, self.max_bytes = int(max_files), int(max_bytes)
        self.clock = clock
        self._key = secrets.token_bytes(32)
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
        """Keep ``image``; its id. A photo kept already is only given a new lease of life."""
        self.folder.mkdir(parents=True, exist_ok=True)
        im = image.copy()
        im.thumbnail((self.MAX_SIDE, self.MAX_SIDE))
        h = hashlib.blake2b(im.tobytes(), key=self._key, digest_size=12, person=b"dupe-photo")
        h.update(f"{im.mode} {im.size}".encode())
        photo_id = base64.urlsafe_b64encode(h.digest()).decode()       # 16 characters
        target = self.folder / f"{photo_id}.jpg"
        if self.path(photo_id) is not None:
            now = self.clock()
            for p in (target, self._text_path(photo_id)):
                with contextlib.suppress(OSError):
                    os.utime(p, (now, now))
            return photo_id
        tmp = self.folder / f".{photo_id}.{secrets.token_hex(4)}.tmp"
        im.save(tmp, "JPEG", quality=88)
        os.replace(tmp, target)
        self._text_path(photo_id).unlink(missing_ok=True)      # a stale text of an expired namesake
        self.purge()
        self.trim()
        return photo_id

    def _text_path(self, photo_id: str) -> Path:
        return self.folder / f"{photo_id}.json"

    def text(self, photo_id: str) -> str | None:
        """The text OCR read on the kept photo ("" if none), or None if not read yet."""
        if self.path(photo_id) is None:
            return None
        try:
            kept = json.loads(self._text_path(photo_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        text = kept.get("ocr_text") if isinstance(kept, dict) else None
        return text if isinstance(text, str) else None

    def keep_text(self, photo_id: str, text: str) -> None:
        """Keep the text OCR read on the (uncropped) kept photo, for later visits."""
        if self.path(photo_id) is None:
            return
        tmp = self.folder / f".{photo_id}.{secrets.token_hex(4)}.tmp"
        try:
            tmp.write_text(json.dumps({"ocr_text": text}, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self._text_path(photo_id))
        except OSError:
            tmp.unlink(missing_ok=True)       # a text not kept is read again next time

    def load(self, photo_id: str, cfg: dict[str, Any]) -> Image.Image:
        p = self.path(photo_id)
        if p is None:
            raise photo_not_found()
        try:
            data = p.read_bytes()
        except OSError:            # purged since: as good as expired
            raise photo_not_found() from None
        return decode(data, "photo_id", cfg)

    def purge(self, *, every: float = 3600.0) -> int:
        """Delete expired photos with their texts, and files a crash left half-written (at
        most once per ``every`` seconds). Returns how many photos."""
        now = self.clock()
        with self._lock:
            if now - self._last_purge < every:
                return 0
            self._last_purge = now
        removed = 0
        for entry in self._entries():
            try:
                age = now - entry.stat().st_mtime
                if age > self.days * 86400 or (entry.name.endswith(".tmp") and age > 3600):
                    os.unlink(entry.path)
                    removed += entry.name.endswith(".jpg")
            except OSError:
                continue
        return removed

    def trim(self) -> int:
        """Delete the oldest photos (and their texts) while more than ``max_files`` photos
        or ``max_bytes`` are kept. Returns how many photos."""
        photos: list[tuple[float, str]] = []
        total = 0
        for entry in self._entries():
            try:
                st = entry.stat()
            except OSError:
                continue
            total += st.st_size
            if entry.name.endswith(".jpg"):
                photos.append((st.st_mtime, entry.name[:-4]))
        photos.sort()
        removed = 0
        for _, photo_id in photos:
            if len(photos) - removed <= self.max_files and total <= self.max_bytes:
                break
            for p in (self.folder / f"{photo_id}.jpg", self._text_path(photo_id)):
                with contextlib.suppress(OSError):
                    total -= p.stat().st_size
                    p.unlink()
            removed += 1
        return removed

    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            return [e for e in os.scandir(self.folder) if e.is_file(follow_symlinks=False)]
        except OSError:
            return []
