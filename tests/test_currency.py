"""Currencies: the exchange table (``DUPE_FX``), ``currency=`` on every route that shows
money, and the one conversion rule (``search.serialize.in_currency``)."""
from __future__ import annotations

import json

import pytest

from search.engine import SearchEngine
from search.prices import FxError, FxTable, load_fx
from search.serialize import in_currency
from search.settings import Settings
from tests.test_web_helpers import build_engine, make_app

TABLE = FxTable({"CNY": 1.0, "USD": 7.0, "VND": 0.0003, "EUR": 8.0}, "CNY", "2026-11-30", "test rates")


# -- the table ---------------------------------------------------------------------------


def test_the_default_table_states_its_date_and_that_it_is_a_reference(monkeypatch):
    monkeypatch.delenv("DUPE_FX", raising=False)
    t = load_fx(Settings.from_env().fx)
    assert t.rates["CNY"] == 1.0 and t.rates["USD"] > 1 and t.date and "DUPE_FX" in t.source


def test_a_table_from_a_file_or_inline_json(tmp_path):
    f = tmp_path / "fx.json"
    f.write_text(json.dumps({"base": "usd", "date": "2026-11-30", "source": "ECB", "rates": {"cny": 0.14, "EUR": 1.08}}))
    t = load_fx(str(f))
    assert t == FxTable({"CNY": 0.14, "EUR": 1.08, "USD": 1.0}, "USD", "2026-11-30", "ECB")
    inline = load_fx('{"rates": {"USD": 7.2}}')
    assert inline.base == "CNY" and inline.rates == {"USD": 7.2, "CNY": 1.0} and inline.date is None


@pytest.mark.parametrize("spec, fragment", [
    ("/nowhere/fx.json", "cannot read"),
    ("{not json", "not JSON"),
    ('{"rates": [1, 2]}', "expected"),
    ('{"rates": {"RMB1": 1}}', "not a currency code"),
    ('{"rates": {"USD": -7}}', "positive number"),
    ('{"rates": {"USD": true}}', "positive number"),
    ('{"base": "CNY", "rates": {"CNY": 2}}', "must have the rate 1"),
    ('{"date": "30/11/2026", "rates": {"USD": 7}}', "YYYY-MM-DD"),
])
def test_a_bad_table_is_refused_naming_the_problem(spec, fragment):
    with pytest.raises(FxError, match=fragment):
        load_fx(spec)


def test_the_service_refuses_a_bad_table_before_starting(tmp_path, monkeypatch):
    from indexer.cli import DOMAIN_ERRORS
    from web import create_app
    monkeypatch.setenv("DUPE_FX", '{"rates": {"USD": 0}}')
    with pytest.raises(FxError, match="rate of USD must be a positive number") as e:
        create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index"), "UPLOAD_DIR": str(tmp_path / "up")})
    assert isinstance(e.value, DOMAIN_ERRORS)          # ``dupe serve`` says it and exits


# -- the conversion rule -----------------------------------------------------------------


def test_every_object_stating_a_currency_is_converted_and_keeps_its_original():
    data = {"results": [{"id": "p1", "currency": "CNY", "min_price": 70.0,
                         "price_tiers": [{"min_qty": 2, "price": 70.0}, {"min_qty": 100, "price": 35.0}],
                         "replaces": {"id": "bp", "price": 98.0, "currency": "USD"},
                         "savings": [{"min_qty": 2, "price": 70.0, "currency": "CNY", "ratio": 0.102}],
                         "more": [{"id": "p2", "min_price": 14.0, "currency": "CNY"}]}],
            "fx": {"base": "CNY", "rates": {"USD": 7.0}}, "query": {"currency": "USD", "price_min": 10}}
    out = in_currency(data, "USD", TABLE)
    r = out["results"][0]
    assert r["currency"] == "USD" and r["min_price"] == 10.0
    assert [t["price"] for t in r["price_tiers"]] == [10.0, 5.0]
    assert r["original"] == {"currency": "CNY", "min_price": 70.0,
                             "price_tiers": [{"min_qty": 2, "price": 70.0}, {"min_qty": 100, "price": 35.0}]}
    assert r["replaces"] == {"id": "bp", "price": 98.0, "currency": "USD"}          # already in USD
    assert r["savings"][0] == {"min_qty": 2, "price": 10.0, "currency": "USD", "ratio": 0.102,
                               "original": {"currency": "CNY", "price": 70.0}}
    assert r["more"][0]["min_price"] == 2.0
    assert out["fx"] == data["fx"] and out["query"] == data["query"]               # not money
    assert data["results"][0]["currency"] == "CNY"                                 # the input is not changed


