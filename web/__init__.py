"""The Flask service: JSON API v1 for sourcing agents (``web.api``) and the search page
for buyers and creators (``web.pages``).

``create_app(test_config=None)`` reads defaults, then ``DUPE_*`` environment variables
(``from_prefixed_env``), then ``test_config``. Nothing heavy happens here: the search
engine (index + models) is opened on first use, or taken from ``ENGINE`` in the config;
with ``WARM_START`` (``dupe serve``) it is built and warmed in a background thread.

Pages load images from this service only (``img-src 'self'``): remote catalog images
reach them through ``web.imageproxy``, behind the same SSRF guard as every other fetch.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request

from web import errors, links, work
from web.auth import RateLimiter, load_keys
from web.cards import CardCache
from web.imageproxy import RemoteImageCache
from web.photos import PhotoStore
from web.reindex import ReindexJob
from web.service import EngineHolder

MiB = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "ENGINE": None,                    # a ready SearchEngine (tests); else built from Settings
    "INDEX_DIR": None,                 # default: $DUPE_INDEX_DIR or var/index (search.settings)
    "CATALOG_DIR": "seeds",            # catalog images are served from here under /images/
    "UPLOAD_DIR": "var/uploads",       # photos searched on the page, for their share links
    "UPLOAD_DAYS": 30,
    "UPLOAD_MAX_FILES": 5000,          # photos kept for share links; beyond, the oldest go first
    "UPLOAD_MAX_BYTES": 1024 * MiB,    # ... and their bytes
    "OCR": True,                       # read text on photos (brand names on packaging)
    "API_KEYS": "",                    # "name:sha256hex[:per_minute],..."
    "ADMIN_KEYS": "",                  # same format; may reindex and upload catalog files
    "API_KEYS_FILE": None,             # one entry per line; "admin name:sha256hex" for admins
    "RATE_LIMIT_PER_MIN": 120,         # per API key
    "ANON_RATE_LIMIT_PER_MIN": 30,     # per client address, without a key
    "PAGE_RATE_LIMIT_PER_MIN": 60,     # page searches and share cards, per client address
    "CORS_ORIGINS": "*",               # "*" or "https://a.example,https://b.example"
    "PROXY_FIX": 0,                    # number of trusted proxies setting X-Forwarded-For
    "MAX_CONTENT_LENGTH": 32 * MiB,    # whole request body (413 above)
    "MAX_FORM_MEMORY_SIZE": 32 * MiB,  # a form field (a base64 photo) may be large too
    "MAX_IMAGE_BYTES": 15 * MiB,       # one encoded photo
    # Pixels decoded per photo: JPEGs are decoded at the scale the models need (a 50 MP phone
    # photo at 1/4), so this bounds PNG, GIF, WebP... (a 37-byte GIF can declare a 49 Mpx
    # screen); 24 Mpx still admits a 6K screenshot.
    "MAX_IMAGE_PIXELS": 24_000_000,
    "SERVER_THREADS": 32,              # the WSGI server's request threads (dupe serve --threads)
    "PHOTO_WORKERS": 0,                # photo searches run at once (0: one per core; web.work)
    "PHOTO_QUEUE": None,               # ... waiting in turn (None: all threads but 4); beyond, 503 busy
    "PHOTO_WAIT_S": 20.0,              # ... for at most this long
    "URL_TIMEOUT": 5.0,                # seconds for fetching one image_url, all of it
    "URL_BATCH_TIMEOUT": 10.0,         # seconds for all image URLs of one batch
    "URL_BATCH_WORKERS": 4,            # a batch's image URLs fetched at once
    "PAGE_MAX_BYTES": 4 * MiB,         # one product page fetched for page_url (HTML only)
    "PUBLIC_URL": None,                # https://dupes.example: absolute links; unset: relative links
    "IMAGE_PROXY_RATE_LIMIT_PER_MIN": 600,   # remote catalog images fetched for pages, per address
    "IMAGE_PROXY_CACHE_BYTES": 32 * MiB,     # remote catalog images kept in memory for pages
    # callable(url, timeout=, max_bytes=) -> bytes (pages: accept="html" too); default fetch_url
    "URL_FETCHER": None,
    "BATCH_MAX": 20,                   # items per batch search
    "CATALOG_MAX_BYTES": 64 * MiB,     # one catalog file uploaded by an admin
    "CARD_FONT": None,                 # a TTF/TTC with CJK glyphs; default: searched in system fonts
    # Build and warm the engine (index, models, caches) in a background thread at start
    # (dupe serve): /api/v1/health says "starting" (503) until it is done, and searches
    # wait for it, at most WARM_WAIT_S seconds. Off: built on the first request.
    "WARM_START": False,
    "WARM_WAIT_S": 60.0,
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("DUPE")
    if test_config:
        app.config.from_mapping(test_config)
    cfg = app.config

    # Relative folders are relative to where the service is started (the repo root).
    for key in ("CATALOG_DIR", "UPLOAD_DIR"):
        cfg[key] = str(Path(os.fspath(cfg[key])).resolve())
    cfg["PUBLIC_URL"] = links.normalise(cfg["PUBLIC_URL"])
    if cfg["URL_FETCHER"] is None:
        from indexer.images import fetch_url
        cfg["URL_FETCHER"] = fetch_url

    from search.settings import Settings
    settings = Settings.from_env(index_dir=cfg.get("INDEX_DIR"))
    app.extensions["dupe_settings"] = settings

    from search.prices import load_fx
    fx = load_fx(settings.fx)          # a bad DUPE_FX stops the start (FxError), it is not a search error
    app.extensions["dupe_fx"] = fx

    def build():
        from indexer.compose import build_engine
        return build_engine(settings, ocr=bool(cfg["OCR"]), fx=fx)

    app.extensions["dupe_engine"] = EngineHolder(None if cfg["ENGINE"] is not None else build, cfg["ENGINE"],
                                                 wait_s=float(cfg["WARM_WAIT_S"]))
    app.extensions["dupe_keys"] = load_keys(str(cfg["API_KEYS"] or ""), str(cfg["ADMIN_KEYS"] or ""),
                                            cfg["API_KEYS_FILE"])
    app.extensions["dupe_limiter"] = RateLimiter()
    app.extensions["dupe_photos"] = PhotoStore(cfg["UPLOAD_DIR"], float(cfg["UPLOAD_DAYS"]),
                                               max_files=int(cfg["UPLOAD_MAX_FILES"]),
                                               max_bytes=int(cfg["UPLOAD_MAX_BYTES"]))
    app.extensions["dupe_photo_gate"] = work.gate_for(cfg)
    app.extensions["dupe_reindex"] = ReindexJob()
    app.extensions["dupe_cards"] = CardCache()
    app.extensions["dupe_remote_images"] = RemoteImageCache(int(cfg["IMAGE_PROXY_CACHE_BYTES"]))

    app.json.ensure_ascii = False        # type: ignore[attr-defined]  # readable Chinese in JSON
    app.json.sort_keys = False           # type: ignore[attr-defined]
    app.jinja_env.autoescape = True      # every template, whatever its extension
    if int(cfg["PROXY_FIX"] or 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(cfg["PROXY_FIX"]))  # type: ignore[method-assign]

    errors.register(app)

    from web import api, imageproxy, listing_page, pages
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(listing_page.bp)
    app.register_blueprint(imageproxy.bp)
    app.add_template_global(imageproxy.img_src)
    app.add_template_global(imageproxy.img_srcs)

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                "form-action 'self'")
        if request.path.startswith("/api/"):
            api.cors_headers(resp)
        return resp

    if cfg["WARM_START"]:
        from web.service import warm
        app.extensions["dupe_engine"].start_warm(warm)
    return app
