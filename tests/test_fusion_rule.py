"""The per-query fusion rule and the product-code rule (search.fusion), tested directly."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.fusion import Evidence, FusionRule, code_rule, lexical_weight, top_gap

RULE = FusionRule(low=0.1, high=0.6, gap=0.05, code_bonus=0.5, floor=0.05)


def test_top_gap_is_the_first_hits_lead_in_z_units():
    assert top_gap([("a", 10.0), ("b", 1.0), ("c", 1.0)]) > top_gap([("a", 2.0), ("b", 1.9), ("c", 1.0)]) > 0
    assert top_gap([("a", 1.0)]) == 0.0 and top_gap([]) == 0.0
    assert top_gap([("a", 1.0), ("b", 1.0)]) == 0.0


def test_lexical_weight_follows_coverage_without_other_evidence():
    assert lexical_weight(Evidence(0.0), RULE) == pytest.approx(0.1)
    assert lexical_weight(Evidence(1.0), RULE) == pytest.approx(0.6)
    assert lexical_weight(Evidence(0.5), RULE) == pytest.approx(0.35)


def test_the_list_whose_first_hit_stands_out_gets_more_say():
    even = lexical_weight(Evidence(0.5, lexical_gap=1.0, dense_gap=1.0), RULE)
    assert lexical_weight(Evidence(0.5, lexical_gap=3.0, dense_gap=1.0), RULE) > even
    assert lexical_weight(Evidence(0.5, lexical_gap=1.0, dense_gap=3.0), RULE) < even
    # nothing found lexically: a gap in a list of nothing says nothing
    assert lexical_weight(Evidence(0.0, lexical_gap=5.0), RULE) == pytest.approx(0.1)


def test_neither_list_ever_drops_below_the_floor():
    assert lexical_weight(Evidence(1.0, lexical_gap=100.0), RULE) == pytest.approx(0.95)
    assert lexical_weight(Evidence(1.0, dense_gap=100.0), RULE) == pytest.approx(0.05)


FUSED = [("mis", 3.0), ("other", 2.0), ("hit", 1.0), ("plain", 0.5)]


def test_a_code_match_is_lifted_above_a_mismatch_of_the_same_brand():
    state = {"mis": -1, "hit": 1}
    out = [d for d, _ in code_rule(FUSED, state, {"mis": "sony", "hit": "sony"}, bonus=0.0)]
    assert out.index("hit") < out.index("mis")
    assert out == ["hit", "mis", "other", "plain"]            # the others keep their order


def test_an_unknown_brand_counts_as_the_same_brand():
    out = [d for d, _ in code_rule(FUSED, {"mis": -1, "hit": 1}, {"hit": "sony"}, bonus=0.0)]
    assert out[0] == "hit"


def test_another_known_brand_with_another_code_is_not_pushed_down():
    out = [d for d, _ in code_rule(FUSED, {"mis": -1, "hit": 1}, {"mis": "bose", "hit": "sony"}, bonus=0.0)]
    assert out == ["mis", "other", "hit", "plain"]


def test_a_code_match_gains_the_bonus():
    out = dict(code_rule(FUSED, {"hit": 1}, {}, bonus=0.5))
    assert out["hit"] == pytest.approx(1.5) and out["mis"] == 3.0 and out["plain"] == 0.5


_fused = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(-5, 5)), unique_by=lambda t: t[0], max_size=8)


@given(_fused, st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from([-1, 0, 1])),
       st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["x", "y", None])), st.floats(0, 2))
def test_code_rule_keeps_every_listing_once_and_no_same_brand_mismatch_above_a_match(fused, state, brand, bonus):
    out = code_rule(sorted(fused, key=lambda kv: -kv[1]), state, brand, bonus)
    assert sorted(d for d, _ in out) == sorted(d for d, _ in fused)
    pos = {d: i for i, (d, _) in enumerate(out)}
    for m in pos:
        for x in pos:
            same = brand.get(m) is None or brand.get(x) is None or brand.get(m) == brand.get(x)
            if state.get(m, 0) > 0 and state.get(x, 0) < 0 and same:
                assert pos[m] < pos[x]
