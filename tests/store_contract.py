"""The contract every storage backend must meet.

A backend's test module subclasses ``StoreContract`` and provides a ``make_store``
fixture: ``make_store(name="default") -> Store`` returns a fresh, empty store the first
time a name is used, and reopens that same index when called again with the name.
"""
from __future__ import annotations

import numpy as np
import pytest

from search.store import schema
from search.store.base import Filters, IndexDoc, ModelMismatchError, StoreError

MODELS = {"text": "fake-text@1", "image": "fake-image@1"}
DIMS = {"text": 8, "image": 6}


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def doc(i: str, tokens: str, *, text=None, image=None, images=(), kind="product", **fields) -> IndexDoc:
    """A document; ``image`` is its one image vector, ``images`` its several (main first)."""
    images = [image] if image is not None else list(images)
    return IndexDoc(id=i, kind=kind, source={"id": i, "title": tokens}, tokens=tokens.split(),
                    content_hash=f"h-{i}-{tokens}", text_vector=None if text is None else unit(text),
                    image_vectors=tuple(unit(v) for v in images), **fields)


def basis(n: int, i: int) -> list[float]:
    v = [0.01] * n
    v[i] = 1.0
    return v


def catalog_docs() -> list[IndexDoc]:
    return [
        doc("p1", "yoga leggings high waist nylon", text=basis(8, 0), image=basis(6, 0), category="leggings",
            price_min=40.0, moq=2, region="yiwu", ship_within_hours=24, factory="f1",
            labels=["same_foundry", "same_foundry:lululemon"], dupe_of=["bp-align"], certifications=["BSCI", "ISO 9001"]),
        doc("p2", "yoga leggings cotton", text=basis(8, 1), image=basis(6, 1), category="leggings",
            price_min=25.0, moq=50, region="jinjiang", ship_within_hours=48, factory="f2",
            labels=["equal_quality", "equal_quality:lululemon"], dupe_of=["bp-align", "bp-wunder"],
            certifications=["OEKO-TEX Standard 100"]),
        doc("p3", "electric toothbrush sonic", text=basis(8, 2), image=basis(6, 2), category="toothbrush",
            price_min=90.0, moq=10, region="shenzhen", ship_within_hours=72, factory="f3",
            labels=["same_foundry", "same_foundry:sonicare"], dupe_of=["bp-diamond"], certifications=["CE", "ISO 9001"]),
        doc("p4", "water flosser 露露乐蒙 瑜伽", text=basis(8, 3), category="flosser",
            price_min=120.0, moq=5, region="shenzhen", ship_within_hours=24, factory="f3",
            labels=["same_foundry", "same_foundry:sonicare"]),
        doc("b1", "lululemon align pant yoga leggings", text=basis(8, 0), image=basis(6, 0), kind="brand_product",
            category="leggings", brand="lululemon", price_min=850.0),
    ]


