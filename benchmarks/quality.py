"""Retrieval quality on real public data, through the real indexer, store and search path.

    python -m benchmarks.quality [--data ../shared/data] [--only shopee,grocery] [--limit 500]
                                 [--json rows.json] [--fields 2:30,1:30,2:0]

For each dataset: write its corpus side as a catalog folder (in a temp dir), index it with
the configured models into an embedded store, query with the other side through
``SearchEngine.search`` and print R@1, R@10 and MRR@20 for hybrid, BM25-only and
dense-only retrieval (photo sets: photo, and photo + OCR), on each half of the queries:
``tune`` (what ``benchmarks.fit_fusion`` fits the fusion on) and ``report`` (the figures
quoted; ``benchmarks.datasets.half`` splits them by a fixed seed).

``--fields T:D,...`` also measures other field weightings on each text dataset (titles
counted T times, the first D description tokens), re-indexing the same store (the vectors
are reused, only the tokens change).
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

from benchmarks.datasets import PHOTO_TASKS, TEXT_TASKS, Half, Query, Task, half
from indexer.pipeline import Indexer
from search.engine import SearchEngine
from search.requests import SearchRequest
from search.store.embedded import EmbeddedStore

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass
class Scores:
    r1: float
    r10: float
    mrr: float
    n: int
    ms: float


HALVES: tuple[Half, ...] = ("tune", "report")


def scores(ranks: list[int | None], ms: float) -> Scores:
    """R@1, R@10 and MRR@20 of the queries' first relevant ranks (None: not in the top 20)."""
    n = max(len(ranks), 1)
    return Scores(sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 10 for r in ranks) / n,
                  sum(1.0 / r for r in ranks if r) / n, len(ranks), ms)


def evaluate(engine: SearchEngine, queries: list[Query], key: str, **request) -> dict[Half, Scores]:
    """Scores on each half of ``queries`` (``key``: the dataset's key, which seeds the split)."""
    from indexer.images import load_local
    ranks: dict[Half, list[int | None]] = {h: [] for h in HALVES}
    t0 = time.perf_counter()
    for q in queries:
        image = load_local(q.image.name, q.image.parent) if q.image else None
        resp = engine.search(SearchRequest(text=q.text, image=image, k=21, group_by_factory=False, **request))
        ids = [r.id for r in resp.results if r.id != q.exclude][:20]
        ranks[half(key, q.id)].append(next((i for i, pid in enumerate(ids, start=1) if pid in q.relevant), None))
    ms = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
    return {h: scores(r, ms) for h, r in ranks.items()}


def write_catalog(task: Task, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factories.jsonl").write_text(json.dumps({"id": "f-bench", "names": {"en": "Benchmark"}}) + "\n")
    with open(folder / "products.jsonl", "w", encoding="utf-8") as f:
        for p in task.products:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    for rel, src in task.images.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / rel)


Row = tuple[str, str, Half, Scores]           # dataset, retrieval, half, scores


def with_fields(title_weight: int, description_tokens: int) -> None:
    """Index with these field weights from now on (``indexer.documents``' constants)."""
    from indexer import documents
    documents.TITLE_WEIGHT, documents.DESCRIPTION_TOKENS = title_weight, description_tokens


