"""The dupe benchmark's own truth: the integrity checker and the good-dupe rule, on hand-made
records (each rule has a case where it must report a fault), plus the query set's references.

No models and no index: ``benchmarks.dupes`` imports the engine only when it runs.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from benchmarks.dupes import (
    QUERIES,
    Catalog,
    Expect,
    Shown,
    Target,
    check_traps,
    endorsement_valid,
    failed,
    good_count,
    good_for_brand,
    good_for_product,
    parse_response,
    percentile,
    result_faults,
    score,
    summarise,
    unknown_brand_claim,
)

TODAY = dt.date(2026, 11, 22)
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def endorsement(brand="acme", type_="same_foundry", **kw):
    e = {"type": type_, "brand": brand, "evidence": "OEM contract reviewed", "verified_by": "QA (Li)",
         "verified_at": "2026-01-01", "expires_at": "2027-01-01"}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}


def product(pid, factory, category="tumbler", dupe_of=None, title="insulated tumbler 40 oz", currency="CNY"):
    p = {"id": pid, "factory": factory, "titles": {"en": title}, "category": category, "currency": currency}
    if dupe_of is not None:
        p["dupe_of"] = dupe_of
    return p


@pytest.fixture
def catalog() -> Catalog:
    brands = [
        {"id": "acme", "trademarks": ["Acme", "阿克米", "Quench"], "categories": ["tumbler"]},
        {"id": "other", "trademarks": ["Otherco"], "categories": ["tumbler", "leggings"]},
    ]
    bps = [
        {"id": "bp-acme-cup", "brand": "acme", "category": "tumbler", "currency": "USD"},
        {"id": "bp-acme-mug", "brand": "acme", "category": "tumbler", "currency": "CNY"},
        {"id": "bp-other-cup", "brand": "other", "category": "tumbler", "currency": "CNY"},
        {"id": "bp-other-pant", "brand": "other", "category": "leggings", "currency": "XTS"},
    ]
    factories = [
        {"id": "f-sf", "endorsements": [endorsement()]},                                  # valid same foundry
        {"id": "f-eq", "endorsements": [endorsement(type_="equal_quality")]},              # valid equal quality
        {"id": "f-exp", "endorsements": [endorsement(expires_at="2026-11-21")]},           # expired yesterday
        {"id": "f-noev", "endorsements": [endorsement(evidence="  ")]},                    # no evidence
        {"id": "f-none", "endorsements": []},
    ]
    products = [
        product("p-declared", "f-none", dupe_of=["bp-acme-cup"]),
        product("p-endorsed", "f-sf"),
        product("p-endorsed-other", "f-sf", dupe_of=["bp-other-cup"]),
        product("p-endorsed-mug", "f-sf", dupe_of=["bp-acme-mug"]),
        product("p-expired", "f-exp"),
        product("p-noev", "f-noev"),
        product("p-plain", "f-none"),
        product("p-fake", "f-sf", dupe_of=["bp-acme-cup"], title="ACME同款 tumbler"),
        product("p-fake-cjk", "f-none", title="阿克米 保温杯"),
        product("p-wordy", "f-none", title="Quencher-style acmeology tumbler"),      # no whole trademark word
        product("p-fullwidth", "f-none", title="ＡＣＭＥ tumbler"),
        product("p-pant", "f-sf", category="leggings"),
        product("p-eq", "f-eq"),
    ]
    return Catalog.from_records(brands, bps, factories, products)


# -- endorsements ---------------------------------------------------------------------------

@pytest.mark.parametrize("e, ok", [
    (endorsement(), True),
    (endorsement(expires_at=None), True),                      # no expiry
    (endorsement(expires_at="2026-11-22"), True),              # expires today: still valid today
    (endorsement(expires_at="2026-11-21"), False),             # expired yesterday
    (endorsement(evidence=""), False),
    (endorsement(evidence=None), False),
    (endorsement(evidence=" \t"), False),
    (endorsement(verified_by=""), False),
    (endorsement(verified_at=None), False),
    (endorsement(verified_at="2026-11-23"), False),            # verified in the future
    (endorsement(brand="other"), False),
])
def test_endorsement_valid(e, ok):
    assert endorsement_valid(e, "acme", TODAY) is ok


def test_endorsement_type_must_match_when_asked():
    e = endorsement(type_="equal_quality")
    assert endorsement_valid(e, "acme", TODAY)
    assert not endorsement_valid(e, "acme", TODAY, "same_foundry")


# -- counterfeits -----------------------------------------------------------------------------

def test_counterfeits_found_by_whole_words_nfkc_and_cjk(catalog):
    assert catalog.counterfeits == {"p-fake", "p-fake-cjk", "p-fullwidth"}


def test_counterfeits_in_the_demo_catalog_are_exactly_those_declared():
    seeds = Catalog.load(SEEDS)
    assert len(seeds.counterfeits) == 12
    assert check_traps(seeds, SEEDS) is None


# -- good dupes -------------------------------------------------------------------------------

@pytest.mark.parametrize("pid, good", [
    ("p-declared", True),           # names the brand product
    ("p-endorsed", True),           # endorsed factory, declares nothing
    ("p-endorsed-mug", True),       # endorsed factory, declares another product of the same brand
    ("p-endorsed-other", False),    # endorsed factory, but declares only another brand's product
    ("p-expired", False),
    ("p-noev", False),
    ("p-plain", False),
    ("p-fake", False),              # a counterfeit is never a dupe, whatever it declares
    ("p-pant", False),              # wrong category
    ("p-eq", True),                 # any endorsement type
    ("p-missing", False),
])
def test_good_for_product(catalog, pid, good):
    assert good_for_product(pid, "bp-acme-cup", catalog, TODAY) is good


def test_good_for_brand(catalog):
    assert good_for_brand("p-endorsed-mug", "acme", None, catalog, TODAY)
    assert good_for_brand("p-declared", "acme", "tumbler", catalog, TODAY)
    assert not good_for_brand("p-declared", "acme", "leggings", catalog, TODAY)
    assert not good_for_brand("p-endorsed-other", "acme", None, catalog, TODAY)
    assert not good_for_brand("p-pant", "acme", None, catalog, TODAY)       # not one of acme's categories
    assert not good_for_brand("p-fake", "acme", None, catalog, TODAY)


def test_good_count_any_of_several_brand_products(catalog):
    # declared, endorsed, endorsed-mug, eq (3 factories); the counterfeit declaring it does not count
    assert good_count(Target(("bp-acme-cup",)), catalog, TODAY) == (4, 3)
    assert good_count(Target(("bp-other-cup",)), catalog, TODAY) == (1, 1)
    assert good_count(Target(("bp-acme-cup", "bp-other-cup")), catalog, TODAY) == (5, 3)


# -- integrity --------------------------------------------------------------------------------

def test_backed_claims_are_not_faults(catalog):
    assert result_faults(Shown("p-endorsed", label="same_foundry", replaces="bp-acme-cup",
                               saving_ratios=(0.1, 0.09)), catalog, TODAY) == []
    assert result_faults(Shown("p-eq", label="equal_quality", replaces="bp-acme-cup"), catalog, TODAY) == []
    assert result_faults(Shown("p-declared", label="similar", replaces="bp-acme-cup", saving_ratios=(0.2,)),
                         catalog, TODAY) == []
    assert result_faults(Shown("p-plain", label="similar"), catalog, TODAY) == []


@pytest.mark.parametrize("shown, reason", [
    (Shown("p-endorsed", label="same_foundry"), "claim without replaces"),
    (Shown("p-plain", saving_ratios=(0.2,)), "claim without replaces"),
    (Shown("p-pant", label="same_foundry", replaces="bp-acme-cup"), "claim across categories"),
    (Shown("p-pant", saving_ratios=(0.3,), replaces="bp-acme-cup"), "claim across categories"),
    (Shown("p-expired", label="same_foundry", replaces="bp-acme-cup"), "same_foundry without a valid endorsement"),
    (Shown("p-noev", label="same_foundry", replaces="bp-acme-cup"), "same_foundry without a valid endorsement"),
    (Shown("p-eq", label="same_foundry", replaces="bp-acme-cup"), "same_foundry without a valid endorsement"),
    (Shown("p-endorsed", label="same_foundry", replaces="bp-other-cup"), "without a valid endorsement for other"),
    (Shown("p-endorsed-other", label="same_foundry", replaces="bp-acme-cup"), "dupe_of names only other brands"),
    (Shown("p-endorsed-other", saving_ratios=(0.1,), replaces="bp-acme-cup"), "dupe_of names only other brands"),
    (Shown("p-endorsed", saving_ratios=(0.1, 1.0), replaces="bp-acme-cup"), "saving at or above"),
    (Shown("p-endorsed", saving_ratios=(None,), replaces="bp-acme-cup"), "saving at or above"),
    (Shown("p-pant", saving_ratios=(0.1,), replaces="bp-other-pant"), "saving across currencies"),
    (Shown("p-fake", label="similar"), "counterfeit shown"),
    (Shown("p-fake", label="same_foundry", replaces="bp-acme-cup"), "label on a counterfeit"),
    (Shown("p-fake", saving_ratios=(0.1,), replaces="bp-acme-cup"), "claim on a counterfeit"),
    (Shown("p-unknown"), "unknown product"),
    (Shown("p-endorsed", label="same_foundry", replaces="bp-nope"), "claim against unknown"),
])
def test_unbacked_claims_are_faults(catalog, shown, reason):
    why = result_faults(shown, catalog, TODAY)
    assert any(reason in w for w in why), why


def test_counterfeit_may_be_shown_when_asked_but_never_labelled(catalog):
    assert result_faults(Shown("p-fake"), catalog, TODAY, include_counterfeits=True) == []
    assert result_faults(Shown("p-fake", label="same_foundry", replaces="bp-acme-cup"), catalog, TODAY,
                         include_counterfeits=True)


def test_unknown_brand_claims():
    assert not unknown_brand_claim(Shown("p-1", label="similar"))
    assert not unknown_brand_claim(Shown("p-1"))
    assert unknown_brand_claim(Shown("p-1", label="equal_quality"))
    assert unknown_brand_claim(Shown("p-1", label="similar", saving_ratios=(0.1,)))


# -- reading responses and scoring -----------------------------------------------------------

def test_parse_response_tolerates_missing_fields():
    u, shown = parse_response({})
    assert (u.brand, u.brand_product, u.unknown_brand, shown) == (None, None, None, [])
    u, shown = parse_response({
        "understood": {"brand": {"id": "acme"}, "brand_product": None, "unknown_brand": {"name": "nike"}},
        "results": [{"id": "p-1"}, {"id": "p-2", "label": {"type": "same_foundry"}, "replaces": {"id": "bp-x"},
                                    "savings": [{"ratio": 0.1}], "counterfeit": [], "factory": {"id": "f-1"}}]})
    assert (u.brand, u.brand_product, bool(u.unknown_brand)) == ("acme", None, True)
    assert shown[0] == Shown("p-1")
    assert shown[1] == Shown("p-2", None, "same_foundry", "bp-x", (0.1,), False, "f-1")


def test_score_one_query(catalog):
    expect = Expect(("acme",), ("bp-acme-cup",), "tumbler")
    understood = parse_response({"understood": {"brand": {"id": "acme"}, "brand_product": {"id": "bp-acme-mug"}}})[0]
    shown = [Shown("p-declared"), Shown("p-plain"), Shown("p-pant"),
             Shown("p-expired", label="same_foundry", replaces="bp-acme-cup")]
    s = score(expect, understood, shown, catalog, TODAY)
    assert s["brand_ok"] is True and s["brand_product_ok"] is False
    assert s["top1_good"] is True
    assert s["good_top5"] == pytest.approx(1 / 3)           # 1 good shown; 3 factories make good ones
    assert s["good_top5_listings"] == pytest.approx(1 / 4)  # ...4 good listings exist
    assert s["category_top5"] == pytest.approx(3 / 4)
    assert [f["id"] for f in s["faults"]] == ["p-expired"]
    assert s["unknown_claims"] is None
    assert set(failed(s)) == {"brand_product_ok", "faults:1"}


def test_score_no_results_and_unknown_brand(catalog):
    s = score(Expect(("acme",), ("bp-acme-cup",), "tumbler"), parse_response({})[0], [], catalog, TODAY)
    assert s["category_top5"] == 0.0 and s["top1_good"] is False and s["good_top5"] == 0.0
    s = score(Expect((), (), "tumbler"), parse_response({})[0], [], catalog, TODAY)
    assert s["category_top5"] == 0.0 and s["top1_good"] is None
    # an empty answer to a brand we do not carry is right: its category is judged only on what is shown
    s = score(Expect((), (), "tumbler", unknown_brand=True), parse_response({})[0], [], catalog, TODAY)
    assert s["category_top5"] is None and s["unknown_reported"] is False and s["top1_good"] is None
    s = score(Expect((), (), "tumbler", unknown_brand=True), parse_response({})[0], [Shown("p-pant")], catalog, TODAY)
    assert s["category_top5"] == 0.0 and s["unknown_claims"] == 0
    s = score(Expect((), (), None, unknown_brand=True), parse_response({"understood": {"unknown_brand": True}})[0],
              [Shown("p-endorsed", label="same_foundry", replaces="bp-acme-cup")], catalog, TODAY)
    assert s["unknown_reported"] is True and s["unknown_claims"] == 1 and s["category_top5"] is None


def test_summarise_and_percentile():
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2, 3, 4], 95) == 4 and percentile([], 50) is None
    s = summarise([{"brand_ok": True, "ms": 1, "faults": [{}], "status": 200},
                   {"brand_ok": False, "ms": 3, "faults": [], "status": 500},
                   {"brand_ok": None, "ms": 2}])
    assert s["brand_understood"] == {"value": 0.5, "hits": 1, "n": 2}
    assert (s["faults"], s["errors"], s["p50_ms"]) == (1, 1, 2)


# -- the query set ---------------------------------------------------------------------------

def test_query_set_references_the_catalog():
    seeds = Catalog.load(SEEDS)
    rows = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 110 and len({r["q"] for r in rows}) == len(rows)
    categories = {c for b in seeds.brands.values() for c in b["categories"]}
    for r in rows:
        assert set(r) == {"q", "lang", "form", "brand", "brand_product", "brand_product_any", "category",
                          "unknown_brand"}, r
        assert r["brand"] is None or r["brand"] in seeds.brands, r
        assert r["category"] is None or r["category"] in categories, r
        if r["brand_product"]:
            assert r["brand_product"] in r["brand_product_any"], r
        for bp in r["brand_product_any"]:
            assert seeds.brand_products[bp]["brand"] == r["brand"], r
        assert not (r["unknown_brand"] and r["brand"]), r
    others = [r for r in rows if r["lang"] not in ("zh", "zh-Hant", "en")]
    assert len(others) >= 25 and len({r["lang"] for r in others}) >= 5
    assert sum(r["unknown_brand"] for r in rows) >= 12
    assert sum(r["form"] == "generic" for r in rows) >= 8
