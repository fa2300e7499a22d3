"""The search page driven as a user would, in headless Chromium (Debian's ``chromium``,
launched by Playwright; no browser download): type a query, upload / drop / paste a
photo, crop it, read labelled results and their evidence, open the share link and the
share card, switch language, at phone and desktop widths. Screenshots go to
``test-artifacts/`` (look at them).

Needs ``pip install playwright`` and ``apt-get install chromium``; skipped otherwise.
"""
from __future__ import annotations

import base64
import contextlib
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.test_web_helpers import jpeg_bytes, make_app, png_bytes

pytestmark = pytest.mark.slow  # a real browser

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = os.environ.get("DUPE_CHROMIUM", "/usr/bin/chromium")
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set DUPE_CHROMIUM)",
                allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app behind a real WSGI server (waitress) on a free loopback port."""
    with serve(make_app(tmp_path_factory.mktemp("browser"))) as base:
        yield base


@contextlib.contextmanager
def serve(app, public: bool = False):
    """``app`` served by waitress on a free loopback port, for a ``with`` block: its base
    URL. ``public``: that URL is also the app's ``PUBLIC_URL`` (absolute links, QR codes)."""
    from waitress.server import create_server
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    base = f"http://127.0.0.1:{srv.effective_port}"
    if public:
        app.config["PUBLIC_URL"] = base
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        srv.close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="en-US")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield pg
    ctx.close()
    assert not errors, f"browser errors: {errors}"


def shot(pg, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def test_text_search_shows_labelled_results_with_evidence(server, page):
    page.goto(server + "/")
    shot(page, "01-home-phone")
    page.fill("#q", "lululemon leggings")
    page.click("#search-button")
    page.wait_for_url("**/search?q=lululemon*")
    cards = page.locator("article.card")
    assert cards.count() >= 2
    first = cards.first
    assert first.locator(".badge").inner_text() == "Same foundry"
    assert "1/11" in first.locator(".saving").inner_text()
    assert page.locator("#understood-brand").inner_text().startswith("lululemon")
    first.locator("details.label summary").click()
    assert first.locator(".evidence").inner_text().count("OEM purchase orders audited") == 1
    # The catalog title that tries to inject a script is shown as text.
    assert page.locator("text=<script>alert('x')</script> yoga leggings").count() == 1
    assert page.evaluate("window.__xss === undefined")
    shot(page, "02-text-results-phone")
    page.set_viewport_size(DESKTOP)
    shot(page, "03-text-results-desktop")


def test_filters_form(server, page):
    page.goto(server + "/search?q=lululemon+leggings")
    page.click("details.filters summary")
    page.select_option("select[name=ship_within]", "24")
    page.check("input[name=label][value=same_foundry]")
    shot(page, "09-filters-open-phone", full=False)
    page.click("details.filters button[type=submit]")
    page.wait_for_url("**ship_within=24*")
    assert "label=same_foundry" in page.url
    titles = page.locator("article.card .title").all_inner_texts()
    assert titles == ["High-rise nude-feel yoga leggings"]
    assert page.locator("details.filters").get_attribute("open") is not None     # stays open when used


def test_photo_upload_crop_and_share_link(server, page, tmp_path):
    photo = tmp_path / "shop-photo.jpg"
    photo.write_bytes(jpeg_bytes((25, 22, 20), (240, 320)))
    page.goto(server + "/?lang=en")
    page.set_input_files("#photo-input", str(photo))          # auto-submits
    page.wait_for_url("**/s/*")
    assert page.locator("article.card").count() >= 1
    assert page.locator("article.card .badge").first.inner_text() == "Same foundry"
    assert "from the photo" in page.locator("#understood-brand").inner_text()
    shot(page, "04-photo-results-phone")
    # On a phone the photo is a thumbnail: the first result starts on the first screen.
    assert page.locator("#photo-box").get_attribute("open") is None
    assert page.locator("article.card").first.bounding_box()["y"] < PHONE["height"]
    shot(page, "04b-photo-first-screen-phone", full=False)

    # Crop by dragging a rectangle on the photo, opened from its thumbnail.
    page.click("#photo-box summary")
    box = page.locator("#crop-img").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    crop = page.input_value("#crop-input")
    x, y, w, h = (int(v) for v in crop.split(","))
    assert w > 20 and h > 20 and x + w <= 240 and y + h <= 320
    shot(page, "05-crop-drawn-phone", full=False)
    page.click("text=Search this area")
    page.wait_for_url("**crop=*")
    assert page.locator("article.card").count() >= 1

    # The share link reproduces the search in a fresh page.
    share = page.input_value("#share-url")
    assert "/s/" in share and "crop=" in share
    other = page.context.new_page()
    other.goto(share)
    assert other.locator("article.card").count() == page.locator("article.card").count()
    shot(other, "06-shared-photo-search-phone")
    other.close()

    # On a wide screen the photo opens to its crop tools.
    page.set_viewport_size(DESKTOP)
    page.reload()
    assert page.locator("#photo-box").get_attribute("open") is not None
    assert page.locator("#crop-img").bounding_box()["width"] > 100
    shot(page, "06b-photo-search-desktop", full=False)


def test_photo_with_two_products_shows_chips_and_a_chip_searches_its_product(server, page, tmp_path):
    from tests.test_objects import two_products
    photo = tmp_path / "two-products.jpg"
    two_products((800, 400), left=(40, 80, 240, 240), right=(480, 60, 280, 280)).save(photo, "JPEG", quality=92)
    page.goto(server + "/?lang=en")
    page.set_input_files("#photo-input", str(photo))          # auto-submits
    page.wait_for_url("**/s/*")
    chips = page.locator("#objects .chip")
    assert chips.count() == 2
    # The larger product (the toothbrush) is searched by default, its chip marked.
    assert "Sonicare" in page.locator("#understood-brand-product").inner_text()
    assert chips.nth(1).get_attribute("aria-current") == "true"
    assert "lululemon" in chips.nth(0).inner_text()
    # Phone: the chips sit under the thumbnail and the first result is on the first screen.
    assert page.locator("#photo-box").get_attribute("open") is None
    assert chips.first.bounding_box()["y"] < PHONE["height"]
    assert page.locator("article.card").first.bounding_box()["y"] < PHONE["height"]
    shot(page, "10-photo-objects-phone", full=False)
    # Tapping the other chip searches that product on the same kept photo.
    chips.nth(0).click()
    page.wait_for_url("**object=0*")
    assert "/s/" in page.url
    assert "Align" in page.locator("#understood-brand-product").inner_text()
    assert page.locator("#objects .chip").nth(0).get_attribute("aria-current") == "true"
    assert page.locator("article.card").first.bounding_box()["y"] < PHONE["height"]
    shot(page, "11-photo-object-chip-searched-phone", full=False)
    # Opened, the photo shows the products outlined and numbered like their chips.
    page.click("#photo-box summary")
    assert page.locator("#crop-wrap .object-box").count() == 2
    shot(page, "12-photo-objects-outlined-phone", full=False)


def test_share_card_opens_as_png(server, page):
    page.goto(server + "/search?q=lululemon+leggings")
    # Links are root-relative unless a public URL is configured: resolve as the browser does.
    href = urljoin(page.url, page.locator("a.share-card").first.get_attribute("href"))
    resp = page.request.get(href)
    assert resp.status == 200 and resp.headers["content-type"] == "image/png"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "07-share-card.png").write_bytes(resp.body())
    zh = page.request.get(href + ("&" if "?" in href else "?") + "lang=zh")
    (ARTIFACTS / "07-share-card-zh.png").write_bytes(zh.body())


