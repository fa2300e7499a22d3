"""The one error shape of the service, and the handlers that produce it.

Every error the API returns is ``{"error": {"code": ..., "message": ..., "field": ...}}``
with a 4xx status for bad input, 503 when the index cannot be used, and 500 (without a
traceback) for a bug. Pages get the same information rendered as a readable page.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

# Werkzeug's HTTP errors, named in our vocabulary.
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "unprocessable", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """A request the service refuses, with the status, code and (optionally) the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _respond(status: int, code: str, message: str, field: str | None = None,
             headers: dict[str, str] | None = None):
    if wants_json():
        resp = jsonify(error_body(code, message, field))
    else:
        from web.i18n import ui_lang
        lang = ui_lang()
        resp = current_app.make_response(
            render_template("error.html", status=status, code=code, message=message, lang=lang))
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return _respond(e.status, e.code, e.message, e.field, e.headers)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = e.description or e.name
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
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
