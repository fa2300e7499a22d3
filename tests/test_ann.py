"""Approximate kNN (HNSW) in the embedded store: recall against exact search, filters, and
consistency with SQLite (the source of truth) across writes, other connections, reopening,
rebuilds and a pruned change log. Small dimensions and a low ``ann_min`` keep it fast."""
from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from search.store.embedded import knn, lexicon, sqlite, vectors, view
from search.store.base import Filters, IndexDoc
from search.store.embedded import EmbeddedStore

DIM = 24
N = 1600
ANN_MIN = 600
MODELS = {"text": "fake-text@1", "image": "fake-image@1"}
DIMS = {"text": DIM, "image": DIM}
CATEGORIES = [f"c{i}" for i in range(20)]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((60, DIM))
    return unit(centres[rng.integers(0, 60, n)] + 0.6 * rng.standard_normal((n, DIM)))


def make_docs(vectors: np.ndarray, start: int = 0) -> list[IndexDoc]:
    return [IndexDoc(id=f"p{start + i}", kind="product", source={"id": f"p{start + i}"}, tokens=[f"w{i % 7}"],
                     content_hash=f"h{start + i}", text_vector=v, image_vectors=(v[::-1].copy(),) if i % 2 else (),
                     category=CATEGORIES[(start + i) % len(CATEGORIES)], price_min=float((start + i) % 100))
            for i, v in enumerate(vectors)]


def exact(vectors: dict[str, np.ndarray], q: np.ndarray, k: int, keep=None) -> list[str]:
    ids = [i for i in vectors if keep is None or keep(i)]
    if not ids:
        return []
    m = np.stack([vectors[i] for i in ids])
    order = np.argsort(-(m @ q), kind="stable")[:k]
    return [ids[j] for j in order]


def exact_many(vectors: dict[str, np.ndarray], qs: np.ndarray, k: int, keep=None) -> list[list[str]]:
    ids = [i for i in vectors if keep is None or keep(i)]
    if not ids:
        return [[] for _ in qs]
    order = np.argsort(-(qs @ np.stack([vectors[i] for i in ids]).T), axis=1, kind="stable")[:, :k]
    return [[ids[j] for j in row] for row in order]


def recall(got: list[list[str]], want: list[list[str]]) -> float:
    return float(np.mean([len(set(g) & set(w)) / len(w) if w else float(not g) for g, w in zip(got, want)]))


@pytest.fixture
def data():
    vecs = clustered(N)
    return {f"p{i}": v for i, v in enumerate(vecs)}


@pytest.fixture
def queries():
    rng = np.random.default_rng(1)
    base = clustered(N)[rng.integers(0, N, 60)]
    return unit(base + 0.2 * rng.standard_normal(base.shape))


def open_store(path, **kw) -> EmbeddedStore:
    return EmbeddedStore(path, ann_min=ANN_MIN, **kw)


@pytest.fixture
def store(tmp_path, data):
    s = open_store(tmp_path / "idx")
    s.set_models(MODELS, DIMS)
    s.upsert(make_docs(np.stack(list(data.values()))))
    yield s
    s.close()


def graph_in_use(s: EmbeddedStore, field: str = "text") -> bool:
    state = s.describe()
    return state.loaded and state.fields[field].graph


def test_recall_against_exact_search(store, data, queries):
    got = [[h.id for h in store.knn("text", q, 10)] for q in queries]
    assert graph_in_use(store)
    assert recall(got, exact_many(data, queries, 10)) >= 0.98
    # Scores are exact cosine similarities (candidates are re-scored from SQLite).
    h = store.knn("text", queries[0], 1)[0]
    assert h.score == pytest.approx(float(data[h.id] @ queries[0]), abs=1e-5)


def test_small_index_stays_exact(tmp_path, data, queries):
    s = open_store(tmp_path / "small")
    s.set_models(MODELS, DIMS)
    s.upsert(make_docs(np.stack(list(data.values()))[:ANN_MIN - 1]))
    small = {k: v for k, v in list(data.items())[:ANN_MIN - 1]}
    for q in queries[:10]:
        assert [h.id for h in s.knn("text", q, 10)] == exact(small, q, 10)
    assert not graph_in_use(s)
    s.close()


