"""The indexing job end to end on fake embedders: incremental, removals, rejects, rebuild."""
from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.images import load_image_ref
from indexer.pipeline import Indexer, write_rejects
from search.store.base import Filters, ModelMismatchError
from search.store.embedded import EmbeddedStore
from search.store.schema import MAX_IMAGES
from tests.fakes import FakeTextEmbedder, solid_image, tiny_catalog, write_jsonl


@pytest.fixture
def catalog(tmp_path):
    return tiny_catalog(tmp_path / "cat")


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "index")
    yield s
    s.close()


def test_first_run_indexes_everything(catalog, store, fake_text, fake_image):
    report = Indexer(store, fake_text, fake_image).run(catalog)
    # 2 brands + 2 brand products + 5 products
    assert (report.indexed, report.unchanged, report.removed, report.rejected) == (9, 0, 0, 0)
    assert store.info().count == 9
    assert store.info().models == {"text": "fake-text@1", "image": "fake-image@1"}
    p1 = store.get(["product:p1"])[0]
    assert p1.labels == ["same_foundry", "same_foundry:lululemon"] and p1.factory == "f-oem" and p1.brand == "lululemon"
    assert p1.dupe_of == ["bp-align"] and store.get(["product:p3"])[0].dupe_of == []
    assert store.get(["product:p3"])[0].labels == []                    # f-plain has no endorsement
    assert p1.source["factory"]["ship_within_hours"] == 24 and p1.price_min == 59
    assert p1.image_vector is not None and np.isclose(np.linalg.norm(p1.text_vector), 1.0)
    assert store.get(["product:p5"])[0].image_vector is None          # p5 has no image
    assert "lululemon" in store.get(["brand_product:bp-align"])[0].tokens   # alias folded
    assert [d.id for d in store.scan("brand")] == ["brand:lululemon", "brand:sonicare"]


def test_rerun_on_unchanged_catalog_embeds_nothing(catalog, store, fake_text, fake_image):
    Indexer(store, fake_text, fake_image).run(catalog)
    text_calls, image_calls = fake_text.calls, fake_image.calls
    report = Indexer(store, fake_text, fake_image).run(catalog)
    assert (report.indexed, report.unchanged) == (0, 9)
    assert (fake_text.calls, fake_image.calls) == (text_calls, image_calls)


def test_only_changed_inputs_are_embedded_and_removed_records_leave(catalog, store, fake_text, fake_image):
    Indexer(store, fake_text, fake_image).run(catalog)
    rows = [json.loads(l) for l in (catalog / "products.jsonl").read_text().splitlines()]
    rows[0]["price_tiers"] = [{"min_qty": 2, "price": 69}]          # p1: price only -> no re-embedding
    rows[1]["titles"]["en"] = "Stretch yoga pants with pockets"    # p2: title -> text re-embedded
    del rows[4]                                                     # p5 leaves the catalog
    write_jsonl(catalog / "products.jsonl", rows)
    text_calls, image_calls = fake_text.calls, fake_image.calls
    report = Indexer(store, fake_text, fake_image).run(catalog)
    assert (report.indexed, report.removed) == (2, 1)
    assert fake_text.calls - text_calls == 2                        # p2's two titles
    assert fake_image.calls == image_calls
    assert store.get(["product:p5"]) == [None]
    assert store.get(["product:p1"])[0].price_min == 69
    # changing an image file re-embeds that image only
    (catalog / "img" / "p3.jpg").write_bytes((catalog / "img" / "p4.jpg").read_bytes())
    report = Indexer(store, fake_text, fake_image).run(catalog)
    assert report.indexed == 1 and fake_image.calls == image_calls + 1
    assert fake_text.calls - text_calls == 2


def test_a_new_analysis_version_rewrites_every_document_without_embedding(catalog, store, fake_text, fake_image,
                                                                       monkeypatch):
    from indexer import documents
    Indexer(store, fake_text, fake_image).run(catalog)
    text_calls, image_calls = fake_text.calls, fake_image.calls
    monkeypatch.setattr(documents, "ANALYSIS_VERSION", documents.ANALYSIS_VERSION + "-next")
    report = Indexer(store, fake_text, fake_image).run(catalog)
    assert (report.indexed, report.unchanged) == (9, 0)
    assert (fake_text.calls, fake_image.calls) == (text_calls, image_calls)     # vectors reused


