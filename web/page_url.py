"""``page_url`` searches: a brand's product page a user pasted (API, batch items, the
search page) becomes a search by its product's words and its main image.

The page is fetched by the service's guarded fetcher (``URL_FETCHER`` with
``accept="html"``: public addresses only, vetted redirects, one deadline of
``URL_TIMEOUT``, at most ``PAGE_MAX_BYTES``, ``text/html`` only) and read by
``web.product_page``. Its name (with its brand) is the query text, and its main image,
fetched through the same guard as ``image_url``, the photo. An image that cannot be used
does not fail the search: it runs on the words and ``understood.page.image_error`` says
why. What was read is echoed as ``understood.page``.

Every failure is a 4xx naming the ``page_url`` field: refused address 400, too large 413,
not HTML 415, unreachable or an error status 422 (``PAGE_ANSWERS``), no product on the page 422.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from indexer.images import ImageError, ImageErrorKind
from web import photos, service
from web.errors import ApiError
from web.params import MAX_QUERY_CHARS, SearchParams
from web.product_page import PageProduct, read_product

FIELD = "page_url"
DEFAULT_MAX_BYTES = 4 * 1024 * 1024      # a real product page is 0.3-2 MB of HTML
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)

#: The HTTP status and error code of each kind of ``ImageError`` fetching a page meets
#: (``indexer.fetch.fetch_url`` with ``accept="html"`` raises the first four).
PAGE_ANSWERS: dict[ImageErrorKind, tuple[int, str]] = {
    "refused": (400, "page_url_refused"),
    "unreachable": (422, "page_fetch_failed"),
    "wrong_type": (415, "unsupported_page"),
    "too_large": (413, "page_too_large"),
    "too_many_pixels": (422, "page_fetch_failed"),
    "unsupported": (422, "page_fetch_failed"),
    "broken": (422, "page_fetch_failed"),
}


@dataclass(frozen=True)
class PageSearch:
    """A page read for a search: the parameters to search with (``q``: the page's words),
    the photo (None if it has none or it failed: ``image_error``), and what was read."""

    params: SearchParams
    image: Any
    product: PageProduct
    url: str                    # the page's URL after redirects
    image_error: str | None = None

    def json(self) -> dict[str, Any]:
        """``understood.page``."""
        p = self.product
        return {"url": self.url, "name": p.name, "brand": p.brand, "price": p.price, "currency": p.currency,
                "image": p.image_url, "image_error": self.image_error, "read_from": list(p.read_from)}


def is_page_url(text: str | None) -> bool:
    """Whether the search page's query box holds a product page's address (one http(s)
    URL and nothing else), to be read rather than searched as words."""
    return bool(text) and _URL_RE.fullmatch(text.strip()) is not None      # type: ignore[union-attr]


def page_error(e: ImageError) -> ApiError:
    """The HTTP answer to a page the guarded fetcher could not fetch."""
    status, code = PAGE_ANSWERS[e.kind]
    expected = " (expected text/html)" if e.kind == "wrong_type" else ""
    return ApiError(status, code, f"page_url: {e}{expected}", FIELD)


def no_product() -> ApiError:
    return ApiError(422, "no_product_on_page",
                    "page_url: no product found on this page (no schema.org Product in JSON-LD or microdata, "
                    "no Open Graph product tags); search by its product's name or photo instead", FIELD)


def fetch_page(url: str, fetch: photos.Fetcher) -> tuple[bytes, str, str | None]:
    """The page's bytes, its URL after redirects and its content type, or ``ApiError``."""
    cfg = current_app.config
    try:
        body = fetch(url, timeout=float(cfg["URL_TIMEOUT"]), max_bytes=max_bytes(), accept="html")
    except ImageError as e:
        raise page_error(e) from None
    return body, getattr(body, "url", None) or url, getattr(body, "content_type", None)


def max_bytes() -> int:
    return int(current_app.config.get("PAGE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def read_page(url: str, fetch: photos.Fetcher | None = None) -> tuple[str, PageProduct]:
    """Fetch ``url`` and read its product: (the URL after redirects, the product)."""
    body, final, content_type = fetch_page(url, fetch or service.public_fetcher(current_app.config["URL_FETCHER"]))
    product = read_product(body, final, content_type)
    if product is None:
        raise no_product()
    return final, product


class ReadPages:
    """A batch's pages, read: each URL's (final URL, product) or its error."""

    def __init__(self, read: dict[str, tuple[str, PageProduct] | ApiError]) -> None:
        self.read = read

    def get(self, url: str) -> tuple[str, PageProduct]:
        got = self.read.get(url)
        if got is None:                       # not read with the batch: read it now
            return read_page(url)
        if isinstance(got, ApiError):
            raise got
        return got

    def image_urls(self) -> list[str]:
        """The products' images, to fetch with the batch's image URLs."""
        return [got[1].image_url for got in self.read.values() if not isinstance(got, ApiError) and got[1].image_url]


def read_all(urls: Iterable[str]) -> ReadPages:
    """A batch's pages, fetched concurrently within one ``URL_BATCH_TIMEOUT`` of their own
    (``service.fetch_all``), and read; pass the result to ``prepare``. Their images are
    fetched afterwards with the batch's image URLs, within another: a batch with pages
    may take twice the budget."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return ReadPages({})
    fetched = service.fetch_all(wanted, accept="html", max_bytes=max_bytes())
    read: dict[str, tuple[str, PageProduct] | ApiError] = {}
    for url in wanted:
        try:
            read[url] = read_page(url, fetched)
        except ApiError as e:
            read[url] = e
    return ReadPages(read)


def prepare(p: SearchParams, fetcher: photos.Fetcher | None = None, pages: ReadPages | None = None) -> PageSearch:
    """Read ``p.page_url`` and make its search: ``fetcher`` fetches the image (a batch's,
    prefetched), ``pages`` holds the page if it was read already (a batch's)."""
    assert p.page_url, "prepare() is for page_url searches"
    url, product = pages.get(p.page_url) if pages is not None else read_page(p.page_url)
    image, why = None, "the page gives no product image"
    if product.image_url:
        cfg = current_app.config
        try:
            image = photos.from_url(product.image_url, cfg, fetcher or service.public_fetcher(cfg["URL_FETCHER"]),
                                    field=FIELD)
        except ApiError as e:
            if e.status >= 500:              # busy: the photo gate is full, not the page's fault
                raise
            why = f"the page's image could not be used ({e.message})"
    text = product.query_text()
    if not text and image is None:
        raise ApiError(422, "no_product_on_page", f"page_url: the page names no product, and {why}", FIELD)
    image_error = None if image is not None else f"{why}: searched by the page's words only"
    q = text[:MAX_QUERY_CHARS] if text else None
    return PageSearch(dataclasses.replace(p, q=q), image, product, url, image_error)


def annotate(data: dict[str, Any], page: PageSearch | None) -> dict[str, Any]:
    """A search's JSON with what was read from the page (``understood.page``)."""
    if page is not None:
        data["understood"]["page"] = page.json()
    return data
