"""What the API and the pages share: the engine (opened lazily, once per app), running a
search from validated parameters, the JSON shape of results with the service's links,
product and brand views, and the background reindex job.

Index problems (missing, corrupt, built with other models) become ``ApiError`` 503 with
the store's own message, so every caller shows a clear error instead of a traceback; the
message names no server path or address except to an admin key (the full cause is
logged). Image URLs are fetched with the public wording of their errors (no resolver
answers), a batch's URLs concurrently under one time budget.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, g, has_request_context, url_for

from indexer.images import FetchError
from search import facets, models
from search.categories import name_of as category_name
from search.claims import Claim, decide
from search.embedding import EmbedderError
from search.engine import SearchEngine
from search.requests import QueryError, QueryField, SearchResponse
from search.facets import Facets
from search.facets import to_json as facets_json
from search.records import BrandProduct
from search.regions import zh_name
from search.serialize import brand_product_json as bp_json
from search.serialize import claim_json, in_currency, listing_json, pick_title, response_json
from search.store.base import Filters, StoreError
from web import cursor as cursors
from web import links, photos
from web.errors import ApiError, public_text
from web.messages import PARAM_ZH, other, param_message
from web.params import SearchParams

log = logging.getLogger(__name__)

#: The API parameter each part of a search request comes from: the field a 400
#: ``bad_query`` names.
QUERY_PARAMS: dict[QueryField, str] = {"text": "q", "crop": "crop", "object": "object"}

# Stores raise only StoreError (a file damaged after it was opened included).
INDEX_ERRORS = (StoreError, EmbedderError)


def unavailable(e: Exception) -> ApiError:
    """503 for an index or model failure: the cause in full for an admin key and the log,
    without server paths and addresses for everyone else."""
    full = f"the search index cannot be used: {e}"
    _log_once(full)
    admin = has_request_context() and bool(getattr(g.get("identity"), "admin", False))
    return ApiError(503, "index_unavailable", full if admin else public_text(full), None, {"Retry-After": "30"})


_logged: dict[str, float] = {}
_logged_lock = threading.Lock()


def _log_once(message: str, every: float = 60.0) -> None:
    """Log a failure once a minute, not once per request that meets it."""
    now = time.monotonic()
    with _logged_lock:
        if now - _logged.get(message, -every) < every:
            return
        if len(_logged) > 100:
            _logged.clear()
        _logged[message] = now
    log.warning("%s", message)


class EngineHolder:
    """Builds the engine on first use; a failure is remembered for ``retry_after`` seconds,
    then tried again (so building the index while the service runs needs no restart).

    ``start_warm`` builds and warms it in a background thread instead (``dupe serve``):
    until that ends, ``starting()`` says so (``/health`` answers 503 "starting") and
    ``get`` waits for it, at most ``wait_s`` seconds, rather than building a second one."""

    def __init__(self, factory: Callable[[], SearchEngine] | None, engine: SearchEngine | None = None,
                 retry_after: float = 5.0, wait_s: float = 60.0) -> None:
        self.factory = factory
        self.engine = engine
        self.retry_after = retry_after
        self.wait_s = wait_s
        self._error: tuple[float, Exception] | None = None
        self._lock = threading.Lock()
        self._warm_done: threading.Event | None = None
        self._warm_started = 0.0
        self.ready_in: float | None = None          # seconds the warm-up took
        self.warm_problems: list[str] = []          # what could not be warmed (health: degraded)

    def start_warm(self, warm: Callable[[SearchEngine], list[str]] | None = None) -> threading.Thread:
        """Build the engine (or take the given one) and run ``warm`` on it in a thread; the
        engine is handed out once both are done. Returns the thread."""
        done = threading.Event()
        given, self.engine = self.engine, None
        self._warm_done, self._warm_started = done, time.monotonic()

        def work() -> None:
            try:
                if given is None and self.factory is None:
                    raise StoreError("no engine configured")
                eng = given if given is not None else self.factory()  # type: ignore[misc]
                problems = warm(eng) if warm else []
                with self._lock:
                    self.engine, self._error, self.warm_problems = eng, None, list(problems)
            except INDEX_ERRORS as e:
                with self._lock:
                    self._error = (time.monotonic(), e)
                _log_once(f"the search index cannot be used: {e}")
            except Exception as e:      # reported by /health, not a dead thread
                log.exception("warming the search engine failed")
                with self._lock:
                    self._error = (time.monotonic(), StoreError(f"warming the engine failed: {type(e).__name__}"))
            finally:
                self.ready_in = time.monotonic() - self._warm_started
                done.set()

        t = threading.Thread(target=work, name="dupe-warm", daemon=True)
        t.start()
        return t

    def starting(self) -> dict[str, Any] | None:
        """``{"status": "starting", ...}`` while the warm-up runs, else None."""
        done = self._warm_done
        if done is None or done.is_set():
            return None
        return {"status": "starting", "message": "loading the index and models",
                "elapsed_s": round(time.monotonic() - self._warm_started, 1)}

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait for the warm-up (if any) to end; True when it has."""
        done = self._warm_done
        return done is None or done.wait(timeout)

    def get(self) -> SearchEngine:
        if self.engine is not None:
            return self.engine
        if not self.wait_ready(self.wait_s):
            raise ApiError(503, "starting", "the service is starting (loading the index and models): "
                           "try again shortly", None, {"Retry-After": "5"})
        with self._lock:
            if self.engine is not None:
                return self.engine
            if self._error and time.monotonic() - self._error[0] < self.retry_after:
                raise unavailable(self._error[1])
            if self.factory is None:
                raise unavailable(StoreError("no engine configured"))
            try:
                self.engine = self.factory()
                self._error = None
            except INDEX_ERRORS as e:
                self._error = (time.monotonic(), e)
                raise unavailable(e) from None
            return self.engine

    def retry_now(self) -> None:
        """Forget a remembered failure (e.g. the index was just built)."""
        with self._lock:
            self._error = None


