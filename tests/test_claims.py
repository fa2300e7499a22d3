"""The claim rule (search.claims.decide): one product against one brand product, and the
net-content parsing that makes savings comparable."""
from __future__ import annotations

import datetime as dt

import pytest

from search import models
from search.claims import decide, reference
from search.quantity import Quantity, comparable, of_listing, parse

TODAY = dt.date(2026, 11, 22)
GOOD = {"type": "same_foundry", "brand": "lulu", "evidence": "OEM orders audited", "verified_by": "QA",
        "verified_at": "2026-01-01", "expires_at": "2027-01-01"}
BPS = {
    "align": models.brand_product({"id": "align", "brand": "lulu", "category": "leggings", "price": 850,
                                   "currency": "CNY", "titles": {"en": "Align pant"}}),
    "airlift": models.brand_product({"id": "airlift", "brand": "alo", "category": "leggings", "price": 128,
                                     "currency": "USD", "titles": {"en": "Airlift legging"}}),
    "nuts": models.brand_product({"id": "nuts", "brand": "club", "category": "food", "price": 100,
                                  "currency": "CNY", "titles": {"en": "Mixed nuts 750 g"}}),
    "lipstick": models.brand_product({"id": "lipstick", "brand": "lulu", "category": "lipstick", "price": 300,
                                      "currency": "CNY", "titles": {"en": "Lipstick"}}),
}


def listing(*, category="leggings", dupe_of=("align",), price=85.0, currency="CNY", endorsements=(GOOD,),
            hits=(), attributes=None, title="yoga leggings"):
    return models.listing({"id": "p", "titles": {"en": title}, "category": category, "dupe_of": list(dupe_of),
                           "price_tiers": [{"min_qty": 1, "price": price}], "currency": currency, "moq": 1,
                           "attributes": attributes or {}, "trademark_hits": [list(h) for h in hits],
                           "factory": {"id": "f", "names": {"en": "f"}, "endorsements": list(endorsements)}})


def test_a_comparable_endorsed_dupe_gets_its_label_and_saving():
    c = decide(listing(), BPS["align"], TODAY, BPS)
    assert c.comparable and c.label.type == "same_foundry" and c.label.brand == "lulu"
    assert [(s.ratio, s.text) for s in c.savings] == [(0.1, "about 1/10 of the brand price")]
    assert c.problems == ()


@pytest.mark.parametrize("kw, problem", [
    ({"category": "lipstick"}, "another kind of product: lipstick, not leggings"),
    ({"dupe_of": ("airlift",)}, "declared a dupe of another brand's product: airlift"),
    ({"hits": [("lulu", "lululemon")]}, "counterfeit: the listing uses the trademark lululemon"),
])
def test_no_claim_where_the_product_may_not_be_compared(kw, problem):
    c = decide(listing(**kw), BPS["align"], TODAY, BPS)
    assert not c.comparable and c.label.type == "similar" and c.savings == () and c.problems == (problem,)


def test_an_endorsement_for_another_brand_gives_no_label_but_a_comparable_saving():
    c = decide(listing(endorsements=({**GOOD, "brand": "alo"},), dupe_of=()), BPS["align"], TODAY, BPS)
    assert c.comparable and c.label.type == "similar" and c.savings and c.problems == ("no endorsement for lulu",)


def test_undeclared_and_mixed_declarations_are_compared():
    assert decide(listing(dupe_of=()), BPS["align"], TODAY, BPS).comparable
    assert decide(listing(dupe_of=("airlift", "align")), BPS["align"], TODAY, BPS).comparable
    assert decide(listing(dupe_of=("unknown-bp",)), BPS["align"], TODAY, BPS).comparable


def test_savings_need_a_lower_price_and_a_known_currency():
    c = decide(listing(price=900), BPS["align"], TODAY, BPS)
    assert c.label.type == "same_foundry" and c.savings == ()
    assert c.problems == ("no saving: not below the brand price",)
    c = decide(listing(currency="XYZ"), BPS["align"], TODAY, BPS)
    assert c.savings == () and "no exchange rate between XYZ and CNY" in c.problems[0]
    # USD brand price, CNY listing: converted with the stated table
    c = decide(listing(dupe_of=("airlift",), endorsements=()), BPS["airlift"], TODAY, BPS, {"CNY": 1.0, "USD": 7.1})
    assert c.savings[0].ratio == pytest.approx(85 / (128 * 7.1), abs=1e-4)


def test_savings_compare_net_contents():
    nuts = dict(category="food", dupe_of=("nuts",), endorsements=())
    # a 1.13 kg jar for 60 against 750 g for 100 is 0.6 per item (the larger ratio)
    assert decide(listing(**nuts, price=60, attributes={"net_weight": "1.13 kg"}), BPS["nuts"], TODAY,
                  BPS).savings[0].ratio == 0.6
    # a 250 g bag for 50 is cheaper per item but dearer per gram: no saving
    c = decide(listing(**nuts, price=50, attributes={"spec": "250 g bag"}), BPS["nuts"], TODAY, BPS)
    assert c.savings == ()
    assert c.problems == ("no endorsement for club", "no saving: not below the brand price per unit")


