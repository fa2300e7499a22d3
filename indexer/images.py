"""Safe image loading at the edges: catalog files, uploaded bytes, remote URLs.

Everything here turns untrusted input into a plain RGB ``PIL.Image.Image`` or raises
``ImageError`` (a ``ValueError``) with a message fit to show a user and a ``kind``
(``ImageErrorKind``) for code to act on:

* ``decode_image(data)`` -- bytes -> RGB image, with size limits checked before pixels are
  decoded, truncated files refused, EXIF orientation applied, transparency composited
  onto white, odd modes (CMYK, 16-bit, palette) converted, animations cut to frame one;
  large JPEGs optionally decoded at a reduced scale (``work_side``, ``source_size``).
* ``load_local(ref, root)`` -- a catalog path relative to ``root``; no escaping ``root``.
* ``fetch_url(url)`` -- http(s) bytes from public addresses only (SSRF guard, pinned IP,
  vetted redirects, content-type and size limits, one deadline for the whole fetch); an
  image by default, a web page with ``accept="html"`` (``page_url``: a product page).
* ``load_image_ref(ref, root)`` -- URL or local path, decoded.
"""
from __future__ import annotations

import concurrent.futures
import http.client
import io
import ipaddress
import os
import re
import socket
import ssl
import stat
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal, get_args
from urllib.parse import urljoin, urlsplit

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from search.embedding import SOURCE_SIZE, source_size  # noqa: F401  (source_size: re-exported)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_ERROR_KINDS",
    "FetchError",
    "Fetched",
    "ImageError",
    "ImageErrorKind",
    "decode_image",
    "fetch_url",
    "is_public_address",
    "load_image_ref",
    "load_local",
    "source_size",
    "to_rgb",
]

#: Largest encoded image accepted (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Largest image decoded (width * height of what is decoded: a JPEG read at a reduced
#: scale counts at that scale). Kept below Pillow's own bomb threshold
#: (``Image.MAX_IMAGE_PIXELS``, ~89 Mpx, which bounds every header) so our limit is the one
#: that fires; 50 Mpx still admits 48 Mpx phone photos decoded in full.
DEFAULT_MAX_PIXELS = 50_000_000
MAX_REDIRECTS = 3
USER_AGENT = "dupe-search/0.1 (+image fetcher)"

#: Formats we let Pillow open. Anything else (EPS/PDF, which can shell out to
#: Ghostscript; exotic raw formats) is refused as "not an image".
_ALLOWED_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

# ``warnings.catch_warnings`` swaps process-global state; serialise our use of it. Only
# the header parse (``Image.open``) runs under the lock, not the pixel decode.
_open_lock = threading.Lock()
_formats: tuple[str, ...] | None = None


#: Why an image could not be loaded, for callers that answer each differently without
#: reading messages (the web's HTTP statuses: ``web.photos``, ``web.page_url``):
#: ``refused``: the reference may not be loaded (a URL's scheme, host or credentials, a
#: non-public address, a path outside the catalog folder); ``unreachable``: its bytes could
#: not be got (name resolution, connection, deadline, HTTP status, redirects, a missing
#: file); ``wrong_type``: the server sent another content type; ``too_large``: too many
#: bytes; ``too_many_pixels``: too many pixels (a decompression bomb); ``unsupported``: not
#: an image format we read; ``broken``: the bytes are no readable image (truncated, corrupt).
ImageErrorKind = Literal["refused", "unreachable", "wrong_type", "too_large", "too_many_pixels", "unsupported",
                         "broken"]
IMAGE_ERROR_KINDS: tuple[ImageErrorKind, ...] = get_args(ImageErrorKind)


class ImageError(ValueError):
    """An image could not be loaded safely; the message says why (to a user), ``kind``
    what went wrong (to code)."""

    def __init__(self, message: str, kind: ImageErrorKind = "broken") -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle their ``args`` only (the message): keep the kind across processes.
        return type(self), (str(self), self.kind)


