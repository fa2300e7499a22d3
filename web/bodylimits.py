"""Limits on JSON request bodies, checked before the body is parsed (pure: no Flask).

``json.loads`` turns each ``{}`` of a body into a dict of ~64 bytes plus bookkeeping:
32 MiB of empty objects cost ~0.9 GB and seconds of CPU before any validation ran. So
a JSON body is refused unless

* it is at most ``json_limit(...)`` bytes (else 413): one photo as base64 (``MAX_IMAGE_BYTES``
  encoded) plus a few KiB for each search of the largest batch, and
* it holds at most ``MAX_JSON_TOKENS`` bytes ``{``, ``[`` or ``,`` (else 400). Every value after the
  first in an array or object needs a comma and every container a bracket, so this
  bounds how many values the parser can build (to a few MB), whatever the body's size;
  it is counted anywhere, strings included, because ``bytes.count`` costs milliseconds
  where finding the strings first costs seconds on a hostile body. A full batch with
  every parameter needs a few hundred; the limit leaves room for queries full of commas.
"""
from __future__ import annotations

from web.errors import ApiError

#: ``{``, ``[`` and ``,`` bytes in one JSON body.
MAX_JSON_TOKENS = 10_000
#: Room per search of a batch, besides one photo: every parameter at its longest.
PER_SEARCH_BYTES = 8 * 1024


def json_limit(max_image_bytes: int, batch_max: int) -> int:
    """Largest JSON body a search or a batch needs, in bytes."""
    base64_photo = (max_image_bytes + 2) // 3 * 4
    return base64_photo + max(1, batch_max) * PER_SEARCH_BYTES


def structure_count(data: bytes) -> int:
    """How many ``{``, ``[`` and ``,`` bytes the body has."""
    return data.count(b"{") + data.count(b"[") + data.count(b",")


def check_json_body(data: bytes, limit: int) -> None:
    """Refuse a body too large (413), or holding too many values (400), before parsing it."""
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"JSON body too large: {len(data)} bytes (limit {limit})", "body")
    if structure_count(data) > MAX_JSON_TOKENS:
        raise ApiError(400, "too_many_values",
                       f"JSON body has too many objects, arrays or values: more than {MAX_JSON_TOKENS} of "
                       "'{', '[' and ',' (a search needs a few dozen)", "body")
