"""Fit the per-query fusion rule (``search.fusion.RULE``) on the tuning halves of every text
dataset together, and print it: the numbers in ``search/fusion.py`` come from here.

    python -m benchmarks.fit_fusion [--data ../shared/data] [--cache /tmp/dupe-fit.pkl]

Each text dataset is indexed and every query searched once through the real engine; its
BM25 and dense lists (which do not depend on the fusion) are recorded with what the rule
reads (coverage, each list's top gap, the product codes of the query and of every
listing). The fusion and the code rule are then replayed, with ``search.fusion``'s own
functions, for each candidate rule on a small grid (``GRID``); the rule kept maximises,
on the tuning halves, the smallest margin of hybrid R@1 over the best single list across
datasets, then the mean MRR@20 over datasets (``objective``). The reporting halves are
only printed, as replayed (``benchmarks.quality`` measures them through the whole search
path).
"""
from __future__ import annotations

import argparse
import itertools
import pickle
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.datasets import TEXT_TASKS, Half, half
from benchmarks.quality import DEFAULT_DATA, HALVES, Scores, scores, write_catalog
from search.codes import brand_of, match, record_codes
from search.fusion import (
    CODE_MARGIN, RULE, Evidence, FusionRule, code_rule, lexical_weight, top_gap, zscore_fusion, zscores,
)

Ranked = list[tuple[str, float]]


@dataclass
class Recorded:
    """One query as searched: its lists and what the rule reads (record ids throughout)."""
    half: Half
    relevant: frozenset[str]
    exclude: str | None
    codes: tuple[str, ...]              # the query's product codes
    bm25: Ranked
    dense: Ranked
    coverage: float
    state: dict[str, int]              # listing -> code match state (``search.codes.match``)
    brand: dict[str, str | None]


def record(name: str, work: Path, data: Path, text_model: str) -> list[Recorded]:
    """Index dataset ``name`` and search each of its queries once, recording its lists."""
    from indexer.embed.registry import text_embedder
    from indexer.pipeline import Indexer
    from search import engine as engine_module
    from search.codes import codes
    from search.engine import SearchEngine
    from search.requests import SearchRequest
    from search.store.embedded import EmbeddedStore
    from search.store.schema import record_id

    task = TEXT_TASKS[name](data)
    text = text_embedder(text_model)
    write_catalog(task, work / name / "catalog")
    store = EmbeddedStore(work / name / "index")
    Indexer(store, text, None, batch_size=128).run(work / name / "catalog")
    engine = SearchEngine(store, text)
    products = {p["id"]: p for p in task.products}
    own_codes = {pid: record_codes(p["titles"], p["attributes"]) for pid, p in products.items()}
    seen: dict[str, object] = {}
    original = engine._candidates

    def spy(view, req, u, lists, anchored):          # noqa: ANN001, ANN202 - the engine's own signature
        best = [d for d in store.get([h.id for h in lists.get("bm25", [])[:3]], vectors=False) if d is not None]
        seen["lists"] = {k: [(record_id(h.id), h.score) for h in v] for k, v in lists.items()}
        seen["coverage"] = engine_module._coverage(u.tokens, [d.tokens for d in best])
        return original(view, req, u, lists, anchored)
    engine._candidates = spy
    out = []
    for q in task.queries:
        engine.search(SearchRequest(text=q.text, k=1, group_by_factory=False))
        lists = seen["lists"]
        qcodes = codes(q.text)
        ids = {d for r in lists.values() for d, _ in r}
        out.append(Recorded(half(name, q.id), frozenset(q.relevant), q.exclude, qcodes, lists.get("bm25", []),
                            lists.get("text", []), seen["coverage"],
                            {d: match(qcodes, own_codes.get(d, ())) for d in ids},
                            {d: brand_of(products[d]["attributes"]) for d in ids if d in products}))
    store.close()
    return out


def first_relevant(q: Recorded, ranked: Ranked) -> int | None:
    ids = [d for d, _ in ranked if d != q.exclude][:20]
    return next((i for i, d in enumerate(ids, start=1) if d in q.relevant), None)


def hybrid(q: Recorded, rule: FusionRule) -> Ranked:
    """The engine's hybrid fusion of one recorded query (``SearchEngine._candidates``)."""
    w = lexical_weight(evidence(q), rule)
    fused = zscore_fusion({"bm25": q.bm25, "text": q.dense}, {"bm25": w, "text": 1.0 - w})
    return code_rule(fused[:200], q.state, q.brand, rule.code_bonus) if q.codes else fused[:200]


def evidence(q: Recorded) -> Evidence:
    return Evidence(q.coverage, top_gap(q.bm25), top_gap(q.dense))


@dataclass
class Replay:
    """One recorded query laid out for replaying the fusion fast (numpy, no sorting):
    the same arithmetic as ``zscore_fusion`` + ``code_rule``, checked against them by
    ``check``."""
    evidence: Evidence
    zb: np.ndarray                     # BM25 z-score of every candidate (its list's floor if absent)
    zd: np.ndarray
    lexical: bool                      # the BM25 list is not empty
    matched: np.ndarray                # bool: carries the query's code
    rivals: list[np.ndarray]           # per matched candidate: indices of the mismatches it must beat
    order: np.ndarray                  # rank of each candidate's id (ties are broken by id)
    relevant: np.ndarray               # bool
    kept: np.ndarray                   # bool: not the query's own product


