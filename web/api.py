"""JSON API v1 (``/api/v1``) for cross-border purchasing agents and their tools.

Search by text and/or photo (multipart ``photo``, ``image_base64`` or ``image_url``) or by
a product page (``page_url``: its product's words and image, ``web.page_url``),
batch search, products, brands, a brand product's dupes, health, the OpenAPI document,
and admin operations (reindex, catalog upload). Every request is identified (API key or
anonymous) and rate limited before its view runs (a guess at a key costs a token of the
caller's address); every error has the one error shape of ``web.errors``. JSON bodies
are sized and counted before they are parsed (``web.bodylimits``). The OpenAPI document
in ``web.openapi`` describes exactly this.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from indexer.catalog.reader import CATALOG_FILES
from search.store.base import StoreError
from web import links, page_url, service, work
from web.auth import ANONYMOUS, Identity, identify
from web.bodylimits import check_json_body, json_limit
from web.errors import ApiError, public_text
from web.messages import other
from web.params import (
    LISTING_FIELDS,
    SearchParams,
    check_known,
    json_raw,
    merge_raw,
    multidict_raw,
    parse_search,
    to_currency,
    to_lang,
)
from web.reindex import reindex_runner

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoints that are neither identified nor rate limited (monitoring, discovery).
_OPEN = {"api.health", "api.openapi"}


# ----------------------------------------------------------------------------- identity, limits, CORS


def _header_text(value: str) -> str:
    """A header value as the text the caller sent. WSGI decodes header bytes as Latin-1;
    keys are configured (and hashed) as UTF-8 text, so a non-ASCII key is recovered from
    its bytes. Bytes that are not UTF-8 stay as Latin-1 text (and match no key)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _presented_key() -> str | None:
    key = request.headers.get("X-API-Key")
    if key is not None:
        return _header_text(key).strip()
    auth = request.headers.get("Authorization")
    if auth is None:
        return None
    scheme, _, token = _header_text(auth).strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <API key>'", None,
                       {"WWW-Authenticate": "Bearer"})
    return token.strip()


def _client_addr() -> str:
    return request.remote_addr or "unknown"


def _bucket(ident: Identity) -> tuple[str, int]:
    """The caller's rate-limit bucket and its requests per minute."""
    cfg = current_app.config
    if ident.anonymous:
        return f"anon:{_client_addr()}", int(cfg["ANON_RATE_LIMIT_PER_MIN"])
    return f"key:{ident.name}", int(ident.per_minute or cfg["RATE_LIMIT_PER_MIN"])


def _who(ident: Identity) -> str:
    return "this API key" if not ident.anonymous else "anonymous callers (use an API key for more)"


def charge(cost: int = 1) -> None:
    """Take ``cost`` tokens from the caller's bucket, or refuse with 429 + Retry-After."""
    ident: Identity = g.identity
    key, per_minute = _bucket(ident)
    ok, wait, left = current_app.extensions["dupe_limiter"].take(key, per_minute, cost)
    g.rate = (per_minute, left)
    if not ok:
        raise ApiError(429, "rate_limited",
                       f"rate limit of {per_minute} requests per minute reached for {_who(ident)}",
                       None, {"Retry-After": str(max(1, int(wait + 0.999)))})


def _refuse_unknown_key() -> None:
    """401 for an unknown key; each guess costs a token of the address's anonymous bucket,
    so guessing is rate limited like anonymous use (429 once the bucket is empty)."""
    key, per_minute = _bucket(ANONYMOUS)
    ok, wait, _ = current_app.extensions["dupe_limiter"].take(key, per_minute, 1)
    if not ok:
        raise ApiError(429, "rate_limited", f"too many requests with unknown API keys from this address "
                       f"(limit {per_minute} per minute)", None, {"Retry-After": str(max(1, int(wait + 0.999)))})
    raise ApiError(401, "unauthorized", "unknown API key", None, {"WWW-Authenticate": "Bearer"})


@bp.before_request
def _identify_and_limit() -> None:
    if request.method == "OPTIONS":
        return
    ident = identify(_presented_key(), current_app.extensions["dupe_keys"])
    if ident is None:
        _refuse_unknown_key()
    g.identity = ident
    if request.endpoint not in _OPEN:
        charge(1)


