"""What the catalog reader produces: a ``Catalog`` of typed records (defined in
``search.records``, re-exported here), the ``Reject``s of records it refused, the
``RecordWarning``s of records it kept that look mistaken, and notes on how files were read.

Only the readers in ``indexer.catalog.reader`` see raw JSON/CSV.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from search.records import (  # noqa: F401  (re-exported: the catalog's record types)
    ENDORSEMENT_TYPES, Brand, BrandProduct, Endorsement, EndorsementType, Factory, PriceTier, Product, to_json,
)


@dataclass(frozen=True)
class Reject:
    """A catalog record (or one of its images) that was not indexed, and why.
    ``line`` is 0 when the problem is not tied to a line (an image file). ``kept``: the
    record's last valid version (from the index) stays indexed in its place."""
    file: str
    line: int
    reason: str
    record_id: str | None = None
    kept: bool = False

    def __str__(self) -> str:
        rid = f" [{self.record_id}]" if self.record_id else ""
        where = f"{self.file}:{self.line}" if self.line else self.file
        kept = " (its last valid version stays indexed)" if self.kept else ""
        return f"{where}{rid}: {self.reason}{kept}"


@dataclass(frozen=True)
class RecordWarning:
    """A record that was kept (it is valid) but looks mistaken, e.g. a MOQ above its first
    price tier; reported with its file and line like a reject."""
    file: str
    line: int
    reason: str
    record_id: str | None = None

    def __str__(self) -> str:
        rid = f" [{self.record_id}]" if self.record_id else ""
        return f"{self.file}:{self.line}{rid}: {self.reason}"


@dataclass
class Catalog:
    brands: dict[str, Brand] = field(default_factory=dict)
    brand_products: dict[str, BrandProduct] = field(default_factory=dict)
    factories: dict[str, Factory] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[RecordWarning] = field(default_factory=list)
    # How each file was read, for the person who made it: "products.csv: read as GB18030
    # (GBK) ...", "products.xlsx: read sheet 'Products' ...".
    notes: list[str] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)       # CSV file -> the encoding it was read in
    # File -> numbers of its lines that could not be read at all (no record id): records
    # of that file missing from the catalog may be on them, so they are not removed.
    unreadable: dict[str, list[int]] = field(default_factory=dict)
    # (kind, id) of the records whose last valid version (from the index) stands in for
    # them, and of those among them kept only because they may be on such a line.
    restored: list[tuple[str, str]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
