"""Speed at scale: indexing, search latency, ANN recall, memory, the service under load,
and LanceDB side by side, on synthetic catalogs (``benchmarks.synth``).

    python -m benchmarks.speed --scales 10k,100k           # 1m is opt-in (slow to build)
    python -m benchmarks.speed --scales 100k --phases search,recall

Everything goes through the real code: the ``Indexer`` with the real USE text model and
the EfficientNet+SSCD image model, the embedded store, ``SearchEngine.search`` (query
embedding included) and ``dupe serve``. Work files live in ``--work`` (default
/tmp/dupe-speed) and are reused across runs:

* text vectors are cached by title, so the full-scale index is built once with the model
  (a cold run) and afterwards with cached vectors (the table says which). Indexing speed
  is always measured fresh, with the real model, on ``--index-sample`` products;
* image vectors: ``--image-sample`` products with one image each are indexed with the real
  image model (the with-images speed). At full scale every product reuses one of those
  images, and its vector is that image's real vector plus product-specific noise (so the
  graph holds distinct vectors); query photos are real photos, embedded for real;
* 1m (opt-in): by default the 100k index's products written 10 times through
  ``store.upsert`` with perturbed vectors (embedding 2M titles and analysing 1M products
  takes hours on 2 cores); ``--full-1m`` builds it through the Indexer instead.

Each phase runs in its own process (``_phase``), so peak memory is per phase. Prints one
markdown table per scale, plus the profile of the text query path.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = Path(tempfile.gettempdir()) / "dupe-speed"
SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
ALL_PHASES = ("index", "images", "build", "search", "recall", "service", "lancedb")
RESULT = "@@RESULT "


# -- helpers --------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def pct(xs: Sequence[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if len(xs) else float("nan")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def emit(result: dict[str, Any]) -> None:
    print(RESULT + json.dumps(result), flush=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# -- cached / synthetic embedders ----------------------------------------------------

def _embedder_base():
    from indexer.embed.base import Embedder
    return Embedder


class CachedTextEmbedder(_embedder_base()):  # type: ignore[misc]
    """The real text model behind an append-only disk cache keyed by text."""

    batch_size = 4096

    def __init__(self, inner: Any, cache_dir: Path) -> None:
        super().__init__()
        self.inner = inner
        self.name, self.version, self.dim = inner.name, inner.version, inner.dim
        self.dir = cache_dir / inner.model_id.replace("/", "_")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, int] = {}
        self.base = np.zeros((0, self.dim), dtype=np.float32)    # memory-mapped, from earlier runs
        texts_file, vec_file = self.dir / "texts.jsonl", self.dir / "vectors.f32"
        if texts_file.exists() and vec_file.exists() and vec_file.stat().st_size:
            texts = [json.loads(line) for line in texts_file.read_text(encoding="utf-8").splitlines()]
            vecs = np.memmap(vec_file, dtype=np.float32, mode="r").reshape(-1, self.dim)
            n = min(len(texts), vecs.shape[0])
            self.rows = {t: i for i, t in enumerate(texts[:n])}
            self.base = vecs[:n]
            if n < len(texts) or n < vecs.shape[0]:       # a run died mid-append: keep the consistent part
                texts_file.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts[:n]),
                                      encoding="utf-8")
                with open(vec_file, "r+b") as f:
                    f.truncate(n * self.dim * 4)
        self.new = np.zeros((1024, self.dim), dtype=np.float32)
        self.n_new = 0
        self.hits = self.misses = 0

    def _load(self) -> Any:
        return object()

    def _vector(self, i: int) -> np.ndarray:
        nb = self.base.shape[0]
        return self.base[i] if i < nb else self.new[i - nb]

    def _encode(self, model: Any, items: Sequence[str], query: bool) -> np.ndarray:
        missing = [t for t in dict.fromkeys(items) if t not in self.rows]
        self.misses += len(missing)
        self.hits += len(items) - len(missing)
        if missing:
            vecs = self.inner.embed_batch(missing, query=query).astype(np.float32)
            while self.n_new + len(missing) > self.new.shape[0]:
                grown = np.zeros((self.new.shape[0] * 2, self.dim), dtype=np.float32)
                grown[:self.n_new] = self.new[:self.n_new]
                self.new = grown
            self.new[self.n_new:self.n_new + len(missing)] = vecs
            start = self.base.shape[0] + self.n_new
            self.n_new += len(missing)
            with open(self.dir / "vectors.f32", "ab") as f:
                f.write(vecs.tobytes())
            with open(self.dir / "texts.jsonl", "a", encoding="utf-8") as f:
                f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in missing)
            for i, t in enumerate(missing):
                self.rows[t] = start + i
        return np.stack([self._vector(self.rows[t]) for t in items])


class PoolImageEmbedder(_embedder_base()):  # type: ignore[misc]
    """Stands in for the image model at full scale: the real vector of the product's
    image (embedded once, in the with-images phase) plus product-specific noise."""

    batch_size = 4096

    def __init__(self, real: Any, pool: dict[str, np.ndarray], seed: int = 0) -> None:
        super().__init__()
        self.name, self.version, self.dim = real.name, real.version, real.dim
        self.pool = pool
        self.seed = seed
        self.count = 0

    def loader(self, ref: str, root: Path) -> tuple[str, int]:
        self.count += 1
        return (ref, self.count)

    def _load(self) -> Any:
        return object()

    def _encode(self, model: Any, items: Sequence[tuple[str, int]], query: bool) -> np.ndarray:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for row, (ref, n) in enumerate(items):
            rng = np.random.default_rng((self.seed, n))
            noise = rng.standard_normal(self.dim).astype(np.float32) / np.sqrt(self.dim)
            out[row] = self.pool[ref] + rng.uniform(0.15, 0.6) * noise
        return out


def photo_queries(catalog: Path, refs: Sequence[str], n: int, seed: int = 7) -> list[Any]:
    """Query photos: catalog images re-shot (cropped, rescaled, lighting changed)."""
    from PIL import Image, ImageEnhance
    r = random.Random(seed)
    out = []
    for i in range(n):
        im = Image.open(catalog / refs[i % len(refs)]).convert("RGB")
        w, h = im.size
        f = r.uniform(0.8, 0.95)
        x, y = r.uniform(0, w * (1 - f)), r.uniform(0, h * (1 - f))
        im = im.crop((int(x), int(y), int(x + w * f), int(y + h * f))).resize((r.randint(320, 640),) * 2)
        im = ImageEnhance.Brightness(im).enhance(r.uniform(0.85, 1.15))
        out.append(im)
    return out


# -- work folder layout ----------------------------------------------------------------

class Work:
    def __init__(self, root: Path, scale: str, seed: int, image_sample: int, full_1m: bool = False) -> None:
        self.root, self.scale, self.seed = root, scale, seed
        self.n = SCALES[scale]
        self.image_sample = image_sample
        self.replicated = scale == "1m" and not full_1m
        # A replicated 1M index comes from the 100k catalog (same images, same queries).
        self.catalog = root / f"catalog-{'100k' if self.replicated else scale}-s{seed}-i{image_sample}"
        self.img_catalog = root / f"catalog-img{image_sample}-s{seed}"
        self.index = root / f"index-{scale}-s{seed}-i{image_sample}"
        self.cache = root / "cache"
        self.pool = root / f"pool-i{image_sample}-s{seed}.npz"

    def sample_catalog(self, n: int) -> Path:
        return self.root / f"catalog-sample{n}-s{self.seed}"


def ensure_catalogs(w: Work, index_sample: int) -> None:
    from benchmarks import synth
    for folder, n, images, mode in ((w.catalog, SCALES["100k"] if w.replicated else w.n, w.image_sample, "all"),
                                    (w.img_catalog, w.image_sample, w.image_sample, "first"),
                                    (w.sample_catalog(index_sample), index_sample, 0, "first")):
        if (folder / "DONE").exists():
            continue
        log(f"generating {folder.name}")
        stats = synth.generate(folder, n, seed=w.seed, images=images, images_for=mode)
        (folder / "DONE").write_text(json.dumps(stats))


# -- phases (each in its own process) -------------------------------------------------

def phase_index(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """Indexing speed, text only, real model, fresh store."""
    from indexer.embed.registry import text_embedder
    from indexer.pipeline import Indexer
    from search.store.embedded import EmbeddedStore
    catalog = w.sample_catalog(args.index_sample)
    text = text_embedder("use")
    text.embed_batch(["warm up"])
    with tempfile.TemporaryDirectory(dir=w.root) as tmp:
        store = EmbeddedStore(Path(tmp) / "index")
        t = time.perf_counter()
        report = Indexer(store, text, None, batch_size=args.batch_size).run(catalog)
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        store.warm()
        warm = time.perf_counter() - t
        store.close()
        size = folder_bytes(Path(tmp) / "index")
    return {"docs": report.indexed, "seconds": seconds, "docs_per_s": report.indexed / seconds,
            "texts": report.texts_embedded, "texts_per_s": report.texts_embedded / max(report.timings.get("embed_text", 1e-9), 1e-9),
            "timings": report.timings, "warm_s": warm, "bytes_per_doc": size / max(report.indexed, 1),
            "peak_rss_mb": peak_rss_mb()}


def phase_images(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """Indexing speed with one image each (real text and image models); saves the pool
    of real image vectors the full-scale build reuses."""
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.pipeline import Indexer
    from search.store.embedded import EmbeddedStore
    text, image = text_embedder("use"), image_embedder("effnet-sscd")
    text.embed_batch(["warm up"])
    from PIL import Image
    image.embed_batch([Image.new("RGB", (64, 64))])
    with tempfile.TemporaryDirectory(dir=w.root) as tmp:
        store = EmbeddedStore(Path(tmp) / "index")
        t = time.perf_counter()
        report = Indexer(store, text, image, batch_size=args.batch_size).run(w.img_catalog)
        seconds = time.perf_counter() - t
        products = [d for d in store.scan("product")]
        docs = store.get([d.id for d in products])
        pool = {ref: v for d in docs if d is not None for ref, v in image_vectors_by_ref(d).items()}
        store.close()
    np.savez(w.pool, refs=np.array(list(pool)), vectors=np.stack(list(pool.values())))
    return {"docs": report.indexed, "images": report.images_embedded, "seconds": seconds,
            "docs_per_s": report.indexed / seconds, "timings": report.timings, "peak_rss_mb": peak_rss_mb()}


def image_vectors_by_ref(d: Any) -> dict[str, np.ndarray]:
    """A document's image vectors by image reference (none if an image failed: then which
    vector is which image is not known from the document alone)."""
    from indexer.documents import plan_images
    refs = plan_images(d.source.get("images") or [])
    return dict(zip(refs, d.image_vectors)) if len(refs) == len(d.image_vectors) else {}


def load_pool(w: Work) -> dict[str, np.ndarray]:
    data = np.load(w.pool)
    return {str(r): v for r, v in zip(data["refs"], data["vectors"])}


def phase_build(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """The full-scale index: real Indexer, text vectors from the cache (the model fills
    it on a cold run), image vectors from the pool; then the ANN graphs (warm)."""
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.pipeline import Indexer
    from search.store.embedded import EmbeddedStore
    done = w.index / "BUILD.json"
    if done.exists() and not args.rebuild:
        return {**json.loads(done.read_text()), "reused": True}
    if w.index.exists():
        shutil.rmtree(w.index)
    if w.scale == "1m" and not args.full_1m:
        return replicate(w, args)
    text = CachedTextEmbedder(text_embedder("use"), w.cache)
    pool_img = PoolImageEmbedder(image_embedder("effnet-sscd"), load_pool(w), seed=w.seed)
    store = EmbeddedStore(w.index)
    t = time.perf_counter()
    report = Indexer(store, text, pool_img, batch_size=args.batch_size, image_loader=pool_img.loader).run(w.catalog)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    store.warm()
    warm = time.perf_counter() - t
    store.close()
    out = {"docs": report.indexed, "seconds": seconds, "docs_per_s": report.indexed / seconds,
           "text_cache_hits": text.hits, "texts_embedded": text.misses, "timings": report.timings,
           "ann_build_s": warm, "bytes": folder_bytes(w.index), "bytes_per_doc": folder_bytes(w.index) / report.indexed,
           "peak_rss_mb": peak_rss_mb(), "reused": False}
    done.write_text(json.dumps(out))
    return out


def replicate(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """1M documents without embedding 2M titles (~50 min here) or analysing 1M products
    (~40 min): the 100k index's products written 10 times through ``store.upsert``
    (ids suffixed, text and image vectors perturbed per copy, tokens kept), plus its
    brands and brand products once. Indexing speed is not measured on this build."""
    from search.store.embedded import EmbeddedStore
    src_w = Work(w.root, "100k", w.seed, w.image_sample)
    if not (src_w.index / "BUILD.json").exists():
        raise SystemExit("build the 100k index first (python -m benchmarks.speed --scales 100k --phases build)")
    src = EmbeddedStore(src_w.index, create=False)
    info = src.info()
    dst = EmbeddedStore(w.index)
    dst.set_models(info.models, info.dims)
    t = time.perf_counter()
    copies = 10
    rng = np.random.default_rng(w.seed)

    def jitter(v: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal(v.shape[0]).astype(np.float32) / np.sqrt(v.shape[0])
        v = v + rng.uniform(0.1, 0.4) * noise
        return v / np.linalg.norm(v)
    for kind in ("brand", "brand_product"):
        dst.upsert([d for d in src.get([x.id for x in src.scan(kind)]) if d is not None])
    ids = [x.id for x in src.scan("product")]
    written = 0
    for start in range(0, len(ids), 1000):
        docs = [d for d in src.get(ids[start:start + 1000]) if d is not None]
        for j in range(copies):
            batch = []
            for d in docs:
                c = IndexDocCopy(d, f"{d.id}-r{j}")
                if j:       # copies beyond the first: near-duplicate vectors, as relisted products have
                    c.text_vector = None if d.text_vector is None else jitter(d.text_vector)
                    c.image_vectors = tuple(jitter(v) for v in d.image_vectors)
                batch.append(c)
            dst.upsert(batch)
            written += len(batch)
        if start % 20_000 == 0:
            log(f"replicated {written:,} documents")
    seconds = time.perf_counter() - t
    src.close()
    t = time.perf_counter()
    dst.warm()
    warm = time.perf_counter() - t
    dst.close()
    out = {"docs": written, "seconds": seconds, "docs_per_s": written / seconds, "replicated": True,
           "text_cache_hits": 0, "texts_embedded": 0, "timings": {}, "ann_build_s": warm, "bytes": folder_bytes(w.index),
           "bytes_per_doc": folder_bytes(w.index) / written, "peak_rss_mb": peak_rss_mb(), "reused": False}
    (w.index / "BUILD.json").write_text(json.dumps(out))
    return out


def IndexDocCopy(d: Any, new_id: str) -> Any:
    from dataclasses import replace

    from search.store.schema import record_id
    source = dict(d.source)
    source["id"] = record_id(new_id)
    return replace(d, id=new_id, source=source)


def text_query_set(seed: int, n: int) -> list[str]:
    from benchmarks.synth import text_queries
    return text_queries(seed, n)


def build_engine(w: Work, *, ocr: bool) -> Any:
    from indexer.embed.ocr import OcrReader
    from indexer.embed.registry import image_embedder, text_embedder
    from search.engine import SearchEngine
    from search.store.embedded import EmbeddedStore
    store = EmbeddedStore(w.index, create=False)
    return SearchEngine(store, text_embedder("use"), image_embedder("effnet-sscd"), OcrReader() if ocr else None)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def phase_search(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """Warm latency end to end through SearchEngine.search; serving memory; profile."""
    from search.requests import SearchRequest
    t = time.perf_counter()
    engine = build_engine(w, ocr=True)
    engine.search(SearchRequest(text="warm up"))          # opens the view: columns + graphs
    open_s = time.perf_counter() - t
    origin = {f: v.origin for f, v in engine.store.describe().fields.items()}
    queries = text_query_set(w.seed + 1, args.queries)
    for q in queries[:30]:
        engine.search(SearchRequest(text=q))
    stages: dict[str, list[float]] = {}
    text_ms = []
    for q in queries:
        t = time.perf_counter()
        resp = engine.search(SearchRequest(text=q))
        text_ms.append((time.perf_counter() - t) * 1000)
        for k, v in resp.timings.items():
            stages.setdefault(k, []).append(v)
    refs = sorted(load_pool(w))
    photos = photo_queries(w.catalog, refs, args.photo_queries)
    for im in photos[:5]:
        engine.search(SearchRequest(image=im, ocr=False))
    photo_ms = [timed(lambda im=im: engine.search(SearchRequest(image=im, ocr=False))) for im in photos]
    ocr_photos = photos[:args.ocr_queries]
    engine.search(SearchRequest(image=ocr_photos[0], ocr=True))
    ocr_ms = [timed(lambda im=im: engine.search(SearchRequest(image=im, ocr=True))) for im in ocr_photos]
    mem = {"rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(),
           "view_mb": {k: v / 2**20 for k, v in engine.store.memory().items()}}
    # Profile the text path (after measuring, so profiling overhead is not in the numbers).
    prof = cProfile.Profile()
    prof.enable()
    for q in queries[:100]:
        engine.search(SearchRequest(text=q))
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    (w.root / f"profile-text-{w.scale}.txt").write_text(buf.getvalue())
    return {"open_s": open_s, "graphs": origin,
            "text": {"p50": pct(text_ms, 50), "p95": pct(text_ms, 95), "p99": pct(text_ms, 99), "n": len(text_ms)},
            "stages_ms": {k: float(np.mean(v)) for k, v in stages.items()},
            "photo": {"p50": pct(photo_ms, 50), "p95": pct(photo_ms, 95), "p99": pct(photo_ms, 99), "n": len(photo_ms)},
            "photo_ocr": {"p50": pct(ocr_ms, 50), "p95": pct(ocr_ms, 95), "p99": pct(ocr_ms, 99), "n": len(ocr_ms)},
            "memory": mem, "profile": buf.getvalue()[:6000]}


def exact_topk(w: Work, field: str, queries: np.ndarray, k: int, where: str = "d.kind = 'product'") -> list[list[str]]:
    """Exact top k over every vector of the field passing ``where`` (streamed from SQLite)."""
    import sqlite3
    db = w.index / (w.index / "CURRENT").read_text().strip()
    conn = sqlite3.connect(db)
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    cur = conn.execute(f"SELECT v.rowid, v.v FROM vec_{field} v JOIN docs d ON d.rowid = v.rowid WHERE {where}")
    while rows := cur.fetchmany(50_000):
        rid = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        s = queries @ mat.T
        s_all = np.concatenate([best_s, s], axis=1)
        i_all = np.concatenate([best_i, np.broadcast_to(rid, s.shape)], axis=1)
        top = np.argsort(-s_all, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1)
    ids = dict(conn.execute("SELECT rowid, id FROM docs").fetchall()) if best_i.size < 2_000_000 else {}
    conn.close()
    return [[ids[int(r)] for r in row] for row in best_i]


def phase_recall(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """recall@10 (and @100) of the store's kNN (ANN above the threshold) against exact search."""
    from indexer.embed.registry import image_embedder, text_embedder
    from search.store.base import Filters
    from search.store.embedded import EmbeddedStore
    store = EmbeddedStore(w.index, create=False)
    text = CachedTextEmbedder(text_embedder("use"), w.cache)
    tq = text.embed_batch(text_query_set(w.seed + 2, args.recall_queries), query=True)
    image = image_embedder("effnet-sscd")
    photos = photo_queries(w.catalog, sorted(load_pool(w)), min(args.recall_queries, 100), seed=11)
    iq = image.embed_batch(photos, query=True)
    out: dict[str, Any] = {}
    for field, qs in (("text", tq), ("image", iq)):
        store.knn(field, qs[0], 10)
        out[f"{field}_mode"] = store.describe().fields[field].origin
        exact100 = exact_topk(w, field, qs, 100)
        for k in (10, 100):
            want = [x[:k] for x in exact100]
            ms = []
            got = []
            for q in qs:
                t = time.perf_counter()
                got.append([h.id for h in store.knn(field, q, k)])
                ms.append((time.perf_counter() - t) * 1000)
            rec = float(np.mean([len(set(g) & set(x)) / k for g, x in zip(got, want)]))
            out[f"{field}@{k}"] = {"recall": rec, "knn_p50_ms": pct(ms, 50)}
        # A category filter (about 1/26 of the products): graph + post-filter above EXACT_SUBSET_MAX.
        cat = "leggings"
        want = exact_topk(w, field, qs, 10, f"d.kind = 'product' AND d.category = '{cat}'")
        got = [[h.id for h in store.knn(field, q, 10, Filters(category=cat))] for q in qs]
        out[f"{field}@10_category"] = {"recall": float(np.mean([len(set(g) & set(x)) / 10 for g, x in zip(got, want)]))}
    out["queries"] = len(tq)
    store.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_loop(url: str, queries: list[str], clients: int, stop: threading.Event,
              record: list[tuple[float, float, int]]) -> list[threading.Thread]:
    def client(i: int) -> None:
        r = random.Random(i)
        while not stop.is_set():
            q = r.choice(queries)
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{url}/api/v1/search?q={urllib.parse.quote(q)}&k=20", timeout=60) as resp:
                    resp.read()
                    code = resp.status
            except urllib.error.HTTPError as e:
                code = e.code
            except Exception:  # noqa: BLE001
                code = 0
            record.append((time.time(), (time.perf_counter() - t) * 1000, code))
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def summarise(record: list[tuple[float, float, int]], t0: float, t1: float) -> dict[str, Any]:
    rows = [r for r in record if t0 <= r[0] <= t1]
    ok = [ms for _, ms, code in rows if code == 200]
    return {"requests": len(rows), "errors": len(rows) - len(ok), "rps": len(ok) / max(t1 - t0, 1e-9),
            "p50": pct(ok, 50), "p99": pct(ok, 99), "seconds": t1 - t0}


