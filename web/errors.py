"""The one error shape of the service, and the handlers that produce it.

Every error the API returns is ``{"error": {"code": ..., "message": ..., "field": ...}}``
with a 4xx status for bad input, 503 when the index cannot be used, and 500 (without a
traceback) for a bug. Pages get the same information rendered as a readable page.

Messages are public: what a caller sent is echoed cut short (``shown``), and what the
server knows about itself -- folders, internal addresses -- is taken out (``public_text``).
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.texts import base_lang
from web.messages import localised

# Werkzeug's HTTP errors, named in our vocabulary.
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "unprocessable", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}


# What a public message must not carry: URLs (an internal Elasticsearch, a proxy),
# absolute paths (POSIX and Windows), IP addresses with or without a port, and the
# "host='...'" of client library errors.
_SERVER_DETAIL = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\")]+"
    r"|(?<![\w.])(?:[A-Za-z]:\\|/)(?:[^\s'\",:;()]+)"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"
    r"|\[?(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4})\]?(?::\d+)?"
    r"|host=['\"][^'\"]*['\"]")


def shown(value: Any, limit: int = 40) -> str:
    """A caller's value for a message: its repr, cut to ``limit`` characters."""
    try:
        text = value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else repr(value)
    except ValueError:                      # an int beyond str()'s digit limit
        text = "a number too long to show"
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text)} characters)"
    return repr(text) if isinstance(value, str) else text


def public_text(message: str) -> str:
    """``message`` without server paths and addresses (each becomes ``<server detail>``)."""
    return _SERVER_DETAIL.sub("<server detail>", message)


class ApiError(Exception):
    """A request the service refuses, with the status, code and (optionally) the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None, valid: list[Any] | None = None,
                 key: str | None = None, args: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}
        self.valid = valid              # the values ``field`` may take, when they are few enough to list
        # a parameter error's ``web.messages.PARAM`` key and its values (not ``args``: an
        # exception's ``args`` is a tuple)
        self.key, self.values = key, dict(args or {})

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (``web.messages``)."""
        return localised(self.code, self.message, lang, self.key, self.field, self.values)

    def body(self, lang: str = "en") -> dict[str, Any]:
        return error_body(self.code, self.text(lang), self.field, self.valid)


def error_body(code: str, message: str, field: str | None = None, valid: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message, "field": field}
    if valid is not None:
        out["valid"] = valid
    return {"error": out}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def request_lang() -> str:
    """The language an API request asks its messages in: ``lang`` in its query string or
    JSON body (English when none, or when it is not a language code)."""
    asked = request.args.get("lang")
    if asked is None:       # a JSON body already read (``web.api.read_json``): never parsed here
        body = g.get("json_body")
        asked = body.get("lang") if isinstance(body, dict) else None
    return base_lang(asked) if isinstance(asked, str) and base_lang(asked).isalpha() else "en"


def _respond(status: int, code: str, message: str, field: str | None = None,
             headers: dict[str, str] | None = None, valid: list[Any] | None = None,
             error: ApiError | None = None):
    from web.i18n import ui_lang
    lang = request_lang() if wants_json() else ui_lang()
    if error is not None:
        message = error.text(lang)
    else:
        message = localised(code, message, lang)
    if wants_json():
        resp = jsonify(error_body(code, message, field, valid))
    else:
        resp = current_app.make_response(
            render_template("error.html", status=status, code=code, message=message, lang=lang))
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return _respond(e.status, e.code, e.message, e.field, e.headers, e.valid, e)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = e.description or e.name
        if status == 413:
            # The route's own limit when it set one (JSON bodies, catalog files).
            limit = request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body too large (limit {limit} bytes)"
        headers = {}
        if status == 405 and e.get_headers():
            headers = {k: v for k, v in e.get_headers() if k.lower() == "allow"}
        return _respond(status, code, message, None, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        # A bug: log it with its traceback, answer without one.
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(500, "internal_error", "internal error: the service logged it")
