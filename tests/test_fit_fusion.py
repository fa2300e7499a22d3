"""The quality benchmark's discipline: fixed tune/report halves, and a fit that replays the
engine's own fusion (so the numbers in search/fusion.py are what the engine does)."""
from __future__ import annotations

import random

from benchmarks.datasets import half
from benchmarks.fit_fusion import Recorded, check, first_relevant, hybrid, prepare, replay_of, replay_rank
from search.fusion import FusionRule


def test_halves_are_fixed_balanced_and_per_dataset():
    ids = [str(i) for i in range(2000)]
    first = [half("abt_buy", i) for i in ids]
    assert first == [half("abt_buy", i) for i in ids]                      # the same every run
    assert 900 < first.count("tune") < 1100                                  # about half each
    assert first != [half("wdc", i) for i in ids]                            # each dataset its own split


def _query(r: random.Random, n: int = 30) -> Recorded:
    docs = [f"d{i}" for i in range(n)]
    bm25 = sorted(((d, r.uniform(0, 20)) for d in r.sample(docs, r.randint(0, n))), key=lambda kv: -kv[1])
    dense = sorted(((d, r.uniform(-0.2, 1)) for d in r.sample(docs, r.randint(2, n))), key=lambda kv: -kv[1])
    seen = {d for d, _ in bm25} | {d for d, _ in dense}
    rel = frozenset(r.sample(sorted(seen), 2))
    return Recorded("tune", rel, r.choice([None, next(iter(rel))]), ("x100",), bm25, dense, r.random(),
                    {d: r.choice([-1, 0, 0, 1]) for d in seen}, {d: r.choice(["a", "b", None]) for d in seen})


def test_the_fast_replay_ranks_as_the_engine_fusion_does():
    r = random.Random(7)
    queries = [_query(r) for _ in range(300)]
    for rule in (FusionRule(), FusionRule(low=0.2, high=0.55, gap=0.05, code_bonus=1.5),
                 FusionRule(low=0.05, high=0.9, gap=0.2, code_bonus=0.0)):
        check(queries, rule, n=len(queries))
        assert [replay_rank(replay_of(q), rule) for q in queries] == [first_relevant(q, hybrid(q, rule))
                                                                     for q in queries]


def test_prepare_keeps_one_half_and_its_best_single_list():
    r = random.Random(3)
    queries = [_query(r) for _ in range(20)]
    queries[0].half = "report"
    p = prepare(queries)
    assert len(p.replays) == 19 and 0.0 <= p.best_single_r1 <= 1.0
