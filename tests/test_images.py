"""indexer.images: hostile and odd inputs, path escapes, the URL fetcher's SSRF guard."""
from __future__ import annotations

import http.server
import io
import os
import socket
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image, features

from indexer.images import (
    ImageError,
    decode_image,
    fetch_url,
    is_public_address,
    load_image_ref,
    load_local,
)

# --------------------------------------------------------------------------- helpers


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noisy(size=(256, 256), seed=0) -> Image.Image:
    """An image JPEG cannot compress to almost nothing, so truncation hits scan data."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))


def png_header_only(width: int, height: int) -> bytes:
    """A syntactically valid PNG claiming ``width`` x ``height`` with one tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def px(im: Image.Image, xy) -> tuple[int, int, int]:
    return im.getpixel(xy)[:3]


def near(a, b, tol=12) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


# --------------------------------------------------------------------------- decoding: good


def test_plain_rgb_jpeg_and_png():
    src = Image.new("RGB", (40, 30), (200, 30, 40))
    for fmt in ("JPEG", "PNG", "BMP", "TIFF"):
        im = decode_image(encode(src, fmt))
        assert im.mode == "RGB" and im.size == (40, 30), fmt
        assert near(px(im, (20, 15)), (200, 30, 40)), fmt


def test_exif_orientation_is_applied():
    # Stored 40x20: left half red, right half blue. Orientation 6 = "rotate 90 CW to
    # display", so the displayed image is 20x40 with red on top and blue below.
    src = Image.new("RGB", (40, 20), (0, 0, 255))
    src.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(src, "JPEG", exif=exif.tobytes(), quality=95)
    raw = Image.open(io.BytesIO(data))
    assert raw.size == (40, 20)  # sanity: the file itself is not rotated
    im = decode_image(data)
    assert im.size == (20, 40)
    assert near(px(im, (10, 5)), (255, 0, 0), tol=40)
    assert near(px(im, (10, 34)), (0, 0, 255), tol=40)


def test_cmyk_jpeg_becomes_rgb():
    src = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in CMYK
    im = decode_image(encode(src, "JPEG", quality=95))
    assert im.mode == "RGB"
    r, g, b = px(im, (16, 16))
    assert r > 200 and g < 60 and b < 60


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_grayscale_is_scaled_not_clipped(mode):
    import numpy as np

    arr = np.full((32, 32), 40000, dtype=np.uint16 if mode == "I;16" else np.int32)  # -> ~155
    arr[:, :16] = 1000  # left half dark -> ~4
    src = Image.fromarray(arr) if mode == "I;16" else Image.fromarray(arr).convert("I")
    assert src.mode == mode
    data = encode(src, "PNG" if mode == "I;16" else "TIFF")
    assert Image.open(io.BytesIO(data)).mode == mode  # really 16/32-bit on disk
    im = decode_image(data)
    assert im.mode == "RGB"
    assert near(px(im, (24, 16)), (155, 155, 155), tol=3)
    assert near(px(im, (4, 16)), (4, 4, 4), tol=3)


def test_16_bit_tiff():
    src = Image.new("I;16", (16, 16), 65535)
    im = decode_image(encode(src, "TIFF"))
    assert im.mode == "RGB" and near(px(im, (8, 8)), (255, 255, 255), tol=1)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency_composited_on_white(fmt):
    src = Image.new("P", (32, 32), 0)
    src.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))  # 0 = black, 1 = red
    src.paste(1, (8, 8, 24, 24))
    data = encode(src, fmt, transparency=0)
    im = decode_image(data)
    assert im.mode == "RGB"
    assert px(im, (1, 1)) == (255, 255, 255)  # transparent black -> white, not black
    assert near(px(im, (16, 16)), (255, 0, 0), tol=2)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(mode):
    src = Image.new("RGBA", (32, 32), (0, 0, 0, 0))  # transparent black background
    src.paste((200, 0, 0, 128), (8, 8, 24, 24))  # half-transparent red
    if mode == "LA":
        src = src.convert("LA")
    im = decode_image(encode(src, "PNG"))
    assert im.mode == "RGB"
    assert px(im, (1, 1)) == (255, 255, 255)
    if mode == "RGBA":
        assert near(px(im, (16, 16)), (227, 127, 127), tol=3)  # 0.5*200+0.5*255, 0.5*255
    else:
        r, g, b = px(im, (16, 16))
        assert r == g == b and 100 < r < 220