@bp.after_request
def _rate_headers(resp: Response) -> Response:
    rate = g.get("rate")
    if rate:
        resp.headers["X-RateLimit-Limit"] = str(rate[0])
        resp.headers["X-RateLimit-Remaining"] = str(max(0, rate[1]))
    return resp


def cors_headers(resp: Response) -> None:
    """CORS for agents' browser tools: configured origins, no credentials."""
    allowed = str(current_app.config["CORS_ORIGINS"] or "").strip()
    if not allowed:
        return
    if allowed == "*":
        resp.headers["Access-Control-Allow-Origin"] = "*"
    else:
        origin = request.headers.get("Origin", "")
        if origin not in {o.strip() for o in allowed.split(",")}:
            return
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers.add("Vary", "Origin")
    resp.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, OPTIONS"
    resp.headers["Access-Control-Allow-Headers"] = "Content-Type, X-API-Key, Authorization"
    resp.headers["Access-Control-Expose-Headers"] = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
    resp.headers["Access-Control-Max-Age"] = "600"


def require_admin() -> None:
    ident: Identity = g.get("identity", ANONYMOUS)
    if ident.anonymous:
        raise ApiError(401, "unauthorized", "this operation needs an admin API key", None,
                       {"WWW-Authenticate": "Bearer"})
    if not ident.admin:
        raise ApiError(403, "forbidden", f"API key {ident.name!r} is not an admin key")


def _lang_and_currency(names: tuple[str, ...] = ("lang", "currency")) -> tuple[str, str | None]:
    """``lang`` (default en) and ``currency`` (default: none, prices as listed) of a route
    that takes no other parameters."""
    raw = multidict_raw(request.args)
    check_known(raw, names)
    got: dict[str, str | None] = {}
    for name in names:
        values = raw.get(name) or []
        if len(values) > 1:
            raise ApiError(400, "invalid_parameter", f"{name}: given more than once", name)
        got[name] = values[0] if values and values[0].strip() else None
    lang = to_lang("lang", got["lang"]) if got.get("lang") else "en"
    currency = to_currency("currency", got["currency"]) if got.get("currency") else None
    return lang, currency


def read_json() -> Any:
    """The request body as JSON, or 413 (too large) or 400 (too many values: both checked
    before parsing; malformed, not UTF-8, or nested too deeply)."""
    cfg = current_app.config
    limit = json_limit(int(cfg["MAX_IMAGE_BYTES"]), int(cfg["BATCH_MAX"]))
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large",
                       f"JSON body too large: {request.content_length} bytes (limit {limit})", "body")
    request.max_content_length = min(limit, request.max_content_length or limit)   # chunked bodies too
    data = request.get_data(cache=True)
    check_json_body(data, limit)
    try:
        body = json.loads(data)
        # Lone surrogates ("\ud800") parse but are not text: refuse them here, once.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):   # UnicodeError is a ValueError
        raise ApiError(400, "invalid_json", "the body is not valid JSON (or not valid Unicode)") from None
    g.json_body = body          # its ``lang`` chooses the language of error messages (``web.errors``)
    return body


def _no_params() -> None:
    check_known(multidict_raw(request.args), ())


# ----------------------------------------------------------------------------- search


def _search_request() -> tuple[SearchParams, Any]:
    """Parameters and uploaded photo file (not decoded yet) of GET or POST /search, from
    whichever body type was sent."""
    args = multidict_raw(request.args)
    upload = None
    if request.method == "GET":
        raw = args
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        files = request.files
        for name in files.keys():
            if name != "photo":
                raise ApiError(400, "unknown_parameter", f"unknown file field {name[:40]!r} (use 'photo')", name)
        if len(files.getlist("photo")) > 1:
            raise ApiError(400, "too_many_photos", "give one photo", "photo")
        upload = files.get("photo")
        if upload is not None and not upload.filename:
            upload = None           # an empty file field, as browsers send when none was chosen
        raw = merge_raw(args, multidict_raw(request.form))
    elif request.mimetype == "application/json":
        raw = merge_raw(args, json_raw(read_json()))
    elif not request.content_length and not request.mimetype:
        raw = args
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send application/json, multipart/form-data or application/x-www-form-urlencoded")
    p = parse_search(raw, require_query=upload is None)
    if upload is not None and p.has_photo_source():
        raise ApiError(400, "too_many_photos", "give one photo: photo, image_base64, image_url or photo_id", "photo")
    return p, upload


