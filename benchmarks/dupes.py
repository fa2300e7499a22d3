"""The dupe benchmark: does a query for a brand product find that brand product's dupes, and are
the claims shown about them true?

    python -m benchmarks.dupes [--work DIR] [--only text|photo|routes] [--limit N] [--json OUT]

It indexes ``seeds/`` with the real models into ``--work`` (reused, incrementally, when it is
already there), builds the engine with the demo catalog's "today" (2026-11-22, see
``seeds/TRAPS.md``) and sends every query through the Flask app's JSON API with the test client:
the text set (``benchmarks/dupe_queries.jsonl``, written from the catalog before any tuning), the
photo set (``benchmarks/dupe_photos.py``) and ``/brand-products/<id>/dupes`` for every brand
product. Only the JSON response is read, and every field may be missing (older versions), so the
same script measures the code before and after a rewrite.

The truth is computed here from the raw catalog files, independently of the engine's own label
and claim code:

- an endorsement is *valid* for brand B on a day: same brand, evidence and verifier non-empty,
  verified on or before the day, not expired before it;
- a listing is a *counterfeit* when a title (any language) contains a brand's trademark word
  (NFKC, case-folded; Latin words on word boundaries);
- a *good dupe* of brand product T: T's category, not a counterfeit, and either T in its
  ``dupe_of`` or its factory validly endorsed for T's brand without ``dupe_of`` naming only other
  brands' products (for a brand without a product: the brand's category, ``dupe_of`` naming any of
  the brand's products or the same endorsement rule);
- an *integrity fault* is a shown result that claims something (a same-foundry / equal-quality
  label, or a saving) the catalog does not back, or a counterfeit shown at all.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import re
import shutil
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERIES = Path(__file__).resolve().parent / "dupe_queries.jsonl"
TODAY = dt.date(2026, 11, 22)
CLAIM_LABELS = frozenset({"same_foundry", "equal_quality"})
# Currencies the demo catalog states a rate for (seeds/README.md: USD at 7.1 CNY); a saving
# against a brand price in any other currency than the listing's cannot be compared.
CONVERTIBLE = frozenset({"CNY", "USD"})
K = 10


# --------------------------------------------------------------------------------------------
# The catalog's truth (pure: plain records in, plain answers out)
# --------------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """NFKC and case folding: full-width, ligatures and case do not hide a trademark."""
    return unicodedata.normalize("NFKC", text).casefold()


def trademark_pattern(word: str) -> re.Pattern[str]:
    """A trademark word as a pattern: Latin words on word boundaries, CJK words anywhere."""
    w = fold(word)
    if re.search(r"[0-9a-z]", w):
        return re.compile(r"(?<![0-9a-z])" + re.escape(w) + r"(?![0-9a-z])")
    return re.compile(re.escape(w))


def trademark_hits(titles: Mapping[str, str], patterns: Iterable[tuple[str, str, re.Pattern[str]]]
                   ) -> list[tuple[str, str]]:
    """(brand, word) for every trademark word found in any of ``titles``."""
    folded = [fold(t) for t in (titles or {}).values() if isinstance(t, str)]
    return sorted({(b, w) for b, w, pat in patterns for t in folded if pat.search(t)})


@dataclass(frozen=True)
class Catalog:
    """The raw catalog records by id, and which listings are counterfeits."""
    brands: dict[str, dict]
    brand_products: dict[str, dict]
    factories: dict[str, dict]
    products: dict[str, dict]
    counterfeits: frozenset[str]

    @classmethod
    def from_records(cls, brands: Iterable[dict], brand_products: Iterable[dict], factories: Iterable[dict],
                     products: Iterable[dict]) -> Catalog:
        brands_by_id = {b["id"]: b for b in brands}
        patterns = [(b["id"], w, trademark_pattern(w)) for b in brands_by_id.values()
                    for w in b.get("trademarks") or [] if w.strip()]
        products_by_id = {p["id"]: p for p in products}
        fakes = frozenset(pid for pid, p in products_by_id.items() if trademark_hits(p.get("titles") or {}, patterns))
        return cls(brands_by_id, {b["id"]: b for b in brand_products}, {f["id"]: f for f in factories},
                   products_by_id, fakes)

    @classmethod
    def load(cls, folder: Path) -> Catalog:
        def read(name: str) -> list[dict]:
            with open(folder / name, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        return cls.from_records(read("brands.jsonl"), read("brand_products.jsonl"), read("factories.jsonl"),
                                read("products.jsonl"))


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def endorsement_valid(e: Mapping[str, Any], brand: str, today: dt.date, type_: str | None = None) -> bool:
    """An endorsement backs a label for ``brand`` on ``today`` (of ``type_``, when given)."""
    if e.get("brand") != brand or (type_ is not None and e.get("type") != type_):
        return False
    if not str(e.get("evidence") or "").strip() or not str(e.get("verified_by") or "").strip():
        return False
    verified = _date(e.get("verified_at"))
    if verified is None or verified > today:
        return False
    if e.get("expires_at") in (None, ""):
        return True
    expires = _date(e.get("expires_at"))
    return expires is not None and expires >= today


def factory_endorsed(factory: Mapping[str, Any] | None, brand: str, today: dt.date,
                     type_: str | None = None) -> bool:
    return any(endorsement_valid(e, brand, today, type_) for e in (factory or {}).get("endorsements") or [])


def names_only_other_brands(product: Mapping[str, Any], brand: str, catalog: Catalog) -> bool:
    """``dupe_of`` is non-empty and none of it is ``brand``'s: the listing copies someone else."""
    dupe_of = product.get("dupe_of") or []
    return bool(dupe_of) and not any(catalog.brand_products.get(b, {}).get("brand") == brand for b in dupe_of)


