"""Reads a catalog folder into a ``Catalog``: every bad record becomes a ``Reject``
(file, line, reason), a kept record that looks mistaken a ``RecordWarning``, and the rest
is kept.

Folder layout: ``brands.jsonl``, ``brand_products.jsonl``, ``factories.jsonl`` and
``products.jsonl`` and/or ``products.csv`` and/or ``products.xlsx`` (``tables``). JSON
Lines files are read as bytes and decoded per line, so one line of invalid UTF-8 rejects
that line only; a CSV file's encoding is chosen for the whole file (``tables``).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from indexer.catalog.parse import (
    InvalidRecord, Warn, is_id, parse_brand, parse_brand_product, parse_factory, parse_product,
)
from indexer.catalog.records import Catalog, Factory, RecordWarning, Reject
from indexer.catalog.tables import ReadInfo, Row, csv_row_to_product, read_csv, read_xlsx

__all__ = ["CATALOG_FILES", "FILE_KINDS", "CatalogError", "Previous", "csv_row_to_product",
           "load_catalog", "read_csv", "read_jsonl", "read_xlsx"]

CATALOG_FILES = ("brands.jsonl", "brand_products.jsonl", "factories.jsonl", "products.jsonl", "products.csv",
                 "products.xlsx")


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


def read_jsonl(path: Path) -> Iterator[Row]:
    for no, text, err in _lines(path):
        if err:
            yield Row(no, None, err)
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            yield Row(no, None, f"invalid JSON: {e.msg} (column {e.colno})")
            continue
        except RecursionError:
            yield Row(no, None, "invalid JSON: nested too deeply")
            continue
        except ValueError as e:                      # e.g. an integer of more than 4300 digits
            yield Row(no, None, f"invalid JSON: {str(e).split(';')[0][:120]}")
            continue
        yield Row(no, obj, None)


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
              "products.jsonl": "product", "products.csv": "product", "products.xlsx": "product"}

#: What a file's records are parsed with: the record, and where its warnings go.
Parse = Callable[[Any, Warn], Any]


def _no_warnings(parse: Callable[[Any], Any]) -> Parse:
    """A ``parse_*`` that has no warnings to give, as a ``Parse``."""
    return lambda obj, warn: parse(obj)


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
    def collect(self, path: Path, rows: Iterator[Row], parse: Parse) -> None:
        name, kind = path.name, FILE_KINDS[path.name]
        into, rejects = self.into[kind], self.cat.rejects
        for no, obj, err, swallowed in rows:
            rid = _given_id(obj)
            found: list[str] = []
            if not err and not _is_text(obj):
                err = "invalid Unicode: an unpaired surrogate escape (\\ud800-\\udfff)"
            if not err:
                try:
                    rec = parse(obj, found.append)
                except InvalidRecord as e:
                    err = str(e)
                else:
                    rid = rec.id
                    if rid in into:
                        err = f"duplicate id {rid!r} (first definition kept)"
                        rejects.append(Reject(name, no, _with_swallowed(err, no, swallowed), rid))
                        self._may_hold_records(name, kind, swallowed)
                        continue
                    err = self.problem(kind, rec)
                    if not err:
                        into[rid] = rec
                        if swallowed:
                            found.append(f"{_swallowed(no, swallowed)}: check its quotes")
                            # the rows it swallowed are not read: their records stay indexed
                            self._may_hold_records(name, kind, swallowed)
                        self.cat.warnings.extend(RecordWarning(name, no, w, rid) for w in found)
                        continue
            rejects.append(Reject(name, no, _with_swallowed(err, no, swallowed), rid))
            if rid is not None and is_id(rid):
                self.rejected[kind].add(rid)
            else:           # no id to go by: the line may hold any record of this file
                self._may_hold_records(name, kind, (no,))
            # A quote left open: which records the rows it swallowed hold is unknown.
            self._may_hold_records(name, kind, swallowed)

    def _may_hold_records(self, name: str, kind: str, lines: tuple[int, ...]) -> None:
        """Lines of ``name`` that could not be read as the records they may hold: records
        of that file missing from the catalog are kept, not removed."""
        if lines:
            self.cat.unreadable.setdefault(name, []).extend(lines)
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


def _with_swallowed(reason: str, no: int, swallowed: tuple[int, ...]) -> str:
    return f"{reason} ({_swallowed(no, swallowed)})" if swallowed else reason


def _swallowed(no: int, lines: tuple[int, ...]) -> str:
    """What a row that runs over ``lines`` that look like rows of their own probably is."""
    shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return (f"a quote left open? The quoted cell that starts on line {no} runs over "
            f"line{'s' if len(lines) > 1 else ''} {shown}, which look{'' if len(lines) > 1 else 's'} like rows of "
            "their own")


def load_catalog(folder: Path | str, previous: Previous | None = None) -> Catalog:
    """Read and validate every catalog file in ``folder``. Never raises on bad records.
    With ``previous``, rejected records keep their last valid version (see ``_Loader``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CatalogError(f"catalog folder not found: {folder}")
    if not any((folder / f).exists() for f in CATALOG_FILES):
        raise CatalogError(f"no catalog files in {folder} (expected some of: {', '.join(CATALOG_FILES)})")
    loader = _Loader(previous)
    steps: list[tuple[str, Callable[[Path, ReadInfo], Iterator[Row]], Parse]] = [
        ("brands.jsonl", _jsonl, _no_warnings(parse_brand)),
        ("brand_products.jsonl", _jsonl, _no_warnings(parse_brand_product)),
        ("factories.jsonl", _jsonl, parse_factory),
        ("products.jsonl", _jsonl, parse_product),
        ("products.csv", read_csv, parse_product),
        ("products.xlsx", read_xlsx, parse_product),
    ]
    for name, reader, parse in steps:
        path = folder / name
        if path.exists():
            info = ReadInfo()
            loader.collect(path, reader(path, info), parse)
            loader.cat.notes.extend(f"{name}: {note}" for note in info.notes)
            if info.encoding:
                loader.cat.encodings[name] = info.encoding
    return loader.finish()


def _jsonl(path: Path, info: ReadInfo) -> Iterator[Row]:
    """JSON Lines files are UTF-8 (the JSON standard's encoding): nothing to note."""
    return read_jsonl(path)
