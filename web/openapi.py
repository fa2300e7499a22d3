"""The OpenAPI 3.1 document of API v1, written by hand and kept true by the tests
(``tests/test_web_openapi.py`` runs schemathesis against the app with it;
``tests/test_openapi_client.py`` checks that every field and parameter is described with
an example, and generates a working Python client from it)."""
from __future__ import annotations

from typing import Any

from indexer.catalog.reader import CATALOG_FILES
from web import openapi_examples as ex
from web.bodylimits import MAX_JSON_TOKENS
from web.openapi_schemas import CATEGORY_EXAMPLE, PAGING, REGION, SCHEMAS, SEARCH_PARAMS, described, ref
from web.params import LISTING_FIELDS, PARAMS


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": ref("Error")}}}
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
PHOTO_ERRORS = {
    "404": _error("`photo_id` unknown or expired"),
    "413": _error("Body, photo or pixel count too large, or the `page_url` page (`page_too_large`)"),
    "415": _error("Not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF) or wrong content type, or "
                  "the `page_url` page is not HTML (`unsupported_page`)"),
    "422": _error("Corrupt or truncated image, `image_url` or `page_url` could not be fetched "
                  "(`image_fetch_failed`, `page_fetch_failed`), or the page describes no product "
                  "(`no_product_on_page`)"),
}

# Parameter name -> (schema, description), shared by query parameters and JSON bodies
# (the one parameter table: ``web.params.PARAMS``).
LISTING = LISTING_FIELDS
REPEATED = frozenset(p.name for p in PARAMS if p.repeat)


def _query(names: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    out = []
    for n in names:
        schema, desc = SEARCH_PARAMS[n]
        p: dict[str, Any] = {"name": n, "in": "query", "required": False, "description": desc, "schema": schema}
        if n in REPEATED:
            p.update(style="form", explode=True)
        out.append(p)
    return out


def _body_schema(batch_item: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for n, (schema, desc) in SEARCH_PARAMS.items():
        if n in REPEATED:
            schema = {"anyOf": [schema["items"], schema]}
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
        elif n in REPEATED:
            props[n] = {**schema, "description": desc}
        else:
            props[n] = {**schema, "description": desc}
    return {"type": "object", "properties": props, "additionalProperties": False}


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
    search_responses = {"200": _json(ref("SearchResponse"), "Dupes, best first, with what was understood"),
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
                            "items": described({"type": "array", "items": ref("BatchItemResult")},
                                        "One entry per item, in the request's order"),
                            "ok": described({"type": "integer", "minimum": 0}, "Items answered with status 200", 1),
                            "failed": described({"type": "integer", "minimum": 0}, "Items that failed", 1)}},
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
                    "responses": {"200": _json(ref("Product"), "The product"),
                                  "404": _error("No such product"), **COMMON_ERRORS},
                },
            },
            "/brands": {
                "get": {
                    "operationId": "listBrands", "summary": "Brands and their reference products",
                    "parameters": _query(["lang", "currency"]),
                    "responses": {"200": _json({"type": "object", "required": ["brands"],
                                                "examples": [{"brands": [ex.BRAND]}], "properties": {
                        "brands": described({"type": "array", "items": ref("Brand")}, "Every brand, by id")}},
                        "All brands"), **COMMON_ERRORS},
                },
            },
            "/categories": {
                "get": {
                    "operationId": "categories", "summary": "The catalog's categories, with names in zh and en",
                    "parameters": _query(["lang"]),
                    "responses": {"200": _json({"type": "object", "required": ["categories"],
                                                "examples": [{"categories": [CATEGORY_EXAMPLE]}], "properties": {
                        "categories": described({"type": "array", "items": ref("Category")}, "Largest first")}},
                        "The categories"),
                        **COMMON_ERRORS},
                },
            },
            "/regions": {
                "get": {
                    "operationId": "regions", "summary": "The catalog's regions: provinces with their cities",
                    "parameters": _query(["lang"]),
                    "responses": {"200": _json({"type": "object", "required": ["regions"],
                                                "examples": [{"regions": REGION["examples"]}], "properties": {
                        "regions": described({"type": "array", "items": ref("Region")}, "Largest first")}},
                        "The regions"),
                        **COMMON_ERRORS},
                },
            },
            "/currencies": {
                "get": {
                    "operationId": "currencies", "summary": "The exchange table `currency=` converts with",
                    "responses": {"200": _json({"type": "object", "required": ["fx"], "examples": [{"fx": ex.FX}],
                                                "properties": {"fx": described(ref("Fx"), "The exchange table")}},
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
                        "200": _json({"allOf": [ref("SearchResponse"), {
                            "type": "object", "required": ["brand_product"],
                            "properties": {"brand_product": described(ref("BrandProduct"), "The brand product asked for")}}],
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
                            "status": described({"enum": ["ok", "degraded"]}, "`ok`, or `degraded`: searches answer "
                                         "without some damaged records (see `problems`)", "ok"),
                            "problems": {"type": "array", "items": {"type": "string"},
                                         "description": "With status degraded: what the index could not read "
                                                        "back and leaves out of search until `dupe index` "
                                                        "writes it again"},
                            "index": described({"type": "object", "required": ["count", "models", "generation"],
                                         "properties": {
                                "count": described({"type": "integer", "minimum": 0}, "Records in the index (brands, brand "
                                            "products, factories, products)", 1166),
                                "models": described({"type": "object", "additionalProperties": {"type": "string"}},
                                             "Role (text, image) -> the embedding model the index was built with "
                                             "(name@version)", ex.MODELS),
                                "generation": described({"type": "integer"}, "Changes with every write to the index (a "
                                                 "cursor of another generation is expired)", 7)}},
                                        "The index searched"),
                            "reindex": described(ref("ReindexStatus"), "The last reindex")}},
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
                        "openapi": described({"type": "string"}, "The OpenAPI version", "3.1.0"),
                        "paths": described({"type": "object", "additionalProperties": True},
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
                        "reindex": described(ref("ReindexStatus"), "The last reindex")}}, "Status"), **admin_errors,
                        "400": COMMON_ERRORS["400"]},
                },
                "post": {
                    "operationId": "reindex",
                    "summary": "Re-run the indexer on the catalog folder in the background (admin key)",
                    "security": [{"apiKey": []}, {"bearer": []}],
                    "responses": {"202": _json({"type": "object", "required": ["reindex"], "examples": [{"reindex": {
                        "state": "running", "started_at": "2026-12-01T08:00:02+00:00", "finished_at": None,
                        "summary": None, "error": None}}], "properties": {
                        "reindex": described(ref("ReindexStatus"), "The reindex just started: follow it with GET")}},
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
                        "file": described({"type": "string"}, "The file stored", "products.jsonl"),
                        "bytes": described({"type": "integer", "minimum": 1}, "Its size, in bytes", 1843321)}}, "Stored"),
                                  **admin_errors, "400": COMMON_ERRORS["400"],
                                  "404": _error("Not a catalog file name"),
                                  "413": _error("File too large"), "422": _error("Not UTF-8")},
                },
            },
        },
    }
