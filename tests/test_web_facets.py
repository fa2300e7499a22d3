"""Facets, filters by name in either language, the catalog's categories and regions, and
messages in the language asked for: through the API and the page, over a real small index
(fake embedders)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_web_helpers import build_engine


def _bilingual(folder: Path) -> None:
    """The web tests' catalog with factory texts per language, certifications and a region
    given in both languages."""
    path = folder / "factories.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for f in rows:
        if f["id"] == "f-oem":
            f["certifications"] = ["BSCI", {"zh": "3C认证", "en": "CCC"}]
            f["returns"] = {"zh": "7天无理由退货", "en": "7-day returns"}
            f["endorsements"][0]["evidence"] = {"zh": "审核了代工采购订单", "en": "OEM purchase orders audited"}
            f["endorsements"][0]["verified_by"] = {"zh": "质检团队", "en": "QA team"}
        if f["id"] == "f-eq":
            f["region"] = {"zh": "福建泉州晋江", "en": "Fujian Quanzhou Jinjiang"}
            f["certifications"] = ["OEKO-TEX Standard 100"]
        if f["id"] == "f-plain":
            f["region"] = "广东省深圳市"          # Chinese only: indexed as its pinyin path
    path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in rows))


def build_bilingual(root: Path):
    """``test_web_helpers.build_engine`` over the web tests' catalog with ``_bilingual``'s texts."""
    import tests.test_web_helpers as helpers
    original = helpers.catalog

    def catalog(folder: Path) -> Path:
        original(folder)
        _bilingual(folder)
        return folder
    helpers.catalog = catalog
    try:
        return build_engine(root)
    finally:
        helpers.catalog = original


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_bilingual(tmp_path_factory.mktemp("facets"))


def search(client, **args):
    resp = client.get("/api/v1/search", query_string={"q": "yoga leggings", "k": 50, **args})
    return resp.status_code, resp.get_json()


def factories_of(data) -> set[str]:
    ids = {r["factory"]["id"] for r in data["results"]}
    return ids | {r["factory"]["id"] for r in data["results"] for _ in r["more"]}


def test_facets_count_the_whole_result_list(client):
    status, data = search(client, group_by_factory="false")
    assert status == 200
    f = data["facets"]
    assert f["total"] == data["total"]
    regions = {r["value"]: r for r in f["region"]}
    # each result counts under its province, whatever page it is on
    assert sum(r["count"] for r in f["region"]) == data["total"]
    assert regions["Zhejiang"]["count"] == sum(1 for r in data["results"]
                                               if r["factory"]["region_path"].startswith("Zhejiang"))
    assert {c["value"] for c in regions["Fujian"]["cities"]} == {"Fujian Quanzhou"}
    leggings = next(c for c in f["category"] if c["value"] == "leggings")
    assert leggings["count"] == sum(1 for r in data["results"] if r["category"] == "leggings")
    assert {c["value"] for c in f["certification"]} >= {"BSCI", "CCC", "OEKO-TEX Standard 100"}
    page1 = search(client, group_by_factory="false", k=1)[1]
    assert page1["facets"] == f                           # the list's, not the page's


@pytest.mark.parametrize("region, factories", [
    ("Zhejiang", {"f-oem", "f-evil"}), ("浙江", {"f-oem", "f-evil"}), ("浙江省", {"f-oem", "f-evil"}),
    ("义乌", {"f-oem", "f-evil"}), ("yiwu", {"f-oem", "f-evil"}), ("Fujian", {"f-eq"}), ("晋江", {"f-eq"}),
    ("福建泉州", {"f-eq"}),
])
def test_region_by_province_city_or_belt_in_either_language(client, region, factories):
    status, data = search(client, region=region, group_by_factory="false", include_counterfeits="true")
    assert status == 200, data
    assert data["results"] and factories_of(data) <= factories
    assert data["query"]["region"] == region                # echoed as asked


def test_category_and_certification_by_name(client):
    for category in ("瑜伽裤", "Leggings", "leggings", "yoga pants"):
        status, data = search(client, category=category)
        assert status == 200 and data["results"], (category, data)
        assert {r["category"] for r in data["results"]} == {"leggings"}
    status, data = search(client, certification="bsci")
    assert status == 200 and factories_of(data) == {"f-oem"}
    status, data = search(client, certification=["CCC", "oeko-tex standard 100"])
    assert status == 200 and factories_of(data) == {"f-oem", "f-eq"}
    status, data = search(client, certification="3C认证")           # its Chinese name, as zh pages show it
    assert status == 200 and factories_of(data) == {"f-oem"}


@pytest.mark.parametrize("region", ["广东", "Guangdong", "深圳", "shenzhen", "广东深圳"])
def test_a_region_the_catalog_gives_only_in_chinese_is_found_by_either_name(client, region):
    resp = client.get("/api/v1/search", query_string={"q": "toothbrush", "region": region, "lang": "zh"})
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()["results"]
    assert got and {r["factory"]["id"] for r in got} == {"f-plain"}
    assert got[0]["factory"]["region_path"] == "Guangdong Shenzhen" and got[0]["factory"]["region"] == "广东省深圳市"


@pytest.mark.parametrize("args, field, some_valid", [
    ({"region": "Jiangsu"}, "region", "Zhejiang"),
    ({"region": "火星"}, "region", "Guangdong Shenzhen"),
    ({"category": "冲牙器"}, "category", "leggings"),
    ({"certification": "ISO 9001"}, "certification", "BSCI"),
])
def test_an_unknown_filter_value_lists_the_valid_ones(client, args, field, some_valid):
    status, data = search(client, **args)
    assert status == 400
    err = data["error"]
    assert err["code"] == "unknown_value" and err["field"] == field and some_valid in err["valid"]
    assert some_valid in err["message"]
    status, data = search(client, lang="zh", **args)
    assert status == 400 and "目录里没有" in data["error"]["message"]


def test_filters_narrow_a_brand_products_dupes_too(client):
    resp = client.get("/api/v1/brand-products/bp-align/dupes", query_string={"region": "福建"})
    assert resp.status_code == 200 and factories_of(resp.get_json()) == {"f-eq"}


def test_catalog_categories_and_regions(client):
    cats = client.get("/api/v1/categories?lang=zh").get_json()["categories"]
    leggings = next(c for c in cats if c["id"] == "leggings")
    assert leggings["name"] == "瑜伽裤" and leggings["names"]["en"] == "Leggings" and leggings["count"] == 4
    shirt = next(c for c in cats if c["id"] == "shirt")
    assert shirt["name"] == "衬衫"
    assert client.get("/api/v1/categories").get_json()["categories"][0]["name"] == "Leggings"
    regions = client.get("/api/v1/regions?lang=zh").get_json()["regions"]
    zhejiang = next(r for r in regions if r["value"] == "Zhejiang")
    assert zhejiang["name"] == "浙江" and zhejiang["names"] == {"zh": "浙江", "en": "Zhejiang"}
    assert [c["name"] for c in zhejiang["cities"]] == ["义乌"]
    assert client.get("/api/v1/regions?k=3").status_code == 400          # no other parameters


def test_catalog_texts_in_the_language_asked_with_fallback_marked(client):
    data = search(client, lang="zh", group_by_factory="false")[1]
    oem = next(r for r in data["results"] if r["factory"]["id"] == "f-oem")
    assert oem["factory"]["returns"] == "7天无理由退货" and oem["factory"]["region"] == "浙江义乌"
    assert oem["factory"]["fallback"] == [] and "3C认证" in oem["factory"]["certifications"]
    assert oem["label"]["evidence"] == "审核了代工采购订单" and oem["label"]["fallback"] == []
    eq = next(r for r in data["results"] if r["factory"]["id"] == "f-eq")
    assert eq["label"]["evidence"] == "Lab test of fabric" and eq["label"]["fallback"] == ["evidence", "verified_by"]
    assert eq["factory"]["region"] == "福建泉州晋江" and eq["factory"]["region_path"] == "Fujian Quanzhou Jinjiang"
    assert all("品牌价" in s["text"] for r in data["results"] for s in r["savings"])
    en = search(client, lang="en", group_by_factory="false")[1]
    oem_en = next(r for r in en["results"] if r["factory"]["id"] == "f-oem")
    assert oem_en["factory"]["returns"] == "7-day returns" and oem_en["label"]["evidence"] == "OEM purchase orders audited"
    assert all("brand price" in s["text"] for r in en["results"] for s in r["savings"])


def test_error_messages_in_the_language_asked(client):
    args = {"q": "yoga", "price_min": 5, "price_max": 1}
    en = client.get("/api/v1/search", query_string=args).get_json()["error"]
    zh = client.get("/api/v1/search", query_string={**args, "lang": "zh"}).get_json()["error"]
    assert en["message"] == "price_min: is above price_max" and zh["message"] == "最低价：高于最高价"
    assert en["code"] == zh["code"] == "invalid_parameter" and en["field"] == zh["field"] == "price_min"
    body = client.post("/api/v1/search", json={"q": "yoga", "k": 0, "lang": "zh"}).get_json()["error"]
    assert body["message"].startswith("k：") and "1 到 100" in body["message"]
    missing = client.get("/api/v1/products/nope?lang=zh").get_json()["error"]
    assert missing["message"] == "没有编号为 'nope' 的商品"
    tw = client.get("/api/v1/search", query_string={**args, "lang": "zh_TW"}).get_json()["error"]
    assert tw["message"] == "最低价：高于最高价"                 # a regional code in either spelling
    batch = client.post("/api/v1/search/batch", json={"items": [
        {"id": "a", "q": "yoga", "region": "火星", "lang": "zh"}, {"id": "b", "q": "yoga", "k": 0}]}).get_json()
    assert "目录里没有产地" in batch["items"][0]["error"]["message"]   # each item in its own language
    assert batch["items"][1]["error"]["message"].startswith("k: must be")


def test_page_offers_facets_that_narrow_and_chips_that_remove(client):
    import re
    from html import unescape
    page = client.get("/search", query_string={"q": "yoga leggings", "lang": "zh", "group_by_factory": "false"})
    html = page.get_data(as_text=True)
    assert 'id="facets"' in html and "浙江" in html
    links = [unescape(x) for x in re.findall(r'<a class="chip" href="([^"]+region=[^"]+)"', html)]
    fujian = next(x for x in links if "region=Fujian" in x)
    narrowed = client.get(fujian).get_data(as_text=True)
    assert 'id="active-filters"' in narrowed and "福建" in narrowed
    assert "晋江面料厂" in narrowed and "义乌针织厂" not in narrowed
    remove = unescape(re.search(r'<p class="active-filters" id="active-filters">\s*<a class="chip on" href="([^"]+)"',
                                narrowed).group(1))
    assert "region=" not in remove
    # the filter panel lists the catalog's categories by name, and a bad value is told in Chinese
    assert '<option value="leggings"' in html and "瑜伽裤 (4)" in html
    bad = client.get("/search", query_string={"q": "yoga", "region": "火星", "lang": "zh"}).get_data(as_text=True)
    assert "目录里没有产地" in bad and "no region" not in bad


def test_a_category_a_reindex_just_added_is_found_at_once(tmp_path, monkeypatch):
    """The catalog's counts are kept across a reindex's generations for a minute (counting
    reads every product), but a filter value they lack is looked up again before it is
    refused."""
    from indexer.pipeline import Indexer
    from tests.fakes import write_jsonl
    from tests.test_web_helpers import make_app
    from search import engine as engine_module
    monkeypatch.setattr(engine_module, "RECOUNT_MIN_S", 0.0)
    engine, cat, index = build_bilingual(tmp_path / "b")
    client = make_app(tmp_path, (engine, cat, index)).test_client()
    before = engine.catalog_facets()
    assert "widgets" not in before.categories
    rows = [json.loads(line) for line in (cat / "products.jsonl").read_text().splitlines()]
    rows.append({"id": "p9", "factory": "f-oem", "titles": {"en": "Yoga widget"}, "category": "widgets",
                 "price_tiers": [{"min_qty": 1, "price": 9}], "currency": "CNY", "moq": 1})
    write_jsonl(cat / "products.jsonl", rows)
    Indexer(engine.store, engine.text, engine.image).run(cat)
    assert engine.catalog_facets() is before                   # kept: a minute-old count
    status, data = search(client, q="yoga widget", category="widgets")
    assert status == 200 and [r["id"] for r in data["results"]] == ["p9"], data
    assert engine.catalog_facets().categories["widgets"] == 1  # counted again for that filter


def test_neither_searches_nor_unknown_values_make_every_search_count_the_catalog(tmp_path, monkeypatch):
    """Counting reads every product: a search without a catalog filter never counts, and
    unknown values sent during a reindex count at most once per ``RECOUNT_MIN_S``."""
    from search import engine as engine_module
    from tests.test_web_helpers import make_app
    engine, cat, index = build_bilingual(tmp_path / "b")
    client = make_app(tmp_path, (engine, cat, index)).test_client()
    engine.catalog_facets()
    scans = []
    real_scan = engine.store.scan
    monkeypatch.setattr(engine.store, "scan", lambda kind: (kind == "product" and scans.append(kind)) or real_scan(kind))
    monkeypatch.setattr(engine_module, "CATALOG_FACETS_KEPT_S", 0.0)     # kept counts always stale
    engine.store.upsert(engine.store.get(["product:p1"]))        # a new generation, as a reindex batch makes
    monkeypatch.setattr(engine_module, "RECOUNT_MIN_S", 0.0)
    assert search(client)[0] == 200 and scans == []             # no catalog filter: no count
    assert search(client, category="瑜伽裤")[0] == 200 and scans == ["product"]
    engine.store.upsert(engine.store.get(["product:p1"]))
    monkeypatch.setattr(engine_module, "RECOUNT_MIN_S", 60.0)
    for _ in range(5):
        assert search(client, category="no-such-thing")[0] == 400
    assert scans == ["product"]                                 # counted less than RECOUNT_MIN_S ago
