"""The catalog's optional contact fields: a product's ``url`` (its listing), a factory's
``url`` (its shop) and ``email``. Checked at the edge: a bad one is left out with a warning
naming the field, its file and line, and the record (and the rest of the catalog) is indexed."""
from __future__ import annotations

import json

import pytest

from indexer.catalog.parse import email_problem, link_problem, parse_factory, parse_product
from indexer.catalog.reader import load_catalog
from tests.fakes import tiny_catalog


@pytest.mark.parametrize("url", ["https://hengsheng.example/", "http://shop.example:8080/p?id=1&x=2#top",
                                 "https://店铺.example/商品/1"])
def test_good_links(url):
    assert link_problem(url) is None


@pytest.mark.parametrize("url, why", [
    ("javascript:alert(1)", "not an http(s) URL"),
    ("ftp://files.example/a", "not an http(s) URL"),
    ("www.shop.example/p/1", "not an http(s) URL"),      # no scheme: a browser would read it as a path
    ("https://", "not an http(s) URL"),
    ("https://shop.example/a b", "no spaces"),
    ("https://[::1", "not a URL"),
    ("https://shop.example/" + "x" * 2100, "longer than 2048"),
])
def test_bad_links(url, why):
    assert why in link_problem(url)


@pytest.mark.parametrize("email, ok", [
    ("sales@hengsheng.example", True), ("a.b+quote@mail.shop.example", True),
    ("sales@", False), ("sales@shop", False), ("two words@shop.example", False), ("<sales@shop.example>", False),
    ("sales@-shop.example", False), ("sales@shop.example?subject=x", False),
])
def test_email_shape(email, ok):
    assert (email_problem(email) is None) == ok


def test_parsed_into_the_records():
    warned: list[str] = []
    f = parse_factory({"id": "f", "names": {"en": "F"}, "url": " https://f.example/ ", "email": "sales@f.example"},
                      warned.append)
    p = parse_product({"id": "p", "factory": "f", "titles": {"en": "P"}, "category": "c", "currency": "CNY", "moq": 1,
                       "price_tiers": [{"min_qty": 1, "price": 2}], "url": "https://f.example/p"}, warned.append)
    assert (f.url, f.email, p.url, warned) == ("https://f.example/", "sales@f.example", "https://f.example/p", [])


def test_a_bad_contact_is_left_out_with_its_line_and_the_record_kept(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    factories = (folder / "factories.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(factories[0])
    first.update(url="javascript:alert(1)", email="sales at oem")
    second = json.loads(factories[1])
    second.update(url="https://jinjiang.example/", email="sales@jinjiang.example")
    factories[:2] = [json.dumps(first, ensure_ascii=False), json.dumps(second, ensure_ascii=False)]
    (folder / "factories.jsonl").write_text("\n".join(factories) + "\n", encoding="utf-8")
    products = (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()
    p2 = json.loads(products[1])
    p2["url"] = 42
    products[1] = json.dumps(p2, ensure_ascii=False)
    (folder / "products.jsonl").write_text("\n".join(products) + "\n", encoding="utf-8")

    cat = load_catalog(folder)
    assert not cat.rejects
    assert cat.factories["f-oem"].url is None and cat.factories["f-oem"].email is None
    assert cat.factories["f-eq"].url == "https://jinjiang.example/"
    assert cat.factories["f-eq"].email == "sales@jinjiang.example"
    assert "p2" in cat.products and cat.products["p2"].url is None
    said = [(w.file, w.line, w.record_id, w.reason) for w in cat.warnings]
    assert said == [
        ("factories.jsonl", 1, "f-oem", "field 'url' left out: not an http(s) URL: 'javascript:alert(1)'"),
        ("factories.jsonl", 1, "f-oem", "field 'email' left out: not an email address: 'sales at oem'"),
        ("products.jsonl", 2, "p2", "field 'url' left out: must be a string, got int"),
    ]
