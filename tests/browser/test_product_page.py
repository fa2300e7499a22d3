"""The buyer's journey in headless Chromium (Debian's ``chromium`` through Playwright), in
Chinese and English, on a desktop and a phone: search -> a card -> its product page ->
the contact link (the catalog's email / shop); a "n more listings" item -> its product
page; the language chosen stays onto the product page and its share link, whose card
carries a QR code. Screenshots go to ``test-artifacts/`` (``13-...`` to ``16-...``).

Needs ``pip install playwright`` and ``apt-get install chromium``; skipped otherwise.
"""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.browser.test_search_page import ARTIFACTS, DESKTOP, PHONE, serve, shot
from tests.browser.test_search_page import browser  # noqa: F401  (the shared fixture)
from tests.test_listing_page import LISTING, SHOP, build_contacts_engine, decode_qr
from tests.test_web_helpers import make_app

pytestmark = pytest.mark.slow  # a real browser (skipped, like test_search_page, without one)

WORDS = {
    "en": {"badge": "Same foundry", "request": "Request a sample / quote", "subject": "Sample / quote request",
           "switch": "中文", "saving": "about 1/11 of the brand price"},
    "zh": {"badge": "同厂", "request": "索取样品 / 询价", "subject": "样品 / 询价",
           "switch": "English", "saving": "约为品牌价的 1/11"},
}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app over the contacts catalog behind waitress; its public address is the
    server's own, so share links and QR codes are absolute and can be followed."""
    root = tmp_path_factory.mktemp("browser-product")
    with serve(make_app(root, build_contacts_engine(root)), public=True) as base:
        yield base


@pytest.fixture
def new_page(browser):  # noqa: F811  (the imported fixture)
    contexts, errors = [], []

    def make(size: dict[str, int]):
        ctx = browser.new_context(viewport=size, device_scale_factor=1, locale="en-US")
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        return pg
    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"browser errors: {errors}"


def choose_language(pg, server: str, lang: str) -> None:
    """As a visitor does: open the home page (an English browser) and, for Chinese, use the switch."""
    pg.goto(server + "/")
    if lang == "zh":
        pg.click("#lang-switch")
        pg.wait_for_url("**lang=zh*")


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_search_to_product_page_to_contact(server, new_page, lang, size):
    words = WORDS[lang]
    pg = new_page(SIZES[size])
    choose_language(pg, server, lang)
    pg.fill("#q", "lululemon leggings")
    pg.click("#search-button")
    pg.wait_for_url("**/search?q=lululemon*")
    card = pg.locator("article.card").first
    assert card.locator(".badge").inner_text() == words["badge"]
    assert words["saving"] in card.locator(".tiers").inner_text()          # per tier, in words
    card.locator(".title a").click()
    pg.wait_for_url("**/p/p1?bp=bp-align*")
    assert pg.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    assert pg.locator("#product-badge").inner_text() == words["badge"]
    assert words["saving"] in pg.locator("#tiers").inner_text()
    assert pg.locator("#claim-bp-align .evidence").inner_text().count("OEM purchase orders audited") == 1
    shot(pg, f"13-product-page-{lang}-{size}")
    shot(pg, f"13b-product-page-first-screen-{lang}-{size}", full=False)

    # The next step: the catalog's contacts, a prefilled sample / quote email.
    contact = pg.locator("#contact")
    assert contact.inner_text() == words["request"]
    mail = urlsplit(contact.get_attribute("href"))
    assert mail.scheme == "mailto" and unquote(mail.path) == "sales@oem-knit.example"
    assert parse_qs(mail.query)["subject"][0].startswith(words["subject"])
    assert pg.locator("#listing-link").get_attribute("href") == LISTING
    assert pg.locator("#factory-link").get_attribute("href") == SHOP

    # The share link keeps the language, and opens the same page in a fresh browser.
    share = pg.input_value("#share-url")
    assert share.startswith(server + "/p/p1") and (("lang=zh" in share) == (lang == "zh"))
    other = new_page(SIZES[size])
    other.goto(share)
    assert other.locator("#product-badge").inner_text() == words["badge"]
    assert other.locator("#lang-switch").inner_text() == words["switch"]
    # ... and its share card leads back to it by QR code.
    card_url = other.locator("#share-card").get_attribute("href")
    png = other.request.get(card_url if card_url.startswith("http") else server + card_url)
    assert png.status == 200 and decode_qr(png.body()) == share.split("#")[0]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"14-share-card-qr-{lang}.png").write_bytes(png.body())


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_more_listings_item_opens_its_product_page(server, new_page, lang, size):
    pg = new_page(SIZES[size])
    choose_language(pg, server, lang)
    pg.goto(server + "/search?q=electric+toothbrush+water+flosser")
    more = pg.locator("details.more").first
    more.locator("summary").click()
    item = more.locator("li a").first
    target = item.get_attribute("href")
    title = item.inner_text()
    shot(pg, f"15-more-listings-open-{lang}-{size}", full=False)
    item.click()
    pg.wait_for_url("**" + target)
    assert pg.locator("#product-title").inner_text() == title
    assert pg.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    # no contact in the catalog for this factory: said, not a dead button
    assert pg.locator("#contact").count() == 0 and pg.locator("#no-contact").count() == 1
    # the factory's other listings link to their own pages
    others = pg.locator("#other-listings a")
    assert others.count() >= 1
    others.first.click()
    pg.wait_for_url("**/p/*")
    assert pg.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    shot(pg, f"16-other-listing-page-{lang}-{size}")
