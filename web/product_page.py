"""What a product page says about its product: name, brand, price and main image, read from
the page's HTML (pure: no Flask, no network). ``page_url`` searches (``web.page_url``)
use it on a brand's product page a user pasted.

Shops describe their products for search engines and link previews in three ways, and
this reads them in order of trust:

1. schema.org ``Product`` in JSON-LD (``<script type="application/ld+json">``): a single
   object, a list, an ``@graph``, or nested (``mainEntity``, ``itemOffered``); ``@id``
   references are followed; ``brand`` as text or an object, ``offers`` as one or a list
   (``AggregateOffer``'s ``lowPrice``, ``priceSpecification``), ``image`` as text, a list
   or an ``ImageObject``;
2. schema.org ``Product`` in microdata (``itemscope itemtype=".../Product"``);
3. Open Graph (``og:title``, ``og:image``, ``product:price:amount``, ``product:brand``),
   taken as a product's only with ``og:type`` product or ``product:*`` tags.

A later source fills only what an earlier one left out. Broken JSON-LD blocks are skipped
(the page may still be read from the others); HTML is parsed by lxml (libxml2's forgiving
HTML parser). Image URLs are made absolute against the page's URL, and only http(s) ones
are kept. A page without any of these is not a product page: ``read_product`` returns None.
"""
from __future__ import annotations

import codecs
import collections
import html
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from search.prices import MINOR_UNITS

MAX_NAME_CHARS = 300
MAX_BRAND_CHARS = 100
#: JSON-LD nodes looked at per page, and how deep: a page is untrusted input.
MAX_NODES = 5000
MAX_DEPTH = 24
#: Microdata items looked at per page, and how deep nested items (brand, offers) go.
MAX_ITEMS = 200
MAX_ITEM_DEPTH = 4

_PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "someproducts", "vehicle", "car"}
_WS_RE = re.compile(r"\s+")
_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")
_NUMBER_RE = re.compile(r"\d[\d.,\s\u00a0\u202f']*")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_CDATA_RE = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")
# The WHATWG encoding labels that browsers read differently from Python's codec of the
# same name: pages declared latin-1 are windows-1252, and gb2312/gbk pages use GBK's
# characters (GB18030 is its superset).
_ENCODING_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                     "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                     "x-sjis": "shift_jis", "utf8": "utf-8"}


@dataclass(frozen=True)
class PageProduct:
    """The product a page describes; any field may be missing except that a product has
    a name or an image. ``read_from``: the sources that gave something, in order."""

    name: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    image_url: str | None = None
    read_from: tuple[str, ...] = field(default=())

    def query_text(self) -> str | None:
        """What a search is given to read: the name, with the brand before it when the
        name does not say it (many shops leave it out of their own product names)."""
        if not self.name:
            return self.brand
        if self.brand and self.brand.casefold() not in self.name.casefold():
            return f"{self.brand} {self.name}"
        return self.name


# ----------------------------------------------------------------------------- reading


def read_product(page: bytes | str, base_url: str, content_type: str | None = None) -> PageProduct | None:
    """The product ``page`` (HTML, fetched from ``base_url``; bytes are decoded by the
    ``content_type`` header's charset, a BOM or the page's own ``<meta charset>``)
    describes, or None if it describes none."""
    root = parse_html(page, content_type)
    if root is None:
        return None
    found: list[tuple[str, dict[str, Any]]] = []
    for source, reader in (("json-ld", _from_json_ld), ("microdata", _from_microdata), ("opengraph", _from_meta)):
        got = reader(root)
        if got:
            found.append((source, got))
    if not found:
        return None
    merged: dict[str, Any] = {}
    used: list[str] = []
    for source, got in found:
        got["image"] = _absolute(got.get("image"), base_url)
        if got.get("price") is None or merged.get("price") is not None:
            got["price"] = got["currency"] = None     # a price comes with its own source's currency
        gave = False
        for key, value in got.items():
            if value is not None and merged.get(key) is None:
                merged[key] = value
                gave = True
        if gave:
            used.append(source)
    name, image = merged.get("name"), merged.get("image")
    if not name and image:
        name = _clean(_first_meta(root, "og:title", "twitter:title"), MAX_NAME_CHARS)   # a typed product without one
    if not name and not image:
        return None
    return PageProduct(name=name, brand=merged.get("brand"), price=merged.get("price"),
                       currency=merged.get("currency"), image_url=image, read_from=tuple(used))


