"""The indexing job end to end on fake embedders: incremental, removals, rejects, rebuild."""
from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.pipeline import Indexer, write_rejects
from search.store.base import Filters, ModelMismatchError
from search.store.embedded import EmbeddedStore
from tests.conftest import FakeTextEmbedder, tiny_catalog, write_jsonl


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
