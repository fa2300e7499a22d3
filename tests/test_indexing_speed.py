"""What made indexing fast must not change what it produces.

Analysis: the alias regex's faster layout, the caches and ``tokens(limit=)`` give exactly
the tokens of the straightforward implementation (kept here as the reference). Documents:
the fast record-to-JSON equals ``records.to_json``. Pipeline: with the model on a worker
thread, batches are still written in plan order, a failing batch leaves the index holding
the batches before it (and the next run completes it), bad lines are still reported one by
one, progress is told once per written batch, and a text is embedded once per run.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.catalog.reader import load_catalog
from indexer.catalog.records import to_json
from indexer.documents import _to_json, plan_catalog
from indexer.embed.base import EmbedderError
from indexer.pipeline import Indexer, unique_texts
from search.analysis import (
    _JOINABLE, _SEGMENT, _WORD, LATIN_LEFT, LATIN_RIGHT, STOPWORDS, Analyzer, _jieba_tokenizer, is_cjk, normalise,
)
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeTextEmbedder, tiny_catalog, write_jsonl

# ----------------------------------------------------------------------------- analysis


def reference_tokens(aliases: dict[str, str], text: str) -> list[str]:
    """Analyzer.tokens as first written: one lookbehind per Latin alias, no caches."""
    from search.analysis import canonical_token
    target: dict[str, str] = {}
    for alias, brand_id in aliases.items():
        key = normalise(alias)
        if len(key) >= 2:
            target[key] = canonical_token(brand_id)
    text = normalise(text)
    if target:
        parts = []
        for key in sorted(target, key=len, reverse=True):
            esc = re.escape(key).replace("\\ ", r"\s*")
            parts.append(esc if is_cjk(key) else f"{LATIN_LEFT}{esc}{LATIN_RIGHT}")

        def repl(m: re.Match[str]) -> str:
            key = re.sub(r"\s+", " ", m.group(0))
            t = target.get(key) or target.get(key.replace(" ", ""))
            if t is None:
                squeezed = key.replace(" ", "")
                t = next((v for k, v in target.items() if k.replace(" ", "") == squeezed), None)
            if not t or t in _WORD.findall(key):
                return m.group(0)
            return f"{m.group(0)} {t} "
        text = re.compile("|".join(parts)).sub(repl, text)
    out: list[str] = []
    for m in _SEGMENT.finditer(text):
        cjk, other = m.groups()
        if cjk:
            out.extend(t for t in _jieba_tokenizer().cut_for_search(cjk) if t.strip() and t not in STOPWORDS)
        else:
            words = _WORD.findall(other)
            out.extend(w for w in words if w not in STOPWORDS)
            for j in _JOINABLE.findall(other):
                joined = "".join(_WORD.findall(j))
                if joined not in words:
                    out.append(joined)
    return out


# Small alphabets so aliases really occur in the texts, overlapping and next to each other.
_piece = st.sampled_from(["lulu", "lemon", "mac", "macbook", "alo", "yoga", "nb", "露露", "乐蒙", "瑜伽", "裤",
                          "戴森", "a", "b", "-", "1000", "xm4", "的", "the"])
_alias = st.lists(_piece, min_size=1, max_size=3).flatmap(
    lambda ps: st.sampled_from(["", " "]).map(lambda sep: sep.join(ps)))
_aliases = st.dictionaries(_alias, st.sampled_from(["lululemon", "alo", "mac", "dyson", "New Balance"]), max_size=8)
_glue = st.sampled_from(["", " ", "  ", "，", "/", "LULU", "Ａ"])


def _text(aliases: dict[str, str]) -> st.SearchStrategy[str]:
    """Texts of pieces and of the aliases themselves (upper-cased, spaces doubled or not)."""
    said = [a.upper() for a in aliases] + [a.replace(" ", "  ") for a in aliases] + list(aliases)
    part = st.sampled_from(said) | _piece if said else _piece
    return st.lists(st.tuples(part, _glue), max_size=10).map(lambda ps: "".join(a + b for a, b in ps))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.data(), _aliases)
def test_tokens_are_those_of_the_reference_analysis(data, aliases):
    text = data.draw(_text(aliases))
    analyzer = Analyzer(aliases)
    expected = reference_tokens(aliases, text)
    assert analyzer.tokens(text) == expected
    assert analyzer.tokens(text) == expected          # again, from the caches
    for limit in (0, 1, 3, 30):
        assert analyzer.tokens(text, limit=limit) == expected[:limit]


def test_alias_layout_keeps_longest_first_and_whole_latin_words():
    a = Analyzer({"lulu": "lululemon", "lulu lemon": "lululemon", "mac": "mac", "露露": "lululemon",
                  "alo瑜伽": "alo"})
    assert a.fold_aliases("Lulu Lemon 同款") == "lulu lemon lululemon  同款"
    assert a.fold_aliases("macbook mac口红") == "macbook mac口红"           # "mac" is the canonical token
    assert "alo" in a.tokens("alo瑜伽裤") and "lululemon" in a.tokens("露露瑜伽裤")
    assert "lululemon" not in a.tokens("lulumeter")


def test_long_texts_are_analysed_whole_without_the_text_cache():
    aliases = {"lulu lemon": "lululemon", "露露": "lululemon", "sony": "sony"}
    text = "露露乐蒙 Lulu  Lemon 高腰瑜伽裤, WH-1000XM4 the sony的耳机。" * 20       # > 300 characters
    a = Analyzer(aliases)
    assert a.tokens(text) == reference_tokens(aliases, text)
    assert a.tokens(text, limit=30) == reference_tokens(aliases, text)[:30]
    assert a.tokens(None) == [] and a.tokens("") == []


# ----------------------------------------------------------------------------- documents


def test_fast_record_json_is_records_to_json(tmp_path):
    cat = load_catalog(tiny_catalog(tmp_path / "cat"))
    records = [*cat.brands.values(), *cat.brand_products.values(), *cat.factories.values(), *cat.products.values()]
    for r in records:
        assert _to_json(r) == to_json(r)
        assert json.dumps(_to_json(r)) == json.dumps(to_json(r))     # same key order too
    assert [p.doc.source for p in plan_catalog(cat)][-1]["factory"]["id"] == "f-plain"


# ----------------------------------------------------------------------------- pipeline


def test_unique_texts_keeps_first_seen_order_and_positions():
    class P:
        def __init__(self, *texts):
            self.texts = list(texts)
    texts, where = unique_texts([P("a", "b"), P("b"), P("c", "a", "c"), P()])
    assert texts == ["a", "b", "c"] and where == [[0, 1], [1], [2, 0, 2], []]


def _catalog_with_bad_line(tmp_path):
    folder = tiny_catalog(tmp_path / "cat")
    rows = (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()
    rows.insert(2, "{not json")
    # p6 repeats p1's titles: embedded once per run, same vector.
    p1 = json.loads(rows[0])
    rows.append(json.dumps({**p1, "id": "p6", "images": []}, ensure_ascii=False))
    write_jsonl(folder / "products.jsonl", rows)
    return folder


class FailingAt(FakeTextEmbedder):
    """Raises on its ``n``-th call to the model (a model error mid-run)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.batches = n, 0

    def embed_batch(self, items, *, query=False):
        self.batches += 1
        if self.batches == self.n:
            raise EmbedderError("model failed")
        return super().embed_batch(items, query=query)