def test_filters_are_applied_inside_the_search(store, data, queries, monkeypatch):
    cat = {f"p{i}": CATEGORIES[i % len(CATEGORIES)] for i in range(N)}
    price = {f"p{i}": float(i % 100) for i in range(N)}
    cases = [
        (Filters(category="c3"), lambda i: cat[i] == "c3"),                      # few docs: exact over them
        (Filters(price_max=49.0), lambda i: price[i] <= 49.0),                   # half: graph + post-filter
        (Filters(category="c3", price_min=50.0), lambda i: cat[i] == "c3" and price[i] >= 50.0),
        (Filters(ids=("p1", "p2", "p3")), lambda i: i in ("p1", "p2", "p3")),
        (Filters(category="nope"), lambda i: False),
    ]
    for f, keep in cases:
        got = [[h.id for h in store.knn("text", q, 10, f)] for q in queries[:30]]
        want = exact_many(data, queries[:30], 10, keep)
        assert all(keep(i) for g in got for i in g), f
        assert recall(got, want) >= 0.98, f
    # Force the graph path for a selective filter: oversampling, then exact fallback.
    monkeypatch.setattr(knn, "EXACT_SUBSET_MAX", 10)
    for f, keep in cases[:3]:
        got = [[h.id for h in store.knn("text", q, 10, f)] for q in queries[:30]]
        want = exact_many(data, queries[:30], 10, keep)
        assert all(keep(i) for g in got for i in g), f
        assert recall(got, want) >= 0.98, f
    # The image field (every other document) is filtered by "has an image vector" too.
    img = {i: v[::-1].copy() for i, v in data.items() if int(i[1:]) % 2}
    got = [h.id for h in store.knn("image", queries[0][::-1].copy(), 10)]
    assert len(got) == 10 and set(got) <= set(img)


def test_writes_are_seen_by_this_and_other_connections(tmp_path, store, data, queries):
    other = open_store(tmp_path / "idx", create=False)           # e.g. the service, while the indexer writes
    q = queries[0]
    before = [h.id for h in other.knn("text", q, 10)]
    assert graph_in_use(other)
    # Move p7 onto the query, delete the current best, add a new document next to it.
    moved = make_docs(q[None, :], start=7)[0]
    store.upsert([moved])
    store.delete([before[0]] if before[0] != "p7" else [before[1]])
    gone = before[0] if before[0] != "p7" else before[1]
    store.upsert(make_docs(unit(q + 0.01)[None, :], start=N))
    for s in (store, other):
        ids = [h.id for h in s.knn("text", q, 10)]
        assert ids[:2] == ["p7", f"p{N}"] or ids[:2] == [f"p{N}", "p7"]
        assert gone not in ids
    data = {**data, "p7": q, f"p{N}": unit(q + 0.01)}
    del data[gone]
    got = [[h.id for h in other.knn("text", x, 10)] for x in queries]
    assert recall(got, exact_many(data, queries, 10)) >= 0.98
    other.close()


def test_reopen_loads_the_saved_graph_and_applies_later_writes(tmp_path, store, data, queries):
    store.warm()
    files = list((tmp_path / "idx").glob("*.text.s*.usearch"))
    assert len(files) == 1
    # Later writes (after the save) are applied from the log on the next open.
    store.upsert(make_docs(queries[:1], start=11))
    store.delete(["p12"])
    data = {**data, "p11": queries[0]}
    del data["p12"]
    store.close()
    again = open_store(tmp_path / "idx", create=False)
    got = [[h.id for h in again.knn("text", q, 10)] for q in queries]
    assert again.describe().fields["text"].origin == "loaded"
    assert again.describe().fields["text"].beam == vectors.HNSW_EXPANSION_SEARCH
    assert got[0][0] == "p11" and all("p12" not in g for g in got)
    assert recall(got, exact_many(data, queries, 10)) >= 0.98
    again.close()


def test_a_damaged_graph_file_is_rebuilt(tmp_path, store, data, queries):
    store.warm()
    store.close()
    for p in (tmp_path / "idx").glob("*.usearch"):
        p.write_bytes(b"garbage")
    again = open_store(tmp_path / "idx", create=False)
    got = [[h.id for h in again.knn("text", q, 10)] for q in queries]
    assert again.describe().fields["text"].origin == "built"
    assert recall(got, exact_many(data, queries, 10)) >= 0.98
    again.close()