def _two_frames() -> list[Image.Image]:
    return [Image.new("RGB", (24, 24), (255, 0, 0)), Image.new("RGB", (24, 24), (0, 0, 255))]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_image_gives_first_frame(fmt):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    first, second = _two_frames()
    data = encode(first, fmt, save_all=True, append_images=[second], duration=100, loop=0, **({"lossless": True} if fmt == "WEBP" else {}))
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2  # really animated
    im = decode_image(data)
    assert im.mode == "RGB" and im.size == (24, 24)
    assert near(px(im, (12, 12)), (255, 0, 0), tol=8)


def test_draft_decodes_large_jpeg_smaller():
    data = encode(noisy((1024, 768)), "JPEG")
    im = decode_image(data, draft=(200, 200))
    assert im.mode == "RGB" and 200 <= min(im.size) and im.size[0] < 1024


# --------------------------------------------------------------------------- decoding: bad


def test_empty_data():
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")


def test_truncated_jpeg_is_refused():
    data = encode(noisy(), "JPEG", quality=90)
    for cut in (len(data) // 2, len(data) - 200, 700):
        with pytest.raises(ImageError, match="truncated|broken"):
            decode_image(data[:cut])


def test_truncated_png_is_refused():
    data = encode(noisy(), "PNG")
    with pytest.raises(ImageError):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_header_is_refused():
    # 100000 x 100000 = 10^10 pixels: Pillow's DecompressionBombError zone.
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_header_only(100_000, 100_000))
    # Even if our own limit is lifted, Pillow's hard limit still surfaces as ImageError.
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_header_only(100_000, 100_000), max_pixels=10**12)


def test_decompression_bomb_warning_zone_is_refused():
    # 10000 x 10000 = 10^8 pixels: above Pillow's warning threshold (~89M) but below its
    # error threshold. With our limit raised, the warning itself must stop the decode.
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_header_only(10_000, 10_000), max_pixels=10**9)


def test_huge_dimensions_refused_by_our_limit():
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_header_only(9_000, 8_000))  # 72 Mpx > 50 Mpx default
    data = encode(Image.new("RGB", (300, 300)), "PNG")
    with pytest.raises(ImageError, match="pixels"):
        decode_image(data, max_pixels=300 * 300 - 1)
    assert decode_image(data, max_pixels=300 * 300).size == (300, 300)


def test_too_many_bytes():
    data = encode(noisy((64, 64)), "PNG")
    with pytest.raises(ImageError, match="too large"):
        decode_image(data, max_bytes=len(data) - 1)
    assert decode_image(data, max_bytes=len(data)).size == (64, 64)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is not an image" * 10,
        b"<!doctype html><html><body>404</body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",  # never reach Ghostscript
        b"%PDF-1.4\n1 0 obj<<>>endobj\n",
        b"\x89PNG\r\n\x1a\n",  # signature only
        b"\xff\xd8\xff",  # JPEG SOI only
        bytes(range(256)) * 4,
    ],
)
def test_non_images_refused(data):
    with pytest.raises(ImageError):
        decode_image(data)


