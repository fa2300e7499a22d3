"""The product page ``/p/<id>`` (``web.listing_page``), the links to it from the search
page and the API, the catalog's contact fields on it, the saving wording and the share
card's QR code, through the test client over a small real index."""
from __future__ import annotations

import html as htmlmod
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pytest
from PIL import Image

from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, solid_image, write_jsonl
from tests.test_web_helpers import TODAY, catalog, make_app
from tests.test_web_pages import html as page

PUBLIC = "https://dupes.example"
SHOP = "https://oem-knit.example/"
LISTING = "https://oem-knit.example/products/p1"


def contacts_catalog(folder: Path) -> Path:
    """The web tests' catalog, plus: contacts for two factories (f-oem: shop and email;
    f-eq: shop only), p1's listing page, and a brand product priced in USD (of a brand of
    its own, so the other searches understand what they did) with a dupe, p9."""
    catalog(folder)
    factories = [json.loads(line) for line in (folder / "factories.jsonl").read_text().splitlines()]
    for f in factories:
        if f["id"] == "f-oem":
            f.update(url=SHOP, email="sales@oem-knit.example")
        if f["id"] == "f-eq":
            f.update(url="https://jinjiang-fabric.example/")
    write_jsonl(folder / "factories.jsonl", factories)
    products = [json.loads(line) for line in (folder / "products.jsonl").read_text().splitlines()]
    for p in products:
        if p["id"] == "p1":
            p["url"] = LISTING
    products.append({"id": "p9", "factory": "f-eq", "titles": {"en": "Insulated steel water bottle 1 L",
                                                                "zh": "保温不锈钢水瓶 1升"},
                     "category": "bottle", "price_tiers": [{"min_qty": 2, "price": 79}], "currency": "CNY",
                     "moq": 2, "images": ["img/p9.jpg"], "dupe_of": ["bp-bottle"]})
    write_jsonl(folder / "products.jsonl", products)
    with (folder / "brands.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "hydro", "names": {"en": "Hydro Flask"}, "trademarks": ["Hydro Flask"],
                            "categories": ["bottle"]}) + "\n")
    with (folder / "brand_products.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "bp-bottle", "brand": "hydro", "titles": {"en": "Hydro Flask 32 oz Wide Mouth"},
                            "category": "bottle", "price": 98, "currency": "USD", "images": ["img/bp-bottle.jpg"]})
                + "\n")
    solid_image(folder / "img" / "p9.jpg", (30, 30, 30))
    solid_image(folder / "img" / "bp-bottle.jpg", (35, 35, 35))
    return folder


def build_contacts_engine(root: Path) -> tuple[SearchEngine, Path, Path]:
    cat = contacts_catalog(root / "catalog")
    store = EmbeddedStore(root / "index")
    report = Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    assert report.rejected == 0, report.rejects
    return SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder(), None, today=lambda: TODAY), cat, root / "index"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_contacts_engine(tmp_path_factory.mktemp("listing_page"))


@pytest.fixture
def app(built, tmp_path):
    return make_app(tmp_path, built, PUBLIC_URL=PUBLIC)


def section(text: str, id_: str) -> str:
    """The element with ``id="..."`` up to its closing tag (the page's sections are not nested in kind)."""
    m = re.search(rf'<(\w+)[^>]*\bid="{id_}"[^>]*>(.*?)</\1>', text, re.S)
    assert m, f"no #{id_}"
    return m.group(2)


