"""Fetching http(s) bytes from public addresses only: the SSRF guard (every address a name
resolves to vetted, the connection pinned to a vetted IP, each redirect vetted again), a
content-type check, a size cap and one deadline for the whole fetch. ``fetch_url`` gets an
image by default, a web page with ``accept="html"`` (``page_url``: a product page)."""
from __future__ import annotations

import concurrent.futures
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urljoin, urlsplit

from indexer.imagebase import DEFAULT_MAX_BYTES, ImageError, ImageErrorKind

MAX_REDIRECTS = 3
USER_AGENT = "dupe-search/0.1 (+image fetcher)"
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}

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
