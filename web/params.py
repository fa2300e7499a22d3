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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from search.engine import SearchRequest
from search.store.base import Filters
from web import cursor as cursors
from web.errors import ApiError, shown

LABELS = ("same_foundry", "equal_quality")
MODES = ("hybrid", "bm25", "dense")
MAX_K = 100
MAX_RESULTS_DEPTH = 1000            # page * k may not reach past this many results
MAX_QUERY_CHARS = 500
MAX_STR_CHARS = 200
MAX_URL_CHARS = 2048
MAX_OBJECTS = 100                   # ``object`` indexes the objects found on a photo (a handful)

#: Parameters of a search (API, batch items and the page), photo fields included.
SEARCH_FIELDS = ("q", "lang", "crop", "object", "category", "price_min", "price_max", "moq_max", "label", "region",
                 "ship_within", "k", "page", "group_by_factory", "include_counterfeits", "brand",
                 "brand_product", "ocr", "mode", "image_base64", "image_url", "photo_id", "cursor",
                 "page_url", "currency")
#: Parameters that narrow a listing of dupes (no query, no photo).
LISTING_FIELDS = ("lang", "category", "price_min", "price_max", "moq_max", "label", "region", "ship_within",
                  "k", "page", "group_by_factory", "include_counterfeits", "cursor", "currency")
#: ``SearchParams`` attributes whose request parameter has another name.
PARAM_NAMES = {"labels": "label"}

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
    region: str | None = None
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
                       ship_within_max=self.ship_within)

    def to_request(self, image: Any = None) -> SearchRequest:
        return SearchRequest(text=self.q, image=image, crop=self.crop, object=self.object, filters=self.filters(),
                             k=self.k, offset=self.offset, mode=self.mode, ocr=self.ocr,  # type: ignore[arg-type]
                             group_by_factory=self.group_by_factory,
                             include_counterfeits=self.include_counterfeits,
                             brand=self.brand, brand_product=self.brand_product)

    def echo(self) -> dict[str, Any]:
        """The parameters as understood (for the response), under their request names,
        without photo bytes."""
        out = {PARAM_NAMES.get(f.name, f.name): getattr(self, f.name) for f in fields(self)
               if f.name != "image_base64"}
        out["crop"] = list(self.crop) if self.crop else None
        out["label"] = list(self.labels)
        out["cursor"] = self.cursor.token if self.cursor else None
        out["page"] = None if self.cursor else self.page      # a cursor stands for the page
        return out

    def query_args(self, **changes: Any) -> list[tuple[str, str]]:
        """URL query arguments that reproduce this search (defaults left out), for links."""
        p = replace(self, **changes) if changes else self
        default = SearchParams()
        args: list[tuple[str, str]] = []
        for name in ("q", "page_url", "lang", "crop", "object", "category", "price_min", "price_max", "moq_max",
                     "labels", "region",
                     "ship_within", "k", "page", "group_by_factory", "include_counterfeits", "brand",
                     "brand_product", "ocr", "mode", "currency"):
            v = getattr(p, name)
            if v == getattr(default, name) or v is None or v == "":
                continue
            if name == "labels":
                args.extend((PARAM_NAMES[name], x) for x in v)
            elif name == "crop":
                args.append(("crop", ",".join(str(x) for x in v)))
            elif isinstance(v, bool):
                args.append((name, "true" if v else "false"))
            elif isinstance(v, float):
                args.append((name, f"{v:g}"))
            else:
                args.append((name, str(v)))
        return args


# ----------------------------------------------------------------------------- converters


def _bad(name: str, message: str, code: str = "invalid_parameter") -> ApiError:
    name = name if len(name) <= 40 else name[:40] + "..."     # a caller's key, in merge_raw
    return ApiError(400, code, f"{name}: {message}", name)


