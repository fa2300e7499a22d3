"""Catalog texts in two languages, region and category names, and facets (pure: no index)."""
from __future__ import annotations

import pytest

from indexer.catalog.parse import InvalidRecord, parse_endorsement, parse_factory
from search import categories, facets, regions
from search.labels import endorsement_problem
from search.records import Factory, PriceTier, Product
from search.models import Listing
from search.texts import canonical, present, show

import datetime as dt


# ----------------------------------------------------------------------------- texts


def test_a_text_in_the_language_asked_else_marked_as_fallback():
    both = {"zh": "7天无理由退货", "en": "7-day no-reason returns"}
    assert show(both, "zh").text == "7天无理由退货" and not show(both, "zh").fallback
    assert show(both, "en").text == "7-day no-reason returns" and not show(both, "en").fallback
    only_en = {"en": "Defects replaced"}
    assert show(only_en, "zh").text == "Defects replaced" and show(only_en, "zh").fallback
    # a plain string is in the language its characters are in
    assert show("送检报告", "zh").fallback is False
    assert show("Lab report", "zh").fallback is True
    assert show("Lab report", "en").fallback is False
    assert show(None, "zh") is None and show("", "en") is None


def test_canonical_and_present():
    assert canonical({"zh": "浙江义乌", "en": "Zhejiang Yiwu"}) == "Zhejiang Yiwu"
    assert canonical({"zh": "浙江义乌"}) == "浙江义乌"
    assert canonical("Zhejiang") == "Zhejiang" and canonical(None) is None
    assert not present("  ") and not present({"zh": " "}) and present({"en": "x"})


def test_catalog_accepts_texts_per_language_and_names_a_bad_one():
    f = parse_factory({"id": "f-1", "names": {"en": "F"}, "region": {"zh": "浙江义乌", "en": "Zhejiang Yiwu"},
                       "returns": {"zh": "7天退货", "en": "7-day returns"}, "certifications": ["BSCI", {"zh": "3C认证", "en": "CCC"}]})
    assert f.region == {"zh": "浙江义乌", "en": "Zhejiang Yiwu"}
    assert f.certifications == ("BSCI", {"zh": "3C认证", "en": "CCC"})
    with pytest.raises(InvalidRecord, match="returns"):
        parse_factory({"id": "f-1", "names": {"en": "F"}, "returns": 7})
    with pytest.raises(InvalidRecord, match="invalid language code"):
        parse_factory({"id": "f-1", "names": {"en": "F"}, "region": {"chinese": "浙江"}})
    e = parse_endorsement({"type": "same_foundry", "brand": "b", "evidence": {"zh": "采购合同", "en": "PO audit"},
                           "verified_by": {"zh": "采购团队", "en": "Sourcing team"}, "verified_at": "2026-01-01"})
    assert endorsement_problem(e, dt.date(2026, 6, 1)) is None
    blank = parse_endorsement({"type": "same_foundry", "brand": "b", "evidence": {"zh": " "},
                               "verified_by": "x", "verified_at": "2026-01-01"})
    assert endorsement_problem(blank, dt.date(2026, 6, 1)) == "no evidence"


# ----------------------------------------------------------------------------- regions


KNOWN = ["Zhejiang Yiwu", "Zhejiang Ningbo Cixi", "Zhejiang Ningbo Yinzhou", "Guangdong Shenzhen Bao'an",
         "Guangdong Dongguan Chang'an", "Shanghai Fengxian"]


@pytest.mark.parametrize("typed,expected", [
    ("Zhejiang", ["Zhejiang"]),
    ("zhejiang", ["Zhejiang"]),
    ("浙江", ["Zhejiang"]),
    ("浙江省", ["Zhejiang"]),
    ("义乌", ["Zhejiang Yiwu"]),
    ("义乌市", ["Zhejiang Yiwu"]),
    ("Yiwu", ["Zhejiang Yiwu"]),
    ("浙江义乌", ["Zhejiang Yiwu"]),
    ("Zhejiang Yiwu", ["Zhejiang Yiwu"]),
    ("Ningbo", ["Zhejiang Ningbo"]),
    ("宁波慈溪", ["Zhejiang Ningbo Cixi"]),
    ("baoan", ["Guangdong Shenzhen Bao'an"]),
    ("深圳宝安区", ["Guangdong Shenzhen Bao'an"]),
    ("上海", ["Shanghai"]),
    ("Jiangsu", []),
    ("火星", []),
    ("Yi", []),
])
def test_a_region_as_users_type_it(typed, expected):
    assert regions.resolve(typed, KNOWN) == expected


def test_prefixes_and_names():
    assert regions.prefixes("Guangdong Shenzhen Bao'an") == ["Guangdong", "Guangdong Shenzhen",
                                                              "Guangdong Shenzhen Bao'an"]
    assert regions.prefixes(None) == []
    assert regions.zh_name("Guangdong Shenzhen Bao'an") == ("广东深圳宝安", True)
    assert regions.zh_name("Guangdong Nowhere") == ("广东Nowhere", False)
    shown = regions.show_region("Zhejiang Yiwu", "zh")
    assert shown.text == "浙江义乌" and not shown.fallback
    assert regions.show_region("Zhejiang Yiwu", "en").text == "Zhejiang Yiwu"
    assert regions.show_region({"zh": "浙江省义乌市", "en": "Zhejiang Yiwu"}, "zh").text == "浙江省义乌市"
    assert regions.show_region("Guangdong Nowhere", "zh").fallback


