"""The OpenAPI document's schemas: every object the API answers with, each field described
with its unit and an example (``web.openapi`` builds the paths around them)."""
from __future__ import annotations

from typing import Any

from search.engine import RESULT_DEPTH
from web import openapi_examples as ex
from web.params import PARAMS

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


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def described(schema: dict[str, Any], description: str, *examples: Any) -> dict[str, Any]:
    """``schema`` with its description (and examples), as a new dict: shared schemas stay bare."""
    out = {**schema, "description": description}
    if examples:
        out["examples"] = list(examples)
    return out


PAGING = (f"Every page of a query is cut from one result list of at most {RESULT_DEPTH} results, in a "
          "total order (ties broken by id): on one index, `total` is the same on every page and no id is on "
          "two pages. Follow `next` (pass it as `cursor` with the same other parameters; `k` may change) or "
          "ask for `page` N. A cursor used with another query is a 400 `cursor_mismatch`; after the index "
          "changed, a 410 `cursor_expired`: restart the query. Ids are catalog record ids everywhere, as "
          "`/products/{id}` takes them.")
SEARCH_PARAMS: dict[str, tuple[dict[str, Any], str]] = {p.name: (p.schema, p.doc) for p in PARAMS}


# A factory listing's own fields (results and /products/{id}): what it is, who makes it, its terms.
LISTING_PROPS: dict[str, Any] = {
    "title": described({"type": "string"}, "Title in `lang` (else English, else Chinese)"),
    "titles": described(STR_MAP, f"Every title: {LANG_MAP}"),
    "category": described(NULL_STR, "Catalog category (as `category=` takes it)", "leggings"),
    "description": described(NULL_STR, "The listing's description, as the factory wrote it (may be empty)"),
    "attributes": described({"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                     "Attributes as the catalog states them, name -> value text with its unit (material, size, "
                     "grammage, net contents...)", {"material": "81% nylon 19% spandex", "grammage": "190 g/m²"}),
    "images": described(STR_LIST, IMAGE_REFS),
    "image_urls": described(STR_LIST, IMAGE_LINKS),
    "price_tiers": described({"type": ["array", "null"], "items": ref("PriceTier")},
                      f"Wholesale price tiers, by `min_qty` ascending, {IN_CURRENCY}"),
    "currency": described(NULL_STR, f"{ISO_CODE} of every amount of this listing", "CNY"),
    "min_price": described(NULL_NUM, f"The lowest tier price (what `price_min`/`price_max` filter on), {IN_CURRENCY}", 69.2),
    "moq": described(NULL_INT, "Minimum order quantity, in units of sale", 2),
    "factory": described(ref("Factory"), "Who makes it, and its service terms"),
    "dupe_of": described(STR_LIST, "Brand product ids the listing declares itself a dupe of", ["bp-lululemon-align"]),
    "counterfeit": described({"type": "array", "items": {
        "type": "object", "required": ["brand", "word"], "description": "A brand trademark in the listing",
        "properties": {"brand": described({"type": "string"}, "The brand id whose trademark it is", "lululemon"),
                       "word": described({"type": "string"}, "The trademark word found", "Align")}}},
        "Brand trademark words the listing uses (then it is a counterfeit, not a dupe): shown only with "
        "`include_counterfeits=true`; empty otherwise"),
    "url": described(NULL_STR, "The listing on the factory's shop (http(s)), as the catalog gives it; null when it "
              "gives none", "https://hengsheng.example/products/p-00176"),
    "detail_url": described({"type": "string"}, "The listing's product page on this service (`/p/{id}`), compared "
                     "with `replaces` first", "https://dupes.example/p/p-00589?bp=bp-lululemon-align"),
}
WHY_PROPS: dict[str, Any] = {
    "signals": described({"type": "object", "additionalProperties": {"type": "number"}},
                  "Retrieval list -> this listing's raw score in it: `bm25` (words) and `ocr` (text read on the "
                  "photo) are BM25 scores (0 and up); `text`, `image` (the query's) and `anchor_text`, "
                  "`anchor_image` (the brand product's) are cosine similarities (-1 to 1)",
                  {"bm25": 2.31, "text": 0.6112, "anchor_image": 0.8825}),
    "words": described(STR_LIST, "Query words (as indexed) the listing contains", ["align", "leggings"]),
    "claim": described(STR_LIST, "Why there is no label or saving against the brand product (absent when nothing "
                "is missing)", ["no brand price"]),
}
# A collapsed listing of the same factory (``group_by_factory``): its own claim, in short.
MORE_PROPS: dict[str, Any] = {
    "id": {"type": "string", "description": "A record id, as `/products/{id}` takes it", "examples": ["p-00590"]},
    "title": described({"type": "string"}, "Title in `lang`"),
    "titles": described(STR_MAP, f"Every title: {LANG_MAP}"),
    "score": described({"type": "number"}, "Fused relevance, as `score`"),
    "min_price": described(NULL_NUM, f"The lowest tier price, {IN_CURRENCY}", 72.0),
    "currency": described(NULL_STR, f"{ISO_CODE} of `min_price`", "CNY"),
    "label": described(ref("Label"), "Its own endorsement against `replaces`"),
    "replaces": described(NULL_STR, "The id of the brand product its claim is about; null when none",
                   "bp-lululemon-align"),
    "savings": described({"type": "array", "items": ref("Saving")}, "Its savings against that brand product"),
    "original": described(ref("Original"), "With `currency=`: `min_price` as the catalog states it"),
    "detail_url": described({"type": "string"}, "Its product page on this service (`/p/{id}`)",
                     "https://dupes.example/p/p-00590?bp=bp-lululemon-align"),
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
        "code": described({"type": "string"}, "Stable machine-readable reason (`invalid_parameter`, `unknown_currency`, "
                   "`rate_limited`, `cursor_expired`, ...): branch on this", "invalid_parameter"),
        "message": described({"type": "string"}, "Human-readable explanation, in Chinese with `lang=zh` (query or "
                      "JSON body), else in English (may change between versions)"),
        "field": described(NULL_STR, "The request parameter (or body field) at fault; null when none is", "k"),
        "valid": described({"type": "array", "items": {"type": "string"}},
                    "With `unknown_value`: the values the parameter may take in this catalog", ["jacket", "leggings"])}}

FALLBACK = described(STR_LIST, "The catalog texts of this object shown in another language than `lang`, as the "
              "catalog has none in it (e.g. `evidence` given in English only)", [])
VALUE_COUNT = {"type": "object", "required": ["value", "count"], "properties": {
    "value": described({"type": ["string", "integer"]}, "The value, as the filter of the same name takes it", "BSCI"),
    "name": described({"type": "string"}, "Its name in `lang` (categories)", "瑜伽裤"),
    "count": described({"type": "integer", "minimum": 0}, "How many results have it", 4)}}
PLACE = {
    "value": described({"type": "string"}, "As `region=` takes it (as do its names)", "Zhejiang Yiwu"),
    "name": described({"type": "string"}, "Its own name (the last part of the path) in `lang`", "义乌"),
    "names": described(STR_MAP, "Its name in zh and en (`/regions` only)", {"zh": "义乌", "en": "Yiwu"}),
    "translated": described({"type": "boolean"}, "Whether it has a Chinese name (`/regions` only)", True),
    "count": described({"type": "integer", "minimum": 0}, "Listings (results, in `facets`) there", 3)}
CITY_EXAMPLE = {"value": "Zhejiang Yiwu", "name": "义乌", "names": {"zh": "义乌", "en": "Yiwu"}, "translated": True,
                 "count": 3}
REGION = {"type": "object", "required": ["value", "name", "count"],
           "description": "A province (or municipality) with its cities",
           "examples": [{"value": "Zhejiang", "name": "浙江", "names": {"zh": "浙江", "en": "Zhejiang"},
                         "translated": True, "count": 12, "cities": [CITY_EXAMPLE]}],
           "properties": {**PLACE, "cities": described(
               {"type": "array", "items": {"type": "object", "required": ["value", "name", "count"],
                                           "properties": PLACE}},
               "Its cities (or districts and belts directly under it)", [CITY_EXAMPLE])}}
CATEGORY_EXAMPLE = {"id": "leggings", "name": "瑜伽裤", "names": {"zh": "瑜伽裤", "en": "Leggings"}, "translated": True,
                     "count": 135}

SCHEMAS: dict[str, Any] = {
    "Facets": {
        "type": "object", "required": ["total", "category", "region", "certification", "label", "ship_within"],
        "examples": [{"total": 12, "category": [{"value": "leggings", "name": "瑜伽裤", "count": 12}],
                      "region": REGION["examples"], "certification": [{"value": "BSCI", "count": 4}],
                      "label": [{"value": "same_foundry", "count": 2}], "ship_within": [{"value": 24, "count": 7}]}],
        "description": "What the results hold, value by value, with how many results have it: each value is one "
                       "to pass back as that filter to narrow the search",
        "properties": {
            "total": described({"type": "integer", "minimum": 0}, "Results counted (`total`)", 12),
            "category": described({"type": "array", "items": VALUE_COUNT}, "Categories (`name` in `lang`)",
                           [{"value": "leggings", "name": "瑜伽裤", "count": 12}]),
            "region": described({"type": "array", "items": REGION}, "Provinces with their cities",
                         [{"value": "Zhejiang", "name": "浙江", "count": 5,
                           "cities": [{"value": "Zhejiang Yiwu", "name": "义乌", "count": 3}]}]),
            "certification": described({"type": "array", "items": VALUE_COUNT}, "Factory certifications",
                                [{"value": "BSCI", "count": 4}]),
            "label": described({"type": "array", "items": VALUE_COUNT}, "Labels of the results' claims",
                        [{"value": "same_foundry", "count": 2}, {"value": "similar", "count": 10}]),
            "ship_within": described({"type": "array", "items": VALUE_COUNT}, "Results shipping within 24, 48, 72 h",
                              [{"value": 24, "count": 7}, {"value": 48, "count": 11}])},
    },
    "Category": {
        "type": "object", "required": ["id", "name", "names", "count"], "examples": [CATEGORY_EXAMPLE],
        "description": "A category of the catalog",
        "properties": {
            "id": described({"type": "string"}, "As `category=` takes it (as do its names)", "leggings"),
            "name": described({"type": "string"}, "In `lang`", "瑜伽裤"),
            "names": described(STR_MAP, "In zh and en", {"zh": "瑜伽裤", "en": "Leggings"}),
            "translated": described({"type": "boolean"}, "False when the category has no names of its own (its id's "
                             "words are shown)", True),
            "count": described({"type": "integer", "minimum": 0}, "Listings in the catalog", 135)},
    },
    "Region": REGION,
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
            "type": described({"type": "string", "enum": ["same_foundry", "equal_quality", "similar"]},
                       "`same_foundry`: the factory is a verified OEM of the brand (same product, other "
                       "branding); `equal_quality`: not the brand's OEM, verified to reach its quality; "
                       "`similar`: no endorsement, only alike", "same_foundry"),
            "brand": described(NULL_STR, "The brand id the endorsement is for", "lululemon"),
            "evidence": described(NULL_STR, "What was checked (audits, contracts, lab tests)",
                           "Audit of OEM purchase orders 2026-Q1 and production line visit"),
            "verified_by": described(NULL_STR, "Who verified it", "Sourcing team (Li Na)"),
            "verified_at": described(NULL_STR, "The day it was verified (YYYY-MM-DD)", "2026-07-06"),
            "expires_at": described(NULL_STR, "The last day it counts (YYYY-MM-DD): after it the label is no longer "
                             "shown", "2027-07-06"),
            "fallback": FALLBACK},
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
                     "currency": described({"type": "string"}, f"The catalog's {ISO_CODE} of these amounts", "CNY"),
                     "price": described(NULL_NUM, "The catalog's price (a brand price, or a saving's tier price), in "
                                 "`currency`", 850.0),
                     "min_price": described(NULL_NUM, "The catalog's lowest tier price, in `currency`", 69.2),
                     "price_tiers": described({"type": "array", "items": ref("PriceTier")},
                                       "The catalog's price tiers, in `currency`")}},
    "PriceTier": {"type": "object", "required": ["min_qty", "price"],
                  "description": "One wholesale price: the unit price for orders of at least `min_qty` units",
                  "examples": [{"min_qty": 300, "price": 74.5}],
                  "properties": {
                      "min_qty": described({"type": "integer"}, "Smallest order quantity, in units of sale, this price "
                                    "applies from", 300),
                      "price": described({"type": "number"}, "Price of one unit of sale, in the `currency` of the object "
                                  "holding the tiers (a listing, or its `original`)", 74.5)}},
    "Saving": {"type": "object", "required": ["min_qty", "price", "currency", "ratio", "text"],
               "description": "A saving against the brand product, for one price tier; stated only below the "
                              "brand price, in a currency the response's `fx` table converts",
               "examples": [ex.SAVING],
               "properties": {
                   "min_qty": described({"type": "integer"}, "The tier's smallest order quantity (units of sale)", 2),
                   "price": described({"type": "number"}, f"The tier's unit price, {IN_CURRENCY}", 84.4),
                   "currency": described({"type": "string"}, f"{ISO_CODE} of `price`", "CNY"),
                   "ratio": described({"type": "number", "minimum": 0, "maximum": 1},
                               "factory price / brand price, both in the same currency (the tier price converted "
                               "to the brand price's currency with the response's `fx` table): 0.1 is a tenth "
                               "of the brand price; always < 1, i.e. cheaper (4 decimals; a tier at or above the "
                               "brand price is no saving and is left out). With `basis` `unit`, per unit of net "
                               "contents (g, ml, pieces): the larger of the per-item and per-unit ratios is "
                               "stated, never the more flattering one. `currency=` does not change it", 0.0993),
                   "text": described({"type": "string"}, "The ratio in words, in `lang` (Chinese or English): a fraction "
                              "of the brand price, not a discount", "about 1/10 of the brand price"),
                   "basis": described({"type": "string", "enum": ["item", "unit"]},
                               "`item`: price per item compared; `unit`: per unit of net contents, because that "
                               "ratio was the larger", "item"),
                   "original": described(ref("Original"), "With `currency=`: the tier price as the catalog states it")}},
    "BrandProduct": {
        "type": "object", "required": ["id", "brand", "title"],
        "description": "A brand's reference product: what dupes are found for, with the brand price savings are "
                       "measured against",
        "examples": [ex.BRAND_PRODUCT],
        "properties": {
            "id": described({"type": "string"}, "Brand product id (catalog record id)", "bp-lululemon-align"),
            "brand": described({"type": "string"}, "Brand id, as /brands lists it", "lululemon"),
            "title": described({"type": "string"}, "Title in `lang` (else English, else Chinese)"),
            "titles": described(STR_MAP, f"Every title: {LANG_MAP}"),
            "category": described(NULL_STR, "Its category; dupes are looked for in it", "leggings"),
            "price": described(NULL_NUM, f"The brand's price of one item, {IN_CURRENCY}", 850.0),
            "currency": described(NULL_STR, f"{ISO_CODE} of `price`", "CNY"),
            "images": described({"type": ["array", "null"], "items": {"type": "string"}}, IMAGE_REFS),
            "aliases": described(STR_LIST, "Nicknames users type for it, any language", ["align pant"]),
            "image_urls": described(STR_LIST, IMAGE_LINKS),
            "how": {"type": "string", "description": "In `understood`: how it was recognised (user: `brand_product=`; "
                    "alias, words, kind, text, image, ocr, only: the brand's only product in the category)"},
            "confidence": described({"type": "number"}, "In `understood`: how sure the recognition is, 0 to 1", 0.95),
            "original": described(ref("Original"), "With `currency=`: `price` as the catalog states it")},
    },
    "Factory": {
        "type": "object", "required": ["id", "name"],
        "description": "Who makes the listing, and its service terms",
        "examples": [ex.FACTORY],
        "properties": {
            "id": described(NULL_STR, "Factory id (catalog record id)", "f-024"),
            "name": described({"type": "string"}, "Name in `lang` (else English, else Chinese)"),
            "names": described({"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                        f"Every name: {LANG_MAP}"),
            "region": described(NULL_STR, "Region (province, city, industrial belt) in `lang`", "Zhejiang Yiwu"),
            "region_path": described(NULL_STR, "The region as the index holds it, in pinyin from the province (as "
                              "`region=` takes it, as do its prefixes and its names in Chinese)", "Zhejiang Yiwu"),
            "regions": described(STR_LIST, "Every prefix of `region_path` (what `region=` matches)",
                          ["Zhejiang", "Zhejiang Yiwu"]),
            "certifications": described(STR_LIST, "Certifications the catalog lists, in `lang` (as `certification=` "
                                 "takes them)", ["OEKO-TEX Standard 100", "BSCI"]),
            "fallback": FALLBACK,
            "ship_within_hours": described(NULL_INT, "Ships an order within this many hours (24, 48, ...); null when "
                                    "not stated", 24),
            "reply_minutes": described(NULL_INT, "Typical time to answer a buyer's message, in minutes; null when not "
                                "stated", 30),
            "returns": described(NULL_STR, "Returns policy, as the factory states it, in `lang`",
                          "7-day no-reason returns"),
            "url": described(NULL_STR, "Its shop (http(s)); null when the catalog gives none", "https://hengsheng.example"),
            "email": described(NULL_STR, "Where to ask for samples and quotes; null when the catalog gives none",
                        "sales@hengsheng.example")},
    },
    "BrandHit": {
        "type": ["object", "null"], "required": ["id", "name", "how", "confidence"],
        "description": "A brand the query (words, text on the photo, or the photo) names or looks like",
        "examples": [ex.BRAND_HIT],
        "properties": {
            "id": described({"type": "string"}, "Brand id (as `brand=` takes it)", "lululemon"),
            "brand": described({"type": "string"}, "The same brand id (kept for older clients)", "lululemon"),
            "name": described({"type": "string"}, "Display name", "lululemon"),
            "matched": described({"type": "string"}, "The name or alias that matched", "露露乐蒙"),
            "how": described({"type": "string"}, "How it was found: alias (a name, exactly), fuzzy (misspelt), sound "
                      "(sounds alike), ocr (text on the photo), image, user (`brand=`)", "alias"),
            "confidence": described({"type": "number"}, "How sure, 0 to 1", 1.0)},
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
            "original": described(ref("Original"), "With `currency=`: `price_tiers` and `min_price` as the catalog "
                           "states them"),
            "label": described(ref("Label"), "The endorsement claimed for this listing against `replaces` (`similar`: "
                        "none)"),
            "replaces": described({"anyOf": [ref("BrandProduct"), {"type": "null"}]},
                           "The brand product the claim is about (the one searched for, or the nearest one of "
                           "the brand); null when it is compared with none"),
            "savings": described({"type": "array", "items": ref("Saving")},
                          "One saving per price tier below the brand price of `replaces`; empty when none may be "
                          "claimed (`why.claim` says why)"),
            "why": described({"type": "object", "properties": WHY_PROPS}, "Why it matched, and why a claim is missing"),
            "declared": {"type": "boolean", "description": "The listing declares itself a dupe of the brand "
                         "product searched for"},
            "score": described({"type": "number"}, "Fused relevance (z-scores of the retrieval lists, weighted; higher is "
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
                    "text": described(NULL_STR, "The query text searched (`q`, or a page's product name)",
                               "lululemon align dupe"),
                    "ocr_text": described(NULL_STR, "Text read on the photo (null without a photo or with `ocr=false`)"),
                    "tokens": described(STR_LIST, "The query's words as the index analyses them (lower case, Chinese "
                                 "segmented)", ["lululemon", "align", "dupe"]),
                    "ocr_error": {**NULL_STR, "description": "Set when the text on the photo could not be "
                                  "read: the search ran without it"},
                    "brand": described(ref("BrandHit"), "The brand meant (null when none was recognised)"),
                    "other_brands": described({"type": "array", "items": ref("BrandHit")},
                                       "Other brands the query also names or may mean"),
                    "brand_product": described({"anyOf": [ref("BrandProduct"), {"type": "null"}]},
                                        "The brand product meant, whose dupes are searched (with `how` and "
                                        "`confidence`); null when none was recognised"),
                    "looks_like": described({"type": "array", "items": ref("BrandProduct")},
                                     "With a photo: the brand products it looks most like"),
                    "alternatives": {"type": "array", "items": ref("BrandProduct"),
                                     "description": "Other brand products the query may mean"},
                    "categories": described(STR_LIST, "Categories the search was narrowed to (from the brand product "
                                     "or the query)", ["leggings"]),
                    "unknown_brand": {**NULL_STR, "description": "A brand the query names that the catalog "
                                      "does not carry; then no result carries a label or a saving"},
                    "lexical_weight": described(NULL_NUM, "Weight of the word match (BM25) against the text vectors in "
                                         "the fusion, 0 to 1 (higher when the query's words are found as they "
                                         "are, e.g. a model number); null without words", 0.6),
                    "page": {**ref("PageProduct"), "description": "With `page_url`: what was read on the page"},
                    "objects": {"type": "array", "items": ref("PhotoObject"),
                                "description": "The distinct products found on the photo, left to right and "
                                "top to bottom, when it holds two or more (else empty: the whole photo is "
                                "searched). The most prominent one is searched by default; `object=i` searches "
                                "another. None with `crop`"},
                }},
            "fx": described(ref("Fx"), "The exchange table savings were computed with (and `currency=` converted with)"),
            "total": {"type": "integer", "minimum": 0, "maximum": RESULT_DEPTH,
                      "description": "Results of the query (all its pages): the same on every page", "examples": [12]},
            "took_ms": described({"type": "number", "minimum": 0}, "Time the search took in the service, in milliseconds",
                          84.2),
            "timings_ms": described({"type": "object", "additionalProperties": {"type": "number"}},
                             "Time of each stage in milliseconds (understand, ocr, objects, retrieve, fuse, rank; "
                             "only the stages that ran)", {"understand": 3.1, "retrieve": 61.7}),
            "results": described({"type": "array", "items": ref("Result")}, "This page's dupes, best first"),
            "facets": described(ref("Facets"), "The filter values in the whole result list (all pages), with counts"),
            "page": {"type": "integer", "minimum": 1, "description": "The page `offset` falls in", "examples": [1]},
            "k": described({"type": "integer", "minimum": 1}, "Results per page, as asked (`k`)", 10),
            "offset": {"type": "integer", "minimum": 0, "description": "The first result's position in the list",
                       "examples": [0]},
            "next": {**NULL_STR, "description": "Cursor of the next page (pass it as `cursor`); null on the last",
                     "examples": [ex.CURSOR]},
            "query": described({"type": "object", "properties": _echo_props()},
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
            "brand": described(NULL_STR, "The brand the page names", "lululemon"),
            "price": {**NULL_NUM, "description": "The price the page states, in `currency` (not converted)"},
            "currency": described(NULL_STR, f"{ISO_CODE} of `price`, as the page states it", "USD"),
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
                              "properties": {"id": described({"type": "string"}, "Brand product id"),
                                             "name": described({"type": "string"}, "Its title in `lang`")},
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
            "index": described({"type": "integer", "minimum": 0}, "The item's position in the request's `items`, from 0",
                        0),
            "id": described({"type": ["string", "integer", "null"]}, "The item's `id`, echoed (null when it had none)",
                     "row-1"),
            "status": described({"type": "integer"}, "The HTTP status this search alone would have had", 200),
            "result": described(ref("SearchResponse"), "With status 200: the search's answer, as `/search` gives it"),
            "error": {**ERROR_INNER, "description": "With any other status: why this item failed"},
        },
    },
    "Product": {
        "type": "object", "required": ["id", "title", "factory", "dupe_of", "image_urls"],
        "description": "A factory listing with its factory, and for each brand product it declares it replaces, "
                       "the claim the rule allows today",
        "examples": [ex.PRODUCT],
        "properties": {
            "id": described({"type": "string"}, "The product's record id", "p-00589"),
            **LISTING_PROPS,
            "dupe_of": described({"type": "array", "items": {"allOf": [ref("BrandProduct"), {
                "type": "object", "required": ["label", "savings", "card_url", "comparable"],
                "properties": {
                    "label": described(ref("Label"), "The endorsement claimed against this brand product today"),
                    "savings": described({"type": "array", "items": ref("Saving")},
                                  "Savings per price tier against its brand price"),
                    "comparable": described({"type": "boolean"}, "Whether the listing may be compared with it at all "
                                     "(same category, not another brand's dupe, not a counterfeit)", True),
                    "claim_problems": described(STR_LIST, "Why a label or a saving is missing", []),
                    "card_url": described(NULL_STR, "Share card PNG (brand product vs. this listing); null when not "
                                   "comparable")}}]}},
                "The brand products the listing declares itself a dupe of, each with its claim"),
            "fx": described(ref("Fx"), "The exchange table savings were computed with"),
            "original": described(ref("Original"), "With `currency=`: `price_tiers` and `min_price` as the catalog "
                           "states them"),
        },
    },
    "Brand": {
        "type": "object", "required": ["id", "name", "names", "aliases", "categories", "brand_products"],
        "description": "A brand the catalog carries, with its reference products",
        "examples": [ex.BRAND],
        "properties": {"id": described({"type": "string"}, "Brand id (as `brand=` takes it)", "lululemon"),
                       "name": described({"type": "string"}, "Display name in `lang`", "lululemon"),
                       "names": described(STR_MAP, f"Every name: {LANG_MAP}"),
                       "aliases": described(STR_LIST, "Other names users type (nicknames, transliterations)", ["lulu"]),
                       "categories": described(STR_LIST, "Categories it sells in", ["leggings"]),
                       "brand_products": described({"type": "array", "items": ref("BrandProduct")},
                                            "Its reference products (what dupes are found for)")},
    },
    "ReindexStatus": {
        "type": "object", "required": ["state"],
        "description": "The last reindex (anonymous and non-admin callers see `state` only)",
        "examples": [ex.REINDEX_STATUS, {"state": "idle"}],
        "properties": {"state": described({"type": "string", "enum": ["idle", "running", "done", "failed"]},
                                   "`idle`: none since the start", "done"),
                       "started_at": described(NULL_STR, "When it started (ISO 8601, UTC)", "2026-12-01T08:00:02+00:00"),
                       "finished_at": described(NULL_STR, "When it ended (ISO 8601, UTC); null while running"),
                       "summary": described(NULL_STR, "What the indexer did (records indexed, unchanged, removed, "
                                     "rejected, seconds)"),
                       "error": described(NULL_STR, "Why it failed (state `failed`)")},
    },
}
