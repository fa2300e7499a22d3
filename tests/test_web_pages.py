"""The search page, share links, share cards and catalog images, through the test client."""
from __future__ import annotations

import io
import os
import re
import time

from PIL import Image

from tests.test_web_helpers import EVIL_FACTORY, EVIL_TITLE, jpeg_bytes, make_app
from web.i18n import STRINGS
from web.photos import PhotoStore


def html(resp, status: int = 200) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "text/html"
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text
    return text


def upload(client, data: bytes, **fields):
    return client.post("/search", data={"photo": (io.BytesIO(data), "photo.jpg", "image/jpeg"), **fields},
                       content_type="multipart/form-data")


def test_home_page(client):
    page = html(client.get("/"))
    assert 'name="q"' in page and 'accept="image/*"' in page and 'capture="environment"' in page
    assert 'id="dropzone"' in page and "/static/search.js" in page
    assert "onerror" not in page and "onclick" not in page          # no inline handlers at all
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/search.js").status_code == 200


def test_text_search_page_shows_labelled_cards(client):
    page = html(client.get("/search?q=lululemon+leggings"))
    assert page.count('class="card ') >= 3
    assert "Same foundry" in page and "Equal quality" in page
    assert "OEM purchase orders audited" in page and "<details" in page       # evidence on demand
    assert "about 1/11 of the brand price" in page and "¥79" in page and "MOQ" in page
    assert "Ships within 24 h" in page and "/images/img/p1.jpg" in page
    # og tags must be absolute: only with PUBLIC_URL (tests/test_hostile_http.py), never from Host.
    assert 'property="og:image"' not in page and "/card/p1.png?bp=bp-align" in page
    assert 'id="share-url"' in page


