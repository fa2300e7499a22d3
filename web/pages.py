"""The search page for small-B buyers (on a phone, often by photo) and creators (who share
results): server-rendered, works without JavaScript, JavaScript adds drag-and-drop,
paste, auto-submit and crop-by-dragging.

Stable URLs: ``/search?q=...`` for text searches (a product page's address pasted in
the query box is read: ``/search?page_url=...``, ``web.page_url``) and
``/s/<photo_id>?...`` for photo searches (the photo kept under a random id for
``UPLOAD_DAYS`` days); ``/card/<id>.png`` is the side-by-side share card;
``/images/<path>`` serves catalog images.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)

from indexer.images import ImageError, load_local
from search.categories import name_of as category_name
from search.claims import Claim
from search.facets import SHIP_WITHIN
from search.models import Listing
from search.prices import conversion, ratio_text
from search.regions import show_region
from search.serialize import pick_title
from search.texts import Shown, shown_text
from web import cards, links, page_url, photos, service, work
from web.errors import ApiError
from web.i18n import UI_LANGS, remember_lang, t, ui_lang
from web.messages import other
from web.params import PAGE_FIELDS, SearchParams, parse_search

bp = Blueprint("pages", __name__)
bp.after_request(remember_lang)

PAGE_K = 20
# The filter panel's lists may be this old while a reindex runs: a page render should not
# wait for a count of every product (the API's /categories and searches use a minute).
PANEL_MAX_AGE_S = 600.0
_IMAGE_EXT_RE = re.compile(r".+\.(jpe?g|png|webp|gif|avif|bmp)$", re.I)
_CURRENCY = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "KRW": "₩", "HKD": "HK$", "VND": "₫"}


# ----------------------------------------------------------------------------- helpers for templates


def money(price: Any, currency: str | None) -> str:
    if price is None:
        return ""
    sym = _CURRENCY.get((currency or "").upper())
    amount = f"{float(price):,.2f}".rstrip("0").rstrip(".")
    return f"{sym}{amount}" if sym else f"{amount} {currency or ''}".strip()


def fx_note(amount: float, src: str, dst: str, lang: str) -> str:
    """A brand price in another currency than the listing's, said in the listing's: "≈
    ¥696 at 1 USD = 7.1 CNY (rates of 2026-11-01)" ("" when both are in one currency or
    there is no rate). The rate is the exchange table's the claims are computed with."""
    conv = conversion(amount, src, dst, service.engine().fx_table)
    if conv is None:
        return ""
    rate = t("fx_rate", lang, src=conv.source_currency, rate=f"{conv.rate:.4g}", dst=conv.currency)
    if conv.date:
        rate = t("fx_rate_of", lang, rate=rate, date=conv.date)
    return t("fx_note", lang, amount=money(conv.amount, conv.currency), rate=rate)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    lang = ui_lang()
    return {
        "lang": lang, "other_lang": "en" if lang == "zh" else "zh",
        "t": lambda key, **kw: t(key, lang, **kw),
        "money": money, "ratio_text": lambda r, basis="item": ratio_text(r, lang, basis),
        "fx_note": lambda amount, src, dst: fx_note(amount, src, dst, lang),
        "lang_url": _lang_url,
        "category_name": lambda c: category_name(c).name(lang),
        "region_name": lambda r: (show_region(r, lang) or Shown(r, lang, False)).text,
    }


#: Pages whose language switch stays on the page, with the query arguments each keeps.
_SWITCH_KEEPS = {"pages.search": PAGE_FIELDS, "pages.photo_search": PAGE_FIELDS, "pages.index": PAGE_FIELDS,
                 "listing.product": ("bp",)}


def _lang_url(lang: str) -> str:
    keeps = _SWITCH_KEEPS.get(request.endpoint or "")
    if keeps is None:
        return url_for("pages.index") + "?" + urlencode([("lang", lang)])
    args = [(k, v) for k, v in request.args.items(multi=True) if k in keeps and k != "lang"] + [("lang", lang)]
    return url_for(request.endpoint, **(request.view_args or {})) + "?" + urlencode(args)


def _limit() -> None:
    """Page searches and cards cost CPU: a per-address limit (429 page when exceeded)."""
    per_minute = int(current_app.config["PAGE_RATE_LIMIT_PER_MIN"])
    ok, wait, _ = current_app.extensions["dupe_limiter"].take(f"page:{request.remote_addr}", per_minute)
    if not ok:
        raise ApiError(429, "rate_limited", t("error", ui_lang()) + f": {per_minute}/min",
                       None, {"Retry-After": str(max(1, int(wait + 0.999)))})


def _page_params(source: Any) -> SearchParams:
    """Search parameters from the page's query string or form: fields left empty are not
    given, parameters the page does not know are ignored, the language is the UI's."""
    raw = {k: vs for k in PAGE_FIELDS if (vs := [v for v in source.getlist(k) if v.strip()])}
    q = raw.get("q", [])
    if len(q) == 1 and page_url.is_page_url(q[0]) and not raw.keys() & {"page_url", "photo_id"}:
        raw["page_url"] = raw.pop("q")          # a product page pasted in the query box: read it
    raw["lang"] = [ui_lang()]
    return parse_search(raw, allowed=PAGE_FIELDS, defaults=SearchParams(k=PAGE_K), require_query=False)