#: What the warm-up searches: English and Chinese words (the Chinese segmenter's dictionary
#: loads on the first Chinese query) and a phone-shaped photo with a line of text on it.
WARM_TEXTS = ("stanley cup tumbler dupe", "瑜伽裤 lululemon")
WARM_PHOTO_SIZE = (1200, 1600)


def warm_photo(size: tuple[int, int] = WARM_PHOTO_SIZE) -> Any:
    """A synthetic photo: a product-like shape and a label with text, for the warm-up."""
    from PIL import Image, ImageDraw
    im = Image.new("RGB", size, (236, 232, 226))
    d = ImageDraw.Draw(im)
    w, h = size
    d.rounded_rectangle((w // 4, h // 6, 3 * w // 4, 5 * h // 6), radius=w // 12, fill=(60, 90, 140))
    d.rectangle((w // 4 + 20, h // 2 - 60, 3 * w // 4 - 20, h // 2 + 60), fill=(250, 250, 250))
    d.text((w // 4 + 40, h // 2 - 20), "STANLEY QUENCHER 40 OZ", fill=(10, 10, 10))
    return im


def warm(eng: SearchEngine) -> list[str]:
    """Load everything a first search would: the store and catalog view, the text model,
    the image model and OCR (one small inference each), then one text search per
    ``WARM_TEXTS`` and one photo search, so the lazy caches (segmenter dictionary,
    analyzers, the generation's anchor and listing caches, the ONNX sessions' first-run
    allocations) are built. A text model failure is fatal (raised); an image model or OCR
    failure is returned as a problem (text search still works)."""
    from PIL import Image

    from search.requests import SearchRequest
    t0 = time.perf_counter()
    eng.view()
    eng.catalog_facets()            # the page's filter panel lists them (a read of every product)
    eng.text.embed("warm up", query=True)
    for text in WARM_TEXTS:
        eng.search(SearchRequest(text=text, k=10))
    problems: list[str] = []
    photo = warm_photo()
    if eng.image is not None:
        try:
            eng.image.embed(photo.resize((96, 128)), query=True)
        except EmbedderError as e:
            problems.append(f"the image model cannot be used: {e}")
    if eng.ocr is not None:
        try:
            eng.ocr.read_text(photo.resize((300, 400)))
        except EmbedderError as e:
            problems.append(f"OCR cannot be used: {e}")
    if eng.image is not None and not problems:
        # Both orientations: the OCR detector's first run at a new input shape allocates
        # (a phone photo held upright, and one held sideways: 600x800 and 800x600 copies).
        for im in (photo, photo.transpose(Image.Transpose.ROTATE_90)):
            for _ in range(2):      # the second run settles the ONNX sessions' allocations
                eng.search(SearchRequest(image=im, k=10))
    log.info("search engine warm in %.1f s", time.perf_counter() - t0)
    return problems


def holder() -> EngineHolder:
    return current_app.extensions["dupe_engine"]


def engine() -> SearchEngine:
    return holder().get()


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` mapping index and model failures to 503."""
    try:
        return fn()
    except ApiError:
        raise
    except INDEX_ERRORS as e:
        raise unavailable(e) from None


def photo_for(p: SearchParams, upload: Any = None, fetcher: photos.Fetcher | None = None) -> Any:
    """The photo of a search (an uploaded file, base64, a URL or a kept photo id), decoded
    and checked, or None for a text search. ``fetcher``: URLs fetched already (a batch's)."""
    cfg = current_app.config
    if upload is not None:
        return photos.from_upload(upload, cfg)
    if p.image_base64:
        return photos.from_base64(p.image_base64, cfg)
    if p.image_url:
        return photos.from_url(p.image_url, cfg, fetcher or public_fetcher(cfg["URL_FETCHER"]))
    if p.photo_id:
        return current_app.extensions["dupe_photos"].load(p.photo_id, cfg)
    return None


def public_fetcher(fetch: photos.Fetcher) -> photos.Fetcher:
    """``fetch`` whose errors say what a caller may know: "the host is not a public
    address", never which address a name resolved to here (logged instead)."""
    def go(url: str, **kw: Any) -> bytes:
        try:
            return fetch(url, **kw)
        except FetchError as e:
            if e.public == str(e):
                raise
            log.info("image URL refused: %s", e)
            raise FetchError(e.public, e.kind) from None
    return go


def fetch_all(urls: Iterable[str], *, accept: str = "image", max_bytes: int | None = None) -> photos.Fetcher:
    """Fetch a batch's image URLs (``accept="html"``: its product pages, ``web.page_url``)
    concurrently (``URL_BATCH_WORKERS`` at a time), all within ``URL_BATCH_TIMEOUT``
    seconds; returns a fetcher that answers from what was fetched. One at a time, 20 slow
    URLs would hold a batch for 20 timeouts."""
    cfg = current_app.config
    fetch = public_fetcher(cfg["URL_FETCHER"])
    if accept != "image":
        fetch = functools.partial(fetch, accept=accept)
    timeout, budget = float(cfg["URL_TIMEOUT"]), float(cfg["URL_BATCH_TIMEOUT"])
    max_bytes = int(max_bytes or cfg["MAX_IMAGE_BYTES"])
    end = time.monotonic() + budget
    wanted = list(dict.fromkeys(urls))
    results: dict[str, bytes | Exception] = {}

    def one(url: str) -> bytes:
        left = min(timeout, end - time.monotonic())
        if left <= 0:
            raise _batch_timeout(budget)
        return fetch(url, timeout=left, max_bytes=max_bytes)

    if wanted:
        workers = max(1, min(int(cfg["URL_BATCH_WORKERS"]), len(wanted)))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dupe-batch-fetch")
        try:
            futures = {url: pool.submit(one, url) for url in wanted}
            for url, future in futures.items():
                try:
                    # fetch_url keeps its own deadline; this wait is a backstop for other fetchers.
                    results[url] = future.result(timeout=max(0.0, end - time.monotonic()) + 1.0)
                except concurrent.futures.TimeoutError:
                    future.cancel()
                    results[url] = _batch_timeout(budget)
                except Exception as e:      # noqa: BLE001  (the item's own error, whatever it is)
                    results[url] = e
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def answer(url: str, **kw: Any) -> bytes:
        got = results.get(url)
        if got is None:                     # not prefetched: fetch it now
            return fetch(url, **kw)
        if isinstance(got, Exception):
            raise got
        return got
    return answer


def _batch_timeout(budget: float) -> FetchError:
    """A batch URL not fetched within the batch's ``budget`` seconds."""
    return FetchError(f"timed out: this batch's {budget:g} s for fetching URLs ran out", "unreachable")


def run_search(p: SearchParams, image: Any = None, ocr_text: str | None = None) -> SearchResponse:
    """``ocr_text``: the text already read on ``image`` (a kept photo's), not read again."""
    eng = engine()
    check_currency(p.currency)

    def go() -> SearchResponse:
        view = eng.view()
        if p.brand and p.brand not in view.brands:
            raise ApiError(400, "unknown_brand", f"brand: no brand with id {p.brand[:60]!r} (see /api/v1/brands)",
                           "brand")
        if p.brand_product and p.brand_product not in view.brand_products:
            raise ApiError(400, "unknown_brand_product",
                           f"brand_product: no brand product with id {p.brand_product[:60]!r}", "brand_product")
        flt = p.filters()
        if p.category or p.region or p.certifications:      # names to look up in the catalog
            try:
                flt = resolved_filters(p, eng.catalog_facets())
            except ApiError as e:
                if e.code != "unknown_value":
                    raise
                # the counts kept across a reindex may lack a value it just added: count again
                flt = resolved_filters(p, eng.catalog_facets(max_age=0))
        try:
            resp = eng.search(dataclasses.replace(p.to_request(image), ocr_text=ocr_text, filters=flt))
        except QueryError as e:
            raise ApiError(400, "bad_query", str(e), QUERY_PARAMS[e.field]) from None
        if p.cursor is not None:
            cursors.check(p.cursor, resp)
        return resp
    return guarded(go)


def resolved_filters(p: SearchParams, catalog: Facets) -> Filters:
    """``p``'s filters with the values as the index holds them: a category by its id, a
    region as the indexed region paths it names, certifications as the catalog spells
    them. A value naming nothing in the catalog is a 400 listing what it may be."""
    f = p.filters()
    try:
        return dataclasses.replace(
            f, category=facets.resolve_category(p.category, catalog) if p.category else None,
            region=None, regions=facets.resolve_region(p.region, catalog) if p.region else (),
            certifications=facets.resolve_certifications(p.certifications, catalog))
    except facets.UnknownValue as e:
        def listed(names: list[str], sep: str) -> str:
            return sep.join(names[:30]) + (sep + "..." if len(names) > 30 else "")
        zh_names = {"region": lambda v: zh_name(v)[0], "category": lambda v: category_name(v).zh}
        in_zh = [zh_names.get(e.field, str)(v) for v in e.valid]
        args = {"what": e.field, "what_zh": PARAM_ZH.get(e.field, e.field), "value": repr(e.value[:60]),
                "values": listed(e.valid, ", "), "values_zh": listed(in_zh, "、")}
        raise ApiError(400, "unknown_value", param_message("unknown_value", "en", e.field, args), e.field,
                       valid=e.valid, key="unknown_value", args=args) from None


# ----------------------------------------------------------------------------- JSON


def check_currency(code: str | None) -> None:
    """400 unless the exchange table has a rate for ``code`` (None: the listings' own)."""
    problem = engine().fx_table.unknown(code)
    if problem:
        raise ApiError(400, "unknown_currency", f"currency: {problem} (GET /api/v1/currencies)", "currency")


def money(data: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """``data`` with every price in ``currency`` (``search.serialize.in_currency``; checked
    with ``check_currency`` before the work), as it is without one."""
    if currency is None:
        return data
    return in_currency(data, currency, engine().fx_table)


def image_url(ref: str | None, external: bool = True) -> str | None:
    """Where a catalog image reference can be loaded from: URLs as they are (API clients
    fetch them themselves), catalog paths under /images/ (``external``: as the link to
    hand out, see ``web.links``; else root-relative)."""
    if not ref or not isinstance(ref, str):
        return None
    if ref.lower().startswith(("http://", "https://")):
        return ref
    path = url_for("pages.catalog_image", filename=ref)
    return links.external(path) if external else path


def image_urls(refs: Any) -> list[str]:
    """The loadable URLs of a record's image references."""
    return [u for u in (image_url(r) for r in refs or ()) if u]


def _link_args(bp_id: str | None, lang: str) -> dict[str, str]:
    """The query of a listing's links: the brand product compared with, and the language
    when it is not the default (so a shared link opens in the sharer's language)."""
    return {k: v for k, v in (("bp", bp_id), ("lang", lang if lang != "en" else None)) if v}


def card_url(product_id: str, bp_id: str | None, lang: str = "en", external: bool = True) -> str:
    path = url_for("pages.share_card", product_id=product_id, **_link_args(bp_id, lang))
    return links.external(path) if external else path


def detail_url(product_id: str, bp_id: str | None = None, lang: str = "en", external: bool = True) -> str:
    """The product page (``web.listing_page``) of a listing, compared with ``bp_id``
    first: the same claim the card showed. (Not ``page_url``: that search parameter is a
    brand's product page to search from; and ``url`` is the catalog's own listing link.)"""
    path = url_for("listing.product", product_id=product_id, **_link_args(bp_id, lang))
    return links.external(path) if external else path


def _with_links(r: dict[str, Any], lang: str) -> dict[str, Any]:
    r["image_urls"] = image_urls(r.get("images"))
    bp = r.get("replaces")
    if bp:
        bp["image_urls"] = image_urls(bp.get("images"))
    r["card_url"] = card_url(r["id"], (bp or {}).get("id"), lang)
    r["detail_url"] = detail_url(r["id"], (bp or {}).get("id"), lang)
    for m in r.get("more") or ():
        m["detail_url"] = detail_url(m["id"], m.get("replaces"), lang)
    return r


def catalog_facets(max_age: float | None = None) -> Facets:
    """The catalog's counts to show (counted at warm start; after a reindex, counted again
    once they are older than ``max_age`` seconds, the engine's minute by default)."""
    eng = engine()
    return guarded(lambda: eng.catalog_facets(max_age))


def categories_json(lang: str) -> list[dict[str, Any]]:
    out = []
    for c in facets_json(catalog_facets(), lang)["category"]:
        name = category_name(c["value"])
        out.append({"id": c["value"], "name": c["name"], "names": {"zh": name.zh, "en": name.en},
                    "translated": name.translated, "count": c["count"]})
    return out


def regions_json(lang: str) -> list[dict[str, Any]]:
    def names(node: dict[str, Any]) -> dict[str, Any]:
        zh, complete = zh_name(node["value"].split()[-1])
        return {**node, "names": {"zh": zh, "en": node["value"].split()[-1]}, "translated": complete}
    return [{**names(p), "cities": [names(c) for c in p["cities"]]}
            for p in facets_json(catalog_facets(), lang)["region"]]


def search_json(resp: SearchResponse, p: SearchParams) -> dict[str, Any]:
    data = response_json(resp, p.lang)
    data["facets"] = facets_json(resp.facets, p.lang)
    for r in data["results"]:
        _with_links(r, p.lang)
    u = data["understood"]
    for bp in [u.get("brand_product"), *u.get("alternatives", []), *u.get("looks_like", [])]:
        if bp:
            bp["image_urls"] = image_urls(bp.get("images"))
    u["objects"] = objects_json(resp, p.lang)
    # A cursor may follow pages of another k: the page is the one the offset falls in.
    data["page"], data["k"], data["offset"] = p.offset // p.k + 1, p.k, p.offset
    data["next"] = cursors.following(resp, p.offset, p.k)
    data["query"] = p.echo()
    return money(data, p.currency)


def objects_json(resp: SearchResponse, lang: str) -> list[dict[str, Any]]:
    """The distinct products found on the photo (``search.objects``), each with what it
    looks like and whether its box is the one searched; [] for one product or none."""
    out = []
    for o in resp.understood.objects:
        bp = resp.brand_products.get(o.brand_product) if o.brand_product else None
        out.append({"box": list(o.box),
                    "brand_product": {"id": bp.id, "name": pick_title(bp.titles, lang)} if bp else None,
                    "category": o.category, "confidence": o.confidence, "area": o.area, "searched": o.searched})
    return out


def listing(product_id: str) -> models.Listing:
    """A stored product as its read model, or 404."""
    eng = engine()
    x = guarded(lambda: eng.listing(product_id))
    if x is None:
        raise ApiError(404, "not_found", field="id", **other("no_product", id=repr(product_id[:60])))
    return x


def claim_for(x: models.Listing, bp: BrandProduct, today: dt.date | None = None) -> Claim:
    """The claim rule (``search.claims``) for one listing against one brand product today."""
    eng = engine()
    view = guarded(eng.view)
    return decide(x, bp, today or eng.today(), view.brand_products, eng.fx, view.understander.kinds)


def product_json(product_id: str, lang: str, today: dt.date | None = None, first: str | None = None) -> dict[str, Any]:
    """A product with its factory, and for each brand product it declares it replaces: the
    claim the rule allows today (label, saving, or why not). ``first``: a brand product to
    compare it with before those (the one a search compared it with), 404 if unknown."""
    x = listing(product_id)
    view = guarded(engine().view)
    if first is not None and first not in view.brand_products:
        raise ApiError(404, "not_found", field="bp", **other("no_brand_product", id=repr(first[:60])))
    dupe_of = []
    for bp_id in dict.fromkeys([*([first] if first else []), *x.product.dupe_of]):
        bp = view.brand_products.get(bp_id)
        if bp is None:
            continue
        claim = claim_for(x, bp, today)
        said = claim_json(claim, lang)
        dupe_of.append({**brand_product_json(bp, lang), "label": said["label"],
                        "savings": said["savings"], "comparable": claim.comparable,
                        "claim_problems": list(claim.problems),
                        "card_url": card_url(product_id, bp_id, lang) if claim.comparable else None})
    out = listing_json(x, lang)
    out["image_urls"] = image_urls(x.product.images)
    out["detail_url"] = detail_url(product_id, first, lang)
    out["dupe_of"] = dupe_of
    out["fx"] = engine().fx_table.json()
    return out


def brand_product_json(bp: BrandProduct, lang: str) -> dict[str, Any]:
    out = bp_json(bp, lang)
    out["image_urls"] = image_urls(bp.images)
    return out


def brands_json(lang: str) -> dict[str, Any]:
    view = guarded(engine().view)
    by_brand: dict[str, list[dict[str, Any]]] = {}
    for bp in view.brand_products.values():
        by_brand.setdefault(bp.brand, []).append(brand_product_json(bp, lang))
    brands = []
    for bid, b in sorted(view.brands.items()):
        brands.append({"id": bid, "name": pick_title(b.names, lang), "names": dict(b.names),
                       "aliases": list(b.aliases), "categories": list(b.categories),
                       "brand_products": sorted(by_brand.get(bid, []), key=lambda x: x["id"])})
    return {"brands": brands}


def dupes_params(bp: BrandProduct, p: SearchParams) -> SearchParams:
    """A brand product's dupes: the dupe search anchored on it, with no words of its own."""
    from dataclasses import replace
    return replace(p, q=None, brand=bp.brand, brand_product=bp.id)