def to_str(name: str, v: Any, max_chars: int = MAX_STR_CHARS) -> str | None:
    if not isinstance(v, str):
        raise _bad(name, "must be a string")
    v = v.strip()
    if "\x00" in v:
        raise _bad(name, "must not contain NUL characters")
    if len(v) > max_chars:
        raise _bad(name, f"too long ({len(v)} characters, limit {max_chars})")
    return v or None


def to_int(name: str, v: Any, lo: int, hi: int) -> int:
    want = f"must be an integer from {lo} to {hi}"
    if isinstance(v, bool):
        raise _bad(name, want)
    if isinstance(v, str):
        if not _INT_RE.fullmatch(v):
            raise _bad(name, want)
        v = int(v)
    if isinstance(v, float) and math.isfinite(v) and not lo <= v <= hi:
        raise _bad(name, f"{want}, got {shown(v)}")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int):
        raise _bad(name, want)
    if not lo <= v <= hi:
        raise _bad(name, f"{want}, got {shown(v)}")
    return v


def to_float(name: str, v: Any, lo: float, hi: float) -> float:
    want = f"must be a number from {lo:g} to {hi:g}"
    if isinstance(v, bool):
        raise _bad(name, want)
    if isinstance(v, str):
        if not _NUM_RE.fullmatch(v):
            raise _bad(name, want)
        try:
            v = float(v)
        except ValueError:
            raise _bad(name, want) from None
    if not isinstance(v, (int, float)):
        raise _bad(name, want)
    # A JSON integer may have hundreds of digits: compare it as an integer, since
    # float() of it raises OverflowError.
    if isinstance(v, int) and not lo <= v <= hi:
        raise _bad(name, f"{want}, got {shown(v)}")
    v = float(v)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(name, f"{want}, got {shown(v)}")
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
    raise _bad(name, "must be true or false")


def to_crop(name: str, v: Any) -> tuple[int, int, int, int]:
    if isinstance(v, str):
        parts: list[Any] = v.split(",")
    elif isinstance(v, list):
        parts = v
    else:
        raise _bad(name, "must be x,y,w,h")
    if len(parts) != 4:
        raise _bad(name, "must be four integers x,y,w,h (pixels of the photo)")
    x, y, w, h = (to_int(name, p, 0, 100_000) for p in parts)
    if w < 1 or h < 1:
        raise _bad(name, "width and height must be at least 1 pixel")
    return x, y, w, h


