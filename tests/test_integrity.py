"""Integrity of claims on every route, over the demo catalog and generated queries.

No result, on any route (search, batch, a brand product's dupes, the product page, the
search page, the share card), ever carries a label or a saving that breaks the claim
rule, and no counterfeit is shown unless asked for. The rule is checked by an independent
statement of it over the raw catalog files (``benchmarks.dupes.result_faults``), not by
the engine's own ``search.claims``. Fake embedders keep this fast; the real models are
exercised by tests/test_search_seeds.py and the dupe benchmark.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.dupes import CLAIM_LABELS, Catalog, Shown, parse_response, result_faults, unknown_brand_claim
from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder
from web import create_app

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TODAY = dt.date(2026, 11, 22)
pytestmark = [pytest.mark.slow,  # the whole seeds catalog indexed (fake models) and swept page by page
              pytest.mark.skipif(not (SEEDS / "products.jsonl").exists(), reason="seeds/ not generated")]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(SEEDS)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    store = EmbeddedStore(tmp / "index")
    report = Indexer(store, FakeTextEmbedder(), FakeImageEmbedder(), batch_size=256).run(SEEDS)
    assert report.rejected == 0
    engine = SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder(), today=lambda: TODAY)
    app = create_app({"ENGINE": engine, "TESTING": True, "CATALOG_DIR": str(SEEDS), "UPLOAD_DIR": str(tmp / "up"),
                      "ANON_RATE_LIMIT_PER_MIN": 10**9, "PAGE_RATE_LIMIT_PER_MIN": 10**9, "OCR": False})
    yield app.test_client()
    store.close()


def _words(catalog: Catalog) -> list[str]:
    """What users type: brand names and nicknames in every language, product-line and
    title words of brand products, listing words, brands we do not carry, "dupe" words."""
    out: set[str] = set()
    for b in catalog.brands.values():
        out.update(b["names"].values())
        out.update(b.get("aliases") or [])
    for bp in catalog.brand_products.values():
        out.update(bp.get("aliases") or [])
        for t in bp["titles"].values():
            out.update(t.split())
    rng = random.Random(7)
    for p in rng.sample(sorted(catalog.products.values(), key=lambda p: p["id"]), 60):
        out.update(next(iter(p["titles"].values())).replace(",", " ").split()[:4])
    out.update(["nike", "名创优品", "zara", "skims", "dupe", "平替", "同款", "alternative", "аналог", "대체품"])
    return sorted(w for w in out if w.strip())


CATEGORIES = ["leggings", "tumbler", "skincare", "earbuds", "food", "hair-dryer", "jacket", "lipstick"]


@st.composite
def searches(draw, words: list[str], catalog: Catalog) -> dict:
    q = " ".join(draw(st.lists(st.sampled_from(words), min_size=1, max_size=4)))
    params: dict = {"q": q, "k": draw(st.integers(5, 30)), "page": draw(st.integers(1, 2))}
    label = draw(st.sampled_from([None, "same_foundry", "equal_quality", "same_foundry,equal_quality"]))
    if label:
        params["label"] = label
    if draw(st.booleans()):
        params["include_counterfeits"] = "true"
    if draw(st.integers(0, 4)) == 0:
        params["category"] = draw(st.sampled_from(CATEGORIES))
    if draw(st.integers(0, 5)) == 0:
        params["brand_product"] = draw(st.sampled_from(sorted(catalog.brand_products)))
    elif draw(st.integers(0, 5)) == 0:
        params["brand"] = draw(st.sampled_from(sorted(catalog.brands)))
    params["group_by_factory"] = draw(st.sampled_from(["true", "false"]))
    return params


def check(data: dict, catalog: Catalog, params: dict) -> list[Shown]:
    understood, shown = parse_response(data)
    counterfeits_ok = params.get("include_counterfeits") == "true"
    for r in shown:
        faults = result_faults(r, catalog, TODAY, include_counterfeits=counterfeits_ok)
        assert not faults, (params, r, faults)
        if understood.unknown_brand:
            assert not unknown_brand_claim(r), (params, r)
    if params.get("label"):
        wanted = set(params["label"].split(","))
        assert all(r.label in wanted for r in shown), (params, [r.label for r in shown])
    for r in data["results"]:
        for m in r["more"]:        # collapsed listings carry their own claims, by the same rule
            _, (more,) = parse_response({"results": [{**m, "category": r["category"]}]})
            faults = result_faults(more, catalog, TODAY, include_counterfeits=counterfeits_ok)
            assert not faults, (params, m, faults)
            if understood.unknown_brand:
                assert not unknown_brand_claim(more), (params, m)
    return shown


def test_generated_searches_never_break_the_claim_rule(client, catalog):
    words = _words(catalog)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(searches(words, catalog))
    def run(params):
        resp = client.get("/api/v1/search", query_string=params)
        assert resp.status_code == 200, resp.get_json()
        check(resp.get_json(), catalog, params)

    run()


def test_batch_searches_keep_the_rule(client, catalog):
    items = [{"q": q} for q in ("stanley cup dupe", "露露乐蒙 瑜伽裤", "雅诗兰黛 口红 平替", "nike dupe", "leggings",
                                "Stanley Quencher 40oz 吸管保温杯")] + [{"q": "lululemon", "label": "same_foundry"}]
    data = client.post("/api/v1/search/batch", json={"items": items}).get_json()
    assert data["ok"] == len(items)
    for item, out in zip(items, data["items"]):
        check(out["result"], catalog, item)


@pytest.mark.parametrize("label", [None, "same_foundry", "equal_quality"])
def test_every_brand_products_dupes_are_its_kind_and_honest(client, catalog, label):
    for bp_id, bp in catalog.brand_products.items():
        params = {"k": 30, **({"label": label} if label else {})}
        resp = client.get(f"/api/v1/brand-products/{bp_id}/dupes", query_string=params)
        data = resp.get_json()
        assert resp.status_code == 200 and data["brand_product"]["id"] == bp_id
        assert data["understood"]["brand_product"]["id"] == bp_id
        shown = check(data, catalog, params)
        assert all(catalog.products[r.id]["category"] == bp["category"] for r in shown), bp_id
        assert all(r.replaces in (bp_id, None) for r in shown), bp_id
        if label is None:
            declared = {p for p, x in catalog.products.items() if bp_id in (x.get("dupe_of") or [])
                        and p not in catalog.counterfeits}
            assert declared, bp_id
            assert declared & {r.id for r in shown}, bp_id      # its declared dupes are found


def test_every_product_page_claims_only_what_the_rule_allows(client, catalog):
    for pid, p in catalog.products.items():
        data = client.get(f"/api/v1/products/{pid}").get_json()
        assert bool(data["counterfeit"]) == (pid in catalog.counterfeits), pid
        for d in data["dupe_of"]:
            r = Shown(pid, p["category"], d["label"]["type"], d["id"] if d["comparable"] else None,
                      tuple(s["ratio"] for s in d["savings"]), bool(data["counterfeit"]), p["factory"])
            assert not result_faults(r, catalog, TODAY, include_counterfeits=True), (pid, d)
            if pid in catalog.counterfeits:
                assert d["label"]["type"] == "similar" and not d["savings"] and d["card_url"] is None


def _comparable(pid: str, bp_id: str, catalog: Catalog) -> bool:
    p, bp = catalog.products[pid], catalog.brand_products[bp_id]
    declared = [b for b in p.get("dupe_of") or [] if b in catalog.brand_products]
    return (pid not in catalog.counterfeits and p["category"] == bp["category"]
            and (not declared or bp_id in declared))


def test_share_cards_only_for_comparable_pairs(client, catalog):
    """A card for every declared, comparable pair; never one for a pair the rule forbids
    (the engine may decline more: another kind of product within a broad category)."""
    rng = random.Random(3)
    pids = sorted(catalog.products)
    pairs = [(pid, b) for pid in rng.sample(pids, 25) for b in rng.sample(sorted(catalog.brand_products), 2)]
    pairs += [(c, catalog.products[c]["dupe_of"][0]) for c in sorted(catalog.counterfeits)
              if catalog.products[c].get("dupe_of")]
    pairs += [(pid, catalog.products[pid]["dupe_of"][0]) for pid in rng.sample(pids, 40)
              if catalog.products[pid].get("dupe_of")]
    for pid, bp_id in pairs:
        resp = client.get(f"/card/{pid}.png", query_string={"bp": bp_id})
        declared = bp_id in (catalog.products[pid].get("dupe_of") or [])
        if not _comparable(pid, bp_id, catalog):
            assert resp.status_code == 404, (pid, bp_id)
        elif declared:
            assert resp.status_code == 200, (pid, bp_id)
        else:
            assert resp.status_code in (200, 404), (pid, bp_id)


@pytest.mark.parametrize("q", ["stanley cup dupe", "露露乐蒙 瑜伽裤", "lululemon同款 Align瑜伽裤", "leggings",
                               "名创优品 香薰", "airwrap"])
def test_the_search_page_shows_what_the_api_decides(client, catalog, q):
    page = client.get("/search", query_string={"q": q, "lang": "en"}).get_data(as_text=True)
    api = client.get("/api/v1/search", query_string={"q": q, "k": 20}).get_json()
    cards = re.findall(r'<article class="card label-([a-z_]+)" data-product="([^"]+)"', page)
    assert cards == [(r["label"]["type"], r["id"]) for r in api["results"]]
    assert not {pid for _, pid in cards} & catalog.counterfeits
    if api["understood"]["unknown_brand"]:
        assert "No dupes of" in page and not any(label in CLAIM_LABELS for label, _ in cards)