def test_not_bytes_refused():
    with pytest.raises(ImageError):
        decode_image("not bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- local paths


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(encode(Image.new("RGB", (20, 10), (0, 128, 0)), "JPEG"))
    (root / "sub" / "b.png").write_bytes(encode(Image.new("RGB", (8, 8), (0, 0, 200)), "PNG"))
    (tmp_path / "outside.jpg").write_bytes(encode(Image.new("RGB", (9, 9)), "JPEG"))
    return root


def test_load_local_ok(catalog: Path):
    assert load_local("a.jpg", catalog).size == (20, 10)
    assert load_local("sub/b.png", catalog).size == (8, 8)
    assert load_local("sub/../a.jpg", catalog).size == (20, 10)  # stays inside root
    assert load_local("./sub/b.png", catalog).mode == "RGB"


def test_wrong_extension_is_fine(catalog: Path):
    (catalog / "really_png.jpg").write_bytes(encode(Image.new("RGB", (5, 7), (1, 2, 3)), "PNG"))
    (catalog / "really_jpeg.png").write_bytes(encode(Image.new("RGB", (7, 5), (1, 2, 3)), "JPEG"))
    assert load_local("really_png.jpg", catalog).size == (5, 7)
    assert load_local("really_jpeg.png", catalog).size == (7, 5)
    (catalog / "notes.jpg").write_bytes(b"just text, despite the name")
    with pytest.raises(ImageError):
        load_local("notes.jpg", catalog)


def test_path_escape_refused(catalog: Path):
    assert (catalog.parent / "outside.jpg").exists()
    for ref in ("../outside.jpg", "sub/../../outside.jpg", "sub/../../catalog/../outside.jpg"):
        with pytest.raises(ImageError, match="escapes"):
            load_local(ref, catalog)


def test_absolute_path_refused(catalog: Path):
    for ref in (str(catalog / "a.jpg"), "/etc/passwd", "C:\\Windows\\win.ini", "\\\\server\\share\\x.jpg"):
        with pytest.raises(ImageError, match="relative"):
            load_local(ref, catalog)


def test_symlink_out_of_root_refused(catalog: Path):
    (catalog / "link.jpg").symlink_to(catalog.parent / "outside.jpg")
    (catalog / "linkdir").symlink_to(catalog.parent, target_is_directory=True)
    with pytest.raises(ImageError, match="escapes"):
        load_local("link.jpg", catalog)
    with pytest.raises(ImageError, match="escapes"):
        load_local("linkdir/outside.jpg", catalog)
    # A symlink that stays inside the root is fine.
    (catalog / "inside.jpg").symlink_to(catalog / "a.jpg")
    assert load_local("inside.jpg", catalog).size == (20, 10)


def test_missing_and_odd_local_refs(catalog: Path):
    with pytest.raises(ImageError, match="not found"):
        load_local("nope.jpg", catalog)
    with pytest.raises(ImageError, match="not a regular file"):
        load_local("sub", catalog)
    for ref in ("", "   ", "a.jpg\x00.png"):
        with pytest.raises(ImageError):
            load_local(ref, catalog)
    with pytest.raises(ImageError, match="catalog folder"):
        load_local("a.jpg", catalog / "missing-root")


def test_local_file_too_big(catalog: Path):
    with pytest.raises(ImageError, match="too large"):
        load_local("a.jpg", catalog, max_bytes=10)


# --------------------------------------------------------------------------- address policy


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 wrapping 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
        "2001:db8::1",  # documentation
        "not an ip",
        "",
        "8.8.8.8.8",
    ],
)
def test_non_public_addresses_refused(ip):
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "[2606:4700::1]"])
def test_public_addresses_allowed(ip):
    assert is_public_address(ip) is True


# --------------------------------------------------------------------------- fetch_url: refusals


def _no_resolve(host, port):  # pragma: no cover - must not be reached
    raise AssertionError(f"resolver called for {host}")


def test_fetch_refuses_loopback_url():
    with pytest.raises(ImageError, match="non-public"):
        fetch_url("http://127.0.0.1/x.jpg")
    with pytest.raises(ImageError, match="non-public"):
        fetch_url("http://[::1]:8080/x.jpg")
    with pytest.raises(ImageError, match="non-public"):
        fetch_url("http://localhost/x.jpg")


def test_fetch_refuses_host_resolving_to_private_ip():
    calls = []

    def resolver(host, port):
        calls.append((host, port))
        return ["10.1.2.3"]

    with pytest.raises(ImageError, match="non-public address 10.1.2.3"):
        fetch_url("https://images.example.com/x.jpg", resolver=resolver)
    assert calls == [("images.example.com", 443)]
    # One bad answer among good ones is enough to refuse.
    with pytest.raises(ImageError, match="192.168.0.7"):
        fetch_url("http://cdn.example.com/x.jpg", resolver=lambda h, p: ["93.184.216.34", "192.168.0.7"])
    with pytest.raises(ImageError, match="resolve"):
        fetch_url("http://cdn.example.com/x.jpg", resolver=lambda h, p: [])


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x.jpg",
        "gopher://example.com/",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "//example.com/x.jpg",
        "example.com/x.jpg",
        "http:///x.jpg",
        "http://user:pw@example.com/x.jpg",
        "http://example.com:99999/x.jpg",
    ],
)
def test_fetch_refuses_bad_urls(url):
    with pytest.raises(ImageError):
        fetch_url(url, resolver=_no_resolve)


# --------------------------------------------------------------------------- fetch_url: a live local server

PNG = encode(Image.new("RGB", (12, 9), (10, 200, 30)), "PNG")


class _Handler(http.server.BaseHTTPRequestHandler):
    hosts: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, ctype=None, body=b"", headers=(), length=True):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        type(self).hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        routes = {
            "/img.png": lambda: self._send(200, "image/png", PNG),
            "/img-charset.png": lambda: self._send(200, "Image/PNG; charset=binary", PNG),
            "/redirect": lambda: self._send(302, headers=[("Location", f"http://cdn.test:{port}/img.png")]),
            "/relative": lambda: self._send(301, headers=[("Location", "/img.png")]),
            "/loop": lambda: self._send(302, headers=[("Location", "/loop")]),
            "/evil": lambda: self._send(302, headers=[("Location", "http://internal.test/secret.png")]),
            "/to-file": lambda: self._send(302, headers=[("Location", "file:///etc/passwd")]),
            "/html": lambda: self._send(200, "text/html", b"<html></html>"),
            "/svg": lambda: self._send(200, "image/svg+xml", b"<svg/>"),
            "/big": lambda: self._send(200, "image/png", b"\0" * 5000),
            "/big-nolength": lambda: self._send(200, "image/png", b"\0" * 5000, length=False),
            "/missing": lambda: self._send(404, "text/plain", b"no"),
        }
        routes.get(self.path, routes["/missing"])()


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