def _brand_choices(lang: str) -> list[tuple[str, str]]:
    try:
        view = service.guarded(service.engine().view)
    except ApiError:
        return []
    return sorted(((bid, pick_title(b.names, lang) or bid) for bid, b in view.brands.items()),
                  key=lambda x: x[1].lower())


def _catalog_choices(lang: str) -> dict[str, Any]:
    """The catalog's categories, regions and certifications for the filter panel (none
    while the index is unavailable: the page still renders)."""
    try:
        return service.facets_json(service.catalog_facets(PANEL_MAX_AGE_S), lang)
    except ApiError:
        return {"category": [], "region": [], "certification": []}


def _render(p: SearchParams | None, *, data: dict[str, Any] | None = None, error: ApiError | None = None,
            photo_id: str | None = None, status: int = 200) -> tuple[str, int]:
    lang = ui_lang()
    base = url_for("pages.photo_search", photo_id=photo_id) if photo_id else url_for("pages.search")

    def link(**changes: Any) -> str:
        args = p.query_args(**changes) if p else []
        return base + ("?" + urlencode(args) if args else "")

    share_url = og_url = og_image = None
    if p is not None and (p.q or p.page_url or photo_id) and error is None:
        # From PUBLIC_URL, never the Host header (web.links); og tags only when absolute.
        share_url, og_url = links.external(link(page=1)), links.absolute(link(page=1))
        if data and data["results"] and og_url:
            og_image = data["results"][0]["card_url"]
    html = render_template("search.html", p=p or SearchParams(k=PAGE_K, lang=lang), data=data, error=error,
                           photo_id=photo_id, link=link, base_url=base, share_url=share_url, og_url=og_url, og_image=og_image,
                           brands=_brand_choices(lang) if data else [],
                           photo_url=url_for("pages.photo_file", photo_id=photo_id) if photo_id else None,
                           ship_options=SHIP_WITHIN, catalog=_catalog_choices(lang))
    return html, status, (error.headers if error is not None else {})     # Retry-After of a 429 or 503


# ----------------------------------------------------------------------------- views


@bp.get("/")
def index():
    return _render(None)


@bp.get("/search")
def search():
    try:
        p = _page_params(request.args)
    except ApiError as e:
        return _render(None, error=e, status=e.status)
    if not p.q and not p.page_url:
        return _render(p)
    if p.photo_id:
        return redirect(url_for("pages.photo_search", photo_id=p.photo_id) + "?" +
                        urlencode(p.query_args()), 303)
    return _search_and_render(p)


def _search_and_render(p: SearchParams, photo_id: str | None = None):
    """A text search, or the search of the kept photo ``photo_id`` (decoded and searched
    in a slot of the photo gate, ``web.work``). The text OCR reads on a kept photo is
    kept with it: later visits of its link do not read it again."""
    _limit()
    store = current_app.extensions["dupe_photos"]
    known = page = None
    try:
        with work.photo_slot(photo_id is not None or p.page_url is not None):
            if p.page_url and photo_id is None:       # a product page: its words and image
                page = page_url.prepare(p)
            image = store.load(photo_id, current_app.config) if photo_id else page.image if page else None
            known = store.text(photo_id) if photo_id and p.crop is None else None
            resp = service.run_search(page.params if page else p, image, ocr_text=known)
        data = page_url.annotate(service.search_json(resp, p), page)
    except ApiError as e:
        return _render(p, error=e, photo_id=photo_id, status=e.status)
    read = "ocr" in resp.timings and resp.understood.ocr_error is None   # OCR ran, and succeeded
    whole = p.crop is None and not any(o.searched for o in resp.understood.objects)   # not a part of it
    if photo_id and known is None and whole and read:
        store.keep_text(photo_id, resp.understood.ocr_text or "")
    return _render(p, data=data, photo_id=photo_id)


@bp.post("/search")
def search_post():
    """The page's form: a new photo is stored and the browser sent to its stable URL."""
    photo = next((f for name in ("photo", "camera") for f in request.files.getlist(name) if f and f.filename), None)
    if photo is not None:
        _limit()            # decoding and keeping a photo is a search's worth of work
    try:
        p = _page_params(request.form)
        if photo is not None:
            with work.photo_slot():
                image = service.photo_for(p, photo)
                photo_id = current_app.extensions["dupe_photos"].save(image)
            args = p.query_args(crop=None, object=None, photo_id=None)
            return redirect(url_for("pages.photo_search", photo_id=photo_id) + ("?" + urlencode(args) if args else ""),
                            303)
    except ApiError as e:
        return _render(None, error=e, status=e.status)
    if p.photo_id:
        args = p.query_args(photo_id=None)
        return redirect(url_for("pages.photo_search", photo_id=p.photo_id) + ("?" + urlencode(args) if args else ""),
                        303)
    args = p.query_args()
    return redirect(url_for("pages.search") + ("?" + urlencode(args) if args else ""), 303)


