"""What a search is asked and what it answers (``SearchRequest``, ``SearchResponse``), the
key naming a query's result list (``list_key``), and the error of a request that cannot be
searched (``QueryError``). Data only: the search path is ``search.engine``."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from search.brands import BrandHit
from search.facets import Facets
from search.objects import DetectedObject
from search.prices import FxTable
from search.ranking import Result
from search.records import BrandProduct
from search.store.base import Filters
from search.understanding import ProductHit

Mode = Literal["hybrid", "bm25", "dense"]


@dataclass(frozen=True)
class SearchRequest:
    text: str | None = None
    image: Any = None                                  # PIL image (already validated)
    crop: tuple[int, int, int, int] | None = None      # x, y, w, h in the pixels of the photo as sent
    filters: Filters = Filters()
    k: int = 20
    offset: int = 0
    mode: Mode = "hybrid"
    fusion: Literal["zscore", "rrf"] = "zscore"
    ocr: bool = True
    group_by_factory: bool = True
    include_counterfeits: bool = False
    brand: str | None = None                           # the user's correction of the detected brand
    brand_product: str | None = None                   # ... or of the detected brand product
    today: dt.date | None = None
    ocr_text: str | None = None                        # text already read on this (uncropped) photo: not read again
    object: int | None = None                          # search this one of the objects found on the photo (``objects``)


@dataclass
class Understanding:
    text: str | None = None
    ocr_text: str | None = None
    ocr_error: str | None = None                       # OCR failed: searched without the text on the photo
    brand: BrandHit | None = None
    other_brands: list[BrandHit] = field(default_factory=list)
    brand_product: ProductHit | None = None
    alternatives: list[ProductHit] = field(default_factory=list)   # other brand products it may mean
    looks_like: list[ProductHit] = field(default_factory=list)     # the photo's nearest brand products
    categories: tuple[str, ...] = ()
    unknown_brand: str | None = None
    lexical_weight: float | None = None
    tokens: list[str] = field(default_factory=list)
    objects: list[DetectedObject] = field(default_factory=list)   # distinct products on the photo (2+), else []


@dataclass
class SearchResponse:
    understood: Understanding
    results: list[Result]
    total: int
    took_ms: float
    timings: dict[str, float] = field(default_factory=dict)
    brand_products: Mapping[str, BrandProduct] = field(default_factory=dict)   # what understood names
    fx: FxTable = field(default_factory=FxTable)       # the exchange table claims used
    # The result list the page was cut from is a function of these: pages of one query
    # share them (``list_key``), so a caller can tell when a later page is of another list.
    list_key: str = ""                                 # the request without its page
    generation: int = -1                               # the index generation searched
    day: dt.date | None = None                         # the day the claims were decided for
    facets: Facets = field(default_factory=Facets)     # of the whole result list, not the page


#: Fields of a ``SearchRequest`` that choose a page of the result list, not the list
#: (``ocr_text``: the text already read on a kept photo, a cache of what the photo gives).
KEY_EXCLUDED = frozenset({"k", "offset", "ocr_text"})
KEY_IMAGE_SIDE = 256           # a photo counts in ``list_key`` by its pixels at about this size


def list_key(req: SearchRequest) -> str:
    """A digest of what the result list of ``req`` depends on: every field but the page
    (``KEY_EXCLUDED``), the photo by its pixels. Pages of one query share it."""
    h = hashlib.blake2b(digest_size=12)
    for f in fields(req):
        if f.name in KEY_EXCLUDED:
            continue
        value = getattr(req, f.name)
        if f.name == "image" and value is not None:
            # A reduced copy: hashing every pixel of a phone photo costs tens of ms, this a few.
            h.update(f"image={value.mode}:{value.size}:".encode())
            im = value if value.mode in ("L", "RGB", "RGBA") else value.convert("RGB")   # what reduce takes
            h.update(im.reduce(max(1, -(-max(im.size) // KEY_IMAGE_SIDE))).tobytes())
        else:
            h.update(f"{f.name}={value!r}\n".encode())
    return h.hexdigest()


#: The part of a ``SearchRequest`` a ``QueryError`` is about (the web names its parameter).
QueryField = Literal["text", "crop", "object"]
QUERY_FIELDS: tuple[QueryField, ...] = get_args(QueryField)


class QueryError(ValueError):
    """The request cannot be searched (no text and no photo, a crop outside the photo...);
    ``field``: the part of the request at fault."""

    def __init__(self, message: str, field: QueryField) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[object, ...]:
        return type(self), (str(self), self.field)      # exceptions pickle their message only