LOCAL_NAMES = {"cdn.test": "127.0.0.1", "internal.test": "10.0.0.1"}


def local_resolver(host, port):
    if host not in LOCAL_NAMES:
        raise socket.gaierror(f"unknown host {host}")
    return [LOCAL_NAMES[host]]


def only_loopback(ip: str) -> bool:
    """Test policy: the local server stands in for a public host; everything else is
    still judged by the real policy."""
    return ip == "127.0.0.1" or is_public_address(ip)


def fetch(url, **kw):
    return fetch_url(url, resolver=local_resolver, is_allowed=only_loopback, timeout=5, **kw)


def test_fetch_ok_and_connects_to_pinned_ip(server):
    _Handler.hosts.clear()
    data = fetch(f"http://cdn.test:{server}/img.png")
    assert data == PNG
    assert decode_image(data).size == (12, 9)
    assert _Handler.hosts == [f"cdn.test:{server}"]  # real host name sent, vetted IP used
    assert fetch(f"http://cdn.test:{server}/img-charset.png") == PNG


def test_fetch_follows_vetted_redirects(server):
    assert fetch(f"http://cdn.test:{server}/redirect") == PNG
    assert fetch(f"http://cdn.test:{server}/relative") == PNG


def test_fetch_vets_every_redirect_hop(server):
    with pytest.raises(ImageError, match="non-public address 10.0.0.1"):
        fetch(f"http://cdn.test:{server}/evil")
    with pytest.raises(ImageError, match="only http and https"):
        fetch(f"http://cdn.test:{server}/to-file")


def test_fetch_limits_redirects(server):
    _Handler.hosts.clear()
    with pytest.raises(ImageError, match="too many redirects"):
        fetch(f"http://cdn.test:{server}/loop")
    assert len(_Handler.hosts) == 4  # the first request + 3 redirects, then stop


def test_fetch_checks_content_type_status_and_size(server):
    with pytest.raises(ImageError, match="not an image"):
        fetch(f"http://cdn.test:{server}/html")
    with pytest.raises(ImageError, match="not an image"):
        fetch(f"http://cdn.test:{server}/svg")
    with pytest.raises(ImageError, match="HTTP 404"):
        fetch(f"http://cdn.test:{server}/missing")
    with pytest.raises(ImageError, match="too large"):
        fetch(f"http://cdn.test:{server}/big", max_bytes=1000)
    with pytest.raises(ImageError, match="too large"):
        fetch(f"http://cdn.test:{server}/big-nolength", max_bytes=1000)
    assert len(fetch(f"http://cdn.test:{server}/big", max_bytes=5000)) == 5000


def test_fetch_https_to_plain_http_server_fails_cleanly(server):
    # Exercises the pinned TLS connection: the handshake against a plain-HTTP server
    # fails, and that surfaces as ImageError rather than an ssl exception.
    with pytest.raises(ImageError, match="could not fetch"):
        fetch(f"https://cdn.test:{server}/img.png")


def test_fetch_unknown_host_and_closed_port():
    with pytest.raises(ImageError, match="resolve"):
        fetch("http://nowhere.test/x.png")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ImageError, match="could not fetch"):
        fetch(f"http://cdn.test:{port}/img.png")


# --------------------------------------------------------------------------- dispatch


def test_load_image_ref_dispatch(catalog: Path):
    assert load_image_ref("a.jpg", catalog).size == (20, 10)
    assert load_image_ref("  sub/b.png ", catalog).size == (8, 8)
    with pytest.raises(ImageError, match="only http and https"):
        load_image_ref("file:///etc/passwd", catalog)
    with pytest.raises(ImageError, match="non-public"):
        load_image_ref("http://127.0.0.1:9/x.png", catalog)
    with pytest.raises(ImageError, match="escapes"):
        load_image_ref("../outside.jpg", catalog)
    with pytest.raises(ImageError):
        load_image_ref("", catalog)


def test_image_error_is_value_error():
    assert issubclass(ImageError, ValueError)
    assert os.fspath(Path("x")) == "x"