def parse_html(page: bytes | str, content_type: str | None = None) -> Any:
    """The page's document element (lxml), or None for an empty or unparseable page."""
    text = page if isinstance(page, str) else decode_html(page, content_type)
    # lxml refuses text that declares its own encoding, and NUL characters.
    text = _XML_DECL_RE.sub("", text, count=1).replace("\x00", "")
    if not text.strip():
        return None
    try:
        return lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Bytes of a page as text: a BOM first, then the header's charset, then the page's
    ``<meta charset>`` in its first 4 KiB, then UTF-8; undecodable bytes are replaced."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    declared = _charset(content_type or "")
    if declared is None:
        m = _META_CHARSET_RE.search(data[:4096])
        declared = _codec(m.group(1).decode("ascii", "replace")) if m else None
    if declared is not None:
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return _codec(value.strip().strip("\"'"))
    return None


def _codec(label: str) -> str | None:
    """A Python codec for a charset label, or None for an unknown one."""
    label = label.strip().lower()
    name = _ENCODING_ALIASES.get(label, label)
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    # utf-16/32 declared in an ASCII-compatible page is a lie the page could not have told.
    return "utf-8" if name.replace("_", "-").startswith(("utf-16", "utf-32")) else name


# ----------------------------------------------------------------------------- JSON-LD


def _from_json_ld(root: Any) -> dict[str, Any] | None:
    found: list[dict[str, Any]] = []
    for script in root.iter("script"):
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        data = _load_json(script.text or "")
        if data is None:
            continue
        ids = _index_ids(data)
        found.extend(_product_fields(node, ids) for node in _json_products(data))
    return _main(found)


