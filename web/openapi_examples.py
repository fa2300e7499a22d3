"""Examples for the OpenAPI document (``web.openapi``): one lululemon Align dupe from the
seed catalog, as the API returns it, reused wherever a schema shows it. Each example must
match its schema: ``tests/test_openapi_client.py`` validates every one of them."""
from __future__ import annotations

from typing import Any

# A real token's shape (base64url JSON); an old one is a 410 or a 400, never a 5xx.
CURSOR = "eyJkIjoiMjAyNi0xMi0wMSIsImciOjIsImsiOiI5NjhmNDRlYzVkNTEzZGQzIiwibyI6MTAsInYiOjF9"
PNG_1PX = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGMQEREBAAB8AD2SgCfbAAAAAElF"
           "TkSuQmCC")

ERROR: dict[str, Any] = {"error": {"code": "invalid_parameter",
                                   "message": "k: must be an integer from 1 to 100, got 500", "field": "k"}}

LABEL: dict[str, Any] = {
    "type": "same_foundry", "brand": "lululemon",
    "evidence": "Audit of OEM purchase orders 2026-Q1 and production line visit",
    "verified_by": "Sourcing team (Li Na)", "verified_at": "2026-07-06", "expires_at": "2027-07-06"}

FX: dict[str, Any] = {
    "base": "CNY", "date": "2026-11-01", "source": "built-in reference rates (set DUPE_FX for your own)",
    "rates": {"CNY": 1.0, "USD": 7.1, "EUR": 7.7, "GBP": 9.0, "HKD": 0.91, "JPY": 0.047, "KRW": 0.0052,
              "VND": 0.00028, "RUB": 0.078}}

PRICE_TIERS: list[dict[str, Any]] = [{"min_qty": 2, "price": 84.4}, {"min_qty": 300, "price": 74.5},
                                     {"min_qty": 1000, "price": 69.2}]

# The same listing's amounts shown with currency=USD: what the catalog said is kept.
ORIGINAL: dict[str, Any] = {"currency": "CNY", "min_price": 69.2, "price_tiers": PRICE_TIERS}

SAVING: dict[str, Any] = {"min_qty": 2, "price": 84.4, "currency": "CNY", "ratio": 0.0993,
                          "text": "about 1/10 of the brand price", "basis": "item"}

BRAND_PRODUCT: dict[str, Any] = {
    "id": "bp-lululemon-align", "brand": "lululemon", "title": "lululemon Align High-Rise Pant 25\"",
    "titles": {"en": "lululemon Align High-Rise Pant 25\"", "zh": "露露乐蒙 Align 高腰瑜伽裤 25英寸"},
    "category": "leggings", "price": 850.0, "currency": "CNY", "images": ["images/bp-lululemon-align.jpg"],
    "aliases": ["lulu align", "align pant"],
    "image_urls": ["https://dupes.example/images/images/bp-lululemon-align.jpg"]}

FACTORY: dict[str, Any] = {
    "id": "f-024", "name": "Yiwu Huitong Apparel Co., Ltd.",
    "names": {"zh": "义乌市汇通服饰有限公司", "en": "Yiwu Huitong Apparel Co., Ltd."}, "region": "Zhejiang Yiwu",
    "certifications": ["OEKO-TEX Standard 100", "SEDEX"], "ship_within_hours": 24, "reply_minutes": 30,
    "returns": "7-day no-reason returns, buyer pays return shipping"}

BRAND_HIT: dict[str, Any] = {"id": "lululemon", "brand": "lululemon", "name": "lululemon", "matched": "lululemon",
                             "how": "alias", "confidence": 1.0}

RESULT: dict[str, Any] = {
    "id": "p-00589", "title": "Nude-feel yoga leggings, 25\" inseam, high-rise",
    "titles": {"zh": "25英寸高腰裸感瑜伽裤", "en": "Nude-feel yoga leggings, 25\" inseam, high-rise"},
    "category": "leggings", "description": "Nude-feel yoga leggings: 25\" inseam, high-rise. Material: 81% nylon "
                                           "19% spandex.",
    "attributes": {"material": "81% nylon 19% spandex", "grammage": "190 g/m²", "inseam": "25\"", "size": "S-3XL"},
    "images": ["images/p-00589.jpg"], "image_urls": ["https://dupes.example/images/images/p-00589.jpg"],
    "price_tiers": PRICE_TIERS, "currency": "CNY", "min_price": 69.2, "moq": 2, "dupe_of": ["bp-lululemon-align"],
    "factory": FACTORY, "counterfeit": [], "label": LABEL, "replaces": BRAND_PRODUCT,
    "savings": [SAVING, {"min_qty": 300, "price": 74.5, "currency": "CNY", "ratio": 0.0876,
                         "text": "about 1/11 of the brand price", "basis": "item"},
                {"min_qty": 1000, "price": 69.2, "currency": "CNY", "ratio": 0.0814,
                 "text": "about 1/12 of the brand price", "basis": "item"}],
    "declared": True, "why": {"signals": {"bm25": 2.31, "text": 0.6112, "anchor_text": 0.7034,
                                          "anchor_image": 0.8825}, "words": ["align", "leggings"]},
    "score": 2.4519, "more": [],
    "card_url": "https://dupes.example/card/p-00589.png?bp=bp-lululemon-align"}

