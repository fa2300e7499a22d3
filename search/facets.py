"""Facets: the filter values present in a result list or in the whole catalog, with counts,
and the user's filter values resolved against them.

The search page offers these to narrow a search (a value with its count), the API returns
them beside the results (``facets``) and lists the catalog's (``/api/v1/categories``,
``/api/v1/regions``), and a filter value that names nothing in the catalog is refused
with the values it could have been (``UnknownValue``) instead of silently finding nothing.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from search import categories, regions
from search.models import Listing
from search.store.base import IndexDoc
from search.texts import LocalText, canonical, is_zh, shown_text

#: "ships within" choices offered, in hours (a listing counts under each it meets).
SHIP_WITHIN = (24, 48, 72)


@dataclass(frozen=True)
class Facets:
    """Counts of listings per value. Regions count under every prefix of their path."""
    categories: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    certifications: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    ship_within: dict[int, int] = field(default_factory=dict)
    total: int = 0
    # a certification's name per language when the catalog gives one (canonical -> text)
    certification_names: dict[str, LocalText] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """What facets count of one listing."""
    category: str
    region: str | None                  # its factory's region path (English)
    certifications: tuple[LocalText, ...]      # as the catalog gives them (``search.texts``)
    ship_within_hours: int | None
    label: str | None = None


def row(x: Listing, label: str | None = None) -> Row:
    return Row(x.product.category, regions.path(x.factory.region), x.factory.certifications,
               x.factory.ship_within_hours, label)


def doc_row(d: IndexDoc) -> Row:
    """A stored product document's row, without decoding it into a listing (counting the
    whole catalog reads every product)."""
    factory = d.source.get("factory") or {}
    return Row(d.category or "", d.region, tuple(factory.get("certifications") or ()), d.ship_within_hours)


def count(rows: Iterable[Row]) -> Facets:
    cats: Counter[str] = Counter()
    regs: Counter[str] = Counter()
    certs: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    ships: Counter[int] = Counter()
    names: dict[str, LocalText] = {}
    n = 0
    for r in rows:
        n += 1
        cats[r.category] += 1
        regs.update(regions.prefixes(r.region))
        for c in r.certifications:
            key = canonical(c)
            if key and not isinstance(c, str):
                names.setdefault(key, c)
        certs.update({k for k in map(canonical, r.certifications) if k})
        if r.label:
            labels[r.label] += 1
        hours = r.ship_within_hours
        ships.update(h for h in SHIP_WITHIN if hours is not None and hours <= h)
    return Facets(dict(cats.most_common()), dict(sorted(regs.items())), dict(certs.most_common()),
                  dict(labels.most_common()), {h: ships[h] for h in SHIP_WITHIN if ships[h]}, n, names)


class UnknownValue(ValueError):
    """A filter value that names nothing in the catalog; ``valid`` lists what it may be."""

    def __init__(self, field_name: str, value: str, valid: Sequence[str]) -> None:
        super().__init__(f"no {field_name} {value[:60]!r} in this catalog")
        self.field = field_name
        self.value = value
        self.valid = list(valid)


def resolve_category(text: str, catalog: Facets) -> str:
    """The category id ``text`` names (id, or a name in zh/en), or ``UnknownValue``."""
    found = categories.resolve(text, catalog.categories)
    if found is None:
        raise UnknownValue("category", text, sorted(catalog.categories))
    return found


def resolve_region(text: str, catalog: Facets) -> tuple[str, ...]:
    """The indexed region prefixes ``text`` names ("浙江", "yiwu", "Guangdong Shenzhen"),
    or ``UnknownValue`` listing the provinces and cities the catalog has."""
    paths = [r for r in catalog.regions if not any(o.startswith(r + " ") for o in catalog.regions)]
    found = regions.resolve(text, paths)
    if not found:
        valid = [r for r in catalog.regions if len(regions.parts(r)) <= 2]
        raise UnknownValue("region", text, valid)
    return tuple(found)


def resolve_certifications(texts: Iterable[str], catalog: Facets) -> tuple[str, ...]:
    """The catalog's spelling of each certification (case and spacing aside), named in any
    of its languages."""
    def key(text: str) -> str:
        return " ".join(text.casefold().split())
    by_key = {key(c): c for c in catalog.certifications}
    for c, names in catalog.certification_names.items():      # its name in every language ("3C认证")
        if isinstance(names, Mapping):
            by_key.update((key(n), c) for n in names.values() if n)
    out = []
    for text in texts:
        hit = by_key.get(key(text))
        if hit is None:
            raise UnknownValue("certification", text, sorted(catalog.certifications))
        out.append(hit)
    return tuple(dict.fromkeys(out))


def _region_name(path: str, lang: str) -> str:
    last = regions.parts(path)[-1]
    return (regions.zh_part(last) or last) if is_zh(lang) else last


def _region_tree(counts: dict[str, int], lang: str) -> list[dict[str, Any]]:
    """Provinces with their cities (the second part of the path), largest first."""
    out = []
    for path, n in counts.items():
        if len(regions.parts(path)) != 1:
            continue
        cities = [{"value": c, "name": _region_name(c, lang), "count": m} for c, m in counts.items()
                  if c.startswith(path + " ") and len(regions.parts(c)) == 2]
        cities.sort(key=lambda x: (-x["count"], x["value"]))
        out.append({"value": path, "name": _region_name(path, lang), "count": n, "cities": cities})
    return sorted(out, key=lambda x: (-x["count"], x["value"]))


def to_json(f: Facets, lang: str) -> dict[str, Any]:
    """Facets as the API returns them: each value with its count (and its name in ``lang``)."""
    return {
        "total": f.total,
        "category": [{"value": c, "name": categories.name_of(c).name(lang), "count": n}
                     for c, n in f.categories.items()],
        "region": _region_tree(f.regions, lang),
        "certification": [{"value": c, "name": shown_text(f.certification_names.get(c, c), lang), "count": n}
                          for c, n in f.certifications.items()],
        "label": [{"value": x, "count": n} for x, n in f.labels.items()],
        "ship_within": [{"value": h, "count": n} for h, n in f.ship_within.items()],
    }
