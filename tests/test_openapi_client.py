"""The OpenAPI document as client generators and integrators read it.

- Complete: every property of every schema and every parameter is described, every
  component schema, parameter, JSON request body and success response has an example,
  and every example matches its schema. A field added without words fails here.
- Usable: a Python client generated from the served document by openapi-python-client (a
  real generator from PyPI, run offline) is imported and runs searches against a live
  waitress server; its typed answers are checked. Skipped, saying why, where the
  generator is not installed.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import serving
from tests.test_web_helpers import build_engine, make_app
from web.openapi import spec

Schema = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")
GENERATOR = "openapi_python_client"
PACKAGE = "dupe_search_api_client"     # the name the generator derives from the title


# ----------------------------------------------------------------------------- walking the document


def operations(doc: Schema) -> Iterator[tuple[str, Schema]]:
    """("GET /search", operation) for every operation."""
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def top_schemas(doc: Schema) -> Iterator[tuple[str, Schema]]:
    """Every schema the document holds at its top level, with where it is: components,
    parameters, request bodies, responses and their headers."""
    for name, schema in doc["components"]["schemas"].items():
        yield f"#/components/schemas/{name}", schema
    for op, o in operations(doc):
        for p in o.get("parameters", []):
            yield f"{op} ?{p['name']}", p["schema"]
        for ctype, media in (o.get("requestBody") or {}).get("content", {}).items():
            yield f"{op} body {ctype}", media["schema"]
        for status, resp in o["responses"].items():
            for ctype, media in resp.get("content", {}).items():
                yield f"{op} {status} {ctype}", media["schema"]
            for name, header in resp.get("headers", {}).items():
                yield f"{op} {status} header {name}", header["schema"]


def subschemas(schema: Schema, where: str) -> Iterator[tuple[str, Schema]]:
    """``schema`` and every schema nested in it (properties, items, combinations)."""
    yield where, schema
    for name, prop in (schema.get("properties") or {}).items():
        yield from subschemas(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from subschemas(schema[key], f"{where}[{key}]")
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from subschemas(sub, f"{where}.{key}[{i}]")


def all_schemas(doc: Schema) -> Iterator[tuple[str, Schema]]:
    for where, schema in top_schemas(doc):
        yield from subschemas(schema, where)


def resolve(doc: Schema, schema: Schema) -> Schema:
    """A component reference's target (one level), else the schema itself."""
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def has_example(doc: Schema, schema: Schema, media: Schema | None = None) -> bool:
    if media and (media.get("example") is not None or media.get("examples")):
        return True
    return bool(schema.get("examples") or resolve(doc, schema).get("examples"))


def is_json(ctype: str) -> bool:
    return ctype == "application/json"


# ----------------------------------------------------------------------------- completeness


@pytest.fixture(scope="module")
def doc() -> Schema:
    return spec("http://127.0.0.1:8080/api/v1")


def test_every_property_and_parameter_is_described(doc):
    missing = [f"{where}.{name}" for where, schema in all_schemas(doc)
               for name, prop in (schema.get("properties") or {}).items()
               if not str(prop.get("description") or "").strip()]
    missing += [f"{op} parameter {p['name']}" for op, o in operations(doc) for p in o.get("parameters", [])
                if not str(p.get("description") or "").strip()]
    missing += [f"{op} (no summary)" for op, o in operations(doc) if not o.get("summary")]
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_every_object_says_what_its_fields_are(doc):
    """A bare ``{"type": "object"}`` leaves a client (and a reader) guessing: each object
    declares its properties, or what its values are (``additionalProperties``)."""
    bare = [where for where, s in all_schemas(doc)
            if "object" in (s["type"] if isinstance(s.get("type"), list) else [s.get("type")])
            and "properties" not in s and "additionalProperties" not in s]
    assert not bare, "objects without properties:\n" + "\n".join(bare)