def plain(fragment: str) -> str:
    return " ".join(htmlmod.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def href(text: str, id_: str) -> str:
    m = re.search(rf'id="{id_}" href="([^"]+)"', text)
    assert m, f"no #{id_} link"
    return htmlmod.unescape(m.group(1))


def test_product_page_shows_the_listing_its_terms_and_the_claim_with_evidence(client):
    text = page(client.get("/p/p1"))
    assert plain(section(text, "product-title")) == "High-rise nude-feel yoga leggings"
    assert "高腰裸感瑜伽裤" in text                                     # every title
    assert '<img src="/images/img/p1.jpg"' in text
    tiers = plain(section(text, "tiers"))
    # every tier, each with its saving in the one wording (850 / 79 ≈ 10.8, 850 / 59 ≈ 14.4)
    assert "from 2 pcs ¥79 about 1/11 of the brand price" in tiers
    assert "from 100 pcs ¥59 about 1/14 of the brand price" in tiers
    assert "%" not in tiers
    terms = plain(section(text, "terms"))
    for fact in ("MOQ 2 pcs", "Ships within 24 h", "Replies in 10 min", "Returns: 7-day returns"):
        assert fact in terms
    claim = plain(section(text, "claim-bp-align"))
    for said in ("Same foundry", "OEM purchase orders audited", "QA team", "2026-01-10", "2027-01-10", "lululemon"):
        assert said in claim, said
    # the brand product side by side: its title, picture and price
    assert "lululemon Align High-Rise Pant" in claim and "¥850" in claim
    assert "/images/img/bp-align.jpg" in section(text, "claim-bp-align")
    assert plain(section(text, "factory-region")) == "Zhejiang Yiwu"


def test_the_buyers_next_step_opens_the_catalogs_contacts(client):
    text = page(client.get("/p/p1"))
    assert href(text, "listing-link") == LISTING
    assert href(text, "factory-link") == SHOP
    contact = urlsplit(href(text, "contact"))
    assert contact.scheme == "mailto" and unquote(contact.path) == "sales@oem-knit.example"
    query = parse_qs(contact.query)
    assert query["subject"] == ["Sample / quote request: High-rise nude-feel yoga leggings (p1)"]
    assert f"{PUBLIC}/p/p1" in query["body"][0]
    # a factory with a shop and no email: the request goes to the shop
    p2 = page(client.get("/p/p2"))
    assert href(p2, "contact") == "https://jinjiang-fabric.example/"
    assert 'id="listing-link"' not in p2
    # no contact in the catalog: said so, no dead button
    p3 = page(client.get("/p/p3"))
    assert 'id="contact"' not in p3 and 'id="no-contact"' in p3


def test_chinese_page_and_the_language_stays(app):
    client = app.test_client()
    text = page(client.get("/p/p1?lang=zh"))
    assert '<html lang="zh-CN">' in text
    assert plain(section(text, "product-title")) == "高腰裸感瑜伽裤"
    assert "约为品牌价的 1/11" in plain(section(text, "tiers"))
    assert "同厂" in plain(section(text, "claim-bp-align"))
    contact = parse_qs(urlsplit(href(text, "contact")).query)
    assert contact["subject"] == ["样品 / 询价：高腰裸感瑜伽裤（p1）"]
    # the share link and the share card keep the language
    assert 'value="https://dupes.example/p/p1?lang=zh" id="share-url"' in text
    assert "/card/p1.png?bp=bp-align&amp;lang=zh" in text
    # chosen once, kept: the next page without ?lang is Chinese, whatever the browser prefers
    again = page(client.get("/p/p2", headers={"Accept-Language": "en-US"}))
    assert '<html lang="zh-CN">' in again
    # the switch stays on this page and keeps the brand product compared with
    switch = htmlmod.unescape(re.search(r'id="lang-switch" href="([^"]+)"', page(client.get("/p/p1?bp=bp-align")))
                              .group(1))
    assert switch.startswith("/p/p1?") and "bp=bp-align" in switch and "lang=en" in switch


def test_unknown_product_is_a_localised_404_page(client):
    # (the messages are web.messages' "no_product" / "no_brand_product")
    en = page(client.get("/p/no-such-product"), 404)
    assert "no product with id &#39;no-such-product&#39;" in en
    zh = page(client.get("/p/no-such-product?lang=zh"), 404)
    assert '<html lang="zh-CN">' in zh and "没有编号为 &#39;no-such-product&#39; 的商品" in zh
    assert "no product with id" not in zh
    unknown_bp = page(client.get("/p/p1?bp=bp-nope&lang=en"), 404)
    assert "no brand product with id &#39;bp-nope&#39;" in unknown_bp


def test_no_saving_is_shown_against_a_brand_product_it_may_not_be_compared_with(client):
    # a toothbrush against leggings: another kind of product
    text = page(client.get("/p/p3?bp=bp-align"))
    claim = plain(section(text, "claim-bp-align"))
    assert "Not compared with the brand product" in claim and "another kind of product" in claim
    assert "of the brand price" not in text and "/card/p3.png" not in text
    assert "Same foundry" not in text
    # a listing that names no brand product and none asked: "similar", no evidence, no saving
    plain_listing = page(client.get("/p/p5"))
    assert "Similar (not endorsed)" in plain(section(plain_listing, "no-claim"))
    assert "of the brand price" not in plain_listing and "/card/" not in plain_listing
    # a counterfeit (the brand's trademark in its title) is never compared either
    fake = page(client.get("/p/p7?bp=bp-align"))
    assert "counterfeit" in plain(section(fake, "claim-bp-align")) and "of the brand price" not in fake


def test_brand_price_in_another_currency_is_converted_with_rate_and_date(client):
    text = page(client.get("/p/p9"))
    basis = plain(section(text, "tiers-basis"))
    # $98 at the built-in 7.1 CNY/USD of 2026-11-01; 79 / 695.8 ≈ 1/9
    assert basis == ("Brand price of Hydro Flask 32 oz Wide Mouth: "
                     "$98 ≈ ¥695.8 (1 USD = 7.1 CNY, rates of 2026-11-01)")
    assert "about 1/9 of the brand price" in plain(section(text, "tiers"))
    zh = page(client.get("/p/p9?lang=zh"))
    assert "≈ ¥695.8（1 USD = 7.1 CNY，2026-11-01 汇率）" in plain(section(zh, "tiers-basis"))


def test_other_listings_of_the_factory_link_to_their_pages(client):
    text = page(client.get("/p/p3"))
    others = section(text, "other-listings")
    linked = re.findall(rf'href="{PUBLIC}/p/(p\d+)"', others)
    assert set(linked) == {"p4", "p5"}          # f-plain's other listings: not p3 itself, not the counterfeit p7
    assert page(client.get(f"/p/{linked[0]}"))


def test_search_cards_and_more_listings_link_to_product_pages(client):
    text = page(client.get("/search?q=lululemon+leggings"))
    # (absolute: the app has a public address, as every link it hands out)
    assert f'<h3 class="title"><a href="{PUBLIC}/p/p1?bp=bp-align">' in text
    assert f'<a href="{PUBLIC}/p/p1?bp=bp-align" class="to-product"' in text
    # the per-tier column says the saving in words, not a bare percentage
    assert "about 1/14 of the brand price" in text and ">9%<" not in text
    grouped = page(client.get("/search?q=electric+toothbrush+water+flosser"))
    more = re.search(r'<details class="more">(.*?)</details>', grouped, re.S)
    assert more, "a factory with more listings"
    assert re.search(rf'<li><a href="{PUBLIC}/p/p\d+', more.group(1))


def test_api_results_carry_the_product_page_link(client):
    data = client.get("/api/v1/search", query_string={"q": "lululemon leggings", "lang": "zh"}).get_json()
    p1 = next(r for r in data["results"] if r["id"] == "p1")
    assert p1["detail_url"] == f"{PUBLIC}/p/p1?bp=bp-align&lang=zh"
    assert p1["url"] == LISTING and p1["factory"]["email"] == "sales@oem-knit.example"
    grouped = client.get("/api/v1/search", query_string={"q": "electric toothbrush water flosser"}).get_json()
    mores = [m for r in grouped["results"] for m in r["more"]]
    assert mores and all(m["detail_url"].startswith(f"{PUBLIC}/p/{m['id']}") for m in mores)
    product = client.get("/api/v1/products/p1").get_json()
    assert product["detail_url"] == f"{PUBLIC}/p/p1" and product["factory"]["url"] == SHOP


def decode_qr(png: bytes) -> str:
    cv2 = pytest.importorskip("cv2")
    im = np.array(Image.open(io.BytesIO(png)).convert("RGB"))[:, :, ::-1]
    data, _, _ = cv2.QRCodeDetector().detectAndDecode(im)
    return data


def test_share_card_carries_the_product_page_as_a_qr_code(client, app, tmp_path, built):
    from web import cards
    resp = client.get("/card/p1.png?bp=bp-align&lang=zh")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    url = f"{PUBLIC}/p/p1?bp=bp-align&lang=zh"
    assert decode_qr(resp.data) == url
    # the drawn modules are segno's matrix for that address, module for module
    card = Image.open(io.BytesIO(resp.data)).convert("L")
    rows = cards.qr_matrix(url)
    scale = cards.QR_BOX // len(rows)
    side = len(rows) * scale
    left, top = cards.W - 40 - side, 410 + (cards.H - 410 - side) // 2
    drawn = [[card.getpixel((left + c * scale + scale // 2, top + r * scale + scale // 2)) < 128
              for c in range(len(rows))] for r in range(len(rows))]
    assert drawn == rows
    # without a public address there is no absolute link to draw: no QR code
    bare = make_app(tmp_path, built).test_client().get("/card/p1.png?bp=bp-align")
    assert bare.status_code == 200 and decode_qr(bare.data) == ""
