"""Search responses, results and catalog records as plain JSON (the API's and the CLI's
output shape). Built from the typed read models, so only known fields are shown."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from search.brands import BrandHit
from search.claims import Claim
from search.requests import SearchResponse
from search.labels import Label
from search.models import Listing
from search.prices import MINOR_UNITS, FxTable, convert, ratio_text
from search.ranking import Result
from search.records import BrandProduct, Factory
from search.regions import path as region_path
from search.regions import prefixes, show_region
from search.texts import show
from search.understanding import ProductHit


def pick_title(titles: Mapping[str, str] | None, lang: str) -> str:
    """The title in ``lang``, else English, else Chinese, else any."""
    titles = titles or {}
    for key in (lang, lang.split("-")[0], "en", "zh"):
        if titles.get(key):
            return titles[key]
    return next(iter(titles.values()), "")


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def brand_hit_json(h: BrandHit | None) -> dict[str, Any] | None:
    return None if h is None else dataclasses.asdict(h) | {"id": h.brand}


def brand_product_json(bp: BrandProduct, lang: str) -> dict[str, Any]:
    return {"id": bp.id, "brand": bp.brand, "title": pick_title(bp.titles, lang), "titles": dict(bp.titles),
            "category": bp.category, "price": bp.price, "currency": bp.currency, "images": list(bp.images),
            "aliases": list(bp.aliases)}


def product_hit_json(h: ProductHit | None, brand_products: Mapping[str, BrandProduct],
                     lang: str) -> dict[str, Any] | None:
    if h is None or h.id not in brand_products:
        return None
    return {**brand_product_json(brand_products[h.id], lang), "how": h.how, "confidence": h.confidence}


def _localised(out: dict[str, Any], lang: str, texts: Mapping[str, Any]) -> dict[str, Any]:
    """``out`` with each of ``texts`` (a catalog text, ``search.texts``) shown in ``lang``;
    ``fallback`` lists those shown in another language, as the catalog has none in it."""
    fallback = []
    for key, value in texts.items():
        shown = show_region(value, lang) if key == "region" else show(value, lang)
        out[key] = shown.text if shown else None
        if shown and shown.fallback:
            fallback.append(key)
    out["fallback"] = fallback
    return out


def factory_json(f: Factory, lang: str) -> dict[str, Any]:
    certs = [show(c, lang) for c in f.certifications]
    out = {"id": f.id, "name": pick_title(f.names, lang), "names": dict(f.names),
           "region_path": region_path(f.region), "regions": prefixes(region_path(f.region)),
           "certifications": [c.text for c in certs if c], "ship_within_hours": f.ship_within_hours,
           "reply_minutes": f.reply_minutes, "url": f.url, "email": f.email}
    _localised(out, lang, {"region": f.region, "returns": f.returns})
    # a plain certification name ("BSCI", "ISO 9001") is a name in every language
    if any(c and c.fallback and not isinstance(v, str) for c, v in zip(certs, f.certifications)):
        out["fallback"].append("certifications")
    return out


def label_json(label: Label, lang: str = "en") -> dict[str, Any]:
    out = {"type": label.type, "brand": label.brand,
           "verified_at": _iso(label.verified_at), "expires_at": _iso(label.expires_at)}
    return _localised(out, lang, {"evidence": label.evidence, "verified_by": label.verified_by})


def listing_json(x: Listing, lang: str) -> dict[str, Any]:
    """A factory listing without claims (what it is, who makes it, its terms)."""
    p = x.product
    return {
        "id": p.id, "title": pick_title(p.titles, lang), "titles": dict(p.titles), "category": p.category,
        "description": p.description, "attributes": dict(p.attributes), "images": list(p.images),
        "price_tiers": [{"min_qty": t.min_qty, "price": t.price} for t in p.price_tiers], "currency": p.currency,
        "min_price": p.min_price if p.price_tiers else None, "moq": p.moq, "dupe_of": list(p.dupe_of),
        "factory": factory_json(x.factory, lang),
        "counterfeit": [{"brand": b, "word": w} for b, w in x.trademark_hits],
        "url": p.url,
    }


def saving_json(s: Any, lang: str) -> dict[str, Any]:
    """A saving per tier, its wording in ``lang`` (the one rule: ``search.prices.ratio_text``)."""
    return {**dataclasses.asdict(s), "text": ratio_text(s.ratio, lang, s.basis)}


def claim_json(c: Claim, lang: str) -> dict[str, Any]:
    """A claim as the results show it: the label, the brand product it is about, the savings."""
    return {"label": label_json(c.label, lang),
            "replaces": brand_product_json(c.against, lang) if c.against else None,
            "savings": [saving_json(s, lang) for s in c.savings]}


def result_json(r: Result, lang: str = "en") -> dict[str, Any]:
    return {
        **listing_json(r.listing, lang), **claim_json(r.claim, lang),
        "declared": r.declared, "why": r.why, "score": round(r.score, 4),
        "more": [{"id": m.id, "title": pick_title(m.listing.product.titles, lang),
                  "titles": dict(m.listing.product.titles), "score": round(m.score, 4),
                  "min_price": m.listing.product.min_price, "currency": m.listing.product.currency,
                  # each collapsed listing's own claim, and the brand product it is about
                  "label": label_json(m.label, lang), "replaces": m.claim.against.id if m.claim.against else None,
                  "savings": [saving_json(s, lang) for s in m.claim.savings]}
                 for m in r.more],
    }


def response_json(resp: SearchResponse, lang: str = "en") -> dict[str, Any]:
    u = resp.understood
    bps = resp.brand_products
    return {
        "understood": {
            "text": u.text, "ocr_text": u.ocr_text, "ocr_error": u.ocr_error, "tokens": u.tokens,
            "brand": brand_hit_json(u.brand), "other_brands": [brand_hit_json(h) for h in u.other_brands],
            "brand_product": product_hit_json(u.brand_product, bps, lang),
            "alternatives": [x for x in (product_hit_json(h, bps, lang) for h in u.alternatives) if x],
            "looks_like": [x for x in (product_hit_json(h, bps, lang) for h in u.looks_like) if x],
            "categories": list(u.categories),
            "unknown_brand": u.unknown_brand,
            "lexical_weight": u.lexical_weight,
        },
        "total": resp.total, "took_ms": round(resp.took_ms, 2), "timings_ms": resp.timings,
        "fx": resp.fx.json(),
        "results": [result_json(r, lang) for r in resp.results],
    }


_NOT_MONEY = frozenset({"fx", "query"})          # the table itself, the request's echo


def money_round(value: float, digits: int) -> float:
    """``value`` to ``digits`` decimals, but never a positive price to 0: a few fen a piece
    in USD keeps two significant digits (0.0042), or it would read as free."""
    rounded = round(value, digits)
    if rounded == 0 and value != 0:
        return float(f"{value:.2g}")
    return rounded


def in_currency(data: Any, currency: str, fx: FxTable) -> Any:
    """A response's JSON with its money in ``currency``: every object that states a
    ``currency`` has its ``price``, ``min_price`` and ``price_tiers[].price`` converted with
    ``fx`` (rounded to the currency's minor units) and keeps what it said in ``original``.
    An amount in a currency the table has no rate for is left as it was (its ``currency``
    says so). Ratios and savings' wording do not change: they compare like with like."""
    if isinstance(data, list):
        return [in_currency(x, currency, fx) for x in data]
    if not isinstance(data, dict):
        return data
    out = {k: (v if k in _NOT_MONEY else in_currency(v, currency, fx)) for k, v in data.items()}
    src = out.get("currency")
    if not isinstance(src, str) or src == currency or convert(1.0, src, currency, fx.rates) is None:
        return out
    digits = MINOR_UNITS.get(currency, 2)

    def conv(amount: Any) -> Any:
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            return amount
        value = convert(float(amount), src, currency, fx.rates)
        return None if value is None else money_round(value, digits)

    original: dict[str, Any] = {"currency": src}
    for key in ("price", "min_price"):
        if key in out:
            original[key], out[key] = out[key], conv(out[key])
    if isinstance(out.get("price_tiers"), list):
        original["price_tiers"] = out["price_tiers"]
        out["price_tiers"] = [{**t, "price": conv(t.get("price"))} if isinstance(t, dict) else t
                              for t in out["price_tiers"]]
    out["currency"], out["original"] = currency, original
    return out