class MultiImageContract:
    """A document with several images (``IndexDoc.image_vectors``): found by any of them,
    once, scored by its best one; filters apply; updates and deletes leave no stale image.
    Part of ``StoreContract``."""

    # Three images of one product (front, back, detail), unlike the catalog's images and
    # alike each other (cosine ~0.37 to the back view), so that a document not returned
    # once would take several of the top places.
    IMAGES = [[0.01, 0.01, 0.01, 1.0, 0.4, 0.01], basis(6, 4), [0.01, 0.01, 0.01, 0.01, 0.4, 1.0]]

    def teapot(self, n: int = 3, **fields) -> IndexDoc:
        return doc("m1", "enamel teapot", text=basis(8, 6), images=self.IMAGES[:n], category="teapot", **fields)

    def test_a_document_is_found_by_each_of_its_images_once(self, store):
        store.upsert(catalog_docs() + [self.teapot()])
        for image in self.IMAGES:           # the 2nd and 3rd fail when only the main image is indexed
            hits = store.knn("image", unit(image), 10)
            assert hits[0].id == "m1" and hits[0].score == pytest.approx(1.0, abs=2e-2)
            assert sorted(h.id for h in hits) == ["m1", "p1", "p2", "p3"]          # one hit per document
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert [h.id for h in store.knn("image", unit(self.IMAGES[2]), 1)] == ["m1"]

    def test_get_returns_every_image_vector_main_first(self, store):
        store.upsert([self.teapot()])
        got, bare = store.get(["m1"])[0], store.get(["m1"], vectors=False)[0]
        np.testing.assert_allclose(np.stack(got.image_vectors), np.stack([unit(v) for v in self.IMAGES]), atol=1e-6)
        np.testing.assert_allclose(got.image_vector, unit(self.IMAGES[0]), atol=1e-6)
        assert bare.image_vectors == () and bare.image_vector is None

    def test_filters_apply_to_documents_found_by_a_later_image(self, store):
        store.upsert(catalog_docs() + [self.teapot(price_min=30.0, dupe_of=["bp-pot"])])
        q = unit(self.IMAGES[2])
        assert "m1" not in {h.id for h in store.knn("image", q, 10, Filters(category="leggings"))}
        assert "m1" not in {h.id for h in store.knn("image", q, 10, Filters(price_max=20.0))}
        assert "m1" not in {h.id for h in store.knn("image", q, 10, Filters(kind="brand_product"))}
        for f in (Filters(category="teapot"), Filters(dupe_of=("bp-pot",)), Filters(ids=("m1", "p1")),
                  Filters(price_min=25.0, price_max=35.0)):
            assert store.knn("image", q, 10, f)[0].id == "m1", f

    def test_fewer_images_leave_no_stale_vector_and_delete_removes_all(self, store):
        store.upsert(catalog_docs() + [self.teapot()])
        store.upsert([self.teapot(n=1)])
        assert len(store.get(["m1"])[0].image_vectors) == 1
        assert store.knn("image", unit(self.IMAGES[0]), 1)[0].id == "m1"
        for gone in self.IMAGES[1:]:         # the old 2nd and 3rd images find it no more
            hits = store.knn("image", unit(gone), 10)
            assert not [h for h in hits if h.score > 0.5], hits
        store.upsert([self.teapot(n=3)])
        assert store.knn("image", unit(self.IMAGES[2]), 1)[0].id == "m1"
        store.delete(["m1"])
        for image in self.IMAGES:
            assert "m1" not in {h.id for h in store.knn("image", unit(image), 10, Filters(kind=None))}
        assert store.knn("image", unit(self.IMAGES[1]), 10, Filters(ids=("m1",))) == []

    def test_more_images_than_the_most_stored_are_refused(self, store):
        too_many = doc("m2", "many views", images=[basis(6, i % 6) for i in range(schema.MAX_IMAGES + 1)])
        with pytest.raises(StoreError, match="m2"):
            store.upsert([too_many])
        assert store.get(["m2"]) == [None]


