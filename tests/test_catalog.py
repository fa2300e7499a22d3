"""Catalog validation: every bad record is reported with file, line and reason; the rest kept."""
from __future__ import annotations

import datetime as dt

import pytest

from indexer.catalog.parse import InvalidRecord, image_ref, parse_brand_product, parse_factory, parse_product
from indexer.catalog.reader import CatalogError, load_catalog
from tests.fakes import tiny_catalog, write_jsonl

GOOD_PRODUCT = {"id": "p9", "factory": "f-plain", "titles": {"en": "Thing"}, "category": "x",
                "price_tiers": [{"min_qty": 1, "price": 10}], "currency": "CNY", "moq": 1}


def product(**changes):
    p = dict(GOOD_PRODUCT)
    p.update(changes)
    return {k: v for k, v in p.items() if v is not ...}


@pytest.mark.parametrize("changes, reason", [
    ({"price_tiers": [{"min_qty": 1, "price": -3}]}, "greater than 0"),
    ({"price_tiers": [{"min_qty": 1, "price": 0}]}, "greater than 0"),
    ({"price_tiers": []}, "non-empty list"),
    ({"price_tiers": [{"min_qty": 1, "price": "ten"}]}, "must be a number"),
    ({"price_tiers": [{"min_qty": 1, "price": float("nan")}]}, "not a sensible number"),
    ({"moq": 0}, "between 1"),
    ({"moq": 2.5}, "whole number"),
    ({"moq": True}, "whole number"),
    ({"titles": {"en": "   "}}, "no non-empty text"),
    ({"titles": "just a string"}, "object of language"),
    ({"id": ...}, "missing or empty field 'id'"),
    ({"id": "has space"}, "not a valid id"),
    ({"currency": "yuan"}, "ISO 4217"),
    ({"images": ["../../etc/passwd"]}, "escapes the catalog folder"),
    ({"images": ["/abs/x.jpg"]}, "absolute"),
    ({"images": ["file:///etc/x.jpg"]}, "only http"),
    ({"colour": "red"}, "unknown field"),
    ({"attributes": {"size": ["S", "M"]}}, "string or number"),
])
def test_bad_products_are_refused_with_a_reason(changes, reason):
    with pytest.raises(InvalidRecord, match=reason):
        parse_product(product(**changes))


def test_good_product_is_typed_and_tiers_sorted():
    p = parse_product(product(price_tiers=[{"min_qty": 100, "price": 8}, {"min_qty": 1, "price": 10}],
                              attributes={"weight": 220}, currency="cny"))
    assert [t.min_qty for t in p.price_tiers] == [1, 100]
    assert p.min_price == 8 and p.currency == "CNY" and p.attributes == {"weight": "220"}


GOOD_BP = {"id": "bp", "brand": "b", "titles": {"en": "Quencher"}, "category": "tumbler", "price": 45,
           "currency": "USD"}


def test_brand_product_nicknames_are_kept_distinct_and_checked():
    bp = parse_brand_product({**GOOD_BP, "aliases": ["stanley cup", " 冰霸杯 ", "Stanley  Cup", "", "스탠리 텀블러"]})
    assert bp.aliases == ("stanley cup", "冰霸杯", "스탠리 텀블러")
    assert parse_brand_product(GOOD_BP).aliases == ()


@pytest.mark.parametrize("aliases, reason", [
    ("stanley cup", "must be a list of strings"),
    (["ok", 3], "must be a list of strings"),
    (["x" * 101], "longer than 100 characters"),
    ([f"name {i}" for i in range(65)], "65 aliases, at most 64"),
])
def test_bad_brand_product_nicknames_are_refused(aliases, reason):
    with pytest.raises(InvalidRecord, match=reason):
        parse_brand_product({**GOOD_BP, "aliases": aliases})


def test_endorsement_expiring_before_verification_is_refused():
    with pytest.raises(InvalidRecord, match="before it was verified"):
        parse_factory({"id": "f", "names": {"zh": "厂"}, "endorsements": [
            {"type": "same_foundry", "brand": "b", "evidence": "x", "verified_at": "2026-05-01", "expires_at": "2026-01-01"}]})


def test_endorsement_type_is_checked_and_dates_parsed():
    with pytest.raises(InvalidRecord, match="endorsements\\[0\\]: endorsement type"):
        parse_factory({"id": "f", "names": {"zh": "厂"}, "endorsements": [{"type": "best", "brand": "b"}]})
    f = parse_factory({"id": "f", "names": {"zh": "厂"}, "endorsements": [
        {"type": "equal_quality", "brand": "b", "evidence": "", "verified_at": "2026-01-01"}]})
    e = f.endorsements[0]
    assert e.evidence is None and e.verified_at == dt.date(2026, 1, 1) and e.expires_at is None


def test_image_refs_are_normalised_and_urls_kept():
    assert image_ref("img/./a.jpg") == "img/a.jpg"
    assert image_ref("img/../b.jpg") == "b.jpg"
    assert image_ref("https://example.com/a.jpg") == "https://example.com/a.jpg"


