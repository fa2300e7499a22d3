"""Retrieval quality on real public data, through the real indexer, store and search path.

    python -m benchmarks.quality [--data ../shared/data] [--only shopee,grocery] [--limit 500]

For each dataset: write its corpus side as a catalog folder (in a temp dir), index it with
the configured models into an embedded store, query with the other side through
``SearchEngine.search`` and print R@1, R@10 and MRR@20 for hybrid, BM25-only and
dense-only retrieval (photo sets: photo, and photo + OCR).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import PHOTO_TASKS, TEXT_TASKS, Query, Task
from indexer.pipeline import Indexer
from search.engine import SearchEngine, SearchRequest
from search.store.embedded import EmbeddedStore

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass
class Scores:
    r1: float
    r10: float
    mrr: float
    n: int
    ms: float


def evaluate(engine: SearchEngine, queries: list[Query], **request) -> Scores:
    from indexer.images import load_local
    r1 = r10 = mrr = 0.0
    t0 = time.perf_counter()
    for q in queries:
        image = load_local(q.image.name, q.image.parent) if q.image else None
        resp = engine.search(SearchRequest(text=q.text, image=image, k=21, group_by_factory=False, **request))
        ids = [r.id for r in resp.results if r.id != q.exclude][:20]
        rank = next((i for i, pid in enumerate(ids, start=1) if pid in q.relevant), None)
        if rank:
            r1 += rank == 1
            r10 += rank <= 10
            mrr += 1.0 / rank
    n = max(len(queries), 1)
    return Scores(r1 / n, r10 / n, mrr / n, len(queries), (time.perf_counter() - t0) * 1000 / n)


def write_catalog(task: Task, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factories.jsonl").write_text(json.dumps({"id": "f-bench", "names": {"en": "Benchmark"}}) + "\n")
    with open(folder / "products.jsonl", "w", encoding="utf-8") as f:
        for p in task.products:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    for rel, src in task.images.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / rel)


def run_task(name: str, task: Task, work: Path, *, text_model: str, image_model: str | None,
             limit: int | None, modes: list[tuple[str, dict]]) -> list[tuple[str, str, Scores]]:
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.embed.ocr import OcrReader
    text = text_embedder(text_model)
    image = image_embedder(image_model) if image_model else None
    catalog = work / name / "catalog"
    write_catalog(task, catalog)
    store = EmbeddedStore(work / name / "index")
    t = time.perf_counter()
    report = Indexer(store, text, image, batch_size=128).run(catalog)
    print(f"  indexed {report.indexed} docs in {time.perf_counter() - t:.1f} s ({report.rejected} rejected)",
          file=sys.stderr)
    ocr = OcrReader() if image_model else None
    engine = SearchEngine(store, text, image, ocr)
    queries = task.queries[:limit] if limit else task.queries
    rows = []
    for mode_name, req in modes:
        s = evaluate(engine, queries, **req)
        print(f"  {mode_name:<12} R@1 {s.r1:.3f}  R@10 {s.r10:.3f}  MRR {s.mrr:.3f}  ({s.n} queries, {s.ms:.1f} ms/query)",
              file=sys.stderr)
        rows.append((task.name, mode_name, s))
    store.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--only", default="", help="comma-separated: " + ",".join([*TEXT_TASKS, *PHOTO_TASKS]))
    ap.add_argument("--limit", type=int, default=None, help="at most this many queries per dataset")
    ap.add_argument("--text-model", default="use")
    ap.add_argument("--fusion", default="zscore", choices=["zscore", "rrf"])
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"SKIP: evaluation data not found at {args.data} (pass --data DIR)")
        return 0
    only = {x for x in args.only.split(",") if x}
    text_modes = [("hybrid", {"mode": "hybrid", "fusion": args.fusion}), ("bm25-only", {"mode": "bm25"}),
                  ("dense-only", {"mode": "dense"})]
    photo_modes = [("photo", {"ocr": False}), ("photo+ocr", {"ocr": True})]
    rows = []
    with tempfile.TemporaryDirectory(prefix="dupe-bench-") as tmp:
        for name, make in [*TEXT_TASKS.items(), *PHOTO_TASKS.items()]:
            if only and name not in only:
                continue
            try:
                task = make(args.data)
            except FileNotFoundError as e:
                print(f"SKIP {name}: {e}")
                continue
            print(f"{task.name}: {len(task.products)} catalog products, {len(task.queries)} queries", file=sys.stderr)
            photo = name in PHOTO_TASKS
            rows += run_task(name, task, Path(tmp), text_model=args.text_model,
                             image_model="effnet-sscd" if photo else None, limit=args.limit,
                             modes=photo_modes if photo else text_modes)
    print("\n| dataset | retrieval | R@1 | R@10 | MRR@20 | queries | ms/query |\n|---|---|---|---|---|---|---|")
    for task_name, mode, s in rows:
        print(f"| {task_name} | {mode} | {s.r1:.3f} | {s.r10:.3f} | {s.mrr:.3f} | {s.n} | {s.ms:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