# ----------------------------------------------------------------------------- categories


def test_a_category_by_id_or_name_in_either_language():
    present_ = ["leggings", "earbuds", "headphones", "hair-dryer", "widgets"]
    assert categories.resolve("瑜伽裤", present_) == "leggings"
    assert categories.resolve("Leggings", present_) == "leggings"
    assert categories.resolve("yoga pants", present_) == "leggings"
    assert categories.resolve("hair dryer", present_) == "hair-dryer"
    assert categories.resolve("Hair dryers", present_) == "hair-dryer"
    # an id wins over another category's other name ("headphones" is also an earbuds word)
    assert categories.resolve("headphones", present_) == "headphones"
    assert categories.resolve("耳机", present_) == "earbuds"
    assert categories.resolve("widgets", present_) == "widgets"
    assert categories.resolve("冲牙器", present_) is None        # not in this catalog
    name = categories.name_of("widgets")
    assert (name.zh, name.en, name.translated) == ("Widgets", "Widgets", False)
    assert categories.name_of("leggings").name("zh") == "瑜伽裤"


# ----------------------------------------------------------------------------- facets


def _listing(pid: str, cat: str, region: str | None, certs=(), ship: int | None = None) -> Listing:
    f = Factory(id=f"f-{pid}", names={"en": "F"}, region=region, certifications=tuple(certs), ship_within_hours=ship)
    p = Product(id=pid, factory=f.id, titles={"en": pid}, category=cat, price_tiers=(PriceTier(1, 1.0),),
                currency="CNY", moq=1)
    return Listing(p, f)


def test_facets_count_values_regions_under_every_prefix_and_ship_within_cumulatively():
    rows = [facets.row(_listing("a", "leggings", "Zhejiang Yiwu", ["BSCI"], 24), "same_foundry"),
            facets.row(_listing("b", "leggings", "Zhejiang Ningbo Cixi", [{"zh": "3C认证", "en": "CCC"}], 48), "similar"),
            facets.row(_listing("c", "jacket", {"zh": "福建晋江", "en": "Fujian Quanzhou Jinjiang"}, ["BSCI"], None))]
    f = facets.count(rows)
    assert f.total == 3
    assert f.categories == {"leggings": 2, "jacket": 1}
    assert f.regions["Zhejiang"] == 2 and f.regions["Zhejiang Yiwu"] == 1 and f.regions["Fujian Quanzhou"] == 1
    assert f.certifications == {"BSCI": 2, "CCC": 1}
    assert f.labels == {"same_foundry": 1, "similar": 1}
    assert f.ship_within == {24: 1, 48: 2, 72: 2}
    out = facets.to_json(f, "zh")
    assert out["category"][0] == {"value": "leggings", "name": "瑜伽裤", "count": 2}
    zhejiang = next(r for r in out["region"] if r["value"] == "Zhejiang")
    assert zhejiang["name"] == "浙江" and zhejiang["count"] == 2
    assert {c["name"] for c in zhejiang["cities"]} == {"义乌", "宁波"}


def test_filter_values_resolved_or_refused_with_the_valid_ones():
    f = facets.count([facets.row(_listing("a", "leggings", "Zhejiang Yiwu", ["BSCI", "OEKO-TEX Standard 100"])),
                      facets.row(_listing("b", "jacket", "Guangdong Shenzhen Bao'an"))])
    assert facets.resolve_category("瑜伽裤", f) == "leggings"
    assert facets.resolve_region("义乌", f) == ("Zhejiang Yiwu",)
    assert facets.resolve_region("广东", f) == ("Guangdong",)
    assert facets.resolve_certifications(["bsci", "oeko-tex  standard 100"], f) == ("BSCI", "OEKO-TEX Standard 100")
    with pytest.raises(facets.UnknownValue) as e:
        facets.resolve_category("冲牙器", f)
    assert e.value.valid == ["jacket", "leggings"]
    with pytest.raises(facets.UnknownValue) as e:
        facets.resolve_region("Jiangsu", f)
    assert "Zhejiang" in e.value.valid and "Guangdong Shenzhen" in e.value.valid
    with pytest.raises(facets.UnknownValue):
        facets.resolve_certifications(["ISO 9001"], f)


def test_a_region_given_only_in_chinese_is_indexed_as_its_pinyin_path():
    assert regions.path("浙江省义乌市") == "Zhejiang Yiwu"
    assert regions.path({"zh": "广东深圳宝安"}) == "Guangdong Shenzhen Baoan"
    assert regions.path({"zh": "浙江义乌", "en": "Zhejiang Yiwu"}) == "Zhejiang Yiwu"
    assert regions.path("Zhejiang Yiwu") == "Zhejiang Yiwu" and regions.path(None) is None
    assert regions.path("火星基地") == "火星基地"           # a part the table lacks: as written