def test_schemas_parameters_bodies_and_answers_have_examples(doc):
    missing = [f"#/components/schemas/{n}" for n, s in doc["components"]["schemas"].items() if not s.get("examples")]
    for op, o in operations(doc):
        missing += [f"{op} ?{p['name']}" for p in o.get("parameters", [])
                    if not (p.get("example") is not None or p.get("examples") or p["schema"].get("examples"))]
        for ctype, media in (o.get("requestBody") or {}).get("content", {}).items():
            if is_json(ctype) and not has_example(doc, media["schema"], media):
                missing.append(f"{op} body {ctype}")
        for status, resp in o["responses"].items():
            for ctype, media in resp.get("content", {}).items():
                if status.startswith("2") and is_json(ctype) and not has_example(doc, media["schema"], media):
                    missing.append(f"{op} {status}")
    assert not missing, f"{len(missing)} without an example:\n" + "\n".join(missing)


def test_every_example_matches_its_schema(doc):
    jsonschema_rs = pytest.importorskip("jsonschema_rs", reason="installed with schemathesis (dev extra)")
    checked, wrong = 0, []
    for where, schema in all_schemas(doc):
        for i, example in enumerate(schema.get("examples") or []):
            # References resolve against the root: give the wrapper the document's components.
            validator = jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})
            errors = [e.message for e in validator.iter_errors(example)]
            checked += 1
            if errors:
                wrong.append(f"{where} examples[{i}]: {errors[:3]}")
    assert checked > 40
    assert not wrong, "\n".join(wrong)


def test_money_ratio_and_time_units_are_stated(doc):
    """The words a client needs most: which currency an amount is in, what a ratio
    compares, and the unit of every duration."""
    schemas = doc["components"]["schemas"]
    ratio = schemas["Saving"]["properties"]["ratio"]["description"]
    for words in ("factory price / brand price", "same currency", "< 1", "cheaper"):
        assert words in ratio, (words, ratio)
    for name in ("price_tiers", "min_price"):
        assert "currency" in schemas["Result"]["properties"][name]["description"]
    assert "currency" in schemas["BrandProduct"]["properties"]["price"]["description"]
    assert "currency" in schemas["PriceTier"]["properties"]["price"]["description"]
    assert "ISO 4217" in schemas["Result"]["properties"]["currency"]["description"]
    assert "hours" in schemas["Factory"]["properties"]["ship_within_hours"]["description"]
    assert "minutes" in schemas["Factory"]["properties"]["reply_minutes"]["description"]
    for name in ("took_ms", "timings_ms"):
        assert "milliseconds" in schemas["SearchResponse"]["properties"][name]["description"]


def test_batch_states_how_items_count_against_the_rate_limit():
    doc = spec("/api/v1", batch_max=20, anon_per_minute=30, key_per_minute=120)
    text = doc["paths"]["/search/batch"]["post"]["description"]
    for words in ("each item counts as one request", "30 requests per minute", "120", "413 `batch_over_rate_limit`",
                  "429"):
        assert words in text, (words, text)


# ----------------------------------------------------------------------------- a generated client
# Generating, importing and serving take seconds: these tests are `slow` (not in the fast
# lane; `make test` runs them). The generator is a test dependency: without it they skip.

needs_generator = pytest.mark.skipif(importlib.util.find_spec(GENERATOR) is None,
                                     reason="openapi-python-client is not installed "
                                            "(.venv/bin/pip install openapi-python-client)")


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("openapi-client")
    with serving(make_app(root, build_engine(root))) as base:
        yield base


def fetch(url: str) -> bytes:
    """GET ``url`` directly (a proxy set in the environment must not see 127.0.0.1)."""
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=30) as resp:
        return resp.read()


def client_for(package: Any, live: str, **kw: Any) -> Any:
    """The generated package's ``Client`` for the live server (no proxies from the environment)."""
    return package.Client(base_url=f"{live}/api/v1", httpx_args={"trust_env": False}, **kw)


