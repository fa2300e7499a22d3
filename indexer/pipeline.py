"""The indexing job: catalog folder -> validated records -> vectors -> the store.

Stages (each swappable in tests): read + validate (``catalog.reader``), plan documents
(``documents``, pure), embed what changed (text and image embedders), write in committed
batches (the store). A re-run on an unchanged catalog embeds nothing; records that left
the catalog are removed; bad records and unreadable images are reported, never fatal.

The models run on a worker thread while the calling thread plans and writes (onnxruntime
releases the GIL), so analysis and SQLite time hide behind model time; the store is only
ever used from the calling thread.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.catalog.reader import load_catalog
from indexer.catalog.records import Reject
from indexer.documents import DocPlan, finish_hash, iter_plans
from indexer.embed.base import Embedder, l2_normalise
from indexer.images import ImageError, load_image_ref
from search.store.base import Store

Progress = Callable[[int], None]


@dataclass
class IndexReport:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    images_embedded: int = 0
    texts_embedded: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)

    def summary(self) -> str:
        return (f"indexed {self.indexed}, unchanged {self.unchanged}, removed {self.removed}, "
                f"rejected {self.rejected} in {self.seconds:.1f} s "
                f"({self.texts_embedded} texts and {self.images_embedded} images embedded)")


def models_of(text: Embedder, image: Embedder | None) -> tuple[dict[str, str], dict[str, int]]:
    models, dims = {"text": text.model_id}, {"text": text.dim}
    if image is not None:
        models["image"], dims["image"] = image.model_id, image.dim
    return models, dims


def _image_key(ref: str | None, root: Path, image: Embedder | None) -> str:
    """What the image vector depends on: the model and the image's bytes (or its URL)."""
    if ref is None or image is None:
        return ""
    if ref.lower().startswith(("http://", "https://")):
        return f"{image.model_id}|{ref}"
    try:
        digest = hashlib.sha256((root / ref).read_bytes()).hexdigest()[:24]
    except OSError:
        digest = "unreadable"
    return f"{image.model_id}|{ref}|{digest}"


#: Text vectors kept for the rest of a run, so a title repeated across products (variants,
#: multi-listings) is embedded once: ~2 KB each, ~16 MB at most.
_RECENT_TEXTS = 8192


@dataclass
class _Job:
    """What the embedding thread does for one batch (decided on the writing thread, which
    owns the store)."""
    need_text: list[DocPlan]
    need_image: list[DocPlan]


@dataclass
class _Done:
    """What the embedding thread did for one batch; merged into the report when written."""
    texts_embedded: int = 0
    images_embedded: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)


def unique_texts(plans: Sequence[DocPlan]) -> tuple[list[str], list[list[int]]]:
    """The distinct texts of the plans (first-seen order), and per plan the positions of its
    texts in that list: a text shared by several titles or products is embedded once."""
    pos: dict[str, int] = {}
    where = [[pos.setdefault(t, len(pos)) for t in p.texts] for p in plans]
    return list(pos), where