def _main(products: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The page's own product among those it describes: the first with a name, else the
    first with an image. Products are listed outermost first, so related products and
    variants (nested in the main one or in a list) come after it."""
    return (next((x for x in products if x.get("name")), None)
            or next((x for x in products if x.get("image")), None))


def _load_json(text: str) -> Any:
    """A JSON-LD block's value, or None if it is not JSON. Pages wrap blocks in HTML
    comments or CDATA markers, and put raw line breaks inside strings: allowed."""
    text = text.strip()
    text = text.removeprefix("<!--")
    text = text.removesuffix("-->")
    text = _CDATA_RE.sub("", text).strip().rstrip(";")
    if not text:
        return None
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``data``, breadth first, bounded in count and depth."""
    queue: collections.deque[tuple[Any, int]] = collections.deque([(data, 0)])
    seen = 0
    while queue and seen < MAX_NODES:
        value, depth = queue.popleft()
        seen += 1
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            yield value
            queue.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            queue.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def _index_ids(data: Any) -> dict[str, dict[str, Any]]:
    """Nodes by ``@id``, for references such as ``"brand": {"@id": "#brand"}``; the node
    with the most to say wins over bare references to it."""
    out: dict[str, dict[str, Any]] = {}
    for node in _walk(data):
        ref = node.get("@id")
        if isinstance(ref, str) and len(node) > len(out.get(ref, {})):
            out[ref] = node
    return out


def _types(node: dict[str, Any]) -> set[str]:
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    # "Product", "schema:Product", "http://schema.org/Product" alike.
    return {re.split(r"[/:#]", k)[-1].strip().lower() for k in kinds if isinstance(k, str)}


def _json_products(data: Any) -> Iterator[dict[str, Any]]:
    for node in _walk(data):
        if _types(node) & _PRODUCT_TYPES:
            yield node


def _deref(value: Any, ids: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and len(value) <= 2:
        return ids.get(value["@id"], value)
    return value


def _product_fields(node: dict[str, Any], ids: dict[str, dict[str, Any]]) -> dict[str, Any]:
    price, currency = _json_price(node.get("offers"), ids)
    return {"name": _clean(_text_of(node.get("name")), MAX_NAME_CHARS),
            "brand": _json_brand(node.get("brand"), ids),
            "price": price, "currency": currency,
            "image": _json_image(node.get("image"), ids)}


def _text_of(value: Any, depth: int = 0) -> str | None:
    """A text value: a string, a number, or the first of a list / a ``@value`` object."""
    if depth > 4:
        return None
    if isinstance(value, list):
        return next((t for t in (_text_of(v, depth + 1) for v in value[:20]) if t), None)
    if isinstance(value, dict):
        return _text_of(value.get("@value") if "@value" in value else value.get("name"), depth + 1)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _json_brand(value: Any, ids: dict[str, dict[str, Any]]) -> str | None:
    for v in value if isinstance(value, list) else [value]:
        v = _deref(v, ids)
        name = _text_of(v.get("name")) if isinstance(v, dict) else _text_of(v)
        if name := _clean(name, MAX_BRAND_CHARS):
            return name
    return None


def _json_image(value: Any, ids: dict[str, dict[str, Any]]) -> str | None:
    for v in value if isinstance(value, list) else [value]:
        v = _deref(v, ids)
        if isinstance(v, dict):                          # ImageObject
            v = v.get("contentUrl") or v.get("url")
            v = v[0] if isinstance(v, list) and v else v
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _json_price(offers: Any, ids: dict[str, dict[str, Any]], depth: int = 0) -> tuple[float | None, str | None]:
    """The first offer with a price: ``price``, an ``AggregateOffer``'s ``lowPrice``, or
    its ``priceSpecification``; with its currency."""
    if depth > 2:
        return None, None
    for offer in (offers if isinstance(offers, list) else [offers])[:50]:
        offer = _deref(offer, ids)
        if not isinstance(offer, dict):
            continue
        specs = offer.get("priceSpecification")
        candidates = [offer, *(s for s in (specs if isinstance(specs, list) else [specs]) if isinstance(s, dict))]
        for c in candidates:
            for key in ("price", "lowPrice", "highPrice"):
                price = parse_price(c.get(key))
                if price is not None:
                    currency = _currency(_text_of(c.get("priceCurrency")) or _text_of(offer.get("priceCurrency")))
                    return price, currency
        nested = offer.get("offers")                     # an AggregateOffer listing its offers
        if nested is not None:
            price, currency = _json_price(nested, ids, depth + 1)
            if price is not None:
                return price, currency
    return None, None


# ----------------------------------------------------------------------------- microdata


def _from_microdata(root: Any) -> dict[str, Any] | None:
    found: list[dict[str, Any]] = []
    for n, el in enumerate(root.xpath("//*[@itemscope][@itemtype]")):
        if n >= MAX_ITEMS:
            break
        if not _is_product_type(el.get("itemtype")) or el.get("itemprop"):
            continue        # a product nested as another item's property is that item's (a related product)
        item = _item(el, 0)
        offers = item.get("offers", []) + item.get("offer", [])
        price, currency = _micro_price(item, offers)
        found.append({"name": _clean(_first_text(item.get("name")), MAX_NAME_CHARS),
                      "brand": _micro_brand(item.get("brand", [])),
                      "price": price, "currency": currency,
                      "image": _first_text(item.get("image"))})
    return _main(found)


#: The microdata properties read, of a product and of its brand, offers and images.
_MICRODATA_PROPS = {"name", "brand", "image", "offers", "offer", "price", "lowPrice", "priceCurrency", "url",
                    "contentUrl"}


def _is_product_type(itemtype: str | None) -> bool:
    return any(re.split(r"[/:#]", t)[-1].lower() in _PRODUCT_TYPES for t in (itemtype or "").split())


def _item(scope: Any, depth: int) -> dict[str, list[Any]]:
    """A microdata item's properties: each ``itemprop`` under ``scope`` whose nearest item
    is ``scope`` (nested items are values, their own properties stay theirs)."""
    props: dict[str, list[Any]] = {}
    stack = list(reversed([c for c in scope if isinstance(c.tag, str)]))
    while stack:
        el = stack.pop()
        names = [n for n in (el.get("itemprop") or "").split()[:8] if n in _MICRODATA_PROPS]
        nested = el.get("itemscope") is not None
        if names:      # only the properties read (a description's text can be most of the page)
            value: Any = _item(el, depth + 1) if nested and depth < MAX_ITEM_DEPTH else _prop_value(el)
            for name in names:
                props.setdefault(name, []).append(value)
        if not nested:
            stack.extend(reversed([c for c in el if isinstance(c.tag, str)]))
    return props


def _prop_value(el: Any) -> str | None:
    """An ``itemprop``'s value by its element (the microdata rules), with a ``content``
    attribute first on any element, as shops use it (``<span itemprop=price content=..>``)."""
    if el.get("content") is not None:
        return el.get("content")
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    for tags, attr in ((("img", "audio", "embed", "iframe", "source", "track", "video"), "src"),
                       (("a", "area", "link"), "href"), (("object",), "data"), (("data", "meter"), "value"),
                       (("time",), "datetime")):
        if tag in tags and el.get(attr) is not None:
            return el.get(attr)
    return el.text_content()


def _first_text(values: Any) -> str | None:
    for v in values or ():
        if isinstance(v, dict):                      # an ImageObject or a Brand item
            v = _first_text(v.get("contentUrl") or v.get("url") or v.get("name"))
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _micro_brand(values: list[Any]) -> str | None:
    for v in values:
        name = _first_text(v.get("name")) if isinstance(v, dict) else v
        if name := _clean(name, MAX_BRAND_CHARS):
            return name
    return None


def _micro_price(item: dict[str, list[Any]], offers: list[Any]) -> tuple[float | None, str | None]:
    for holder in [*(o for o in offers if isinstance(o, dict)), item]:
        for key in ("price", "lowPrice"):
            price = parse_price(_first_text(holder.get(key)))
            if price is not None:
                return price, _currency(_first_text(holder.get("priceCurrency")))
    return None, None


# ----------------------------------------------------------------------------- Open Graph


def _metas(root: Any) -> dict[str, str]:
    """``<meta property|name=... content=...>``, the first of each name (lower case)."""
    out: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        content = meta.get("content")
        if key and content is not None and content.strip() and key not in out:
            out[key] = content.strip()
    return out


def _first_meta(root: Any, *names: str) -> str | None:
    metas = _metas(root)
    return next((metas[n] for n in names if n in metas), None)


def _from_meta(root: Any) -> dict[str, Any] | None:
    m = _metas(root)
    product_tags = any(k.startswith("product:") for k in m)
    if "product" not in m.get("og:type", "").lower() and not product_tags:
        return None
    price = parse_price(m.get("product:price:amount") or m.get("og:price:amount")
                        or m.get("product:sale_price:amount"))
    currency = m.get("product:price:currency") or m.get("og:price:currency") or m.get("product:sale_price:currency")
    return {"name": _clean(m.get("og:title") or m.get("twitter:title"), MAX_NAME_CHARS),
            "brand": _clean(m.get("product:brand") or m.get("og:brand"), MAX_BRAND_CHARS),
            "price": price, "currency": _currency(currency),
            "image": m.get("og:image:secure_url") or m.get("og:image") or m.get("og:image:url")
            or m.get("twitter:image")}


# ----------------------------------------------------------------------------- values


def _clean(text: str | None, limit: int) -> str | None:
    """Text for display and search: entities decoded (JSON-LD is often HTML-escaped once
    too many), whitespace collapsed, cut to ``limit`` characters."""
    if not isinstance(text, str):
        return None
    text = _WS_RE.sub(" ", html.unescape(text)).strip()
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:limit].rstrip() or None


def _currency(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.upper() if _CURRENCY_RE.fullmatch(value) else None


def parse_price(value: Any) -> float | None:
    """A price as shops write it: 98, "98.00", "$1,299.00", "1.299,00 €", "¥ 1 299",
    "98.00 - 120.00" (the first); None if there is none or it is not a positive number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        m = _NUMBER_RE.search(value)
        if m is None:
            return None
        digits = re.sub(r"[\s\u00a0\u202f']", "", m.group(0)).rstrip(".,")
        number = _number(digits, three_decimals=bool(_THREE_DECIMALS.search(value)))
        if number is None:
            return None
    else:
        return None
    return number if math.isfinite(number) and 0 < number < 1e9 else None


#: Currencies whose amounts have three decimals (ISO 4217): "KWD 1.250" is one and a quarter.
_THREE_DECIMALS = re.compile(r"\b(?:%s)\b" % "|".join(c for c, d in MINOR_UNITS.items() if d == 3), re.IGNORECASE)


def _number(digits: str, three_decimals: bool = False) -> float | None:
    """"1,299.00" / "1.299,00" / "1,299" / "12,5": the last separator is the decimal one
    when one or two digits follow it, or when both kinds are present; with three digits
    after it only when nothing but 0 is before it ("0.999": no thousands group starts with
    0) or the currency has three decimals."""
    last = max(digits.rfind("."), digits.rfind(","))
    if last >= 0:
        both = "." in digits and "," in digits
        decimals = len(digits) - last - 1
        lone = digits.count(digits[last]) == 1
        if (both or decimals in (1, 2) or (lone and decimals != 3)
                or (lone and decimals == 3 and (digits[:last] in ("", "0") or three_decimals))):
            digits = re.sub(r"[.,]", "", digits[:last]) + "." + digits[last + 1:]
        else:
            digits = re.sub(r"[.,]", "", digits)
    try:
        return float(digits)
    except ValueError:
        return None


def _absolute(url: str | None, base_url: str) -> str | None:
    """``url`` made absolute against the page's URL; None unless it is http(s)."""
    if not url or not isinstance(url, str):
        return None
    try:
        full = urljoin(base_url, html.unescape(url.strip()))
        scheme = urlsplit(full).scheme.lower()
    except ValueError:
        return None
    return full if scheme in ("http", "https") and len(full) <= 2048 else None
