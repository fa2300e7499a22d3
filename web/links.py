"""Links the service hands out: built from configuration, never from the request.

The request's ``Host`` header is the caller's to choose; a link built from it and stored
by a shared cache (a share page's ``og:url``, an API answer) would send other people
wherever one caller said. So an absolute link is ``PUBLIC_URL`` (``DUPE_PUBLIC_URL``,
e.g. ``https://dupes.example``) followed by the path. Without ``PUBLIC_URL`` links are
root-relative (``/card/p1.png``): correct for browsers and for API clients, which resolve
them against the address they called, and ``absolute`` is None, so the page leaves out
the tags that must be absolute (``og:url``, ``og:image``).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for


class PublicUrlError(ValueError):
    """``PUBLIC_URL`` is not an http(s) origin (refused at start-up)."""


def normalise(value: object) -> str | None:
    """The configured public URL as ``scheme://host[:port][/prefix]`` without a trailing
    slash, or None when unset. Refuses anything else (query, fragment, credentials)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port                                     # noqa: B018  (raises on a bad port)
    except ValueError as e:
        raise PublicUrlError(f"PUBLIC_URL {text!r} is not a URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username is not None or parts.password is not None:
        raise PublicUrlError(f"PUBLIC_URL must look like https://host[:port][/prefix], got {text!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def public_base() -> str | None:
    return current_app.config.get("PUBLIC_URL") or None


def external(path: str) -> str:
    """``path`` (root-relative, as ``url_for`` gives it) as the link to hand out."""
    base = public_base()
    return base + path if base else path


def absolute(path: str) -> str | None:
    """``path`` as an absolute URL, or None when no public URL is configured."""
    base = public_base()
    return base + path if base else None


def link(endpoint: str, **values: object) -> str:
    """``url_for`` of the endpoint, as the link to hand out (see ``external``)."""
    return external(url_for(endpoint, **values))
