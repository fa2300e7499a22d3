"""Pure validation: raw JSON-like dicts -> typed records, or ``InvalidRecord`` with a reason.

No file I/O here (see ``reader``), so every rule is tested directly. A record that is
valid but looks mistaken (price tiers below the MOQ, a price rising with the quantity)
is kept, and each such finding is passed to the caller's ``warn`` (the reader reports
them with file and line, next to the rejects).
"""
from __future__ import annotations

import datetime as dt
import math
import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from indexer.catalog.currencies import currency_problem
from indexer.catalog.records import (
    ENDORSEMENT_TYPES, Brand, BrandProduct, Endorsement, Factory, PriceTier, Product,
)
from search.texts import LocalText

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
MAX_PRICE = 1e9
MAX_QTY = 10**9


class InvalidRecord(ValueError):
    """A catalog record breaks a rule; the message says which, for the rejects file."""


#: Receives what looks mistaken in a record that is still valid (one message each).
Warn = Callable[[str], None]


def _ignore(message: str) -> None:
    """The ``warn`` of callers that only want the record (re-reading a stored version)."""


def _require(obj: dict[str, Any], key: str) -> Any:
    if key not in obj or obj[key] is None:
        raise InvalidRecord(f"missing field '{key}'")
    return obj[key]


def _str(obj: dict[str, Any], key: str, *, required: bool = True, max_len: int = 2000) -> str | None:
    v = obj.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise InvalidRecord(f"missing or empty field '{key}'")
        return None
    if not isinstance(v, str):
        raise InvalidRecord(f"field '{key}' must be a string, got {type(v).__name__}")
    if len(v) > max_len:
        raise InvalidRecord(f"field '{key}' is longer than {max_len} characters")
    return v.strip()


def is_id(value: str) -> bool:
    """Whether ``value`` can be a record id."""
    return bool(_ID.match(value))


def _id(obj: dict[str, Any], key: str = "id") -> str:
    v = _str(obj, key)
    assert v is not None
    if not _ID.match(v):
        raise InvalidRecord(f"field '{key}' is not a valid id: {v!r} (letters, digits, _ . : - ; max 128)")
    return v


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    v = obj.get(key)
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidRecord(f"field '{key}' must be a list of strings")
    return tuple(x.strip() for x in v if x.strip())


MAX_ALIASES = 64
MAX_ALIAS_CHARS = 100


def _aliases(obj: dict[str, Any], key: str = "aliases") -> tuple[str, ...]:
    """Names users type (any language): distinct ignoring case, each a sensible length."""
    out: dict[str, str] = {}
    for a in _str_list(obj, key):
        if len(a) > MAX_ALIAS_CHARS:
            raise InvalidRecord(f"field '{key}' has an alias longer than {MAX_ALIAS_CHARS} characters: {a[:40]!r}...")
        out.setdefault(" ".join(a.casefold().split()), a)
    if len(out) > MAX_ALIASES:
        raise InvalidRecord(f"field '{key}' has {len(out)} aliases, at most {MAX_ALIASES}")
    return tuple(out.values())


def _lang_map(obj: dict[str, Any], key: str, *, required: bool = True) -> dict[str, str]:
    v = obj.get(key)
    if v is None:
        if required:
            raise InvalidRecord(f"missing field '{key}'")
        return {}
    if not isinstance(v, dict):
        raise InvalidRecord(f"field '{key}' must be an object of language -> text")
    out: dict[str, str] = {}
    for lang, text in v.items():
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise InvalidRecord(f"field '{key}' has an invalid language code {lang!r}")
        if not isinstance(text, str):
            raise InvalidRecord(f"field '{key}.{lang}' must be a string")
        if text.strip():
            out[lang] = text.strip()
    if required and not out:
        raise InvalidRecord(f"field '{key}' has no non-empty text")
    return out


