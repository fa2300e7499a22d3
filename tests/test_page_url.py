"""``page_url``: a brand product's page becomes a search by its product's words and image.

Two halves. Reading (``web.product_page.read_product``, pure) on saved pages of the
shapes shops publish (``tests/data/pages``: a Shopify product page, an Amazon-like page
with microdata, a Sephora-like JSON-LD ``@graph``, a Tmall-like GBK page with Open Graph
tags, an article, broken JSON-LD) and on small hand-made ones for each rule. Then the
service, with the pages served by a local HTTP server and fetched by the real guarded
fetcher (``fetch_url``: 127.0.0.1 plays the public internet, 127.0.0.2 a private service
that must never be reached): API, batch, the search page, and every way a page can fail,
each a clear 4xx with the one error shape, never a 5xx.
"""
from __future__ import annotations

import functools
import http.server
import ipaddress
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from indexer.images import Fetched, FetchError, fetch_url, is_public_address
from tests.test_web_helpers import jpeg_bytes, make_app
from web.openapi import spec
from web.product_page import PageProduct, decode_html, parse_price, read_product

PAGES = Path(__file__).parent / "data" / "pages"
HOST = "shop.test:8000"
BASE = f"http://{HOST}/p/"


def saved(name: str, host: str = HOST) -> bytes:
    """A saved page as its server sends it (the pages name their own host)."""
    return (PAGES / name).read_bytes().replace(b"__HOST__", host.encode())


# ----------------------------------------------------------------------------- reading saved pages

