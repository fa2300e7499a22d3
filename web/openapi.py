"""The OpenAPI 3.1 document of API v1, written by hand and kept true by the tests
(``tests/test_web_openapi.py`` runs schemathesis against the app with it)."""
from __future__ import annotations

from typing import Any

from search.engine import RESULT_DEPTH
from web.bodylimits import MAX_JSON_TOKENS
from web.cursor import MAX_TOKEN_CHARS
from web.params import LABELS, MAX_K, MAX_QUERY_CHARS, MAX_RESULTS_DEPTH, MODES

NULL_STR = {"type": ["string", "null"]}
NULL_NUM = {"type": ["number", "null"]}
NULL_INT = {"type": ["integer", "null"]}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
    "q": ({"type": "string", "maxLength": MAX_QUERY_CHARS},
          "Text query in any language: brand, product, model, attributes"),
    "lang": ({"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$"},
             "Language of titles in results (falls back to English, then Chinese). Default en"),
    "crop": ({"type": "string", "pattern": "^[0-9]{1,6},[0-9]{1,6},[0-9]{1,6},[0-9]{1,6}$"},
             "Search only this region of the photo: x,y,w,h in pixels (no objects are detected then)"),
    "object": ({"type": "integer", "minimum": 0, "maximum": 99, "examples": [1]},
               ("Search this one of the products found on the photo: an index into `understood.objects` "
                "of the same photo's response (by default the most prominent one is searched). Not with `crop`")),
    "category": ({"type": "string", "maxLength": 200}, "Only this category"),
    "price_min": ({"type": "number", "minimum": 0, "maximum": 1e9}, "Lowest price (in the listing's currency)"),
    "price_max": ({"type": "number", "minimum": 0, "maximum": 1e9}, "Highest lowest-tier price"),
    "moq_max": ({"type": "integer", "minimum": 1, "maximum": 1_000_000_000}, "Largest acceptable MOQ"),
    "label": ({"type": "array", "items": {"type": "string", "enum": list(LABELS)}},
              "Only factories with one of these endorsement labels (repeatable)"),
    "region": ({"type": "string", "maxLength": 200}, "Only factories in this region"),
    "ship_within": ({"type": "integer", "minimum": 1, "maximum": 10_000},
                    "Only factories shipping within this many hours"),
    "k": ({"type": "integer", "minimum": 1, "maximum": MAX_K}, "Results per page (default 20)"),
    "page": ({"type": "integer", "minimum": 1, "maximum": MAX_RESULTS_DEPTH},
             f"Page number, from 1 (results stop at `total`, at most {RESULT_DEPTH}). Not with `cursor`"),
    "cursor": ({"type": "string", "maxLength": MAX_TOKEN_CHARS, "pattern": "^[A-Za-z0-9_-]+={0,2}$"},
               ("Opaque: the `next` of the previous page, with the same other parameters (`k` may change). "
                "Not with `page`")),
    "group_by_factory": ({"type": "boolean"}, "One result per factory, others in `more` (default true)"),
    "include_counterfeits": ({"type": "boolean"},
                             "Include listings using brand trademarks, flagged in `counterfeit` (default false)"),
    "brand": ({"type": "string", "maxLength": 200}, "Correct the detected brand (a brand id from /brands)"),
    "brand_product": ({"type": "string", "maxLength": 200}, "Correct the detected brand product (an id)"),
    "ocr": ({"type": "boolean"}, "Read text on the photo (default true)"),
    "mode": ({"type": "string", "enum": list(MODES)}, "Retrieval mode (default hybrid)"),
    "image_url": ({"type": "string", "maxLength": 2048},
                  "Photo to fetch (http/https, public addresses only, image content type, size-capped)"),
    "image_base64": ({"type": "string"}, "Photo as base64 (a data: URL prefix is allowed)"),
    "photo_id": ({"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}, "A photo kept by the search page"),
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
    if batch_item:
        props["id"] = {"type": ["string", "integer"], "description": "Your reference, echoed in the result"}
    return {"type": "object", "properties": props, "additionalProperties": False}


def _multipart_schema() -> dict[str, Any]:
    props: dict[str, Any] = {"photo": {"type": "string", "format": "binary", "contentMediaType": "image/*",
                                       "description": "The photo file"}}
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


ERROR_INNER = {
    "type": "object", "required": ["code", "message", "field"], "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": NULL_STR}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "additionalProperties": False,
              "properties": {"error": ERROR_INNER}},
    "Label": {
        "type": "object", "required": ["type"],
        "description": "An endorsement claim with its evidence; `similar` carries none",
        "properties": {"type": {"type": "string", "enum": ["same_foundry", "equal_quality", "similar"]},
                       "brand": NULL_STR, "evidence": NULL_STR, "verified_by": NULL_STR,
                       "verified_at": NULL_STR, "expires_at": NULL_STR},
    },
    "Fx": {"type": "object", "required": ["base", "rates", "date", "source"],
           "description": "The exchange table: savings compare prices converted with it, and `currency=` converts "
                          "with it. Reference rates, not live quotes",
           "properties": {"base": {"type": "string", "description": "The currency the rates are in"},
                          "rates": {"type": "object", "additionalProperties": {"type": "number"},
                                    "description": "Currency code -> what one unit is worth in `base`",
                                    "examples": [{"CNY": 1.0, "USD": 7.1}]},
                          "date": NULL_STR | {"description": "The day the rates are of (YYYY-MM-DD)"},
                          "source": {"type": "string", "description": "Where the rates come from (DUPE_FX)"}}},
    "Original": {"type": "object", "required": ["currency"],
                 "description": "With `currency=`: the amounts as the catalog states them, before conversion",
                 "properties": {"currency": {"type": "string"}, "price": NULL_NUM, "min_price": NULL_NUM,
                                "price_tiers": {"type": "array", "items": _ref("PriceTier")}}},
    "PriceTier": {"type": "object", "required": ["min_qty", "price"],
                  "properties": {"min_qty": {"type": "integer"}, "price": {"type": "number"}}},
    "Saving": {"type": "object", "required": ["min_qty", "price", "currency", "ratio", "text"],
               "description": "A saving against the brand product, for one price tier; stated only below the "
                              "brand price, in a currency the response's `fx` table converts",
               "properties": {"min_qty": {"type": "integer"}, "price": {"type": "number"},
                              "currency": {"type": "string"},
                              "ratio": {"type": "number", "description": "tier price / brand price (< 1), in the "
                                        "brand price's currency; per unit of net contents when that is larger"},
                              "text": {"type": "string"},
                              "basis": {"type": "string", "enum": ["item", "unit"]},
                              "original": _ref("Original")}},
    "BrandProduct": {
        "type": "object", "required": ["id", "brand", "title"],
        "properties": {"id": {"type": "string"}, "brand": {"type": "string"}, "title": {"type": "string"},
                       "titles": STR_MAP, "category": NULL_STR, "price": NULL_NUM, "currency": NULL_STR,
                       "images": {"type": ["array", "null"], "items": {"type": "string"}},
                       "aliases": {"type": "array", "items": {"type": "string"}},
                       "image_urls": {"type": "array", "items": {"type": "string"}},
                       "how": {"type": "string", "description": "In `understood`: how it was recognised "
                               "(user, alias, words, text, image, ocr, only)"},
                       "confidence": {"type": "number"}, "original": _ref("Original")},
    },
    "Factory": {
        "type": "object", "required": ["id", "name"],
        "properties": {"id": NULL_STR, "name": {"type": "string"}, "names": {"type": ["object", "null"]},
                       "region": NULL_STR, "certifications": {"type": "array"},
                       "ship_within_hours": NULL_INT, "reply_minutes": NULL_INT, "returns": NULL_STR},
    },
    "BrandHit": {
        "type": ["object", "null"], "required": ["id", "name", "how", "confidence"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "matched": {"type": "string"},
                       "how": {"type": "string"}, "confidence": {"type": "number"}},
    },
    "Result": {
        "type": "object",
        "required": ["id", "title", "label", "factory", "savings", "price_tiers", "moq", "image_urls", "card_url",
                     "counterfeit", "more", "score", "why"],
        "properties": {
            "id": {"type": "string", "description": "The product's record id, as `/products/{id}` takes it"},
            "title": {"type": "string"}, "titles": STR_MAP, "category": NULL_STR,
            "description": NULL_STR, "attributes": {"type": ["object", "null"]},
            "images": {"type": "array", "items": {"type": "string"}},
            "image_urls": {"type": "array", "items": {"type": "string"}},
            "price_tiers": {"type": ["array", "null"], "items": _ref("PriceTier")},
            "currency": NULL_STR, "min_price": NULL_NUM, "moq": NULL_INT, "original": _ref("Original"),
            "factory": _ref("Factory"), "label": _ref("Label"),
            "replaces": {"anyOf": [_ref("BrandProduct"), {"type": "null"}]},
            "savings": {"type": "array", "items": _ref("Saving")},
            "why": {"type": "object", "description": "Signals that matched (bm25, text, image, ocr, and "
                    "anchor_text/anchor_image: similarity to the brand product), words, and `claim`: why "
                    "there is no label or saving"},
            "declared": {"type": "boolean", "description": "The listing declares itself a dupe of the brand "
                         "product searched for"},
            "dupe_of": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number"},
            "counterfeit": {"type": "array", "items": {"type": "object", "required": ["brand", "word"]}},
            "more": {"type": "array", "description": "Other listings of the same factory, each with its own "
                     "claim (`label`, `replaces`: the brand product it is about, `savings`)",
                     "items": {"type": "object", "required": ["id", "label", "replaces", "savings"],
                               "properties": {"id": {"type": "string", "description": "A record id, as "
                                                     "`/products/{id}` takes it"}}}},
            "card_url": {"type": "string", "description": "Share card PNG: brand product vs. this dupe"},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["understood", "total", "results", "page", "k", "offset", "next", "took_ms", "query"],
        "description": PAGING,
        "properties": {
            "understood": {
                "type": "object",
                "required": ["text", "ocr_text", "brand", "brand_product", "looks_like", "other_brands"],
                "properties": {
                    "text": NULL_STR, "ocr_text": NULL_STR, "tokens": {"type": "array", "items": {"type": "string"}},
                    "ocr_error": {**NULL_STR, "description": "Set when the text on the photo could not be "
                                  "read: the search ran without it"},
                    "brand": _ref("BrandHit"), "other_brands": {"type": "array", "items": _ref("BrandHit")},
                    "brand_product": {"anyOf": [_ref("BrandProduct"), {"type": "null"}]},
                    "looks_like": {"type": "array", "items": _ref("BrandProduct")},
                    "alternatives": {"type": "array", "items": _ref("BrandProduct"),
                                     "description": "Other brand products the query may mean"},
                    "categories": {"type": "array", "items": {"type": "string"}},
                    "unknown_brand": {**NULL_STR, "description": "A brand the query names that the catalog "
                                      "does not carry; then no result carries a label or a saving"},
                    "lexical_weight": NULL_NUM,
                    "page": {**_ref("PageProduct"), "description": "With `page_url`: what was read on the page"},
                    "objects": {"type": "array", "items": _ref("PhotoObject"),
                                "description": "The distinct products found on the photo, left to right and "
                                "top to bottom, when it holds two or more (else empty: the whole photo is "
                                "searched). The most prominent one is searched by default; `object=i` searches "
                                "another. None with `crop`"},
                }},
            "fx": _ref("Fx"),
            "total": {"type": "integer", "minimum": 0, "maximum": RESULT_DEPTH,
                      "description": "Results of the query (all its pages): the same on every page"},
            "took_ms": {"type": "number"}, "timings_ms": {"type": "object"},
            "results": {"type": "array", "items": _ref("Result")},
            "page": {"type": "integer", "minimum": 1, "description": "The page `offset` falls in"},
            "k": {"type": "integer", "minimum": 1},
            "offset": {"type": "integer", "minimum": 0, "description": "The first result's position in the list"},
            "next": {**NULL_STR, "description": "Cursor of the next page (pass it as `cursor`); null on the last"},
            "query": {"type": "object", "description": "The parameters as understood, under their request names"},
        },
    },
    "PageProduct": {
        "type": "object", "required": ["url", "name", "brand", "price", "currency", "image", "image_error",
                                       "read_from"],
        "description": "The product a `page_url` page describes, as read from it",
        "properties": {
            "url": {"type": "string", "description": "The page's URL after redirects"},
            "name": {**NULL_STR, "description": "The product's name (with `brand`, the query text)"},
            "brand": NULL_STR, "price": {**NULL_NUM, "description": "The price the page states"},
            "currency": NULL_STR,
            "image": {**NULL_STR, "description": "The main image's URL (searched as the photo)"},
            "image_error": {**NULL_STR, "description": "Set when the page has no image or it could not be "
                            "fetched or read: the search ran on the page's words only"},
            "read_from": {"type": "array", "items": {"type": "string", "enum": ["json-ld", "microdata",
                                                                               "opengraph"]}},
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
                              "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
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
        "properties": {
            "index": {"type": "integer"}, "id": {"type": ["string", "integer", "null"]},
            "status": {"type": "integer"},
            "result": _ref("SearchResponse"),
            "error": ERROR_INNER,
        },
    },
    "Product": {
        "type": "object", "required": ["id", "title", "factory", "dupe_of", "image_urls"],
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "titles": STR_MAP,
            "price_tiers": {"type": ["array", "null"], "items": _ref("PriceTier")},
            "currency": NULL_STR, "min_price": NULL_NUM, "moq": NULL_INT,
            "image_urls": {"type": "array", "items": {"type": "string"}},
            "factory": _ref("Factory"),
            "dupe_of": {"type": "array", "items": {"allOf": [_ref("BrandProduct"), {
                "type": "object", "required": ["label", "savings", "card_url", "comparable"],
                "properties": {"label": _ref("Label"), "savings": {"type": "array", "items": _ref("Saving")},
                               "comparable": {"type": "boolean"},
                               "claim_problems": {"type": "array", "items": {"type": "string"}},
                               "card_url": NULL_STR}}]}},
            "counterfeit": {"type": "array", "items": {"type": "object", "required": ["brand", "word"]}},
            "fx": _ref("Fx"), "original": _ref("Original"),
        },
    },
    "Brand": {
        "type": "object", "required": ["id", "name", "names", "aliases", "categories", "brand_products"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "names": STR_MAP,
                       "aliases": {"type": "array", "items": {"type": "string"}},
                       "categories": {"type": "array", "items": {"type": "string"}},
                       "brand_products": {"type": "array", "items": _ref("BrandProduct")}},
    },
    "ReindexStatus": {
        "type": "object", "required": ["state"],
        "properties": {"state": {"type": "string", "enum": ["idle", "running", "done", "failed"]},
                       "started_at": NULL_STR, "finished_at": NULL_STR, "summary": NULL_STR, "error": NULL_STR},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def spec(server_url: str = "/api/v1", batch_max: int = 20) -> dict[str, Any]:
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
                "have a lower rate limit than API keys (X-API-Key or Authorization: Bearer). Every error "
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
                    "description": ("Each item counts as one request against the rate limit (the batch "
                                    "needs as many tokens as it has items), so a batch larger than the "
                                    "caller's per-minute limit is refused with 413 `batch_over_rate_limit`. "
                                    "Image URLs of the items are fetched concurrently within one time "
                                    "budget; each item succeeds or fails alone, except when the index "
                                    "is unavailable (503)."),
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["items"], "additionalProperties": False,
                        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": batch_max,
                                                 "items": _body_schema(batch_item=True)}}}}}},
                    "responses": {
                        "200": _json({"type": "object", "required": ["items", "ok", "failed"], "properties": {
                            "items": {"type": "array", "items": _ref("BatchItemResult")},
                            "ok": {"type": "integer"}, "failed": {"type": "integer"}}},
                            "One entry per item, in order: `result`, or `error` with its status"),
                        **COMMON_ERRORS,
                        "413": _error("Too many items, more items than the caller's per-minute limit, "
                                      "or body too large"),
                        "415": _error("The body must be application/json"),
                    },
                },
            },
            "/products/{id}": {
                "get": {
                    "operationId": "getProduct", "summary": "A factory product, its factory and what it replaces",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                                   *_query(["lang", "currency"])],
                    "responses": {"200": _json(_ref("Product"), "The product"),
                                  "404": _error("No such product"), **COMMON_ERRORS},
                },
            },
            "/brands": {
                "get": {
                    "operationId": "listBrands", "summary": "Brands and their reference products",
                    "parameters": _query(["lang", "currency"]),
                    "responses": {"200": _json({"type": "object", "required": ["brands"], "properties": {
                        "brands": {"type": "array", "items": _ref("Brand")}}}, "All brands"), **COMMON_ERRORS},
                },
            },
            "/currencies": {
                "get": {
                    "operationId": "currencies", "summary": "The exchange table `currency=` converts with",
                    "responses": {"200": _json({"type": "object", "required": ["fx"], "properties": {
                        "fx": _ref("Fx")}}, "Its base, rates, date and source"), **COMMON_ERRORS},
                },
            },
            "/brand-products/{id}/dupes": {
                "get": {
                    "operationId": "brandProductDupes", "summary": "Dupes of one brand product",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                                   *_query(list(LISTING))],
                    "responses": {
                        "200": _json({"allOf": [_ref("SearchResponse"), {
                            "type": "object", "required": ["brand_product"],
                            "properties": {"brand_product": _ref("BrandProduct")}}]}, "Its dupes"),
                        "404": _error("No such brand product"), **COMMON_ERRORS, **CURSOR_ERRORS},
                },
            },
            "/health": {
                "get": {
                    "operationId": "health", "summary": "Whether the index can be searched", "security": [{}],
                    "responses": {
                        "200": _json({"type": "object", "required": ["status", "index"], "properties": {
                            "status": {"enum": ["ok", "degraded"]},
                            "problems": {"type": "array", "items": {"type": "string"},
                                         "description": "With status degraded: what the index could not read "
                                                        "back and leaves out of search until `dupe index` "
                                                        "writes it again"},
                            "index": {"type": "object", "required": ["count", "models", "generation"]},
                            "reindex": _ref("ReindexStatus")}}, "Ready (degraded: searches answer without "
                                                                "some damaged records)"),
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
                    "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1"),
                                  "400": COMMON_ERRORS["400"], "401": COMMON_ERRORS["401"]},
                },
            },
            "/admin/reindex": {
                "get": {
                    "operationId": "reindexStatus", "summary": "State of the last reindex (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "responses": {"200": _json({"type": "object", "required": ["reindex"], "properties": {
                        "reindex": _ref("ReindexStatus")}}, "Status"), **admin_errors,
                        "400": COMMON_ERRORS["400"]},
                },
                "post": {
                    "operationId": "reindex",
                    "summary": "Re-run the indexer on the catalog folder in the background (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "responses": {"202": _json({"type": "object", "required": ["reindex"], "properties": {
                        "reindex": _ref("ReindexStatus")}}, "Started"), **admin_errors,
                        "400": COMMON_ERRORS["400"],
                        "409": _error("A reindex is already running")},
                },
            },
            "/admin/catalog/{name}": {
                "put": {
                    "operationId": "uploadCatalogFile",
                    "summary": "Replace one catalog file (then POST /admin/reindex) (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {
                        "type": "string", "enum": ["brands.jsonl", "brand_products.jsonl", "factories.jsonl",
                                                   "products.jsonl", "products.csv"]}}],
                    "requestBody": {"required": True, "content": {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    "responses": {"200": _json({"type": "object", "required": ["file", "bytes"]}, "Stored"),
                                  **admin_errors, "400": COMMON_ERRORS["400"],
                                  "404": _error("Not a catalog file name"),
                                  "413": _error("File too large"), "422": _error("Not UTF-8")},
                },
            },
        },
    }