def test_catalog_text_is_escaped(client):
    page = html(client.get("/search?q=yoga+leggings"))
    assert EVIL_TITLE not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; yoga leggings" in page
    assert EVIL_FACTORY not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_query_text_is_escaped(client):
    page = html(client.get('/search?q="><script>alert(1)</script>'))
    assert "<script>alert(1)" not in page
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_language_switch(client):
    en = html(client.get("/search?q=lululemon+leggings"))
    zh = html(client.get("/search?q=lululemon+leggings&lang=zh"))
    assert "Same foundry" in en and "同厂" in zh and "高腰裸感瑜伽裤" in zh
    assert '<html lang="zh-CN">' in zh
    switch = re.search(r'id="lang-switch" href="([^"]+)"', en).group(1)
    assert "lang=zh" in switch and "q=lululemon" in switch
    assert "同厂" in html(client.get(switch.replace("&amp;", "&")))
    # a visitor who has not chosen: the browser's preference (this client chose zh above)
    fresh = client.application.test_client
    assert "同厂" in html(fresh().get("/search?q=lululemon+leggings", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "Same foundry" in html(fresh().get("/search?q=lululemon+leggings",
                                              headers={"Accept-Language": "fr-FR,en;q=0.5"}))


def test_every_ui_string_exists_in_both_languages():
    assert set(STRINGS["en"]) == set(STRINGS["zh"])


def test_text_form_redirects_to_a_stable_url(client):
    resp = client.post("/search", data={"q": "lululemon leggings", "lang": "zh", "ship_within": "24",
                                        "group_by_factory": "true", "price_max": ""})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/search?q=lululemon+leggings&lang=zh&ship_within=24"


def test_photo_upload_gets_a_share_link(app, client):
    resp = upload(client, jpeg_bytes((25, 22, 20), (300, 200)), q="", lang="en")
    assert resp.status_code == 303
    location = resp.headers["Location"]
    photo_id = re.fullmatch(r"/s/([A-Za-z0-9_-]{16})", location).group(1)
    page = html(client.get(location))
    assert "Same foundry" in page and 'id="crop-img"' in page and f"/s/{photo_id}/photo.jpg" in page
    stored = client.get(f"/s/{photo_id}/photo.jpg")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    im = Image.open(io.BytesIO(stored.data))
    assert im.size == (300, 200) and not im.getexif()          # re-encoded: no EXIF (no GPS) kept
    # Cropping keeps the same photo id.
    crop = html(client.get(f"{location}?crop=0,0,100,100"))
    assert 'value="0,0,100,100"' in crop
    # A text search with the photo kept goes back to the photo's URL.
    again = client.post("/search", data={"q": "yoga", "photo_id": photo_id, "crop": "0,0,50,50"})
    assert again.headers["Location"] == f"/s/{photo_id}?q=yoga&crop=0%2C0%2C50%2C50"


def test_bad_photos_and_ids_give_readable_pages(client):
    page = html(client.post("/search", data={"photo": (io.BytesIO(b"not an image"), "x.jpg", "image/jpeg")}), 415)
    assert "not a supported image" in page
    assert "expired" in html(client.get("/s/AAAAAAAAAAAAAAAAAAAA"), 404)
    assert client.get("/s/..%2F..%2Fetc").status_code == 404
    assert client.get("/s/AAAAAAAAAAAAAAAAAAAA/photo.jpg").status_code == 404
    assert "crop" in html(client.get("/search?q=x&crop=1,2"), 400)
    assert "price_min" in html(client.get("/search?q=x&price_min=-5"), 400)


def test_oversized_upload_gives_a_readable_413_page(built, tmp_path):
    c = make_app(tmp_path, built, MAX_CONTENT_LENGTH=5_000).test_client()
    page = html(c.post("/search", data={"lang": "zh", "photo": (io.BytesIO(b"x" * 10_000), "big.jpg", "image/jpeg")}),
                413)
    assert "5000" in page


def test_expired_photos_are_gone(tmp_path):
    store = PhotoStore(tmp_path, days=1)
    photo_id = store.save(Image.new("RGB", (10, 10)))
    assert store.path(photo_id) is not None
    old = time.time() - 2 * 86400
    os.utime(store.path(photo_id), (old, old))
    assert store.path(photo_id) is None
    assert store.purge(every=0) == 1 and not list(tmp_path.iterdir())
    assert store.path("../../etc/passwd") is None and store.path("short") is None


def test_unknown_page_params_are_ignored(client):
    page = html(client.get("/search?q=lululemon+leggings&utm_source=xhs&fbclid=abc"))
    assert "Same foundry" in page and "utm_source" not in page


def test_understood_box_and_correction(client):
    page = html(client.get("/search?q=electric+toothbrush"))
    assert 'id="brand-select"' in page and '<option value="lululemon"' in page
    corrected = html(client.get("/search?q=electric+toothbrush&brand=lululemon"))
    assert re.search(r'id="understood-brand">lululemon <small>\(your choice\)', corrected)
    clear = re.search(r'<a href="([^"]+)">Clear</a>', corrected).group(1)
    assert "brand=" not in clear and "q=electric+toothbrush" in clear


def test_group_toggle_and_paging_links(client):
    page = html(client.get("/search?q=toothbrush+flosser"))
    assert "group_by_factory=false" in page
    flat = html(client.get("/search?q=lululemon+leggings&group_by_factory=false"))
    assert 'href="/search?q=lululemon+leggings">One result per factory' in flat


def test_share_card_png(client):
    for url in ("/card/p1.png", "/card/p1.png?bp=bp-align&lang=zh", "/card/p2.png?bp=bp-align"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.mimetype == "image/png", url
        im = Image.open(io.BytesIO(resp.data))
        im.load()
        assert im.size == (1200, 630) and im.format == "PNG"
    assert client.get("/card/p1.png").data == client.get("/card/p1.png").data     # cached, stable
    # the card asked for in Chinese above keeps the page in Chinese (the lang cookie)
    assert "没有可与这个商品比较的品牌商品" in html(client.get("/card/p3.png"), 404)
    assert "no brand product" in html(client.get("/card/p3.png?lang=en"), 404)
    assert client.get("/card/nosuch.png").status_code == 404
    assert client.get("/card/p1.png?bp=nosuch").status_code == 404


def test_share_card_without_a_cjk_font(app, client, monkeypatch):
    from web import cards
    monkeypatch.setattr(cards, "CJK_FONTS", ())
    png = cards.render(cards.CardSpec({"zh": "露露乐蒙"}, {"zh": "露露乐蒙 瑜伽裤"}, "¥850", {"zh": "瑜伽裤"},
                                      {"zh": "义乌厂"}, "¥79", "¥59", 100, 2, 0.09, "same_foundry", "QA 团队",
                                      "2026-01-10", lang="zh"), None, None)
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


def test_catalog_images_are_confined(client):
    assert client.get("/images/img/p1.jpg").status_code == 200
    for bad in ("/images/../catalog/img/p1.jpg", "/images/%2e%2e/%2e%2e/etc/passwd.jpg", "/images/brands.jsonl",
                "/images/img/nosuch.jpg", "/images//etc/hostname.jpg"):
        assert client.get(bad, follow_redirects=True).status_code == 404, bad


def test_missing_index_page(tmp_path):
    from web import create_app
    c = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "UPLOAD_DIR": str(tmp_path)}).test_client()
    page = html(c.get("/search?q=leggings"), 503)
    assert "The search index is not available" in page and "dupe index" in page
    assert html(c.get("/")).count("<form") == 1                # the home page still renders


def test_page_rate_limit(built, tmp_path):
    c = make_app(tmp_path, built, PAGE_RATE_LIMIT_PER_MIN=2).test_client()
    assert c.get("/search?q=yoga").status_code == 200
    assert c.get("/search?q=yoga").status_code == 200
    resp = c.get("/search?q=yoga")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert c.get("/").status_code == 200                       # the empty page costs nothing


def test_unexpected_page_errors_are_a_page_without_traceback(client, monkeypatch):
    from web import service

    def boom(*a, **k):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(service, "run_search", boom)
    page = html(client.get("/search?q=x"), 500)
    assert "secret" not in page


def test_photo_objects_are_chips_that_search_each_one_and_keep_no_part_text(built, tmp_path):
    from search.engine import SearchEngine
    from tests.test_hostile_photos import FakeOcr
    from tests.test_objects import two_products
    from tests.test_web_helpers import TODAY
    engine = built[0]
    ocr = FakeOcr(text="")
    client = make_app(tmp_path, (SearchEngine(engine.store, engine.text, engine.image, ocr, today=lambda: TODAY),
                                 built[1], built[2])).test_client()
    buf = io.BytesIO()
    two_products().save(buf, "JPEG", quality=92)
    resp = upload(client, buf.getvalue())
    assert resp.status_code == 303
    photo_url = resp.headers["Location"].split("?")[0]
    page = html(client.get(photo_url + "?lang=zh"))
    chips = re.findall(r'<a class="chip( on)?" href="([^"]+)"', page)
    assert len(chips) == 2 and chips[1][0] == " on"                     # the larger one is searched
    assert "照片中的商品" in page and "露露乐蒙 Align 高腰瑜伽裤" in page
    href = chips[0][1].replace("&amp;", "&")
    assert href.startswith(photo_url) and "object=0" in href
    assert "露露乐蒙" in html(client.get(href))
    # An object's box is read on its own: its text is never kept as the whole photo's.
    photo_id = photo_url.rsplit("/", 1)[1]
    assert ocr.calls == 2 and not (tmp_path / "uploads" / f"{photo_id}.json").exists()


def _page_lang(resp) -> str:
    m = re.search(r'<html lang="([a-z]+)', resp.get_data(as_text=True))
    assert m, resp.get_data(as_text=True)[:300]
    return m.group(1)


def test_the_language_chosen_stays_through_searches_uploads_and_redirects(app):
    zh_browser = {"Accept-Language": "zh-CN,zh;q=0.9"}
    c = app.test_client()
    assert _page_lang(c.get("/", headers=zh_browser)) == "zh"                # the first default
    assert _page_lang(c.get("/?lang=en", headers=zh_browser)) == "en"        # chosen
    search = c.post("/search", data={"q": "yoga", "lang": "en"}, headers=zh_browser)
    assert search.status_code == 303 and _page_lang(c.get(search.headers["Location"], headers=zh_browser)) == "en"
    upload = c.post("/search", data={"lang": "en", "photo": (io.BytesIO(jpeg_bytes()), "p.jpg", "image/jpeg")},
                    headers=zh_browser, content_type="multipart/form-data")
    assert upload.status_code == 303 and _page_lang(c.get(upload.headers["Location"], headers=zh_browser)) == "en"
    assert _page_lang(c.get("/search?q=yoga&lang=zh")) == "zh"                # chosen again: kept
    assert _page_lang(c.get("/search?q=yoga", headers={"Accept-Language": "en"})) == "zh"
    assert _page_lang(app.test_client().get("/", headers=zh_browser)) == "zh"     # another visitor: their own