def test_savings_take_the_least_favourable_stated_contents_and_need_them_for_goods_sold_by_weight():
    cream = models.brand_product({"id": "cream", "brand": "lulu", "category": "skincare", "price": 600,
                                  "currency": "CNY", "titles": {"en": "Cream 60 ml"}})
    bps = {**BPS, "cream": cream}
    x = listing(category="skincare", dupe_of=("cream",), price=60, attributes={"volume": "60 ml"},
                title="face cream, 30 ml")
    assert decide(x, cream, TODAY, bps).savings[0].ratio == 0.2          # per ml of the 30 ml it says too
    nuts = listing(category="food", dupe_of=("nuts",), endorsements=(), price=20, title="mixed nuts")
    c = decide(nuts, BPS["nuts"], TODAY, BPS)
    assert c.savings == () and c.problems[-1] == "no saving: the listing does not say how much it holds"


def test_a_listing_is_compared_only_with_what_it_declares_or_its_kind():
    quencher = models.brand_product({"id": "quencher", "brand": "lulu", "category": "leggings", "price": 300,
                                     "currency": "CNY", "titles": {"en": "Quencher"}})
    bps = {**BPS, "quencher": quencher}
    sibling = listing(dupe_of=("quencher",))          # declares another product of the brand
    assert decide(sibling, BPS["align"], TODAY, bps).problems == ("declared a dupe of another product: quencher",)
    assert decide(sibling, quencher, TODAY, bps).comparable
    kinds = {"align": frozenset({"yoga", "瑜伽"})}
    plain = models.listing({**_raw(), "titles": {"en": "running shorts"}, "dupe_of": []},
                           words=["running", "shorts"])
    assert decide(plain, BPS["align"], TODAY, bps, kinds=kinds).problems == ("another kind of product than align",)
    yoga = models.listing({**_raw(), "titles": {"en": "yoga leggings"}, "dupe_of": []}, words=["yoga", "leggings"])
    assert decide(yoga, BPS["align"], TODAY, bps, kinds=kinds).label.type == "same_foundry"
    # without kind words (or words of the listing) the category decides
    assert decide(plain, BPS["align"], TODAY, bps).comparable


def _raw() -> dict:
    return {"id": "p", "category": "leggings", "price_tiers": [{"min_qty": 1, "price": 85}], "currency": "CNY",
            "moq": 1, "factory": {"id": "f", "names": {"en": "f"}, "endorsements": [GOOD]}}


def test_expired_label_is_similar_with_the_reason():
    c = decide(listing(endorsements=({**GOOD, "expires_at": "2026-11-21"},)), BPS["align"], TODAY, BPS)
    assert c.label.type == "similar" and c.comparable and "expired on 2026-11-21" in c.problems[0]


def test_reference_is_the_target_else_the_declared_product():
    x = listing(dupe_of=("airlift", "align"))
    assert reference(x, BPS["align"], BPS).id == "align"
    assert reference(x, None, BPS).id == "airlift"
    assert reference(x, None, BPS, "lulu").id == "align"
    assert reference(listing(dupe_of=()), None, BPS, "lulu") is None


@pytest.mark.parametrize("text, amount, dim", [
    ("750 g (30 packs)", 750, "mass"), ("1.13 kg jar", 1130, "mass"), ("40oz 1.18L", 40, "oz"),
    ("24 packs", 24, "count"), ("230ml", 230, "volume"), ("10枚装", 10, "count"), ("1,600 g", 1600, "mass"),
    ("1,5 kg", 1500, "mass"), ("2.0 L", 2000, "volume"),
])
def test_net_contents_are_read_from_text(text, amount, dim):
    assert parse(text) == Quantity(amount, dim)


@pytest.mark.parametrize("text", ["lululemon Align 25\"", "22 × 23 cm", "WF-1000XM5", "48,000 strokes", "1.2.3 g", ""])
def test_text_without_net_contents(text):
    assert parse(text) is None


def test_contents_come_from_pack_attributes_not_the_products_own_weight():
    assert of_listing({"weight": "380 g", "pack": "24"}, ["down jacket"]) == (Quantity(24, "count"),)
    assert of_listing({"weight": "380 g"}, ["down jacket"]) == ()
    # attribute and title disagree: both are kept (the saving takes the least favourable)
    assert of_listing({"volume": "60 ml"}, ["face cream, 30 ml"]) == (Quantity(60, "volume"), Quantity(30, "volume"))
    assert comparable(Quantity(40, "oz"), Quantity(887, "volume")) == pytest.approx((40 * 29.57, 887))
    assert comparable(Quantity(30, "volume"), Quantity(10, "count")) is None