class StoreContract(MultiImageContract):
    @pytest.fixture
    def store(self, make_store):
        s = make_store()
        s.set_models(MODELS, DIMS)
        return s

    def test_upsert_then_get_round_trips(self, store):
        store.upsert(catalog_docs())
        got = store.get(["p1", "missing", "b1"])
        assert got[1] is None
        p1, b1 = got[0], got[2]
        assert p1.id == "p1" and p1.kind == "product" and b1.kind == "brand_product"
        assert p1.source == {"id": "p1", "title": "yoga leggings high waist nylon"}
        assert p1.tokens == "yoga leggings high waist nylon".split()
        assert (p1.category, p1.price_min, p1.moq, p1.region, p1.ship_within_hours, p1.factory) == \
            ("leggings", 40.0, 2, "yiwu", 24, "f1")
        assert p1.labels == ["same_foundry", "same_foundry:lululemon"] and b1.brand == "lululemon"
        assert p1.dupe_of == ["bp-align"] and got[2].dupe_of == [] and b1.labels == []
        assert p1.certifications == ["BSCI", "ISO 9001"] and b1.certifications == []
        assert store.get(["p2"])[0].dupe_of == ["bp-align", "bp-wunder"]
        np.testing.assert_allclose(p1.text_vector, unit(basis(8, 0)), atol=1e-6)
        assert store.get(["p4"])[0].image_vector is None
        assert store.info().count == 5

    def test_every_filter_field_round_trips(self, store):
        def value(name: str, kind: str):
            if name == "kind":
                return "product"
            if name in schema.MULTI_VALUED:
                return [f"{name} a", f"{name}-b"]          # catalog values may hold spaces
            return {"keyword": f"{name}-value", "integer": 7, "float": 1.5}[kind]
        values = {name: value(name, kind) for name, kind in schema.FILTER_FIELDS.items()}
        store.upsert([IndexDoc(id="x1", source={}, tokens=["x"], content_hash="h", text_vector=unit(basis(8, 0)),
                               **values)])
        for got in (store.get(["x1"])[0], store.get(["x1"], vectors=False)[0], store.scan("product")[0]):
            assert {name: getattr(got, name) for name in schema.FILTER_FIELDS} == values

    def test_get_without_vectors_keeps_everything_else(self, store):
        store.upsert(catalog_docs())
        full, = store.get(["p1"])
        bare, missing = store.get(["p1", "missing"], vectors=False)
        assert missing is None
        assert bare.text_vector is None and bare.image_vector is None
        assert full.text_vector is not None and full.image_vector is not None
        assert (bare.id, bare.source, bare.tokens, bare.labels, bare.dupe_of, bare.category, bare.price_min) == \
            (full.id, full.source, full.tokens, full.labels, full.dupe_of, full.category, full.price_min)

    def test_upsert_replaces_and_delete_removes_everywhere(self, store):
        store.upsert(catalog_docs())
        store.upsert([doc("p3", "ceramic pot enamel", text=basis(8, 5), image=basis(6, 5), category="pot")])
        assert store.get(["p3"])[0].category == "pot"
        assert store.bm25(["toothbrush"], 10) == []
        assert [h.id for h in store.bm25(["enamel"], 10)] == ["p3"]
        store.delete(["p3", "never-existed"])
        assert store.get(["p3"]) == [None]
        assert store.bm25(["enamel"], 10) == []
        assert "p3" not in [h.id for h in store.knn("text", unit(basis(8, 5)), 10)]
        assert store.info().count == 4
        assert set(store.hashes()) == {"p1", "p2", "p4", "b1"}

    def test_scan_lists_one_kind_without_vectors(self, store):
        store.upsert(catalog_docs() + [doc("brand:lululemon", "lululemon 露露乐蒙", kind="brand", brand="lululemon")])
        brands = store.scan("brand")
        assert [d.id for d in brands] == ["brand:lululemon"]
        assert brands[0].source["title"] == "lululemon 露露乐蒙" and brands[0].text_vector is None
        products = store.scan("product")
        assert [d.id for d in products] == ["p1", "p2", "p3", "p4"]
        assert [d.dupe_of for d in products] == [["bp-align"], ["bp-align", "bp-wunder"], ["bp-diamond"], []]
        assert products[2].labels == ["same_foundry", "same_foundry:sonicare"]
        assert store.bm25(["lululemon"], 10) == []        # brands are not products

    def test_hashes_report_content_hash(self, store):
        store.upsert(catalog_docs()[:2])
        assert store.hashes() == {"p1": "h-p1-yoga leggings high waist nylon", "p2": "h-p2-yoga leggings cotton"}

    def test_bm25_ranks_by_term_rarity_and_tf(self, store):
        store.upsert(catalog_docs())
        hits = store.bm25(["nylon", "leggings"], 10)
        assert hits[0].id == "p1"                     # matches the rare term too
        assert {h.id for h in hits} == {"p1", "p2"}   # kind=product by default: b1 excluded
        assert all(h.score > 0 for h in hits)
        assert hits[0].score > hits[1].score

    def test_bm25_handles_chinese_tokens_and_no_match(self, store):
        store.upsert(catalog_docs())
        assert [h.id for h in store.bm25(["露露乐蒙"], 10)] == ["p4"]
        assert store.bm25(["nonexistent"], 10) == []
        assert store.bm25([], 10) == []

    def test_query_tokens_are_never_query_syntax(self, store):
        store.upsert(catalog_docs())
        for evil in ['"', "yoga OR", "NOT", "*", "leggings)", "NEAR(a b)", "' OR 1=1 --", "{}:^"]:
            assert isinstance(store.bm25([evil], 10), list)

    @pytest.mark.parametrize("filters, expected", [
        (Filters(category="leggings"), {"p1", "p2"}),
        (Filters(price_max=50.0), {"p1", "p2"}),
        (Filters(price_min=30.0, price_max=100.0), {"p1", "p3"}),
        (Filters(moq_max=10), {"p1", "p3", "p4"}),
        (Filters(labels=("same_foundry",)), {"p1", "p3", "p4"}),
        (Filters(labels=("same_foundry", "equal_quality")), {"p1", "p2", "p3", "p4"}),
        (Filters(labels=("equal_quality",)), {"p2"}),
        # brand-scoped labels: exact values, any of them
        (Filters(labels=("same_foundry:lululemon", "equal_quality:lululemon")), {"p1", "p2"}),
        (Filters(labels=("same_foundry:sonicare",)), {"p3", "p4"}),
        (Filters(labels=("equal_quality:sonicare",)), set()),
        (Filters(labels=("same_foundry:lulu", "lululemon", "same")), set()),       # never a part of a value
        (Filters(labels=("same_foundry:lululemon",), region="shenzhen"), set()),
        # dupe_of: any of these brand product ids, alone and with other filters
        (Filters(dupe_of=("bp-align",)), {"p1", "p2"}),
        (Filters(dupe_of=("bp-wunder", "bp-diamond")), {"p2", "p3"}),
        (Filters(dupe_of=("bp-align", "bp-align", "bp-nothing")), {"p1", "p2"}),
        (Filters(dupe_of=("bp-nothing",)), set()),
        (Filters(dupe_of=("bp", "align")), set()),                                   # never a part of an id
        (Filters(dupe_of=("bp-align",), labels=("same_foundry:lululemon",)), {"p1"}),
        (Filters(dupe_of=("bp-align", "bp-diamond"), labels=("same_foundry",)), {"p1", "p3"}),
        (Filters(dupe_of=("bp-align",), price_max=30.0), {"p2"}),
        (Filters(dupe_of=("bp-align", "bp-diamond"), category="toothbrush", moq_max=10), {"p3"}),
        (Filters(dupe_of=("bp-align",), ids=("p1", "p3")), {"p1"}),
        (Filters(dupe_of=("bp-align",), kind="brand_product"), set()),
        (Filters(dupe_of=("bp-align",), kind=None), {"p1", "p2"}),
        # certifications: any of these exact values, spaces and all
        (Filters(certifications=("ISO 9001",)), {"p1", "p3"}),
        (Filters(certifications=("OEKO-TEX Standard 100", "CE")), {"p2", "p3"}),
        (Filters(certifications=("ISO", "9001", "Standard")), set()),                 # never a part of a value
        (Filters(certifications=("ISO 9001",), labels=("same_foundry:lululemon",)), {"p1"}),
        (Filters(certifications=("ISO 9001",), price_max=50.0), {"p1"}),
        (Filters(certifications=("BSCI",), kind="brand_product"), set()),
        (Filters(region="shenzhen"), {"p3", "p4"}),
        (Filters(ship_within_max=24), {"p1", "p4"}),
        (Filters(factory="f3"), {"p3", "p4"}),
        (Filters(ids=("p2", "p4")), {"p2", "p4"}),
        (Filters(ids=()), set()),
        (Filters(kind="brand_product"), {"b1"}),
        (Filters(kind=None), {"p1", "p2", "p3", "p4", "b1"}),
        (Filters(kind="brand_product", brand="lululemon"), {"b1"}),
    ])
    def test_filters_apply_inside_both_retrievals(self, store, filters, expected):
        store.upsert(catalog_docs())
        every_token = ["yoga", "leggings", "toothbrush", "flosser", "nylon", "cotton"]
        assert {h.id for h in store.bm25(every_token, 10, filters)} == expected
        assert {h.id for h in store.knn("text", unit(np.ones(8)), 10, filters)} == expected
        with_image = {i for i in expected if i != "p4"}
        assert {h.id for h in store.knn("image", unit(np.ones(6)), 10, filters)} == with_image

    def test_filters_follow_changes_of_dupe_of_and_labels(self, store):
        store.upsert(catalog_docs())
        f = Filters(dupe_of=("bp-align",))
        q = unit(np.ones(8))
        assert {h.id for h in store.knn("text", q, 10, f)} == {"p1", "p2"}
        p1, p4 = store.get(["p1", "p4"])
        p1.dupe_of, p4.dupe_of, p4.labels = [], ["bp-diamond", "bp-align"], ["equal_quality:lululemon"]
        store.upsert([p1, p4])
        assert {h.id for h in store.knn("text", q, 10, f)} == {"p2", "p4"}
        assert {h.id for h in store.bm25(["yoga", "flosser"], 10, f)} == {"p2", "p4"}
        assert {h.id for h in store.knn("image", unit(np.ones(6)), 10, f)} == {"p2"}     # p4 has no image
        assert {h.id for h in store.bm25(["yoga", "flosser"], 10, Filters(labels=("equal_quality:lululemon",)))} \
            == {"p2", "p4"}
        store.delete(["p2"])
        assert {h.id for h in store.knn("text", q, 10, f)} == {"p4"}

    def test_knn_returns_cosine_scores_best_first(self, store):
        store.upsert(catalog_docs())
        hits = store.knn("text", unit(basis(8, 1)), 3)
        assert hits[0].id == "p2"
        assert hits[0].score == pytest.approx(1.0, abs=2e-2)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert "p4" not in [h.id for h in store.knn("image", unit(basis(6, 3)), 10)]   # p4 has no image

    def test_knn_matches_brute_force_on_random_data(self, store):
        rng = np.random.default_rng(7)
        vecs = rng.normal(size=(120, 8)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.upsert([doc(f"r{i}", "w", text=v, price_min=float(i)) for i, v in enumerate(vecs)])
        for q in rng.normal(size=(5, 8)):
            q = unit(q)
            truth = [f"r{i}" for i in np.argsort(-(vecs @ q))[:10]]
            got = [h.id for h in store.knn("text", q, 10)]
            assert len(set(got) & set(truth)) >= 9
            assert got[0] == truth[0]
            cheap = [f"r{i}" for i in np.argsort(-(vecs @ q)) if i < 30][:5]
            assert [h.id for h in store.knn("text", q, 5, Filters(price_max=29.5))][0] == cheap[0]

    def test_models_recorded_and_mismatch_refused(self, store):
        store.upsert(catalog_docs()[:1])
        assert store.info().models == MODELS
        assert store.info().dims == DIMS
        store.check_models(MODELS)
        with pytest.raises(ModelMismatchError):
            store.check_models({"text": "other-model@2"})
        with pytest.raises(ModelMismatchError):
            store.set_models({"text": "other-model@2", "image": "fake-image@1"}, DIMS)

    def test_vectors_that_are_not_unit_vectors_are_refused_whole(self, store):
        huge, nan, long = doc("x1", "huge", text=basis(8, 0)), doc("x2", "nan", image=basis(6, 0)), \
            doc("x3", "long", text=basis(8, 1))
        huge.text_vector = np.full(8, 1e30, dtype=np.float32)          # once the top result of every query
        nan.image_vectors = (np.full(6, np.nan, dtype=np.float32),)
        long.text_vector = long.text_vector * 3
        with pytest.raises(StoreError) as err:
            store.upsert([catalog_docs()[0], huge, nan, long])
        assert all(i in str(err.value) for i in ("x1", "x2", "x3")) and "length" in str(err.value)
        assert store.info().count == 0

    def test_health_answers(self, store):
        store.upsert(catalog_docs())
        health = store.health()
        assert health.failing is None and health.problems == ()

    def test_survives_reopen(self, make_store):
        s = make_store("persist")
        s.set_models(MODELS, DIMS)
        s.upsert(catalog_docs())
        s.close()
        again = make_store("persist")
        assert again.info().count == 5
        assert again.info().models == MODELS
        assert [h.id for h in again.bm25(["nylon"], 5)] == ["p1"]
        assert again.knn("text", unit(basis(8, 2)), 1)[0].id == "p3"

    def test_generation_changes_with_every_write(self, store):
        g0 = store.generation()
        store.upsert(catalog_docs()[:1])
        g1 = store.generation()
        store.delete(["p1"])
        assert len({g0, g1, store.generation()}) == 3

    def test_rebuilding_swaps_contents_only_on_success(self, store):
        store.upsert(catalog_docs())
        g0 = store.generation()
        with store.rebuilding() as fresh:
            assert fresh.hashes() == {} and fresh.info().count == 0
            fresh.set_models(MODELS, DIMS)
            fresh.upsert([doc("n1", "brand new tumbler", text=basis(8, 4), image=basis(6, 4))])
            assert fresh.get(["n1"])[0] is not None
            assert store.get(["p1"])[0] is not None          # old contents still served
            assert store.get(["n1"]) == [None]
        assert store.get(["p1"]) == [None]
        assert store.generation() != g0
        assert [h.id for h in store.bm25(["tumbler"], 5)] == ["n1"]
        assert store.knn("text", unit(basis(8, 4)), 1)[0].id == "n1"

        with pytest.raises(RuntimeError):
            with store.rebuilding() as failed:
                failed.set_models(MODELS, DIMS)
                failed.upsert([doc("x1", "should vanish", text=basis(8, 1))])
                raise RuntimeError("indexer crashed")
        assert store.get(["n1"])[0] is not None and store.get(["x1"]) == [None]