def phase_service(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """8 concurrent clients against `dupe serve` on loopback (on a copy of the index), idle
    and while `dupe index` updates the same index (2% of titles and 10% of prices changed)."""
    import psutil
    try:
        import web  # noqa: F401
        from web import create_app  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return {"skipped": f"web.create_app not importable: {e}"}
    copy = w.root / f"serve-{w.scale}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(w.index, copy)
    # Write the copy out before measuring: at 1M it is 16 GB of dirty pages, and their
    # write-back would otherwise slow the service's own reads during the measurement.
    os.sync()
    changed = w.root / f"catalog-{w.scale}-changed"
    if not w.replicated:
        make_changed_catalog(w.catalog, changed)
    port = free_port()
    env = {**os.environ, "DUPE_INDEX_DIR": str(copy), "DUPE_CATALOG_DIR": str(w.catalog),
           "DUPE_ANON_RATE_LIMIT_PER_MIN": "100000000", "DUPE_RATE_LIMIT_PER_MIN": "100000000",
           "DUPE_PAGE_RATE_LIMIT_PER_MIN": "100000000", "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "indexer.cli", "serve", "--port", str(port), "--threads",
                               str(args.clients)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=open(w.root / "serve.log", "w"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        deadline = time.time() + 300
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v1/health", timeout=5).read()
                break
            except Exception:  # noqa: BLE001
                if time.time() > deadline or server.poll() is not None:
                    return {"skipped": f"service did not start (see {w.root / 'serve.log'})"}
                time.sleep(1)
        queries = text_query_set(w.seed + 3, 500)
        for q in queries[:20]:
            urllib.request.urlopen(f"{url}/api/v1/search?q={urllib.parse.quote(q)}", timeout=300).read()
        record: list[tuple[float, float, int]] = []
        stop = threading.Event()
        threads = load_loop(url, queries, args.clients, stop, record)
        t0 = time.time()
        time.sleep(args.service_seconds)
        t1 = time.time()
        out["idle"] = summarise(record, t0 + 2, t1)
        out["server_rss_mb"] = psutil.Process(server.pid).memory_info().rss / 2**20
        # Reindex the same index with the real CLI and model while the load continues
        # (a replicated 1M index has no catalog of its own: rewrite 2% of it instead).
        r0 = time.time()
        cmd = [sys.executable, "-m", "indexer.cli", "index", str(changed), "--index-dir", str(copy)]
        if w.replicated:
            cmd = [sys.executable, "-m", "benchmarks.speed", "_rewrite", str(copy)]
        reindex = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        r1 = time.time()
        stop.set()
        for t in threads:
            t.join(timeout=70)
        out["during_reindex"] = summarise(record, r0, r1)
        # Every request (start time, ms, status), to see when slow ones happened.
        (w.root / f"service-{w.scale}-requests.json").write_text(json.dumps(
            {"reindex_start": r0, "reindex_end": r1, "requests": [(t - r0, ms, c) for t, ms, c in record]}))
        out["reindex"] = {"seconds": r1 - r0, "ok": reindex.returncode == 0,
                          "summary": (reindex.stdout.strip().splitlines() or [""])[-1][:200],
                          "stderr": reindex.stderr[-300:] if reindex.returncode else ""}
        out["server_rss_after_mb"] = psutil.Process(server.pid).memory_info().rss / 2**20
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        shutil.rmtree(copy, ignore_errors=True)
    return out


def rewrite(index_dir: Path, share: float = 0.02, batch: int = 256) -> None:
    """What a reindex does to a replicated index: 2% of the products re-embedded with the
    real text model (titles changed) and written back in batches, as the Indexer does."""
    from dataclasses import replace
    from indexer.embed.base import l2_normalise
    from indexer.embed.registry import text_embedder
    from search.store.embedded import EmbeddedStore
    store = EmbeddedStore(index_dir, create=False)
    text = text_embedder("use")
    ids = [d.id for d in store.scan("product")]
    chosen = ids[::int(1 / share)]
    for i in range(0, len(chosen), batch):
        docs = [d for d in store.get(chosen[i:i + batch]) if d is not None]
        titles = [[t + " v2" for t in (d.source.get("titles") or {}).values()] or ["x"] for d in docs]
        flat = [t for ts in titles for t in ts]
        vecs = text.embed_batch(flat)
        out, pos = [], 0
        for d, ts in zip(docs, titles):
            v = l2_normalise(vecs[pos:pos + len(ts)].mean(axis=0))
            pos += len(ts)
            out.append(replace(d, text_vector=v, content_hash=d.content_hash + "2",
                               source={**d.source, "titles": dict(zip(d.source.get("titles") or {"x": 0}, ts))}))
        store.upsert(out)
    store.close()
    print(f"rewrote {len(chosen)} products")


def make_changed_catalog(src: Path, dst: Path) -> None:
    """The catalog with 2% of the product titles and 10% of the prices changed."""
    if (dst / "DONE").exists():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("brands.jsonl", "brand_products.jsonl", "factories.jsonl"):
        shutil.copyfile(src / name, dst / name)
    if (src / "img").exists() and not (dst / "img").exists():
        shutil.copytree(src / "img", dst / "img")
    with open(src / "products.jsonl", encoding="utf-8") as f, open(dst / "products.jsonl", "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i % 50 == 0 or i % 10 == 1:
                row = json.loads(line)
                if i % 50 == 0:
                    row["titles"] = {k: v + (" 新款" if k == "zh" else " v2") for k, v in row["titles"].items()}
                else:
                    row["price_tiers"] = [{**t, "price": round(t["price"] * 0.95, 2)} for t in row["price_tiers"]]
                line = json.dumps(row, ensure_ascii=False) + "\n"
            g.write(line)
    (dst / "DONE").write_text("ok")


def phase_lancedb(w: Work, args: argparse.Namespace) -> dict[str, Any]:
    """LanceDB on the same documents (tokens and text vectors read from our index), same
    hybrid text queries (its FTS + vector search, RRF), same retrieval depth; query
    analysis and embedding included for both."""
    try:
        import lancedb
        import pyarrow as pa
    except ImportError as e:
        return {"skipped": f"lancedb not installed ({e})"}
    import sqlite3
    from indexer.embed.registry import text_embedder
    from search.analysis import Analyzer, alias_map
    from search.requests import SearchRequest
    db = w.index / (w.index / "CURRENT").read_text().strip()
    conn = sqlite3.connect(db, check_same_thread=False)     # LanceDB reads the batches in its own thread
    brands = [json.loads(s) for (s,) in conn.execute("SELECT source FROM docs WHERE kind = 'brand'")]
    analyzer = Analyzer(alias_map(brands))
    folder = w.root / f"lancedb-{w.scale}"
    shutil.rmtree(folder, ignore_errors=True)
    ldb = lancedb.connect(str(folder))
    dim = json.loads(conn.execute("SELECT value FROM meta WHERE key='dims'").fetchone()[0])["text"]
    schema = pa.schema([("id", pa.string()), ("kind", pa.string()), ("tokens", pa.string()),
                        ("vector", pa.list_(pa.float32(), dim))])

    def batches():
        cur = conn.execute("SELECT d.id, d.kind, d.tokens, v.v FROM docs d JOIN vec_text v ON v.rowid = d.rowid")
        while rows := cur.fetchmany(20_000):
            vec = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32)
            yield pa.RecordBatch.from_arrays(
                [pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]), pa.array([r[2] for r in rows]),
                 pa.FixedSizeListArray.from_arrays(pa.array(vec), dim)], schema=schema)
    t = time.perf_counter()
    table = ldb.create_table("docs", data=pa.RecordBatchReader.from_batches(schema, batches()), schema=schema)
    n = table.count_rows()
    table.create_fts_index("tokens", use_tantivy=False, base_tokenizer="whitespace", lower_case=False, stem=False,
                           remove_stop_words=False, ascii_folding=False)
    ann = n >= args.lance_ann_min
    if ann:
        table.create_index(metric="cosine", index_type="IVF_HNSW_SQ")
    build_s = time.perf_counter() - t
    conn.close()
    text = text_embedder("use")
    queries = text_query_set(w.seed + 1, args.queries)
    depth = 100                      # our engine retrieves 100 per list for k=20

    def lance_search(q: str) -> list[dict]:
        tokens = analyzer.tokens(q)
        vec = text.embed(q, query=True)
        builder = table.search(query_type="hybrid").vector(vec).text(" ".join(tokens) or q) \
            .where("kind = 'product'", prefilter=True).select(["id"]).limit(depth)
        return builder.to_list()
    for q in queries[:30]:
        lance_search(q)
    lance_ms = [timed(lambda q=q: lance_search(q)) for q in queries]
    # Its vector search recall@10 against exact, like ours.
    qs = text.embed_batch(text_query_set(w.seed + 2, min(args.recall_queries, 100)), query=True)
    want = exact_topk(w, "text", qs, 10)
    got = [[r["id"] for r in table.search(q, query_type="vector").metric("cosine").where("kind = 'product'", prefilter=True)
            .select(["id"]).limit(10).to_list()] for q in qs]
    recall = float(np.mean([len(set(g) & set(x)) / 10 for g, x in zip(got, want)]))
    # Ours, same queries, same process, same warm-up: end to end, and retrieval only (what
    # LanceDB does: analysis, embedding, BM25 + kNN at the same depth, RRF).
    engine = build_engine(w, ocr=False)
    for q in queries[:30]:
        engine.search(SearchRequest(text=q))
    ours_ms = [timed(lambda q=q: engine.search(SearchRequest(text=q))) for q in queries]
    from search.fusion import rrf

    def ours_retrieval(q: str) -> list:
        tokens = analyzer.tokens(q)
        vec = text.embed(q, query=True)
        lists = {"bm25": [(h.id, h.score) for h in engine.store.bm25(tokens, depth)],
                 "text": [(h.id, h.score) for h in engine.store.knn("text", vec, depth)]}
        return rrf(lists, {"bm25": 1.0, "text": 1.0})
    retrieval_ms = [timed(lambda q=q: ours_retrieval(q)) for q in queries]
    return {"ours_retrieval": {"p50": pct(retrieval_ms, 50), "p95": pct(retrieval_ms, 95), "p99": pct(retrieval_ms, 99)},"build_s": build_s, "vector_index": "IVF_HNSW_SQ" if ann else "none (exact)", "rows": n,
            "lance": {"p50": pct(lance_ms, 50), "p95": pct(lance_ms, 95), "p99": pct(lance_ms, 99)},
            "ours": {"p50": pct(ours_ms, 50), "p95": pct(ours_ms, 95), "p99": pct(ours_ms, 99)},
            "lance_recall@10": recall, "bytes": folder_bytes(folder)}


PHASES: dict[str, Callable[[Work, argparse.Namespace], dict[str, Any]]] = {
    "index": phase_index, "images": phase_images, "build": phase_build, "search": phase_search,
    "recall": phase_recall, "service": phase_service, "lancedb": phase_lancedb,
}


# -- orchestration -----------------------------------------------------------------------

def run_phase(name: str, scale: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.speed", "_phase", name, "--scales", scale, "--work", str(args.work),
           "--seed", str(args.seed), "--index-sample", str(args.index_sample), "--image-sample", str(args.image_sample),
           "--queries", str(args.queries), "--photo-queries", str(args.photo_queries), "--ocr-queries",
           str(args.ocr_queries), "--recall-queries", str(args.recall_queries), "--clients", str(args.clients),
           "--service-seconds", str(args.service_seconds), "--batch-size", str(args.batch_size),
           "--lance-ann-min", str(args.lance_ann_min)] + (["--rebuild"] if args.rebuild else []) + \
        (["--full-1m"] if args.full_1m else [])
    log(f"{scale}: phase {name} (load {load_avg()})")
    t = time.perf_counter()
    logfile = args.work / f"phase-{scale}-{name}.log"
    with open(logfile, "w") as err:
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO), "RUST_LOG": "error", "LANCE_LOG": "error"})
    result: dict[str, Any] = {"error": f"phase failed (exit {proc.returncode}, see {logfile})"}
    if proc.returncode:
        print(logfile.read_text()[-3000:], file=sys.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT):])
    result["_wall_s"] = time.perf_counter() - t
    result["_load"] = load_avg()
    result["_at"] = time.strftime("%Y-%m-%d %H:%M")
    log(f"{scale}: phase {name} done in {result['_wall_s']:.0f} s")
    return result


