"""The indexing job: catalog folder -> validated records -> vectors -> the store.

Stages (each swappable in tests): read + validate (``catalog.reader``), plan documents
(``documents``, pure), embed what changed (text and image embedders), write in committed
batches (the store). A re-run on an unchanged catalog embeds nothing; records that left
the catalog are removed; bad records and unreadable images are reported, never fatal.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.catalog.reader import load_catalog
from indexer.catalog.records import Reject
from indexer.documents import DocPlan, finish_hash, plan_catalog
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


class Indexer:
    def __init__(self, store: Store, text: Embedder, image: Embedder | None = None, *,
                 batch_size: int = 64, image_loader: Callable[[str, Path], object] = load_image_ref) -> None:
        self.store, self.text, self.image = store, text, image
        self.batch_size = batch_size
        self.image_loader = image_loader

    def run(self, catalog_dir: Path | str, *, progress: Callable[[int, int], Progress] | None = None) -> IndexReport:
        t0 = time.perf_counter()
        root = Path(catalog_dir).resolve()
        report = IndexReport()
        catalog = load_catalog(root)
        report.rejects.extend(catalog.rejects)

        models, dims = models_of(self.text, self.image)
        self.store.set_models(models, dims)

        plans = plan_catalog(catalog)
        for p in plans:
            p.text_key = f"{self.text.model_id}|{p.text_key}" if p.texts else ""
            p.image_key = _image_key(p.image, root, self.image)
            p.doc.source["_keys"] = {"text": p.text_key, "image": p.image_key}
            p.doc.content_hash = finish_hash(p, models)
        report.timings["plan"] = time.perf_counter() - t0

        existing = self.store.hashes()
        changed = [p for p in plans if existing.get(p.doc.id) != p.doc.content_hash]
        report.unchanged = len(plans) - len(changed)
        wanted = {p.doc.id for p in plans}
        removed = [i for i in existing if i not in wanted]

        tick = progress(len(changed), len(removed)) if progress else (lambda n: None)
        for i in range(0, len(changed), self.batch_size):
            batch = changed[i:i + self.batch_size]
            self._embed(batch, root, report)
            t = time.perf_counter()
            self.store.upsert([p.doc for p in batch])
            report.timings["write"] = report.timings.get("write", 0.0) + time.perf_counter() - t
            report.indexed += len(batch)
            tick(len(batch))
        if removed:
            self.store.delete(removed)
            report.removed = len(removed)
        report.rejected = len(report.rejects)
        report.seconds = time.perf_counter() - t0
        return report

    def _embed(self, batch: Sequence[DocPlan], root: Path, report: IndexReport) -> None:
        # Reuse vectors of documents whose text/image inputs did not change (e.g. only a
        # price changed): only new inputs are embedded.
        old = {d.id: d for d in self.store.get([p.doc.id for p in batch]) if d is not None}
        need_text: list[DocPlan] = []
        need_image: list[DocPlan] = []
        for p in batch:
            prev = old.get(p.doc.id)
            keys = prev.source.get("_keys", {}) if prev else {}
            if p.texts:
                if prev is not None and prev.text_vector is not None and keys.get("text") == p.text_key:
                    p.doc.text_vector = prev.text_vector
                else:
                    need_text.append(p)
            if p.image and self.image is not None:
                if prev is not None and prev.image_vector is not None and keys.get("image") == p.image_key:
                    p.doc.image_vector = prev.image_vector
                else:
                    need_image.append(p)

        t = time.perf_counter()
        if need_text:
            flat = [s for p in need_text for s in p.texts]
            vecs = self.text.embed_batch(flat)
            report.texts_embedded += len(flat)
            pos = 0
            for p in need_text:
                # A product titled in several languages gets the mean of its titles' vectors,
                # so a query in any of those languages lands near it.
                p.doc.text_vector = l2_normalise(vecs[pos:pos + len(p.texts)].mean(axis=0))
                pos += len(p.texts)
        report.timings["embed_text"] = report.timings.get("embed_text", 0.0) + time.perf_counter() - t

        t = time.perf_counter()
        images, owners = [], []
        for p in need_image:
            try:
                images.append(self.image_loader(p.image, root))
                owners.append(p)
            except (ImageError, OSError) as e:
                report.rejects.append(Reject(p.image or "", 0, f"image not indexed: {e}", p.doc.source.get("id")))
                # Not stored as done: the next run tries the image again (a URL that timed
                # out may answer then) and reports it again if it still fails.
                p.doc.content_hash += "+image-failed"
        report.timings["load_images"] = report.timings.get("load_images", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        if images:
            assert self.image is not None
            vecs = self.image.embed_batch(images)
            for p, v in zip(owners, vecs):
                p.doc.image_vector = v
            report.images_embedded += len(images)
        report.timings["embed_image"] = report.timings.get("embed_image", 0.0) + time.perf_counter() - t


def write_rejects(rejects: Sequence[Reject], path: Path) -> None:
    """One JSON object per reject: file, line, record id, reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rejects:
            f.write(json.dumps({"file": r.file, "line": r.line, "id": r.record_id, "reason": r.reason},
                               ensure_ascii=False) + "\n")


