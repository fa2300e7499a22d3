"""The Elasticsearch request bodies, checked by equality (no server needed)."""
from __future__ import annotations

import numpy as np
import pytest

from search.store import schema
from search.store.base import Filters, IndexDoc
from search.store.es_queries import (
    bm25_query, filter_clauses, knn_cosine, knn_query, knn_sizes, query_tokens, vector_field,
)


def test_default_filters_keep_products_only():
    assert filter_clauses(Filters()) == [{"term": {"kind": "product"}}]
    assert filter_clauses(Filters(kind=None)) == []


def test_every_filter_becomes_one_clause():
    f = Filters(kind="brand_product", category="leggings", price_min=10.0, price_max=50.5, moq_max=100,
                labels=("same_foundry", "equal_quality:lululemon"), dupe_of=("bp-align", "bp-wunder"),
                region="yiwu", ship_within_max=48, factory="f1", brand="lululemon",
                certifications=("BSCI", "ISO 9001"), regions=("Zhejiang",), ids=("a", "b"))
    assert filter_clauses(f) == [
        {"term": {"kind": "brand_product"}},
        {"term": {"category": "leggings"}},
        {"range": {"price_min": {"gte": 10.0, "lte": 50.5}}},
        {"range": {"moq": {"lte": 100}}},
        {"terms": {"labels": ["same_foundry", "equal_quality:lululemon"]}},
        {"terms": {"dupe_of": ["bp-align", "bp-wunder"]}},
        {"term": {"region": "yiwu"}},
        {"range": {"ship_within_hours": {"lte": 48}}},
        {"term": {"factory": "f1"}},
        {"term": {"brand": "lululemon"}},
        {"terms": {"certifications": ["BSCI", "ISO 9001"]}},
        {"terms": {"regions": ["Zhejiang"]}},
        {"ids": {"values": ["a", "b"]}},
    ]


@pytest.mark.parametrize("filters, clause", [
    (Filters(kind=None, price_min=5.0), {"range": {"price_min": {"gte": 5.0}}}),
    (Filters(kind=None, price_max=5.0), {"range": {"price_min": {"lte": 5.0}}}),
    (Filters(kind=None, ids=()), {"ids": {"values": []}}),      # matches nothing
    (Filters(kind=None, moq_max=0), {"range": {"moq": {"lte": 0}}}),
    (Filters(kind=None, dupe_of=("bp-align",)), {"terms": {"dupe_of": ["bp-align"]}}),
    (Filters(kind=None, labels=("same_foundry:lululemon", "equal_quality:lululemon")),
     {"terms": {"labels": ["same_foundry:lululemon", "equal_quality:lululemon"]}}),
])
def test_single_filters(filters, clause):
    assert filter_clauses(filters) == [clause]


def test_empty_any_of_filters_add_no_clause():
    assert filter_clauses(Filters(kind=None, labels=(), dupe_of=(), certifications=())) == []


def test_the_mapping_and_the_clauses_follow_the_field_table():
    """Each ``schema.FIELDS`` row is mapped with its type and filtered as it says."""
    props = schema.es_mapping({}, {})["properties"]
    for f in schema.FIELDS:
        assert props[f.name] == {"type": f.type}
    assert filter_clauses(Filters(kind=None, certifications=("ISO 9001",))) == \
        [{"terms": {"certifications": ["ISO 9001"]}}]


def test_dupe_of_filter_sits_inside_both_queries():
    clauses = [{"term": {"kind": "product"}}, {"terms": {"dupe_of": ["bp-align", "bp-diamond"]}},
               {"term": {"region": "yiwu"}}]
    f = Filters(dupe_of=("bp-align", "bp-diamond"), region="yiwu")
    assert bm25_query(["yoga"], 5, f)["query"]["bool"]["filter"] == clauses
    assert knn_query("text", [1.0, 0.0], 5, f)["knn"]["filter"] == clauses


