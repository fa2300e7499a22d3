"""Pure logic of dupe search: labels, trademark guard, brand detection, fusion, prices, ranking."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.brands import BrandDetector
from search.fusion import has_model_number, lexical_weight, rrf, zscore_fusion
from search.labels import TrademarkGuard, endorsement_problem, label_for
from search.prices import ratio_text, tier_savings
from search.ranking import Candidate, RankingConfig, apply_gate, rank

TODAY = dt.date(2026, 11, 22)
GOOD = {"type": "same_foundry", "brand": "lulu", "evidence": "OEM orders audited", "verified_by": "QA",
        "verified_at": "2026-01-01", "expires_at": "2027-01-01"}


@pytest.mark.parametrize("change, problem", [
    ({}, None),
    ({"evidence": ""}, "no evidence"),
    ({"evidence": None}, "no evidence"),
    ({"verified_by": " "}, "no verifier"),
    ({"verified_at": None}, "no verification date"),
    ({"verified_at": "2027-01-01"}, "verification date in the future"),
    ({"expires_at": "2026-11-21"}, "expired on 2026-11-21"),
    ({"expires_at": "2026-11-22"}, None),
    ({"expires_at": None}, None),
])
def test_endorsement_needs_valid_evidence(change, problem):
    assert endorsement_problem({**GOOD, **change}, TODAY) == problem


def test_label_is_the_strongest_valid_one_for_the_brand():
    factory = {"endorsements": [
        {**GOOD, "type": "equal_quality"},
        {**GOOD, "expires_at": "2025-01-01"},                    # same foundry, but expired
        {**GOOD, "brand": "other"},
    ]}
    assert label_for(factory, "lulu", TODAY).type == "equal_quality"
    assert label_for(factory, "other", TODAY).type == "same_foundry"
    assert label_for(factory, "nobody", TODAY).type == "similar"
    assert label_for(factory, None, TODAY).type == "similar"
    label = label_for({"endorsements": [GOOD]}, "lulu", TODAY)
    assert (label.evidence, label.verified_by, label.expires_at) == ("OEM orders audited", "QA", "2027-01-01")


def test_trademark_guard_folds_case_width_and_script():
    guard = TrademarkGuard({"lulu": ["lululemon", "露露乐蒙", "Align"], "mac": ["MAC"]})
    assert guard.find(["LULULEMON同款瑜伽裤"]) == [("lulu", "lululemon")]
    assert guard.find(["露露樂蒙 leggings"]) == [("lulu", "露露乐蒙")]
    assert guard.find(["ＡＬＩＧＮ pants"]) == [("lulu", "align")]
    assert guard.find(["macbook sleeve", "aligned seams"]) == []
    assert guard.find(["mac lipstick"]) == [("mac", "mac")]


def test_brand_detector_tolerates_spelling_spacing_and_script():
    d = BrandDetector([{"id": "lululemon", "names": {"en": "lululemon", "zh": "露露乐蒙"}, "aliases": ["lulu"]},
                       {"id": "sams", "names": {"en": "Sam's Club", "zh": "山姆"}},
                       {"id": "mac", "names": {"en": "MAC"}}])
    assert [h.brand for h in d.detect("露露樂蒙 瑜伽褲")] == ["lululemon"]
    assert [h.brand for h in d.detect("Sams Club nuts")] == ["sams"]
    assert [h.brand for h in d.detect("sam's club")] == ["sams"]
    fuzzy = d.detect("lululemom leggings")
    assert fuzzy[0].brand == "lululemon" and fuzzy[0].how == "fuzzy" and fuzzy[0].confidence < 1
    assert d.detect("macbook case") == [] and d.detect("blue shirt") == []


def test_rrf_uses_one_based_ranks_and_ignores_absent_docs():
    fused = dict(rrf({"a": [("x", 9.0), ("y", 1.0)], "b": [("y", 0.5)]}, k=60))
    assert fused["x"] == pytest.approx(1 / 61)
    assert fused["y"] == pytest.approx(1 / 62 + 1 / 61)


def test_zscore_fusion_weights_lists():
    lists = {"bm25": [("a", 10.0), ("b", 1.0)], "text": [("b", 0.9), ("a", 0.1)]}
    assert zscore_fusion(lists, {"bm25": 0.9, "text": 0.1})[0][0] == "a"
    assert zscore_fusion(lists, {"bm25": 0.1, "text": 0.9})[0][0] == "b"


@given(st.dictionaries(st.sampled_from(["bm25", "text", "image"]),
                       st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(-5, 5)), max_size=8,
                                unique_by=lambda t: t[0]), min_size=1))
def test_fusion_returns_each_document_once(lists):
    docs = {d for ranking in lists.values() for d, _ in ranking}
    for fused in (rrf(lists), zscore_fusion(lists, dict.fromkeys(lists, 1.0))):
        ids = [d for d, _ in fused]
        assert sorted(ids) == sorted(docs)
        assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)


def test_lexical_weight_is_low_without_lexical_evidence():
    assert lexical_weight(0.0, False) == pytest.approx(0.1)
    assert lexical_weight(1.0, False) == pytest.approx(0.6)
    assert lexical_weight(0.2, True) == pytest.approx(0.6)
    assert has_model_number(["sony", "wh1000xm4"]) and not has_model_number(["yoga", "2024"])


def test_price_ratio_wording_and_currency_conversion():
    assert ratio_text(1 / 9) == "about 1/9 of the brand price"
    assert ratio_text(0.6) == "60% of the brand price"
    s = tier_savings([{"min_qty": 2, "price": 71}, {"min_qty": 100, "price": 35.5}], "CNY", 100.0, "USD",
                     {"CNY": 1.0, "USD": 7.1})
    assert [(t.min_qty, t.ratio) for t in s] == [(2, 0.1), (100, 0.05)]
    assert tier_savings([{"min_qty": 1, "price": 5}], "XXX", 100.0, "USD") == []


def _factory(fid, *endorsements):
    return {"id": fid, "names": {"en": fid}, "endorsements": list(endorsements)}


def _cand(pid, fused, factory, *, title="yoga leggings", dupe_of=("bp1",), category="leggings", text=0.8):
    return Candidate(f"product:{pid}", fused, {"text": text},
                     {"id": pid, "titles": {"en": title}, "category": category, "dupe_of": list(dupe_of),
                      "price_tiers": [{"min_qty": 1, "price": 85}], "currency": "CNY", "factory": factory})


BP = {"bp1": {"id": "bp1", "brand": "lulu", "category": "leggings", "price": 850, "currency": "CNY"}}
GUARD = TrademarkGuard({"lulu": ["lululemon"]})


def test_rank_puts_same_foundry_above_equal_quality_above_similar_when_brand_known():
    cands = [
        _cand("sim", 3.0, _factory("f1")),
        _cand("eq", 2.0, _factory("f2", {**GOOD, "type": "equal_quality"})),
        _cand("sf", 1.0, _factory("f3", GOOD)),
        _cand("expired", 2.5, _factory("f4", {**GOOD, "expires_at": "2026-01-01"})),
        _cand("fake", 5.0, _factory("f5", GOOD), title="lululemon align leggings"),
    ]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, guard=GUARD, today=TODAY)
    assert [r.product["id"] for r in out] == ["sf", "eq", "sim", "expired"]
    assert [r.label.type for r in out] == ["same_foundry", "equal_quality", "similar", "similar"]
    assert out[0].savings[0].text == "about 1/10 of the brand price"
    assert out[0].replaces["id"] == "bp1"
    with_fakes = rank(cands, brand="lulu", target=None, brand_products=BP, guard=GUARD, today=TODAY,
                      cfg=RankingConfig(include_counterfeits=True))
    fake = next(r for r in with_fakes if r.product["id"] == "fake")
    assert fake.label.type == "similar" and fake.counterfeit == [("lulu", "lululemon")]


def test_rank_without_brand_orders_by_match_and_still_labels():
    cands = [_cand("sim", 3.0, _factory("f1")), _cand("sf", 1.0, _factory("f3", GOOD))]
    out = rank(cands, brand=None, target=None, brand_products=BP, guard=GUARD, today=TODAY)
    assert [(r.product["id"], r.label.type) for r in out] == [("sim", "similar"), ("sf", "same_foundry")]


def test_endorsed_factory_products_of_another_kind_are_not_promoted():
    cands = [_cand("legging", 3.0, _factory("f1")),
             _cand("tshirt", 2.0, _factory("f3", GOOD), category="tshirt", dupe_of=())]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, guard=GUARD, today=TODAY)
    assert [r.product["id"] for r in out] == ["legging", "tshirt"]


def test_group_by_factory_collapses_listings_into_more():
    f = _factory("f1")
    cands = [_cand("a", 3.0, f), _cand("b", 2.9, f), _cand("c", 2.0, _factory("f2"))]
    out = rank(cands, brand=None, target=None, brand_products=BP, guard=GUARD, today=TODAY)
    assert [r.product["id"] for r in out] == ["a", "c"] and [m["id"] for m in out[0].more] == ["product:b"]
    flat = rank(cands, brand=None, target=None, brand_products=BP, guard=GUARD, today=TODAY,
                cfg=RankingConfig(group_by_factory=False))
    assert len(flat) == 3


def test_gate_keeps_good_matches_behind_an_outlier():
    cands = [_cand("exact", 9.0, _factory("f1")), _cand("close", 1.5, _factory("f2")),
             _cand("tail", -1.0, _factory("f3"))]
    assert [c.id for c in apply_gate(cands, RankingConfig())] == ["product:exact", "product:close"]


def test_gate_drops_weak_tail():
    cands = [_cand("strong", 3.0, _factory("f1")), _cand("weak", 0.0, _factory("f2"), text=0.1),
             _cand("far", -2.0, _factory("f3"), text=0.9)]
    assert [c.id for c in apply_gate(cands, RankingConfig())] == ["product:strong"]


@given(st.lists(st.tuples(st.floats(-3, 3), st.sampled_from(["none", "sf", "eq", "expired", "noevidence"])),
                max_size=12))
def test_labels_never_appear_without_valid_evidence(items):
    kinds = {"none": [], "sf": [GOOD], "eq": [{**GOOD, "type": "equal_quality"}],
             "expired": [{**GOOD, "expires_at": "2020-01-01"}], "noevidence": [{**GOOD, "evidence": ""}]}
    cands = [_cand(f"p{i}", s, _factory(f"f{i}", *kinds[k])) for i, (s, k) in enumerate(items)]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, guard=GUARD, today=TODAY,
               cfg=RankingConfig(max_drop=100.0))
    assert len(out) == len(items)
    for r in out:
        kind = items[int(r.product["id"][1:])][1]
        assert (r.label.type != "similar") == (kind in ("sf", "eq"))
        if r.label.type != "similar":
            assert r.label.evidence and r.label.verified_by
    assert [r.tier for r in out] == sorted(r.tier for r in out)