def to_labels(name: str, values: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        items = v if isinstance(v, list) else [v]
        for item in items:
            if not isinstance(item, str):
                raise _bad(name, f"must be one of {', '.join(LABELS)}")
            for part in item.split(","):
                part = part.strip()
                if not part:
                    continue
                if part not in LABELS:
                    raise _bad(name, f"unknown label {part[:40]!r} (use {' or '.join(LABELS)})")
                if part not in out:
                    out.append(part)
    return tuple(out)


def to_lang(name: str, v: Any) -> str:
    s = to_str(name, v, 20)
    if s is None or not _LANG_RE.fullmatch(s):
        raise _bad(name, "must be a language code such as en, zh, vi, ko, ru")
    return s.lower().replace("_", "-")


def to_currency(name: str, v: Any) -> str:
    """An ISO 4217 code's shape (three letters, any case); whether the exchange table has a
    rate for it is checked where the table is (``web.service.check_currency``)."""
    if not isinstance(v, str) or not _CURRENCY_RE.fullmatch(v):
        raise _bad(name, f"must be a three-letter ISO 4217 code like USD or EUR, got {shown(v)!r}")
    return v.strip().upper()


def to_photo_id(name: str, v: Any) -> str:
    s = to_str(name, v, 64)
    if s is None or not _PHOTO_ID_RE.fullmatch(s):
        raise _bad(name, "not a photo id")
    return s


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
        raise _bad(name, "given more than once")
    return values[0]


def parse_search(raw: Raw, *, allowed: Iterable[str] = SEARCH_FIELDS, defaults: SearchParams = SearchParams(),
                 require_query: bool = True) -> SearchParams:
    """Typed search parameters from raw values, or ``ApiError`` (400)."""
    check_known(raw, allowed)
    out: dict[str, Any] = {}

    def get(name: str) -> Any:
        v = _single(raw, name)
        if isinstance(v, str) and not v.strip() and name not in ("q",):
            return None                      # empty form fields mean "not given"
        return v

    if (v := get("q")) is not None:
        out["q"] = to_str("q", v, MAX_QUERY_CHARS)
    if (v := get("lang")) is not None:
        out["lang"] = to_lang("lang", v)
    if (v := get("crop")) is not None:
        out["crop"] = to_crop("crop", v)
    if (v := get("object")) is not None:
        out["object"] = to_int("object", v, 0, MAX_OBJECTS - 1)
    for name in ("category", "region", "brand", "brand_product"):
        if (v := get(name)) is not None:
            out[name] = to_str(name, v)
    for name in ("price_min", "price_max"):
        if (v := get(name)) is not None:
            out[name] = to_float(name, v, 0, 1e9)
    if (v := get("moq_max")) is not None:
        out["moq_max"] = to_int("moq_max", v, 1, 1_000_000_000)
    if (v := get("ship_within")) is not None:
        out["ship_within"] = to_int("ship_within", v, 1, 10_000)
    if raw.get("label"):
        out["labels"] = to_labels("label", raw["label"])
    if (v := get("k")) is not None:
        out["k"] = to_int("k", v, 1, MAX_K)
    if (v := get("page")) is not None:
        out["page"] = to_int("page", v, 1, MAX_RESULTS_DEPTH)
    for name in ("group_by_factory", "include_counterfeits", "ocr"):
        if (v := get(name)) is not None:
            out[name] = to_bool(name, v)
    if (v := get("mode")) is not None:
        if v not in MODES:
            raise _bad("mode", f"must be one of {', '.join(MODES)}")
        out["mode"] = v
    if (v := get("image_base64")) is not None:
        if not isinstance(v, str):
            raise _bad("image_base64", "must be a base64 string", "bad_base64")
        out["image_base64"] = v
    if (v := get("image_url")) is not None:
        out["image_url"] = to_str("image_url", v, MAX_URL_CHARS)
    if (v := get("photo_id")) is not None:
        out["photo_id"] = to_photo_id("photo_id", v)
    if (v := get("page_url")) is not None:
        out["page_url"] = to_str("page_url", v, MAX_URL_CHARS)
    if (v := get("currency")) is not None:
        out["currency"] = to_currency("currency", v)
    if (v := get("cursor")) is not None:
        if "page" in out:
            raise _bad("cursor", "give either page or cursor, not both")
        out["cursor"] = cursors.parse(v, MAX_RESULTS_DEPTH)

    p = replace(defaults, **out)
    if p.price_min is not None and p.price_max is not None and p.price_min > p.price_max:
        raise _bad("price_min", "is above price_max")
    if p.offset >= MAX_RESULTS_DEPTH:
        raise _bad("page", f"pages stop at result {MAX_RESULTS_DEPTH}")
    if p.object is not None and p.crop is not None:
        raise _bad("object", "give either crop or object, not both")
    if sum(1 for x in (p.image_base64, p.image_url, p.photo_id) if x) > 1:
        raise ApiError(400, "too_many_photos", "give one photo: image_base64, image_url or photo_id", "image_url")
    if p.page_url and (p.image_base64 or p.image_url or p.photo_id):
        raise ApiError(400, "too_many_photos", "page_url: the page's image is the photo; give page_url or a photo",
                       "page_url")
    if p.page_url and p.q:
        raise _bad("page_url", "give q or page_url, not both (the page's product name is the query)")
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
                raise _bad(k, "given more than once")
            out[k] = list(v)
    return out