#: page -> (name, brand, price, currency, image path, sources)
SHAPES = {
    "shopify-align.html": ('lululemon Align™ High-Rise Pant 25"', "lululemon", 98.0, "USD",
                           "/cdn/shop/files/align-black.jpg?v=1712345678&width=1920", ("json-ld",)),
    "amazon-sonicare.html": ("Philips Sonicare DiamondClean Smart 9300 Rechargeable Electric Toothbrush, Pink, HX9903/61",
                             "Philips Sonicare", 199.96, "USD", "/images/I/61sonicare._AC_SX679_.jpg",
                             ("microdata",)),
    "sephora-graph.html": ("Ultra Facial Cream with Squalane", "Kiehl's Since 1851", 24.0, "USD",
                           "/productimages/sku/s2172311-main-zoom.jpg?imwidth=1224", ("json-ld",)),
    "tmall-align.html": ("露露乐蒙 Align 高腰瑜伽裤 女款 裸感紧身裤", "lululemon/露露乐蒙", 850.0, "CNY",
                         "/imgextra/i1/2206532718123/O1CN01abcAlign_!!2206532718123.jpg_430x430q90.jpg",
                         ("opengraph",)),
    "broken-jsonld.html": ("Philips Sonicare DiamondClean 9000 Special Edition toothbrush", None, 179.99, "USD",
                           "/media/catalog/product/d/c/dc9000-white.jpg", ("opengraph",)),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_saved_product_pages_are_read(name):
    title, brand, price, currency, image, sources = SHAPES[name]
    got = read_product(saved(name), BASE + name)
    assert got == PageProduct(title, brand, price, currency, f"http://{HOST}{image}", sources)


@pytest.mark.parametrize("name", ["no-product.html", "broken-only.html", "product.json"])
def test_pages_without_product_data_are_not_products(name):
    # An article (og:type article, JSON-LD Article), a page whose only JSON-LD is cut
    # short, and JSON that is not a page at all.
    assert read_product(saved(name), BASE + name) is None


def test_the_main_product_wins_over_related_ones():
    # The Amazon-like page lists an "also viewed" product after its own.
    got = read_product(saved("amazon-sonicare.html"), BASE)
    assert got is not None and "Oral-B" not in (got.name or "") and got.price == 199.96


def test_a_gbk_page_is_decoded_by_its_header_or_its_meta():
    raw = saved("tmall-align.html")
    assert "露露乐蒙".encode("gbk") in raw and "露露乐蒙".encode() not in raw       # really GBK on the wire
    by_meta = read_product(raw, BASE)
    by_header = read_product(raw.replace(b"charset=gbk", b"charset=utf-8"), BASE, "text/html; charset=GBK")
    assert by_meta is not None and by_meta.name == by_header.name == "露露乐蒙 Align 高腰瑜伽裤 女款 裸感紧身裤"
    # Read as UTF-8, the same bytes are not the product's name.
    wrong = read_product(raw.replace(b"charset=gbk", b"charset=utf-8"), BASE)
    assert wrong is not None and wrong.name != by_meta.name


def test_query_text_puts_the_brand_before_a_name_that_lacks_it():
    assert PageProduct("Align High-Rise Pant", "lululemon").query_text() == "lululemon Align High-Rise Pant"
    assert PageProduct("lululemon Align Pant", "LULULEMON").query_text() == "lululemon Align Pant"
    assert PageProduct(None, "lululemon", image_url="http://x/a.jpg").query_text() == "lululemon"
    assert PageProduct(None, None, image_url="http://x/a.jpg").query_text() is None


# ----------------------------------------------------------------------------- reading: each rule


def ld(*blocks: object, head: str = "") -> bytes:
    scripts = "".join(f'<script type="application/ld+json">{b if isinstance(b, str) else json.dumps(b)}</script>'
                      for b in blocks)
    return f"<!doctype html><html><head>{head}{scripts}</head><body><p>x</p></body></html>".encode()


PRODUCT = {"@context": "https://schema.org", "@type": "Product", "name": "Quencher H2.0 Tumbler 40 oz"}


@pytest.mark.parametrize("block, want", [
    # A single object; a list of objects; an @graph; a Product nested as mainEntity.
    (PRODUCT, {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ([{"@type": "Organization", "name": "Shop"}, PRODUCT], {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ({"@graph": [{"@type": "WebSite", "name": "Shop"}, PRODUCT]}, {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ({"@type": "ItemPage", "mainEntity": PRODUCT}, {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ({**PRODUCT, "@type": ["Product", "Thing"]}, {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ({**PRODUCT, "@type": "http://schema.org/Product"}, {"name": "Quencher H2.0 Tumbler 40 oz"}),
    ({**PRODUCT, "@type": "ProductGroup", "hasVariant": [{"@type": "Product", "name": "Quencher 30 oz"}]},
     {"name": "Quencher H2.0 Tumbler 40 oz"}),
    # brand: text, an object, a list, a reference into the graph.
    ({**PRODUCT, "brand": "Stanley"}, {"brand": "Stanley"}),
    ({**PRODUCT, "brand": {"@type": "Brand", "name": "Stanley"}}, {"brand": "Stanley"}),
    ({**PRODUCT, "brand": [{"@type": "Brand", "name": ""}, "Stanley"]}, {"brand": "Stanley"}),
    ({"@graph": [{**PRODUCT, "brand": {"@id": "#b"}}, {"@id": "#b", "@type": "Brand", "name": "Stanley"}]},
     {"brand": "Stanley"}),
    # offers: an object, a list (the first priced), an AggregateOffer, a price specification, a reference.
    ({**PRODUCT, "offers": {"@type": "Offer", "price": "45.00", "priceCurrency": "usd"}},
     {"price": 45.0, "currency": "USD"}),
    ({**PRODUCT, "offers": [{"@type": "Offer"}, {"price": 45, "priceCurrency": "EUR"}]},
     {"price": 45.0, "currency": "EUR"}),
    ({**PRODUCT, "offers": {"@type": "AggregateOffer", "lowPrice": "35", "highPrice": "45", "priceCurrency": "GBP"}},
     {"price": 35.0, "currency": "GBP"}),
    ({**PRODUCT, "offers": {"@type": "Offer", "priceSpecification": [
        {"@type": "UnitPriceSpecification", "price": "1.299,00", "priceCurrency": "EUR"}]}},
     {"price": 1299.0, "currency": "EUR"}),
    ({"@graph": [{**PRODUCT, "offers": {"@id": "#o"}}, {"@id": "#o", "@type": "Offer", "price": "45",
                                                       "priceCurrency": "USD"}]}, {"price": 45.0}),
    ({**PRODUCT, "offers": {"price": "free", "priceCurrency": "US dollars"}}, {"price": None, "currency": None}),
    # image: text, a list, an ImageObject, relative and protocol-relative; only http(s).
    ({**PRODUCT, "image": "https://cdn.example/q.jpg"}, {"image_url": "https://cdn.example/q.jpg"}),
    ({**PRODUCT, "image": ["", "/img/q.jpg", "/img/q2.jpg"]}, {"image_url": "http://shop.test:8000/img/q.jpg"}),
    ({**PRODUCT, "image": {"@type": "ImageObject", "contentUrl": "q.jpg"}},
     {"image_url": "http://shop.test:8000/p/q.jpg"}),
    ({**PRODUCT, "image": "//cdn.example/q.jpg"}, {"image_url": "http://cdn.example/q.jpg"}),
    ({**PRODUCT, "image": "javascript:alert(1)"}, {"image_url": None}),
    ({**PRODUCT, "image": "data:image/png;base64,iVBORw0KGgo="}, {"image_url": None}),
    # Names: entities a shop escaped once too many, whitespace, invisible characters; cut short.
    ({**PRODUCT, "name": " Kiehl&#39;s  Ultra\n Facial\u200b Cream "}, {"name": "Kiehl's Ultra Facial Cream"}),
    ({**PRODUCT, "name": "x" * 1000}, {"name": "x" * 300}),
    ({**PRODUCT, "name": ["Quencher", "other"]}, {"name": "Quencher"}),
])
def test_json_ld_shapes(block, want):
    got = read_product(ld(block), BASE)
    assert got is not None
    for key, value in want.items():
        assert getattr(got, key) == value, (key, got)


def test_json_ld_blocks_that_are_not_json_are_skipped_not_fatal():
    bad = ['{"@type": "Product", "name": "A",}', "{", "", "null", "[1, 2", '"just a string"', "<!-- -->",
           '{"@type": "Product"}']                 # a product with neither name nor image
    assert read_product(ld(*bad), BASE) is None
    # A good block after bad ones is read; comment and CDATA wrappers and raw line breaks
    # inside strings (as themes write them) are allowed.
    good = '<!--\n//<![CDATA[\n{"@type": "Product", "name": "Line\nbreak"}\n//]]>\n-->'
    got = read_product(ld(*bad, good), BASE)
    assert got is not None and got.name == "Line break" and got.read_from == ("json-ld",)


def test_hostile_json_ld_is_bounded():
    deep = "[" * 5000 + "]" * 5000                            # beyond json's recursion limit
    nested_offers: dict = {"price": "1"}
    for _ in range(300):
        nested_offers = {"@type": "AggregateOffer", "offers": nested_offers}
    deep_name: object = "n"
    for _ in range(300):
        deep_name = [deep_name]
    wide = {"@graph": [{"@type": "Thing", "name": str(i)} for i in range(50_000)] + [PRODUCT]}
    for block in (deep, {**PRODUCT, "offers": nested_offers}, {**PRODUCT, "image": "/a.jpg", "name": deep_name},
                  wide):
        t = time.perf_counter()
        read_product(ld(block), BASE)                         # no RecursionError, no hang
        assert time.perf_counter() - t < 5


def test_microdata():
    page = b"""<html><body>
      <div itemscope itemtype="https://schema.org/Product">
        <h1 itemprop="name">  Align Pant
          25" </h1>
        <img itemprop="image" src="/a.jpg">
        <div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><meta itemprop="name" content="lululemon"></div>
        <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
          <span itemprop="price" content="98.00">$98</span><meta itemprop="priceCurrency" content="USD">
        </div>
        <div itemprop="isRelatedTo" itemscope itemtype="https://schema.org/Product">
          <span itemprop="name">Define Jacket</span><span itemprop="price">118</span>
        </div>
      </div></body></html>"""
    got = read_product(page, BASE)
    assert got == PageProduct('Align Pant 25"', "lululemon", 98.0, "USD", "http://shop.test:8000/a.jpg",
                              ("microdata",))
    # A brand as text, a price as text, an image as a link.
    page2 = b"""<div itemscope itemtype="http://schema.org/Product"><span itemprop="brand">Stanley</span>
      <span itemprop="name">Quencher</span><link itemprop="image" href="https://cdn.example/q.jpg">
      <span itemprop="price">$45.00</span></div>"""
    assert read_product(page2, BASE) == PageProduct("Quencher", "Stanley", 45.0, None, "https://cdn.example/q.jpg",
                                                    ("microdata",))


def test_open_graph_needs_a_product_type_or_product_tags():
    tags = ('<meta property="og:title" content="Quencher"><meta property="og:image" content="/q.jpg">'
            '<meta property="og:type" content="{kind}">')
    assert read_product(ld(head=tags.format(kind="website")), BASE) is None
    assert read_product(ld(head=tags.format(kind="article")), BASE) is None
    got = read_product(ld(head=tags.format(kind="product")), BASE)
    assert got == PageProduct("Quencher", None, None, None, "http://shop.test:8000/q.jpg", ("opengraph",))
    # product:* tags alone make it a product; name= works as well as property=.
    got = read_product(ld(head='<meta name="og:title" content="Quencher"><meta property="product:brand" '
                               'content="Stanley"><meta property="product:price:amount" content="45">'), BASE)
    assert got == PageProduct("Quencher", "Stanley", 45.0, None, None, ("opengraph",))


def test_sources_fill_what_the_stronger_ones_leave_out():
    head = ('<meta property="og:type" content="product"><meta property="og:image" content="/og.jpg">'
            '<meta property="product:brand" content="OG brand"><meta property="og:title" content="OG title">')
    got = read_product(ld({**PRODUCT, "offers": {"price": "45", "priceCurrency": "USD"}}, head=head), BASE)
    assert got == PageProduct("Quencher H2.0 Tumbler 40 oz", "OG brand", 45.0, "USD", "http://shop.test:8000/og.jpg",
                              ("json-ld", "opengraph"))
    # A price keeps its own source's currency; an image a source gives that is no http(s)
    # URL leaves the place to the next source's.
    got = read_product(ld({**PRODUCT, "image": "javascript:x()", "offers": {"price": "45"}},
                          head='<meta property="product:price:amount" content="50"><meta property="og:image" '
                               'content="https://cdn.example/og.jpg"><meta property="product:price:currency" '
                               'content="USD">'), BASE)
    assert (got.price, got.currency, got.image_url) == (45.0, None, "https://cdn.example/og.jpg")
    # A typed product with an image but no name takes the page's og:title.
    got = read_product(ld({"@type": "Product", "image": "/i.jpg"}, head='<meta property="og:title" content="T">'),
                       BASE)
    assert got is not None and got.name == "T" and got.image_url == "http://shop.test:8000/i.jpg"


@pytest.mark.parametrize("page", [b"", b"   ", b"\x00\x01\x02\xff" * 100, b"<html>", b"\xef\xbb\xbf",
                                  b"<html>\x00<title>x</title></html>", b"<" * 10000, b"<div>" * 5000])
def test_garbage_is_no_product_and_no_exception(page):
    assert read_product(page, BASE) is None


def test_xhtml_with_an_xml_declaration_and_a_bom():
    page = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            '<meta property="og:type" content="product"/><meta property="og:title" content="Café crème"/></head>'
            '<body/></html>')
    assert read_product(page.encode(), BASE).name == "Café crème"
    assert read_product(b"\xef\xbb\xbf" + page.encode(), BASE).name == "Café crème"
    assert read_product(page, BASE).name == "Café crème"                       # text too


def test_decoding_order():
    latin = "<meta charset=iso-8859-1><p>€</p>".encode("cp1252")
    assert "€" in decode_html(latin)                                           # latin-1 labels mean windows-1252
    assert "€" in decode_html("<p>€</p>".encode(), "text/html; charset=bogus-charset")   # unknown: UTF-8
    assert decode_html("<p>é</p>".encode("cp1252")) == "<p>é</p>"            # not UTF-8: windows-1252


@pytest.mark.parametrize("text, want", [
    ("98", 98.0), ("98.00", 98.0), (98, 98.0), (19.5, 19.5), ("$1,299.00", 1299.0), ("1.299,00 €", 1299.0),
    ("1 299,50", 1299.5), ("¥ 850", 850.0), ("98.00 - 120.00", 98.0), ("12,5", 12.5), ("1,234,567", 1234567.0),
    ("US$ 45", 45.0), ("0", None), ("-5", 5.0), ("free", None), ("", None), (None, None), (True, None),
    (float("nan"), None), (float("inf"), None), ("9" * 400, None), ([], None),
    ("0.999", 0.999), ("$0.995", 0.995), ("KWD 1.250", 1.25), ("1,250", 1250.0), ("1.250 €", 1250.0),
])
def test_parse_price(text, want):
    assert parse_price(text) == want


# ----------------------------------------------------------------------------- the service: a local web


def _colour(path: str) -> tuple[int, int, int]:
    """The product photos: an Align pant is dark like the catalog's Align, a toothbrush white."""
    return (240, 240, 250) if any(w in path for w in ("sonicare", "dc9000")) else (20, 20, 20)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, ctype: str, body: bytes, *, length: bool = True, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")          # the body ends when the connection does
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass                                             # the fetcher stopped reading (too large)

    def do_GET(self):
        srv = self.server
        srv.hits.append(self.path)                           # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        host = srv.host                                      # type: ignore[attr-defined]
        if path.startswith("/p/") and (PAGES / path[3:]).is_file():
            ctype = "application/json" if path.endswith(".json") else "text/html"   # GBK page: no charset
            return self._send(200, ctype, saved(path[3:], host))
        if path in srv.pages:                                # type: ignore[attr-defined]
            return self._send(200, "text/html; charset=utf-8", srv.pages[path].replace(b"__HOST__", host.encode()))
        if path in srv.redirects:                            # type: ignore[attr-defined]
            return self._send(302, "text/html", b"", extra={"Location": srv.redirects[path].format(host=host)})
        if path == "/huge":
            return self._send(200, "text/html", _huge())
        if path == "/huge-stream":
            return self._send(200, "text/html", _huge(), length=False)
        if path == "/slow":
            time.sleep(3)
            return self._send(200, "text/html", ld(PRODUCT))
        if path.endswith(".jpg") and "missing" not in path:
            return self._send(200, "image/jpeg", jpeg_bytes(_colour(path)))
        return self._send(404, "text/html", b"<html><body><h1>Page not found</h1></body></html>")


def _huge() -> bytes:
    """A product page of 600 KiB (the tests' limit is 256 KiB): padding, then its data."""
    return b"<html><body>" + b"<p>padding</p>" * 45_000 + ld({**PRODUCT, "image": "/q.jpg"}) + b"</body></html>"


EXTRA_PAGES = {
    "/img-internal.html": ld({**PRODUCT, "name": "lululemon Align Pant", "image": "http://internal.test:{port2}/x.jpg"}),
    "/img-missing.html": ld({**PRODUCT, "name": "lululemon Align Pant", "image": "/img/missing.jpg"}),
    "/img-none.html": ld({**PRODUCT, "name": "lululemon Align Pant"}),
    "/img-not-image.html": ld({**PRODUCT, "name": "lululemon Align Pant", "image": "/p/no-product.html"}),
    "/photo-only.html": ld({"@type": "Product", "image": "/cdn/align.jpg"}),
    "/photo-only-missing.html": ld({"@type": "Product", "image": "/cdn/missing.jpg"}),
}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass                     # a fetcher that stops reading (too large, timed out) resets the connection


def _serve(host: str, pages: dict[str, bytes], redirects: dict[str, str]):
    httpd = _Server((host, 0), _Handler)
    httpd.hits, httpd.pages, httpd.redirects = [], pages, redirects      # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture(scope="module")
def web():
    """``shop`` on 127.0.0.1 (a public shop, named shop.test) and ``internal`` on 127.0.0.2."""
    try:
        internal = _serve("127.0.0.2", {}, {})
    except OSError as e:
        pytest.skip(f"cannot listen on 127.0.0.2: {e}")
    port2 = internal.server_address[1]
    shop = _serve("127.0.0.1", {}, {})
    shop.host = f"shop.test:{shop.server_address[1]}"        # type: ignore[attr-defined]
    internal.host = f"internal.test:{port2}"                 # type: ignore[attr-defined]
    shop.pages.update({k: v.replace(b"{port2}", str(port2).encode()) for k, v in EXTRA_PAGES.items()})
    shop.redirects.update({"/go/align": "http://{host}/p/shopify-align.html",
                           "/go/internal": f"http://internal.test:{port2}/secret",
                           "/go/metadata": "http://169.254.169.254/latest/meta-data/"})
    yield shop, internal
    for s in (shop, internal):
        s.shutdown()
        s.server_close()


def _resolver(host: str, port: int) -> list[str]:
    names = {"shop.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]}
    if host in names:
        return names[host]
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        raise OSError(f"no DNS in tests ({host})") from None


def _policy(ip: str) -> bool:
    """127.0.0.1 plays the public internet; everything else is judged by the real policy."""
    return ip == "127.0.0.1" or is_public_address(ip)


FETCHER = functools.partial(fetch_url, resolver=_resolver, is_allowed=_policy)


@pytest.fixture
def client(built, tmp_path, web):
    shop, internal = web
    shop.hits.clear()
    internal.hits.clear()
    return make_app(tmp_path, built, URL_FETCHER=FETCHER, PAGE_MAX_BYTES=256 * 1024, URL_TIMEOUT=2).test_client()


def url(web, path: str) -> str:
    return f"http://{web[0].host}{path}"


def ok(resp) -> dict:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_json()


def error_of(resp, status: int, code: str, field: str | None = "page_url") -> dict:
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body[:500]
    assert resp.mimetype == "application/json" and "Traceback" not in body
    data = resp.get_json()
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "field"}
    assert data["error"]["code"] == code and data["error"]["field"] == field, data
    return data["error"]


# ----------------------------------------------------------------------------- API


def test_a_product_page_is_searched_by_its_words_and_its_image(client, web):
    page = url(web, "/p/shopify-align.html")
    data = ok(client.get("/api/v1/search", query_string={"page_url": page}))
    u = data["understood"]
    assert u["page"] == {"url": page, "name": 'lululemon Align™ High-Rise Pant 25"', "brand": "lululemon",
                         "price": 98.0, "currency": "USD",
                         "image": url(web, "/cdn/shop/files/align-black.jpg?v=1712345678&width=1920"),
                         "image_error": None, "read_from": ["json-ld"]}
    assert u["text"] == 'lululemon Align™ High-Rise Pant 25"'                  # the words searched
    assert u["brand"]["id"] == "lululemon" and u["brand_product"]["id"] == "bp-align"
    assert [x["id"] for x in u["looks_like"]][:1] == ["bp-align"]              # the photo was searched too
    assert data["results"][0]["id"] == "p1"
    assert data["query"]["page_url"] == page and data["query"]["q"] is None
    assert web[0].hits == ["/p/shopify-align.html", "/cdn/shop/files/align-black.jpg?v=1712345678&width=1920"]


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_saved_page_shape_through_the_api(client, web, name):
    title, brand, price, currency, image, sources = SHAPES[name]
    page = ok(client.post("/api/v1/search", json={"page_url": url(web, f"/p/{name}")}))["understood"]["page"]
    assert page == {"url": url(web, f"/p/{name}"), "name": title, "brand": brand, "price": price,
                    "currency": currency, "image": url(web, image), "image_error": None, "read_from": list(sources)}


def test_the_tmall_page_finds_the_align_dupes(client, web):
    data = ok(client.get("/api/v1/search", query_string={"page_url": url(web, "/p/tmall-align.html")}))
    assert data["understood"]["brand"]["id"] == "lululemon"
    assert data["understood"]["brand_product"]["id"] == "bp-align"
    assert {"p1", "p2"} <= {r["id"] for r in data["results"]}


def test_a_redirected_page_resolves_its_image_against_where_it_landed(client, web):
    data = ok(client.get("/api/v1/search", query_string={"page_url": url(web, "/go/align")}))
    assert data["understood"]["page"]["url"] == url(web, "/p/shopify-align.html")
    assert data["query"]["page_url"] == url(web, "/go/align")
    assert web[0].hits[:2] == ["/go/align", "/p/shopify-align.html"]


@pytest.mark.parametrize("path, status, code, says", [
    ("/p/no-product.html", 422, "no_product_on_page", "no product found on this page"),
    ("/p/broken-only.html", 422, "no_product_on_page", "no product found"),
    ("/p/product.json", 415, "unsupported_page", "application/json"),
    ("/nowhere", 422, "page_fetch_failed", "HTTP 404"),
    ("/huge", 413, "page_too_large", "limit 262144"),
    ("/huge-stream", 413, "page_too_large", "more than 262144 bytes"),
    ("/go/internal", 400, "page_url_refused", "not a public address"),
    ("/go/metadata", 400, "page_url_refused", "not a public address"),
    ("/photo-only-missing.html", 422, "no_product_on_page", "names no product"),
])
def test_pages_that_cannot_be_searched_are_clear_4xx(client, web, path, status, code, says):
    for resp in (client.get("/api/v1/search", query_string={"page_url": url(web, path)}),
                 client.post("/api/v1/search", json={"page_url": url(web, path)})):
        err = error_of(resp, status, code)
        assert says in err["message"], err
    assert web[1].hits == []                                 # the internal server never saw a request


@pytest.mark.parametrize("page_url, code", [
    ("http://internal.test:9/p", "page_url_refused"), ("http://127.0.0.2:9/p", "page_url_refused"),
    ("http://169.254.169.254/latest/meta-data/", "page_url_refused"), ("http://[::1]/", "page_url_refused"),
    ("file:///etc/passwd", "page_url_refused"), ("ftp://shop.test/p", "page_url_refused"),
    ("not a url", "page_url_refused"), ("http://user:pw@shop.test/p", "page_url_refused"),
    ("http://gone.invalid/p", "page_fetch_failed"),
])
def test_page_urls_the_guard_refuses(client, web, page_url, code):
    error_of(client.get("/api/v1/search", query_string={"page_url": page_url}), 400 if "refused" in code else 422,
             code)
    assert web[1].hits == []


@pytest.mark.slow
def test_a_slow_page_is_bounded_by_the_url_timeout(client, web):
    t = time.monotonic()
    err = error_of(client.get("/api/v1/search", query_string={"page_url": url(web, "/slow")}), 422,
                   "page_fetch_failed")
    assert "timed out" in err["message"] and time.monotonic() - t < 2.9


@pytest.mark.parametrize("path, says", [
    ("/img-internal.html", "not a public address"),
    ("/img-missing.html", "HTTP 404"),
    ("/img-none.html", "the page gives no product image"),
    ("/img-not-image.html", "not an image"),
])
def test_an_image_that_cannot_be_used_leaves_a_search_by_words(client, web, path, says):
    data = ok(client.get("/api/v1/search", query_string={"page_url": url(web, path)}))
    u = data["understood"]
    assert says in u["page"]["image_error"] and "searched by the page's words only" in u["page"]["image_error"]
    assert u["text"] == "lululemon Align Pant" and u["brand"]["id"] == "lululemon"
    assert u["looks_like"] == []                             # no photo was searched
    assert data["results"]
    assert web[1].hits == []


def test_a_page_with_only_an_image_is_a_photo_search(client, web):
    data = ok(client.get("/api/v1/search", query_string={"page_url": url(web, "/photo-only.html")}))
    assert data["understood"]["text"] is None and data["understood"]["page"]["name"] is None
    assert data["understood"]["looks_like"][0]["id"] == "bp-align"


@pytest.mark.parametrize("params, code", [
    ({"page_url": "http://shop.test/p", "q": "align"}, "invalid_parameter"),
    ({"page_url": "http://shop.test/p", "image_url": "http://shop.test/a.jpg"}, "too_many_photos"),
    ({"page_url": "http://shop.test/p", "photo_id": "abcdefgh12"}, "too_many_photos"),
    ({"page_url": "http://shop.test/" + "p" * 2100}, "invalid_parameter"),
    ({"page_url": 42}, "invalid_parameter"),
])
def test_page_url_parameters_are_checked_before_any_fetch(client, web, params, code):
    error_of(client.post("/api/v1/search", json=params), 400, code)
    assert web[0].hits == []


def test_a_photo_upload_with_a_page_url_is_refused(client, web):
    resp = client.post("/api/v1/search", data={"page_url": url(web, "/p/shopify-align.html"),
                                               "photo": (__import__("io").BytesIO(jpeg_bytes()), "a.jpg")})
    error_of(resp, 400, "too_many_photos", "photo")
    assert web[0].hits == []


def test_batch_items_with_page_urls(client, web):
    align = url(web, "/p/shopify-align.html")
    items = [{"id": "a", "page_url": align}, {"id": "b", "page_url": url(web, "/p/amazon-sonicare.html")},
             {"id": "c", "page_url": url(web, "/nowhere")}, {"id": "d", "page_url": url(web, "/p/no-product.html")},
             {"id": "e", "page_url": align, "label": "same_foundry"}, {"id": "f", "q": "yoga leggings"},
             {"id": "g", "page_url": url(web, "/go/internal")}]
    data = ok(client.post("/api/v1/search/batch", json={"items": items}))
    got = {x["id"]: x for x in data["items"]}
    assert [got[k]["status"] for k in "abcdefg"] == [200, 200, 422, 422, 200, 200, 400]
    assert got["a"]["result"]["understood"]["page"]["brand"] == "lululemon"
    assert got["b"]["result"]["understood"]["page"]["brand"] == "Philips Sonicare"
    assert got["b"]["result"]["understood"]["brand"]["id"] == "sonicare"
    assert got["c"]["error"]["code"] == "page_fetch_failed" and got["c"]["error"]["field"] == "page_url"
    assert got["d"]["error"]["code"] == "no_product_on_page"
    assert "page" not in got["f"]["result"]["understood"]
    assert got["g"]["error"]["code"] == "page_url_refused"
    # Each page and each image fetched once, however many items name them.
    assert web[0].hits.count("/p/shopify-align.html") == 1
    assert web[0].hits.count("/cdn/shop/files/align-black.jpg?v=1712345678&width=1920") == 1
    assert web[1].hits == []


def test_fetch_url_fetches_pages_only_when_asked(web):
    page = url(web, "/go/align")
    body = FETCHER(page, timeout=2, max_bytes=1 << 20, accept="html")
    assert isinstance(body, Fetched) and body.url == url(web, "/p/shopify-align.html")
    assert body.content_type == "text/html" and b"Align" in body
    with pytest.raises(FetchError, match="not an image"):
        FETCHER(page, timeout=2, max_bytes=1 << 20)                        # images only by default
    with pytest.raises(FetchError, match="not a web page"):
        FETCHER(url(web, "/cdn/a.jpg"), timeout=2, max_bytes=1 << 20, accept="html")
    image = FETCHER(url(web, "/cdn/a.jpg"), timeout=2, max_bytes=1 << 20)
    assert type(image) is bytes                                            # images stay plain bytes


# ----------------------------------------------------------------------------- the search page


def test_the_search_page_reads_a_pasted_product_page(client, web):
    page = url(web, "/p/shopify-align.html")
    # The form posts the query box; a page's address in it is read, not searched as words.
    resp = client.post("/search", data={"q": page, "lang": "en"})
    assert resp.status_code == 303 and "page_url=" in resp.headers["Location"] and "q=" not in resp.headers["Location"]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="understood-page"' in html and "lululemon Align™ High-Rise Pant 25&#34;" in html and "$98" in html
    assert f'value="{page}"' in html                                       # the box still shows the address
    assert 'id="results"' in html and "page-image-error" not in html
    # A link with the address in q works as well (a shared or typed link).
    html = client.get("/search", query_string={"q": page}).get_data(as_text=True)
    assert 'id="understood-page"' in html


def test_the_search_page_says_when_a_page_cannot_be_read_or_its_image_used(client, web):
    resp = client.get("/search", query_string={"q": url(web, "/p/no-product.html")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "no product found on this page" in html and "Traceback" not in html
    html = client.get("/search", query_string={"page_url": url(web, "/img-missing.html"), "lang": "zh"}) \
        .get_data(as_text=True)
    assert 'id="page-image-error"' in html and "仅按文字搜索" in html


def test_words_and_a_url_in_the_box_are_words(client, web):
    html = client.get("/search", query_string={"q": "lululemon align " + url(web, "/p/x")}).get_data(as_text=True)
    assert 'id="understood-page"' not in html and web[0].hits == []


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_describes_page_url():
    doc = spec()
    search = doc["paths"]["/search"]
    assert "page_url" in {p["name"] for p in search["get"]["parameters"]}
    assert "page_url" in search["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    batch_item = doc["paths"]["/search/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "page_url" in batch_item["properties"]["items"]["items"]["properties"]
    understood = doc["components"]["schemas"]["SearchResponse"]["properties"]["understood"]["properties"]
    assert understood["page"]["$ref"] == "#/components/schemas/PageProduct"
    assert set(doc["components"]["schemas"]["PageProduct"]["required"]) == {
        "url", "name", "brand", "price", "currency", "image", "image_error", "read_from"}
