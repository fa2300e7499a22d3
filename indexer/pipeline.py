"""The indexing job: catalog folder -> validated records -> vectors -> the store.

Stages (each swappable in tests): read + validate (``catalog.reader``), plan documents
(``documents``, pure), embed what changed (text and image embedders), write in committed
batches (the store). A re-run on an unchanged catalog embeds nothing; records that left
the catalog are removed; bad records and unreadable images are reported, never fatal.
Every image of a record gets a vector (up to ``schema.MAX_IMAGES``), each reused while its
bytes and the model stay the same; an image that fails is reported, its record indexed with
the others, and the image tried again next run.

Nothing good is lost to a bad record: a rejected record keeps its last valid version
(``catalog.stored``), and while a file has lines that cannot be read at all, records
missing from it are not removed (they may be on those lines). One run writes at a time
(``Store.writing``). The store is checked first (``Store.verify``): damaged documents are
written again, and a damaged index is rebuilt from the catalog, saying so.

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

from indexer.catalog.reader import FILE_KINDS, load_catalog
from indexer.catalog.records import RecordWarning, Reject
from indexer.catalog.stored import StoredRecords
from indexer.documents import DocPlan, finish_hash, iter_plans
from indexer.embed.base import Embedder, l2_normalise
from indexer.images import ImageError, load_image_ref
from search.store.base import Damage, Store
from search.store.schema import doc_id, doc_kind, vector_problem

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
    warnings: list[RecordWarning] = field(default_factory=list)        # kept records that look mistaken
    read_notes: list[str] = field(default_factory=list)                 # how catalog files were read (encoding...)
    kept: int = 0                   # rejected records whose last valid version stays indexed
    held_back: int = 0              # records kept because their file has unreadable lines
    unreadable: dict[str, list[int]] = field(default_factory=dict)     # file -> line numbers
    repaired: int = 0               # damaged documents written again
    rebuilt: str | None = None      # why the index was rebuilt (None: it was not)
    notes: list[str] = field(default_factory=list)                      # housekeeping done

    def summary(self) -> str:
        kept = f" (kept their last valid version: {self.kept})" if self.kept else ""
        text = (f"indexed {self.indexed}, unchanged {self.unchanged}, removed {self.removed}, "
                f"rejected {self.rejected}{kept} in {self.seconds:.1f} s "
                f"({self.texts_embedded} texts and {self.images_embedded} images embedded)")
        more = []
        if self.unreadable:
            lines = "; ".join(f"{name} line{'s' if len(nos) > 1 else ''} {_numbers(nos)}"
                              for name, nos in sorted(self.unreadable.items()))
            more.append(f"unreadable lines ({lines}): {_count(self.held_back, 'indexed record')} missing from "
                        f"{'those files' if len(self.unreadable) > 1 else 'that file'} kept, not removed")
        if self.warnings:
            more.append(f"{_count(len(self.warnings), 'warning')} (records indexed as given)")
        if self.repaired:
            more.append(f"{_count(self.repaired, 'damaged stored record')} written again")
        if self.rebuilt:
            more.append(f"the index was rebuilt from the catalog: {self.rebuilt}")
        more += self.notes
        return "; ".join([text, *more])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _numbers(nos: Sequence[int], shown: int = 5) -> str:
    text = ", ".join(map(str, nos[:shown]))
    return text + (f" and {len(nos) - shown} more" if len(nos) > shown else "")


def models_of(text: Embedder, image: Embedder | None) -> tuple[dict[str, str], dict[str, int]]:
    models, dims = {"text": text.model_id}, {"text": text.dim}
    if image is not None:
        models["image"], dims["image"] = image.model_id, image.dim
    return models, dims


def _image_key(ref: str, root: Path, image: Embedder) -> str:
    """What an image's vector depends on: the model and the image's bytes (or its URL)."""
    if ref.lower().startswith(("http://", "https://")):
        return f"{image.model_id}|{ref}"
    try:
        digest = hashlib.sha256((root / ref).read_bytes()).hexdigest()[:24]
    except OSError:
        digest = "unreadable"
    return f"{image.model_id}|{ref}|{digest}"


def _stored_image_keys(keys: dict) -> list[str]:
    """The keys of a stored document's image vectors, in order (``source["_keys"]["image"]``:
    a list; one string when written before documents had several images)."""
    stored = keys.get("image") or []
    return [stored] if isinstance(stored, str) else list(stored)


def _settle_images(p: DocPlan) -> None:
    """The plan's image vectors from those found (reused or embedded), in image order, and
    the keys of just those in its source: an image that failed has neither, and is tried
    again next run (its document's hash is marked failed)."""
    kept = [(k, v) for k, v in zip(p.image_keys, p.image_found) if v is not None]
    p.doc.image_vectors = tuple(v for _, v in kept)
    p.doc.source["_keys"]["image"] = [k for k, _ in kept]


def _mark_failed(p: DocPlan, field: str) -> None:
    """Never store the document's hash as done: the next run plans it again (reusing what
    succeeded) and tries the failed input again, reporting it again if it still fails."""
    mark = f"+{field}-failed"
    if mark not in p.doc.content_hash:
        p.doc.content_hash += mark


#: Text vectors kept for the rest of a run, so a title repeated across products (variants,
#: multi-listings) is embedded once: ~2 KB each, ~16 MB at most.
_RECENT_TEXTS = 8192


@dataclass
class _Job:
    """What the embedding thread does for one batch (decided on the writing thread, which
    owns the store)."""
    need_text: list[DocPlan]
    need_image: list[tuple[DocPlan, int]]       # (plan, index of the image in ``plan.images``)
    with_images: list[DocPlan]                  # every plan with images, settled when done


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
                 batch_size: int = 64, image_loader: Callable[[str, Path], object] = load_image_ref,
                 say: Callable[[str], None] | None = None) -> None:
        self.store, self.text, self.image = store, text, image
        self.batch_size = batch_size
        self.image_loader = image_loader
        self.say = say or (lambda message: None)        # messages while running (the CLI's stderr)

    def run(self, catalog_dir: Path | str, *, rebuild: bool = False,
            progress: Callable[[int, int], Progress] | None = None) -> IndexReport:
        """Index the catalog folder into the store (into a fresh one swapped in at the end
        if ``rebuild``, or if the store is damaged); see the module docstring.

        Documents are planned one by one on this thread; full batches of changed documents
        are embedded on a worker thread (the models release the GIL) while this thread plans
        the next ones and writes finished batches, in plan order, one transaction each.
        ``progress`` is called once planning is done (when the number of changed documents
        is known), then once per written batch, batches written meanwhile included."""
        t0 = time.perf_counter()
        root = Path(catalog_dir).resolve()
        with self.store.writing(on_wait=self.say) as notes:
            damage = Damage() if rebuild else self.store.verify()
            if damage.corrupt:
                self.say(f"the index is damaged ({damage.corrupt}): rebuilding it from the catalog")
            if rebuild or damage.corrupt:
                # The old index, if readable, still holds the last valid version of records
                # this catalog rejects.
                previous = None if damage.corrupt else self.store
                with self.store.rebuilding() as fresh:
                    report = self._into(fresh)._index(root, previous, {}, progress)
                report.rebuilt = damage.corrupt and f"it was damaged ({damage.corrupt})"
            else:
                report = self._index(root, self.store, damage.records, progress)
        report.notes[:0] = notes
        report.seconds = time.perf_counter() - t0
        return report

    def _into(self, store: Store) -> Indexer:
        return Indexer(store, self.text, self.image, batch_size=self.batch_size, image_loader=self.image_loader,
                       say=self.say)

    def _index(self, root: Path, previous: Store | None, damaged: dict[str, str],
               progress: Callable[[int, int], Progress] | None) -> IndexReport:
        """One run into ``self.store``: ``previous`` holds the last valid versions of the
        records this catalog rejects; ``damaged`` documents are planned and embedded again."""
        t0 = time.perf_counter()
        report = IndexReport()
        catalog = load_catalog(root, StoredRecords(previous))
        report.rejects.extend(catalog.rejects)
        report.warnings.extend(catalog.warnings)
        report.read_notes.extend(catalog.notes)
        report.kept = sum(r.kept for r in catalog.rejects)
        report.unreadable = catalog.unreadable

        models, dims = models_of(self.text, self.image)
        self.store.set_models(models, dims)
        existing = self.store.hashes()
        for i in damaged:
            if i in existing:
                existing[i] = ""            # never equal to a plan's hash: written again
        plan_s = time.perf_counter() - t0

        # Last valid versions stand in for rejected records as they are stored: untouched.
        as_stored = {doc_id(kind, rid) for kind, rid in catalog.restored} & set(existing)
        flow = _Flow(self, root, report, set(damaged))
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
                if p.doc.id in as_stored and existing[p.doc.id]:
                    wanted.add(p.doc.id)
                    report.unchanged += 1
                    continue
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
            # Records missing from a file with unreadable lines may be on those lines: kept.
            held = {FILE_KINDS[name] for name in catalog.unreadable}
            gone = [i for i in existing if i not in wanted]
            removed = [i for i in gone if doc_kind(i) not in held]
            report.held_back = len(gone) - len(removed) + len(catalog.held)
            report.repaired = sum(1 for i in damaged if i in wanted)
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
        p.image_keys = [_image_key(ref, root, self.image) for ref in p.images] if self.image is not None else []
        p.doc.source["_keys"] = {"text": p.text_key, "image": p.image_keys}
        p.doc.content_hash = finish_hash(p, models)

    def _job(self, batch: Sequence[DocPlan], damaged: set[str]) -> _Job:
        # Reuse vectors of documents whose text/image inputs did not change (e.g. only a
        # price changed): only new inputs are embedded. Damaged documents are not read.
        ids = [p.doc.id for p in batch if p.doc.id not in damaged]
        old = {d.id: d for d in self.store.get(ids) if d is not None}
        job = _Job([], [], [])
        for p in batch:
            prev = old.get(p.doc.id)
            keys = prev.source.get("_keys", {}) if prev else {}
            if p.texts:
                if prev is not None and prev.text_vector is not None and keys.get("text") == p.text_key:
                    p.doc.text_vector = prev.text_vector
                else:
                    job.need_text.append(p)
            if p.image_keys:
                # Each image on its own: a product that gained a photo embeds that photo only.
                reusable = dict(zip(_stored_image_keys(keys), prev.image_vectors)) if prev is not None else {}
                p.image_found = [reusable.get(k) for k in p.image_keys]
                job.need_image += [(p, j) for j, v in enumerate(p.image_found) if v is None]
                job.with_images.append(p)
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
                p.doc.text_vector = self._checked(p, "text", l2_normalise(vecs[rows].mean(axis=0)), done)
            for s in list(recent)[:max(0, len(recent) - _RECENT_TEXTS)]:
                del recent[s]                                   # oldest first
        done.timings["embed_text"] = time.perf_counter() - t

        done.timings["load_images"] = done.timings["embed_image"] = 0.0
        # In chunks of a batch's size: decoded photos are large, and a batch of products
        # holds up to MAX_IMAGES times as many images.
        for start in range(0, len(job.need_image), self.batch_size):
            self._embed_images(job.need_image[start:start + self.batch_size], root, done)
        for p in job.with_images:
            _settle_images(p)
        return done

    def _embed_images(self, need: Sequence[tuple[DocPlan, int]], root: Path, done: _Done) -> None:
        """Load and embed these images of their plans (``plan.image_found``); one that
        cannot be loaded is reported (a URL that timed out may answer next run)."""
        t = time.perf_counter()
        images, owners = [], []
        for p, j in need:
            try:
                images.append(self.image_loader(p.images[j], root))
                owners.append((p, j))
            except (ImageError, OSError) as e:
                done.rejects.append(Reject(p.images[j], 0, f"image not indexed: {e}", p.doc.source.get("id")))
                _mark_failed(p, "image")
        done.timings["load_images"] += time.perf_counter() - t
        t = time.perf_counter()
        if images:
            assert self.image is not None
            vecs = self.image.embed_batch(images)
            for (p, j), v in zip(owners, vecs):
                p.image_found[j] = self._checked(p, "image", v, done, p.images[j])
            done.images_embedded += len(images)
        done.timings["embed_image"] += time.perf_counter() - t

    @staticmethod
    def _checked(p: DocPlan, field: str, vector: np.ndarray, done: _Done, where: str | None = None
                 ) -> np.ndarray | None:
        """The vector, or None (reported) if the store would refuse it (e.g. all zeros):
        one bad vector must not fail its batch. Not stored as done: tried again next run."""
        problem = vector_problem(vector, None)
        if problem is None:
            return vector
        done.rejects.append(Reject(where or p.doc.id, 0, f"{field} not indexed: its vector {problem}",
                                   p.doc.source.get("id")))
        _mark_failed(p, field)
        return None


class _Flow:
    """The batches of one run between planning and the store: each is embedded on one worker
    thread and then written on the planning thread, in plan order, one transaction each.

    A batch that fails (the model raised, the run was interrupted) is not written, nor is
    any later one: the store holds the batches before it, as a run without the thread would
    leave it, and the next run resumes from there.
    """

    def __init__(self, indexer: Indexer, root: Path, report: IndexReport, damaged: set[str]) -> None:
        self.ix, self.root, self.report, self.damaged = indexer, root, report, damaged
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
            job = self.ix._job(batch, self.damaged)
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
            # "kept": its last valid version stays indexed (only written when it does).
            row = {"file": r.file, "line": r.line, "id": r.record_id, "reason": r.reason}
            if r.kept:
                row["kept"] = True
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


