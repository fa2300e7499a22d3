"""Reads a catalog folder into a ``Catalog``: every bad record becomes a ``Reject``
(file, line, reason) and the rest is kept.

Folder layout: ``brands.jsonl``, ``brand_products.jsonl``, ``factories.jsonl`` and
``products.jsonl`` and/or ``products.csv``. Files are read as bytes and decoded per line,
so one line of invalid UTF-8 rejects that line only.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from indexer.catalog.parse import (
    InvalidRecord, parse_brand, parse_brand_product, parse_factory, parse_product,
)
from indexer.catalog.records import Catalog, Reject

R = TypeVar("R")
CATALOG_FILES = ("brands.jsonl", "brand_products.jsonl", "factories.jsonl", "products.jsonl", "products.csv")


class CatalogError(Exception):
    """The catalog folder itself cannot be read (missing folder, no catalog files)."""


def _lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) per non-blank line; a BOM on the first line is dropped."""
    with path.open("rb") as f:
        for no, raw in enumerate(f, start=1):
            if no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield no, None, f"invalid UTF-8 at byte {e.start}"
                continue
            if text.strip():
                yield no, text, None


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    for no, text, err in _lines(path):
        if err:
            yield no, None, err
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            yield no, None, f"invalid JSON: {e.msg} (column {e.colno})"
            continue
        except RecursionError:
            yield no, None, "invalid JSON: nested too deeply"
            continue
        except ValueError as e:                      # e.g. an integer of more than 4300 digits
            yield no, None, f"invalid JSON: {str(e).split(';')[0][:120]}"
            continue
        yield no, obj, None


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()] if cell else []


def csv_row_to_product(row: dict[str, str]) -> dict[str, Any]:
    """A products.csv row as the JSON shape ``parse_product`` takes.

    Columns: id, factory, title_<lang>..., description, category, attributes (JSON object
    or ``k=v;k=v``), price_tiers (``min_qty:price;...``), currency, moq, images (``a;b``),
    dupe_of (``x;y``).
    """
    obj: dict[str, Any] = {"titles": {}}
    for key, value in row.items():
        if key is None:
            raise InvalidRecord("row has more cells than the header")
        value = (value or "").strip()
        if key.startswith("title_"):
            obj["titles"][key[len("title_"):]] = value
        elif key == "attributes":
            if value.startswith("{"):
                try:
                    obj["attributes"] = json.loads(value)
                except (ValueError, RecursionError):     # JSONDecodeError, too deep, too long
                    raise InvalidRecord("attributes is not valid JSON") from None
            else:
                pairs = [p.split("=", 1) for p in _split(value)]
                if any(len(p) != 2 for p in pairs):
                    raise InvalidRecord("attributes must be k=v;k=v or a JSON object")
                obj["attributes"] = {k.strip(): v.strip() for k, v in pairs}
        elif key == "price_tiers":
            tiers = []
            for part in _split(value):
                q, _, p = part.partition(":")
                try:
                    tiers.append({"min_qty": int(q), "price": float(p)})
                except ValueError:
                    raise InvalidRecord(f"price tier {part!r} is not min_qty:price") from None
            obj["price_tiers"] = tiers
        elif key == "moq":
            try:
                obj["moq"] = int(value) if value else None
            except ValueError:
                raise InvalidRecord(f"moq {value!r} is not a whole number") from None
        elif key in ("images", "dupe_of"):
            obj[key] = _split(value)
        elif value:
            obj[key] = value
    return obj


def read_csv(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    texts: list[tuple[int, str]] = []
    bad: list[tuple[int, str]] = []
    for no, text, err in _lines(path):
        if err:
            bad.append((no, err))
        else:
            texts.append((no, text or ""))
    yield from ((no, None, err) for no, err in bad)
    if not texts:
        return
    header_no, header = texts[0]
    fields = next(csv.reader([header]))
    for no, text in texts[1:]:
        try:
            cells = next(csv.reader(io.StringIO(text)))
        except csv.Error as e:
            yield no, None, f"invalid CSV: {e}"
            continue
        if len(cells) > len(fields):
            yield no, None, f"row has {len(cells)} cells, header has {len(fields)}"
            continue
        try:
            yield no, csv_row_to_product(dict(zip(fields, cells))), None
        except InvalidRecord as e:
            yield no, None, str(e)


def _is_text(obj: Any) -> bool:
    """False if the decoded JSON holds a lone surrogate (``"\\ud800"`` parses, but is not
    text: it cannot be written as UTF-8, and would fail the run later)."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _collect(path: Path, rows: Iterator[tuple[int, Any, str | None]], parse: Callable[[Any], R],
             into: dict[str, R], rejects: list[Reject], check: Callable[[R], str | None]) -> None:
    name = path.name
    for no, obj, err in rows:
        rid = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        if not err and not _is_text(obj):
            err = "invalid Unicode: an unpaired surrogate escape (\\ud800-\\udfff)"
        if err:
            rejects.append(Reject(name, no, err, rid if isinstance(rid, str) and _is_text(rid) else None))
            continue
        try:
            rec = parse(obj)
        except InvalidRecord as e:
            rejects.append(Reject(name, no, str(e), rid))
            continue
        rid = rec.id  # type: ignore[attr-defined]
        if rid in into:
            rejects.append(Reject(name, no, f"duplicate id {rid!r} (first definition kept)", rid))
            continue
        problem = check(rec)
        if problem:
            rejects.append(Reject(name, no, problem, rid))
            continue
        into[rid] = rec


def load_catalog(folder: Path | str) -> Catalog:
    """Read and validate every catalog file in ``folder``. Never raises on bad records."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(f"catalog folder not found: {folder}")
    if not any((folder / f).exists() for f in CATALOG_FILES):
        raise CatalogError(f"no catalog files in {folder} (expected some of: {', '.join(CATALOG_FILES)})")
    cat = Catalog()

    def file(name: str, reader=read_jsonl) -> tuple[Path, Iterator[tuple[int, Any, str | None]]] | None:
        p = folder / name
        return (p, reader(p)) if p.exists() else None

    def brand_product_check(bp) -> str | None:
        return None if bp.brand in cat.brands else f"unknown brand {bp.brand!r}"

    def factory_check(f) -> str | None:
        for e in f.endorsements:
            if e.brand not in cat.brands:
                return f"endorsement for unknown brand {e.brand!r}"
        return None

    def product_check(p) -> str | None:
        if p.factory not in cat.factories:
            return f"unknown factory {p.factory!r}"
        missing = [d for d in p.dupe_of if d not in cat.brand_products]
        return f"dupe_of names unknown brand product(s): {', '.join(missing)}" if missing else None

    steps: list[tuple[str, Any, Callable[[Any], Any], dict, Callable[[Any], str | None]]] = [
        ("brands.jsonl", read_jsonl, parse_brand, cat.brands, lambda _: None),
        ("brand_products.jsonl", read_jsonl, parse_brand_product, cat.brand_products, brand_product_check),
        ("factories.jsonl", read_jsonl, parse_factory, cat.factories, factory_check),
        ("products.jsonl", read_jsonl, parse_product, cat.products, product_check),
        ("products.csv", read_csv, parse_product, cat.products, product_check),
    ]
    for name, reader, parse, into, check in steps:
        found = file(name, reader)
        if found:
            _collect(found[0], found[1], parse, into, cat.rejects, check)
    return cat
