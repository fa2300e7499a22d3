"""Facets and filters driven in headless Chromium, in Chinese and English, on a desktop and
a phone: search, narrow by a region chip (results and the chip agree), remove it, narrow by
category in the filter panel; the language chosen stays throughout. Screenshots go to
``test-artifacts/17-facets-*.png`` and ``18-filter-panel-*.png``."""
from __future__ import annotations

import pytest

from tests.browser.test_search_page import DESKTOP, PHONE, serve, shot
from tests.browser.test_search_page import browser  # noqa: F401  (the shared fixture)
from tests.test_web_facets import build_bilingual
from tests.test_web_helpers import make_app

pytestmark = pytest.mark.slow  # a real browser (skipped without one, as test_search_page)

SIZES = {"desktop": DESKTOP, "phone": PHONE}
WORDS = {"zh": {"fujian": "福建", "region": "产地", "category": "瑜伽裤", "html": "zh-CN"},
         "en": {"fujian": "Fujian", "region": "Region", "category": "Leggings", "html": "en"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-facets")
    with serve(make_app(root, build_bilingual(root))) as base:
        yield base


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_facets_narrow_and_the_language_stays(server, browser, lang, size):  # noqa: F811
    words = WORDS[lang]
    ctx = browser.new_context(viewport=SIZES[size], locale="en-US")
    pg = ctx.new_page()
    try:
        pg.goto(server + "/")
        if lang == "zh":
            pg.click("#lang-switch")
            pg.wait_for_url("**lang=zh*")
        pg.fill("#q", "yoga leggings")
        pg.click("#search-button")
        pg.wait_for_url("**/search?q=yoga*")
        facets = pg.locator("#facets")
        assert facets.is_visible()
        total = pg.locator("article.card").count()
        chip = facets.locator('[data-facet="region"] a.chip', has_text=words["fujian"])
        shot(pg, f"17-facets-{lang}-{size}")
        chip.click()
        pg.wait_for_url("**region=Fujian*")
        assert pg.locator("html").get_attribute("lang") == words["html"]
        factories = pg.locator("article.card .factory").all_inner_texts()
        assert factories and all("晋江面料厂" in f for f in factories)
        assert pg.locator("article.card").count() < total
        active = pg.locator("#active-filters a.chip")
        assert words["region"] in active.first.inner_text()
        active.first.click()
        pg.wait_for_load_state()
        assert "region=" not in pg.url and pg.locator("article.card").count() == total
        # the filter panel: a category by its name in the page's language
        pg.locator("details.filters summary").click()
        pg.select_option("#category-select", label=f"{words['category']} (4)")
        shot(pg, f"18-filter-panel-{lang}-{size}", full=False)
        pg.locator("details.filters button[type=submit]").click()
        pg.wait_for_url("**category=leggings*")
        assert pg.locator("html").get_attribute("lang") == words["html"]
        assert pg.locator("article.card").count() >= 1
    finally:
        ctx.close()
