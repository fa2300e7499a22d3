"""Paging cursors of the API: an opaque token for the next page of one query's results.

Every page of a query is cut from one result list (``search.engine``: fixed depths, a
total order), which depends on the query without its page (the engine's ``list_key``),
the index generation and the day the claims were decided for. A cursor names those and
the offset of the next result, as base64url of a small JSON object. Used with another
query it is refused (400 ``cursor_mismatch``); after the index changed or the day turned
it is refused too (410 ``cursor_expired``): the list it points into no longer exists, so
the caller restarts the query. Pure: no Flask, no I/O.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

from search.requests import SearchResponse
from web.errors import ApiError

VERSION = 1
MAX_TOKEN_CHARS = 200
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_KEY_RE = re.compile(r"[0-9a-f]{1,64}")
RESTART = "restart the query without cursor (page 1)"


@dataclass(frozen=True)
class Cursor:
    key: str                # the engine's ``list_key`` of the query
    generation: int         # index generation the list was computed on
    day: str                # ISO date the claims were decided for
    offset: int             # the next result's position in the list

    @property
    def token(self) -> str:
        data = {"v": VERSION, "k": self.key, "g": self.generation, "d": self.day, "o": self.offset}
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(why: str) -> ApiError:
    return ApiError(400, "invalid_cursor", f"cursor: {why}: use the `next` value of a response as it is", "cursor")


def parse(token: object, max_offset: int) -> Cursor:
    """The cursor a token names, or 400 ``invalid_cursor``."""
    if not isinstance(token, str) or not token.strip():
        raise _invalid("must be a string")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN_RE.fullmatch(token):
        raise _invalid("not a cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise _invalid("not a cursor") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise _invalid("not a cursor of this API version")
    key, gen, day, offset = data.get("k"), data.get("g"), data.get("d"), data.get("o")
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (gen, offset))
    if not (isinstance(key, str) and _KEY_RE.fullmatch(key) and ints and isinstance(day, str)):
        raise _invalid("not a cursor")
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise _invalid("not a cursor") from None
    if not 0 <= offset < max_offset:
        raise _invalid(f"offset outside 0-{max_offset - 1}")
    return Cursor(key, gen, day, offset)


def _of(resp: SearchResponse, offset: int) -> Cursor:
    return Cursor(resp.list_key, resp.generation, resp.day.isoformat() if resp.day else "", offset)


def following(resp: SearchResponse, offset: int, k: int) -> str | None:
    """The token for the page after the one at ``offset`` (``k`` results), or None when
    that page was the last."""
    return _of(resp, offset + k).token if offset + k < resp.total else None


def check(cursor: Cursor, resp: SearchResponse) -> None:
    """Refuse a page cut from another list than the cursor's: 400 for another query,
    410 for the same query after the index changed or the day turned. Checked against the
    response, so an index that changed during the search is seen too."""
    if cursor.key != resp.list_key:
        raise ApiError(400, "cursor_mismatch", "cursor: it belongs to another query (the parameters other than "
                       f"k, page, lang, currency and cursor must be the same): {RESTART}", "cursor")
    now = _of(resp, cursor.offset)
    if (cursor.generation, cursor.day) != (now.generation, now.day):
        what = "the index changed" if cursor.generation != now.generation else "the day changed (labels expire)"
        raise ApiError(410, "cursor_expired", f"cursor: {what} since the first page, so its results did too: "
                       f"{RESTART}", "cursor")
