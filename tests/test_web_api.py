"""JSON API v1: every endpoint and every error path, on a real small index (fake
embedders). Every error response must have the one error shape, and none may be a 500."""
from __future__ import annotations

import base64
import io
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.images import ImageError
from tests.test_web_helpers import EVIL_TITLE, build_engine, jpeg_bytes, make_app, png_bytes
from web import create_app
from web.auth import KeyConfigError, RateLimiter, hash_key, identify, parse_keys
from web.errors import ApiError
from web.params import SEARCH_FIELDS, parse_search
from web.reindex import ReindexJob

ADMIN_KEY, AGENT_KEY = "admin-secret-1", "agent-secret-2"


def assert_error(resp, status: int, code: str | None = None, field: str | None = "<any>") -> dict:
    """The one error shape: {"error": {"code", "message", "field"}} and nothing else."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    err = body["error"]
    assert isinstance(err["code"], str) and isinstance(err["message"], str) and err["message"]
    assert "Traceback" not in resp.get_data(as_text=True)
    if code is not None:
        assert err["code"] == code, err
    if field != "<any>":
        assert err["field"] == field, err
    return err


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [r["id"] for r in resp.get_json()["results"]]


# ----------------------------------------------------------------------------- the factory


def test_factory_layers_defaults_env_and_test_config(monkeypatch, tmp_path):
    monkeypatch.setenv("DUPE_UPLOAD_DAYS", "7")
    monkeypatch.setenv("DUPE_CATALOG_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("DUPE_BATCH_MAX", "5")
    app = create_app({"BATCH_MAX": 3, "INDEX_DIR": str(tmp_path / "nowhere")})
    assert app.config["UPLOAD_DAYS"] == 7                      # env, parsed as JSON
    assert app.config["CATALOG_DIR"] == str(tmp_path / "from-env")
    assert app.config["BATCH_MAX"] == 3                        # test config wins
    assert app.config["ANON_RATE_LIMIT_PER_MIN"] == 30         # default
    assert not create_app().testing


def test_factory_opens_no_index_until_first_use(tmp_path):
    # The index does not exist: creating the app still works; using it gives a clear 503.
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "missing"), "UPLOAD_DIR": str(tmp_path / "u")})
    c = app.test_client()
    err = assert_error(c.get("/api/v1/health"), 503, "index_unavailable")
    assert "no index" in err["message"] and "dupe index" in err["message"]
    assert c.get("/api/v1/health").headers["Retry-After"] == "30"
    assert_error(c.get("/api/v1/search?q=leggings"), 503, "index_unavailable")
    page = c.get("/search?q=leggings")
    assert page.status_code == 503 and "no index" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)


def test_corrupt_index_gives_a_clear_503(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / "CURRENT").write_text("index-1.sqlite\n")
    (index / "index-1.sqlite").write_bytes(b"this is not a database" * 100)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "UPLOAD_DIR": str(tmp_path / "u")})
    err = assert_error(app.test_client().get("/api/v1/search?q=x"), 503, "index_unavailable")
    assert "corrupt" in err["message"]


def test_bad_key_configuration_is_refused_at_start(tmp_path):
    with pytest.raises(KeyConfigError, match="SHA-256"):
        create_app({"API_KEYS": "agent:plaintext-key", "UPLOAD_DIR": str(tmp_path)})


# ----------------------------------------------------------------------------- search by text


def test_text_search_returns_labelled_dupes_with_links(client):
    resp = client.get("/api/v1/search?q=lululemon+leggings")
    data = resp.get_json()
    assert ids(resp)[:2] == ["p1", "p2"]
    p1 = data["results"][0]
    assert p1["label"]["type"] == "same_foundry" and p1["label"]["evidence"] == "OEM purchase orders audited"
    assert p1["replaces"]["id"] == "bp-align" and p1["savings"][0]["ratio"] == pytest.approx(79 / 850, abs=1e-3)
    # Without PUBLIC_URL links are root-relative (never built from the Host header).
    assert p1["image_urls"] == ["/images/img/p1.jpg"]
    assert p1["card_url"] == "/card/p1.png?bp=bp-align"
    assert data["understood"]["brand"]["id"] == "lululemon"
    assert data["page"] == 1 and data["k"] == 20 and data["query"]["q"] == "lululemon leggings"
    assert "_keys" not in json.dumps(data)                     # the indexer's bookkeeping stays inside
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_titles_follow_lang(client):
    zh = client.get("/api/v1/search?q=lululemon+leggings&lang=zh").get_json()["results"][0]
    en = client.get("/api/v1/search?q=lululemon+leggings&lang=en").get_json()["results"][0]
    assert zh["title"] == "高腰裸感瑜伽裤" and en["title"] == "High-rise nude-feel yoga leggings"
    vi = client.get("/api/v1/search?q=lululemon+leggings&lang=vi").get_json()["results"][0]
    assert vi["title"] == en["title"]                          # fallback to English


def test_paging(client):
    all_ids = ids(client.get("/api/v1/search?q=lululemon+leggings&k=20"))
    assert len(all_ids) >= 3
    page2 = client.get("/api/v1/search?q=lululemon+leggings&k=1&page=2").get_json()
    assert [r["id"] for r in page2["results"]] == all_ids[1:2] and page2["total"] == len(all_ids)


@pytest.mark.parametrize("query, must_include, holds", [
    ("label=equal_quality", {"p2"}, lambda r: r["id"] == "p2"),
    ("label=same_foundry&label=equal_quality", {"p1", "p2"}, lambda r: r["id"] in ("p1", "p2")),
    ("label=same_foundry,equal_quality", {"p1", "p2"}, lambda r: r["id"] in ("p1", "p2")),
    ("ship_within=24", {"p1"}, lambda r: r["factory"]["ship_within_hours"] <= 24),
    ("moq_max=5", {"p1"}, lambda r: r["moq"] <= 5),
    ("price_max=50", {"p2", "p6"}, lambda r: r["min_price"] <= 50),
    ("price_min=40&price_max=50", {"p2"}, lambda r: 40 <= r["min_price"] <= 50),
    ("region=Fujian+Jinjiang", {"p2"}, lambda r: r["factory"]["region"] == "Fujian Jinjiang"),
    ("category=toothbrush", set(), lambda r: r["category"] == "toothbrush"),
])
def test_filters(client, query, must_include, holds):
    resp = client.get(f"/api/v1/search?q=lululemon+yoga+leggings&{query}")
    assert must_include <= set(ids(resp))
    assert all(holds(r) for r in resp.get_json()["results"])


def test_group_by_factory(client):
    grouped = client.get("/api/v1/search?q=toothbrush+flosser").get_json()["results"]
    flat = client.get("/api/v1/search?q=toothbrush+flosser&group_by_factory=false").get_json()["results"]
    assert len(flat) > len(grouped)
    assert any(r["more"] for r in grouped)


def test_counterfeits_are_hidden_unless_asked_for(client):
    assert "p7" not in ids(client.get("/api/v1/search?q=lululemon+align+leggings"))
    data = client.get("/api/v1/search?q=lululemon+align+leggings&include_counterfeits=true").get_json()
    p7 = next(r for r in data["results"] if r["id"] == "p7")
    assert p7["counterfeit"] and p7["label"]["type"] == "similar"


def test_brand_corrections(client):
    data = client.get("/api/v1/search?q=electric+toothbrush&brand=lululemon").get_json()
    assert data["understood"]["brand"]["id"] == "lululemon" and data["understood"]["brand"]["how"] == "user"
    data = client.get("/api/v1/search?q=yoga&brand_product=bp-align").get_json()
    assert data["understood"]["brand_product"]["id"] == "bp-align"
    assert_error(client.get("/api/v1/search?q=yoga&brand=nosuch"), 400, "unknown_brand", "brand")
    assert_error(client.get("/api/v1/search?q=yoga&brand_product=nosuch"), 400, "unknown_brand_product",
                 "brand_product")


def test_post_json_and_form_text_search(client):
    assert ids(client.post("/api/v1/search", json={"q": "lululemon leggings", "label": ["equal_quality"]})) == ["p2"]
    assert ids(client.post("/api/v1/search", data={"q": "lululemon leggings", "label": "equal_quality"})) == ["p2"]
    resp = client.post("/api/v1/search?lang=zh", json={"q": "lululemon leggings", "k": 1})
    assert resp.get_json()["results"][0]["title"] == "高腰裸感瑜伽裤"


# ----------------------------------------------------------------------------- search by photo


def test_photo_by_multipart_base64_and_data_url(client):
    dark = jpeg_bytes((25, 22, 20))
    r1 = client.post("/api/v1/search", data={"photo": (io.BytesIO(dark), "p.jpg", "image/jpeg")},
                     content_type="multipart/form-data")
    assert ids(r1)[0] == "p1"
    u = r1.get_json()["understood"]
    assert u["brand_product"]["id"] == "bp-align" and u["brand"]["how"] == "image"
    b64 = base64.b64encode(dark).decode()
    assert ids(client.post("/api/v1/search", json={"image_base64": b64}))[0] == "p1"
    assert ids(client.post("/api/v1/search", json={"image_base64": "data:image/jpeg;base64," + b64}))[0] == "p1"
    assert ids(client.post("/api/v1/search", data={"image_base64": b64}))[0] == "p1"
    # MIME-style line breaks and stray spaces are allowed (removed only when present)
    wrapped = "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)) + " \n"
    assert ids(client.post("/api/v1/search", json={"image_base64": "data:image/jpeg;base64," + wrapped}))[0] == "p1"
    bad = client.post("/api/v1/search", json={"image_base64": wrapped[:-3] + "*"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_base64"


def test_empty_file_field_is_no_photo(client):
    resp = client.post("/api/v1/search", data={"q": "lululemon leggings", "photo": (io.BytesIO(b""), "")})
    assert ids(resp)[0] == "p1"


def test_photo_with_crop(client):
    # Left half dark (leggings), right half light (toothbrush): the crop decides.
    from PIL import Image
    im = Image.new("RGB", (128, 64), (236, 236, 246))
    im.paste((25, 22, 20), (0, 0, 64, 64))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    b64 = base64.b64encode(buf.getvalue()).decode()
    assert ids(client.post("/api/v1/search", json={"image_base64": b64, "crop": "0,0,64,64"}))[0] == "p1"
    assert ids(client.post("/api/v1/search", json={"image_base64": b64, "crop": [64, 0, 64, 64]}))[0] == "p3"
    assert_error(client.post("/api/v1/search", json={"image_base64": b64, "crop": "100,0,64,64"}), 400,
                 "bad_query", "crop")


def two_products_b64() -> str:
    """Leggings (dark, left) and a larger toothbrush (light, right) on a green table."""
    from tests.test_objects import two_products
    buf = io.BytesIO()
    two_products().save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_photo_with_two_products_lists_both_and_searches_the_prominent_one(client):
    b64 = two_products_b64()
    resp = client.post("/api/v1/search", json={"image_base64": b64})
    objects = resp.get_json()["understood"]["objects"]
    assert [o["brand_product"]["id"] for o in objects] == ["bp-align", "bp-diamond"]
    assert [o["searched"] for o in objects] == [False, True]
    assert objects[0]["brand_product"]["name"] == "lululemon Align High-Rise Pant"
    assert objects[0]["category"] == "leggings" and 0 < objects[0]["confidence"] <= 1
    x, y, w, h = objects[0]["box"]
    assert x < 40 and y < 60 and 100 < w < 160 and 100 < h < 160         # the leggings at (20, 40, 120, 120)
    assert ids(resp)[0] == "p3"
    zh = client.post("/api/v1/search?lang=zh", json={"image_base64": b64}).get_json()
    assert zh["understood"]["objects"][0]["brand_product"]["name"] == "露露乐蒙 Align 高腰瑜伽裤"
    # object=i searches that one: JSON, multipart form and a batch item alike.
    assert ids(client.post("/api/v1/search", json={"image_base64": b64, "object": 0}))[0] == "p1"
    assert ids(client.post("/api/v1/search", data={"image_base64": b64, "object": "0"}))[0] == "p1"
    body = client.post("/api/v1/search", json={"image_base64": b64, "object": 0}).get_json()
    assert [o["searched"] for o in body["understood"]["objects"]] == [True, False]
    assert body["query"]["object"] == 0
    batch = client.post("/api/v1/search/batch", json={"items": [{"image_base64": b64, "object": 0},
                                                               {"image_base64": b64, "object": 1}]}).get_json()
    assert [r["result"]["results"][0]["id"] for r in batch["items"]] == ["p1", "p3"]
    # With a crop, the user chose: nothing is detected.
    cropped = client.post("/api/v1/search", json={"image_base64": b64, "crop": [20, 40, 120, 120]}).get_json()
    assert cropped["understood"]["objects"] == [] and cropped["results"][0]["id"] == "p1"


def test_object_errors(client):
    b64 = two_products_b64()
    assert_error(client.post("/api/v1/search", json={"image_base64": b64, "object": 2}), 400, "bad_query", "object")
    assert_error(client.post("/api/v1/search", json={"image_base64": b64, "object": -1}), 400,
                 "invalid_parameter", "object")
    assert_error(client.post("/api/v1/search", json={"image_base64": b64, "object": "one"}), 400,
                 "invalid_parameter", "object")
    assert_error(client.post("/api/v1/search", json={"image_base64": b64, "object": 0, "crop": "0,0,10,10"}), 400,
                 "invalid_parameter", "object")
    assert_error(client.get("/api/v1/search?q=lululemon&object=0"), 400, "bad_query", "object")
    # A photo of one product has no objects to choose from.
    assert_error(client.post("/api/v1/search", json={"image_base64": base64.b64encode(jpeg_bytes()).decode(),
                                                     "object": 0}), 400, "bad_query", "object")


def test_photo_by_url_through_the_fetcher(built, tmp_path):
    calls = []

    def fetcher(url, *, timeout, max_bytes):
        calls.append((url, timeout, max_bytes))
        if "dead" in url:
            raise ImageError("timed out fetching 'https://dead.example/x.jpg'")
        if "text" in url:
            return b"hello, not an image"
        return jpeg_bytes((25, 22, 20))

    c = make_app(tmp_path, built, URL_FETCHER=fetcher, URL_TIMEOUT=2.5).test_client()
    assert ids(c.get("/api/v1/search?image_url=https://cdn.example/a.jpg"))[0] == "p1"
    assert calls[0][1] == 2.5 and calls[0][2] == c.application.config["MAX_IMAGE_BYTES"]
    assert_error(c.get("/api/v1/search?image_url=https://dead.example/x.jpg"), 422, "image_fetch_failed", "image_url")
    assert_error(c.get("/api/v1/search?image_url=https://text.example/x.jpg"), 415, "unsupported_image", "image_url")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/a.jpg", "http://10.0.0.1/a.jpg", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/a.jpg", "http://localhost:8080/a.jpg", "http://192.168.1.1/a.jpg", "http://0.0.0.0/a.jpg",
    "file:///etc/passwd", "ftp://example.com/a.jpg", "http://user:pw@8.8.8.8/a.jpg", "not a url",
])
def test_image_url_to_private_addresses_is_refused(built, tmp_path, url):
    # The real fetcher: these are refused before any connection is made.
    from indexer.images import fetch_url
    c = make_app(tmp_path, built, URL_FETCHER=fetch_url).test_client()
    assert_error(c.post("/api/v1/search", json={"image_url": url}), 400, "image_url_refused", "image_url")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("query, code, field", [
    ("q=x&bogus=1", "unknown_parameter", "bogus"),
    ("q=x&Q=1", "unknown_parameter", "Q"),
    ("", "missing_query", "q"),
    ("q=++", "missing_query", "q"),
    ("q=x&q=y", "invalid_parameter", "q"),
    ("q=" + "a" * 501, "invalid_parameter", "q"),
    ("q=x&k=0", "invalid_parameter", "k"),
    ("q=x&k=101", "invalid_parameter", "k"),
    ("q=x&k=abc", "invalid_parameter", "k"),
    ("q=x&k=1.5", "invalid_parameter", "k"),
    ("q=x&k=-3", "invalid_parameter", "k"),
    ("q=x&page=0", "invalid_parameter", "page"),
    ("q=x&page=99999999999999", "invalid_parameter", "page"),
    ("q=x&k=100&page=11", "invalid_parameter", "page"),
    ("q=x&price_min=-1", "invalid_parameter", "price_min"),
    ("q=x&price_min=nan", "invalid_parameter", "price_min"),
    ("q=x&price_max=inf", "invalid_parameter", "price_max"),
    ("q=x&price_max=1e400", "invalid_parameter", "price_max"),
    ("q=x&price_max=12abc", "invalid_parameter", "price_max"),
    ("q=x&price_min=10&price_max=5", "invalid_parameter", "price_min"),
    ("q=x&moq_max=0", "invalid_parameter", "moq_max"),
    ("q=x&ship_within=soon", "invalid_parameter", "ship_within"),
    ("q=x&label=fake_label", "invalid_parameter", "label"),
    ("q=x&mode=magic", "invalid_parameter", "mode"),
    ("q=x&lang=<script>", "invalid_parameter", "lang"),
    ("q=x&group_by_factory=maybe", "invalid_parameter", "group_by_factory"),
    ("q=x&crop=1,2,3", "invalid_parameter", "crop"),
    ("q=x&crop=a,b,c,d", "invalid_parameter", "crop"),
    ("q=x&crop=0,0,0,10", "invalid_parameter", "crop"),
    ("q=x&photo_id=../../etc", "invalid_parameter", "photo_id"),
    ("q=x&category=" + "c" * 201, "invalid_parameter", "category"),
    ("q=x%00y", "invalid_parameter", "q"),
])
def test_bad_parameters_are_400_naming_the_field(client, query, code, field):
    assert_error(client.get(f"/api/v1/search?{query}"), 400, code, field)


@pytest.mark.parametrize("body, code, field", [
    ({"q": "x", "extra": 1}, "unknown_parameter", "extra"),
    ({"q": 5}, "invalid_parameter", "q"),
    ({"q": "x", "k": True}, "invalid_parameter", "k"),
    ({"q": "x", "k": "7x"}, "invalid_parameter", "k"),
    ({"q": "x", "price_max": "cheap"}, "invalid_parameter", "price_max"),
    ({"q": "x", "label": [1]}, "invalid_parameter", "label"),
    ({"q": "x", "crop": {"x": 1}}, "invalid_parameter", "crop"),
    ({"q": "x", "ocr": "perhaps"}, "invalid_parameter", "ocr"),
    ({"image_base64": "!!!not base64!!!"}, "bad_base64", "image_base64"),
    ({"image_base64": "data:image/png;base64,"}, "bad_base64", "image_base64"),
    ({"image_base64": 12}, "bad_base64", "image_base64"),
    ({"image_base64": "aGVsbG8=", "image_url": "https://a.example/x.jpg"}, "too_many_photos", "image_url"),
    ({}, "missing_query", "q"),
])
def test_bad_json_bodies(client, body, code, field):
    assert_error(client.post("/api/v1/search", json=body), 400, code, field)


def test_bad_bodies(client):
    assert_error(client.post("/api/v1/search", data="{not json", content_type="application/json"), 400,
                 "invalid_json")
    assert_error(client.post("/api/v1/search", json=["q", "x"]), 400, "invalid_json")
    for bad in ("[" * 5000, '{"q": "\\ud800x"}', '{"\\udfff": 1}', b"\xff\xfe{"):
        assert_error(client.post("/api/v1/search", data=bad, content_type="application/json"), 400, "invalid_json")
        assert_error(client.post("/api/v1/search/batch", data=bad, content_type="application/json"), 400)
    deep = "[" * 100_000                        # refused before parsing (web.bodylimits)
    for url in ("/api/v1/search", "/api/v1/search/batch"):
        assert_error(client.post(url, data=deep, content_type="application/json"), 400, "too_many_values")
    assert_error(client.post("/api/v1/search", data="q=x", content_type="text/plain"), 415,
                 "unsupported_media_type")
    assert_error(client.post("/api/v1/search?q=a", json={"q": "b"}), 400, "invalid_parameter", "q")
    assert_error(client.post("/api/v1/search", data={"q": "x", "other": (io.BytesIO(b"x"), "x.jpg")}), 400,
                 "unknown_parameter", "other")
    two = {"photo": [(io.BytesIO(jpeg_bytes()), "a.jpg"), (io.BytesIO(jpeg_bytes()), "b.jpg")]}
    assert_error(client.post("/api/v1/search", data=two), 400, "too_many_photos")
    both = {"photo": (io.BytesIO(jpeg_bytes()), "a.jpg", "image/jpeg"), "image_url": "https://a.example/x.jpg"}
    assert_error(client.post("/api/v1/search", data=both), 400, "too_many_photos", "photo")


def test_bad_images(built, tmp_path):
    c = make_app(tmp_path, built, MAX_IMAGE_PIXELS=100 * 100, MAX_IMAGE_BYTES=50_000).test_client()

    def upload(data, ctype="image/jpeg"):
        return c.post("/api/v1/search", data={"photo": (io.BytesIO(data), "x.jpg", ctype)})

    good = jpeg_bytes((25, 22, 20), (64, 64))
    assert upload(good).status_code == 200
    assert_error(upload(good[: len(good) // 2]), 422, "corrupt_image", "photo")            # truncated
    png = png_bytes()
    at = png.index(b"IDAT") + 6                                  # keep the chunk header, break the pixels
    assert_error(upload(png[:at] + b"\xff" * (len(png) - at)), 422, "corrupt_image", "photo")
    assert_error(upload(b"%PDF-1.4 pretending to be a JPEG"), 415, "unsupported_image", "photo")
    assert_error(upload(b"hello", "text/plain"), 415, "unsupported_image", "photo")
    assert_error(upload(b""), 400, "empty_photo", "photo")
    assert_error(upload(png_bytes(size=(200, 200))), 413, "too_many_pixels", "photo")      # 40,000 px > 10,000
    noisy = __import__("os").urandom(60_000)
    assert_error(upload(noisy), 413, "image_too_large", "photo")
    b64 = base64.b64encode(noisy).decode()
    assert_error(c.post("/api/v1/search", json={"image_base64": b64}), 413, "image_too_large", "image_base64")
    assert_error(c.post("/api/v1/search", json={"image_base64": base64.b64encode(b"not an image").decode()}),
                 415, "unsupported_image", "image_base64")


def test_oversized_body_is_413(built, tmp_path):
    c = make_app(tmp_path, built, MAX_CONTENT_LENGTH=10_000, MAX_FORM_MEMORY_SIZE=10_000).test_client()
    big = b"x" * 20_000
    assert_error(c.post("/api/v1/search", data=big, content_type="application/json"), 413, "payload_too_large")
    assert_error(c.post("/api/v1/search", data={"photo": (io.BytesIO(big), "x.jpg", "image/jpeg")}), 413,
                 "payload_too_large")
    assert_error(c.post("/api/v1/search/batch", data=big, content_type="application/json"), 413)


def test_unknown_photo_id_is_404(client):
    assert_error(client.get("/api/v1/search?photo_id=AAAAAAAAAAAAAAAA"), 404, "photo_not_found", "photo_id")


def test_unknown_paths_and_methods_use_the_error_shape(client):
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    resp = client.delete("/api/v1/search")
    assert_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


def test_unexpected_errors_are_json_500_without_traceback(client, monkeypatch):
    from web import service

    def boom(*a, **k):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(service, "run_search", boom)
    err = assert_error(client.get("/api/v1/search?q=x"), 500, "internal_error", None)
    assert "secret" not in err["message"]


# ----------------------------------------------------------------------------- batch


def test_batch_with_mixed_items(client):
    items = [
        {"id": "a", "q": "lululemon leggings", "k": 2},
        {"id": 2, "q": "x", "k": 0},
        {"id": "c", "image_base64": "***"},
        {"id": "d", "image_base64": base64.b64encode(jpeg_bytes((25, 22, 20))).decode()},
        {"q": "yoga", "brand": "nosuch"},
        "not an object",
        {"id": "g", "image_url": "http://169.254.169.254/latest"},
        {"id": "h", "q": "x", "surprise": True},
    ]
    resp = client.post("/api/v1/search/batch", json={"items": items})
    assert resp.status_code == 200
    out = resp.get_json()
    assert [x["status"] for x in out["items"]] == [200, 400, 400, 200, 400, 400, 400, 400]
    assert [x["id"] for x in out["items"]] == ["a", 2, "c", "d", None, None, "g", "h"]
    assert out["ok"] == 2 and out["failed"] == 6
    assert [r["id"] for r in out["items"][0]["result"]["results"]] == ["p1", "p2"]
    assert out["items"][3]["result"]["results"][0]["id"] == "p1"
    for item in out["items"]:
        if item["status"] != 200:
            assert set(item["error"]) == {"code", "message", "field"}
    assert out["items"][1]["error"]["field"] == "k"
    assert out["items"][2]["error"]["code"] == "bad_base64"
    assert out["items"][6]["error"]["code"] == "image_url_refused"
    assert out["items"][7]["error"]["field"] == "surprise"


def test_batch_errors(built, tmp_path):
    c = make_app(tmp_path, built, BATCH_MAX=3).test_client()
    assert_error(c.post("/api/v1/search/batch", json={"items": [{"q": "x"}] * 4}), 413, "batch_too_large", "items")
    assert_error(c.post("/api/v1/search/batch", json={"items": []}), 400, "invalid_parameter", "items")
    assert_error(c.post("/api/v1/search/batch", json={"items": {"q": "x"}}), 400, "invalid_parameter", "items")
    assert_error(c.post("/api/v1/search/batch", json=[{"q": "x"}]), 400, "invalid_json")
    assert_error(c.post("/api/v1/search/batch", json={"items": [{"q": "x"}], "more": 1}), 400,
                 "unknown_parameter", "more")
    assert_error(c.post("/api/v1/search/batch", data="items", content_type="text/plain"), 415)
    assert_error(c.post("/api/v1/search/batch?x=1", json={"items": [{"q": "x"}]}), 400, "unknown_parameter", "x")
    assert_error(c.get("/api/v1/search/batch"), 405)


def test_batch_items_count_against_the_rate_limit(built, tmp_path):
    c = make_app(tmp_path, built, ANON_RATE_LIMIT_PER_MIN=5).test_client()
    assert c.post("/api/v1/search/batch", json={"items": [{"q": "yoga"}] * 4}).status_code == 200
    resp = c.post("/api/v1/search/batch", json={"items": [{"q": "yoga"}] * 2})
    assert_error(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) >= 1


# ----------------------------------------------------------------------------- catalog endpoints


def test_product(client):
    resp = client.get("/api/v1/products/p1?lang=zh")
    p = resp.get_json()
    assert resp.status_code == 200 and p["id"] == "p1" and p["title"] == "高腰裸感瑜伽裤"
    assert p["dupe_of"][0]["id"] == "bp-align" and p["dupe_of"][0]["label"]["type"] == "same_foundry"
    assert p["dupe_of"][0]["label"]["evidence"] == "OEM purchase orders audited" and p["dupe_of"][0]["comparable"]
    assert p["counterfeit"] == [] and p["fx"]["base"] == "CNY"
    assert p["dupe_of"][0]["savings"][0]["min_qty"] == 2
    assert p["image_urls"] == ["/images/img/p1.jpg"]
    assert "_keys" not in json.dumps(p)
    assert client.get("/api/v1/products/p6").get_json()["title"] == EVIL_TITLE      # JSON is data, not HTML
    assert_error(client.get("/api/v1/products/nosuch"), 404, "not_found")
    assert_error(client.get("/api/v1/products/p1?expand=1"), 400, "unknown_parameter", "expand")
    assert_error(client.get("/api/v1/products/p1?lang=1"), 400, "invalid_parameter", "lang")


def test_brands(client):
    data = client.get("/api/v1/brands?lang=zh").get_json()
    assert [b["id"] for b in data["brands"]] == ["lululemon", "sonicare"]
    lulu = data["brands"][0]
    assert lulu["name"] == "露露乐蒙" and lulu["aliases"] == ["lulu"]
    assert [bp["id"] for bp in lulu["brand_products"]] == ["bp-align"]
    assert lulu["brand_products"][0]["title"] == "露露乐蒙 Align 高腰瑜伽裤"
    assert_error(client.get("/api/v1/brands?q=x"), 400, "unknown_parameter", "q")


def test_brand_product_dupes(client):
    data = client.get("/api/v1/brand-products/bp-align/dupes").get_json()
    assert data["brand_product"]["id"] == "bp-align"
    assert [r["id"] for r in data["results"]][:2] == ["p1", "p2"]
    assert data["understood"]["brand_product"]["id"] == "bp-align"
    eq = client.get("/api/v1/brand-products/bp-align/dupes?label=equal_quality").get_json()
    assert [r["id"] for r in eq["results"]] == ["p2"]
    assert_error(client.get("/api/v1/brand-products/nosuch/dupes"), 404, "not_found")
    assert_error(client.get("/api/v1/brand-products/bp-align/dupes?q=x"), 400, "unknown_parameter", "q")
    assert_error(client.get("/api/v1/brand-products/bp-align/dupes?k=0"), 400, "invalid_parameter", "k")


def test_health(client):
    data = client.get("/api/v1/health").get_json()
    assert data["status"] == "ok" and data["index"]["count"] == 11 and data["reindex"]["state"] == "idle"
    assert_error(client.get("/api/v1/health?verbose=1"), 400, "unknown_parameter")


def test_openapi_lists_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": "/api/v1"}]
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule[len("/api/v1"):].replace("<", "{").replace(">", "}")
            path = path.replace("{product_id}", "{id}").replace("{bp_id}", "{id}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    for (path, method) in documented:
        responses = doc["paths"][path][method.lower()]["responses"]
        errors = [c for c in responses if c.startswith(("4", "5"))]
        assert errors, (path, method)
        for code in errors:
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# ----------------------------------------------------------------------------- keys, limits, admin, CORS


@pytest.fixture
def keyed(built, tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# agents\nfile-agent:{hash_key('file-key')}\n"
                         f"admin file-admin:{hash_key('file-admin-key')}\n")
    return make_app(tmp_path, built, API_KEYS=f"agent:{hash_key(AGENT_KEY)}:4,slow:{hash_key('slow-key')}",
                    ADMIN_KEYS=f"ops:{hash_key(ADMIN_KEY)}", API_KEYS_FILE=str(keys_file),
                    ANON_RATE_LIMIT_PER_MIN=2, RATE_LIMIT_PER_MIN=3)


def test_api_keys_are_checked_by_hash(keyed):
    c = keyed.test_client()
    assert c.get("/api/v1/search?q=yoga", headers={"X-API-Key": AGENT_KEY}).status_code == 200
    assert c.get("/api/v1/search?q=yoga", headers={"Authorization": f"Bearer {AGENT_KEY}"}).status_code == 200
    assert c.get("/api/v1/search?q=yoga", headers={"X-API-Key": "file-key"}).status_code == 200
    assert_error(c.get("/api/v1/search?q=yoga", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
    assert_error(c.get("/api/v1/search?q=yoga", headers={"X-API-Key": hash_key(AGENT_KEY)}), 401)  # the hash is no key
    assert_error(c.get("/api/v1/search?q=yoga", headers={"Authorization": f"Basic {AGENT_KEY}"}), 401)
    assert_error(c.get("/api/v1/search?q=yoga", headers={"Authorization": "Bearer "}), 401)
    # Only hashes are kept in the app.
    assert AGENT_KEY not in repr(keyed.extensions["dupe_keys"]) and AGENT_KEY not in repr(dict(keyed.config))


def test_rate_limits_per_key_and_anonymous(keyed):
    c = keyed.test_client()
    for _ in range(2):
        assert c.get("/api/v1/search?q=yoga").status_code == 200
    resp = c.get("/api/v1/search?q=yoga")
    assert_error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 30
    # Another client address has its own bucket.
    assert c.get("/api/v1/search?q=yoga", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
    # A key has its own limit: 4/min configured for "agent", the default 3/min for "slow".
    h = {"X-API-Key": AGENT_KEY}
    statuses = [c.get("/api/v1/search?q=yoga", headers=h).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    slow = [c.get("/api/v1/brands", headers={"X-API-Key": "slow-key"}).status_code for _ in range(4)]
    assert slow == [200, 200, 200, 429]
    ok = c.get("/api/v1/brands", headers={"X-API-Key": "file-key"})
    assert ok.headers["X-RateLimit-Limit"] == "3" and ok.headers["X-RateLimit-Remaining"] == "2"
    # Health and the OpenAPI document are not limited.
    assert all(c.get("/api/v1/health").status_code == 200 for _ in range(5))


def test_rate_limiter_refills():
    now = [0.0]
    rl = RateLimiter(clock=lambda: now[0])
    assert [rl.take("k", 60)[0] for _ in range(60)] == [True] * 60
    ok, wait, _ = rl.take("k", 60)
    assert not ok and wait == pytest.approx(1.0)
    now[0] += 1.0
    assert rl.take("k", 60)[0]
    assert rl.take("big", 5, cost=6)[0] is False


def test_key_parsing():
    keys = parse_keys(f"a:{hash_key('x')}, b:{hash_key('y').upper()}:10")
    assert [(k.name, k.per_minute) for k in keys] == [("a", None), ("b", 10)]
    assert identify("y", keys).name == "b" and identify("z", keys) is None and identify(None, keys).anonymous
    for bad in ("a", f"a:{hash_key('x')}:0", "a:abc", f":{hash_key('x')}"):
        with pytest.raises(KeyConfigError):
            parse_keys(bad)


def test_admin_reindex_needs_an_admin_key(keyed):
    c = keyed.test_client()
    assert_error(c.post("/api/v1/admin/reindex"), 401, "unauthorized")
    assert_error(c.post("/api/v1/admin/reindex", headers={"X-API-Key": AGENT_KEY}), 403, "forbidden")
    assert_error(c.get("/api/v1/admin/reindex", headers={"X-API-Key": "file-key"}), 403, "forbidden")
    assert_error(c.put("/api/v1/admin/catalog/products.jsonl", data=b"{}", headers={"X-API-Key": AGENT_KEY}), 403)
    assert c.get("/api/v1/admin/reindex", headers={"X-API-Key": "file-admin-key"}).status_code == 200


def test_admin_catalog_upload_and_reindex(tmp_path):
    built = build_engine(tmp_path / "own")          # this test changes its index
    app = make_app(tmp_path, built, ADMIN_KEYS=f"ops:{hash_key(ADMIN_KEY)}")
    c = app.test_client()
    h = {"X-API-Key": ADMIN_KEY}
    cat = built[1]
    rows = [json.loads(x) for x in (cat / "products.jsonl").read_text().splitlines()]
    rows[0]["price_tiers"] = [{"min_qty": 2, "price": 69}]
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    resp = c.put("/api/v1/admin/catalog/products.jsonl", data=body, headers=h)
    assert resp.status_code == 200 and resp.get_json() == {"file": "products.jsonl", "bytes": len(body)}
    assert_error(c.put("/api/v1/admin/catalog/evil.sh", data=b"x", headers=h), 404, "not_found")
    assert_error(c.put("/api/v1/admin/catalog/..%2Fx.jsonl", data=b"x", headers=h), 404)
    assert_error(c.put("/api/v1/admin/catalog/brands.jsonl", data=b"\xff\xfe", headers=h), 422, "not_utf8")
    assert_error(c.put("/api/v1/admin/catalog/brands.jsonl", data=b"", headers=h), 400)

    resp = c.post("/api/v1/admin/reindex", headers=h)
    assert resp.status_code == 202 and resp.get_json()["reindex"]["state"] in ("running", "done")
    app.extensions["dupe_reindex"].thread.join(timeout=30)
    status = c.get("/api/v1/admin/reindex", headers=h).get_json()["reindex"]
    assert status["state"] == "done" and "indexed 1" in status["summary"], status
    assert c.get("/api/v1/products/p1").get_json()["price_tiers"] == [{"min_qty": 2, "price": 69.0}]


def test_admin_upload_of_a_gbk_csv_is_indexed_and_the_encoding_reported(tmp_path):
    """A merchant's Chinese Excel export (GBK) goes through the admin upload and reindex."""
    built = build_engine(tmp_path / "own")
    app = make_app(tmp_path, built, ADMIN_KEYS=f"ops:{hash_key(ADMIN_KEY)}")
    c = app.test_client()
    h = {"X-API-Key": ADMIN_KEY}
    factory = json.loads((built[1] / "factories.jsonl").read_text().splitlines()[0])["id"]
    csv_text = ("id,factory,title_zh,title_en,category,price_tiers,currency,moq\n"
                f"gbk-1,{factory},速干瑜伽裤,Quick-dry yoga pants,leggings,2:30;100:22,CNY,2\n")
    resp = c.put("/api/v1/admin/catalog/products.csv", data=csv_text.encode("gbk"), headers=h)
    assert resp.status_code == 200, resp.get_json()
    assert c.post("/api/v1/admin/reindex", headers=h).status_code == 202
    app.extensions["dupe_reindex"].thread.join(timeout=30)
    status = c.get("/api/v1/admin/reindex", headers=h).get_json()["reindex"]
    assert status["state"] == "done" and "products.csv: read as GB18030" in status["summary"], status
    assert c.get("/api/v1/products/gbk-1").get_json()["titles"]["zh"] == "速干瑜伽裤"