def test_bm25_query_is_or_of_exact_terms_with_filters():
    assert bm25_query(["yoga", "leggings"], 7, Filters(category="leggings")) == {
        "query": {"bool": {
            "should": [{"term": {"tokens": {"value": "yoga"}}}, {"term": {"tokens": {"value": "leggings"}}}],
            "minimum_should_match": 1,
            "filter": [{"term": {"kind": "product"}}, {"term": {"category": "leggings"}}],
        }},
        "size": 7, "_source": False, "track_total_hits": False,
    }


def test_bm25_query_without_filters_and_with_repeated_and_odd_tokens():
    body = bm25_query(["a", "", "露露乐蒙", "a", 'x"y OR z'], 3, Filters(kind=None))
    assert body["query"] == {"bool": {
        "should": [{"term": {"tokens": {"value": "a", "boost": 2.0}}},
                   {"term": {"tokens": {"value": "露露乐蒙"}}},
                   {"term": {"tokens": {"value": 'x"y OR z'}}}],
        "minimum_should_match": 1,
    }}
    assert query_tokens(["", "a", ""]) == ["a"]


def test_knn_sizes():
    assert knn_sizes(1) == (30, 100)
    assert knn_sizes(10) == (30, 100)
    assert knn_sizes(50) == (150, 500)
    assert knn_sizes(2000) == (6000, 10_000)
    assert knn_sizes(10_000) == (10_000, 10_000)
    with pytest.raises(ValueError):
        knn_sizes(0)
    with pytest.raises(ValueError):
        knn_sizes(10_001)


def test_knn_query_filters_inside_knn_and_rescores_exactly():
    v = np.array([0.6, 0.8], dtype=np.float32)
    qv = [float(np.float32(0.6)), float(np.float32(0.8))]
    assert knn_query("text", v, 5, Filters(region="yiwu")) == {
        "knn": {"field": "text_vector", "query_vector": qv, "k": 30, "num_candidates": 100,
                "filter": [{"term": {"kind": "product"}}, {"term": {"region": "yiwu"}}]},
        "size": 5, "_source": False, "track_total_hits": False,
        "rescore": {
            "window_size": 30,
            "query": {
                "rescore_query": {"script_score": {
                    "query": {"exists": {"field": "text_vector"}},
                    "script": {"source": "cosineSimilarity(params.query_vector, 'text_vector') + 1.0",
                               "params": {"query_vector": qv}},
                }},
                "query_weight": 0.0,
                "rescore_query_weight": 1.0,
            },
        },
    }


def test_image_knn_searches_the_nested_images_and_rescores_each_document_by_its_best():
    v = np.array([0.6, 0.8], dtype=np.float32)
    qv = [float(np.float32(0.6)), float(np.float32(0.8))]
    assert knn_query("image", v, 5, Filters(region="yiwu")) == {
        "knn": {"field": "image_vectors.vector", "query_vector": qv, "k": 30, "num_candidates": 100,
                "filter": [{"term": {"kind": "product"}}, {"term": {"region": "yiwu"}}]},
        "size": 5, "_source": False, "track_total_hits": False,
        "rescore": {
            "window_size": 30,
            "query": {
                "rescore_query": {"nested": {
                    "path": "image_vectors",
                    "score_mode": "max",
                    "query": {"script_score": {
                        "query": {"exists": {"field": "image_vectors.vector"}},
                        "script": {"source": "cosineSimilarity(params.query_vector, 'image_vectors.vector') + 1.0",
                                   "params": {"query_vector": qv}},
                    }},
                }},
                "query_weight": 0.0,
                "rescore_query_weight": 1.0,
            },
        },
    }
    assert knn_query("image", v, 5, Filters(kind=None), rescore=False) == {
        "knn": {"field": "image_vectors.vector", "query_vector": qv, "k": 5, "num_candidates": 100},
        "size": 5, "_source": False, "track_total_hits": False,
    }