def test_a_failing_batch_leaves_the_batches_before_it_and_a_rerun_completes(tmp_path):
    folder = _catalog_with_bad_line(tmp_path)
    order = [p.doc.id for p in plan_catalog(load_catalog(folder))]          # 2 + 2 + 6 documents
    store = EmbeddedStore(tmp_path / "index")
    told: list[tuple] = []

    def progress(total, removed):
        told.append(("start", total, removed))
        return lambda n: told.append(("tick", n))
    with pytest.raises(EmbedderError, match="model failed"):
        Indexer(store, FailingAt(3), None, batch_size=2).run(folder, progress=progress)
    # Brands carry no text (batch 1 calls no model); batches 2 and 3 do, batch 4 fails.
    ids = list(store.hashes())
    assert sorted(ids) == sorted(order[:6]), ids          # batches 1-3 written, 4 and later not
    assert all(d is not None for d in store.get(ids))

    told.clear()
    report = Indexer(store, FakeTextEmbedder(), None, batch_size=2).run(folder, progress=progress)
    assert (report.indexed, report.unchanged, report.removed) == (4, 6, 0)
    assert sorted(store.hashes()) == sorted(order)
    assert told == [("start", 4, 0), ("tick", 2), ("tick", 2)]
    # The bad line is reported with its line number, as without the thread.
    assert [(r.file, r.line) for r in report.rejects] == [("products.jsonl", 3)]
    store.close()


def test_a_text_is_embedded_once_per_run_and_vectors_match(tmp_path):
    folder = _catalog_with_bad_line(tmp_path)
    store = EmbeddedStore(tmp_path / "index")
    text = FakeTextEmbedder()
    report = Indexer(store, text, None, batch_size=3).run(folder)
    titles = {t for p in plan_catalog(load_catalog(folder)) for t in p.texts}
    assert report.texts_embedded == text.calls == len(titles)              # p6 reuses p1's
    p1, p6 = store.get(["product:p1", "product:p6"])
    assert np.allclose(p1.text_vector, p6.text_vector)
    # Vectors are the mean of the titles' vectors, as embedded one by one.
    expected = text.embed_batch(list(json.loads(
        (folder / "products.jsonl").read_text(encoding="utf-8").splitlines()[0])["titles"].values()))
    v = expected.mean(axis=0)
    assert np.allclose(p1.text_vector, v / np.linalg.norm(v), atol=1e-6)
    store.close()
