"""Nothing good is lost to a bad record (issue 18, item 4): a rejected record keeps its last
valid version, untouched; the records it is referred to by are indexed against that
version; a line that cannot be read at all holds back removals from its file. Through the
Indexer with the fake embedders, on both backends (the last valid version comes from the
store)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.catalog.reader import load_catalog
from indexer.catalog.records import Reject
from indexer.pipeline import Indexer, IndexReport, write_rejects
from search.store.embedded import EmbeddedStore
from tests.fakes import (
    FakeImageEmbedder,
    FakeTextEmbedder,
    tiny_catalog,
    write_jsonl,
)

pytest_plugins = ["tests.es_server"]


@pytest.fixture(params=["embedded", pytest.param("elastic", marks=pytest.mark.slow)])  # elastic: the emulator
def store(request, tmp_path):
    if request.param == "elastic":
        yield request.getfixturevalue("es_store_factory")("safety")
        return
    s = EmbeddedStore(tmp_path / "index")
    yield s
    s.close()


@pytest.fixture
def catalog(tmp_path) -> Path:
    return tiny_catalog(tmp_path / "cat")


class Run:
    """Index the catalog again and again with the same fakes, counting what they embed."""

    def __init__(self, store, catalog: Path) -> None:
        self.store, self.catalog = store, catalog
        self.text, self.image = FakeTextEmbedder(), FakeImageEmbedder()

    def __call__(self) -> IndexReport:
        return Indexer(self.store, self.text, self.image).run(self.catalog)

    def embedded(self) -> int:
        return self.text.calls + self.image.calls

    def docs(self) -> dict[str, str]:
        return self.store.hashes()


@pytest.fixture
def run(store, catalog) -> Run:
    r = Run(store, catalog)
    assert r().indexed == 9
    return r


def rows(catalog: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (catalog / name).read_text(encoding="utf-8").splitlines()]


def rewrite(catalog: Path, name: str, change) -> None:
    data = rows(catalog, name)
    change(data)
    write_jsonl(catalog / name, data)


def test_a_record_with_invalid_fields_keeps_its_indexed_version_untouched(run, catalog):
    before, embedded = run.docs(), run.embedded()
    rewrite(catalog, "products.jsonl", lambda r: r[0].update(price_tiers=[{"min_qty": 2, "price": 0}]))  # p1
    report = run()
    assert (report.indexed, report.unchanged, report.removed, report.rejected, report.kept) == (0, 9, 0, 1, 1)
    assert run.docs() == before and run.embedded() == embedded          # untouched, nothing embedded
    p1 = run.store.get(["product:p1"])[0]
    assert p1 is not None and p1.price_min == 59                           # the last valid price
    reject, = report.rejects
    assert reject.kept and reject.record_id == "p1" and "price" in reject.reason
    assert str(reject).endswith("(its last valid version stays indexed)")
    assert "rejected 1 (kept their last valid version: 1)" in report.summary()


def test_a_brand_with_a_typo_keeps_itself_its_brand_products_and_their_dupes(run, catalog):
    before, embedded = run.docs(), run.embedded()
    rewrite(catalog, "brands.jsonl", lambda r: r[0].update(nmes=r[0].pop("names")))     # lululemon
    report = run()
    # Before: the brand, its brand product, the factories it endorses and their products left
    # the index ("removed 4, rejected 6"), to be embedded again once the typo was fixed.
    assert (report.removed, report.rejected, report.kept, report.indexed) == (0, 1, 1, 0)
    assert run.docs() == before and run.embedded() == embedded
    assert "unknown field(s): nmes" in report.rejects[0].reason
    assert run.store.get(["brand_product:bp-align"])[0].brand == "lululemon"
    assert run.store.get(["product:p1"])[0].labels == ["same_foundry", "same_foundry:lululemon"]


def test_the_products_of_a_rejected_factory_are_indexed_against_its_last_valid_version(run, catalog):
    def change(r):
        r[2]["ship_within_hours"] = -1                              # f-plain: invalid now
    rewrite(catalog, "factories.jsonl", change)
    rewrite(catalog, "products.jsonl", lambda r: r[2]["titles"].update(en="Sonic electric toothbrush v2"))  # p3
    report = run()
    assert (report.removed, report.rejected, report.kept) == (0, 1, 1)
    assert report.rejects[0].file == "factories.jsonl" and report.rejects[0].kept
    # p3 changed and is indexed normally, with the factory as it was last valid; p4, p5 untouched.
    assert (report.indexed, report.unchanged) == (1, 8)
    assert (report.texts_embedded, report.images_embedded) == (2, 0)          # p3's titles only
    p3, p4 = run.store.get(["product:p3", "product:p4"])
    assert p3.source["titles"]["en"].endswith("v2") and p3.source["factory"]["ship_within_hours"] == 72
    assert p3.ship_within_hours == 72 and p4 is not None


def test_a_new_invalid_record_is_only_rejected(run, catalog):
    rewrite(catalog, "products.jsonl", lambda r: r.append({**r[0], "id": "p-new", "moq": 0}))
    report = run()
    assert (report.rejected, report.kept, report.indexed) == (1, 0, 0)
    assert not report.rejects[0].kept and run.store.get(["product:p-new"]) == [None]
    assert "kept" not in report.summary()


def test_records_that_really_left_a_valid_file_are_removed(run, catalog):
    rewrite(catalog, "products.jsonl", lambda r: r.pop())                     # p5 leaves
    rewrite(catalog, "brand_products.jsonl", lambda r: r.pop())               # bp-diamond leaves
    report = run()
    assert (report.removed, report.rejected, report.held_back) == (2, 0, 0)
    assert run.store.get(["product:p5", "brand_product:bp-diamond"]) == [None, None]


def test_an_unreadable_line_holds_back_removals_from_its_file_only(run, catalog):
    text = (catalog / "products.jsonl").read_text(encoding="utf-8").splitlines()
    broken = text[:2] + ['{"id": "p3", "factory": "f-plain", "titles": {"en": "Sonic'] + text[3:4]   # p3 cut, p5 gone
    (catalog / "products.jsonl").write_text("\n".join(broken) + "\n", encoding="utf-8")
    rewrite(catalog, "brand_products.jsonl", lambda r: r.pop())               # bp-diamond really leaves
    report = run()
    # Nobody can tell which product the broken line held: no product is removed; the brand
    # product gone from a readable file is.
    assert report.removed == 1 and run.store.get(["brand_product:bp-diamond"]) == [None]
    assert run.store.get(["product:p3"])[0] is not None and run.store.get(["product:p5"])[0] is not None
    assert report.unreadable == {"products.jsonl": [3]} and report.held_back == 2
    assert ("unreadable lines (products.jsonl line 3): 2 indexed records missing from that file kept, not removed"
            in report.summary())
    (catalog / "products.jsonl").write_text("\n".join(text[:2] + text[3:4]) + "\n", encoding="utf-8")
    report = run()                              # the line fixed (removed): removals happen again
    assert report.removed == 2 and report.unreadable == {} and "unreadable" not in report.summary()


def test_a_json_typo_on_the_first_line_of_brands_keeps_the_brand_and_everything_under_it(run, catalog):
    """The finding as reported: line 1 of brands.jsonl broken -> "removed 57, rejected 57"."""
    before, embedded = run.docs(), run.embedded()
    lines = (catalog / "brands.jsonl").read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"id": "lululemon"', '"id": "lululemon', 1)        # no longer JSON
    (catalog / "brands.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run()
    assert (report.removed, report.rejected, report.indexed) == (0, 1, 0)
    assert report.rejects[0].record_id is None and report.rejects[0].line == 1
    assert run.docs() == before and run.embedded() == embedded
    assert "brands.jsonl line 1" in report.summary()


def test_a_product_moved_to_a_new_invalid_factory_keeps_its_last_valid_version(run, catalog):
    rewrite(catalog, "factories.jsonl", lambda r: r.append({"id": "f-new", "names": {"en": "New"},
                                                            "ship_within_hours": 0}))   # invalid: minimum 1
    rewrite(catalog, "products.jsonl", lambda r: r[4].update(factory="f-new"))          # p5
    report = run()
    assert report.kept == 1 and {r.record_id for r in report.rejects} == {"f-new", "p5"}
    assert next(r for r in report.rejects if r.record_id == "p5").kept
    assert run.store.get(["product:p5"])[0].factory == "f-plain"


def test_rejects_file_says_which_were_kept(tmp_path):
    out = tmp_path / "rejects.jsonl"
    write_rejects([Reject("products.jsonl", 3, "bad price", "p1", kept=True), Reject("brands.jsonl", 1, "bad", None)],
                  out)
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first["kept"] is True and "kept" not in second


def test_reader_without_an_index_keeps_nothing(catalog):
    rewrite(catalog, "brands.jsonl", lambda r: r[0].update(names=5))
    cat = load_catalog(catalog)
    assert "lululemon" not in cat.brands and "bp-align" not in cat.brand_products
    assert not any(r.kept for r in cat.rejects)


def test_summary_reads_as_one_line():
    report = IndexReport(indexed=3, unchanged=50, removed=1, rejected=2, kept=2, seconds=1.25, texts_embedded=3,
                         held_back=4, unreadable={"products.jsonl": [7, 9], "brands.jsonl": [1]}, repaired=1,
                         rebuilt="it was damaged (damaged database (malformed))",
                         notes=["removed 2 unfinished or replaced index files (3.0 MB)"])
    assert report.summary() == (
        "indexed 3, unchanged 50, removed 1, rejected 2 (kept their last valid version: 2) in 1.2 s "
        "(3 texts and 0 images embedded); unreadable lines (brands.jsonl line 1; products.jsonl lines 7, 9): "
        "4 indexed records missing from those files kept, not removed; 1 damaged stored record written again; "
        "the index was rebuilt from the catalog: it was damaged (damaged database (malformed)); "
        "removed 2 unfinished or replaced index files (3.0 MB)")
    assert IndexReport(indexed=1).summary() == ("indexed 1, unchanged 0, removed 0, rejected 0 in 0.0 s "
                                                "(0 texts and 0 images embedded)")