class Indexer:
    #: Batches handed to the embedding thread before the oldest is written: one embedding
    #: and one queued, so the model never waits for planning or writing.
    AHEAD = 2

    def __init__(self, store: Store, text: Embedder, image: Embedder | None = None, *,
                 batch_size: int = 64, image_loader: Callable[[str, Path], object] = load_image_ref) -> None:
        self.store, self.text, self.image = store, text, image
        self.batch_size = batch_size
        self.image_loader = image_loader

    def run(self, catalog_dir: Path | str, *, progress: Callable[[int, int], Progress] | None = None) -> IndexReport:
        """Index the catalog folder into the store; see the module docstring.

        Documents are planned one by one on this thread; full batches of changed documents
        are embedded on a worker thread (the models release the GIL) while this thread plans
        the next ones and writes finished batches, in plan order, one transaction each.
        ``progress`` is called once planning is done (when the number of changed documents
        is known), then once per written batch, batches written meanwhile included."""
        t0 = time.perf_counter()
        root = Path(catalog_dir).resolve()
        report = IndexReport()
        catalog = load_catalog(root)
        report.rejects.extend(catalog.rejects)

        models, dims = models_of(self.text, self.image)
        self.store.set_models(models, dims)
        existing = self.store.hashes()
        plan_s = time.perf_counter() - t0

        flow = _Flow(self, root, report)
        try:
            wanted: set[str] = set()
            batch: list[DocPlan] = []
            changed = 0
            plans = iter_plans(catalog)
            while True:
                t = time.perf_counter()
                p = next(plans, None)
                if p is None:
                    break
                self._finish(p, root, models)
                plan_s += time.perf_counter() - t
                wanted.add(p.doc.id)
                if existing.get(p.doc.id) == p.doc.content_hash:
                    report.unchanged += 1
                else:
                    changed += 1
                    batch.append(p)
                    if len(batch) == self.batch_size:
                        flow.add(batch)
                        batch = []
                flow.pump()
            if batch:
                flow.add(batch)
            report.timings["plan"] = plan_s
            removed = [i for i in existing if i not in wanted]
            flow.start_progress(progress(changed, len(removed)) if progress else None)
            flow.drain()
        finally:
            flow.close()
        if removed:
            self.store.delete(removed)
            report.removed = len(removed)
        report.rejected = len(report.rejects)
        report.seconds = time.perf_counter() - t0
        return report

    def _finish(self, p: DocPlan, root: Path, models: dict[str, str]) -> None:
        """Model-dependent keys and the content hash of a plan."""
        p.text_key = f"{self.text.model_id}|{p.text_key}" if p.texts else ""
        p.image_key = _image_key(p.image, root, self.image)
        p.doc.source["_keys"] = {"text": p.text_key, "image": p.image_key}
        p.doc.content_hash = finish_hash(p, models)

    def _job(self, batch: Sequence[DocPlan]) -> _Job:
        # Reuse vectors of documents whose text/image inputs did not change (e.g. only a
        # price changed): only new inputs are embedded.
        old = {d.id: d for d in self.store.get([p.doc.id for p in batch]) if d is not None}
        job = _Job([], [])
        for p in batch:
            prev = old.get(p.doc.id)
            keys = prev.source.get("_keys", {}) if prev else {}
            if p.texts:
                if prev is not None and prev.text_vector is not None and keys.get("text") == p.text_key:
                    p.doc.text_vector = prev.text_vector
                else:
                    job.need_text.append(p)
            if p.image and self.image is not None:
                if prev is not None and prev.image_vector is not None and keys.get("image") == p.image_key:
                    p.doc.image_vector = prev.image_vector
                else:
                    job.need_image.append(p)
        return job

    def _embed(self, job: _Job, root: Path, recent: dict[str, np.ndarray]) -> _Done:
        """Runs on the embedding thread: fills the vectors of the job's plans. ``recent``
        (text -> vector, this run's) is touched by this thread only."""
        done = _Done()
        t = time.perf_counter()
        if job.need_text:
            texts, where = unique_texts(job.need_text)
            fresh = [s for s in texts if s not in recent]
            if fresh:
                for s, v in zip(fresh, self.text.embed_batch(fresh)):
                    recent[s] = v
                done.texts_embedded = len(fresh)
            vecs = np.stack([recent[s] for s in texts])
            for p, rows in zip(job.need_text, where):
                # A product titled in several languages gets the mean of its titles' vectors,
                # so a query in any of those languages lands near it.
                p.doc.text_vector = l2_normalise(vecs[rows].mean(axis=0))
            for s in list(recent)[:max(0, len(recent) - _RECENT_TEXTS)]:
                del recent[s]                                   # oldest first
        done.timings["embed_text"] = time.perf_counter() - t

        t = time.perf_counter()
        images, owners = [], []
        for p in job.need_image:
            try:
                images.append(self.image_loader(p.image, root))
                owners.append(p)
            except (ImageError, OSError) as e:
                done.rejects.append(Reject(p.image or "", 0, f"image not indexed: {e}", p.doc.source.get("id")))
                # Not stored as done: the next run tries the image again (a URL that timed
                # out may answer then) and reports it again if it still fails.
                p.doc.content_hash += "+image-failed"
        done.timings["load_images"] = time.perf_counter() - t
        t = time.perf_counter()
        if images:
            assert self.image is not None
            vecs = self.image.embed_batch(images)
            for p, v in zip(owners, vecs):
                p.doc.image_vector = v
            done.images_embedded = len(images)
        done.timings["embed_image"] = time.perf_counter() - t
        return done


class _Flow:
    """The batches of one run between planning and the store: each is embedded on one worker
    thread and then written on the planning thread, in plan order, one transaction each.

    A batch that fails (the model raised, the run was interrupted) is not written, nor is
    any later one: the store holds the batches before it, as a run without the thread would
    leave it, and the next run resumes from there.
    """

    def __init__(self, indexer: Indexer, root: Path, report: IndexReport) -> None:
        self.ix, self.root, self.report = indexer, root, report
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dupe-embed")
        self.waiting: deque[list[DocPlan]] = deque()
        self.running: deque[tuple[list[DocPlan], Future[_Done]]] = deque()
        self.recent: dict[str, np.ndarray] = {}
        self.tick: Progress | None = None
        self.untold: list[int] | None = []      # batches written before the progress bar existed

    def add(self, batch: list[DocPlan]) -> None:
        self.waiting.append(batch)
        self._fill()

    def pump(self) -> None:
        """Without waiting: write the batches the worker has finished, hand it the next."""
        while self.running and self.running[0][1].done():
            self._write_oldest()
        self._fill()

    def drain(self) -> None:
        """Embed and write every batch left."""
        self._fill()
        while self.running:
            self._write_oldest()
            self._fill()

    def start_progress(self, tick: Progress | None) -> None:
        told, self.untold, self.tick = self.untold or [], None, tick
        for n in told:
            self._tell(n)

    def close(self) -> None:
        # After a failure nothing more is embedded; a batch being embedded is waited for.
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _fill(self) -> None:
        while self.waiting and len(self.running) < self.ix.AHEAD:
            batch = self.waiting.popleft()
            job = self.ix._job(batch)
            self.running.append((batch, self.pool.submit(self.ix._embed, job, self.root, self.recent)))

    def _write_oldest(self) -> None:
        batch, future = self.running.popleft()
        t = time.perf_counter()
        done = future.result()                  # raises what the embedding raised
        report = self.report
        report.timings["wait_embed"] = report.timings.get("wait_embed", 0.0) + time.perf_counter() - t
        for k, v in done.timings.items():
            report.timings[k] = report.timings.get(k, 0.0) + v
        report.texts_embedded += done.texts_embedded
        report.images_embedded += done.images_embedded
        report.rejects.extend(done.rejects)
        t = time.perf_counter()
        self.ix.store.upsert([p.doc for p in batch])
        report.timings["write"] = report.timings.get("write", 0.0) + time.perf_counter() - t
        report.indexed += len(batch)
        self._tell(len(batch))

    def _tell(self, n: int) -> None:
        if self.untold is not None:
            self.untold.append(n)
        elif self.tick is not None:
            self.tick(n)


def write_rejects(rejects: Sequence[Reject], path: Path) -> None:
    """One JSON object per reject: file, line, record id, reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rejects:
            f.write(json.dumps({"file": r.file, "line": r.line, "id": r.record_id, "reason": r.reason},
                               ensure_ascii=False) + "\n")