def test_rebuild_swaps_graphs_too(tmp_path, store, data, queries):
    reader = open_store(tmp_path / "idx", create=False)
    reader.knn("text", queries[0], 5)
    fresh_vecs = clustered(N, seed=5)
    with store.rebuilding() as fresh:
        fresh.set_models(MODELS, DIMS)
        fresh.upsert(make_docs(fresh_vecs))
    fresh_data = {f"p{i}": v for i, v in enumerate(fresh_vecs)}
    got = [[h.id for h in reader.knn("text", q, 10)] for q in queries]
    assert recall(got, exact_many(fresh_data, queries, 10)) >= 0.98
    names = sorted(p.name for p in (tmp_path / "idx").iterdir())
    assert not any(n.startswith("index-1.") for n in names), names       # old file and its graphs removed
    assert any(n.startswith("index-2.sqlite.text.s") for n in names), names
    reader.close()


def test_a_reader_behind_a_pruned_log_reloads(tmp_path, store, data, queries, monkeypatch):
    reader = open_store(tmp_path / "idx", create=False)
    reader.knn("text", queries[0], 5)
    monkeypatch.setattr(sqlite, "VLOG_KEEP", 10)
    monkeypatch.setattr(sqlite, "VLOG_PRUNE_STEP", 1)
    store.upsert(make_docs(queries[:20], start=20))          # p20..p39 now sit on the queries
    for i in range(20):
        data[f"p{20 + i}"] = queries[i]
    got = [[h.id for h in reader.knn("text", q, 10)] for q in queries]
    assert [g[0] for g in got[:20]] == [f"p{20 + i}" for i in range(20)]
    assert recall(got, exact_many(data, queries, 10)) >= 0.98
    reader.close()


def test_concurrent_searches_during_writes(tmp_path, store, data, queries):
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        try:
            while not stop.is_set():
                for q in queries[:10]:
                    assert len(store.knn("text", q, 10)) == 10
                    store.bm25(["w1", "w2"], 10)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    extra = clustered(300, seed=9)
    for i in range(0, 300, 30):
        store.upsert(make_docs(extra[i:i + 30], start=N + i))
        store.delete([f"p{i}"])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    data = {**data, **{f"p{N + i}": v for i, v in enumerate(extra)}}
    for i in range(0, 300, 30):
        del data[f"p{i}"]
    got = [[h.id for h in store.knn("text", q, 10)] for q in queries]
    assert recall(got, exact_many(data, queries, 10)) >= 0.98


def wordy_docs(n: int, seed: int, start: int = 0) -> list[IndexDoc]:
    rng = np.random.default_rng(seed)
    words = [f"t{i}" for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    p /= p.sum()
    docs = []
    for i in range(start, start + n):
        toks = list(rng.choice(words, size=int(rng.integers(1, 12)), p=p))
        docs.append(IndexDoc(id=f"d{i}", kind="product" if i % 9 else "brand_product", source={}, tokens=toks,
                             content_hash="h", category=CATEGORIES[i % 20], price_min=float(i % 50)))
    return docs


def fts_match(tokens: list[str]) -> str:
    """An FTS5 MATCH expression: OR of the tokens, each quoted (never query syntax)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens if t)


def fts5_reference(docs: dict[str, list[str]], query: list[str], k: int, keep=None) -> dict[str, float]:
    """SQLite FTS5's own bm25() over the same tokens (what the store reproduces in memory)."""
    import sqlite3
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, tokens, tokenize='ascii')")
    conn.executemany("INSERT INTO fts VALUES (?, ?)", [(i, " ".join(t)) for i, t in docs.items()])
    rows = conn.execute("SELECT id, -bm25(fts) FROM fts WHERE fts MATCH ? ORDER BY bm25(fts)",
                        (fts_match(query),)).fetchall()
    return dict([(i, sc) for i, sc in rows if keep is None or keep(i)][:k])