def fmt(x: Any, nd: int = 1) -> str:
    if isinstance(x, (int, float)) and x == x:
        return f"{x:,.{nd}f}"
    return "n/a"


def table(scale: str, res: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    rows: list[tuple[str, str, str, str]] = []   # metric, value, target, verdict

    def add(metric: str, value: str, target: str = "", ok: bool | None = None) -> None:
        rows.append((metric, value, target, "" if ok is None else ("met" if ok else "**missed**")))
    n = SCALES[scale]
    ix, im, b, s, r, sv, ld = (res.get(p, {}) for p in ALL_PHASES)
    if "docs_per_s" in ix:
        t = ix["timings"]
        add(f"indexing, text only, real USE ({ix['docs']:,} docs, fresh)", f"{fmt(ix['docs_per_s'], 0)} docs/s",
            ">= 1,000 products/s", ix["docs_per_s"] >= 1000)
        add("  of which: plan (analysis) / embed text / write, s",
            f"{fmt(t.get('plan'))} / {fmt(t.get('embed_text'))} / {fmt(t.get('write'))}; USE {fmt(ix['texts_per_s'], 0)} texts/s")
    if "docs_per_s" in im:
        t = im["timings"]
        add(f"indexing, one image each, real models ({im['docs']:,} docs)", f"{fmt(im['docs_per_s'], 1)} docs/s",
            ">= 30 products/s", im["docs_per_s"] >= 30)
        add("  of which: plan / embed text / load images / embed images, s",
            f"{fmt(t.get('plan'))} / {fmt(t.get('embed_text'))} / {fmt(t.get('load_images'))} / {fmt(t.get('embed_image'))}")
    if "docs" in b:
        how = ("the 100k products written 10x with perturbed vectors, through store.upsert" if b.get("replicated")
               else "cold: every title embedded by USE" if b.get("texts_embedded") else "text vectors from the cache")
        how += "; reused from an earlier run" if b.get("reused") else ""
        add(f"full build, {b['docs']:,} docs ({how})", f"{fmt(b['seconds'], 0)} s ({fmt(b['docs_per_s'], 0)} docs/s)")
        add("  ANN graphs build + save (warm)", f"{fmt(b['ann_build_s'], 1)} s")
        add("index size on disk", f"{fmt(b['bytes'] / 2**20, 0)} MiB ({fmt(b['bytes_per_doc'], 0)} bytes/doc, text + image vectors)")
        add("peak RSS, indexing (full build)", f"{fmt(b['peak_rss_mb'], 0)} MiB")
    if "text" in s:
        lim50 = 20 if n <= 100_000 else 40
        add("text query p50 / p95 / p99 (end to end, warm)",
            f"{fmt(s['text']['p50'])} / {fmt(s['text']['p95'])} / {fmt(s['text']['p99'])} ms",
            f"p50 <= {lim50} ms" + (", p99 <= 60 ms" if n <= 100_000 else ""),
            s["text"]["p50"] <= lim50 and (n > 100_000 or s["text"]["p99"] <= 60))
        add("  mean stage times, ms", ", ".join(f"{k} {fmt(v)}" for k, v in s["stages_ms"].items()))
        add("photo query p50 / p95 / p99, no OCR",
            f"{fmt(s['photo']['p50'])} / {fmt(s['photo']['p95'])} / {fmt(s['photo']['p99'])} ms", "p50 <= 100 ms",
            s["photo"]["p50"] <= 100)
        add("photo query p50 / p95 / p99, with OCR",
            f"{fmt(s['photo_ocr']['p50'])} / {fmt(s['photo_ocr']['p95'])} / {fmt(s['photo_ocr']['p99'])} ms",
            "p50 <= 900 ms", s["photo_ocr"]["p50"] <= 900)
        m = s["memory"]
        add("serving process RSS after the queries (peak)", f"{fmt(m['rss_mb'], 0)} MiB ({fmt(m['peak_rss_mb'], 0)})",
            "<= 6 GB at 1M" if n >= 1_000_000 else "", (m["peak_rss_mb"] <= 6144) if n >= 1_000_000 else None)
        add("  in-memory view, MiB", ", ".join(f"{k} {fmt(v, 0)}" for k, v in m["view_mb"].items())
            + f"; opened in {fmt(s['open_s'], 1)} s (graphs {', '.join(f'{k}: {v}' for k, v in s['graphs'].items())})")
    if "text@10" in r:
        for f in ("text", "image"):
            add(f"{f} kNN recall@10 vs exact ({r[f + '_mode']}, {r['queries']} queries)",
                f"{r[f + '@10']['recall']:.4f} (knn p50 {fmt(r[f + '@10']['knn_p50_ms'], 2)} ms); "
                f"@100 {r[f + '@100']['recall']:.4f}; category-filtered @10 {r[f + '@10_category']['recall']:.4f}",
                ">= 0.98", r[f + "@10"]["recall"] >= 0.98)
    if "idle" in sv:
        for key, label in (("idle", "service, 8 clients, idle"), ("during_reindex", "service, 8 clients, during reindex")):
            x = sv[key]
            add(label, f"{fmt(x['rps'], 1)} req/s, p50 {fmt(x['p50'], 0)} ms, p99 {fmt(x['p99'], 0)} ms, "
                       f"{x['errors']} errors / {x['requests']} requests")
        add("  reindex (dupe index, 2% titles + 10% prices changed)",
            f"{fmt(sv['reindex']['seconds'], 0)} s, {'ok' if sv['reindex']['ok'] else 'FAILED'}: {sv['reindex']['summary']}")
        add("  service RSS idle / after reindex", f"{fmt(sv['server_rss_mb'], 0)} / {fmt(sv['server_rss_after_mb'], 0)} MiB")
    elif "skipped" in sv:
        add("service", sv["skipped"])
    if "lance" in ld:
        ratio = ld["ours"]["p50"] / ld["lance"]["p50"]
        add(f"LanceDB hybrid (FTS + vector {ld['vector_index']}, RRF, depth 100) p50 / p99",
            f"{fmt(ld['lance']['p50'])} / {fmt(ld['lance']['p99'])} ms; vector recall@10 {ld['lance_recall@10']:.4f}")
        add("ours end to end (SearchEngine.search), same queries, same process, p50 / p99",
            f"{fmt(ld['ours']['p50'])} / {fmt(ld['ours']['p99'])} ms")
        add("ours end to end / LanceDB hybrid, p50", f"{ratio:.2f}x", "<= 1.0", ratio <= 1.0)
        if "ours_retrieval" in ld:
            rr = ld["ours_retrieval"]["p50"] / ld["lance"]["p50"]
            add("ours retrieval only (analysis + embed + bm25 + kNN at depth 100 + RRF), p50 / p99",
                f"{fmt(ld['ours_retrieval']['p50'])} / {fmt(ld['ours_retrieval']['p99'])} ms; "
                f"{rr:.2f}x LanceDB (our kNN recall@10 in the recall row)", "<= 1.0", rr <= 1.0)
    elif "skipped" in ld:
        add("LanceDB", ld["skipped"])
    for p in ALL_PHASES:
        if "error" in res.get(p, {}):
            add(f"phase {p}", res[p]["error"])
    loads = ", ".join(f"{p} {res[p]['_load']} ({res[p].get('_at', 'earlier run')})" for p in ALL_PHASES if p in res)
    head = f"### {scale} products (seed {args.seed})\n\n| metric | value | target | |\n|---|---|---|---|\n"
    return head + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows) + \
        f"\n\nLoad average (1/5/15 min) after each phase (and when it ran): {loads}.\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase_cmd", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("phase_name", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="10k,100k", help="comma-separated: 10k, 100k, 1m")
    ap.add_argument("--phases", default=",".join(ALL_PHASES), help="comma-separated: " + ",".join(ALL_PHASES))
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--index-sample", type=int, default=5000, help="products indexed fresh with the real model")
    ap.add_argument("--image-sample", type=int, default=1000, help="products indexed with one image each")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--photo-queries", type=int, default=60)
    ap.add_argument("--ocr-queries", type=int, default=20)
    ap.add_argument("--recall-queries", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--service-seconds", type=float, default=30)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lance-ann-min", type=int, default=20_000, help="LanceDB gets a vector index from this size")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the full-scale index even if one exists")
    ap.add_argument("--fresh-results", action="store_true", help="forget the results of earlier runs")
    ap.add_argument("--full-1m", action="store_true",
                    help="build 1m through the Indexer (embeds ~2M titles: hours here) instead of replicating 100k")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    scales = [s.strip().lower() for s in args.scales.split(",") if s.strip()]
    for s in scales:
        if s not in SCALES:
            ap.error(f"unknown scale {s!r} (10k, 100k, 1m)")
    if args.phase_cmd == "_rewrite":
        rewrite(Path(args.phase_name))
        return 0
    if args.phase_cmd == "_phase":
        w = Work(args.work, scales[0], args.seed, args.image_sample, args.full_1m)
        emit(PHASES[args.phase_name](w, args))
        return 0
    phases = [p for p in args.phases.split(",") if p]
    out = []
    for scale in scales:
        w = Work(args.work, scale, args.seed, args.image_sample, args.full_1m)
        ensure_catalogs(w, args.index_sample)
        # Phases run now replace their earlier results; the others are kept (and dated in
        # the table), so one slow phase can be re-run without redoing the rest.
        saved = args.work / f"results-{scale}.json"
        res: dict[str, dict[str, Any]] = json.loads(saved.read_text()) if saved.exists() and not args.fresh_results else {}
        for p in ALL_PHASES:
            if p in phases:
                if p in ("build", "search", "recall", "service", "lancedb") and not w.pool.exists():
                    res["images"] = run_phase("images", scale, args)
                if p == "build" and w.replicated and not (Work(args.work, "100k", args.seed, args.image_sample)
                                                          .index / "BUILD.json").exists():
                    run_phase("build", "100k", args)
                res[p] = run_phase(p, scale, args)
                saved.write_text(json.dumps(res, indent=1))
        out.append(table(scale, res, args))
        print(out[-1], flush=True)
        prof = args.work / f"profile-text-{scale}.txt"
        if prof.exists():
            print(f"Profile of 100 text queries ({scale}, cumulative): {prof}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
