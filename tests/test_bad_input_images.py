"""Bad input: a corpus of hostile and odd images, sent through every way a photo reaches the
service (API multipart upload, API base64, API image_url through the fetcher, and the
search page's upload form). Each case gets the expected answer: 200 for odd but valid
images (converted and searched), a clear 4xx with the one error shape for the others;
never a 500.

``indexer.images`` is unit-tested in test_images.py; this is the same corpus end to end.
"""
from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from tests.test_web_helpers import make_app

# ----------------------------------------------------------------------------- the corpus


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _noisy(size=(96, 64)) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims these dimensions, with a token of pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _bomb() -> bytes:
    """A real decompression bomb: 10,000 x 10,000 pixels (100 Mpx) in a few kilobytes."""
    return _save(Image.new("1", (10_000, 10_000), 0), "PNG", optimize=True)


def _text_bomb() -> bytes:
    """A PNG carrying a zTXt chunk that inflates to 64 MB."""
    png = _save(Image.new("RGB", (8, 8), (20, 20, 20)), "PNG")
    payload = b"k\0\0" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    chunk = struct.pack(">I", len(payload)) + b"zTXt" + payload + \
        struct.pack(">I", zlib.crc32(b"zTXt" + payload) & 0xFFFFFFFF)
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


def _cmyk() -> bytes:
    return _save(Image.new("CMYK", (48, 48), (0, 0, 0, 230)), "JPEG")


def _sixteen_bit() -> bytes:
    arr = (np.linspace(0, 65535, 48 * 48).reshape(48, 48)).astype(np.uint16)
    return _save(Image.fromarray(arr), "PNG")              # mode I;16 on disk


