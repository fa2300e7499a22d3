"""The OpenAPI 3.1 document of API v1, written by hand and kept true by the tests
(``tests/test_web_openapi.py`` runs schemathesis against the app with it;
``tests/test_openapi_client.py`` checks that every field and parameter is described with
an example, and generates a working Python client from it)."""
from __future__ import annotations

from typing import Any

from indexer.catalog.reader import CATALOG_FILES
from search.engine import RESULT_DEPTH
from web import openapi_examples as ex
from web.bodylimits import MAX_JSON_TOKENS
from web.cursor import MAX_TOKEN_CHARS
from web.params import LABELS, MAX_K, MAX_QUERY_CHARS, MAX_RESULTS_DEPTH, MODES

NULL_STR = {"type": ["string", "null"]}
NULL_NUM = {"type": ["number", "null"]}
NULL_INT = {"type": ["integer", "null"]}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
STR_LIST = {"type": "array", "items": {"type": "string"}}

# Units, said once and used by every amount: a client must never guess a currency.
IN_CURRENCY = ("in this object's `currency` (the catalog's, or the one `currency=` asked for: then `original` "
               "keeps the catalog's amount)")
ISO_CODE = "ISO 4217 currency code"
LANG_MAP = "Language code (en, zh, vi, ...) -> text"
IMAGE_REFS = ("Image references as the catalog states them (paths in the catalog folder, or URLs); load them "
              "from `image_urls`")
IMAGE_LINKS = ("Loadable image links, main image first (absolute when the service is configured with its public "
               "URL, else relative to its root)")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _d(schema: dict[str, Any], description: str, *examples: Any) -> dict[str, Any]:
    """``schema`` with its description (and examples), as a new dict: shared schemas stay bare."""
    out = {**schema, "description": description}
    if examples:
        out["examples"] = list(examples)
    return out


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": _ref("Error")}}}
    if headers:
        out["headers"] = headers
    return out


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}

COMMON_ERRORS = {
    "400": _error("Bad parameters (unknown, malformed or out of range), or a JSON body with too many "
                  "values; `field` names the parameter"),
    "401": _error("Unknown API key (guesses count against the caller's address: 429 after too many)"),
    "429": _error("Rate limit reached", RETRY_AFTER),
    "503": _error("The search index is missing, corrupt or built with other models", RETRY_AFTER),
}
CURSOR_ERRORS = {
    "410": _error("`cursor_expired`: the index changed (or the day turned) since the cursor's first page, "
                  "so the query's results did too: restart the query without `cursor`"),
}
PAGING = (f"Every page of a query is cut from one result list of at most {RESULT_DEPTH} results, in a "
          "total order (ties broken by id): on one index, `total` is the same on every page and no id is on "
          "two pages. Follow `next` (pass it as `cursor` with the same other parameters; `k` may change) or "
          "ask for `page` N. A cursor used with another query is a 400 `cursor_mismatch`; after the index "
          "changed, a 410 `cursor_expired`: restart the query. Ids are catalog record ids everywhere, as "
          "`/products/{id}` takes them.")
PHOTO_ERRORS = {
    "404": _error("`photo_id` unknown or expired"),
    "413": _error("Body, photo or pixel count too large, or the `page_url` page (`page_too_large`)"),
    "415": _error("Not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF) or wrong content type, or "
                  "the `page_url` page is not HTML (`unsupported_page`)"),
    "422": _error("Corrupt or truncated image, `image_url` or `page_url` could not be fetched "
                  "(`image_fetch_failed`, `page_fetch_failed`), or the page describes no product "
                  "(`no_product_on_page`)"),
}

