"""Pure logic of dupe search: labels, trademark guard, brand detection, fusion, prices, ranking."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search import models
from search.brands import BrandDetector
from search.fusion import Evidence, FusionRule, lexical_weight, rrf, zscore_fusion
from search.labels import SIMILAR, TrademarkGuard, endorsement_problem, label_for
from search.prices import ratio_text, tier_savings
from search.ranking import Candidate, RankingConfig, apply_gate, rank
from search.records import Factory, PriceTier

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
    assert endorsement_problem(models.endorsement({**GOOD, **change}), TODAY) == problem


def _factory_record(*endorsements) -> Factory:
    return models.factory({"id": "f", "names": {"en": "f"}, "endorsements": list(endorsements)})


def test_label_is_the_strongest_valid_one_for_the_brand():
    factory = _factory_record({**GOOD, "type": "equal_quality"},
                              {**GOOD, "expires_at": "2025-01-01"},                    # same foundry, but expired
                              {**GOOD, "brand": "other"})
    assert label_for(factory, "lulu", TODAY)[0].type == "equal_quality"
    assert label_for(factory, "other", TODAY)[0].type == "same_foundry"
    assert label_for(factory, "nobody", TODAY) == (SIMILAR, "no endorsement for nobody")
    assert label_for(factory, None, TODAY)[0].type == "similar"
    label, problem = label_for(_factory_record(GOOD), "lulu", TODAY)
    assert problem is None
    assert (label.evidence, label.verified_by, label.expires_at) == ("OEM orders audited", "QA", dt.date(2027, 1, 1))
    expired = _factory_record({**GOOD, "expires_at": "2025-01-01"})
    assert label_for(expired, "lulu", TODAY) == (SIMILAR, "same_foundry endorsement for lulu: expired on 2025-01-01")


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
    rule = FusionRule(low=0.1, high=0.6)
    assert lexical_weight(Evidence(0.0), rule) == pytest.approx(0.1)
    assert lexical_weight(Evidence(1.0), rule) == pytest.approx(0.6)


def test_price_ratio_wording_and_currency_conversion():
    assert ratio_text(1 / 9) == "about 1/9 of the brand price"
    assert ratio_text(0.6) == "60% of the brand price"
    s, why = tier_savings([PriceTier(2, 71), PriceTier(100, 35.5)], "CNY", 100.0, "USD", {"CNY": 1.0, "USD": 7.1})
    assert [(t.min_qty, t.ratio) for t in s] == [(2, 0.1), (100, 0.05)] and why is None
    assert tier_savings([PriceTier(1, 5)], "XXX", 100.0, "USD") == ([], "no exchange rate between XXX and USD")


def test_savings_only_below_the_brand_price():
    s, why = tier_savings([PriceTier(1, 120), PriceTier(50, 80)], "CNY", 100.0, "CNY")
    assert [t.min_qty for t in s] == [50] and why is None
    assert tier_savings([PriceTier(1, 120)], "CNY", 100.0, "CNY") == ([], "not below the brand price")


def test_savings_are_compared_per_unit_when_packs_differ():
    from search.quantity import parse
    # 1.13 kg for 60 against 750 g for 100: 0.6 per pack, but 0.4 per gram -> the larger one
    s, _ = tier_savings([PriceTier(1, 60)], "CNY", 100.0, "CNY", contents=[parse("1.13 kg")],
                        brand_contents=parse("750 g"))
    assert (s[0].ratio, s[0].basis) == (0.6, "item")
    # 250 g for 50 against 750 g for 100: 0.5 per pack, but 1.5 per gram -> no saving
    assert tier_savings([PriceTier(1, 50)], "CNY", 100.0, "CNY", contents=[parse("250 g")],
                        brand_contents=parse("750 g")) == ([], "not below the brand price per unit")
    # different things measured (ml against pieces): per item only
    s, why = tier_savings([PriceTier(1, 50)], "CNY", 100.0, "CNY", contents=[parse("30 ml")],
                          brand_contents=parse("10 pcs"))
    assert s == [] and why == "the listing does not say how much it holds"     # sold by count: must say
    s, _ = tier_savings([PriceTier(1, 50)], "CNY", 100.0, "CNY", contents=[parse("1200 ml")],
                        brand_contents=parse("40 oz"))
    assert (s[0].ratio, s[0].basis) == (0.5, "item")            # 1.2 L against 40 fl oz: per item is larger
    s, _ = tier_savings([PriceTier(1, 50)], "CNY", 100.0, "CNY", contents=[], brand_contents=parse("2.0 L"))
    assert (s[0].ratio, s[0].basis) == (0.5, "item")            # a capacity need not be stated


def _listing(pid, endorsements=(), *, title="yoga leggings", dupe_of=("bp1",), category="leggings", price=85.0,
             fid=None, hits=()):
    return models.listing({"id": pid, "titles": {"en": title}, "category": category, "dupe_of": list(dupe_of),
                           "price_tiers": [{"min_qty": 1, "price": price}], "currency": "CNY", "moq": 1,
                           "trademark_hits": [list(h) for h in hits],
                           "factory": {"id": fid or f"f-{pid}", "names": {"en": pid}, "endorsements": list(endorsements)}})


def _cand(pid, fused, endorsements=(), *, text=0.8, **kw):
    return Candidate(pid, fused, {"text": text}, _listing(pid, endorsements, **kw))


BP = {"bp1": models.brand_product({"id": "bp1", "brand": "lulu", "category": "leggings", "price": 850,
                                   "currency": "CNY", "titles": {"en": "Align"}}),
      "bp2": models.brand_product({"id": "bp2", "brand": "alo", "category": "leggings", "price": 900,
                                   "currency": "CNY", "titles": {"en": "Airlift"}})}


def test_rank_puts_same_foundry_above_equal_quality_above_similar_when_brand_known():
    cands = [
        _cand("sim", 3.0),
        _cand("eq", 2.0, [{**GOOD, "type": "equal_quality"}]),
        _cand("sf", 1.0, [GOOD]),
        _cand("expired", 2.5, [{**GOOD, "expires_at": "2026-01-01"}]),
        _cand("fake", 5.0, [GOOD], title="lululemon align leggings", hits=[("lulu", "lululemon")]),
    ]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY)
    assert [r.id for r in out] == ["sf", "eq", "sim", "expired"]
    assert [r.label.type for r in out] == ["same_foundry", "equal_quality", "similar", "similar"]
    assert out[0].claim.savings[0].text == "about 1/10 of the brand price"
    assert out[0].claim.against.id == "bp1"
    assert out[3].why["claim"] == ["same_foundry endorsement for lulu: expired on 2026-01-01"]
    with_fakes = rank(cands, brand="lulu", target=None, brand_products=BP, today=TODAY,
                      cfg=RankingConfig(include_counterfeits=True))
    fake = next(r for r in with_fakes if r.id == "fake")
    assert fake.label.type == "similar" and fake.claim.against is None and not fake.claim.savings
    assert fake.listing.trademark_hits == (("lulu", "lululemon"),)


def test_rank_without_brand_orders_by_match_and_labels_against_the_declared_product():
    cands = [_cand("sim", 3.0), _cand("sf", 1.0, [GOOD])]
    out = rank(cands, brand=None, target=None, brand_products=BP, today=TODAY)
    assert [(r.id, r.label.type) for r in out] == [("sim", "similar"), ("sf", "same_foundry")]
    assert all(r.claim.against.id == "bp1" for r in out)


def test_other_kinds_of_product_are_not_shown_as_alternatives():
    cands = [_cand("legging", 3.0), _cand("tshirt", 2.0, [GOOD], category="tshirt", dupe_of=())]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY, categories=("leggings",))
    assert [r.id for r in out] == ["legging"]
    # ...and even where shown (no category asked), never with a claim against it
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY)
    tshirt = next(r for r in out if r.id == "tshirt")
    assert tshirt.label.type == "similar" and tshirt.claim.against is None and tshirt.tier == 2


def test_a_dupe_of_another_brand_is_not_labelled_for_this_one():
    # the factory holds a lululemon label, but the listing says it copies Alo's product
    cands = [_cand("alo-dupe", 3.0, [GOOD], dupe_of=("bp2",)), _cand("lulu-dupe", 1.0, [GOOD])]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY)
    assert [(r.id, r.label.type) for r in out] == [("lulu-dupe", "same_foundry"), ("alo-dupe", "similar")]
    assert out[1].claim.against is None and out[1].why["claim"][0].startswith("declared a dupe of another brand")


def test_label_filter_keeps_the_decided_label():
    cands = [_cand("sf", 1.0, [GOOD]), _cand("expired", 2.0, [{**GOOD, "expires_at": "2026-01-01"}]),
             _cand("alo-dupe", 3.0, [GOOD], dupe_of=("bp2",))]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY, labels=("same_foundry",))
    assert [r.id for r in out] == ["sf"]


def test_declared_dupes_lead_their_tier():
    cands = [_cand("near", 3.0, dupe_of=()), _cand("declared", 1.0)]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY, declared={"declared"})
    assert [r.id for r in out] == ["declared", "near"] and out[0].declared


def test_no_claims_for_a_brand_the_catalog_does_not_carry():
    out = rank([_cand("sf", 1.0, [GOOD])], brand=None, target=None, brand_products=BP, today=TODAY, claims=False)
    assert out[0].label.type == "similar" and out[0].claim.against is None and not out[0].claim.savings


def test_group_by_factory_collapses_listings_into_more():
    cands = [_cand("a", 3.0, fid="f1"), _cand("b", 2.9, fid="f1"), _cand("c", 2.0, fid="f2")]
    out = rank(cands, brand=None, target=None, brand_products=BP, today=TODAY)
    assert [r.id for r in out] == ["a", "c"] and [m.id for m in out[0].more] == ["b"]
    flat = rank(cands, brand=None, target=None, brand_products=BP, today=TODAY,
                cfg=RankingConfig(group_by_factory=False))
    assert len(flat) == 3


def test_gate_keeps_good_matches_behind_an_outlier():
    cands = [_cand("exact", 9.0), _cand("close", 1.5), _cand("tail", -1.0)]
    assert [c.id for c in apply_gate(cands, RankingConfig())] == ["exact", "close"]


def test_gate_drops_weak_tail():
    cands = [_cand("strong", 3.0), _cand("weak", 0.0, text=0.1), _cand("far", -2.0, text=0.9)]
    assert [c.id for c in apply_gate(cands, RankingConfig())] == ["strong"]


@given(st.lists(st.tuples(st.floats(-3, 3), st.sampled_from(["none", "sf", "eq", "expired", "noevidence"])),
                max_size=12))
def test_labels_never_appear_without_valid_evidence(items):
    kinds = {"none": [], "sf": [GOOD], "eq": [{**GOOD, "type": "equal_quality"}],
             "expired": [{**GOOD, "expires_at": "2020-01-01"}], "noevidence": [{**GOOD, "evidence": ""}]}
    cands = [_cand(f"p{i}", s, kinds[k]) for i, (s, k) in enumerate(items)]
    out = rank(cands, brand="lulu", target=BP["bp1"], brand_products=BP, today=TODAY,
               cfg=RankingConfig(max_drop=100.0))
    assert len(out) == len(items)
    for r in out:
        kind = items[int(r.id[1:])][1]
        assert (r.label.type != "similar") == (kind in ("sf", "eq"))
        if r.label.type != "similar":
            assert r.label.evidence and r.label.verified_by
    assert [r.tier for r in out] == sorted(r.tier for r in out)
