"""Search responses as plain JSON (the API's and the CLI's output shape)."""
from __future__ import annotations

import dataclasses
from typing import Any

from search.brands import BrandHit
from search.engine import SearchResponse
from search.ranking import Result


def pick_title(titles: dict[str, str] | None, lang: str) -> str:
    """The title in ``lang``, else English, else Chinese, else any."""
    titles = titles or {}
    for key in (lang, lang.split("-")[0], "en", "zh"):
        if titles.get(key):
            return titles[key]
    return next(iter(titles.values()), "")


def _brand(h: BrandHit | None) -> dict[str, Any] | None:
    return None if h is None else dataclasses.asdict(h) | {"id": h.brand}


def _bp(bp: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    if bp is None:
        return None
    return {**{k: v for k, v in bp.items() if not k.startswith("_")}, "title": pick_title(bp.get("titles"), lang)}


def _factory(f: dict[str, Any], lang: str) -> dict[str, Any]:
    return {"id": f.get("id"), "name": pick_title(f.get("names"), lang), "names": f.get("names"),
            "region": f.get("region"), "certifications": f.get("certifications") or [],
            "ship_within_hours": f.get("ship_within_hours"), "reply_minutes": f.get("reply_minutes"),
            "returns": f.get("returns")}


def result_json(r: Result, lang: str = "en") -> dict[str, Any]:
    p = r.product
    return {
        "id": p.get("id"), "title": pick_title(p.get("titles"), lang), "titles": p.get("titles"),
        "category": p.get("category"), "description": p.get("description"), "attributes": p.get("attributes"),
        "images": p.get("images") or [], "price_tiers": p.get("price_tiers"), "currency": p.get("currency"),
        "min_price": p.get("min_price"), "moq": p.get("moq"),
        "factory": _factory(r.factory, lang),
        "label": dataclasses.asdict(r.label),
        "replaces": _bp(r.replaces, lang),
        "savings": [dataclasses.asdict(s) for s in r.savings],
        "why": r.why, "score": round(r.score, 4),
        "counterfeit": [{"brand": b, "word": w} for b, w in r.counterfeit],
        "more": [{**m, "title": pick_title(m.get("titles"), lang)} for m in r.more],
    }


def response_json(resp: SearchResponse, lang: str = "en") -> dict[str, Any]:
    u = resp.understood
    return {
        "understood": {
            "text": u.text, "ocr_text": u.ocr_text, "tokens": u.tokens,
            "brand": _brand(u.brand), "other_brands": [_brand(h) for h in u.other_brands],
            "brand_product": _bp(u.brand_product, lang),
            "looks_like": [_bp(x, lang) for x in u.looks_like],
            "lexical_weight": u.lexical_weight,
        },
        "total": resp.total, "took_ms": round(resp.took_ms, 2), "timings_ms": resp.timings,
        "results": [result_json(r, lang) for r in resp.results],
    }
