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
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from indexer.catalog.parse import (
    InvalidRecord, is_id, parse_brand, parse_brand_product, parse_factory, parse_product,
)
from indexer.catalog.records import Catalog, Factory, Reject

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
        row = dict(zip(fields, cells))
        try:
            yield no, csv_row_to_product(row), None
        except InvalidRecord as e:
            yield no, {"id": (row.get("id") or "").strip()}, str(e)      # the id, for the reject


def _is_text(obj: Any) -> bool:
    """False if the decoded JSON holds a lone surrogate (``"\\ud800"`` parses, but is not
    text: it cannot be written as UTF-8, and would fail the run later)."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: The kind of record each catalog file holds (the document kind, but for factories,
#: which live inside their products' documents).
FILE_KINDS = {"brands.jsonl": "brand", "brand_products.jsonl": "brand_product", "factories.jsonl": "factory",
              "products.jsonl": "product", "products.csv": "product"}


class Previous(Protocol):
    """Where the last valid version of a record comes from (``catalog.stored``: the index)."""

    def record(self, kind: str, rid: str) -> Any | None:
        """The last valid brand, brand product or product ``rid``, or None."""

    def factory(self, fid: str, product_id: str) -> Factory | None:
        """Factory ``fid`` as last indexed with product ``product_id``, or None."""


def _given_id(obj: Any) -> str | None:
    """The id a line gives, even if the line is not a valid record (for its reject)."""
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) and _is_text(rid) else None


class _Loader:
    """One read of a catalog folder. A record rejected by this read keeps its last valid
    version (``previous``) when that version is valid in this catalog, and so does a
    record it refers to that was rejected, or that may sit on a line that could not be
    read at all: the records depending on it then validate against that version. A record
    with no last valid version (a new one) is only rejected."""

    def __init__(self, previous: Previous | None) -> None:
        self.cat = Catalog()
        self.previous = previous
        self.into: dict[str, dict[str, Any]] = {"brand": self.cat.brands, "brand_product": self.cat.brand_products,
                                                "factory": self.cat.factories, "product": self.cat.products}
        self.rejected: dict[str, set[str]] = {kind: set() for kind in self.into}   # readable ids, by kind
        self.unreadable: set[str] = set()                                          # kinds with unreadable lines
        self.restored: set[tuple[str, str]] = set()
        self._tried: set[tuple[str, str, str | None]] = set()

    # -- references --------------------------------------------------------------------
    def known(self, kind: str, rid: str, via: str | None = None) -> bool:
        return rid in self.into[kind] or self._restore(kind, rid, via)

    def problem(self, kind: str, rec: Any) -> str | None:
        """Why ``rec`` cannot be indexed with this catalog (a reference to nothing)."""
        if kind == "brand_product" and not self.known("brand", rec.brand):
            return f"unknown brand {rec.brand!r}"
        if kind == "factory":
            for e in rec.endorsements:
                if not self.known("brand", e.brand):
                    return f"endorsement for unknown brand {e.brand!r}"
        if kind == "product":
            if not self.known("factory", rec.factory, via=rec.id):
                return f"unknown factory {rec.factory!r}"
            missing = [d for d in rec.dupe_of if not self.known("brand_product", d)]
            if missing:
                return f"dupe_of names unknown brand product(s): {', '.join(missing)}"
        return None

    def _restore(self, kind: str, rid: str, via: str | None = None) -> bool:
        """Put the last valid version of ``rid`` in the catalog if it may stand in (it was
        rejected, or its file has unreadable lines) and is valid here. A factory is looked
        for in the document of the product ``via`` that refers to it."""
        if self.previous is None or (rid not in self.rejected[kind] and kind not in self.unreadable):
            return False
        if (kind, rid, via) in self._tried:
            return False
        self._tried.add((kind, rid, via))
        if kind == "factory":
            rec = self.previous.factory(rid, via) if via is not None else None
        else:
            rec = self.previous.record(kind, rid)
        if rec is None or rec.id != rid or self.problem(kind, rec):
            return False
        self.into[kind][rid] = rec
        self.restored.add((kind, rid))
        return True

    # -- files -------------------------------------------------------------------------
    def collect(self, path: Path, rows: Iterator[tuple[int, Any, str | None]], parse: Callable[[Any], Any]) -> None:
        name, kind = path.name, FILE_KINDS[path.name]
        into, rejects = self.into[kind], self.cat.rejects
        for no, obj, err in rows:
            rid = _given_id(obj)
            if not err and not _is_text(obj):
                err = "invalid Unicode: an unpaired surrogate escape (\\ud800-\\udfff)"
            if not err:
                try:
                    rec = parse(obj)
                except InvalidRecord as e:
                    err = str(e)
                else:
                    rid = rec.id
                    if rid in into:
                        rejects.append(Reject(name, no, f"duplicate id {rid!r} (first definition kept)", rid))
                        continue
                    err = self.problem(kind, rec)
                    if not err:
                        into[rid] = rec
                        continue
            rejects.append(Reject(name, no, err, rid))
            if rid is not None and is_id(rid):
                self.rejected[kind].add(rid)
            else:           # no id to go by: the line may hold any record of this file
                self.cat.unreadable.setdefault(name, []).append(no)
                self.unreadable.add(kind)

    def finish(self) -> Catalog:
        """Rejected records not in the catalog get their last valid version (factories got
        theirs through their products); their rejects say so."""
        for kind in ("brand", "brand_product", "product"):
            for rid in sorted(self.rejected[kind]):
                self.known(kind, rid)
        cat = self.cat
        cat.rejects = [replace(r, kept=True) if r.record_id and (FILE_KINDS[r.file], r.record_id) in self.restored
                       else r for r in cat.rejects]
        cat.restored = sorted(self.restored)
        cat.held = [k for k in cat.restored if k[1] not in self.rejected[k[0]]]
        return cat


def load_catalog(folder: Path | str, previous: Previous | None = None) -> Catalog:
    """Read and validate every catalog file in ``folder``. Never raises on bad records.
    With ``previous``, rejected records keep their last valid version (see ``_Loader``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(f"catalog folder not found: {folder}")
    if not any((folder / f).exists() for f in CATALOG_FILES):
        raise CatalogError(f"no catalog files in {folder} (expected some of: {', '.join(CATALOG_FILES)})")
    loader = _Loader(previous)
    steps: list[tuple[str, Callable[[Path], Iterator[tuple[int, Any, str | None]]], Callable[[Any], Any]]] = [
        ("brands.jsonl", read_jsonl, parse_brand),
        ("brand_products.jsonl", read_jsonl, parse_brand_product),
        ("factories.jsonl", read_jsonl, parse_factory),
        ("products.jsonl", read_jsonl, parse_product),
        ("products.csv", read_csv, parse_product),
    ]
    for name, reader, parse in steps:
        path = folder / name
        if path.exists():
            loader.collect(path, reader(path), parse)
    return loader.finish()