def test_a_price_of_a_few_fen_is_never_converted_to_zero():
    out = in_currency({"currency": "CNY", "min_price": 0.03, "price_tiers": [{"min_qty": 1000, "price": 0.03}]},
                      "USD", TABLE)
    assert out["min_price"] == 0.0043 and out["price_tiers"][0]["price"] == 0.0043
    assert in_currency({"currency": "CNY", "price": 0.1}, "VND", TABLE)["price"] == 333.0


def test_minor_units_and_currencies_without_a_rate():
    out = in_currency([{"currency": "CNY", "price": 79.0}, {"currency": "THB", "price": 100.0}], "VND", TABLE)
    assert out[0]["price"] == 263333.0 and out[0]["currency"] == "VND"            # no decimals in dong
    assert out[1] == {"currency": "THB", "price": 100.0}                             # no THB rate: as listed


# -- the API -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("currency")
    engine, cat, index = build_engine(root)
    fx_engine = SearchEngine(engine.store, engine.text, engine.image, None, today=engine.today, fx=TABLE)
    return make_app(root, (fx_engine, cat, index)).test_client()


def _get(client, path: str, **args) -> dict:
    resp = client.get(path, query_string=args)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_search_in_usd_converts_tiers_prices_and_savings_and_states_the_table(client):
    plain = _get(client, "/api/v1/search", q="lululemon yoga leggings", k=5)
    usd = _get(client, "/api/v1/search", q="lululemon yoga leggings", k=5, currency="usd")
    assert usd["fx"] == {"base": "CNY", "rates": dict(TABLE.rates), "date": "2026-11-30", "source": "test rates"}
    assert usd["query"]["currency"] == "USD"
    assert [r["id"] for r in usd["results"]] == [r["id"] for r in plain["results"]]
    saw_saving = False
    for a, b in zip(plain["results"], usd["results"]):
        assert b["currency"] == "USD" and b["original"]["currency"] == a["currency"] == "CNY"
        assert [t["price"] for t in b["price_tiers"]] == [round(t["price"] / 7.0, 2) for t in a["price_tiers"]]
        assert b["min_price"] == round(a["min_price"] / 7.0, 2)
        if a["replaces"]:
            assert b["replaces"]["currency"] == "USD"
            assert b["replaces"]["price"] == round(a["replaces"]["price"] / 7.0, 2)
        for sa, sb in zip(a["savings"], b["savings"]):
            saw_saving = True
            assert sb["currency"] == "USD" and sb["price"] == round(sa["price"] / 7.0, 2)
            assert sb["ratio"] == sa["ratio"] and sb["text"] == sa["text"]     # like with like
    assert saw_saving


def test_product_dupes_and_brands_take_a_currency_too(client):
    p = _get(client, "/api/v1/products/p1", currency="EUR")
    assert p["currency"] == "EUR" and p["price_tiers"][0]["price"] == round(79 / 8.0, 2)
    assert all(d["currency"] == "EUR" for d in p["dupe_of"])
    dupes = _get(client, "/api/v1/brand-products/bp-align/dupes", currency="VND")
    assert dupes["brand_product"]["currency"] == "VND" and dupes["brand_product"]["price"] == round(850 / 0.0003)
    assert dupes["results"] and all(r["currency"] == "VND" for r in dupes["results"])
    brands = _get(client, "/api/v1/brands", currency="USD")
    assert {bp["currency"] for b in brands["brands"] for bp in b["brand_products"]} == {"USD"}


def test_the_table_is_served(client):
    assert _get(client, "/api/v1/currencies")["fx"]["rates"] == dict(TABLE.rates)


@pytest.mark.parametrize("path", ["/api/v1/search?q=yoga", "/api/v1/products/p1", "/api/v1/brands",
                                  "/api/v1/brand-products/bp-align/dupes"])
def test_an_unknown_or_malformed_currency_is_a_400_listing_the_table(client, path):
    sep = "&" if "?" in path else "?"
    body = client.get(f"{path}{sep}currency=KRW").get_json()
    assert body["error"]["code"] == "unknown_currency" and body["error"]["field"] == "currency"
    assert "CNY, EUR, USD, VND" in body["error"]["message"]
    bad = client.get(f"{path}{sep}currency=dollars")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "currency"


def test_batch_items_each_have_their_currency(client):
    resp = client.post("/api/v1/search/batch", json={"items": [
        {"q": "yoga leggings", "currency": "USD"}, {"q": "yoga leggings"}, {"q": "yoga", "currency": "XXX"}]})
    items = resp.get_json()["items"]
    assert items[0]["result"]["results"][0]["currency"] == "USD"
    assert items[1]["result"]["results"][0]["currency"] == "CNY"
    assert items[2]["error"]["code"] == "unknown_currency"


