"""The Chinese pages of the demo catalog hold no English where Chinese exists: the page's
own words (``web.i18n``, ``web.messages``), the catalog's texts given in both languages
(evidence, verifiers, returns), region and category names, listing titles. Walks the search
page (several searches, filters, an error), the product pages of the results and a 404,
over the seeds indexed with the fake embedders."""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from indexer.pipeline import Indexer
from search.categories import NAMES
from search.engine import SearchEngine
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder
from tests.test_web_helpers import make_app
from web.i18n import STRINGS
from web.messages import PARAM

pytestmark = pytest.mark.slow      # indexes the whole demo catalog and renders ~60 pages

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
QUERIES = ["露露乐蒙 瑜伽裤", "stanley cup dupe", "小棕瓶 平替", "飞利浦 电动牙刷", "gucci 包", "xyzzy"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    import datetime as dt
    root = tmp_path_factory.mktemp("zh-pages")
    store = EmbeddedStore(root / "index")
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    report = Indexer(store, text, image).run(SEEDS)
    assert report.rejected == 0
    engine = SearchEngine(store, text, image, None, today=lambda: dt.date(2026, 11, 22))
    return make_app(root, (engine, SEEDS, root / "index")).test_client()


def visible(html: str) -> str:
    """What a reader sees or hears as Chinese: text, and the attributes browsers show or
    read out. Left out: text marked as another language (``lang="en"``: a listing's other
    titles, shown as such) and a listing's description (the factory's own text, one field
    in whatever languages it wrote)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<(\w+)\b[^>]*\blang="(?!zh)[^"]*"[^>]*>.*?</\1>', " ", html[html.find("<body"):], flags=re.S)
    html = re.sub(r'<p class="description">.*?</p>', " ", html, flags=re.S)
    attrs = " ".join(re.findall(r'\b(?:placeholder|title|alt|aria-label)="([^"]*)"', html))
    return unescape(re.sub(r"<[^>]+>", " ", html) + " " + attrs)


def _fragments(template: str) -> list[str]:
    """The parts of a UI string between its placeholders that are words (not "{n} h")."""
    return [p.strip(" :,.()") for p in re.split(r"\{[^}]*\}", template)
            if len(re.findall(r"[A-Za-z]{2,}", p)) >= 2]


def english_where_chinese_exists() -> set[str]:
    out: set[str] = set()
    for key, en in STRINGS["en"].items():
        if STRINGS["zh"].get(key, en) != en:
            out.update(_fragments(en))
    out.update(f for en, zh in PARAM.values() for f in _fragments(en))
    rows = [json.loads(line) for line in (SEEDS / "factories.jsonl").read_text().splitlines()]
    for f in rows:
        texts = [f.get("returns")] + [e.get(k) for e in f["endorsements"] for k in ("evidence", "verified_by")]
        texts += f.get("certifications", [])
        out.update(t["en"] for t in texts if isinstance(t, dict) and t.get("zh"))
        out.add(f["region"])                              # "Guangdong Shenzhen Bao'an": shown as 广东深圳宝安
    for line in (SEEDS / "products.jsonl").read_text().splitlines():
        p = json.loads(line)
        if p["titles"].get("zh"):
            out.add(p["titles"]["en"])
    cats = {json.loads(line)["category"] for line in (SEEDS / "products.jsonl").read_text().splitlines()}
    out.update(NAMES[c][1] for c in cats if c in NAMES)
    return {x for x in out if x}


def pages(client) -> dict[str, str]:
    got: dict[str, str] = {}

    def get(url: str, status: int = 200) -> str:
        resp = client.get(url)
        assert resp.status_code == status, (url, resp.status_code)
        got[url] = resp.get_data(as_text=True)
        return got[url]

    get("/?lang=zh")
    for q in QUERIES:
        html = get(f"/search?q={q}&lang=zh")
        for href in list(dict.fromkeys(re.findall(r'href="(/p/[^"]+)"', html)))[:4]:
            get(unescape(href))
    get("/search?q=露露乐蒙 瑜伽裤&region=浙江&lang=zh")
    get("/search?q=露露乐蒙 瑜伽裤&label=same_foundry&ship_within=48&lang=zh")
    get("/search?q=瑜伽裤&price_min=9&price_max=1&lang=zh", 400)
    get("/search?q=瑜伽裤&region=火星&lang=zh", 400)
    get("/p/no-such-product?lang=zh", 404)
    return got


def test_the_chinese_pages_hold_no_english_where_chinese_exists(client):
    walked = pages(client)
    assert sum(1 for u in walked if u.startswith("/p/")) >= 10       # product pages were reached
    forbidden = english_where_chinese_exists()
    found = {}
    for url, html in walked.items():
        text = visible(html)
        hits = sorted(x for x in forbidden if x in text)
        if hits:
            found[url] = hits[:5]
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_the_walk_would_see_english(client):
    """The check above can fail: the English page of the same search shows these texts."""
    html = client.get("/search?q=露露乐蒙 瑜伽裤&lang=en").get_data(as_text=True)
    text = visible(html)
    assert any(x in text for x in english_where_chinese_exists())