def run_task(name: str, task: Task, work: Path, *, text_model: str, image_model: str | None,
             limit: int | None, modes: list[tuple[str, dict]],
             fields: list[tuple[int, int]] = ()) -> tuple[list[Row], list[Row]]:
    """The rows of every mode on both halves, and (``fields``) the report-half rows of
    hybrid and BM25-only for each other field weighting, retrieval named ``mode T:D``."""
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.embed.ocr import OcrReader
    text = text_embedder(text_model)
    image = image_embedder(image_model) if image_model else None
    catalog = work / name / "catalog"
    write_catalog(task, catalog)
    store = EmbeddedStore(work / name / "index")
    t = time.perf_counter()
    indexer = Indexer(store, text, image, batch_size=128)
    report = indexer.run(catalog)
    print(f"  indexed {report.indexed} docs in {time.perf_counter() - t:.1f} s ({report.rejected} rejected)",
          file=sys.stderr)
    ocr = OcrReader() if image_model else None
    engine = SearchEngine(store, text, image, ocr)
    queries = task.queries[:limit] if limit else task.queries
    rows: list[Row] = []
    for mode_name, req in modes:
        for h, s in evaluate(engine, queries, name, **req).items():
            print(f"  {mode_name:<12} {h:<6} R@1 {s.r1:.3f}  R@10 {s.r10:.3f}  MRR {s.mrr:.3f}  "
                  f"({s.n} queries, {s.ms:.1f} ms/query)", file=sys.stderr)
            rows.append((task.name, mode_name, h, s))
    from indexer import documents
    default = (documents.TITLE_WEIGHT, documents.DESCRIPTION_TOKENS)
    field_rows: list[Row] = []
    try:
        for tw, dt in fields:
            with_fields(tw, dt)
            indexer.run(catalog)                       # the tokens change, the vectors are reused
            for mode_name, req in modes[:2]:           # hybrid, bm25-only
                s = evaluate(engine, queries, name, **req)["report"]
                print(f"  fields {tw}:{dt} {mode_name:<12} report R@1 {s.r1:.3f}  R@10 {s.r10:.3f}  MRR {s.mrr:.3f}",
                      file=sys.stderr)
                field_rows.append((task.name, f"{mode_name} {tw}:{dt}", "report", s))
    finally:
        with_fields(*default)
    store.close()
    return rows, field_rows


def table(rows: list[Row]) -> str:
    out = ["| dataset | retrieval | half | R@1 | R@10 | MRR@20 | queries | ms/query |", "|---|---|---|---|---|---|---|---|"]
    out += [f"| {d} | {m} | {h} | {s.r1:.3f} | {s.r10:.3f} | {s.mrr:.3f} | {s.n} | {s.ms:.1f} |" for d, m, h, s in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--only", default="", help="comma-separated: " + ",".join([*TEXT_TASKS, *PHOTO_TASKS]))
    ap.add_argument("--limit", type=int, default=None, help="at most this many queries per dataset")
    ap.add_argument("--text-model", default="use")
    ap.add_argument("--fusion", default="zscore", choices=["zscore", "rrf"])
    ap.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    ap.add_argument("--fields", default="", help="other field weightings to measure, TITLE_WEIGHT:DESCRIPTION_TOKENS,...")
    args = ap.parse_args(argv)
    try:
        fields = [(int(a), int(b)) for a, _, b in (x.partition(":") for x in args.fields.split(",") if x)]
    except ValueError:
        ap.error(f"--fields: expected T:D pairs of integers, got {args.fields!r}")
    if not args.data.is_dir():
        print(f"SKIP: evaluation data not found at {args.data} (pass --data DIR)")
        return 0
    only = {x for x in args.only.split(",") if x}
    text_modes = [("hybrid", {"mode": "hybrid", "fusion": args.fusion}), ("bm25-only", {"mode": "bm25"}),
                  ("dense-only", {"mode": "dense"})]
    photo_modes = [("photo", {"ocr": False}), ("photo+ocr", {"ocr": True})]
    rows: list[Row] = []
    field_rows: list[Row] = []
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
            r, f = run_task(name, task, Path(tmp), text_model=args.text_model,
                            image_model="effnet-sscd" if photo else None, limit=args.limit,
                            modes=photo_modes if photo else text_modes, fields=[] if photo else fields)
            rows += r
            field_rows += f
    print("\n" + table(rows))
    if field_rows:
        print("\nField weightings (report half):\n" + table(field_rows))
    if args.json:
        args.json.write_text(json.dumps([{"dataset": d, "retrieval": m, "half": h, **vars(s)}
                                         for d, m, h, s in rows + field_rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