def replay_of(q: Recorded) -> Replay:
    ids = sorted({d for d, _ in q.bm25} | {d for d, _ in q.dense})
    zb, zd = zscores(q.bm25), zscores(q.dense)
    fb, fd = min(zb.values(), default=0.0), min(zd.values(), default=0.0)
    state = np.array([q.state.get(d, 0) for d in ids])
    matched = state > 0
    mis = np.flatnonzero(state < 0)
    rivals = []
    for i in np.flatnonzero(matched) if q.codes else ():
        b = q.brand.get(ids[i])
        rivals.append(np.array([x for x in mis if b is None or q.brand.get(ids[x]) in (None, b)], dtype=int))
    return Replay(evidence(q), np.array([zb.get(d, fb) for d in ids]), np.array([zd.get(d, fd) for d in ids]),
                  bool(q.bm25), matched if q.codes else np.zeros(len(ids), bool), rivals,
                  np.arange(len(ids)), np.array([d in q.relevant for d in ids], bool),
                  np.array([d != q.exclude for d in ids], bool))


def replay_rank(r: Replay, rule: FusionRule) -> int | None:
    w = lexical_weight(r.evidence, rule) if r.lexical else 0.0
    s = w * r.zb + (1.0 - w) * r.zd + rule.code_bonus * r.matched
    if r.rivals:
        for i, riv in zip(np.flatnonzero(r.matched), r.rivals):
            if riv.size and s[riv].max() >= s[i]:
                s[i] = s[riv].max() + CODE_MARGIN
    hits = np.flatnonzero(r.relevant & r.kept)
    if not hits.size:
        return None
    best = hits[np.lexsort((r.order[hits], -s[hits]))[0]]
    ahead = r.kept & ((s > s[best]) | ((s == s[best]) & (r.order < r.order[best])))
    rank = int(ahead.sum()) + 1
    return rank if rank <= 20 else None


def check(queries: list[Recorded], rule: FusionRule, n: int = 200) -> None:
    """The fast replay ranks as the engine's own functions do (on ``n`` queries)."""
    for q in queries[:n]:
        a, b = replay_rank(replay_of(q), rule), first_relevant(q, hybrid(q, rule))
        assert a == b, f"replay {a} != fusion {b}"


def evaluate(queries: list[Recorded], rule: FusionRule, h: Half) -> dict[str, Scores]:
    mine = [q for q in queries if q.half == h]
    return {"hybrid": scores([first_relevant(q, hybrid(q, rule)) for q in mine], 0.0),
            "bm25-only": scores([first_relevant(q, q.bm25) for q in mine], 0.0),
            "dense-only": scores([first_relevant(q, q.dense) for q in mine], 0.0)}


@dataclass
class Prepared:
    """A dataset's tuning half, ready to replay: its queries and its single lists' R@1."""
    replays: list[Replay]
    best_single_r1: float


def prepare(queries: list[Recorded], h: Half = "tune") -> Prepared:
    mine = [q for q in queries if q.half == h]
    singles = [scores([first_relevant(q, getattr(q, lst)) for q in mine], 0.0).r1 for lst in ("bm25", "dense")]
    return Prepared([replay_of(q) for q in mine], max(singles))


def objective(data: dict[str, Prepared], rule: FusionRule) -> tuple[float, float]:
    """What the fit maximises: first the smallest margin, over datasets, of hybrid R@1
    over the dataset's best single list (to 0.001: the worst dataset decides, as "hybrid
    is never worse than its best single list" asks), then the mean MRR over datasets
    (each dataset counts the same, whatever its size)."""
    margins, mrr = [], []
    for p in data.values():
        s = scores([replay_rank(r, rule) for r in p.replays], 0.0)
        margins.append(s.r1 - p.best_single_r1)
        mrr.append(s.mrr)
    return round(min(margins), 3), sum(mrr) / len(mrr)


# BM25's weight with nothing lexical found stays low (``low`` <= 0.2): cross-lingual
# queries over a large catalog find only noise lexically.
GRID = {"low": (0.1, 0.15, 0.2), "high": (0.5, 0.55, 0.6, 0.65), "gap": (0.0, 0.025, 0.05, 0.075, 0.1),
        "code_bonus": (0.0, 0.5, 1.0, 1.5, 2.0)}


def candidates() -> Iterator[FusionRule]:
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        rule = replace(RULE, **dict(zip(keys, values)))
        if rule.low < rule.high:
            yield rule


def fit(data: dict[str, Prepared]) -> FusionRule:
    """The grid's best rule (on ties: the smaller gap and code bonus, the simpler rule)."""
    return max(candidates(), key=lambda r: (*objective(data, r), -r.gap, -r.code_bonus))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=None, help="keep the recorded lists in this file (reused if present)")
    ap.add_argument("--text-model", default="use")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"SKIP: evaluation data not found at {args.data} (pass --data DIR)")
        return 0
    if args.cache and args.cache.exists():
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = {}
        with tempfile.TemporaryDirectory(prefix="dupe-fit-") as tmp:
            for name in TEXT_TASKS:
                print(f"recording {name}", file=sys.stderr)
                data[name] = record(name, Path(tmp), args.data, args.text_model)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(data))
    for queries in data.values():
        check(queries, RULE)
    tune = {name: prepare(queries) for name, queries in data.items()}
    rule = fit(tune)
    print(f"fitted on the tuning halves: {rule}")
    print("objective (tune: worst margin over the best single list, mean MRR): "
          f"fitted {objective(tune, rule)}, RULE now {objective(tune, RULE)}")
    for name, queries in data.items():
        for h in HALVES:
            for mode, s in evaluate(queries, rule, h).items():
                print(f"  {name:<10} {h:<6} {mode:<10} R@1 {s.r1:.3f}  R@10 {s.r10:.3f}  MRR {s.mrr:.3f}  ({s.n})")
    print("RULE = FusionRule(" + ", ".join(f"{k}={v}" for k, v in asdict(rule).items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