@bp.route("/search", methods=["GET", "POST"])
def search():
    p, upload = _search_request()
    with work.photo_slot(upload is not None or p.has_photo_source()):
        return jsonify(_searched(p, upload))


def _searched(p: SearchParams, upload: Any = None, fetcher: Any = None, pages: Any = None) -> dict[str, Any]:
    """One API search's JSON: by a product page (its words and image, ``web.page_url``), or
    by the parameters and the photo they give (``upload``, or fetched by ``fetcher``)."""
    page = page_url.prepare(p, fetcher, pages) if p.page_url else None
    resp = (service.run_search(page.params, page.image) if page
            else service.run_search(p, service.photo_for(p, upload, fetcher)))
    return page_url.annotate(service.search_json(resp, p), page)


@bp.post("/search/batch")
def search_batch():
    _no_params()
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the batch as application/json")
    body = read_json()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object {\"items\": [...]}")
    check_known({k: [v] for k, v in body.items()}, ("items",))
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "invalid_parameter", "items: must be a non-empty list of searches", "items")
    cap = int(current_app.config["BATCH_MAX"])
    if len(items) > cap:
        raise ApiError(413, "batch_too_large", f"items: at most {cap} searches per batch, got {len(items)}", "items")
    per_minute = _bucket(g.identity)[1]
    if len(items) > per_minute:
        # Each item costs one request of the limit: such a batch could never pass.
        raise ApiError(413, "batch_over_rate_limit",
                       f"items: {len(items)} searches exceed the limit of {per_minute} requests per minute "
                       f"for {_who(g.identity)}; send at most {per_minute} per batch", "items")
    charge(len(items) - 1)      # one token per search; the request itself took one
    parsed: list[SearchParams | Exception] = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ApiError(400, "invalid_parameter", f"items[{i}]: must be a JSON object", "items")
            fields = {k: v for k, v in item.items() if k != "id"}
            parsed.append(parse_search(json_raw(fields, f"items[{i}]")))
        except Exception as e:          # noqa: BLE001  (becomes this item's error)
            parsed.append(e)
    pages = page_url.read_all(p.page_url for p in parsed if isinstance(p, SearchParams) and p.page_url)
    fetcher = service.fetch_all([*(p.image_url for p in parsed if isinstance(p, SearchParams) and p.image_url),
                                 *pages.image_urls()])
    out = []
    for i, (item, p) in enumerate(zip(items, parsed)):
        ref = item.get("id") if isinstance(item, dict) else None
        ref = ref if isinstance(ref, (str, int)) and not isinstance(ref, bool) else None
        try:
            if isinstance(p, Exception):
                raise p
            with work.photo_slot(p.has_photo_source()):
                result = _searched(p, fetcher=fetcher, pages=pages)
            out.append({"index": i, "id": ref, "status": 200, "result": result})
        except ApiError as e:
            if e.code == "index_unavailable":
                raise         # the index is down: the whole batch fails the same way
            # in the item's own language (a bad ``lang`` itself: English)
            lang = item.get("lang") if isinstance(item, dict) and isinstance(item.get("lang"), str) else "en"
            out.append({"index": i, "id": ref, "status": e.status, "error": e.body(lang)["error"]})
        except Exception:     # a bug met by one item: logged, and the others still run
            current_app.logger.exception("batch item %d failed", i)
            out.append({"index": i, "id": ref, "status": 500,
                        "error": {"code": "internal_error", "message": "internal error: the service logged it",
                                  "field": None}})
    return jsonify({"items": out, "ok": sum(1 for x in out if x["status"] == 200),
                    "failed": sum(1 for x in out if x["status"] != 200)})


# ----------------------------------------------------------------------------- catalog


@bp.get("/products/<product_id>")
def product(product_id: str):
    lang, currency = _lang_and_currency()
    service.check_currency(currency)
    return jsonify(service.money(service.product_json(product_id, lang), currency))


@bp.get("/brands")
def brands():
    lang, currency = _lang_and_currency()
    service.check_currency(currency)
    return jsonify(service.money(service.brands_json(lang), currency))


@bp.get("/categories")
def categories():
    """The catalog's categories: id (what ``category=`` takes, as do the names), names in
    zh and en, and how many listings each has."""
    lang, _ = _lang_and_currency(("lang",))
    return jsonify({"categories": service.categories_json(lang)})


