"""What the catalog reader produces: a ``Catalog`` of typed records (defined in
``search.records``, re-exported here) and the ``Reject``s of records it refused.

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


@dataclass
class Catalog:
    brands: dict[str, Brand] = field(default_factory=dict)
    brand_products: dict[str, BrandProduct] = field(default_factory=dict)
    factories: dict[str, Factory] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    # File -> numbers of its lines that could not be read at all (no record id): records
    # of that file missing from the catalog may be on them, so they are not removed.
    unreadable: dict[str, list[int]] = field(default_factory=dict)
    # (kind, id) of the records whose last valid version (from the index) stands in for
    # them, and of those among them kept only because they may be on such a line.
    restored: list[tuple[str, str]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