def good_for_product(pid: str, bp_id: str, catalog: Catalog, today: dt.date = TODAY) -> bool:
    """Is listing ``pid`` a good dupe of brand product ``bp_id``?"""
    p, bp = catalog.products.get(pid), catalog.brand_products.get(bp_id)
    if p is None or bp is None or pid in catalog.counterfeits or p.get("category") != bp.get("category"):
        return False
    if bp_id in (p.get("dupe_of") or []):
        return True
    return (factory_endorsed(catalog.factories.get(p.get("factory")), bp["brand"], today)
            and not names_only_other_brands(p, bp["brand"], catalog))


def good_for_brand(pid: str, brand: str, category: str | None, catalog: Catalog, today: dt.date = TODAY) -> bool:
    """Is listing ``pid`` a good dupe for a brand (in ``category``, else in one of the brand's)?"""
    p, b = catalog.products.get(pid), catalog.brands.get(brand)
    if p is None or b is None or pid in catalog.counterfeits:
        return False
    if p.get("category") not in ({category} if category else set(b.get("categories") or [])):
        return False
    if any(catalog.brand_products.get(x, {}).get("brand") == brand for x in p.get("dupe_of") or []):
        return True
    return (factory_endorsed(catalog.factories.get(p.get("factory")), brand, today)
            and not names_only_other_brands(p, brand, catalog))


@dataclass(frozen=True)
class Target:
    """What a query asks dupes of: any of some brand products, else a brand (and category)."""
    brand_products: tuple[str, ...] = ()
    brand: str | None = None
    category: str | None = None

    def __bool__(self) -> bool:
        return bool(self.brand_products or self.brand)


def is_good(pid: str, target: Target, catalog: Catalog, today: dt.date = TODAY) -> bool:
    if target.brand_products:
        return any(good_for_product(pid, bp, catalog, today) for bp in target.brand_products)
    return bool(target.brand) and good_for_brand(pid, target.brand, target.category, catalog, today)


def good_count(target: Target, catalog: Catalog, today: dt.date = TODAY) -> tuple[int, int]:
    """How many good dupes of ``target`` the catalog holds, and from how many factories (results
    grouped by factory show one listing per factory, so the factories bound a top 5 too)."""
    goods = [pid for pid in catalog.products if is_good(pid, target, catalog, today)]
    return len(goods), len({catalog.products[pid].get("factory") for pid in goods})