# -- the CLI -------------------------------------------------------------------------------


def test_dupe_search_prints_prices_in_the_currency_asked(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from indexer.cli import main as dupe
    from indexer.embed import registry
    from tests.fakes import IMAGE_SPEC, TEXT_SPEC, FakeImageEmbedder, FakeTextEmbedder
    _, _, index = build_engine(tmp_path)
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), FakeTextEmbedder())
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), FakeImageEmbedder())
    monkeypatch.setenv("DUPE_TEXT_MODEL", TEXT_SPEC)
    monkeypatch.setenv("DUPE_IMAGE_MODEL", IMAGE_SPEC)
    monkeypatch.setenv("DUPE_FX", json.dumps({"date": "2026-11-30", "rates": {"USD": 7.0}}))
    args = ["search", "lululemon yoga leggings", "--index-dir", str(index), "--no-ocr", "-k", "3"]
    res = CliRunner().invoke(dupe, [*args, "--currency", "usd", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["fx"]["date"] == "2026-11-30" and data["results"]
    for r in data["results"]:
        assert r["currency"] == "USD" and r["min_price"] == round(r["original"]["min_price"] / 7.0, 2)
    text = CliRunner().invoke(dupe, [*args, "--currency", "USD"])
    assert text.exit_code == 0 and " USD MOQ " in text.output and " CNY MOQ " not in text.output
    bad = CliRunner().invoke(dupe, [*args, "--currency", "EUR"])
    assert bad.exit_code == 2 and "no exchange rate for 'EUR'; the table has CNY, USD" in bad.output


def test_the_table_is_served_before_the_index_can_be_searched(tmp_path, monkeypatch):
    from web import create_app
    monkeypatch.setenv("DUPE_FX", json.dumps({"date": "2026-11-30", "rates": {"USD": 7.0}}))
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "no-index"), "UPLOAD_DIR": str(tmp_path / "up")})
    c = app.test_client()
    assert c.get("/api/v1/search?q=yoga").status_code == 503                # no index to search
    resp = c.get("/api/v1/currencies")
    assert resp.status_code == 200 and resp.get_json()["fx"]["rates"] == {"USD": 7.0, "CNY": 1.0}


# -- how a saving is said, and a brand price shown in the listing's currency ---------------


@pytest.mark.parametrize("ratio, lang, basis, said", [
    (0.16, "en", "item", "about 1/6 of the brand price"),          # never "16%": that reads like a discount
    (0.125, "zh", "item", "约为品牌价的 1/8"),
    (0.5, "en", "item", "about 1/2 of the brand price"),
    (0.62, "en", "item", "62% of the brand price"),
    (0.62, "zh", "item", "品牌价的 62%"),
    (1.25, "en", "item", "1.2x the brand price"),
    (0.1, "en", "unit", "about 1/10 of the brand price (per unit of content)"),
    (0.1, "zh", "unit", "约为品牌价的 1/10（按单位含量）"),
    (0.1, "vi", "item", "about 1/10 of the brand price"),          # no words of its own: English
    (0.125, "zh-TW", "item", "约为品牌价的 1/8"),                      # a regional code: its language's words
    (0, "en", "item", ""), (None, "zh", "item", ""),
])
def test_one_wording_of_a_saving(ratio, lang, basis, said):
    from search.prices import ratio_text
    assert ratio_text(ratio, lang, basis) == said


def test_the_claims_savings_use_that_wording_with_their_basis():
    from search.prices import tier_savings
    from search.quantity import Quantity
    from search.records import PriceTier
    savings, _ = tier_savings([PriceTier(2, 30.0)], "CNY", 100.0, "CNY", contents=[Quantity(250, "volume")],
                              brand_contents=Quantity(500, "volume"))
    assert [(s.basis, s.text) for s in savings] == [("unit", "60% of the brand price (per unit of content)")]


def test_a_conversion_states_its_rate_and_date():
    from search.prices import conversion
    conv = conversion(98.0, "USD", "CNY", TABLE)
    assert (round(conv.amount, 2), conv.currency, conv.source_currency, conv.rate, conv.date) == (
        686.0, "CNY", "USD", 7.0, "2026-11-30")
    assert conversion(98.0, "CNY", "CNY", TABLE) is None            # nothing to convert
    assert conversion(98.0, "THB", "CNY", TABLE) is None            # no rate: nothing shown