def _palette_transparent(fmt: str) -> bytes:
    im = Image.new("P", (48, 48), 0)
    im.putpalette([25, 22, 20, 255, 255, 255] + [0] * 762)
    im.paste(1, (0, 0, 24, 48))
    return _save(im, fmt, transparency=1)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (40, 40), c) for c in ((25, 22, 20), (240, 240, 250), (60, 60, 200))]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _exif_rotated() -> bytes:
    """A phone photo stored sideways: 64x32 pixels, EXIF orientation 6 (rotate 90 degrees)."""
    im = Image.new("RGB", (64, 32), (25, 22, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(im, "JPEG", exif=exif.tobytes())


def _jpeg(colour=(25, 22, 20), size=(64, 64)) -> bytes:
    return _save(Image.new("RGB", size, colour), "JPEG")


def _truncated_jpeg() -> bytes:
    data = _save(_noisy(), "JPEG", quality=95)
    return data[: len(data) // 2]


OK, TOO_BIG, CORRUPT, NOT_IMAGE, EMPTY = 200, 413, 422, 415, 400

# name -> (bytes factory, multipart filename, content type, expected status, expected code or None)
CASES: dict[str, tuple[Callable[[], bytes], str, str, int, str | None]] = {
    "truncated JPEG": (_truncated_jpeg, "a.jpg", "image/jpeg", CORRUPT, "corrupt_image"),
    "JPEG cut after the header": (lambda: _jpeg()[:200], "a.jpg", "image/jpeg", CORRUPT, "corrupt_image"),
    "zero bytes": (lambda: b"", "a.jpg", "image/jpeg", EMPTY, None),
    "decompression bomb (100 Mpx PNG)": (_bomb, "bomb.png", "image/png", TOO_BIG, "too_many_pixels"),
    "huge dimensions in the header": (lambda: _png_header_only(100_000, 100_000), "big.png", "image/png",
                                      TOO_BIG, "too_many_pixels"),
    "absurd height (2^31-1)": (lambda: _png_header_only(1, 2**31 - 1), "tall.png", "image/png", TOO_BIG,
                               "too_many_pixels"),
    "zTXt text-chunk bomb": (_text_bomb, "t.png", "image/png", CORRUPT, "corrupt_image"),
    "CMYK JPEG": (_cmyk, "c.jpg", "image/jpeg", OK, None),
    "16-bit PNG": (_sixteen_bit, "g.png", "image/png", OK, None),
    "palette + transparency PNG": (lambda: _palette_transparent("PNG"), "p.png", "image/png", OK, None),
    "palette + transparency GIF": (lambda: _palette_transparent("GIF"), "p.gif", "image/gif", OK, None),
    "animated GIF": (lambda: _animated("GIF"), "a.gif", "image/gif", OK, None),
    "animated WebP": (lambda: _animated("WEBP"), "a.webp", "image/webp", OK, None),
    "PNG named .jpg (wrong extension)": (lambda: _save(Image.new("RGB", (40, 40), (25, 22, 20)), "PNG"),
                                         "photo.jpg", "image/jpeg", OK, None),
    "JPEG named .gif, no content type": (_jpeg, "photo.gif", "application/octet-stream", OK, None),
    "EXIF-rotated phone photo": (_exif_rotated, "IMG_0001.JPG", "image/jpeg", OK, None),
    "1x1 pixel": (lambda: _jpeg(size=(1, 1)), "dot.jpg", "image/jpeg", OK, None),
    "extreme aspect 20000x1": (lambda: _save(Image.new("RGB", (20_000, 1), (25, 22, 20)), "PNG"), "strip.png",
                               "image/png", OK, None),
    "BMP": (lambda: _save(Image.new("RGB", (32, 32), (25, 22, 20)), "BMP"), "x.bmp", "image/bmp", OK, None),
    "HTML as image/png": (lambda: b"<html><script>alert(1)</script></html>", "x.png", "image/png",
                          NOT_IMAGE, "unsupported_image"),
    "SVG with script as image/svg+xml": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                                         "x.svg", "image/svg+xml", NOT_IMAGE, "unsupported_image"),
    "PostScript as image/jpeg": (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
                                 "x.jpg", "image/jpeg", NOT_IMAGE, "unsupported_image"),
    "ZIP as image/webp": (lambda: b"PK\x03\x04" + b"\0" * 100, "x.webp", "image/webp", NOT_IMAGE, "unsupported_image"),
    "ICO (not an allowed format)": (lambda: _save(Image.new("RGB", (16, 16), (1, 2, 3)), "ICO"), "x.ico",
                                    "image/x-icon", NOT_IMAGE, "unsupported_image"),
    "GIF header then garbage": (lambda: b"GIF89a" + b"\xff" * 200, "x.gif", "image/gif", NOT_IMAGE,
                                "unsupported_image"),
    "random bytes": (lambda: np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
                     "x.jpg", "image/jpeg", NOT_IMAGE, "unsupported_image"),
    "text/plain upload": (lambda: b"just words", "notes.txt", "text/plain", NOT_IMAGE, "unsupported_image"),
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    return {name: case[0]() for name, case in CASES.items()}


@pytest.fixture
def client(built, tmp_path, corpus):
    def fetcher(url: str, *, timeout: float, max_bytes: int) -> bytes:
        name = url.rsplit("/", 1)[1]
        return corpus[base64.urlsafe_b64decode(name.encode()).decode()]
    return make_app(tmp_path, built, URL_FETCHER=fetcher).test_client()


def _check(resp, expected_status: int | None, expected_code: str | None, field: str | None, case: str) -> None:
    """The status (None: any 2xx/4xx), then for an error the one error shape, the field
    (None: any) and the code."""
    body = resp.get_data(as_text=True)
    assert resp.status_code < 500, (case, field, body[:500])
    assert "Traceback" not in body
    if expected_status is not None:
        assert resp.status_code == expected_status, (case, field, body[:500])
    else:
        assert resp.status_code == 200 or 400 <= resp.status_code < 500, (case, field)
    if resp.status_code != 200:
        err = resp.get_json()["error"]
        assert set(err) == {"code", "message", "field"} and err["message"], err
        assert field is None or err["field"] == field, (case, err)
        if expected_code is not None:
            assert err["code"] == expected_code, (case, err)
    else:
        assert isinstance(resp.get_json()["results"], list)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_image_through_every_api_channel(client, corpus, case):
    _, filename, ctype, status, code = CASES[case]
    data = corpus[case]
    resp = client.post("/api/v1/search", data={"photo": (io.BytesIO(data), filename, ctype)},
                       content_type="multipart/form-data")
    if case == "zero bytes":
        _check(resp, EMPTY, "empty_photo", "photo", case)
    elif case == "text/plain upload":
        _check(resp, NOT_IMAGE, "unsupported_image", "photo", case)        # refused by its content type
    else:
        _check(resp, status, code, "photo", case)
    b64 = client.post("/api/v1/search", json={"image_base64": base64.b64encode(data).decode()})
    if case == "zero bytes":
        _check(b64, EMPTY, None, None, case)           # an empty string is no photo: "give q or a photo"
    elif case != "text/plain upload":
        _check(b64, status, code, "image_base64", case)
    url = "https://cdn.example/" + base64.urlsafe_b64encode(case.encode()).decode()
    by_url = client.get("/api/v1/search", query_string={"image_url": url})
    if case == "zero bytes":
        _check(by_url, None, None, "image_url", case)
    elif case != "text/plain upload":
        # Fetched bytes that do not decode are a failed fetch for the caller.
        _check(by_url, status, "image_fetch_failed" if code == "corrupt_image" else code, "image_url", case)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_image_through_the_search_page(client, corpus, case):
    _, filename, ctype, status, _ = CASES[case]
    resp = client.post("/search", data={"photo": (io.BytesIO(corpus[case]), filename, ctype)},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code < 500 and "Traceback" not in body, (case, body[:300])
    if status == OK:
        assert resp.status_code == 303 and "/s/" in resp.headers["Location"], (case, resp.status_code)
    elif case != "zero bytes":        # an empty file field is "no photo" on the page
        assert 400 <= resp.status_code < 500 and "<html" in body.lower(), case


def test_exif_rotation_is_applied_to_the_searched_photo(client, corpus):
    resp = client.post("/search", data={"photo": (io.BytesIO(corpus["EXIF-rotated phone photo"]), "IMG_0001.JPG",
                                                  "image/jpeg")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    photo_id = resp.headers["Location"].split("/s/")[1].split("?")[0]
    kept = client.get(f"/s/{photo_id}/photo.jpg")
    assert kept.status_code == 200
    with Image.open(io.BytesIO(kept.data)) as im:
        assert im.size == (32, 64)                      # upright: rotated, not 64x32
        assert not im.getexif().get(0x0112)             # and the orientation tag is gone
    # The API searches the same upright photo (the dark one: leggings first).
    api = client.post("/api/v1/search", data={"photo": (io.BytesIO(corpus["EXIF-rotated phone photo"]), "x.jpg",
                                                        "image/jpeg")})
    assert api.status_code == 200 and api.get_json()["results"][0]["id"] == "p1"