def _local_text(obj: dict[str, Any], key: str, *, max_len: int = 2000) -> LocalText | None:
    """An optional text users read: one string, or an object of language -> text
    (``search.texts``)."""
    v = obj.get(key)
    if isinstance(v, dict):
        texts = _lang_map(obj, key, required=False)
        too_long = [lang for lang, text in texts.items() if len(text) > max_len]
        if too_long:
            raise InvalidRecord(f"field '{key}.{too_long[0]}' is longer than {max_len} characters")
        return texts or None
    if v is not None and not isinstance(v, str):
        raise InvalidRecord(f"field '{key}' must be a string or an object of language -> text, "
                            f"got {type(v).__name__}")
    return _str(obj, key, required=False, max_len=max_len)


def _local_text_list(obj: dict[str, Any], key: str) -> tuple[LocalText, ...]:
    v = obj.get(key)
    if v is None:
        return ()
    if not isinstance(v, list):
        raise InvalidRecord(f"field '{key}' must be a list of strings (or of language -> text objects)")
    out = []
    for i, item in enumerate(v):
        text = _local_text({f"{key}[{i}]": item}, f"{key}[{i}]", max_len=200)
        if text:
            out.append(text)
    return tuple(out)


def _number(obj: dict[str, Any], key: str, *, positive: bool = True) -> float:
    v = _require(obj, key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidRecord(f"field '{key}' must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v > MAX_PRICE:
        raise InvalidRecord(f"field '{key}' is not a sensible number: {v}")
    if positive and v <= 0:
        raise InvalidRecord(f"field '{key}' must be greater than 0, got {v:g}")
    return v


def _int(obj: dict[str, Any], key: str, *, required: bool = True, minimum: int = 0) -> int | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise InvalidRecord(f"missing field '{key}'")
        return None
    if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
        raise InvalidRecord(f"field '{key}' must be a whole number, got {v!r}")
    v = int(v)
    if v < minimum or v > MAX_QTY:
        raise InvalidRecord(f"field '{key}' must be between {minimum} and {MAX_QTY}, got {v}")
    return v


def _currency(obj: dict[str, Any], key: str = "currency") -> str:
    """An ISO 4217 code of a currency in circulation (``currencies.CODES``), any case."""
    v = _str(obj, key)
    assert v is not None
    problem = currency_problem(v.upper())
    if problem:
        raise InvalidRecord(f"field '{key}': {problem}")
    return v.upper()


def _date(obj: dict[str, Any], key: str) -> dt.date | None:
    v = obj.get(key)
    if v in (None, ""):
        return None
    if not isinstance(v, str):
        raise InvalidRecord(f"field '{key}' must be a date string yyyy-mm-dd")
    try:
        return dt.date.fromisoformat(v[:10])
    except ValueError:
        raise InvalidRecord(f"field '{key}' is not a date (yyyy-mm-dd): {v!r}") from None


def image_ref(ref: str) -> str:
    """An image reference: an http(s) URL, or a relative path that stays in the catalog folder."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidRecord("image reference must be a non-empty string")
    ref = ref.strip()
    low = ref.lower()
    if low.startswith(("http://", "https://")):
        return ref
    if "://" in ref or low.startswith(("data:", "file:")):
        raise InvalidRecord(f"image {ref!r}: only http(s) URLs or paths inside the catalog folder")
    path = ref.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidRecord(f"image {ref!r}: absolute paths are not allowed")
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        raise InvalidRecord(f"image {ref!r}: path escapes the catalog folder")
    return norm


def _images(obj: dict[str, Any]) -> tuple[str, ...]:
    return tuple(image_ref(r) for r in _str_list(obj, "images"))


MAX_URL = 2048
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"       # one part of a domain name
_EMAIL = re.compile(rf"^[^@\s<>\"(),;:]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


def link_problem(value: str) -> str | None:
    """Why ``value`` cannot be a buyer's link (a listing, a store): an absolute http(s)
    URL with a host and no spaces, or None when it can."""
    if len(value) > MAX_URL:
        return f"longer than {MAX_URL} characters"
    try:
        parts = urlsplit(value)
    except ValueError:
        return f"not a URL: {value[:80]!r}"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {value[:80]!r}"
    if any(c.isspace() or ord(c) < 32 for c in value):
        return f"a URL has no spaces: {value[:80]!r}"
    return None


def email_problem(value: str) -> str | None:
    """Why ``value`` cannot be a contact address (name@domain.tld), or None when it can."""
    if len(value) > 254 or not _EMAIL.match(value):
        return f"not an email address: {value[:80]!r}"
    return None


def _contact(obj: dict[str, Any], key: str, problem: Callable[[str], str | None], warn: Warn) -> str | None:
    """An optional link or address: a bad one is left out and told to ``warn`` (the record
    itself is still good: a listing is not lost for a mistyped shop link)."""
    v = obj.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    why = f"must be a string, got {type(v).__name__}" if not isinstance(v, str) else problem(v.strip())
    if why:
        warn(f"field '{key}' left out: {why}")
        return None
    return v.strip()


def _check_keys(obj: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidRecord(f"record must be a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidRecord(f"unknown field(s): {', '.join(unknown)}")
    return obj


#: The fields of each record kind in catalog files (what the ``parse_*`` functions accept).
BRAND_FIELDS = frozenset({"id", "names", "aliases", "trademarks", "categories"})
BRAND_PRODUCT_FIELDS = frozenset({"id", "brand", "titles", "category", "price", "currency", "images", "aliases"})
FACTORY_FIELDS = frozenset({"id", "names", "region", "certifications", "ship_within_hours", "reply_minutes",
                            "returns", "endorsements", "url", "email"})
PRODUCT_FIELDS = frozenset({"id", "factory", "titles", "description", "category", "attributes", "price_tiers",
                            "currency", "moq", "images", "dupe_of", "url"})


def parse_brand(obj: Any) -> Brand:
    obj = _check_keys(obj, BRAND_FIELDS)
    return Brand(id=_id(obj), names=_lang_map(obj, "names"), aliases=_aliases(obj),
                 trademarks=_str_list(obj, "trademarks"), categories=_str_list(obj, "categories"))


def parse_brand_product(obj: Any) -> BrandProduct:
    obj = _check_keys(obj, BRAND_PRODUCT_FIELDS)
    return BrandProduct(id=_id(obj), brand=_id(obj, "brand"), titles=_lang_map(obj, "titles"),
                        category=_str(obj, "category") or "", price=_number(obj, "price"),
                        currency=_currency(obj), images=_images(obj), aliases=_aliases(obj))


def parse_endorsement(obj: Any) -> Endorsement:
    obj = _check_keys(obj, {"type", "brand", "evidence", "verified_by", "verified_at", "expires_at"})
    etype = _str(obj, "type")
    if etype not in ENDORSEMENT_TYPES:
        raise InvalidRecord(f"endorsement type must be one of {', '.join(ENDORSEMENT_TYPES)}, got {etype!r}")
    verified_at, expires_at = _date(obj, "verified_at"), _date(obj, "expires_at")
    if verified_at and expires_at and expires_at < verified_at:
        raise InvalidRecord(f"endorsement expires ({expires_at}) before it was verified ({verified_at})")
    return Endorsement(type=etype, brand=_id(obj, "brand"),  # type: ignore[arg-type]
                       evidence=_local_text(obj, "evidence", max_len=4000),
                       verified_by=_local_text(obj, "verified_by", max_len=200),
                       verified_at=verified_at, expires_at=expires_at)


def parse_factory(obj: Any, warn: Warn = _ignore) -> Factory:
    obj = _check_keys(obj, FACTORY_FIELDS)
    raw_end = obj.get("endorsements") or []
    if not isinstance(raw_end, list):
        raise InvalidRecord("field 'endorsements' must be a list")
    endorsements = []
    for i, e in enumerate(raw_end):
        try:
            endorsements.append(parse_endorsement(e))
        except InvalidRecord as err:
            raise InvalidRecord(f"endorsements[{i}]: {err}") from None
    found: list[str] = []
    factory = Factory(id=_id(obj), names=_lang_map(obj, "names"), region=_local_text(obj, "region", max_len=200),
                      certifications=_local_text_list(obj, "certifications"),
                      ship_within_hours=_int(obj, "ship_within_hours", required=False, minimum=1),
                      reply_minutes=_int(obj, "reply_minutes", required=False, minimum=0),
                      returns=_local_text(obj, "returns"), endorsements=tuple(endorsements),
                      url=_contact(obj, "url", link_problem, found.append),
                      email=_contact(obj, "email", email_problem, found.append))
    for message in found:           # told only once the whole record is valid
        warn(message)
    return factory


def parse_price_tiers(raw: Any, warn: Warn = _ignore) -> tuple[PriceTier, ...]:
    """The tiers sorted by ``min_qty``. Tiers listed out of order, or a price that rises
    with the quantity, are warnings: the tiers are usable, but probably mistyped."""
    if not isinstance(raw, list) or not raw:
        raise InvalidRecord("field 'price_tiers' must be a non-empty list of {min_qty, price}")
    tiers = []
    for i, t in enumerate(raw):
        if not isinstance(t, dict):
            raise InvalidRecord(f"price_tiers[{i}] must be an object")
        try:
            tiers.append(PriceTier(min_qty=_int(t, "min_qty", minimum=1) or 1, price=_number(t, "price")))
        except InvalidRecord as err:
            raise InvalidRecord(f"price_tiers[{i}]: {err}") from None
    given = [t.min_qty for t in tiers]
    tiers.sort(key=lambda t: t.min_qty)
    if len({t.min_qty for t in tiers}) != len(tiers):
        raise InvalidRecord("price_tiers has two tiers with the same min_qty")
    if given != [t.min_qty for t in tiers]:
        warn(f"price_tiers are not in ascending min_qty order ({', '.join(map(str, given))}): read sorted")
    for lower, higher in zip(tiers, tiers[1:]):
        if higher.price > lower.price:
            warn(f"price_tiers: the price rises with the quantity ({lower.price:g} from {_pieces(lower.min_qty)}, "
                 f"{higher.price:g} from {higher.min_qty})")
            break
    return tuple(tiers)


def _pieces(n: int) -> str:
    return f"{n} piece{'' if n == 1 else 's'}"


def _check_moq(moq: int, tiers: tuple[PriceTier, ...], warn: Warn) -> None:
    """The MOQ must have a price: below the first tier it has none (a reject). Above it,
    the tiers under the MOQ cannot be ordered (a warning: every orderable quantity has a
    price, but one of the two was probably mistyped)."""
    first = tiers[0].min_qty
    if moq < first:
        raise InvalidRecord(f"moq {moq} is below the first price tier ({_pieces(first)}): orders of {moq} to "
                            f"{_pieces(first - 1)} have no price (start the first tier at the moq, or raise the moq)")
    below = [str(t.min_qty) for t in tiers if t.min_qty < moq]
    if below:
        listed = below[0] if len(below) == 1 else f"{', '.join(below[:-1])} and {below[-1]}"
        warn(f"moq {moq} is above the first price tier ({_pieces(first)}): the tier{'s' if len(below) > 1 else ''} "
             f"from {listed} pieces cannot be ordered")


def parse_product(obj: Any, warn: Warn = _ignore) -> Product:
    obj = _check_keys(obj, PRODUCT_FIELDS)
    attrs = obj.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise InvalidRecord("field 'attributes' must be an object")
    attributes = {}
    for k, v in attrs.items():
        if isinstance(v, (dict, list)) or v is None:
            raise InvalidRecord(f"attribute '{k}' must be a string or number")
        attributes[str(k)] = str(v)
    moq = _int(obj, "moq", minimum=1)
    assert moq is not None
    rid, factory, titles = _id(obj), _id(obj, "factory"), _lang_map(obj, "titles")
    category = _str(obj, "category") or ""
    found: list[str] = []           # told only once the whole record is valid
    tiers = parse_price_tiers(obj.get("price_tiers"), found.append)
    _check_moq(moq, tiers, found.append)
    product = Product(id=rid, factory=factory, titles=titles, category=category, price_tiers=tiers,
                      currency=_currency(obj), moq=moq,
                      description=_str(obj, "description", required=False, max_len=20000) or "",
                      attributes=attributes, images=_images(obj), dupe_of=_str_list(obj, "dupe_of"),
                      url=_contact(obj, "url", link_problem, found.append))
    for message in found:
        warn(message)
    return product
