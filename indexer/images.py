"""Safe image loading at the edges: catalog files, uploaded bytes, remote URLs.

Everything here turns untrusted input into a plain RGB ``PIL.Image.Image`` or raises
``ImageError`` (a ``ValueError``) with a message fit to show a user and a ``kind``
(``ImageErrorKind``) for code to act on:

* ``decode_image(data)`` -- bytes -> RGB image, with size limits checked before pixels are
  decoded, truncated files refused, EXIF orientation applied, transparency composited
  onto white, odd modes (CMYK, 16-bit, palette) converted, animations cut to frame one;
  large JPEGs optionally decoded at a reduced scale (``work_side``, ``source_size``).
* ``load_local(ref, root)`` -- a catalog path relative to ``root``; no escaping ``root``.
* ``fetch_url(url)`` (``indexer.fetch``, re-exported here) -- http(s) bytes from public addresses only (SSRF guard, pinned IP,
  vetted redirects, content-type and size limits, one deadline for the whole fetch); an
  image by default, a web page with ``accept="html"`` (``page_url``: a product page).
* ``load_image_ref(ref, root)`` -- URL or local path, decoded.
"""
from __future__ import annotations

import io
import os
import re
import stat
import threading
import warnings
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from indexer.fetch import Fetched, FetchError, Resolver, fetch_url, is_public_address  # noqa: F401  (re-exported)
from indexer.imagebase import (  # noqa: F401  (re-exported)
    DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, IMAGE_ERROR_KINDS, ImageError, ImageErrorKind,
)
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


#: Formats we let Pillow open. Anything else (EPS/PDF, which can shell out to
#: Ghostscript; exotic raw formats) is refused as "not an image".
_ALLOWED_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

# ``warnings.catch_warnings`` swaps process-global state; serialise our use of it. Only
# the header parse (``Image.open``) runs under the lock, not the pixel decode.
_open_lock = threading.Lock()
_formats: tuple[str, ...] | None = None


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