# --------------------------------------------------------------------------- decoding


def _allowed_formats() -> tuple[str, ...]:
    global _formats
    if _formats is None:
        Image.init()
        _formats = tuple(f for f in _ALLOWED_FORMATS if f in Image.OPEN)
    return _formats


def _open_checked(data: bytes) -> Image.Image:
    """Parse the header only (Pillow refuses headers beyond its bomb threshold)."""
    try:
        with _open_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_allowed_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large: {exc}", "too_many_pixels") from None
    except UnidentifiedImageError:
        raise ImageError("not a supported image (expected JPEG, PNG, GIF, WebP, BMP, TIFF or AVIF)",
                         "unsupported") from None
    except Exception as exc:  # malformed headers raise all sorts of things
        raise ImageError(f"could not read image header: {exc}") from None
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"image has no pixels ({w}x{h})")
    return im


def _reduce(im: Image.Image, draft: tuple[int, int] | None, work_side: int | None) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale (libjpeg scales while decoding: the
    full-size pixels never exist) as long as it stays at least ``draft`` (a box) or its
    long side at least ``work_side``. Other formats always decode in full."""
    if im.format not in ("JPEG", "MPO"):
        return
    w, h = im.size
    if draft is None and work_side and max(w, h) > work_side:
        draft = (max(1, w * work_side // max(w, h)), max(1, h * work_side // max(w, h)))
    if draft is not None:
        im.draft("RGB", draft)


def _check_pixels(im: Image.Image, sent: tuple[int, int], max_pixels: int) -> None:
    """Refuse, before decoding, an image whose decoded pixels would exceed ``max_pixels``."""
    w, h = im.size
    if w * h > max_pixels:
        reduced = f" ({w}x{h} decoded)" if (w, h) != sent else ""
        raise ImageError(f"image too large: {sent[0]}x{sent[1]} = {sent[0] * sent[1]} pixels{reduced} "
                         f"(limit {max_pixels})", "too_many_pixels")


def _to_uint8_gray(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float grayscale -> 8-bit 'L', scaling rather than clipping."""
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        hi = float(arr.max()) if arr.size else 0.0
        scale = 255.0 if hi <= 1.0 else (255.0 / 65535.0 if hi > 255.0 else 1.0)
        out = np.clip(arr * scale + 0.5, 0, 255)
    else:
        arr = arr.astype(np.int64)
        hi = int(arr.max()) if arr.size else 0
        # 16-bit data (the usual case for I;16 and for 16-bit PNGs opened as 'I') spans
        # 0..65535; 8-bit data stored in a wide mode is left as is.
        out = np.clip(arr // 257 if (hi > 255 or im.mode.startswith("I;16")) else arr, 0, 255)
    return Image.fromarray(out.astype(np.uint8))  # 2-D uint8 -> mode "L"


def _flatten_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow image -> RGB: alpha/transparency composited onto white, 16-bit and
    float grayscale scaled to 8 bits, CMYK/palette/etc. converted. RGB passes through."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _to_uint8_gray(im).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        return _flatten_on_white(im)
    try:
        return im.convert("RGB")  # P, L, 1, CMYK, YCbCr, ...
    except (ValueError, OSError) as exc:
        raise ImageError(f"unsupported colour mode {mode!r}: {exc}") from None


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: tuple[int, int] | None = None,
    work_side: int | None = None,
    admit: Callable[[], None] | None = None,
) -> Image.Image:
    """Decode untrusted bytes into a fully loaded RGB image, or raise ``ImageError``.

    ``draft``: if given, JPEGs may be decoded at a reduced scale (1/2, 1/4, 1/8) as long
    as the result stays at least this size -- much faster for large photos when only a
    small image is needed. ``work_side``: the same, as long as the long side stays at
    least this, and other formats are shrunk after decoding by a whole factor to a long
    side under twice this (``source_size`` then gives the size as sent). ``max_pixels`` bounds the
    pixels actually decoded, so a 50 Mpx phone photo read at 1/4 costs 3 Mpx while a
    PNG or GIF (a 37-byte GIF can declare a 49 Mpx screen) counts in full. ``admit``,
    if given, is called once the header has passed these limits, before any pixel is
    decoded (the web waits for a slot of its photo gate there, so a refused image never
    queues); what it raises propagates. Truncated files are refused unless some other
    code has set ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` process-wide (don't).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"expected bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageError("empty image data")
    if len(data) > max_bytes:
        raise ImageError(f"image file too large: {len(data)} bytes (limit {max_bytes})", "too_large")
    im = _open_checked(bytes(data))
    sent = im.size
    try:
        _reduce(im, draft, work_side)
    except Exception as exc:
        raise ImageError(f"could not read image header: {exc}") from None
    _check_pixels(im, sent, max_pixels)
    if admit is not None:
        admit()
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)  # animated GIF/WebP/APNG, multi-page TIFF: first frame
        im.load()
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image too large: {exc}", "too_many_pixels") from None
    except Exception as exc:  # OSError "image file is truncated", decoder errors, ...
        raise ImageError(f"broken or truncated image: {exc}") from None
    decoded = im.size
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:
        pass  # a malformed EXIF block should not cost us the image
    if im.size != decoded:                  # turned a quarter: so is the size as sent
        sent = (sent[1], sent[0])
    try:
        out = to_rgb(im)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"could not convert image to RGB: {exc}") from None
    factor = max(out.size) // work_side if work_side else 1
    if factor >= 2:
        # Formats without JPEG's scaled decoding (PNG, GIF, WebP...) come out in full:
        # shrink them now by box averaging, so the seconds of work downstream (models,
        # OCR) never hold more than about twice ``work_side`` per side.
        info = dict(out.info)
        out = out.reduce(factor)
        out.info.update(info)
    if out.size != sent:
        out.info[SOURCE_SIZE] = (sent, out.size)
    return out


# --------------------------------------------------------------------------- local files


def load_local(
    ref: str,
    root: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Load a catalog image given as a path relative to the catalog folder ``root``.

    Refuses absolute paths, drive-qualified paths and anything that resolves outside
    ``root`` (``../`` escapes, symlinks pointing out), as well as non-regular files.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise ImageError("empty image path", "refused")
    if "\x00" in ref:
        raise ImageError("image path contains a NUL byte", "refused")
    if PurePosixPath(ref).is_absolute() or PureWindowsPath(ref).is_absolute() or PureWindowsPath(ref).drive:
        raise ImageError(f"image path must be relative to the catalog folder: {ref!r}", "refused")
    try:
        base = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ImageError(f"catalog folder not found: {root} ({exc})", "unreachable") from None
    try:
        target = (base / ref).resolve(strict=True)
    except FileNotFoundError:
        raise ImageError(f"image file not found: {ref!r}", "unreachable") from None
    except (OSError, RuntimeError) as exc:  # symlink loops, permission errors
        raise ImageError(f"cannot open image file {ref!r}: {exc}", "unreachable") from None
    if not target.is_relative_to(base):
        raise ImageError(f"image path escapes the catalog folder: {ref!r}", "refused")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise ImageError(f"cannot open image file {ref!r}: {exc.strerror or exc}", "unreachable") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(f"not a regular file: {ref!r}", "refused")
        if st.st_size > max_bytes:
            raise ImageError(f"image file too large: {st.st_size} bytes (limit {max_bytes})", "too_large")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # owned by f now
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ImageError(f"cannot read image file {ref!r}: {exc.strerror or exc}", "unreachable") from None
    finally:
        if fd >= 0:
            os.close(fd)
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, draft=draft)


# --------------------------------------------------------------------------- URLs

Resolver = Callable[[str, int], Sequence[str]]


def is_public_address(ip: str) -> bool:
    """True if ``ip`` (IPv4 or IPv6 text) is a globally routable unicast address.

    Refuses private, loopback, link-local, multicast, reserved, unspecified, shared
    (100.64/10) and documentation ranges; IPv6 forms that embed an IPv4 address
    (IPv4-mapped, 6to4, Teredo, NAT64) are judged by that IPv4 address. Garbage -> False.
    """
    try:
        addr = ipaddress.ip_address(str(ip).strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return False
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr.teredo:
            embedded = addr.teredo[1]
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    return bool(
        addr.is_global
        and not (
            addr.is_private
            or addr.is_loopback
            or addr.is_link_local
            or addr.is_multicast
            or addr.is_reserved
            or addr.is_unspecified
        )
    )


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


class Fetched(bytes):
    """A fetched page's body, with the URL it came from after redirects (``url``: what
    relative links in it are relative to) and its ``Content-Type`` header (its charset)."""

    url: str = ""
    content_type: str = ""


#: What ``fetch_url`` may fetch: the ``Accept`` header, the content types taken, and the
#: words of its messages. SVG is no image here (it is a document that can fetch others).
_KINDS: dict[str, tuple[str, Callable[[str], bool], str, str]] = {
    "image": ("image/*", lambda t: t.startswith("image/") and t != "image/svg+xml", "an image", "image"),
    "html": ("text/html,application/xhtml+xml;q=0.9", lambda t: t in ("text/html", "application/xhtml+xml"),
             "a web page", "page"),
}


class FetchError(ImageError):
    """A URL could not be fetched. ``str()`` tells the whole story, for operators (catalog
    rejects, logs); ``public`` tells it without what the server's resolver answered (the
    addresses a name has here, resolver error text), for anonymous callers."""

    def __init__(self, message: str, kind: ImageErrorKind, public: str | None = None) -> None:
        super().__init__(message, kind)
        self.public = public or message

    def __reduce__(self) -> tuple[object, ...]:
        return type(self), (str(self), self.kind, self.public)


def _show(text: str, limit: int = 100) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (URLs are the caller's)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


# Name resolution has no timeout of its own (getaddrinfo can take 30 s against a slow
# name server): it runs here, and the fetch stops waiting for it at its deadline. A stuck
# lookup holds one of these threads until the system resolver gives up.
_dns_pool: concurrent.futures.ThreadPoolExecutor | None = None
_dns_pool_lock = threading.Lock()


def _resolve(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    global _dns_pool
    with _dns_pool_lock:
        if _dns_pool is None:
            _dns_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="dupe-dns")
    future = _dns_pool.submit(resolver, host, port)
    try:
        return [str(a) for a in future.result(timeout=timeout)]
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise FetchError(f"timed out resolving host {_show(host)}", "unreachable") from None


def _vet_host(host: str, port: int, resolver: Resolver, is_allowed: Callable[[str], bool],
              deadline: _Deadline) -> str:
    """Resolve ``host`` and return one address to connect to; every address must pass."""
    try:
        addrs = _resolve(resolver, host, port, deadline.left())
    except FetchError:
        raise
    except (OSError, ValueError) as exc:   # UnicodeError (IDNA) is a ValueError
        raise FetchError(f"cannot resolve host {_show(host)}: {exc}", "unreachable",
                         f"cannot resolve host {_show(host)}") from None
    if not addrs:
        raise FetchError(f"cannot resolve host {_show(host)}", "unreachable")
    bad = [a for a in addrs if not is_allowed(a)]
    if bad:
        # One non-public answer is enough to refuse: an attacker controls the DNS.
        raise FetchError(f"refusing to fetch from non-public address {bad[0]} (host {_show(host)})", "refused",
                         "refusing to fetch: the host is not a public address")
    return addrs[0]


class _Deadline:
    """One deadline for a whole fetch: name resolution, connect, TLS, headers and body.

    Socket timeouts alone cannot do it -- each ``recv`` gets the full timeout again, and
    ``http.client`` reads the status line and headers a few bytes at a time, so a server
    sending one byte a second holds a fetch for minutes. Every blocking step gets the time
    left as its timeout, and a timer shuts the watched socket down when the time is up,
    which ends whatever read or handshake is waiting on it.
    """

    def __init__(self, seconds: float, url: str) -> None:
        self.end = time.monotonic() + seconds
        self.url = url
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def timed_out(self) -> FetchError:
        return FetchError(f"timed out fetching {_show(self.url)}", "unreachable")

    def left(self) -> float:
        """Seconds left, or ``FetchError`` if none are."""
        remaining = self.end - time.monotonic()
        if remaining <= 0 or self.expired:
            raise self.timed_out()
        return remaining

    def connect(self, ip: str, port: int) -> socket.socket:
        sock = socket.create_connection((ip, port), self.left())
        self.watch(sock)
        return sock

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if sock is not None and self.expired:
                self._shutdown(sock)

    def _fire(self) -> None:
        with self._lock:   # held while shutting down: release() cannot close the socket meanwhile
            self.expired = True
            if self._sock is not None:
                self._shutdown(self._sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            # The plain socket call, also for TLS sockets: SSLSocket.shutdown would drop the
            # TLS state under the reading thread's feet.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass   # already closed

    def release(self) -> None:
        """Stop watching (before the connection is closed); the timer is cancelled by ``cancel``."""
        with self._lock:
            self._sock = None

    def cancel(self) -> None:
        self.release()
        self._timer.cancel()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a pre-vetted IP while sending the real host name."""

    def __init__(self, host: str, port: int, *, ip: str, deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=deadline.left())
        self._ip = ip
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = self._deadline.connect(self._ip, self.port)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a pre-vetted IP; SNI and certificate checks use the real host name."""

    def __init__(self, host: str, port: int, *, ip: str, deadline: _Deadline, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=deadline.left(), context=context)
        self._ip = ip
        self._deadline = deadline

    def connect(self) -> None:
        sock: socket.socket = self._deadline.connect(self._ip, self.port)
        try:
            # The handshake runs after the TLS socket is watched, so the deadline bounds it.
            sock = self._context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
            self._deadline.watch(sock)
            sock.settimeout(self._deadline.left())
            sock.do_handshake()
        except BaseException:
            self._deadline.release()
            sock.close()
            raise
        self.sock = sock


def fetch_url(
    url: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    resolver: Resolver | None = None,
    is_allowed: Callable[[str], bool] = is_public_address,
    ssl_context: ssl.SSLContext | None = None,
    accept: str = "image",
) -> bytes:
    """GET an image (``accept="html"``: a web page) over http(s) from a public address and
    return its bytes (a page's as ``Fetched``: with the final URL and the content type).

    Each hop (at most ``MAX_REDIRECTS`` redirects) is resolved, every resolved address
    checked with ``is_allowed`` and the connection made to the checked address, so a DNS
    answer cannot change between check and use. The response must be 200 with an
    ``image/*`` content type (``text/html`` or ``application/xhtml+xml`` for a page) and at
    most ``max_bytes`` long. ``timeout`` is a deadline for
    the whole fetch (every hop's resolution, connect, TLS handshake, headers and body),
    however slowly the server sends. ``resolver(host, port) -> [ip, ...]`` and
    ``is_allowed`` are injectable for tests; the defaults are ``socket.getaddrinfo`` and
    ``is_public_address``. Failures raise ``FetchError`` (an ``ImageError``).
    """
    resolve = resolver or _system_resolver
    if not isinstance(url, str):
        raise FetchError("URL must be a string", "refused")
    if accept not in _KINDS:
        raise ValueError(f"accept must be one of {', '.join(_KINDS)}")
    deadline = _Deadline(timeout, url)
    try:
        return _fetch(url, deadline, max_bytes, resolve, is_allowed, ssl_context, accept)
    finally:
        deadline.cancel()


def _fetch(url: str, deadline: _Deadline, max_bytes: int, resolve: Resolver, is_allowed: Callable[[str], bool],
           ssl_context: ssl.SSLContext | None, accept: str = "image") -> bytes:
    accept_header, takes, a_kind, kind = _KINDS[accept]
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(current.strip())
            port = parts.port
        except ValueError as exc:
            raise FetchError(f"invalid URL {_show(current)}: {exc}", "refused") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"only http and https URLs are allowed, not {scheme[:20] or 'no scheme'!r}", "refused")
        host = parts.hostname
        if not host:
            raise FetchError(f"URL has no host: {_show(current)}", "refused")
        if parts.username is not None or parts.password is not None:
            raise FetchError("URLs with credentials are not allowed", "refused")
        port = port or (443 if scheme == "https" else 80)
        ip = _vet_host(host, port, resolve, is_allowed, deadline)
        if scheme == "https":
            conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
                host, port, ip=ip, deadline=deadline, context=ssl_context or ssl.create_default_context()
            )
        else:
            conn = _PinnedHTTPConnection(host, port, ip=ip, deadline=deadline)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={"User-Agent": USER_AGENT, "Accept": accept_header})
            if conn.sock is not None:
                conn.sock.settimeout(deadline.left())
            resp = conn.getresponse()
            if resp.status in _REDIRECT_STATUSES:
                location = resp.getheader("Location")
                if not location:
                    raise FetchError(f"redirect without a Location header from {_show(current)}", "unreachable")
                if hop == MAX_REDIRECTS:
                    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS}) fetching {_show(url)}",
                                     "unreachable")
                current = urljoin(current, location.strip())
                continue
            if resp.status != 200:
                raise FetchError(f"HTTP {resp.status} {str(resp.reason)[:60]} fetching {_show(current)}", "unreachable")
            header = (resp.getheader("Content-Type") or "")[:200]
            ctype = header.split(";")[0].strip().lower()
            if not takes(ctype):
                raise FetchError(f"not {a_kind}: Content-Type {ctype[:60] or 'missing'!r} from {_show(current)}",
                                 "wrong_type")
            length = resp.getheader("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > max_bytes:
                raise FetchError(f"{kind} too large: {int(length)} bytes (limit {max_bytes})", "too_large")
            chunks: list[bytes] = []
            total = 0
            while True:
                if conn.sock is not None:
                    conn.sock.settimeout(deadline.left())
                chunk = resp.read(min(65536, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    raise FetchError(f"{kind} too large: more than {max_bytes} bytes", "too_large")
            if deadline.expired:
                raise deadline.timed_out()       # the watchdog's shutdown reads as end of data
            if total == 0:
                raise FetchError(f"empty response from {_show(current)}", "unreachable")
            if accept == "image":
                return b"".join(chunks)
            page = Fetched(b"".join(chunks))        # a page is small: the copy costs nothing
            page.url, page.content_type = current, header
            return page
        except ImageError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if deadline.expired:
                raise deadline.timed_out() from None
            raise FetchError(f"could not fetch {_show(current)}: {str(exc)[:200]}", "unreachable") from None
        finally:
            deadline.release()
            conn.close()
    raise FetchError(f"too many redirects fetching {_show(url)}", "unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- dispatch


def load_image_ref(
    ref: str,
    root: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    timeout: float = 5.0,
) -> Image.Image:
    """A catalog image reference -> RGB image: http(s) URLs are fetched, anything
    else is a path relative to ``root``. Other URL schemes (file://, ftp://) are refused.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise ImageError("empty image reference", "refused")
    ref = ref.strip()
    if _SCHEME_RE.match(ref):
        scheme = ref.split("://", 1)[0].lower()
        if scheme not in ("http", "https"):
            raise ImageError(f"only http and https URLs are allowed, not {scheme!r}", "refused")
        data = fetch_url(ref, timeout=timeout, max_bytes=max_bytes)
        return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    return load_local(ref, root, max_bytes=max_bytes, max_pixels=max_pixels)