def test_reindex_runs_one_at_a_time():
    import threading
    job, gate = ReindexJob(), threading.Event()
    job.start(lambda: gate.wait(5) and "ok", lambda: None)
    with pytest.raises(ApiError) as e:
        job.start(lambda: "again", lambda: None)
    assert e.value.status == 409
    gate.set()
    job.thread.join(5)
    assert job.snapshot()["state"] == "done"
    job.start(lambda: 1 / 0, lambda: None)
    job.thread.join(5)
    assert job.snapshot()["state"] == "failed" and "ZeroDivisionError" in job.snapshot()["error"]


def test_cors(built, tmp_path, client):
    pre = client.options("/api/v1/search", headers={"Origin": "https://tool.example",
                                                    "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "X-API-Key"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-API-Key" in pre.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in pre.headers
    assert client.get("/api/v1/search?q=x&k=0").headers["Access-Control-Allow-Origin"] == "*"   # errors too
    c = make_app(tmp_path, built, CORS_ORIGINS="https://a.example, https://b.example").test_client()
    assert c.get("/api/v1/brands", headers={"Origin": "https://b.example"}).headers[
        "Access-Control-Allow-Origin"] == "https://b.example"
    assert "Access-Control-Allow-Origin" not in c.get("/api/v1/brands", headers={"Origin": "https://evil.example"}).headers
    assert "Access-Control-Allow-Origin" not in client.get("/").headers          # pages are not CORS


def test_security_headers(client):
    resp = client.get("/api/v1/brands")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_latency_is_small_on_the_tiny_index(client):
    t = time.perf_counter()
    for _ in range(20):
        client.get("/api/v1/search?q=lululemon+leggings")
    assert (time.perf_counter() - t) / 20 < 0.25


# ----------------------------------------------------------------------------- fuzzing the edge

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                     max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*SEARCH_FIELDS, "zz"]), st.lists(_json, min_size=1, max_size=2), max_size=6))
def test_parse_search_accepts_or_refuses_with_400(raw):
    try:
        p = parse_search(raw)
    except ApiError as e:
        assert e.status == 400 and (e.field is None or isinstance(e.field, str))
    else:
        assert p.q or p.has_photo_source()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["q", "lang", "k", "page", "label", "price_min", "crop", "brand", "mode"]),
                       st.text(max_size=30), min_size=1, max_size=5))
def test_random_query_strings_never_500(client, args):
    resp = client.get("/api/v1/search", query_string=args)
    assert resp.status_code in (200, 400, 404), resp.get_data(as_text=True)
    if resp.status_code != 200:
        assert_error(resp, resp.status_code)