def generate_client(document: bytes, out: Path) -> Path:
    """Run the generator on the served document; returns the folder to put on sys.path.
    No post hooks: the generated code is used as generated (and nothing is fetched)."""
    (out / "openapi.json").write_bytes(document)
    (out / "config.yaml").write_text(f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n"
                                     "post_hooks: []\n")
    done = subprocess.run([sys.executable, "-m", GENERATOR, "generate", "--path", str(out / "openapi.json"),
                           "--config", str(out / "config.yaml"), "--output-path", str(out / "client"),
                           "--fail-on-warning"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the generator refused the document:\n{done.stdout}\n{done.stderr}"
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return out / "client"


@pytest.fixture(scope="module")
def client_package(live, tmp_path_factory) -> Iterator[Any]:
    document = fetch(f"{live}/api/v1/openapi.json")
    folder = generate_client(document, tmp_path_factory.mktemp("generated"))
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.mark.slow
@needs_generator
def test_generated_client_searches_a_live_server(live, client_package):
    search_get = importlib.import_module(f"{PACKAGE}.api.default.search_get")
    models = importlib.import_module(f"{PACKAGE}.models")
    label_item = importlib.import_module(f"{PACKAGE}.models.search_get_label_item").SearchGetLabelItem
    api = client_for(client_package, live, raise_on_unexpected_status=True)

    labels = [label_item.SAME_FOUNDRY, label_item.EQUAL_QUALITY]
    first = search_get.sync_detailed(client=api, q="露露乐蒙 瑜伽裤", k=1, label=labels)
    assert first.status_code == 200
    page = first.parsed
    assert isinstance(page, models.SearchResponse)
    assert page.total >= 2 and page.k == 1 and page.offset == 0 and isinstance(page.next_, str)
    [top] = page.results
    assert isinstance(top, models.Result) and isinstance(top.factory, models.Factory)
    assert top.id == "p1" and top.label.type_.value == "same_foundry"
    assert top.replaces.id == "bp-align" and top.currency == "CNY"
    assert [(t.min_qty, t.price) for t in top.price_tiers] == [(2, 79.0), (100, 59.0)]
    assert all(isinstance(s, models.Saving) and 0 < s.ratio < 1 for s in top.savings)
    assert top.factory.ship_within_hours == 24 and page.understood.brand.id == "lululemon"

    # The typed `next` pages on: same total, no id twice, and no `next` after the last page.
    seen, cursor = [top.id], page.next_
    while isinstance(cursor, str):
        more = search_get.sync(client=api, q="露露乐蒙 瑜伽裤", k=1, label=labels, cursor=cursor)
        assert isinstance(more, models.SearchResponse) and more.total == page.total
        seen += [r.id for r in more.results]
        cursor = more.next_
    assert len(seen) == len(set(seen)) == page.total

    # An error is typed too: the one error shape, with the field it is about.
    bad = search_get.sync_detailed(client=api, q="x", k=1, currency="XXX")
    assert bad.status_code == 400 and isinstance(bad.parsed, models.Error)
    assert bad.parsed.error.code == "unknown_currency" and bad.parsed.error.field == "currency"


@pytest.mark.slow
@needs_generator
def test_generated_client_posts_a_batch(live, client_package):
    search_batch = importlib.import_module(f"{PACKAGE}.api.default.search_batch")
    models = importlib.import_module(f"{PACKAGE}.models")
    body = models.SearchBatchBody.from_dict({"items": [{"id": "a", "q": "lululemon align", "k": 2},
                                                       {"id": "b", "q": "toothbrush", "currency": "XXX"}]})
    api = client_for(client_package, live)
    answer = search_batch.sync(client=api, body=body)
    assert answer.ok == 1 and answer.failed == 1
    first, second = answer.items
    assert first.id == "a" and first.status == 200 and first.result.results[0].id == "p1"
    assert second.id == "b" and second.status == 400 and second.error.code == "unknown_currency"


@pytest.mark.slow
def test_served_document_is_the_one_tested(live):
    """The client is generated from what the server serves: this document, with the
    deployment's numbers (the test app allows 100,000 anonymous requests a minute)."""
    served = json.loads(fetch(f"{live}/api/v1/openapi.json"))
    assert served["components"] == json.loads(json.dumps(spec()["components"]))
    assert served["paths"].keys() == spec()["paths"].keys()
    assert "100000 requests per minute" in served["paths"]["/search/batch"]["post"]["description"]