# --------------------------------------------------------------------------------------------
# Reading the API's JSON (every field optional: the benchmark must run on old and new code)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """One result as the API showed it: only what the checks need."""
    id: str | None
    category: str | None = None
    label: str | None = None
    replaces: str | None = None
    saving_ratios: tuple[Any, ...] = ()
    counterfeit: bool = False
    factory: str | None = None

    @property
    def claims(self) -> bool:
        return self.label in CLAIM_LABELS or bool(self.saving_ratios)


@dataclass(frozen=True)
class Understood:
    brand: str | None = None
    brand_product: str | None = None
    unknown_brand: Any = None


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def parse_result(r: Mapping[str, Any]) -> Shown:
    label = r.get("label")
    label_type = label.get("type") if isinstance(label, dict) else label if isinstance(label, str) else None
    savings = r.get("savings") or []
    ratios = tuple(s.get("ratio") if isinstance(s, dict) else s for s in savings) if isinstance(savings, list) else ()
    return Shown(id=_id(r.get("id")), category=r.get("category"), label=label_type, replaces=_id(r.get("replaces")),
                 saving_ratios=ratios, counterfeit=bool(r.get("counterfeit")), factory=_id(r.get("factory")))


def parse_response(data: Mapping[str, Any]) -> tuple[Understood, list[Shown]]:
    u = data.get("understood") if isinstance(data.get("understood"), dict) else {}
    results = data.get("results") if isinstance(data.get("results"), list) else []
    understood = Understood(_id(u.get("brand")), _id(u.get("brand_product")), u.get("unknown_brand"))
    return understood, [parse_result(r) for r in results if isinstance(r, dict)]


def product_id(shown_id: str | None, catalog: Catalog) -> str | None:
    """The catalog id of a shown result (tolerating a ``kind:id`` document id)."""
    if shown_id in catalog.products or shown_id is None:
        return shown_id
    tail = shown_id.split(":", 1)[-1]
    return tail if tail in catalog.products else shown_id


# --------------------------------------------------------------------------------------------
# Integrity: is every claim shown backed by the catalog? (pure)
# --------------------------------------------------------------------------------------------

def result_faults(r: Shown, catalog: Catalog, today: dt.date = TODAY, *,
                  include_counterfeits: bool = False) -> list[str]:
    """Why this shown result is an integrity fault (empty: it is not). Facts about the listing
    (category, factory, ``dupe_of``, currency) come from the catalog, not from the response."""
    pid = product_id(r.id, catalog)
    p = catalog.products.get(pid or "")
    if p is None:
        return [f"unknown product {r.id!r}"]
    out = []
    fake = pid in catalog.counterfeits
    if fake and not include_counterfeits:
        out.append("counterfeit shown")
    if fake and r.label in CLAIM_LABELS:
        out.append("label on a counterfeit")
    if not r.claims:
        return out
    bp = catalog.brand_products.get(r.replaces or "")
    if bp is None:
        return out + ["claim without replaces" if r.replaces is None else f"claim against unknown {r.replaces!r}"]
    if p.get("category") != bp.get("category"):
        out.append(f"claim across categories ({p.get('category')} vs {bp.get('category')})")
    if r.label in CLAIM_LABELS and not factory_endorsed(catalog.factories.get(p.get("factory")), bp["brand"],
                                                        today, r.label):
        out.append(f"{r.label} without a valid endorsement for {bp['brand']}")
    if names_only_other_brands(p, bp["brand"], catalog):
        out.append(f"dupe_of names only other brands than {bp['brand']}")
    if fake and "label on a counterfeit" not in out:
        out.append("claim on a counterfeit")
    if r.saving_ratios:
        if any(not isinstance(x, (int, float)) or x >= 1 for x in r.saving_ratios):
            out.append("saving at or above the brand price")
        cur, bp_cur = p.get("currency"), bp.get("currency")
        if cur != bp_cur and not (cur in CONVERTIBLE and bp_cur in CONVERTIBLE):
            out.append(f"saving across currencies {cur}/{bp_cur}")
    return out


