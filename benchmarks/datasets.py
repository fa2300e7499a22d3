"""Adapters from the public evaluation sets in ../shared/data to our catalog format.

Each adapter returns a ``Task``: catalog product rows (our JSON Lines shape) for the corpus
side, and queries from the other side with the ids of their relevant products. The data
is read from its folder, never copied into the repository.
"""
from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class Query:
    relevant: set[str]
    text: str | None = None
    image: Path | None = None
    exclude: str | None = None          # the query's own product (self-retrieval sets)
    id: str = ""                        # stable within its dataset: decides the query's half


SPLIT_SALT = "dupe-quality-2026"         # fixed: the halves never change between runs
Half = Literal["tune", "report"]


def half(task_key: str, query_id: str) -> Half:
    """The half a query belongs to: ``tune`` (fit parameters on it) or ``report`` (the
    figures quoted). A salted hash of the dataset and the query's own id, so it is
    deterministic, independent of query order and about 50/50 on every dataset."""
    digest = hashlib.blake2b(f"{SPLIT_SALT}:{task_key}:{query_id}".encode(), digest_size=8).digest()
    return "tune" if digest[0] % 2 == 0 else "report"


@dataclass
class Task:
    name: str
    products: list[dict]
    queries: list[Query]
    images: dict[str, Path] = field(default_factory=dict)    # relative catalog path -> source file


def _product(pid: str, title: str, lang: str = "en", description: str = "", attributes: dict | None = None,
             image: str | None = None) -> dict:
    row = {"id": pid, "factory": "f-bench", "titles": {lang: title[:1900]}, "category": "bench",
           "description": description[:19000], "attributes": attributes or {},
           "price_tiers": [{"min_qty": 1, "price": 1.0}], "currency": "CNY", "moq": 1}
    if image:
        row["images"] = [image]
    return row


def _clean(s: str | None) -> str:
    return re.sub(r"\s+", " ", s or "").strip()


def abt_buy(root: Path) -> Task:
    d = root / "abt_buy"
    def rows(name: str) -> Iterator[dict]:
        with open(d / name, encoding="latin-1", newline="") as f:
            yield from csv.DictReader(f)
    abt = {r["id"]: r for r in rows("Abt.csv")}
    products = [_product(f"b{r['id']}", _clean(r["name"]), description=_clean(r["description"]),
                         attributes={"manufacturer": _clean(r.get("manufacturer"))} if r.get("manufacturer") else {})
                for r in rows("Buy.csv") if _clean(r["name"])]
    gold: dict[str, set[str]] = defaultdict(set)
    for r in rows("abt_buy_perfectMapping.csv"):
        gold[r["idAbt"]].add(f"b{r['idBuy']}")
    queries = [Query(rel, text=_clean(abt[a]["name"]), id=a) for a, rel in gold.items() if a in abt]
    return Task("abt_buy (Abt name -> Buy)", products, queries)


def wdc(root: Path) -> Task:
    d = root / "wdc_products"
    def rows(name: str) -> list[dict]:
        with open(d / name, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    b_rows = rows("tableB.csv")
    products, by_cluster = [], defaultdict(set)
    for r in b_rows:
        title = _clean(r["title"])
        if not title:
            continue
        attrs = {"brand": _clean(r["brand"])} if _clean(r["brand"]) else {}
        products.append(_product(f"w{r['id']}", title, description=_clean(r["description"])[:2000], attributes=attrs))
        by_cluster[r["cluster_id"]].add(f"w{r['id']}")
    queries = [Query(by_cluster[r["cluster_id"]], text=_clean(r["title"]), id=r["id"]) for r in rows("tableA.csv")
               if r["cluster_id"] in by_cluster and _clean(r["title"])]
    return Task("wdc_products (A -> B)", products, queries)


def shopee(root: Path) -> Task:
    products, queries = [], []
    with open(root / "shopee_zh_en" / "pairs_dev.tsv", encoding="utf-8") as f:
        for i, line in enumerate(list(f)[1:]):
            zh, _, en = line.rstrip("\n").partition("\t")
            if zh.strip() and en.strip():
                products.append(_product(f"s{i}", en.strip()))
                queries.append(Query({f"s{i}"}, text=zh.strip(), id=str(i)))
    return Task("shopee (zh -> en)", products, queries)


def product1m(root: Path) -> Task:
    products, labels = [], {}
    with open(root / "product1m_zh" / "product1m_dev_ossurl_v2.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("#####")
            if len(parts) < 5 or not parts[1].strip():
                continue
            pid = f"m{parts[0]}"
            products.append(_product(pid, parts[1].strip(), lang="zh"))
            labels[pid] = frozenset(x.strip() for x in parts[4].split("#;#") if x.strip())
    groups: dict[frozenset, set[str]] = defaultdict(set)
    for pid, ls in labels.items():
        groups[ls].add(pid)
    titles = {p["id"]: p["titles"]["zh"] for p in products}
    queries = [Query(groups[ls] - {pid}, text=titles[pid], exclude=pid, id=pid) for pid, ls in labels.items()
               if len(groups[ls]) > 1]
    return Task("product1m (zh title -> same product)", products, queries)


def grocery(root: Path) -> Task:
    d = root / "grocery_store" / "dataset"
    products, images = [], {}
    with open(d / "classes.csv", encoding="utf-8", newline="") as f:
        for r in csv.reader(f):
            if not r or not r[1].strip().isdigit():
                continue
            name, cid, iconic, desc = r[0].strip(), r[1].strip(), r[4].strip().lstrip("/"), r[5].strip().lstrip("/")
            rel = f"img/{cid}.jpg"
            images[rel] = d / iconic
            try:
                description = _clean((d / desc).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                description = ""
            products.append(_product(f"g{cid}", name.replace("-", " "), description=description, image=rel))
    queries = []
    with open(d / "val.txt", encoding="utf-8") as f:
        for line in f:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) >= 2 and parts[1].isdigit():
                queries.append(Query({f"g{parts[1]}"}, image=d / parts[0], id=parts[0]))
    return Task("grocery (in-store photo -> catalog image, fine)", products, queries, images)


TEXT_TASKS = {"abt_buy": abt_buy, "wdc": wdc, "shopee": shopee, "product1m": product1m}
PHOTO_TASKS = {"grocery": grocery}
