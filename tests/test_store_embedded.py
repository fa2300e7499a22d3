"""The embedded store against the shared contract, plus what only it promises."""
from __future__ import annotations

import pytest

from search.store.base import Filters, StoreError
from search.store.embedded import EmbeddedStore, filter_sql, fts_match
from tests.store_contract import DIMS, MODELS, StoreContract, catalog_docs


@pytest.fixture
def make_store(tmp_path):
    opened = []

    def make(name: str = "default"):
        s = EmbeddedStore(tmp_path / name)
        opened.append(s)
        return s
    yield make
    for s in opened:
        s.close()


class TestEmbeddedStore(StoreContract):
    pass


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no index at"):
        EmbeddedStore(tmp_path / "nothing", create=False)


def test_corrupt_index_is_a_clear_error(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "CURRENT").write_text("index-1.sqlite\n")
    (folder / "index-1.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        EmbeddedStore(folder)


def test_second_connection_sees_commits_of_the_first(tmp_path):
    writer = EmbeddedStore(tmp_path / "i")
    reader = EmbeddedStore(tmp_path / "i", create=False)
    writer.set_models(MODELS, DIMS)
    writer.upsert(catalog_docs()[:1])
    assert [h.id for h in reader.knn("text", catalog_docs()[0].text_vector, 1)] == ["p1"]
    writer.upsert(catalog_docs()[1:3])
    assert reader.info().count == 3
    assert len(reader.knn("text", catalog_docs()[0].text_vector, 10)) == 3   # vector cache refreshed


def test_reader_follows_a_rebuild_by_another_connection(tmp_path):
    writer = EmbeddedStore(tmp_path / "i")
    writer.set_models(MODELS, DIMS)
    writer.upsert(catalog_docs())
    reader = EmbeddedStore(tmp_path / "i", create=False)
    assert reader.info().count == 5
    with writer.rebuilding() as fresh:
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs()[:2])
    assert reader.info().count == 2
    assert len(list((tmp_path / "i").glob("index-*.sqlite"))) == 1

    with writer.rebuilding() as fresh:            # and the next one (CURRENT is checked by stat)
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(catalog_docs()[:4])
    assert reader.info().count == 4


def test_sources_beyond_what_orjson_reads_come_back_whole(tmp_path):
    from dataclasses import replace
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    doc = catalog_docs()[0]
    source = {**doc.source, "big": 2 ** 70 + 1, "nan": float("nan"), "zh": "露露乐蒙"}
    s.upsert([replace(doc, source=source)])
    got = s.get([doc.id], vectors=False)[0].source
    assert got["big"] == 2 ** 70 + 1 and type(got["big"]) is int
    assert got["nan"] != got["nan"] and got["zh"] == "露露乐蒙"
    s.close()


def test_filter_sql_is_parameterised():
    where, args = filter_sql(Filters(category="x'; DROP TABLE docs; --", labels=("same_foundry",), moq_max=5))
    assert "DROP" not in where
    assert args == ["product", "x'; DROP TABLE docs; --", 5, " same_foundry "]


def test_fts_match_quotes_every_token():
    assert fts_match(['a"b', "c"]) == '"a""b" OR "c"'
    assert fts_match([]) == ""


def test_corruption_after_open_is_a_store_error(tmp_path):
    s = EmbeddedStore(tmp_path / "i")
    s.set_models(MODELS, DIMS)
    s.upsert(catalog_docs())
    db = next((tmp_path / "i").glob("index-*.sqlite"))
    s.close()
    reader = EmbeddedStore(tmp_path / "i", create=False)
    with open(db, "r+b") as f:          # scribble over the pages behind the header
        f.seek(4096)
        f.write(b"\x00garbage" * 4096)
    for wal in (tmp_path / "i").glob("*-wal"):
        wal.write_bytes(b"")
    with pytest.raises(StoreError, match="rebuild"):
        for _ in range(3):
            reader.bm25(["yoga"], 5)
            reader.get(["p1", "p2"])
            reader.knn("text", catalog_docs()[0].text_vector, 3)