def unknown_brand_claim(r: Shown) -> bool:
    """On a brand we do not carry nothing may be claimed: no label but similar, no saving."""
    return (r.label not in (None, "similar")) or bool(r.saving_ratios)


# --------------------------------------------------------------------------------------------
# Scoring one query (pure)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What a right answer is for one query."""
    brands: tuple[str, ...] = ()              # a named brand (two for a two-product photo)
    brand_products: tuple[str, ...] = ()      # any of these is a right understanding
    category: str | None = None               # the category the user means, when stated
    unknown_brand: bool = False

    def target(self) -> Target:
        if self.unknown_brand:
            return Target()
        if self.brand_products:
            return Target(self.brand_products, None, self.category)
        return Target((), self.brands[0] if self.brands else None, self.category)

    def categories(self, catalog: Catalog) -> set[str]:
        if self.category:
            return {self.category}
        if self.brand_products:
            return {catalog.brand_products[b]["category"] for b in self.brand_products if b in catalog.brand_products}
        if self.brands and not self.unknown_brand:
            return set(catalog.brands.get(self.brands[0], {}).get("categories") or [])
        return set()


def score(expect: Expect, understood: Understood, shown: list[Shown], catalog: Catalog,
          today: dt.date = TODAY, goods: tuple[int, int] | None = None) -> dict[str, Any]:
    """Every figure of one query; None where a figure does not apply to it.

    ``goods`` is ``good_count`` of the target (computed when None)."""
    target = expect.target()
    top5 = [product_id(r.id, catalog) for r in shown[:5]]
    out: dict[str, Any] = {
        "brand_ok": (understood.brand in expect.brands) if expect.brands and not expect.unknown_brand else None,
        "brand_product_ok": (understood.brand_product in expect.brand_products) if expect.brand_products else None,
        "top1_good": None, "good_top5": None, "good_top5_listings": None, "category_top5": None,
        "faults": [], "unknown_claims": None, "unknown_reported": None,
    }
    if target:
        out["top1_good"] = bool(shown) and is_good(top5[0] or "", target, catalog, today)
        n, factories = good_count(target, catalog, today) if goods is None else goods
        if n:
            # Results are grouped by factory (the default), so five results hold at most as
            # many good dupes as there are factories making them: that is the denominator.
            # Per listing (of min(5, all good dupes)) is printed too.
            good = sum(is_good(pid or "", target, catalog, today) for pid in top5)
            out["good_top5"] = good / min(5, factories)
            out["good_top5_listings"] = good / min(5, n)
    cats = expect.categories(catalog)
    # "No dupes of X in this catalog yet" is a right answer to a brand we do not carry: the
    # category is judged there only on what is shown.
    if cats and not (expect.unknown_brand and not shown):
        in_cat = [catalog.products.get(pid or "", {}).get("category") in cats for pid in top5]
        out["category_top5"] = sum(in_cat) / len(in_cat) if in_cat else 0.0
    for r in shown:
        why = result_faults(r, catalog, today)
        if why:
            out["faults"].append({"id": r.id, "why": why})
    if expect.unknown_brand:
        out["unknown_claims"] = sum(unknown_brand_claim(r) for r in shown)
        out["unknown_reported"] = bool(understood.unknown_brand)
    return out


def failed(s: Mapping[str, Any]) -> list[str]:
    """The names of the checks a scored query failed."""
    why = [name for name in ("brand_ok", "brand_product_ok", "top1_good", "unknown_reported") if s.get(name) is False]
    if s.get("category_top5") is not None and s["category_top5"] < 0.6:
        why.append("category_top5")
    if s.get("faults"):
        why.append(f"faults:{len(s['faults'])}")
    if s.get("unknown_claims"):
        why.append(f"unknown_claims:{s['unknown_claims']}")
    if s.get("status") not in (None, 200):
        why.append(f"http:{s['status']}")
    return why