def test_language_switch(server, page):
    page.goto(server + "/search?q=lululemon+leggings")
    page.click("#lang-switch")
    page.wait_for_url("**lang=zh*")
    assert page.locator("article.card .badge").first.inner_text() == "同厂"
    assert page.locator("#search-button").inner_text() == "搜索"
    # Titles follow the UI language (Chinese where the catalog has it).
    assert "高腰裸感瑜伽裤" in page.locator("article.card .title").first.inner_text()
    shot(page, "08-zh-results-phone")
    page.click("#lang-switch")
    page.wait_for_url("**lang=en*")
    assert page.locator("#search-button").inner_text() == "Search"


def test_brand_correction_reruns_the_search(server, page):
    page.goto(server + "/search?q=electric+toothbrush")
    page.select_option("#brand-select", "lululemon")          # auto-submits
    page.wait_for_url("**brand=lululemon*")
    assert page.locator("#understood-brand").inner_text().startswith("lululemon")
    assert "(your choice)" in page.locator("#understood-brand").inner_text()


def _file_event_script(kind: str) -> str:
    # Builds a File from base64 in the page and fires a drop or paste event carrying it.
    return """([b64, kind]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'pasted.png', {type: 'image/png'}));
        if (kind === 'drop') {
            const zone = document.getElementById('dropzone');
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        } else {
            document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
        }
    }"""


@pytest.mark.parametrize("kind", ["drop", "paste"])
def test_drop_and_paste_a_photo(server, page, kind):
    page.goto(server + "/")
    b64 = base64.b64encode(png_bytes((236, 236, 246), (200, 200))).decode()
    with page.expect_navigation(url="**/s/*"):
        page.evaluate(_file_event_script(kind), [b64, kind])
    assert page.locator("article.card").count() >= 1
    assert "toothbrush" in page.locator("article.card .title").first.inner_text().lower()