def test_reader_reports_each_bad_line_and_keeps_the_rest(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    lines = (folder / "products.jsonl").read_bytes().splitlines()
    bad = [
        b'{"id": "broken", ',                                                     # line 6: broken JSON
        b'{"id": "p-bad-utf8", "titles": {"en": "caf\xe9"}}',                    # line 7: invalid UTF-8
        b'{"id": "p1", "factory": "f-oem", "titles": {"en": "dup"}, "category": "x", "price_tiers": [{"min_qty": 1, "price": 1}], "currency": "CNY", "moq": 1}',
        b'{"id": "p-orphan", "factory": "f-nowhere", "titles": {"en": "x"}, "category": "x", "price_tiers": [{"min_qty": 1, "price": 1}], "currency": "CNY", "moq": 1}',
        b'[1, 2, 3]',
        b'',
        b'{"id": "p-neg", "factory": "f-oem", "titles": {"en": "x"}, "category": "x", "price_tiers": [{"min_qty": 1, "price": -1}], "currency": "CNY", "moq": 1}',
        b'{"id": "p-dangling-dupe", "factory": "f-oem", "titles": {"en": "x"}, "category": "x", "price_tiers": [{"min_qty": 1, "price": 1}], "currency": "CNY", "moq": 1, "dupe_of": ["bp-nope"]}',
    ]
    (folder / "products.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines + bad) + b"\n")
    cat = load_catalog(folder)
    assert set(cat.products) == {"p1", "p2", "p3", "p4", "p5"}
    assert cat.products["p1"].titles["en"] == "High-rise nude-feel yoga leggings"   # first definition kept
    by_line = {r.line: r for r in cat.rejects}
    assert set(by_line) == {6, 7, 8, 9, 10, 12, 13}
    assert "invalid JSON" in by_line[6].reason
    assert "invalid UTF-8" in by_line[7].reason
    assert "duplicate id 'p1'" in by_line[8].reason
    assert "unknown factory 'f-nowhere'" in by_line[9].reason and by_line[9].record_id == "p-orphan"
    assert "JSON object" in by_line[10].reason
    assert "greater than 0" in by_line[12].reason
    assert "bp-nope" in by_line[13].reason
    assert all(r.file == "products.jsonl" for r in cat.rejects)
    assert str(by_line[9]).startswith("products.jsonl:9 [p-orphan]: ")


def test_dangling_brand_references_are_rejected(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    write_jsonl(folder / "brand_products.jsonl", [
        {"id": "bp-x", "brand": "nobrand", "titles": {"en": "x"}, "category": "x", "price": 1, "currency": "USD"}])
    with (folder / "factories.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "f-ghost", "names": {"zh": "厂"}, "endorsements": '
                '[{"type": "same_foundry", "brand": "ghost", "evidence": "e"}]}\n')
    with (folder / "products.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "p-ghost", "factory": "f-ghost", "titles": {"en": "x"}, "category": "x", '
                '"price_tiers": [{"min_qty": 1, "price": 1}], "currency": "CNY", "moq": 1}\n')
    cat = load_catalog(folder)
    reasons = {(r.file, r.line): r.reason for r in cat.rejects}
    assert reasons[("brand_products.jsonl", 1)] == "unknown brand 'nobrand'"
    assert reasons[("factories.jsonl", 4)] == "endorsement for unknown brand 'ghost'"
    # a product of the rejected factory is rejected too, with its own line
    assert reasons[("products.jsonl", 6)] == "unknown factory 'f-ghost'"
    # p1 and p2 named the brand product that vanished
    assert "bp-align" in reasons[("products.jsonl", 1)] and len(cat.products) == 3


def test_products_csv_is_read_too(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    (folder / "products.csv").write_text(
        "id,factory,title_zh,title_en,category,attributes,price_tiers,currency,moq,images,dupe_of\n"
        "c1,f-oem,速干T恤,Quick-dry tee,tshirt,material=polyester;weight=120g,2:30;100:22,CNY,2,img/p1.jpg,bp-align\n"
        "c2,f-oem,坏行,Bad row,tshirt,,2:thirty,CNY,2,,\n"
        "c3,f-oem,,,tshirt,,2:30,CNY,2,,\n", encoding="utf-8")
    cat = load_catalog(folder)
    c1 = cat.products["c1"]
    assert c1.titles == {"zh": "速干T恤", "en": "Quick-dry tee"}
    assert c1.attributes == {"material": "polyester", "weight": "120g"}
    assert [(t.min_qty, t.price) for t in c1.price_tiers] == [(2, 30.0), (100, 22.0)]
    assert c1.dupe_of == ("bp-align",)
    csv_rejects = {r.line: r.reason for r in cat.rejects if r.file == "products.csv"}
    assert set(csv_rejects) == {3, 4}
    assert "min_qty:price" in csv_rejects[3] and "titles" in csv_rejects[4]


def test_missing_or_empty_catalog_folder_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="no catalog files"):
        load_catalog(tmp_path / "empty")
