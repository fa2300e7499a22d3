"""Property-based tests (hypothesis): catalog parsing never crashes and what it accepts
obeys the catalog rules; the reader accounts for every line; query text never becomes
query syntax in either store; fusion and ranking keep every candidate exactly once, in
order, and never show a label without valid evidence.

(test_ranking_logic.py has the first two fusion/label properties; test_web_api.py fuzzes
the HTTP parameters; test_web_openapi.py runs schemathesis over the OpenAPI document.)
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.catalog.parse import (
    InvalidRecord, parse_brand, parse_brand_product, parse_endorsement, parse_factory, parse_product,
)
from indexer.catalog.reader import load_catalog
from search.analysis import Analyzer
from search.fusion import rrf, zscore_fusion
from search import models
from search.labels import LABEL_ORDER, endorsement_problem
from search.ranking import Candidate, RankingConfig, apply_gate, rank
from search.store.embedded import EmbeddedStore
from tests.fakes import FakeImageEmbedder, FakeTextEmbedder, tiny_catalog

pytest_plugins = ["tests.es_server"]

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])

# ----------------------------------------------------------------------------- JSON values

_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", " ", "x", "../x", "/abs", "https://a.example/i.jpg", "file:///etc/passwd", "CNY", "cny", "yuan",
     "same_foundry", "equal_quality", "2026-01-01", "2025-13-45", "f-plain", "bp-align", "lululemon", "\ud800"])
_scalar = (st.none() | st.booleans() | st.integers(-10**6, 10**12) | st.integers() |
           st.floats(allow_nan=True, allow_infinity=True) | _text)
_json = st.recursive(_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(_text, c, max_size=3),
                     max_leaves=10)

PRODUCT_FIELDS = ["id", "factory", "titles", "description", "category", "attributes", "price_tiers", "currency",
                  "moq", "images", "dupe_of"]
GOOD_PRODUCT = {"id": "p9", "factory": "f-plain", "titles": {"en": "Thing", "zh": "东西"}, "category": "x",
                "description": "d", "attributes": {"size": "M", "weight": 200},
                "price_tiers": [{"min_qty": 1, "price": 10}, {"min_qty": 50, "price": 8.5}], "currency": "CNY",
                "moq": 1, "images": ["img/a.jpg"], "dupe_of": ["bp-align"]}
GOOD_FACTORY = {"id": "f9", "names": {"zh": "厂"}, "region": "Yiwu", "certifications": ["ISO9001"],
                "ship_within_hours": 24, "reply_minutes": 5, "returns": "7 days",
                "endorsements": [{"type": "same_foundry", "brand": "lulu", "evidence": "audit", "verified_by": "QA",
                                  "verified_at": "2026-01-01", "expires_at": "2027-01-01"}]}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


def _check_product(p) -> None:
    assert _ID.match(p.id) and _ID.match(p.factory)
    assert p.titles and all(isinstance(v, str) and v.strip() == v and v for v in p.titles.values())
    assert p.price_tiers and all(0 < t.price <= 1e9 and math.isfinite(t.price) and t.min_qty >= 1
                                 for t in p.price_tiers)
    qtys = [t.min_qty for t in p.price_tiers]
    assert qtys == sorted(set(qtys))
    assert p.moq >= 1 and re.fullmatch(r"[A-Z]{3}", p.currency)
    for ref in p.images:
        assert ref.lower().startswith(("http://", "https://")) or not (
            ref.startswith(("/", "..")) or re.match(r"^[A-Za-z]:", ref))
    assert all(isinstance(v, str) for v in p.attributes.values())
    json.dumps(p.titles, ensure_ascii=False)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from([*PRODUCT_FIELDS, "colour", "x"]), _json, max_size=11))
def test_random_objects_parse_to_a_product_or_invalid_record(obj):
    try:
        p = parse_product(obj)
    except InvalidRecord:
        return
    _check_product(p)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PRODUCT_FIELDS), _json, st.sampled_from(PRODUCT_FIELDS), _json)
def test_a_valid_product_with_fields_replaced_is_a_product_or_invalid_record(k1, v1, k2, v2):
    obj = json.loads(json.dumps(GOOD_PRODUCT))
    obj[k1], obj[k2] = v1, v2
    try:
        p = parse_product(obj)
    except InvalidRecord as e:
        assert str(e)                       # a reason for the rejects file
        return
    _check_product(p)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*GOOD_FACTORY, "endorsements.0.type", "endorsements.0.evidence", "endorsements.0.verified_at",
                        "endorsements.0.expires_at", "endorsements.0.brand"]), _json)
def test_a_valid_factory_with_a_field_replaced_is_a_factory_or_invalid_record(key, value):
    obj = json.loads(json.dumps(GOOD_FACTORY))
    if key.startswith("endorsements.0."):
        obj["endorsements"][0][key.rsplit(".", 1)[1]] = value
    else:
        obj[key] = value
    try:
        f = parse_factory(obj)
    except InvalidRecord:
        return
    assert _ID.match(f.id) and f.names
    assert f.ship_within_hours is None or f.ship_within_hours >= 1
    for e in f.endorsements:
        assert e.type in ("same_foundry", "equal_quality") and _ID.match(e.brand)
        assert not (e.verified_at and e.expires_at and e.expires_at < e.verified_at)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([parse_brand, parse_brand_product, parse_endorsement, parse_factory, parse_product]), _json)
def test_any_json_value_is_a_record_or_invalid_record(parse, value):
    try:
        parse(value)
    except InvalidRecord:
        pass


_line = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    _json.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.sampled_from([b"[" * 5000, b'{"id": 1' + b"0" * 5000 + b"}", b"\xef\xbb\xbf{}", b"{}", b"null",
                     json.dumps(GOOD_PRODUCT).encode()]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line, max_size=12))
def test_the_reader_accounts_for_every_line_and_keeps_the_good_records(tmp_path_factory, lines):
    folder = tiny_catalog(tmp_path_factory.mktemp("fuzz-catalog"))
    good = (folder / "products.jsonl").read_bytes().splitlines()
    lines = [ln.replace(b"\n", b" ").replace(b"\r", b" ") for ln in lines]
    (folder / "products.jsonl").write_bytes(b"\n".join(good + lines) + b"\n")
    cat = load_catalog(folder)                                  # never raises
    assert {"p1", "p2", "p3", "p4", "p5"} <= set(cat.products)
    for pid in ("p1", "p2", "p3", "p4", "p5"):
        assert cat.products[pid].titles == parse_product(json.loads(good[int(pid[1]) - 1])).titles
    rejects = [r for r in cat.rejects if r.file == "products.jsonl"]
    total = len(good) + len(lines)
    assert all(1 <= r.line <= total for r in rejects)
    assert len({r.line for r in rejects}) == len(rejects)      # one reject per line at most
    # Every line is a product, a reject or blank: nothing is dropped silently.
    def blank(ln: bytes) -> bool:
        try:
            return not ln.decode("utf-8").strip()
        except UnicodeDecodeError:
            return False
    assert len(cat.products) + len(rejects) == total - sum(map(blank, lines))
    for r in rejects:
        json.dumps({"file": r.file, "line": r.line, "id": r.record_id, "reason": r.reason},
                   ensure_ascii=False).encode("utf-8")          # the rejects file can always be written


# ----------------------------------------------------------------------------- query text is never syntax

_query = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30) | st.sampled_from(
    ['" OR 1=1 --', "*", "NEAR(", '{"query": {"match_all": {}}}', "a AND b", "^x", "-y", "x:y", "(", ")", '"',
     "NOT", "OR", "瑜伽' OR 1=1"])
_tokens = st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=8) | st.sampled_from(
    ['"', "*", "OR", "NEAR", "(", ")", "^", ":", "-", "\\", "{", "AND", "x*", "tokens:yoga"]), max_size=6)


@pytest.fixture(scope="module")
def small_stores(tmp_path_factory):
    from indexer.pipeline import Indexer
    folder = tiny_catalog(tmp_path_factory.mktemp("prop-cat"))
    store = EmbeddedStore(tmp_path_factory.mktemp("prop-index") / "index")
    Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(folder)
    yield store
    store.close()


@SLOW
@given(_tokens)
def test_any_tokens_are_words_for_the_embedded_store(small_stores, tokens):
    store = small_stores
    hits = store.bm25(tokens, 10)
    # Only documents holding one of the tokens, exactly as written, can match.
    for h in hits:
        doc = store.get([h.id])[0]
        assert set(tokens) & set(doc.tokens), (tokens, h.id)


@SLOW
@given(_query)
def test_analysed_query_text_never_breaks_retrieval(small_stores, text):
    analyzer = Analyzer({"lululemon": "lululemon", "露露乐蒙": "lululemon"})
    tokens = analyzer.tokens(text)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tokens)
    small_stores.bm25(tokens, 5)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_tokens)
def test_any_tokens_are_words_for_elasticsearch(es_store_factory, tmp_path_factory, tokens):
    store = _es_store(es_store_factory, tmp_path_factory)
    for h in store.bm25(tokens, 10):
        assert set(tokens) & set(store.get([h.id])[0].tokens), (tokens, h.id)


_ES: dict[str, object] = {}


def _es_store(factory, tmp_path_factory):
    # One index for every example (the factory fixture is per test, the store outlives examples).
    if "store" not in _ES:
        from indexer.pipeline import Indexer
        store = factory("props")
        Indexer(store, FakeTextEmbedder(), FakeImageEmbedder()).run(tiny_catalog(tmp_path_factory.mktemp("es-cat")))
        _ES["store"] = store
    return _ES["store"]


@pytest.fixture(autouse=True, scope="module")
def _forget_es_store():
    yield
    _ES.clear()


# ----------------------------------------------------------------------------- fusion

_ranking = st.lists(st.tuples(st.sampled_from("abcdefghij"), st.floats(-1e6, 1e6)), max_size=10,
                    unique_by=lambda t: t[0]).map(lambda r: sorted(r, key=lambda t: -t[1]))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["bm25", "text", "image", "ocr"]), _ranking, min_size=1),
       st.dictionaries(st.sampled_from(["bm25", "text", "image", "ocr"]), st.floats(0, 1), min_size=0))
def test_fusion_keeps_each_weighted_document_once_with_finite_scores(lists, weights):
    fused = zscore_fusion(lists, weights)
    counted = {d for name, r in lists.items() if r and weights.get(name, 0.0) > 0 for d, _ in r}
    ids = [d for d, _ in fused]
    assert len(ids) == len(set(ids)) and set(ids) == counted
    assert all(math.isfinite(s) for _, s in fused)
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)
    r = rrf(lists, weights or None)
    assert sorted(d for d, _ in r) == sorted({d for lst in lists.values() for d, _ in lst})
    # One list alone: fusion keeps its order (ties broken by id).
    name, only = next(iter(lists.items()))
    if only:
        alone = [d for d, _ in zscore_fusion({name: only}, {name: 1.0})]
        orig = dict(only)
        seq = [orig[d] for d in alone]
        assert all(a >= b - 1e-9 * max(1.0, abs(a), abs(b)) for a, b in zip(seq, seq[1:])), (only, alone)


# ----------------------------------------------------------------------------- ranking and labels

TODAY = dt.date(2026, 6, 1)
_date = st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
                  st.sampled_from(["", "not a date", "2026-02-30"]))
_endorsement = st.fixed_dictionaries({
    "type": st.sampled_from(["same_foundry", "equal_quality", "best", ""]),
    "brand": st.sampled_from(["lulu", "other"]),
    "evidence": st.sampled_from([None, "", "  ", "audited OEM orders"]),
    "verified_by": st.sampled_from([None, "", " ", "SGS"]),
    "verified_at": _date, "expires_at": _date,
})
_candidate = st.tuples(st.floats(-5, 5), st.floats(-1, 1), st.lists(_endorsement, max_size=3),
                       st.sampled_from(["f1", "f2", "f3", "f4"]), st.booleans(), st.booleans(),
                       st.sampled_from(["leggings", "shirt"]))
BP = {"bp1": models.brand_product({"id": "bp1", "brand": "lulu", "category": "leggings", "price": 850,
                                   "currency": "CNY", "titles": {"en": "Align"}}),
      "bp2": models.brand_product({"id": "bp2", "brand": "other", "category": "shirt", "price": 300,
                                   "currency": "CNY", "titles": {"en": "Shirt"}})}
OPEN = RankingConfig(min_text_cosine=-math.inf, min_image_cosine=-math.inf, max_drop=math.inf,
                     group_by_factory=False, include_counterfeits=True)


def _cands(items) -> list[Candidate]:
    out = []
    for i, (fused, text, ends, fid, fake, dupe, cat) in enumerate(items):
        title = "lululemon yoga leggings" if fake else "yoga leggings"
        listing = models.listing({
            "id": f"p{i}", "titles": {"en": title}, "category": cat, "moq": 1,
            "dupe_of": ["bp1" if cat == "leggings" else "bp2"] if dupe else [],
            "price_tiers": [{"min_qty": 1, "price": 50}], "currency": "CNY",
            "trademark_hits": [["lulu", "lululemon"]] if fake else [],
            "factory": {"id": fid, "names": {"en": fid}, "endorsements": ends}})
        out.append(Candidate(f"p{i}", fused, {"text": text}, listing))
    return sorted(out, key=lambda c: -c.fused)


@settings(max_examples=100, deadline=None)
@given(st.lists(_candidate, max_size=8), st.sampled_from([None, "lulu", "other"]),
       st.sampled_from([None, "bp1", "bp2"]))
def test_rank_is_a_permutation_ordered_by_tier_then_score(items, brand, target):
    cands = _cands(items)
    out = rank(cands, brand=brand, target=BP.get(target), brand_products=BP, today=TODAY, cfg=OPEN)
    assert sorted(r.id for r in out) == sorted(c.id for c in cands)       # a permutation: none lost, none twice
    keys = [(r.tier, not r.declared, -r.score) if brand is not None else (-r.score,) for r in out]
    assert keys == sorted(keys)
    grouped = rank(cands, brand=brand, target=BP.get(target), brand_products=BP, today=TODAY,
                   cfg=RankingConfig(min_text_cosine=-math.inf, min_image_cosine=-math.inf, max_drop=math.inf,
                                     include_counterfeits=True))
    seen = [r.id for r in grouped] + [m.id for r in grouped for m in r.more]
    assert sorted(seen) == sorted(c.id for c in cands)                   # grouped: each once, shown or in "more"
    assert len({r.listing.factory.id for r in grouped}) == len(grouped)
    hidden = rank(cands, brand=brand, target=BP.get(target), brand_products=BP, today=TODAY,
                  cfg=RankingConfig(min_text_cosine=-math.inf, min_image_cosine=-math.inf, max_drop=math.inf,
                                    group_by_factory=False))
    assert {r.id for r in hidden} == {c.id for c in cands if not c.listing.counterfeit}


@settings(max_examples=150, deadline=None)
@given(st.lists(_candidate, max_size=8), st.sampled_from([None, "lulu", "other"]),
       st.sampled_from([None, "bp1", "bp2"]))
def test_labels_never_appear_without_valid_evidence(items, brand, target):
    out = rank(_cands(items), brand=brand, target=BP.get(target), brand_products=BP, today=TODAY, cfg=OPEN)
    for r in out:
        if r.listing.counterfeit:
            assert r.label.type == "similar" and r.claim.against is None and not r.claim.savings
        if r.label.type == "similar":
            continue
        # A label is the claim of one endorsement of the factory for the brand of the
        # brand product compared with, of this type, with evidence, a verifier, a
        # verification date not in the future, not expired; about a product of that kind.
        bp = r.claim.against
        assert bp is not None and r.label.brand == bp.brand and r.listing.product.category == bp.category
        assert bp.id == (target or bp.id)
        backing = [e for e in r.listing.factory.endorsements if e.brand == r.label.brand and e.type == r.label.type
                   and endorsement_problem(e, TODAY) is None]
        assert backing, (r.label, r.listing.factory.endorsements)
        assert r.label.evidence and r.label.evidence.strip() and r.label.verified_by.strip()
        # ...and the strongest one the factory holds for that brand.
        valid = [e for e in r.listing.factory.endorsements if e.brand == r.label.brand and e.type in LABEL_ORDER
                 and endorsement_problem(e, TODAY) is None]
        assert LABEL_ORDER[r.label.type] == min(LABEL_ORDER[e.type] for e in valid)


@settings(max_examples=100, deadline=None)
@given(st.lists(_candidate, max_size=8), st.floats(-1, 1), st.floats(0.01, 1), st.floats(0, 10))
def test_the_gate_keeps_an_ordered_subset_with_the_best_relevant_candidate(items, min_text, min_image, drop):
    cands = _cands(items)
    cfg = RankingConfig(min_text_cosine=min_text, min_image_cosine=min_image, max_drop=drop)
    kept = apply_gate(cands, cfg)
    ids = [c.id for c in cands]
    assert [c.id for c in kept] == [i for i in ids if i in {k.id for k in kept}]     # order kept
    relevant = [c for c in cands if c.signals["text"] >= min_text]     # no bm25, ocr or image signal here
    if relevant:
        best = max(c.fused for c in relevant)
        assert any(c.fused == best for c in kept)
        # near the best, or above the candidates' mean (0 on z-fused scores)
        assert all(c.fused >= best - drop or c.fused >= 0.0 for c in kept)
        assert {c.id for c in kept} == {c.id for c in relevant if c.fused >= best - drop or c.fused >= 0.0}
    else:
        assert kept == []