def test_knn_query_without_rescore_or_filters():
    assert knn_query("text", [1.0, 0.0, 0.0], 20, Filters(kind=None), rescore=False) == {
        "knn": {"field": "text_vector", "query_vector": [1.0, 0.0, 0.0], "k": 20, "num_candidates": 200},
        "size": 20, "_source": False, "track_total_hits": False,
    }


def test_knn_cosine_undoes_elasticsearch_score_scaling():
    assert knn_cosine(1.75) == pytest.approx(0.75)                  # rescored: cos + 1
    assert knn_cosine(0.0) == pytest.approx(-1.0)
    assert knn_cosine(0.875, rescore=False) == pytest.approx(0.75)  # plain knn: (1 + cos) / 2
    assert knn_cosine(0.5, rescore=False) == pytest.approx(0.0)


def test_vector_field_names_match_the_schema():
    flat = schema.to_flat(IndexDoc(id="x", kind="product", source={}, tokens=[], content_hash="h"))
    for name in schema.VECTOR_FIELDS:
        assert vector_field(name).split(".")[0] == schema.FLAT_VECTORS[name] and schema.FLAT_VECTORS[name] in flat
    assert (vector_field("text"), vector_field("image")) == ("text_vector", "image_vectors.vector")


def test_flat_documents_hold_every_image_vector_main_first():
    a, b = np.array([0.6, 0.8], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    d = IndexDoc(id="x", kind="product", source={}, tokens=[], content_hash="h", text_vector=b, image_vectors=(a, b))
    flat = schema.to_flat(d)
    assert flat["image_vectors"] == [{"vector": [float(np.float32(0.6)), float(np.float32(0.8))]},
                                     {"vector": [0.0, 1.0]}]
    back = schema.from_flat(flat)
    assert len(back.image_vectors) == 2 and np.allclose(back.image_vectors[1], b) and np.allclose(back.image_vector, a)
    assert schema.to_flat(IndexDoc(id="y", kind="product", source={}, tokens=[], content_hash="h"))["image_vectors"] \
        is None                                  # no images: no field (Elasticsearch gets none)
    old = {**schema.to_flat(IndexDoc(id="z", kind="product", source={}, tokens=[], content_hash="h")),
           "image_vectors": None, "image_vector": [0.0, 1.0]}               # written by schema version 1
    assert np.allclose(schema.from_flat(old).image_vector, b)


def test_es_mapping_derives_from_the_schema():
    m = schema.es_mapping({"text": 8}, {"text": "t@1"}, generation=3)
    assert m["dynamic"] == "strict"
    assert m["_meta"] == {"schema_version": schema.SCHEMA_VERSION, "models": {"text": "t@1"}, "dims": {"text": 8},
                          "generation": 3}
    props = m["properties"]
    assert props["source"] == {"type": "object", "enabled": False}
    assert props[schema.TOKENS_FIELD] == {"type": "text", "analyzer": "whitespace"}
    assert props["content_hash"] == {"type": "keyword"} and props["id"] == {"type": "keyword"}
    for name, kind in schema.FILTER_FIELDS.items():
        assert props[name] == {"type": kind}
    assert props["text_vector"] == {"type": "dense_vector", "dims": 8, "index": True, "similarity": "cosine",
                                    "index_options": {"type": "int8_hnsw"}}
    assert "image_vectors" not in props          # dims unknown: mapped by set_models later
    # every field to_flat produces is mapped once all vector dims are known
    full = schema.es_mapping({"text": 8, "image": 6}, {})["properties"]
    assert full["image_vectors"] == {"type": "nested", "properties": {"vector": schema.es_vector_mapping(6)}}
    assert schema.es_vector_mapping(6) == {"type": "dense_vector", "dims": 6, "index": True, "similarity": "cosine",
                                           "index_options": {"type": "int8_hnsw"}}
    assert (schema.es_mapped_dim(full, "text"), schema.es_mapped_dim(full, "image")) == (8, 6)
    assert schema.es_mapped_dim(props, "image") is None
    flat = schema.to_flat(IndexDoc(id="x", kind="product", source={}, tokens=[], content_hash="h"))
    assert set(flat) == set(full)
