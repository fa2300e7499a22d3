"""Paging of the API and its one id scheme, on a real index (fake embedders) of a catalog
with several pages of leggings, listings that tie (same title, same photo) and factories
with several listings.

Every page of a query is cut from one result list: walking the pages (by ``page`` or by
the ``next`` cursor) must see each id once, the same ``total`` on every page, and together
exactly the first page at a large ``k``. Ids are record ids everywhere; the query echo
uses the request's parameter names.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from indexer.pipeline import Indexer
from search import models
from search.engine import SearchEngine
from search.ranking import Candidate, rank
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, solid_image, tiny_catalog, write_jsonl
from tests.test_web_helpers import TODAY, make_app
from web.params import SEARCH_FIELDS

WORDS = ("high-rise", "nude-feel", "seamless", "ribbed", "pocket", "cropped", "flare", "compression", "brushed")
FACTORIES = 12
LISTINGS = 72


def paging_catalog(folder: Path) -> Path:
    """``tiny_catalog`` plus 72 leggings of 12 factories (4 endorsed for lululemon), every
    ninth one a copy of another (same title, same photo: equal scores)."""
    tiny_catalog(folder)
    factories = [json.loads(line) for line in (folder / "factories.jsonl").read_text().splitlines()]
    endorsement = {"brand": "lululemon", "evidence": "audited", "verified_by": "QA",
                   "verified_at": "2026-01-01", "expires_at": "2027-01-01"}
    for f in range(FACTORIES):
        kind = ("same_foundry", "equal_quality", None)[f % 3] if f < 6 else None
        factories.append({"id": f"f-l{f:02d}", "names": {"en": f"Leggings works {f}"}, "region": "Fujian",
                          "ship_within_hours": 24 + f,
                          "endorsements": [{**endorsement, "type": kind}] if kind else []})
    write_jsonl(folder / "factories.jsonl", factories)
    products = [json.loads(line) for line in (folder / "products.jsonl").read_text().splitlines()]
    for i in range(LISTINGS):
        twin = i - 1 if i % 9 == 8 else i          # same title and photo as the one before
        title = f"{WORDS[twin % len(WORDS)]} {WORDS[(twin // 3) % len(WORDS)]} yoga leggings {twin % 7}"
        products.append({"id": f"l-{i:03d}", "factory": f"f-l{i % FACTORIES:02d}", "titles": {"en": title},
                         "category": "leggings", "price_tiers": [{"min_qty": 10, "price": 40 + twin % 30}],
                         "currency": "CNY", "moq": 10, "images": [f"img/l-{twin:03d}.jpg"],
                         **({"dupe_of": ["bp-align"]} if i % 5 == 0 else {})})
        solid_image(folder / "img" / f"l-{twin:03d}.jpg", (20 + 3 * twin % 200, 20, 40 + twin % 150))
    write_jsonl(folder / "products.jsonl", products)
    return folder


class Today:
    """A settable "today" for the engine (the day a cursor was made for can pass)."""

    def __init__(self) -> None:
        self.day = TODAY

    def __call__(self) -> dt.date:
        return self.day


def build(root: Path) -> tuple[SearchEngine, Path, Path]:
    cat = paging_catalog(root / "catalog")
    store = EmbeddedStore(root / "index")
    report = Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    assert report.rejected == 0, report.rejects
    return SearchEngine(store, FakeTextEmbedder(), FakeImageEmbedder(), None, today=Today()), cat, root / "index"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("paging"))


def get(client, path: str = "/api/v1/search", **args) -> dict:
    resp = client.get(path, query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def shown_ids(data: dict) -> list[str]:
    """The ids a page shows: its results and the listings collapsed into them."""
    return [x["id"] for r in data["results"] for x in (r, *r["more"])]


QUERIES = [("/api/v1/search", {"q": "yoga leggings"}),
           ("/api/v1/search", {"q": "lululemon leggings"}),                  # tiers: labelled first
           ("/api/v1/brand-products/bp-align/dupes", {})]


@pytest.mark.parametrize("path, query", QUERIES)
@pytest.mark.parametrize("group", ["true", "false"])
def test_pages_are_cut_from_one_list(client, path, query, group):
    args = {**query, "group_by_factory": group}
    whole = get(client, path, **args, k=100)
    k = 4 if group == "true" else 10
    assert whole["total"] == len(whole["results"]) > 2 * k        # several pages, all within k=100
    assert whole["next"] is None

    by_page, totals, page = [], set(), 1
    while True:
        data = get(client, path, **args, k=k, page=page)
        totals.add(data["total"])
        if not data["results"]:
            break
        assert (data["page"], data["offset"]) == (page, (page - 1) * k)
        by_page.append(data)
        page += 1
    assert totals == {whole["total"]}
    ids = [i for d in by_page for i in shown_ids(d)]
    assert len(ids) == len(set(ids))                                 # no id on two pages
    assert ids == shown_ids(whole)                                   # the pages are the large page, in order
    assert [d["next"] is None for d in by_page] == [False] * (len(by_page) - 1) + [True]

    walked, data = [], get(client, path, **args, k=k)
    walked.append(data)
    while data["next"]:
        data = get(client, path, **args, k=k, cursor=data["next"])
        assert data["total"] == whole["total"] and data["query"]["cursor"] and data["query"]["page"] is None
        walked.append(data)
    assert [shown_ids(d) for d in walked] == [shown_ids(d) for d in by_page]


def test_a_cursor_may_change_k(client):
    whole = shown_ids(get(client, q="yoga leggings", group_by_factory="false", k=100))
    first = get(client, q="yoga leggings", group_by_factory="false", k=3)
    second = get(client, q="yoga leggings", group_by_factory="false", k=7, cursor=first["next"])
    assert shown_ids(first) + shown_ids(second) == whole[:10]
    assert (second["offset"], second["page"], second["k"]) == (3, 1, 7)       # page: where offset 3 falls
    third = get(client, q="yoga leggings", group_by_factory="false", k=5, cursor=second["next"])
    assert third["offset"] == 10 and shown_ids(third) == whole[10:15] and third["page"] == 3


def test_cursor_in_json_post_and_batch_items(client):
    body = {"q": "yoga leggings", "k": 5, "group_by_factory": False}
    first = client.post("/api/v1/search", json=body).get_json()
    second = client.post("/api/v1/search", json={**body, "cursor": first["next"]}).get_json()
    assert shown_ids(second) == shown_ids(get(client, q="yoga leggings", k=5, page=2, group_by_factory="false"))
    batch = client.post("/api/v1/search/batch", json={"items": [
        {**body, "cursor": first["next"], "id": "a"},
        {**body, "q": "lululemon leggings", "cursor": first["next"], "id": "b"},
        {**body, "cursor": "not a cursor", "id": "c"}]}).get_json()
    assert batch["items"][0]["status"] == 200 and shown_ids(batch["items"][0]["result"]) == shown_ids(second)
    assert [(i["status"], i["error"]["code"]) for i in batch["items"][1:]] == [
        (400, "cursor_mismatch"), (400, "invalid_cursor")]


def _token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_bad_cursors_are_400_naming_the_field(client):
    good = get(client, q="yoga leggings", k=5)["next"]
    fields = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    cases = [({"q": "yoga leggings", "cursor": good, "page": 2}, "invalid_parameter"),
             ({"q": "yoga pants", "cursor": good}, "cursor_mismatch"),
             ({"q": "yoga leggings", "cursor": good, "label": "same_foundry"}, "cursor_mismatch"),
             ({"q": "yoga leggings", "cursor": good, "group_by_factory": "false"}, "cursor_mismatch"),
             ({"q": "yoga leggings", "cursor": "%%%"}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": "abc"}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": _token([1, 2])}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": _token({**fields, "v": 99})}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": _token({**fields, "o": -5})}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": _token({**fields, "o": 10**9})}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": _token({**fields, "g": "1"})}, "invalid_cursor"),
             ({"q": "yoga leggings", "cursor": "A" * 500}, "invalid_cursor")]
    for args, code in cases:
        resp = client.get("/api/v1/search", query_string=args)
        err = resp.get_json()["error"]
        assert (resp.status_code, err["code"], err["field"]) == (400, code, "cursor"), (args, err)
    assert "restart the query" in client.get("/api/v1/search", query_string=cases[1][0]).get_json()["error"]["message"]
    # A brand product's cursor is not another one's.
    dupes = get(client, "/api/v1/brand-products/bp-align/dupes", k=2)
    resp = client.get("/api/v1/brand-products/bp-diamond/dupes", query_string={"cursor": dupes["next"]})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "cursor_mismatch"


def test_a_cursor_expires_when_the_index_or_the_day_changes(tmp_path):
    engine, cat, _ = build(tmp_path)
    client = make_app(tmp_path, (engine, cat, tmp_path / "index")).test_client()
    first = get(client, q="yoga leggings", k=5)
    assert get(client, q="yoga leggings", k=5, cursor=first["next"])["offset"] == 5

    engine.today.day = TODAY + dt.timedelta(days=1)        # labels may have expired overnight
    resp = client.get("/api/v1/search", query_string={"q": "yoga leggings", "k": 5, "cursor": first["next"]})
    err = resp.get_json()["error"]
    assert (resp.status_code, err["code"], err["field"]) == (410, "cursor_expired", "cursor")
    assert "day" in err["message"] and "restart the query" in err["message"]

    fresh = get(client, q="yoga leggings", k=5)
    products = (cat / "products.jsonl").read_text().splitlines()
    extra = json.loads(products[-1]) | {"id": "l-new", "titles": {"en": "ribbed yoga leggings new"}}
    (cat / "products.jsonl").write_text("\n".join([*products, json.dumps(extra)]) + "\n")
    Indexer(engine.store, FakeTextEmbedder(), FakeImageEmbedder()).run(cat)
    resp = client.get("/api/v1/search", query_string={"q": "yoga leggings", "k": 5, "cursor": fresh["next"]})
    err = resp.get_json()["error"]
    assert (resp.status_code, err["code"]) == (410, "cursor_expired") and "index changed" in err["message"]
    assert get(client, q="yoga leggings", k=5, page=2)["results"]        # the query restarts fine


def test_equal_scores_are_ordered_by_id():
    """A total order: candidates that tie keep no order of their own (the fused list's,
    the store's), so pages cut from two computations of one list would differ."""
    def cand(pid: str) -> Candidate:
        listing = models.listing({"id": pid, "titles": {"en": "yoga leggings"}, "category": "leggings",
                                  "price_tiers": [{"min_qty": 1, "price": 50}], "currency": "CNY",
                                  "factory": {"id": f"f-{pid}", "names": {"en": pid}}})
        return Candidate(pid, 1.0, {"text": 0.9}, listing)
    for brand in (None, "lulu"):
        results = rank([cand("c"), cand("a"), cand("b")], target=None, brand=brand, brand_products={},
                       today=TODAY)
        assert [r.id for r in results] == ["a", "b", "c"]


# ----------------------------------------------------------------------------- one id scheme


def test_the_api_speaks_record_ids_only(client):
    internal = re.compile(r"^(product|brand_product|brand):")
    for args in ({"q": "lululemon leggings", "k": 100}, {"q": "yoga leggings", "k": 100},
                 {"q": "toothbrush flosser", "k": 100}):
        data = get(client, **args)
        more = [m["id"] for r in data["results"] for m in r["more"]]
        assert more, "the catalog has factories with several listings: some are collapsed"
        for pid in shown_ids(data):
            assert not internal.match(pid)
            assert client.get(f"/api/v1/products/{pid}").status_code == 200, pid
        replaced = [x for r in data["results"] for x in [(r["replaces"] or {}).get("id"),
                                                         *(m["replaces"] for m in r["more"])] if x]
        assert replaced and all(not internal.match(x) and x.startswith("bp-") for x in replaced)
        assert not re.search(r'"(product|brand_product|brand):', json.dumps(data))
    resp = client.get("/api/v1/products/product:p1")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_the_query_echo_uses_the_request_parameter_names(client):
    data = get(client, q="lululemon leggings", label="same_foundry", k=5)
    echo = data["query"]
    assert set(echo) <= set(SEARCH_FIELDS) and "labels" not in echo
    assert echo["label"] == ["same_foundry"] and echo["k"] == 5 and echo["cursor"] is None
    again = get(client, **{name: v for name, v in echo.items() if v not in (None, [])})
    assert shown_ids(again) == shown_ids(data)                      # the echo is a request that repeats it