# Parameter name -> (schema, description), shared by query parameters and JSON bodies.
SEARCH_PARAMS: dict[str, tuple[dict[str, Any], str]] = {
    "q": ({"type": "string", "maxLength": MAX_QUERY_CHARS, "examples": ["lululemon align dupe", "露露乐蒙 瑜伽裤"]},
          f"Text query in any language: brand, product, nickname, model, attributes (at most {MAX_QUERY_CHARS} "
          "characters)"),
    "lang": ({"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", "examples": ["en", "zh", "vi"]},
             "Language of titles in results (falls back to English, then Chinese). Default en"),
    "crop": ({"type": "string", "pattern": "^[0-9]{1,6},[0-9]{1,6},[0-9]{1,6},[0-9]{1,6}$",
              "examples": ["0,0,400,600"]},
             "Search only this region of the photo: x,y,w,h in pixels of the photo as sent (no objects are "
             "detected then)"),
    "object": ({"type": "integer", "minimum": 0, "maximum": 99, "examples": [1]},
               ("Search this one of the products found on the photo: an index into `understood.objects` "
                "of the same photo's response (by default the most prominent one is searched). Not with `crop`")),
    "category": ({"type": "string", "maxLength": 200, "examples": ["leggings"]},
                 "Only this category (a catalog category, exactly: `results[].category`)"),
    "price_min": ({"type": "number", "minimum": 0, "maximum": 1e9, "examples": [20]},
                  "Only listings whose lowest tier price (`min_price`) is at least this, in the listing's own "
                  "catalog currency (not converted, even with `currency=`)"),
    "price_max": ({"type": "number", "minimum": 0, "maximum": 1e9, "examples": [100]},
                  "Only listings whose lowest tier price (`min_price`) is at most this, in the listing's own "
                  "catalog currency (not converted, even with `currency=`)"),
    "moq_max": ({"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "examples": [50]},
                "Only listings whose minimum order quantity (`moq`, in units of sale) is at most this"),
    "label": ({"type": "array", "items": {"type": "string", "enum": list(LABELS)}, "examples": [["same_foundry"]]},
              "Only results whose claim carries one of these endorsement labels (repeat the parameter, or "
              "separate with commas): `same_foundry` (the factory is a verified OEM of the brand), "
              "`equal_quality` (verified to reach the brand's quality)"),
    "region": ({"type": "string", "maxLength": 200, "examples": ["Zhejiang Yiwu"]},
               "Only factories in this region, exactly as `factory.region` states it"),
    "ship_within": ({"type": "integer", "minimum": 1, "maximum": 10_000, "examples": [48]},
                    "Only factories that ship within this many hours (`factory.ship_within_hours` at most this; "
                    "factories that do not state it are left out)"),
    "k": ({"type": "integer", "minimum": 1, "maximum": MAX_K, "examples": [10]},
          f"Results per page, 1 to {MAX_K} (default 20)"),
    "page": ({"type": "integer", "minimum": 1, "maximum": MAX_RESULTS_DEPTH, "examples": [2]},
             f"Page number, from 1 (results stop at `total`, at most {RESULT_DEPTH}). Not with `cursor`"),
    "cursor": ({"type": "string", "maxLength": MAX_TOKEN_CHARS, "pattern": "^[A-Za-z0-9_-]+={0,2}$",
                "examples": [ex.CURSOR]},
               ("Opaque: the `next` of the previous page, with the same other parameters (`k` may change). "
                "Not with `page`")),
    "group_by_factory": ({"type": "boolean", "examples": [True]},
                         "One result per factory, its other listings in `more` (default true)"),
    "include_counterfeits": ({"type": "boolean", "examples": [False]},
                             "Include listings using brand trademarks, flagged in `counterfeit` (default false)"),
    "brand": ({"type": "string", "maxLength": 200, "examples": ["lululemon"]},
              "Correct the detected brand (a brand id from /brands)"),
    "brand_product": ({"type": "string", "maxLength": 200, "examples": ["bp-lululemon-align"]},
                      "Correct the detected brand product (a brand product id from /brands)"),
    "ocr": ({"type": "boolean", "examples": [True]}, "Read text on the photo (default true)"),
    "mode": ({"type": "string", "enum": list(MODES), "examples": ["hybrid"]},
             "Retrieval mode: `hybrid` (words and vectors, the default), `bm25` (words only), `dense` "
             "(vectors only)"),
    "image_url": ({"type": "string", "maxLength": 2048, "examples": ["https://shop.example/cdn/align.jpg"]},
                  "Photo to fetch (http/https, public addresses only, image content type, size-capped)"),
    "image_base64": ({"type": "string", "examples": [ex.PNG_1PX]},
                     "Photo as base64 (a data: URL prefix is allowed)"),
    "photo_id": ({"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$", "examples": ["k3Xf9QbN2pLm7Rt0"]},
                 "A photo kept by the search page (the id in its `/s/<id>` link)"),
    "currency": ({"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["USD", "VND"]},
                 "Show every price in this ISO 4217 currency, converted with the response's `fx` table (GET "
                 "/api/v1/currencies lists its rates and date); each converted object keeps what it said in "
                 "`original`. A code without a rate is a 400 `unknown_currency`. Ratios do not change"),
    "page_url": ({"type": "string", "maxLength": 2048, "examples": ["https://shop.example/products/align-pant"]},
                 "A brand product's page (http/https, public addresses only, HTML, size-capped): its product's "
                 "name, brand, price and main image are read from schema.org Product JSON-LD, microdata or "
                 "Open Graph, and searched by the name with the brand (as `q`) and the image (as a photo); "
                 "echoed in `understood.page`. Not with `q` or another photo"),
}
LISTING = ("lang", "category", "price_min", "price_max", "moq_max", "label", "region", "ship_within", "k", "page",
           "group_by_factory", "include_counterfeits", "cursor", "currency")


def _query(names: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    out = []
    for n in names:
        schema, desc = SEARCH_PARAMS[n]
        p: dict[str, Any] = {"name": n, "in": "query", "required": False, "description": desc, "schema": schema}
        if n == "label":
            p.update(style="form", explode=True)
        out.append(p)
    return out


def _body_schema(batch_item: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for n, (schema, desc) in SEARCH_PARAMS.items():
        if n == "label":
            schema = {"anyOf": [{"type": "string", "enum": list(LABELS)}, schema]}
        elif n == "crop":
            schema = {"anyOf": [schema, {"type": "array", "items": {"type": "integer", "minimum": 0},
                                         "minItems": 4, "maxItems": 4}]}
        props[n] = {**schema, "description": desc}
    example: dict[str, Any] = {"q": "lululemon align dupe", "label": ["same_foundry"], "k": 10, "currency": "USD"}
    if batch_item:
        props["id"] = {"type": ["string", "integer"], "description": "Your reference, echoed in the result",
                       "examples": ["row-1", 17]}
        example = {"id": "row-1", **example}
    return {"type": "object", "properties": props, "additionalProperties": False, "examples": [example]}


def _multipart_schema() -> dict[str, Any]:
    props: dict[str, Any] = {"photo": {"type": "string", "format": "binary", "contentMediaType": "image/*",
                                       "description": "The photo file (JPEG, PNG, GIF, WebP, BMP, TIFF or AVIF)"}}
    for n, (schema, desc) in SEARCH_PARAMS.items():
        if n in ("image_base64", "image_url", "photo_id", "page_url"):
            continue
        if schema.get("type") in ("integer", "number", "boolean"):
            props[n] = {"type": "string", "description": f"{desc} ({schema['type']})"}
        elif n == "label":
            props[n] = {"type": "array", "items": {"type": "string", "enum": list(LABELS)}, "description": desc}
        else:
            props[n] = {**schema, "description": desc}
    return {"type": "object", "properties": props, "additionalProperties": False}


# A factory listing's own fields (results and /products/{id}): what it is, who makes it, its terms.
LISTING_PROPS: dict[str, Any] = {
    "title": _d({"type": "string"}, "Title in `lang` (else English, else Chinese)"),
    "titles": _d(STR_MAP, f"Every title: {LANG_MAP}"),
    "category": _d(NULL_STR, "Catalog category (as `category=` takes it)", "leggings"),
    "description": _d(NULL_STR, "The listing's description, as the factory wrote it (may be empty)"),
    "attributes": _d({"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                     "Attributes as the catalog states them, name -> value text with its unit (material, size, "
                     "grammage, net contents...)", {"material": "81% nylon 19% spandex", "grammage": "190 g/m²"}),
    "images": _d(STR_LIST, IMAGE_REFS),
    "image_urls": _d(STR_LIST, IMAGE_LINKS),
    "price_tiers": _d({"type": ["array", "null"], "items": _ref("PriceTier")},
                      f"Wholesale price tiers, by `min_qty` ascending, {IN_CURRENCY}"),
    "currency": _d(NULL_STR, f"{ISO_CODE} of every amount of this listing", "CNY"),
    "min_price": _d(NULL_NUM, f"The lowest tier price (what `price_min`/`price_max` filter on), {IN_CURRENCY}", 69.2),
    "moq": _d(NULL_INT, "Minimum order quantity, in units of sale", 2),
    "factory": _d(_ref("Factory"), "Who makes it, and its service terms"),
    "dupe_of": _d(STR_LIST, "Brand product ids the listing declares itself a dupe of", ["bp-lululemon-align"]),
    "counterfeit": _d({"type": "array", "items": {
        "type": "object", "required": ["brand", "word"], "description": "A brand trademark in the listing",
        "properties": {"brand": _d({"type": "string"}, "The brand id whose trademark it is", "lululemon"),
                       "word": _d({"type": "string"}, "The trademark word found", "Align")}}},
        "Brand trademark words the listing uses (then it is a counterfeit, not a dupe): shown only with "
        "`include_counterfeits=true`; empty otherwise"),
}
WHY_PROPS: dict[str, Any] = {
    "signals": _d({"type": "object", "additionalProperties": {"type": "number"}},
                  "Retrieval list -> this listing's raw score in it: `bm25` (words) and `ocr` (text read on the "
                  "photo) are BM25 scores (0 and up); `text`, `image` (the query's) and `anchor_text`, "
                  "`anchor_image` (the brand product's) are cosine similarities (-1 to 1)",
                  {"bm25": 2.31, "text": 0.6112, "anchor_image": 0.8825}),
    "words": _d(STR_LIST, "Query words (as indexed) the listing contains", ["align", "leggings"]),
    "claim": _d(STR_LIST, "Why there is no label or saving against the brand product (absent when nothing "
                "is missing)", ["no brand price"]),
}
# A collapsed listing of the same factory (``group_by_factory``): its own claim, in short.
MORE_PROPS: dict[str, Any] = {
    "id": {"type": "string", "description": "A record id, as `/products/{id}` takes it", "examples": ["p-00590"]},
    "title": _d({"type": "string"}, "Title in `lang`"),
    "titles": _d(STR_MAP, f"Every title: {LANG_MAP}"),
    "score": _d({"type": "number"}, "Fused relevance, as `score`"),
    "min_price": _d(NULL_NUM, f"The lowest tier price, {IN_CURRENCY}", 72.0),
    "currency": _d(NULL_STR, f"{ISO_CODE} of `min_price`", "CNY"),
    "label": _d(_ref("Label"), "Its own endorsement against `replaces`"),
    "replaces": _d(NULL_STR, "The id of the brand product its claim is about; null when none",
                   "bp-lululemon-align"),
    "savings": _d({"type": "array", "items": _ref("Saving")}, "Its savings against that brand product"),
    "original": _d(_ref("Original"), "With `currency=`: `min_price` as the catalog states it"),
}


def _echo_props() -> dict[str, Any]:
    """The ``query`` echo's fields: each parameter as understood (null when not given)."""
    out: dict[str, Any] = {}
    for n, (schema, _desc) in SEARCH_PARAMS.items():
        if n == "image_base64":          # never echoed: it is the photo itself
            continue
        kind = schema["type"]
        if n == "crop":
            out[n] = {"type": ["array", "null"], "items": {"type": "integer"}}
        elif kind == "array":
            out[n] = {"type": "array", "items": {"type": "string"}}
        else:
            out[n] = {"type": [kind, "null"]}
        out[n]["description"] = f"`{n}` as understood, its default when not given (null: none)"
    return out


ERROR_INNER = {
    "type": "object", "required": ["code", "message", "field"], "additionalProperties": False,
    "description": "What went wrong",
    "examples": [ex.ERROR["error"]],
    "properties": {
        "code": _d({"type": "string"}, "Stable machine-readable reason (`invalid_parameter`, `unknown_currency`, "
                   "`rate_limited`, `cursor_expired`, ...): branch on this", "invalid_parameter"),
        "message": _d({"type": "string"}, "Human-readable explanation in English (may change between versions)"),
        "field": _d(NULL_STR, "The request parameter (or body field) at fault; null when none is", "k")}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "additionalProperties": False,
              "description": "Every error answer (4xx, 5xx) has this one shape",
              "examples": [ex.ERROR], "properties": {"error": ERROR_INNER}},
    "Label": {
        "type": "object", "required": ["type"],
        "description": "An endorsement claim with its evidence; `similar` carries none. A label is shown only "
                       "when the factory's endorsement is for this brand, has evidence, and has not expired on "
                       "the day of the request",
        "examples": [ex.LABEL, {"type": "similar", "brand": None, "evidence": None, "verified_by": None,
                                "verified_at": None, "expires_at": None}],
        "properties": {
            "type": _d({"type": "string", "enum": ["same_foundry", "equal_quality", "similar"]},
                       "`same_foundry`: the factory is a verified OEM of the brand (same product, other "
                       "branding); `equal_quality`: not the brand's OEM, verified to reach its quality; "
                       "`similar`: no endorsement, only alike", "same_foundry"),
            "brand": _d(NULL_STR, "The brand id the endorsement is for", "lululemon"),
            "evidence": _d(NULL_STR, "What was checked (audits, contracts, lab tests)",
                           "Audit of OEM purchase orders 2026-Q1 and production line visit"),
            "verified_by": _d(NULL_STR, "Who verified it", "Sourcing team (Li Na)"),
            "verified_at": _d(NULL_STR, "The day it was verified (YYYY-MM-DD)", "2026-07-06"),
            "expires_at": _d(NULL_STR, "The last day it counts (YYYY-MM-DD): after it the label is no longer "
                             "shown", "2027-07-06")},
    },
    "Fx": {"type": "object", "required": ["base", "rates", "date", "source"],
           "description": "The exchange table: savings compare prices converted with it, and `currency=` converts "
                          "with it. Reference rates, not live quotes",
           "properties": {"base": {"type": "string", "description": "The currency the rates are in"},
                          "rates": {"type": "object", "additionalProperties": {"type": "number"},
                                    "description": "Currency code -> what one unit is worth in `base`",
                                    "examples": [{"CNY": 1.0, "USD": 7.1}]},
                          "date": NULL_STR | {"description": "The day the rates are of (YYYY-MM-DD)"},
                          "source": {"type": "string", "description": "Where the rates come from (DUPE_FX)"}},
           "examples": [ex.FX]},
    "Original": {"type": "object", "required": ["currency"],
                 "description": "With `currency=`: the amounts as the catalog states them, before conversion "
                                "(an order is placed in these)",
                 "examples": [ex.ORIGINAL, {"currency": "CNY", "price": 850.0}],
                 "properties": {
                     "currency": _d({"type": "string"}, f"The catalog's {ISO_CODE} of these amounts", "CNY"),
                     "price": _d(NULL_NUM, "The catalog's price (a brand price, or a saving's tier price), in "
                                 "`currency`", 850.0),
                     "min_price": _d(NULL_NUM, "The catalog's lowest tier price, in `currency`", 69.2),
                     "price_tiers": _d({"type": "array", "items": _ref("PriceTier")},
                                       "The catalog's price tiers, in `currency`")}},
    "PriceTier": {"type": "object", "required": ["min_qty", "price"],
                  "description": "One wholesale price: the unit price for orders of at least `min_qty` units",
                  "examples": [{"min_qty": 300, "price": 74.5}],
                  "properties": {
                      "min_qty": _d({"type": "integer"}, "Smallest order quantity, in units of sale, this price "
                                    "applies from", 300),
                      "price": _d({"type": "number"}, "Price of one unit of sale, in the `currency` of the object "
                                  "holding the tiers (a listing, or its `original`)", 74.5)}},
    "Saving": {"type": "object", "required": ["min_qty", "price", "currency", "ratio", "text"],
               "description": "A saving against the brand product, for one price tier; stated only below the "
                              "brand price, in a currency the response's `fx` table converts",
               "examples": [ex.SAVING],
               "properties": {
                   "min_qty": _d({"type": "integer"}, "The tier's smallest order quantity (units of sale)", 2),
                   "price": _d({"type": "number"}, f"The tier's unit price, {IN_CURRENCY}", 84.4),
                   "currency": _d({"type": "string"}, f"{ISO_CODE} of `price`", "CNY"),
                   "ratio": _d({"type": "number", "minimum": 0, "maximum": 1},
                               "factory price / brand price, both in the same currency (the tier price converted "
                               "to the brand price's currency with the response's `fx` table): 0.1 is a tenth "
                               "of the brand price; always < 1, i.e. cheaper (4 decimals; a tier at or above the "
                               "brand price is no saving and is left out). With `basis` `unit`, per unit of net "
                               "contents (g, ml, pieces): the larger of the per-item and per-unit ratios is "
                               "stated, never the more flattering one. `currency=` does not change it", 0.0993),
                   "text": _d({"type": "string"}, "The ratio in words, in English", "about 1/10 of the brand price"),
                   "basis": _d({"type": "string", "enum": ["item", "unit"]},
                               "`item`: price per item compared; `unit`: per unit of net contents, because that "
                               "ratio was the larger", "item"),
                   "original": _d(_ref("Original"), "With `currency=`: the tier price as the catalog states it")}},
    "BrandProduct": {
        "type": "object", "required": ["id", "brand", "title"],
        "description": "A brand's reference product: what dupes are found for, with the brand price savings are "
                       "measured against",
        "examples": [ex.BRAND_PRODUCT],
        "properties": {
            "id": _d({"type": "string"}, "Brand product id (catalog record id)", "bp-lululemon-align"),
            "brand": _d({"type": "string"}, "Brand id, as /brands lists it", "lululemon"),
            "title": _d({"type": "string"}, "Title in `lang` (else English, else Chinese)"),
            "titles": _d(STR_MAP, f"Every title: {LANG_MAP}"),
            "category": _d(NULL_STR, "Its category; dupes are looked for in it", "leggings"),
            "price": _d(NULL_NUM, f"The brand's price of one item, {IN_CURRENCY}", 850.0),
            "currency": _d(NULL_STR, f"{ISO_CODE} of `price`", "CNY"),
            "images": _d({"type": ["array", "null"], "items": {"type": "string"}}, IMAGE_REFS),
            "aliases": _d(STR_LIST, "Nicknames users type for it, any language", ["align pant"]),
            "image_urls": _d(STR_LIST, IMAGE_LINKS),
            "how": {"type": "string", "description": "In `understood`: how it was recognised (user: `brand_product=`; "
                    "alias, words, kind, text, image, ocr, only: the brand's only product in the category)"},
            "confidence": _d({"type": "number"}, "In `understood`: how sure the recognition is, 0 to 1", 0.95),
            "original": _d(_ref("Original"), "With `currency=`: `price` as the catalog states it")},
    },
    "Factory": {
        "type": "object", "required": ["id", "name"],
        "description": "Who makes the listing, and its service terms",
        "examples": [ex.FACTORY],
        "properties": {
            "id": _d(NULL_STR, "Factory id (catalog record id)", "f-024"),
            "name": _d({"type": "string"}, "Name in `lang` (else English, else Chinese)"),
            "names": _d({"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                        f"Every name: {LANG_MAP}"),
            "region": _d(NULL_STR, "Region or industrial belt (as `region=` takes it)", "Zhejiang Yiwu"),
            "certifications": _d(STR_LIST, "Certifications the catalog lists", ["OEKO-TEX Standard 100", "BSCI"]),
            "ship_within_hours": _d(NULL_INT, "Ships an order within this many hours (24, 48, ...); null when "
                                    "not stated", 24),
            "reply_minutes": _d(NULL_INT, "Typical time to answer a buyer's message, in minutes; null when not "
                                "stated", 30),
            "returns": _d(NULL_STR, "Returns policy, as the factory states it", "7-day no-reason returns")},
    },
    "BrandHit": {
        "type": ["object", "null"], "required": ["id", "name", "how", "confidence"],
        "description": "A brand the query (words, text on the photo, or the photo) names or looks like",
        "examples": [ex.BRAND_HIT],
        "properties": {
            "id": _d({"type": "string"}, "Brand id (as `brand=` takes it)", "lululemon"),
            "brand": _d({"type": "string"}, "The same brand id (kept for older clients)", "lululemon"),
            "name": _d({"type": "string"}, "Display name", "lululemon"),
            "matched": _d({"type": "string"}, "The name or alias that matched", "露露乐蒙"),
            "how": _d({"type": "string"}, "How it was found: alias (a name, exactly), fuzzy (misspelt), sound "
                      "(sounds alike), ocr (text on the photo), image, user (`brand=`)", "alias"),
            "confidence": _d({"type": "number"}, "How sure, 0 to 1", 1.0)},
    },
    "Result": {
        "type": "object",
        "required": ["id", "title", "label", "factory", "savings", "price_tiers", "moq", "image_urls", "card_url",
                     "counterfeit", "more", "score", "why"],
        "description": "A factory listing found as a dupe: what it is, who makes it, its terms, and the claim the "
                       "rule allows against the brand product (`label`, `replaces`, `savings`)",
        "examples": [ex.RESULT],
        "properties": {
            "id": {"type": "string", "description": "The product's record id, as `/products/{id}` takes it",
                   "examples": ["p-00589"]},
            **LISTING_PROPS,
            "original": _d(_ref("Original"), "With `currency=`: `price_tiers` and `min_price` as the catalog "
                           "states them"),
            "label": _d(_ref("Label"), "The endorsement claimed for this listing against `replaces` (`similar`: "
                        "none)"),
            "replaces": _d({"anyOf": [_ref("BrandProduct"), {"type": "null"}]},
                           "The brand product the claim is about (the one searched for, or the nearest one of "
                           "the brand); null when it is compared with none"),
            "savings": _d({"type": "array", "items": _ref("Saving")},
                          "One saving per price tier below the brand price of `replaces`; empty when none may be "
                          "claimed (`why.claim` says why)"),
            "why": _d({"type": "object", "properties": WHY_PROPS}, "Why it matched, and why a claim is missing"),
            "declared": {"type": "boolean", "description": "The listing declares itself a dupe of the brand "
                         "product searched for"},
            "score": _d({"type": "number"}, "Fused relevance (z-scores of the retrieval lists, weighted; higher is "
                        "better), comparable within one query only. With a recognised brand, results are ordered by "
                        "label, then declared dupes, then this; else by this", 2.4519),
            "more": {"type": "array", "description": "Other listings of the same factory, each with its own "
                     "claim (`label`, `replaces`: the brand product it is about, `savings`)",
                     "items": {"type": "object", "required": ["id", "label", "replaces", "savings"],
                               "properties": MORE_PROPS}},
            "card_url": {"type": "string", "description": "Share card PNG: brand product vs. this dupe",
                         "examples": ["https://dupes.example/card/p-00589.png?bp=bp-lululemon-align"]},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["understood", "total", "results", "page", "k", "offset", "next", "took_ms", "query"],
        "description": PAGING,
        "examples": [ex.SEARCH_RESPONSE],
        "properties": {
            "understood": {
                "type": "object",
                "required": ["text", "ocr_text", "brand", "brand_product", "looks_like", "other_brands"],
                "description": "What the engine understood the query to mean (correct it with `brand=`, "
                               "`brand_product=`)",
                "properties": {
                    "text": _d(NULL_STR, "The query text searched (`q`, or a page's product name)",
                               "lululemon align dupe"),
                    "ocr_text": _d(NULL_STR, "Text read on the photo (null without a photo or with `ocr=false`)"),
                    "tokens": _d(STR_LIST, "The query's words as the index analyses them (lower case, Chinese "
                                 "segmented)", ["lululemon", "align", "dupe"]),
                    "ocr_error": {**NULL_STR, "description": "Set when the text on the photo could not be "
                                  "read: the search ran without it"},
                    "brand": _d(_ref("BrandHit"), "The brand meant (null when none was recognised)"),
                    "other_brands": _d({"type": "array", "items": _ref("BrandHit")},
                                       "Other brands the query also names or may mean"),
                    "brand_product": _d({"anyOf": [_ref("BrandProduct"), {"type": "null"}]},
                                        "The brand product meant, whose dupes are searched (with `how` and "
                                        "`confidence`); null when none was recognised"),
                    "looks_like": _d({"type": "array", "items": _ref("BrandProduct")},
                                     "With a photo: the brand products it looks most like"),
                    "alternatives": {"type": "array", "items": _ref("BrandProduct"),
                                     "description": "Other brand products the query may mean"},
                    "categories": _d(STR_LIST, "Categories the search was narrowed to (from the brand product "
                                     "or the query)", ["leggings"]),
                    "unknown_brand": {**NULL_STR, "description": "A brand the query names that the catalog "
                                      "does not carry; then no result carries a label or a saving"},
                    "lexical_weight": _d(NULL_NUM, "Weight of the word match (BM25) against the text vectors in "
                                         "the fusion, 0 to 1 (higher when the query's words are found as they "
                                         "are, e.g. a model number); null without words", 0.6),
                    "page": {**_ref("PageProduct"), "description": "With `page_url`: what was read on the page"},
                    "objects": {"type": "array", "items": _ref("PhotoObject"),
                                "description": "The distinct products found on the photo, left to right and "
                                "top to bottom, when it holds two or more (else empty: the whole photo is "
                                "searched). The most prominent one is searched by default; `object=i` searches "
                                "another. None with `crop`"},
                }},
            "fx": _d(_ref("Fx"), "The exchange table savings were computed with (and `currency=` converted with)"),
            "total": {"type": "integer", "minimum": 0, "maximum": RESULT_DEPTH,
                      "description": "Results of the query (all its pages): the same on every page", "examples": [12]},
            "took_ms": _d({"type": "number", "minimum": 0}, "Time the search took in the service, in milliseconds",
                          84.2),
            "timings_ms": _d({"type": "object", "additionalProperties": {"type": "number"}},
                             "Time of each stage in milliseconds (understand, ocr, objects, retrieve, fuse, rank; "
                             "only the stages that ran)", {"understand": 3.1, "retrieve": 61.7}),
            "results": _d({"type": "array", "items": _ref("Result")}, "This page's dupes, best first"),
            "page": {"type": "integer", "minimum": 1, "description": "The page `offset` falls in", "examples": [1]},
            "k": _d({"type": "integer", "minimum": 1}, "Results per page, as asked (`k`)", 10),
            "offset": {"type": "integer", "minimum": 0, "description": "The first result's position in the list",
                       "examples": [0]},
            "next": {**NULL_STR, "description": "Cursor of the next page (pass it as `cursor`); null on the last",
                     "examples": [ex.CURSOR]},
            "query": _d({"type": "object", "properties": _echo_props()},
                        "The parameters as understood, under their request names with defaults filled in (no "
                        "photo bytes): it can be sent back as a request"),
        },
    },
    "PageProduct": {
        "type": "object", "required": ["url", "name", "brand", "price", "currency", "image", "image_error",
                                       "read_from"],
        "description": "The product a `page_url` page describes, as read from it",
        "examples": [ex.PAGE_PRODUCT],
        "properties": {
            "url": {"type": "string", "description": "The page's URL after redirects"},
            "name": {**NULL_STR, "description": "The product's name (with `brand`, the query text)"},
            "brand": _d(NULL_STR, "The brand the page names", "lululemon"),
            "price": {**NULL_NUM, "description": "The price the page states, in `currency` (not converted)"},
            "currency": _d(NULL_STR, f"{ISO_CODE} of `price`, as the page states it", "USD"),
            "image": {**NULL_STR, "description": "The main image's URL (searched as the photo)"},
            "image_error": {**NULL_STR, "description": "Set when the page has no image or it could not be "
                            "fetched or read: the search ran on the page's words only"},
            "read_from": {"type": "array", "items": {"type": "string", "enum": ["json-ld", "microdata",
                                                                               "opengraph"]},
                          "description": "Which kinds of product data on the page were used, most trusted first"},
        },
    },
    "PhotoObject": {
        "type": "object", "required": ["box", "brand_product", "category", "confidence", "searched"],
        "description": "One product found on the photo",
        "examples": [{"box": [120, 80, 900, 1400], "brand_product": {"id": "bp-dyson-airwrap",
                      "name": "Dyson Airwrap multi-styler"}, "category": "hair_styler", "confidence": 0.71,
                      "area": 0.105, "searched": True}],
        "properties": {
            "box": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4,
                    "description": "x, y, w, h in the pixels of the photo as sent (the square around it, "
                    "a little wider, is what is searched)"},
            "brand_product": {"type": ["object", "null"], "required": ["id", "name"],
                              "properties": {"id": _d({"type": "string"}, "Brand product id"),
                                             "name": _d({"type": "string"}, "Its title in `lang`")},
                              "description": "The brand product it looks like; null when none closely"},
            "category": {**NULL_STR, "description": "The category of the brand product nearest to it"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "Image similarity to that brand product"},
            "area": {"type": "number", "description": "Share of the photo it covers"},
            "searched": {"type": "boolean", "description": "This object is what the results are for"},
        },
    },
    "BatchItemResult": {
        "type": "object", "required": ["index", "id", "status"],
        "description": "One batch item's outcome: `result` (status 200) or `error` (its own 4xx/5xx status)",
        "examples": [ex.BATCH_ITEM_OK, ex.BATCH_ITEM_FAILED],
        "properties": {
            "index": _d({"type": "integer", "minimum": 0}, "The item's position in the request's `items`, from 0",
                        0),
            "id": _d({"type": ["string", "integer", "null"]}, "The item's `id`, echoed (null when it had none)",
                     "row-1"),
            "status": _d({"type": "integer"}, "The HTTP status this search alone would have had", 200),
            "result": _d(_ref("SearchResponse"), "With status 200: the search's answer, as `/search` gives it"),
            "error": {**ERROR_INNER, "description": "With any other status: why this item failed"},
        },
    },
    "Product": {
        "type": "object", "required": ["id", "title", "factory", "dupe_of", "image_urls"],
        "description": "A factory listing with its factory, and for each brand product it declares it replaces, "
                       "the claim the rule allows today",
        "examples": [ex.PRODUCT],
        "properties": {
            "id": _d({"type": "string"}, "The product's record id", "p-00589"),
            **LISTING_PROPS,
            "dupe_of": _d({"type": "array", "items": {"allOf": [_ref("BrandProduct"), {
                "type": "object", "required": ["label", "savings", "card_url", "comparable"],
                "properties": {
                    "label": _d(_ref("Label"), "The endorsement claimed against this brand product today"),
                    "savings": _d({"type": "array", "items": _ref("Saving")},
                                  "Savings per price tier against its brand price"),
                    "comparable": _d({"type": "boolean"}, "Whether the listing may be compared with it at all "
                                     "(same category, not another brand's dupe, not a counterfeit)", True),
                    "claim_problems": _d(STR_LIST, "Why a label or a saving is missing", []),
                    "card_url": _d(NULL_STR, "Share card PNG (brand product vs. this listing); null when not "
                                   "comparable")}}]}},
                "The brand products the listing declares itself a dupe of, each with its claim"),
            "fx": _d(_ref("Fx"), "The exchange table savings were computed with"),
            "original": _d(_ref("Original"), "With `currency=`: `price_tiers` and `min_price` as the catalog "
                           "states them"),
        },
    },
    "Brand": {
        "type": "object", "required": ["id", "name", "names", "aliases", "categories", "brand_products"],
        "description": "A brand the catalog carries, with its reference products",
        "examples": [ex.BRAND],
        "properties": {"id": _d({"type": "string"}, "Brand id (as `brand=` takes it)", "lululemon"),
                       "name": _d({"type": "string"}, "Display name in `lang`", "lululemon"),
                       "names": _d(STR_MAP, f"Every name: {LANG_MAP}"),
                       "aliases": _d(STR_LIST, "Other names users type (nicknames, transliterations)", ["lulu"]),
                       "categories": _d(STR_LIST, "Categories it sells in", ["leggings"]),
                       "brand_products": _d({"type": "array", "items": _ref("BrandProduct")},
                                            "Its reference products (what dupes are found for)")},
    },
    "ReindexStatus": {
        "type": "object", "required": ["state"],
        "description": "The last reindex (anonymous and non-admin callers see `state` only)",
        "examples": [ex.REINDEX_STATUS, {"state": "idle"}],
        "properties": {"state": _d({"type": "string", "enum": ["idle", "running", "done", "failed"]},
                                   "`idle`: none since the start", "done"),
                       "started_at": _d(NULL_STR, "When it started (ISO 8601, UTC)", "2026-12-01T08:00:02+00:00"),
                       "finished_at": _d(NULL_STR, "When it ended (ISO 8601, UTC); null while running"),
                       "summary": _d(NULL_STR, "What the indexer did (records indexed, unchanged, removed, "
                                     "rejected, seconds)"),
                       "error": _d(NULL_STR, "Why it failed (state `failed`)")},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_id(description: str, example: str) -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "examples": [example]}}


def _batch_description(batch_max: int, anon_per_minute: int, key_per_minute: int) -> str:
    """The batch's rate-limit rule, as ``web.api.search_batch`` and ``charge`` apply it."""
    example = (f" For example, an anonymous caller's full batch of {batch_max} leaves {anon_per_minute - batch_max} "
               f"of its {anon_per_minute} tokens." if batch_max < anon_per_minute else "")
    return ("Rate limit: each item counts as one request against the caller's rate limit, exactly as the "
            "same searches sent one by one would: a batch of n items takes n tokens of the caller's bucket "
            "(the request itself is the first). Anonymous callers have "
            f"{anon_per_minute} requests per minute per client address, API keys {key_per_minute} (or the "
            "key's own limit); a bucket holds one minute's worth and refills continuously. A batch with more "
            "items than the caller's per-minute limit could never pass and is refused with 413 "
            "`batch_over_rate_limit`; a batch that needs more tokens than are left is refused whole with "
            "429 and `Retry-After` (no item runs; the request's own token is spent). `X-RateLimit-Remaining` "
            f"says what is left.{example} "
            "Image URLs and pages of the items are fetched concurrently within one time budget; each item "
            "succeeds or fails alone (its own `status`), except when the index is unavailable (503).")


def spec(server_url: str = "/api/v1", batch_max: int = 20, anon_per_minute: int = 30,
         key_per_minute: int = 120) -> dict[str, Any]:
    """The document; the numbers are the deployment's (``BATCH_MAX``, ``ANON_RATE_LIMIT_PER_MIN``,
    ``RATE_LIMIT_PER_MIN``), so what it states is what the service does."""
    search_responses = {"200": _json(_ref("SearchResponse"), "Dupes, best first, with what was understood"),
                        **COMMON_ERRORS, **PHOTO_ERRORS, **CURSOR_ERRORS}
    admin_errors = {"401": _error("No API key, or an unknown one"), "403": _error("Not an admin key"),
                    "429": COMMON_ERRORS["429"]}
    security = [{"apiKey": []}, {"bearer": []}, {}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dupe search API", "version": "1.0.0",
            "description": (
                "Find factory-made alternatives (dupes) to brand products, by text or photo, with "
                "endorsement labels (same_foundry, equal_quality) and their evidence. Anonymous callers "
                f"may make {anon_per_minute} requests per minute per client address, API keys (X-API-Key or "
                f"Authorization: Bearer) {key_per_minute} unless the key sets its own; each batch item counts "
                "as one request. Money is always stated with its ISO 4217 `currency` (the catalog's, or the "
                "one `currency=` asks for); `ratio` is factory price / brand price in the same currency (< 1 "
                "is cheaper); times are in milliseconds (`took_ms`), shipping in hours "
                "(`ship_within_hours`), replies in minutes (`reply_minutes`). Every error "
                "is {\"error\": {\"code\", \"message\", \"field\"}}. Links (`image_urls` of catalog "
                "files, `card_url`) are absolute when the service is configured with its public URL, "
                "else relative to this service's root. JSON bodies are limited in size and to "
                f"{MAX_JSON_TOKENS} of the bytes '{{', '[' and ','. " + PAGING),
        },
        "servers": [{"url": server_url}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": security,
        "paths": {
            "/search": {
                "get": {
                    "operationId": "searchGet", "summary": "Search by text (or a photo URL / base64)",
                    "parameters": _query(list(SEARCH_PARAMS)),
                    "responses": search_responses,
                },
                "post": {
                    "operationId": "searchPost", "summary": "Search by photo (multipart, base64 or URL) and/or text",
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": _body_schema()},
                        "multipart/form-data": {"schema": _multipart_schema(),
                                                "encoding": {"photo": {"contentType": "image/*"}}},
                    }},
                    "responses": {**search_responses,
                                  "415": _error("Unsupported body type or image")},
                },
            },
            "/search/batch": {
                "post": {
                    "operationId": "searchBatch",
                    "summary": f"Up to {batch_max} searches in one request; each item succeeds or fails alone",
                    "description": _batch_description(batch_max, anon_per_minute, key_per_minute),
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["items"], "additionalProperties": False,
                        "examples": [ex.BATCH_BODY],
                        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": batch_max,
                                                 "items": _body_schema(batch_item=True),
                                                 "description": f"1 to {batch_max} searches, each with the "
                                                                "parameters of POST /search (JSON) and an "
                                                                "optional `id`; each counts as one request "
                                                                "against the rate limit"}}}}}},
                    "responses": {
                        "200": _json({"type": "object", "required": ["items", "ok", "failed"],
                                      "examples": [ex.BATCH_RESPONSE], "properties": {
                            "items": _d({"type": "array", "items": _ref("BatchItemResult")},
                                        "One entry per item, in the request's order"),
                            "ok": _d({"type": "integer", "minimum": 0}, "Items answered with status 200", 1),
                            "failed": _d({"type": "integer", "minimum": 0}, "Items that failed", 1)}},
                            "One entry per item, in order: `result`, or `error` with its status"),
                        **COMMON_ERRORS,
                        "413": _error("Too many items, more items than the caller's per-minute limit "
                                      "(`batch_over_rate_limit`), or body too large"),
                        "415": _error("The body must be application/json"),
                    },
                },
            },
            "/products/{id}": {
                "get": {
                    "operationId": "getProduct", "summary": "A factory product, its factory and what it replaces",
                    "parameters": [_path_id("The product's record id (`results[].id`)", "p-00589"),
                                   *_query(["lang", "currency"])],
                    "responses": {"200": _json(_ref("Product"), "The product"),
                                  "404": _error("No such product"), **COMMON_ERRORS},
                },
            },
            "/brands": {
                "get": {
                    "operationId": "listBrands", "summary": "Brands and their reference products",
                    "parameters": _query(["lang", "currency"]),
                    "responses": {"200": _json({"type": "object", "required": ["brands"],
                                                "examples": [{"brands": [ex.BRAND]}], "properties": {
                        "brands": _d({"type": "array", "items": _ref("Brand")}, "Every brand, by id")}},
                        "All brands"), **COMMON_ERRORS},
                },
            },
            "/currencies": {
                "get": {
                    "operationId": "currencies", "summary": "The exchange table `currency=` converts with",
                    "responses": {"200": _json({"type": "object", "required": ["fx"], "examples": [{"fx": ex.FX}],
                                                "properties": {"fx": _d(_ref("Fx"), "The exchange table")}},
                                               "Its base, rates, date and source"), **COMMON_ERRORS},
                },
            },
            "/brand-products/{id}/dupes": {
                "get": {
                    "operationId": "brandProductDupes", "summary": "Dupes of one brand product",
                    "parameters": [_path_id("A brand product id (from /brands, or `understood.brand_product.id`)",
                                            "bp-lululemon-align"),
                                   *_query(list(LISTING))],
                    "responses": {
                        "200": _json({"allOf": [_ref("SearchResponse"), {
                            "type": "object", "required": ["brand_product"],
                            "properties": {"brand_product": _d(_ref("BrandProduct"), "The brand product asked for")}}],
                            "examples": [{**ex.SEARCH_RESPONSE, "brand_product": ex.BRAND_PRODUCT}]}, "Its dupes"),
                        "404": _error("No such brand product"), **COMMON_ERRORS, **CURSOR_ERRORS},
                },
            },
            "/health": {
                "get": {
                    "operationId": "health", "summary": "Whether the index can be searched", "security": [{}],
                    "responses": {
                        "200": _json({"type": "object", "required": ["status", "index"],
                                      "examples": [ex.HEALTH], "properties": {
                            "status": _d({"enum": ["ok", "degraded"]}, "`ok`, or `degraded`: searches answer "
                                         "without some damaged records (see `problems`)", "ok"),
                            "problems": {"type": "array", "items": {"type": "string"},
                                         "description": "With status degraded: what the index could not read "
                                                        "back and leaves out of search until `dupe index` "
                                                        "writes it again"},
                            "index": _d({"type": "object", "required": ["count", "models", "generation"],
                                         "properties": {
                                "count": _d({"type": "integer", "minimum": 0}, "Records in the index (brands, brand "
                                            "products, factories, products)", 1166),
                                "models": _d({"type": "object", "additionalProperties": {"type": "string"}},
                                             "Role (text, image) -> the embedding model the index was built with "
                                             "(name@version)", ex.MODELS),
                                "generation": _d({"type": "integer"}, "Changes with every write to the index (a "
                                                 "cursor of another generation is expired)", 7)}},
                                        "The index searched"),
                            "reindex": _d(_ref("ReindexStatus"), "The last reindex")}},
                            "Ready (degraded: searches answer without some damaged records)"),
                        "400": COMMON_ERRORS["400"],
                        "401": COMMON_ERRORS["401"],
                        "503": _error("Still loading the index and models after a start (code `starting`: "
                                      "wait `Retry-After` seconds), or the index cannot be searched",
                                      RETRY_AFTER)},
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi", "summary": "This document", "security": [{}],
                    "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"],
                                                "examples": [{"openapi": "3.1.0", "paths": {}}], "properties": {
                        "openapi": _d({"type": "string"}, "The OpenAPI version", "3.1.0"),
                        "paths": _d({"type": "object", "additionalProperties": True},
                                    "The operations, by path (OpenAPI Path Item objects)")}}, "OpenAPI 3.1"),
                                  "400": COMMON_ERRORS["400"], "401": COMMON_ERRORS["401"]},
                },
            },
            "/admin/reindex": {
                "get": {
                    "operationId": "reindexStatus", "summary": "State of the last reindex (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "responses": {"200": _json({"type": "object", "required": ["reindex"],
                                                "examples": [{"reindex": ex.REINDEX_STATUS}], "properties": {
                        "reindex": _d(_ref("ReindexStatus"), "The last reindex")}}, "Status"), **admin_errors,
                        "400": COMMON_ERRORS["400"]},
                },
                "post": {
                    "operationId": "reindex",
                    "summary": "Re-run the indexer on the catalog folder in the background (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "responses": {"202": _json({"type": "object", "required": ["reindex"], "examples": [{"reindex": {
                        "state": "running", "started_at": "2026-12-01T08:00:02+00:00", "finished_at": None,
                        "summary": None, "error": None}}], "properties": {
                        "reindex": _d(_ref("ReindexStatus"), "The reindex just started: follow it with GET")}},
                        "Started"), **admin_errors,
                        "400": COMMON_ERRORS["400"],
                        "409": _error("A reindex is already running")},
                },
            },
            "/admin/catalog/{name}": {
                "put": {
                    "operationId": "uploadCatalogFile",
                    "summary": "Replace one catalog file (then POST /admin/reindex) (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "parameters": [{"name": "name", "in": "path", "required": True,
                                    "description": "The catalog file to replace", "schema": {
                        "type": "string", "enum": list(CATALOG_FILES), "examples": ["products.jsonl"]}}],
                    "requestBody": {"required": True, "content": {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    "responses": {"200": _json({"type": "object", "required": ["file", "bytes"],
                                                "examples": [{"file": "products.jsonl", "bytes": 1843321}],
                                                "properties": {
                        "file": _d({"type": "string"}, "The file stored", "products.jsonl"),
                        "bytes": _d({"type": "integer", "minimum": 1}, "Its size, in bytes", 1843321)}}, "Stored"),
                                  **admin_errors, "400": COMMON_ERRORS["400"],
                                  "404": _error("Not a catalog file name"),
                                  "413": _error("File too large"), "422": _error("Not UTF-8")},
                },
            },
        },
    }