def test_bad_records_and_images_are_reported_and_the_rest_indexed(catalog, store, fake_text, fake_image, tmp_path):
    with (catalog / "products.jsonl").open("a", encoding="utf-8") as f:
        f.write("{not json\n")
        f.write(json.dumps({"id": "p-broken-img", "factory": "f-plain", "titles": {"en": "Kettle"}, "category": "k",
                            "price_tiers": [{"min_qty": 1, "price": 10}], "currency": "CNY", "moq": 1,
                            "images": ["img/broken.jpg"]}) + "\n")
        f.write(json.dumps({"id": "p-missing-img", "factory": "f-plain", "titles": {"en": "Pot"}, "category": "k",
                            "price_tiers": [{"min_qty": 1, "price": 10}], "currency": "CNY", "moq": 1,
                            "images": ["img/nowhere.jpg"]}) + "\n")
    (catalog / "img" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    report = Indexer(store, fake_text, fake_image).run(catalog)
    assert report.indexed == 11 and report.rejected == 3
    reasons = [str(r) for r in report.rejects]
    assert any(r.startswith("products.jsonl:6: invalid JSON") for r in reasons)
    assert any(r.startswith("img/broken.jpg [p-broken-img]: image not indexed") for r in reasons)
    assert any(r.startswith("img/nowhere.jpg [p-missing-img]: image not indexed") for r in reasons)
    kettle = store.get(["product:p-broken-img"])[0]
    assert kettle.text_vector is not None and kettle.image_vector is None   # text still searchable
    out = tmp_path / "rejects.jsonl"
    write_rejects(report.rejects, out)
    first = json.loads(out.read_text().splitlines()[0])
    assert first == {"file": "products.jsonl", "line": 6, "id": None, "reason": first["reason"]}


def test_changing_models_needs_a_rebuild(catalog, store, fake_text, fake_image):
    Indexer(store, fake_text, fake_image).run(catalog)

    class OtherText(FakeTextEmbedder):
        name = "other-text"
    with pytest.raises(ModelMismatchError, match="rebuild"):
        Indexer(store, OtherText(), fake_image).run(catalog)
    with store.rebuilding() as fresh:
        Indexer(fresh, OtherText(), fake_image).run(catalog)
    assert store.info().models["text"] == "other-text@1"
    assert store.info().count == 9


def test_indexed_products_are_searchable_by_filters(catalog, store, fake_text, fake_image):
    Indexer(store, fake_text, fake_image).run(catalog)
    q = fake_text.embed("yoga leggings", query=True)
    hits = store.knn("text", q, 3, Filters(labels=("same_foundry",)))
    assert [h.id for h in hits] == ["product:p1"]
    endorsed = Filters(labels=("same_foundry:lululemon", "equal_quality:lululemon"))
    assert {h.id for h in store.knn("text", q, 10, endorsed)} == {"product:p1", "product:p2"}
    assert store.knn("text", q, 10, Filters(labels=("same_foundry:sonicare",))) == []
    assert {h.id for h in store.bm25(["瑜伽"], 10, Filters(dupe_of=("bp-align",)))} == {"product:p1", "product:p2"}
    p3_image = store.get(["product:p3"])[0].image_vector
    assert store.knn("image", p3_image, 10, Filters(dupe_of=("bp-diamond",))) == []    # no product declares it
    assert {h.id for h in store.bm25(["瑜伽"], 10)} == {"product:p1", "product:p2"}


def test_crash_mid_run_keeps_committed_batches_and_rerun_completes(catalog, store, fake_text, fake_image):
    class Crashing(FakeTextEmbedder):
        def _encode(self, model, items, query):
            self.calls += 1
            if self.calls > 2:
                raise KeyboardInterrupt("killed")
            return super()._encode(model, items, query)
    with pytest.raises(KeyboardInterrupt):
        Indexer(store, Crashing(), fake_image, batch_size=2).run(catalog)
    partial = store.info().count
    assert 0 < partial < 9
    report = Indexer(store, fake_text, fake_image, batch_size=2).run(catalog)
    assert report.unchanged == partial and store.info().count == 9


# -- every image of a record ---------------------------------------------------------------------
def add_views(catalog, product_views: dict[str, list[str]], brand_views: dict[str, list[str]] = {}) -> None:
    """Give products (and brand products) these images (paths under the catalog), main first."""
    for name, views in (("products.jsonl", product_views), ("brand_products.jsonl", brand_views)):
        rows = [json.loads(line) for line in (catalog / name).read_text().splitlines()]
        for r in rows:
            if r["id"] in views:
                r["images"] = views[r["id"]]
        write_jsonl(catalog / name, rows)


VIEWS = {"back": (200, 30, 30), "sole": (240, 200, 0), "box": (120, 0, 160), "tag": (0, 140, 140),
         "extra": (90, 60, 10)}


@pytest.fixture
def views(catalog):
    for name, colour in VIEWS.items():
        solid_image(catalog / "img" / f"{name}.jpg", colour)
    return catalog


def photo_of(catalog, name: str, fake_image) -> np.ndarray:
    """What a buyer's photo of that view embeds to (the same picture, as a query)."""
    return fake_image.embed(load_image_ref(f"img/{name}.jpg", catalog), query=True)


def test_a_product_is_found_by_the_photo_its_second_image_shows(views, store, fake_text, fake_image):
    add_views(views, {"p4": ["img/p4.jpg", "img/back.jpg"]}, {"bp-diamond": ["img/bp-diamond.jpg", "img/sole.jpg"]})
    report = Indexer(store, fake_text, fake_image).run(views)
    assert report.images_embedded == 8                        # 6 main images + the two second ones
    assert len(store.get(["product:p4"])[0].image_vectors) == 2
    hit = store.knn("image", photo_of(views, "back", fake_image), 1)[0]
    assert hit.id == "product:p4" and hit.score > 0.99            # first image only: p4 is far from it
    hits = store.knn("image", photo_of(views, "sole", fake_image), 3, Filters(kind="brand_product"))
    assert hits[0].id == "brand_product:bp-diamond" and hits[0].score > 0.99
    assert [h.id for h in store.knn("image", photo_of(views, "p4", fake_image), 9)].count("product:p4") == 1

    # Re-indexing unchanged images embeds nothing; a changed image re-embeds that image only.
    image_calls = fake_image.calls
    assert Indexer(store, fake_text, fake_image).run(views).unchanged == 9 and fake_image.calls == image_calls
    (views / "img" / "back.jpg").write_bytes((views / "img" / "tag.jpg").read_bytes())
    report = Indexer(store, fake_text, fake_image).run(views)
    assert (report.indexed, report.images_embedded, fake_image.calls) == (1, 1, image_calls + 1)
    assert store.knn("image", photo_of(views, "tag", fake_image), 1)[0].id == "product:p4"
    # Fewer images: the dropped one no longer finds it, and nothing is embedded.
    add_views(views, {"p4": ["img/p4.jpg"]})
    report = Indexer(store, fake_text, fake_image).run(views)
    assert (report.indexed, report.images_embedded) == (1, 0)
    assert store.knn("image", photo_of(views, "tag", fake_image), 1)[0].score < 0.9


def test_images_are_embedded_up_to_the_cap_once_each(views, store, fake_text, fake_image):
    refs = [f"img/{name}.jpg" for name in VIEWS]                  # 5 distinct images, one twice
    add_views(views, {"p5": [refs[0], refs[0], *refs[1:]]})
    report = Indexer(store, fake_text, fake_image).run(views)
    assert report.images_embedded == 6 + MAX_IMAGES
    p5 = store.get(["product:p5"])[0]
    assert len(p5.image_vectors) == MAX_IMAGES and p5.source["_keys"]["image"][0].split("|")[1] == refs[0]
    assert store.knn("image", photo_of(views, "tag", fake_image), 1)[0].id == "product:p5"        # 4th: in
    assert store.knn("image", photo_of(views, "extra", fake_image), 1)[0].id != "product:p5"      # 5th: beyond


def test_an_image_that_fails_is_reported_and_the_others_indexed_and_retried(views, store, fake_text, fake_image):
    add_views(views, {"p4": ["img/p4.jpg", "img/later.jpg", "img/back.jpg"]})
    report = Indexer(store, fake_text, fake_image).run(views)
    assert [str(r) for r in report.rejects if "later.jpg" in str(r)][0].startswith(
        "img/later.jpg [p4]: image not indexed")
    p4 = store.get(["product:p4"])[0]
    assert len(p4.image_vectors) == 2
    assert store.knn("image", photo_of(views, "back", fake_image), 1)[0].id == "product:p4"
    image_calls = fake_image.calls
    report = Indexer(store, fake_text, fake_image).run(views)      # still missing: tried (and reported) again
    assert report.indexed == 1 and report.rejected == 1 and fake_image.calls == image_calls
    solid_image(views / "img" / "later.jpg", VIEWS["box"])
    report = Indexer(store, fake_text, fake_image).run(views)
    assert (report.indexed, report.rejected, report.images_embedded) == (1, 0, 1)     # the others reused
    assert len(store.get(["product:p4"])[0].image_vectors) == 3
    assert store.knn("image", photo_of(views, "box", fake_image), 1)[0].id == "product:p4"
    assert Indexer(store, fake_text, fake_image).run(views).indexed == 0


def test_vectors_stored_with_one_image_key_are_reused(views, store, fake_text, fake_image):
    """Documents written before records had several images keep their one key as a string."""
    Indexer(store, fake_text, fake_image).run(views)
    p1 = store.get(["product:p1"])[0]
    p1.source["_keys"]["image"] = p1.source["_keys"]["image"][0]
    p1.content_hash = "as written by the previous version"
    store.upsert([p1])
    add_views(views, {"p1": ["img/p1.jpg", "img/back.jpg"]})
    report = Indexer(store, fake_text, fake_image).run(views)
    assert (report.indexed, report.images_embedded) == (1, 1)        # the main image's vector reused
