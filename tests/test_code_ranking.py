"""Through the engine (fake models): a listing carrying the product code searched for
outranks one of the same brand carrying another code, whatever the other signals say."""
from __future__ import annotations

import json

import pytest

from indexer.pipeline import Indexer
from search import engine as engine_module
from search.engine import SearchEngine
from search.requests import SearchRequest
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeTextEmbedder, tiny_catalog, write_jsonl

# Same brand product declared, same factory: only the code tells them apart, and the
# mismatch is the closer text to the brand product and to the rest of the query.
CODED = [
    {"id": "p-hit", "factory": "f-plain", "titles": {"en": "Brush head HX9911"}, "category": "toothbrush",
     "price_tiers": [{"min_qty": 5, "price": 20}], "currency": "CNY", "moq": 5, "dupe_of": ["bp-diamond"]},
    {"id": "p-mis", "factory": "f-plain", "titles": {"en": "DiamondClean style electric toothbrush HX6730"},
     "category": "toothbrush", "price_tiers": [{"min_qty": 5, "price": 90}], "currency": "CNY", "moq": 5,
     "dupe_of": ["bp-diamond"]},
]
QUERY = "DiamondClean electric toothbrush HX-9911"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("codes")
    cat = tiny_catalog(root / "catalog")
    rows = [json.loads(line) for line in (cat / "products.jsonl").read_text().splitlines()]
    write_jsonl(cat / "products.jsonl", rows + CODED)
    store = EmbeddedStore(root / "index")
    text = FakeTextEmbedder()
    Indexer(store, text, None).run(cat)
    yield SearchEngine(store, text)
    store.close()


def order(engine: SearchEngine, query: str) -> list[str]:
    resp = engine.search(SearchRequest(text=query, k=20, group_by_factory=False))
    return [r.id for r in resp.results]


def test_the_setup_needs_the_rule(engine, monkeypatch):
    """Without the code rule the other model wins: the test below is about the rule."""
    monkeypatch.setattr(engine_module, "code_rule", lambda fused, state, brand, bonus: list(fused))
    ids = order(engine, QUERY)
    assert ids.index("p-mis") < ids.index("p-hit")


@pytest.mark.parametrize("query", [QUERY, "DiamondClean electric toothbrush hx 9911",
                                   "DiamondClean electric toothbrush ＨＸ９９１１"])
def test_a_code_match_outranks_a_code_mismatch_of_the_same_brand(engine, query):
    ids = order(engine, query)
    assert ids.index("p-hit") < ids.index("p-mis")