def test_bm25_is_fts5s_bm25_through_writes_and_compaction(tmp_path, monkeypatch):
    s = open_store(tmp_path / "lex")
    s.set_models(MODELS, DIMS)
    docs = wordy_docs(600, seed=3)
    s.upsert(docs)
    held = {d.id: d.tokens for d in docs}
    kind = {d.id: d.kind for d in docs}
    cat = {d.id: d.category for d in docs}
    queries = [["t0"], ["t1", "t7"], ["t3", "t3", "t40"], ["t59", "t2", "t11", "t0"], ["nope"], ["t5", "nope"]]

    def check(rel: float) -> None:
        for q in queries:
            for f, keep in ((Filters(), lambda i: kind[i] == "product"), (Filters(kind=None), None),
                            (Filters(category="c3"), lambda i: kind[i] == "product" and cat[i] == "c3"),
                            (Filters(kind=None, ids=("d1", "d2", "d9")), lambda i: i in ("d1", "d2", "d9"))):
                got = {h.id: h.score for h in s.bm25(q, 20, f)}
                want = fts5_reference(held, q, 20, keep)
                assert len(got) == len(want), (q, f)
                common = set(got) & set(want)
                assert len(common) >= len(want) - 2, (q, f)          # ties at the cut may differ
                for i in common:
                    assert got[i] == pytest.approx(want[i], rel=rel), (q, f, i)
    check(1e-6)               # float32 term weights
    # Changes go to the delta part; scores still match (weights within the 0.1% avgdl drift).
    changed = wordy_docs(40, seed=4, start=100)
    s.upsert(changed)
    s.delete([f"d{i}" for i in range(200, 220)])
    s.upsert(wordy_docs(30, seed=5, start=600))
    for d in [*changed, *wordy_docs(30, seed=5, start=600)]:
        held[d.id], kind[d.id], cat[d.id] = d.tokens, d.kind, d.category
    for i in range(200, 220):
        del held[f"d{i}"]
    check(2e-3)
    assert s.describe().postings_changed > 0            # the changes sit in the delta part
    # Compaction merges the delta into the bulk postings.
    monkeypatch.setattr(view, "LEX_DELTA_MAX", 1)
    more = wordy_docs(80, seed=6, start=300)
    s.upsert(more)
    for d in more:
        held[d.id], kind[d.id], cat[d.id] = d.tokens, d.kind, d.category
    s.bm25(["t0"], 5)
    assert s.describe().postings_changed == 0
    check(2e-3)
    s.close()


def test_bm25_pruning_keeps_the_exact_top_k(monkeypatch):
    """MaxScore pruning (common tokens only add to candidates) returns the same top k."""
    lex = lexicon.Lexicon()
    docs = wordy_docs(3000, seed=8)
    lex.build(np.arange(len(docs)), [" ".join(d.tokens) for d in docs], len(docs) + 1)
    for i in range(0, 300, 7):                       # some changed documents in the delta part
        lex.put(i, " ".join(wordy_docs(1, seed=100 + i)[0].tokens))
    rng = np.random.default_rng(2)
    allowed = rng.random(len(docs) + 1) < 0.7
    monkeypatch.setattr(lexicon.Lexicon, "PRUNE_BUDGET", 0)
    pruned_some = 0
    for _ in range(60):
        q = [f"t{int(x)}" for x in rng.integers(0, 60, int(rng.integers(2, 8)))]
        for k in (1, 5, 20):
            full_p, full_s = lex.search(q, len(docs), allowed, None)
            p, sc = lex.search(q, len(docs), allowed, k)
            pruned_some += p.size < full_p.size
            want = knn.top(full_p, full_s, k)
            got = knn.top(p, sc, k)
            assert got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-9), (q, k)
    assert pruned_some > 20


def test_the_saved_view_is_reused_and_caught_up(tmp_path, store, data, queries, monkeypatch):
    monkeypatch.setattr(view, "VIEW_SAVE_MIN", 100)
    store.warm()
    assert list((tmp_path / "idx").glob("*.view.s*.npz"))
    store.upsert(make_docs(queries[:1], start=15))              # after the save: applied from the log
    store.delete(["p16"])
    want_bm25 = [(h.id, h.score) for h in store.bm25(["w1", "w2"], 50, Filters(category="c3"))]
    store.close()
    again = open_store(tmp_path / "idx", create=False)
    got = again.bm25(["w1", "w2"], 50, Filters(category="c3"))
    assert [h.id for h in got] == [i for i, _ in want_bm25]
    assert [h.score for h in got] == pytest.approx([sc for _, sc in want_bm25], rel=1e-6)
    state = again.describe()
    assert 0 <= state.saved_seq < state.seq
    assert again.knn("text", queries[0], 1)[0].id == "p15"
    assert "p16" not in [h.id for h in again.bm25(["w2"], 5000, Filters(kind=None))]
    again.close()