UNDERSTOOD: dict[str, Any] = {
    "text": "lululemon align dupe", "ocr_text": None, "ocr_error": None, "tokens": ["lululemon", "align", "dupe"],
    "brand": BRAND_HIT, "other_brands": [],
    "brand_product": {**BRAND_PRODUCT, "how": "alias", "confidence": 0.95},
    "alternatives": [], "looks_like": [], "categories": ["leggings"], "unknown_brand": None,
    "lexical_weight": 0.6, "objects": []}

QUERY: dict[str, Any] = {
    "q": "lululemon align dupe", "lang": "en", "crop": None, "object": None, "category": None, "price_min": None,
    "price_max": None, "moq_max": None, "label": ["same_foundry"], "region": None, "ship_within": None, "k": 10,
    "page": 1, "group_by_factory": True, "include_counterfeits": False, "brand": None, "brand_product": None,
    "ocr": True, "mode": "hybrid", "image_url": None, "photo_id": None, "page_url": None, "cursor": None,
    "currency": None}

SEARCH_RESPONSE: dict[str, Any] = {
    "understood": UNDERSTOOD, "total": 12, "took_ms": 84.2,
    "timings_ms": {"understand": 3.1, "retrieve": 61.7, "fuse": 4.4, "rank": 12.9},
    "fx": FX, "results": [RESULT], "page": 1, "k": 10, "offset": 0, "next": CURSOR,
    "query": QUERY}

PAGE_PRODUCT: dict[str, Any] = {
    "url": "https://shop.example/products/align-pant", "name": "lululemon Align™ High-Rise Pant 25\"",
    "brand": "lululemon", "price": 98.0, "currency": "USD", "image": "https://shop.example/cdn/align.jpg",
    "image_error": None, "read_from": ["json-ld"]}

BATCH_BODY: dict[str, Any] = {"items": [
    {"id": "row-1", "q": "lululemon align dupe", "label": ["same_foundry"], "k": 5},
    {"id": "row-2", "q": "飞利浦 电动牙刷", "currency": "USD"}]}

BATCH_ITEM_OK: dict[str, Any] = {"index": 0, "id": "row-1", "status": 200, "result": SEARCH_RESPONSE}
BATCH_ITEM_FAILED: dict[str, Any] = {"index": 1, "id": "row-2", "status": 400, "error": {
    "code": "unknown_currency", "message": "currency: no exchange rate for 'XXX'; the table has CNY, EUR, ... "
                                           "(GET /api/v1/currencies)", "field": "currency"}}
BATCH_RESPONSE: dict[str, Any] = {"items": [BATCH_ITEM_OK, BATCH_ITEM_FAILED], "ok": 1, "failed": 1}

PRODUCT: dict[str, Any] = {
    **{k: RESULT[k] for k in ("id", "title", "titles", "category", "description", "attributes", "images",
                              "image_urls", "price_tiers", "currency", "min_price", "moq", "factory", "counterfeit")},
    "dupe_of": [{**BRAND_PRODUCT, "label": LABEL, "savings": RESULT["savings"], "comparable": True,
                 "claim_problems": [], "card_url": RESULT["card_url"]}],
    "fx": FX}

BRAND: dict[str, Any] = {
    "id": "lululemon", "name": "lululemon", "names": {"en": "lululemon", "zh": "露露乐蒙"},
    "aliases": ["lulu", "露露", "룰루레몬"], "categories": ["leggings"], "brand_products": [BRAND_PRODUCT]}

REINDEX_STATUS: dict[str, Any] = {
    "state": "done", "started_at": "2026-12-01T08:00:02+00:00", "finished_at": "2026-12-01T08:03:41+00:00",
    "summary": "indexed 14, unchanged 1152, removed 0, rejected 0 in 41.3 s (14 texts and 14 images embedded)",
    "error": None}

MODELS: dict[str, str] = {"text": "use-multilingual-v3-onnx@1", "image": "effnet-lite1+sscd@2.w0.30"}

HEALTH: dict[str, Any] = {"status": "ok", "index": {"count": 1166, "models": MODELS, "generation": 7},
                          "reindex": {"state": "idle"}}