@bp.get("/s/<photo_id>")
def photo_search(photo_id: str):
    try:
        p = _page_params(request.args)
        if current_app.extensions["dupe_photos"].path(photo_id) is None:
            raise photos.photo_not_found()
    except ApiError as e:
        return _render(None, error=e, status=e.status)
    from dataclasses import replace
    p = replace(p, photo_id=None)
    return _search_and_render(p, photo_id=photo_id)


@bp.get("/s/<photo_id>/photo.jpg")
def photo_file(photo_id: str):
    path = current_app.extensions["dupe_photos"].path(photo_id)
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="image/jpeg", max_age=86400)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


@bp.get("/images/<path:filename>")
def catalog_image(filename: str):
    if not _IMAGE_EXT_RE.fullmatch(filename):
        abort(404)
    # send_from_directory joins safely (no "..", no absolute paths) under CATALOG_DIR.
    return send_from_directory(current_app.config["CATALOG_DIR"], filename, max_age=3600)


@bp.get("/card/<product_id>.png")
def share_card(product_id: str):
    _limit()
    lang = ui_lang()
    bp_id = request.args.get("bp") or None
    x = service.listing(product_id)
    view = service.guarded(service.engine().view)
    if bp_id is None:
        bp_id = next((b for b in x.product.dupe_of if b in view.brand_products), None)
    brand_product = view.brand_products.get(bp_id) if bp_id else None
    if brand_product is None:
        raise ApiError(404, "not_found", field="bp", **other("no_bp_to_compare"))
    claim = service.claim_for(x, brand_product)
    if not claim.comparable:
        # A card is a claim: never one about a product that may not be compared.
        raise ApiError(404, "not_comparable", f"{product_id} cannot be compared with {brand_product.id}: "
                       + "; ".join(claim.problems), "bp")
    png = _card_png(x, claim, lang, view.generation)
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def _card_png(x: Listing, claim: Claim, lang: str, generation: int) -> bytes:
    bp = claim.against
    today = service.engine().today()
    key = (x.id, bp.id, lang, generation, today.isoformat())
    cache = current_app.extensions["dupe_cards"]
    hit = cache.get(key)
    if hit is not None:
        return hit
    p, factory, label = x.product, x.factory, claim.label
    brand = service.engine().view().brands.get(bp.brand)
    tiers = sorted(p.price_tiers, key=lambda t: t.min_qty)
    savings = sorted(claim.savings, key=lambda s: s.min_qty)
    first = tiers[0]
    best = min(tiers, key=lambda t: t.price) if len(tiers) > 1 else None
    ratio = savings[0] if savings and savings[0].min_qty == first.min_qty else None
    spec = cards.CardSpec(
        brand_name=dict(brand.names) if brand else {}, brand_titles=dict(bp.titles),
        brand_price=money(bp.price, bp.currency),
        brand_price_note={each: fx_note(bp.price, bp.currency, p.currency, each) for each in UI_LANGS},
        url=links.absolute(service.detail_url(x.id, bp.id, lang, external=False)),
        expires_at=label.expires_at.isoformat() if label.expires_at else None,
        ratio_basis=ratio.basis if ratio else "item",
        dupe_titles=dict(p.titles), factory_names=dict(factory.names),
        dupe_price=money(first.price, p.currency),
        dupe_best=money(best.price, p.currency) if best and best is not first else None,
        best_qty=best.min_qty if best else None, moq=p.moq,
        ratio=ratio.ratio if ratio else None, label=label.type,
        verified_by=shown_text(label.verified_by, lang), verified_at=label.verified_at.isoformat() if label.verified_at else None,
        lang=lang)
    left = _load_image(bp.images[0] if bp.images else None)
    right = _load_image(p.images[0] if p.images else None)
    png = cards.render(spec, left, right, font_path=current_app.config.get("CARD_FONT"))
    cache.put(key, png)
    return png


def _load_image(ref: str | None) -> Any:
    """A catalog image for the card (placeholder on any failure: a card is never refused
    for a missing picture). Remote images go through the SSRF-guarded fetcher."""
    if not ref:
        return None
    cfg = current_app.config
    try:
        if ref.lower().startswith(("http://", "https://")):
            from indexer.images import decode_image
            data = cfg["URL_FETCHER"](ref, timeout=3.0, max_bytes=cfg["MAX_IMAGE_BYTES"])
            return decode_image(data, max_bytes=cfg["MAX_IMAGE_BYTES"], max_pixels=cfg["MAX_IMAGE_PIXELS"],
                                draft=(600, 600))
        return load_local(ref, cfg["CATALOG_DIR"], draft=(600, 600))
    except (ImageError, OSError):
        return None