@bp.get("/regions")
def regions():
    """The catalog's regions as provinces with their cities, names in zh and en, counts."""
    lang, _ = _lang_and_currency(("lang",))
    return jsonify({"regions": service.regions_json(lang)})


@bp.get("/currencies")
def currencies():
    """The exchange table: its base, rates, date and source (what ``currency=`` converts with)."""
    _no_params()
    # the engine's table once it is up (a test may give it its own), else the configured one:
    # the table is known before the index and models are loaded
    built = current_app.extensions["dupe_engine"].engine
    return jsonify({"fx": (built.fx_table if built is not None else current_app.extensions["dupe_fx"]).json()})


@bp.get("/brand-products/<bp_id>/dupes")
def brand_product_dupes(bp_id: str):
    p = parse_search(multidict_raw(request.args), allowed=LISTING_FIELDS, require_query=False)
    eng = service.engine()
    view = service.guarded(eng.view)
    brand_product = view.brand_products.get(bp_id)
    if brand_product is None:
        raise ApiError(404, "not_found", field="id", **other("no_brand_product", id=repr(bp_id[:60])))
    q = service.dupes_params(brand_product, p)
    data = service.search_json(service.run_search(q), q)
    return jsonify({"brand_product": service.money(service.brand_product_json(brand_product, p.lang), p.currency),
                    **data})


@bp.get("/health")
def health():
    _no_params()
    hold = service.holder()
    starting = hold.starting()
    if starting is not None:            # warming up (dupe serve): load balancers wait
        raise ApiError(503, "starting", f"the service is starting: {starting['message']} "
                                        f"({starting['elapsed_s']} s so far)", None, {"Retry-After": "5"})
    eng = service.engine()
    info = service.guarded(eng.info)
    # Searches can fail while the index opens and counts (a damaged page): the store runs
    # a tiny query and remembers what failed lately (``Store.health``).
    checked = service.guarded(eng.health)
    if checked.failing:
        raise service.unavailable(StoreError(checked.failing))
    reindex = current_app.extensions["dupe_reindex"].snapshot()
    if not g.identity.admin:
        reindex = {"state": reindex["state"]}       # its error names server paths: admins only
    problems = [p if g.identity.admin else public_text(p) for p in [*checked.problems, *hold.warm_problems]]
    return jsonify({"status": "degraded" if problems else "ok", **({"problems": problems} if problems else {}),
                    "index": {"count": info.count, "models": info.models, "generation": info.generation},
                    "reindex": reindex})


@bp.get("/openapi.json")
def openapi():
    _no_params()
    from web.openapi import spec
    cfg = current_app.config
    return jsonify(spec(links.external(request.script_root + (bp.url_prefix or "")), int(cfg["BATCH_MAX"]),
                        int(cfg["ANON_RATE_LIMIT_PER_MIN"]), int(cfg["RATE_LIMIT_PER_MIN"])))


# ----------------------------------------------------------------------------- admin


@bp.route("/admin/reindex", methods=["GET", "POST"])
def admin_reindex():
    require_admin()
    _no_params()
    job = current_app.extensions["dupe_reindex"]
    if request.method == "GET":
        return jsonify({"reindex": job.snapshot()})
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    status = job.start(reindex_runner(app), app.extensions["dupe_engine"].retry_now)
    return jsonify({"reindex": status}), 202


@bp.put("/admin/catalog/<name>")
def admin_catalog(name: str):
    """Replace one catalog file (then POST /admin/reindex to index it)."""
    require_admin()
    _no_params()
    if name not in CATALOG_FILES:
        raise ApiError(404, "not_found", f"catalog files are {', '.join(CATALOG_FILES)}", "name")
    request.max_content_length = int(current_app.config["CATALOG_MAX_BYTES"])
    data = request.get_data(cache=False)
    if not data:
        raise ApiError(400, "invalid_parameter", "the body is empty: send the file's contents", "body")
    if name.endswith(".jsonl"):          # JSON Lines are UTF-8; a CSV's encoding is detected, an xlsx is binary
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ApiError(422, "not_utf8", f"{name} must be UTF-8 ({e.reason} at byte {e.start})", "body") from None
    folder = Path(current_app.config["CATALOG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    # A temporary file of its own for each upload (a shared name let concurrent uploads
    # write into each other's), replaced under a lock: the file is always one whole upload.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".upload")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with _catalog_lock:
            os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return jsonify({"file": name, "bytes": len(data)})


_catalog_lock = threading.Lock()