# --------------------------------------------------------------------------------------------
# Summaries (pure)
# --------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(q / 100 * len(v)) - 1)]


def summarise(outcomes: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate figures over scored queries: shares and means with their denominators."""
    def share(name: str) -> dict[str, Any]:
        vals = [o[name] for o in outcomes if o.get(name) is not None]
        return {"value": (sum(vals) / len(vals)) if vals else None, "hits": sum(vals), "n": len(vals)}
    ms = [o["ms"] for o in outcomes if o.get("ms") is not None]
    return {
        "queries": len(outcomes),
        "brand_understood": share("brand_ok"),
        "brand_product_understood": share("brand_product_ok"),
        "top1_good": share("top1_good"),
        "good_top5": share("good_top5"),
        "good_top5_listings": share("good_top5_listings"),
        "category_top5": share("category_top5"),
        "faults": sum(len(o.get("faults") or []) for o in outcomes),
        "unknown_claims": sum(o.get("unknown_claims") or 0 for o in outcomes),
        "unknown_reported": share("unknown_reported"),
        "errors": sum(o.get("status") not in (None, 200) for o in outcomes),
        "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
    }


# --------------------------------------------------------------------------------------------
# The query sets
# --------------------------------------------------------------------------------------------

@dataclass
class Query:
    kind: str                     # text | photo | route
    key: str                      # the text, the photo id or the brand product id
    group: dict[str, str]         # breakdown keys: lang and form, or variant
    expect: Expect
    photo: Any = field(default=None, repr=False)   # a dupe_photos.PhotoQuery


def text_queries(path: Path = QUERIES) -> list[Query]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            bps = tuple(q.get("brand_product_any") or ([q["brand_product"]] if q.get("brand_product") else []))
            out.append(Query("text", q["q"], {"lang": q["lang"], "form": q["form"]},
                             Expect((q["brand"],) if q.get("brand") else (), bps, q.get("category"),
                                    bool(q.get("unknown_brand")))))
    return out


def photo_queries(seeds: Path) -> list[Query]:
    from benchmarks.dupe_photos import photo_queries as make
    return [Query("photo", pq.id, {"variant": pq.variant},
                  Expect(pq.brands, pq.brand_products, pq.categories[0] if len(pq.categories) == 1 else None),
                  photo=pq)
            for pq in make(seeds)]


def route_queries(catalog: Catalog) -> list[Query]:
    return [Query("route", bp_id, {}, Expect((bp["brand"],), (bp_id,), bp["category"]))
            for bp_id, bp in catalog.brand_products.items()]


# --------------------------------------------------------------------------------------------
# Running (index, engine, Flask test client)
# --------------------------------------------------------------------------------------------

_OTHER_SCRIPTS = re.compile("[\u0370-\u04ff\u0590-\u06ff\u0e00-\u0e7f\u3040-\u30ff\uac00-\ud7af]")


def without_other_script_aliases(seeds: Path, out: Path) -> Path:
    """A copy of the catalog whose brand and brand-product aliases written
    in scripts other than Latin and Chinese are removed: what the engine understands of
    룰루레몬 or ルルレモン without a catalog that spells them out."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("brands.jsonl", "brand_products.jsonl", "factories.jsonl", "products.jsonl"):
        lines = (seeds / name).read_text(encoding="utf-8").splitlines()
        if name in ("brands.jsonl", "brand_products.jsonl"):
            recs = [json.loads(x) for x in lines if x.strip()]
            for r in recs:
                r["aliases"] = [a for a in r.get("aliases") or [] if not _OTHER_SCRIPTS.search(a)]
            lines = [json.dumps(r, ensure_ascii=False) for r in recs]
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not (out / "images").exists():
        # copied, not linked: the indexer refuses image paths that lead out of the catalog
        shutil.copytree(seeds / "images", out / "images")
    return out


def build_app(seeds: Path, work: Path):
    """Index ``seeds`` into ``work/index`` (incremental) and return the Flask app over it."""
    from indexer.embed.ocr import OcrReader
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.pipeline import Indexer
    from search.engine import SearchEngine
    from search.store.embedded import EmbeddedStore
    from web import create_app

    work.mkdir(parents=True, exist_ok=True)
    text, image = text_embedder("use"), image_embedder("effnet-sscd")
    store = EmbeddedStore(work / "index")
    report = Indexer(store, text, image).run(seeds)
    print(f"index: {report.summary()}", file=sys.stderr)
    engine = SearchEngine(store, text, image, OcrReader(), today=lambda: TODAY)
    return create_app({"ENGINE": engine, "TESTING": True, "ANON_RATE_LIMIT_PER_MIN": 10**9,
                       "PAGE_RATE_LIMIT_PER_MIN": 10**9, "CATALOG_DIR": str(seeds),
                       "UPLOAD_DIR": str(work / "uploads")})


def ask(client, q: Query) -> tuple[int, dict, float]:
    """Send one query; (HTTP status, JSON body, milliseconds)."""
    if q.kind == "photo":
        body = q.photo.jpeg()
        t0 = time.perf_counter()
        resp = client.post("/api/v1/search", data={"photo": (io.BytesIO(body), "photo.jpg", "image/jpeg"),
                                                   "k": str(K)}, content_type="multipart/form-data")
    elif q.kind == "route":
        t0 = time.perf_counter()
        resp = client.get(f"/api/v1/brand-products/{q.key}/dupes", query_string={"k": K})
    else:
        t0 = time.perf_counter()
        resp = client.get("/api/v1/search", query_string={"q": q.key, "k": K})
    ms = (time.perf_counter() - t0) * 1000
    data = resp.get_json(silent=True)
    return resp.status_code, data if isinstance(data, dict) else {}, ms


def run(client, queries: list[Query], catalog: Catalog,
        goods_cache: dict[Target, tuple[int, int]]) -> list[dict[str, Any]]:
    outcomes = []
    for i, q in enumerate(queries, 1):
        status, data, ms = ask(client, q)
        understood, shown = parse_response(data)
        target = q.expect.target()
        if target and target not in goods_cache:
            goods_cache[target] = good_count(target, catalog)
        s = score(q.expect, understood, shown, catalog, goods=goods_cache.get(target))
        if q.kind == "route":   # the route is given the brand product: nothing to understand
            s["brand_ok"] = s["brand_product_ok"] = None
        outcomes.append({
            "kind": q.kind, "query": q.key, **q.group, "expect": asdict(q.expect), "status": status,
            "error": (data.get("error") or {}).get("code") if status != 200 and isinstance(data.get("error"), dict)
            else None,
            "understood": asdict(understood), "ms": round(ms, 2),
            "results": [{"id": r.id, "category": r.category, "label": r.label, "replaces": r.replaces,
                         "good": is_good(product_id(r.id, catalog) or "", target, catalog) if target else None}
                        for r in shown],
            **s})
        if i % 50 == 0:
            print(f"  {q.kind}: {i}/{len(queries)}", file=sys.stderr)
    return outcomes


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def _fmt_share(x: Mapping[str, Any]) -> str:
    return "-" if x["value"] is None else f"{x['value']:.3f} ({x['n']})"


def _fmt(x: Mapping[str, Any]) -> str:
    return "-" if x["value"] is None else f"{x['value']:.3f}"


def _fmt_ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


ROWS = [("queries", lambda s: str(s["queries"])),
        ("brand understood", lambda s: _fmt_share(s["brand_understood"])),
        ("brand product understood", lambda s: _fmt_share(s["brand_product_understood"])),
        ("top-1 good dupe", lambda s: _fmt_share(s["top1_good"])),
        ("good dupes in top 5 (of the most one result per factory allows)", lambda s: _fmt_share(s["good_top5"])),
        ("(the same, of min(5, all good listings))", lambda s: _fmt_share(s["good_top5_listings"])),
        ("right category in top 5", lambda s: _fmt_share(s["category_top5"])),
        ("integrity faults", lambda s: str(s["faults"])),
        ("claims on unknown brands", lambda s: str(s["unknown_claims"])),
        ("unknown brand reported", lambda s: _fmt_share(s["unknown_reported"])),
        ("HTTP errors", lambda s: str(s["errors"])),
        ("latency p50 / p95 ms", lambda s: f"{_fmt_ms(s['p50_ms'])} / {_fmt_ms(s['p95_ms'])}")]

SHORT = [("n", lambda s: str(s["queries"])),
         ("brand", lambda s: _fmt_share(s["brand_understood"])),
         ("brand product", lambda s: _fmt_share(s["brand_product_understood"])),
         ("top-1 good", lambda s: _fmt_share(s["top1_good"])),
         ("good top 5", lambda s: _fmt_share(s["good_top5"])),
         ("category top 5", lambda s: _fmt_share(s["category_top5"])),
         ("faults", lambda s: str(s["faults"])),
         ("unknown claims", lambda s: str(s["unknown_claims"])),
         ("unknown reported", lambda s: _fmt_share(s["unknown_reported"]))]


def main_table(summaries: dict[str, dict]) -> list[str]:
    cols = list(summaries)
    lines = ["| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, fmt in ROWS:
        lines.append(f"| {name} | " + " | ".join(fmt(summaries[c]) for c in cols) + " |")
    return lines


def breakdown(outcomes: list[dict], key: str) -> list[str]:
    groups: dict[str, list] = defaultdict(list)
    for o in outcomes:
        groups[o.get(key, "?")].append(o)
    lines = [f"| {key} | " + " | ".join(n for n, _ in SHORT) + " |", "|---|" + "---|" * len(SHORT)]
    for g in sorted(groups, key=lambda g: (-len(groups[g]), g)):
        s = summarise(groups[g])
        lines.append(f"| {g} | " + " | ".join(fmt(s) for _, fmt in SHORT) + " |")
    return lines


def _expected(o: Mapping[str, Any]) -> str:
    e = o["expect"]
    if e["unknown_brand"]:
        return f"unknown brand, category={e['category']}"
    bps = ",".join(e["brand_products"]) or "-"
    return f"brand={'/'.join(e['brands']) or '-'} bp={bps} category={e['category']}"


def failure_lines(outcomes: list[dict]) -> list[str]:
    lines = []
    for o in outcomes:
        why = failed(o)
        if not why:
            continue
        u = o["understood"]
        top = "; ".join(f"{r['id']} ({r['category']}, {r['label']}{', good' if r['good'] else ''})"
                        for r in o["results"][:3]) or "no results"
        tag = "/".join(str(o[k]) for k in ("lang", "form", "variant") if k in o)
        lines.append(f"- [{o['kind']}{' ' + tag if tag else ''}] `{o['query']}`: {', '.join(why)}\n"
                     f"  expected {_expected(o)}; got brand={u['brand']} bp={u['brand_product']}"
                     f" unknown={u['unknown_brand']!r}; top 3: {top}")
        for f in o.get("faults") or []:
            lines.append(f"  fault {f['id']}: {'; '.join(f['why'])}")
    return lines


def report(outcomes: dict[str, list[dict]]) -> str:
    text, photo, routes = outcomes.get("text", []), outcomes.get("photo", []), outcomes.get("route", [])
    summaries = {}
    if text:
        summaries["text"] = summarise(text)
    if photo:
        summaries["photo"] = summarise(photo)
    if text and photo:
        summaries["text + photo"] = summarise(text + photo)
    out = [f"# Dupe benchmark (today = {TODAY})", ""]
    if summaries:
        out += main_table(summaries)
    total_faults = sum(len(o.get("faults") or []) for o in text + photo + routes)
    out += ["", f"Integrity faults over all queries and routes: {total_faults}"]
    if text:
        out += ["", "## Text by language", ""] + breakdown(text, "lang")
        out += ["", "## Text by form", ""] + breakdown(text, "form")
    if photo:
        out += ["", "## Photo by variant", ""] + breakdown(photo, "variant")
    if routes:
        s = summarise(routes)
        out += ["", f"## Dupes route (/brand-products/<id>/dupes, {s['queries']} brand products)", "",
                "| top-1 good | good top 5 (per listing) | category top 5 | faults | HTTP errors | p50 / p95 ms |",
                "|---|---|---|---|---|---|",
                f"| {_fmt_share(s['top1_good'])} | {_fmt_share(s['good_top5'])} ({_fmt(s['good_top5_listings'])})"
                f" | {_fmt_share(s['category_top5'])}"
                f" | {s['faults']} | {s['errors']} | {_fmt_ms(s['p50_ms'])} / {_fmt_ms(s['p95_ms'])} |"]
    out += ["", "Shares are given with their denominator (queries the figure applies to). A query is listed"
                " below when a check applying to it fails (category in the top 5 below 0.6 counts).", ""]
    fails = failure_lines(text + photo + routes)
    out += [f"## Failing queries ({sum(1 for o in text + photo + routes if failed(o))})", ""] + fails
    return "\n".join(out)


def check_traps(catalog: Catalog, seeds: Path) -> str | None:
    """The catalog's declared counterfeits must be exactly the ones this checker finds."""
    traps = seeds / "TRAPS.md"
    if not traps.exists():
        return None
    m = re.search(r"```json\s*(\{.*?\})\s*```", traps.read_text(encoding="utf-8"), re.S)
    if not m:
        return None
    declared = {c["product"] for c in json.loads(m.group(1)).get("counterfeits", [])}
    if declared != set(catalog.counterfeits):
        return (f"counterfeit checker disagrees with TRAPS.md: missing {sorted(declared - catalog.counterfeits)},"
                f" extra {sorted(catalog.counterfeits - declared)}")
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/dupe-bench"), help="index folder (reused)")
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--only", choices=["text", "photo", "routes"])
    ap.add_argument("--limit", type=int, help="at most N queries per set")
    ap.add_argument("--json", type=Path, help="write every figure and per-query outcome here")
    ap.add_argument("--no-other-script-aliases", action="store_true",
                    help="drop catalog aliases in Hangul, Kana, Cyrillic, Thai... (the names are then found by sound)")
    args = ap.parse_args(argv)

    seeds = args.seeds.resolve()
    if args.no_other_script_aliases:
        seeds = without_other_script_aliases(seeds, args.work.resolve() / "seeds-no-other-script-aliases")
    catalog = Catalog.load(seeds)
    problem = check_traps(catalog, seeds)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    sets = {"text": lambda: text_queries(), "photo": lambda: photo_queries(seeds),
            "route": lambda: route_queries(catalog)}
    wanted = {"text": ["text"], "photo": ["photo"], "routes": ["route"]}.get(args.only or "", list(sets))

    app = build_app(seeds, args.work.resolve())
    goods: dict[Target, tuple[int, int]] = {}
    outcomes: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    with app.test_client() as client:
        for name in wanted:
            queries = sets[name]()[: args.limit]
            outcomes[name] = run(client, queries, catalog, goods)
    print(f"queries ran in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    print(report(outcomes))
    if args.json:
        figures = {name: summarise(o) for name, o in outcomes.items()}
        if outcomes.get("text") and outcomes.get("photo"):
            figures["text+photo"] = summarise(outcomes["text"] + outcomes["photo"])
        breakdowns = {
            "text_by_lang": {g: summarise([o for o in outcomes.get("text", []) if o["lang"] == g])
                             for g in {o["lang"] for o in outcomes.get("text", [])}},
            "text_by_form": {g: summarise([o for o in outcomes.get("text", []) if o["form"] == g])
                             for g in {o["form"] for o in outcomes.get("text", [])}},
            "photo_by_variant": {g: summarise([o for o in outcomes.get("photo", []) if o["variant"] == g])
                                 for g in {o["variant"] for o in outcomes.get("photo", [])}},
        }
        args.json.write_text(json.dumps({"today": str(TODAY), "figures": figures, "breakdowns": breakdowns,
                                         "outcomes": outcomes}, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