def test_top_breaks_ties_by_rowid():
    rowids = np.array([5, 3, 9, 1])
    scores = np.array([0.5, 0.9, 0.9, 0.9], dtype=np.float32)
    assert knn.top(rowids, scores, 2)[0] == [1, 3]


def test_models_load_after_the_graph(tmp_path, data):
    """onnxruntime imported after usearch crashes the process; the store guards the order."""
    import subprocess
    import sys
    s = open_store(tmp_path / "idx")
    s.set_models(MODELS, DIMS)
    s.upsert(make_docs(np.stack(list(data.values()))[:ANN_MIN]))
    s.close()
    code = ("import numpy as np\n"
            "from search.store.embedded import EmbeddedStore\n"
            f"s = EmbeddedStore({str(tmp_path / 'idx')!r}, create=False, ann_min={ANN_MIN})\n"
            f"s.knn('text', np.ones({DIM}, dtype=np.float32) / {DIM} ** 0.5, 3)\n"
            "import onnxruntime\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_search_beam_grows_with_the_graph():
    assert vectors.search_beam(0) == vectors.HNSW_EXPANSION_SEARCH
    assert vectors.search_beam(100_000) == vectors.HNSW_EXPANSION_SEARCH
    assert vectors.search_beam(1_000_000) == 2_000
    assert vectors.search_beam(2_000_000) > vectors.search_beam(1_000_000)


def test_a_reader_reinserts_only_the_vectors_and_tokens_that_changed(tmp_path, store, data, queries, monkeypatch):
    """A reindex that changes prices must not re-insert vectors into the graphs (under the
    view's write lock that stalled searches), yet every change must be seen."""
    reader = open_store(tmp_path / "idx", create=False)
    reader.knn("text", queries[0], 5)
    assert graph_in_use(reader) and graph_in_use(reader, "image")
    inserted: dict[str, list[int]] = {"text": [], "image": []}
    put: list[int] = []
    real_set_vectors, real_put = view.View.set_vectors, lexicon.Lexicon.put

    def spy_set_vectors(self, v, rowids, *rest):
        inserted[v.name].extend(rowids)
        return real_set_vectors(self, v, rowids, *rest)

    def spy_put(self, pos, tokens):
        put.append(pos)
        return real_put(self, pos, tokens)
    monkeypatch.setattr(view.View, "set_vectors", spy_set_vectors)
    monkeypatch.setattr(lexicon.Lexicon, "put", spy_put)

    docs = {d.id: d for d in make_docs(np.stack(list(data.values())))}
    repriced = [replace(docs[f"p{i}"], price_min=1000.0 + i) for i in range(100, 150)]
    moved = [replace(docs[f"p{200 + i}"], text_vector=queries[i]) for i in range(10)]    # image kept
    retitled = [replace(docs["p300"], tokens=["brandnew"])]
    store.upsert([*repriced, *moved, *retitled])

    assert [h.id for h in reader.knn("text", queries[3], 1)] == ["p203"]
    assert len(inserted["text"]) == 10 and not inserted["image"]
    assert len(put) == 1
    # The columns of every changed row are current, and so are the postings.
    got = {h.id for h in reader.knn("text", queries[0], 200, Filters(price_min=1000.0))}
    assert got == {d.id for d in repriced}
    assert [h.id for h in reader.bm25(["brandnew"], 5)] == ["p300"]
    assert "p300" not in {h.id for h in reader.bm25([docs["p300"].tokens[0]], 5000)}
    # A removed vector is a change too.
    images_before = reader.describe().fields["image"].vectors
    store.upsert([replace(docs["p301"], image_vectors=())])
    reader.knn("image", queries[0], 5)
    assert len(inserted["image"]) == 1 and reader.describe().fields["image"].vectors == images_before - 1
    assert "p301" not in {h.id for h in reader.knn("image", docs["p301"].image_vector, 5)}
    reader.close()


def test_an_index_from_before_the_log_said_what_changed_is_caught_up_in_full(tmp_path, store, data, queries):
    import sqlite3
    store.close()
    db = next((tmp_path / "idx").glob("index-*.sqlite"))
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE vlog DROP COLUMN what")
    conn.commit()
    conn.close()
    old = open_store(tmp_path / "idx", create=False)
    reader = open_store(tmp_path / "idx", create=False)
    reader.knn("text", queries[0], 5)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO vlog (rid) SELECT rowid FROM docs WHERE id = 'p5'")     # an old writer's entry
    conn.execute("UPDATE vec_text SET v = ? WHERE rowid = (SELECT rowid FROM docs WHERE id = 'p5')",
                 (queries[2].astype(np.float32).tobytes(),))
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    conn.commit()
    conn.close()
    assert reader.knn("text", queries[2], 1)[0].id == "p5"
    old.close()
    reader.close()


# -- documents with several images ---------------------------------------------------------
def multi_image_docs(n: int, seed: int = 9) -> tuple[list[IndexDoc], dict[str, np.ndarray]]:
    """``n`` documents with 1 to 3 image vectors each (clustered: near-duplicates across
    documents), and each document's vectors stacked, for exact search by best image."""
    vecs = clustered(3 * n, seed).reshape(n, 3, DIM)
    docs = [IndexDoc(id=f"m{i}", kind="product", source={"id": f"m{i}"}, tokens=["w"], content_hash=f"m{i}",
                     image_vectors=tuple(vecs[i, :1 + i % 3]), category=CATEGORIES[i % len(CATEGORIES)])
            for i in range(n)]
    return docs, {d.id: np.stack(d.image_vectors) for d in docs}


def best_image_exact(images: dict[str, np.ndarray], q: np.ndarray, k: int, keep=None) -> list[tuple[str, float]]:
    scored = [(i, float((m @ q).max())) for i, m in images.items() if keep is None or keep(i)]
    return sorted(scored, key=lambda x: -x[1])[:k]


def test_documents_are_ranked_by_their_best_image_on_the_graph(tmp_path):
    """Each document once, scored by its best image, with the recall of single vectors:
    through filters, another connection catching up, fewer images, and a reopen."""
    docs, images = multi_image_docs(N // 2)          # ~1600 image vectors: a graph
    s = open_store(tmp_path / "idx")
    s.set_models(MODELS, DIMS)
    s.upsert(docs)
    reader = open_store(tmp_path / "idx", create=False)
    rng = np.random.default_rng(3)
    later = [d for d in docs if len(d.image_vectors) == 3]
    qs = unit(np.stack([later[j].image_vectors[2] for j in rng.integers(0, len(later), 40)])
              + 0.05 * rng.standard_normal((40, DIM)))
    category = {d.id: d.category for d in docs}

    def check(store: EmbeddedStore, f: Filters = Filters(), keep=None) -> None:
        got, want = [], []
        for q in qs:
            hits = store.knn("image", q, 10, f)
            truth = best_image_exact(images, q, 10, keep)
            assert len({h.id for h in hits}) == len(hits) == len(truth)          # one hit per document
            for h in hits:
                assert h.score == pytest.approx(float((images[h.id] @ q).max()), abs=1e-5)
            got.append([h.id for h in hits])
            want.append([i for i, _ in truth])
        assert recall(got, want) >= 0.97, f
    for store in (s, reader):
        check(store)
        check(store, Filters(category="c3"), lambda i: category[i] == "c3")
    assert graph_in_use(s, "image") and s.describe().fields["image"].vectors == sum(len(m) for m in images.values())

    # Fewer images: the dropped ones find the document no more, in this and the other connection.
    cut = later[:20]
    s.upsert([replace(d, image_vectors=d.image_vectors[:1]) for d in cut])
    images.update({d.id: np.stack(d.image_vectors[:1]) for d in cut})
    for store in (s, reader):
        for d in cut[:5]:
            assert d.id not in {h.id for h in store.knn("image", d.image_vectors[2], 5)}
            assert store.knn("image", d.image_vectors[0], 1)[0].id == d.id
        check(store)
    s.warm()
    s.close()
    again = open_store(tmp_path / "idx", create=False)
    check(again)
    assert again.describe().fields["image"].origin == "loaded"
    again.close()
    reader.close()
