"""Validation of search parameters at the HTTP edge (pure: no Flask, no I/O).

Query strings, form fields and JSON bodies all arrive as ``{name: [value, ...]}``
(JSON values keep their JSON type); ``parse_search`` turns them into a typed
``SearchParams`` or raises ``ApiError`` (400) naming the offending field. Unknown
parameters are refused rather than ignored, so a typo never silently widens a search.
Numbers are checked against their range before any conversion that could overflow, and
messages echo a caller's value cut short (``web.errors.shown``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from search.requests import SearchRequest
from search.store.base import Filters
from web import cursor as cursors
from web.errors import ApiError, shown
from web.messages import param_message
from web.openapi_examples import CURSOR, PNG_1PX

LABELS = ("same_foundry", "equal_quality")
MODES = ("hybrid", "bm25", "dense")
MAX_K = 100
MAX_RESULTS_DEPTH = 1000            # page * k may not reach past this many results
MAX_QUERY_CHARS = 500
MAX_STR_CHARS = 200
MAX_URL_CHARS = 2048
MAX_OBJECTS = 100                   # ``object`` indexes the objects found on a photo (a handful)
MAX_REPEATS = 20                    # values of one repeatable parameter (certification)

_LANG_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
_INT_RE = re.compile(r"\s*\d{1,12}\s*")
_NUM_RE = re.compile(r"\s*[0-9eE.+\-]{1,32}\s*")
_PHOTO_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_CURRENCY_RE = re.compile(r"\s*[A-Za-z]{3}\s*")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

Raw = Mapping[str, list[Any]]


@dataclass(frozen=True)
class SearchParams:
    q: str | None = None
    lang: str = "en"
    crop: tuple[int, int, int, int] | None = None
    object: int | None = None                 # index into the response's ``objects``
    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    moq_max: int | None = None
    labels: tuple[str, ...] = ()
    region: str | None = None                 # as typed: resolved against the catalog by the service
    certifications: tuple[str, ...] = ()
    ship_within: int | None = None
    k: int = 20
    page: int = 1
    group_by_factory: bool = True
    include_counterfeits: bool = False
    brand: str | None = None
    brand_product: str | None = None
    ocr: bool = True
    mode: str = "hybrid"
    image_base64: str | None = field(default=None, repr=False)
    image_url: str | None = None
    photo_id: str | None = None
    page_url: str | None = None               # a product page: its words and image (web.page_url)
    cursor: cursors.Cursor | None = None       # instead of ``page``: where the previous page ended
    currency: str | None = None               # show every price in this currency (the FX table's rates)

    @property
    def offset(self) -> int:
        """The first result's position in the query's result list."""
        return self.cursor.offset if self.cursor else (self.page - 1) * self.k

    def has_photo_source(self) -> bool:
        # A product page brings its own photo (its main image).
        return bool(self.image_base64 or self.image_url or self.photo_id or self.page_url)

    def filters(self) -> Filters:
        return Filters(category=self.category, price_min=self.price_min, price_max=self.price_max,
                       moq_max=self.moq_max, labels=self.labels, region=self.region,
                       certifications=self.certifications, ship_within_max=self.ship_within)

    def to_request(self, image: Any = None) -> SearchRequest:
        return SearchRequest(text=self.q, image=image, crop=self.crop, object=self.object, filters=self.filters(),
                             k=self.k, offset=self.offset, mode=self.mode, ocr=self.ocr,  # type: ignore[arg-type]
                             group_by_factory=self.group_by_factory,
                             include_counterfeits=self.include_counterfeits,
                             brand=self.brand, brand_product=self.brand_product)

    def echo(self) -> dict[str, Any]:
        """The parameters as understood (for the response), under their request names,
        without photo bytes."""
        out = {param.name: getattr(self, param.attr) for param in PARAMS if param.name != "image_base64"}
        out["crop"] = list(self.crop) if self.crop else None
        out.update((param.name, list(getattr(self, param.attr))) for param in PARAMS if param.repeat)
        out["cursor"] = self.cursor.token if self.cursor else None
        out["page"] = None if self.cursor else self.page      # a cursor stands for the page
        return out

    def query_args(self, **changes: Any) -> list[tuple[str, str]]:
        """URL query arguments that reproduce this search (defaults left out), for links."""
        p = replace(self, **changes) if changes else self
        default = SearchParams()
        args: list[tuple[str, str]] = []
        for param in PARAMS:
            v = getattr(p, param.attr)
            if not param.linked or v == getattr(default, param.attr) or v is None or v == "":
                continue
            if param.repeat:
                args.extend((param.name, x) for x in v)
            elif param.name == "crop":
                args.append(("crop", ",".join(str(x) for x in v)))
            elif isinstance(v, bool):
                args.append((param.name, "true" if v else "false"))
            elif isinstance(v, float):
                args.append((param.name, f"{v:g}"))
            else:
                args.append((param.name, str(v)))
        return args


# ----------------------------------------------------------------------------- converters


def _bad(name: str, key: str, code: str = "invalid_parameter", **args: Any) -> ApiError:
    """A 400 for parameter ``name``: what is wrong with it is ``web.messages.PARAM[key]``."""
    name = name if len(name) <= 40 else name[:40] + "..."     # a caller's key, in merge_raw
    return ApiError(400, code, param_message(key, "en", name, args), name, key=key, args=args)


def to_str(name: str, v: Any, max_chars: int = MAX_STR_CHARS) -> str | None:
    if not isinstance(v, str):
        raise _bad(name, "not_string")
    v = v.strip()
    if "\x00" in v:
        raise _bad(name, "nul")
    if len(v) > max_chars:
        raise _bad(name, "too_long", n=len(v), limit=max_chars)
    return v or None


def to_int(name: str, v: Any, lo: int, hi: int) -> int:
    bounds = {"lo": lo, "hi": hi}
    if isinstance(v, bool):
        raise _bad(name, "int_range", **bounds)
    if isinstance(v, str):
        if not _INT_RE.fullmatch(v):
            raise _bad(name, "int_range", **bounds)
        v = int(v)
    if isinstance(v, float) and math.isfinite(v) and not lo <= v <= hi:
        raise _bad(name, "int_range_got", got=shown(v), **bounds)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int):
        raise _bad(name, "int_range", **bounds)
    if not lo <= v <= hi:
        raise _bad(name, "int_range_got", got=shown(v), **bounds)
    return v


def to_float(name: str, v: Any, lo: float, hi: float) -> float:
    bounds = {"lo": f"{lo:g}", "hi": f"{hi:g}"}
    if isinstance(v, bool):
        raise _bad(name, "num_range", **bounds)
    if isinstance(v, str):
        if not _NUM_RE.fullmatch(v):
            raise _bad(name, "num_range", **bounds)
        try:
            v = float(v)
        except ValueError:
            raise _bad(name, "num_range", **bounds) from None
    if not isinstance(v, (int, float)):
        raise _bad(name, "num_range", **bounds)
    # A JSON integer may have hundreds of digits: compare it as an integer, since
    # float() of it raises OverflowError.
    if isinstance(v, int) and not lo <= v <= hi:
        raise _bad(name, "num_range_got", got=shown(v), **bounds)
    v = float(v)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(name, "num_range_got", got=shown(v), **bounds)
    return v


def to_bool(name: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise _bad(name, "bool")


def to_crop(name: str, v: Any) -> tuple[int, int, int, int]:
    if isinstance(v, str):
        parts: list[Any] = v.split(",")
    elif isinstance(v, list):
        parts = v
    else:
        raise _bad(name, "crop_shape")
    if len(parts) != 4:
        raise _bad(name, "crop_four")
    x, y, w, h = (to_int(name, p, 0, 100_000) for p in parts)
    if w < 1 or h < 1:
        raise _bad(name, "crop_size")
    return x, y, w, h


def to_labels(name: str, values: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        items = v if isinstance(v, list) else [v]
        for item in items:
            if not isinstance(item, str):
                raise _bad(name, "one_of", values=", ".join(LABELS))
            for part in item.split(","):
                part = part.strip()
                if not part:
                    continue
                if part not in LABELS:
                    raise _bad(name, "unknown_label", value=repr(part[:40]), values=" or ".join(LABELS))
                if part not in out:
                    out.append(part)
    return tuple(out)


def to_lang(name: str, v: Any) -> str:
    s = to_str(name, v, 20)
    if s is None or not _LANG_RE.fullmatch(s):
        raise _bad(name, "lang")
    return s.lower().replace("_", "-")


def to_currency(name: str, v: Any) -> str:
    """An ISO 4217 code's shape (three letters, any case); whether the exchange table has a
    rate for it is checked where the table is (``web.service.check_currency``)."""
    if not isinstance(v, str) or not _CURRENCY_RE.fullmatch(v):
        raise _bad(name, "currency", got=repr(shown(v)))
    return v.strip().upper()


def to_photo_id(name: str, v: Any) -> str:
    s = to_str(name, v, 64)
    if s is None or not _PHOTO_ID_RE.fullmatch(s):
        raise _bad(name, "photo_id")
    return s


def to_mode(name: str, v: Any) -> str:
    if v not in MODES:
        raise _bad(name, "one_of", values=", ".join(MODES))
    return v


def to_base64(name: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _bad(name, "base64", "bad_base64")
    return v


def to_strs(name: str, values: Iterable[Any]) -> tuple[str, ...]:
    """A repeatable text parameter (each value, or a JSON list of them), distinct, in order."""
    out: list[str] = []
    for v in values:
        for item in v if isinstance(v, list) else [v]:
            s = to_str(name, item)
            if s and s not in out:
                out.append(s)
    if len(out) > MAX_REPEATS:
        raise _bad(name, "too_many_values", n=MAX_REPEATS)
    return tuple(out)


# ----------------------------------------------------------------------------- the parameter table


@dataclass(frozen=True)
class Param:
    """One search parameter: how it is read, documented (OpenAPI) and linked. Adding a
    filter is a row here (and a ``Filters`` field, see ``search.store.schema``)."""
    name: str                                  # as requests spell it
    convert: Callable[[str, Any], Any]         # a raw value (all values when ``repeat``) -> typed, or ApiError
    schema: dict[str, Any]
    doc: str
    attr: str = ""                             # the ``SearchParams`` attribute, when not ``name``
    repeat: bool = False                       # may be given several times (any of the values)
    listing: bool = False                      # also narrows a listing of dupes (no query, no photo)
    linked: bool = True                        # kept in links that reproduce the search (``query_args``)
    on_page: bool = True                       # sent by the search page's forms and links

    def __post_init__(self) -> None:
        object.__setattr__(self, "attr", self.attr or self.name)


def _text(limit: int = MAX_STR_CHARS) -> Callable[[str, Any], Any]:
    return lambda name, v: to_str(name, v, limit)


def _int(lo: int, hi: int) -> Callable[[str, Any], Any]:
    return lambda name, v: to_int(name, v, lo, hi)


def _num(lo: float, hi: float) -> Callable[[str, Any], Any]:
    return lambda name, v: to_float(name, v, lo, hi)


_IN_OWN_CURRENCY = "in the listing's own catalog currency (not converted, even with `currency=`)"
PARAMS: tuple[Param, ...] = (
    Param("q", _text(MAX_QUERY_CHARS),
          {"type": "string", "maxLength": MAX_QUERY_CHARS, "examples": ["lululemon align dupe", "露露乐蒙 瑜伽裤"]},
          "Text query in any language: brand, product, nickname, model, attributes (at most "
          f"{MAX_QUERY_CHARS} characters)"),
    Param("page_url", _text(MAX_URL_CHARS),
          {"type": "string", "maxLength": MAX_URL_CHARS, "examples": ["https://shop.example/products/align-pant"]},
          "A brand product's page (http/https, public addresses only, HTML, size-capped): its product's name, "
          "brand, price and main image are read from schema.org Product JSON-LD, microdata or Open Graph, and "
          "searched by the name with the brand (as `q`) and the image (as a photo); echoed in "
          "`understood.page`. Not with `q` or another photo"),
    Param("lang", to_lang, {"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$",
                            "examples": ["en", "zh", "vi"]},
          "Language of titles, catalog texts, savings wording and error messages (zh and en; titles also "
          "in other languages the catalog has; falls back to English, then Chinese). Default en", listing=True),
    Param("crop", to_crop, {"type": "string", "pattern": "^[0-9]{1,6},[0-9]{1,6},[0-9]{1,6},[0-9]{1,6}$",
                            "examples": ["0,0,400,600"]},
          "Search only this region of the photo: x,y,w,h in pixels of the photo as sent (no objects are "
          "detected then)"),
    Param("object", _int(0, MAX_OBJECTS - 1), {"type": "integer", "minimum": 0, "maximum": MAX_OBJECTS - 1,
                                               "examples": [1]},
          "Search this one of the products found on the photo: an index into `understood.objects` of the same "
          "photo's response (by default the most prominent one is searched). Not with `crop`"),
    Param("category", _text(), {"type": "string", "maxLength": MAX_STR_CHARS, "examples": ["leggings", "瑜伽裤"]},
          "Only this category: its id (`results[].category`) or its name in Chinese or English (GET "
          "/api/v1/categories lists them); a value naming no category of the catalog is a 400 "
          "`unknown_value` listing the valid ones", listing=True),
    Param("price_min", _num(0, 1e9), {"type": "number", "minimum": 0, "maximum": 1e9, "examples": [20]},
          f"Only listings whose lowest tier price (`min_price`) is at least this, {_IN_OWN_CURRENCY}", listing=True),
    Param("price_max", _num(0, 1e9), {"type": "number", "minimum": 0, "maximum": 1e9, "examples": [100]},
          f"Only listings whose lowest tier price (`min_price`) is at most this, {_IN_OWN_CURRENCY}", listing=True),
    Param("moq_max", _int(1, 1_000_000_000), {"type": "integer", "minimum": 1, "maximum": 1_000_000_000,
                                              "examples": [50]},
          "Only listings whose minimum order quantity (`moq`, in units of sale) is at most this", listing=True),
    Param("label", to_labels, {"type": "array", "items": {"type": "string", "enum": list(LABELS)},
                               "examples": [["same_foundry"]]},
          "Only results whose claim carries one of these endorsement labels (repeat the parameter, or separate "
          "with commas): `same_foundry` (the factory is a verified OEM of the brand), `equal_quality` (verified "
          "to reach the brand's quality)", attr="labels", repeat=True, listing=True),
    Param("region", _text(), {"type": "string", "maxLength": MAX_STR_CHARS,
                              "examples": ["Zhejiang", "浙江", "义乌", "Guangdong Shenzhen"]},
          "Only factories in this region: a province, a city or an industrial belt, in Chinese or English, or a "
          "path of them (`Zhejiang Yiwu`); a province takes in its cities (GET /api/v1/regions lists them). A "
          "value naming no region of the catalog is a 400 `unknown_value` listing the valid ones", listing=True),
    Param("certification", to_strs, {"type": "array", "items": {"type": "string", "maxLength": MAX_STR_CHARS},
                                     "examples": [["BSCI"]]},
          "Only factories holding one of these certifications (`factory.certifications`, case aside; repeat "
          "the parameter for several). An unknown one is a 400 `unknown_value` listing the valid ones",
          attr="certifications", repeat=True, listing=True),
    Param("ship_within", _int(1, 10_000), {"type": "integer", "minimum": 1, "maximum": 10_000, "examples": [48]},
          "Only factories that ship within this many hours (`factory.ship_within_hours` at most this; factories "
          "that do not state it are left out)", listing=True),
    Param("k", _int(1, MAX_K), {"type": "integer", "minimum": 1, "maximum": MAX_K, "examples": [10]},
          f"Results per page, 1 to {MAX_K} (default 20)", listing=True, on_page=False),
    Param("page", _int(1, MAX_RESULTS_DEPTH), {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS_DEPTH,
                                               "examples": [2]},
          "Page number, from 1 (results stop at `total`). Not with `cursor`", listing=True),
    Param("group_by_factory", to_bool, {"type": "boolean", "examples": [True]},
          "One result per factory, its other listings in `more` (default true)", listing=True),
    Param("include_counterfeits", to_bool, {"type": "boolean", "examples": [False]},
          "Include listings using brand trademarks, flagged in `counterfeit` (default false)", listing=True, on_page=False),
    Param("brand", _text(), {"type": "string", "maxLength": MAX_STR_CHARS, "examples": ["lululemon"]},
          "Correct the detected brand (a brand id from /brands)"),
    Param("brand_product", _text(), {"type": "string", "maxLength": MAX_STR_CHARS,
                                     "examples": ["bp-lululemon-align"]},
          "Correct the detected brand product (a brand product id from /brands)"),
    Param("ocr", to_bool, {"type": "boolean", "examples": [True]}, "Read text on the photo (default true)", on_page=False),
    Param("mode", to_mode, {"type": "string", "enum": list(MODES), "examples": ["hybrid"]},
          "Retrieval mode: `hybrid` (words and vectors, the default), `bm25` (words only), `dense` (vectors "
          "only)", on_page=False),
    Param("currency", to_currency, {"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["USD", "VND"]},
          "Show every price in this ISO 4217 currency, converted with the response's `fx` table (GET "
          "/api/v1/currencies lists its rates and date); each converted object keeps what it said in "
          "`original`. A code without a rate is a 400 `unknown_currency`. Ratios do not change", listing=True, on_page=False),
    Param("image_base64", to_base64, {"type": "string", "examples": [PNG_1PX]},
          "Photo as base64 (a data: URL prefix is allowed)", linked=False, on_page=False),
    Param("image_url", _text(MAX_URL_CHARS), {"type": "string", "maxLength": MAX_URL_CHARS,
                                              "examples": ["https://shop.example/cdn/align.jpg"]},
          "Photo to fetch (http/https, public addresses only, image content type, size-capped)", linked=False, on_page=False),
    Param("photo_id", to_photo_id, {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$",
                                    "examples": ["k3Xf9QbN2pLm7Rt0"]},
          "A photo kept by the search page (the id in its `/s/<id>` link)", linked=False),
    Param("cursor", lambda name, v: cursors.parse(v, MAX_RESULTS_DEPTH),
          {"type": "string", "maxLength": cursors.MAX_TOKEN_CHARS, "pattern": "^[A-Za-z0-9_-]+={0,2}$",
           "examples": [CURSOR]},
          "Opaque: the `next` of the previous page, with the same other parameters (`k` may change). Not with "
          "`page`", listing=True, linked=False, on_page=False),
)
BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
#: Parameters of a search (API, batch items and the page), photo fields included.
SEARCH_FIELDS = tuple(BY_NAME)
#: What the search page's forms and links send; anything else in a URL (utm_*, fbclid...) is ignored.
PAGE_FIELDS = tuple(p.name for p in PARAMS if p.on_page)
#: Parameters that narrow a listing of dupes (no query, no photo).
LISTING_FIELDS = tuple(p.name for p in PARAMS if p.listing)


# ----------------------------------------------------------------------------- parsing


def check_known(raw: Raw, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for name in raw:
        if name not in allowed:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise ApiError(400, "unknown_parameter", f"unknown parameter {shown!r}", shown)


def _single(raw: Raw, name: str) -> Any:
    values = raw.get(name) or []
    if not values:
        return None
    if len(values) > 1:
        raise _bad(name, "repeated")
    return values[0]


def parse_search(raw: Raw, *, allowed: Iterable[str] = SEARCH_FIELDS, defaults: SearchParams = SearchParams(),
                 require_query: bool = True) -> SearchParams:
    """Typed search parameters from raw values, or ``ApiError`` (400)."""
    check_known(raw, allowed)
    out: dict[str, Any] = {}
    for param in PARAMS:
        if param.repeat:
            if raw.get(param.name):
                out[param.attr] = param.convert(param.name, raw[param.name])
            continue
        v = _single(raw, param.name)
        if isinstance(v, str) and not v.strip() and param.name != "q":
            v = None                         # empty form fields mean "not given"
        if v is not None:
            out[param.attr] = param.convert(param.name, v)
    if "cursor" in out and "page" in out:
        raise _bad("cursor", "page_or_cursor")

    p = replace(defaults, **out)
    if p.price_min is not None and p.price_max is not None and p.price_min > p.price_max:
        raise _bad("price_min", "above_max")
    if p.offset >= MAX_RESULTS_DEPTH:
        raise _bad("page", "pages_stop", n=MAX_RESULTS_DEPTH)
    if p.object is not None and p.crop is not None:
        raise _bad("object", "crop_or_object")
    if sum(1 for x in (p.image_base64, p.image_url, p.photo_id) if x) > 1:
        raise ApiError(400, "too_many_photos", "give one photo: image_base64, image_url or photo_id", "image_url")
    if p.page_url and (p.image_base64 or p.image_url or p.photo_id):
        raise ApiError(400, "too_many_photos", "page_url: the page's image is the photo; give page_url or a photo",
                       "page_url")
    if p.page_url and p.q:
        raise _bad("page_url", "q_or_page")
    if require_query and not p.q and not p.has_photo_source():
        raise ApiError(400, "missing_query", "give a text query (q) or a photo", "q")
    return p


def multidict_raw(md: Any) -> dict[str, list[Any]]:
    """A Werkzeug MultiDict (args, form) as raw values."""
    return {k: md.getlist(k) for k in md.keys()}


def json_raw(body: Any, where: str = "body") -> dict[str, list[Any]]:
    """A JSON object as raw values; ``label`` may be a list (repeatable)."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", f"the {where} must be a JSON object")
    return {str(k): [v] for k, v in body.items()}


def merge_raw(*parts: Raw) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for part in parts:
        for k, v in part.items():
            if k in out:
                raise _bad(k, "repeated")
            out[k] = list(v)
    return out
