"""Bad input: a corpus of bad catalog records, indexed end to end by ``dupe index`` (the
real command, with the fake embedders registered under model specs).

Every bad record gives one line in ``<index-dir>/rejects.jsonl`` naming its file, line, id
(when it has a readable one) and reason; every good record is indexed (the index holds
exactly the good ids); bad images cost only the image (the product is indexed without an
image vector, and a rejects line says why); the run never stops.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from indexer.cli import main as dupe
from indexer.embed import registry
from search.store.embedded import EmbeddedStore
from tests.fakes import (
    IMAGE_SPEC,
    TEXT_SPEC,
    FakeImageEmbedder,
    FakeTextEmbedder,
    tiny_catalog,
)

P = {"factory": "f-plain", "category": "misc", "price_tiers": [{"min_qty": 1, "price": 9}], "currency": "CNY",
     "moq": 1}


def product(pid: str, **changes) -> dict:
    rec = {"id": pid, "titles": {"en": f"good thing {pid}"}, **P, **changes}
    return {k: v for k, v in rec.items() if v is not ...}


def line(rec: object) -> bytes:
    return rec if isinstance(rec, bytes) else json.dumps(rec, ensure_ascii=False).encode()


GOOD = None
# (file, raw line or record, None if good else a fragment of the reason, the id the reject names)
BRANDS = [
    ({"id": "b-good", "names": {"en": "Goodbrand"}}, GOOD, None),
    (b'{"id": "b-broken", "names": ', "invalid JSON", None),
    ({"id": 5, "names": {"en": "x"}}, "must be a string", None),
    ({"id": "b-nonames"}, "missing field 'names'", "b-nonames"),
    ({"id": "lululemon", "names": {"en": "again"}}, "duplicate id 'lululemon'", "lululemon"),
    ({"id": "b-extra", "names": {"en": "x"}, "logo": "x.png"}, "unknown field(s): logo", "b-extra"),
]
BRAND_PRODUCTS = [
    ({"id": "bp-good", "brand": "b-good", "titles": {"en": "Goodbrand thing"}, "category": "misc", "price": 100,
      "currency": "USD"}, GOOD, None),
    ({"id": "bp-dangling", "brand": "nobrand", "titles": {"en": "x"}, "category": "x", "price": 1,
      "currency": "CNY"}, "unknown brand 'nobrand'", "bp-dangling"),
    ({"id": "bp-zero", "brand": "b-good", "titles": {"en": "x"}, "category": "x", "price": 0, "currency": "CNY"},
     "greater than 0", "bp-zero"),
    ({"id": "bp-neg", "brand": "b-good", "titles": {"en": "x"}, "category": "x", "price": -5, "currency": "CNY"},
     "greater than 0", "bp-neg"),
    ({"id": "bp-titles", "brand": "b-good", "titles": ["x"], "category": "x", "price": 1, "currency": "CNY"},
     "object of language", "bp-titles"),
]
END = {"type": "same_foundry", "brand": "b-good", "evidence": "audit", "verified_by": "QA"}
FACTORIES = [
    ({"id": "f-good", "names": {"zh": "好厂"}, "endorsements": [{**END, "verified_at": "2026-01-01"}]}, GOOD, None),
    ({"id": "f-expiry", "names": {"zh": "厂"}, "endorsements": [
        {**END, "verified_at": "2026-05-01", "expires_at": "2026-01-01"}]}, "before it was verified", "f-expiry"),
    ({"id": "f-ghost", "names": {"zh": "厂"}, "endorsements": [{**END, "brand": "ghost"}]},
     "endorsement for unknown brand 'ghost'", "f-ghost"),
    ({"id": "f-ship", "names": {"zh": "厂"}, "ship_within_hours": 0}, "between 1", "f-ship"),
    ({"id": "f-type", "names": {"zh": "厂"}, "endorsements": [{**END, "type": "best"}]}, "endorsement type", "f-type"),
]
PRODUCTS = [
    (product("g-1", dupe_of=["bp-good"], factory="f-good"), GOOD, None),
    (product("g-2", titles={"zh": "好东西", "en": "  "}), GOOD, None),
    (product("g-url-img", images=["https://cdn.example/ok.jpg"]), GOOD, None),   # URL kept; fetch fails later
    (b'{"id": "x-broken", "factory": "f-plain",', "invalid JSON", None),
    (b'{"id": "x-utf8", "titles": {"en": "caf\xe9"}}', "invalid UTF-8", None),
    (b"[1, 2, 3]", "JSON object", None),
    (b"[" * 50_000, "nested too deeply", None),
    (line(product("x-surrogate")).replace(b"good thing", b"\\ud800 thing"), "unpaired surrogate", "x-surrogate"),
    (line(product("x-longint")).replace(b'"moq": 1', b'"moq": ' + b"9" * 5000), "invalid JSON", None),
    (product("x-noprice", price_tiers=...), "price_tiers", "x-noprice"),
    (product("x-moqtype", moq="five"), "whole number", "x-moqtype"),
    (product("x-moq0", moq=0), "between 1", "x-moq0"),
    (product("x-negprice", price_tiers=[{"min_qty": 1, "price": -1}]), "greater than 0", "x-negprice"),
    (product("x-zeroprice", price_tiers=[{"min_qty": 1, "price": 0}]), "greater than 0", "x-zeroprice"),
    (line(product("x-nan")).replace(b'"price": 9', b'"price": NaN'), "not a sensible number", "x-nan"),
    (line(product("x-inf")).replace(b'"price": 9', b'"price": 1e999'), "not a sensible number", "x-inf"),
    (product("x-notitle", titles={"en": " "}), "no non-empty text", "x-notitle"),
    (product("p1"), "duplicate id 'p1'", "p1"),
    (product("x-nofactory", factory="f-nowhere"), "unknown factory 'f-nowhere'", "x-nofactory"),
    (product("x-dupe", dupe_of=["bp-nowhere"]), "bp-nowhere", "x-dupe"),
    (product("x-escape", images=["../../etc/passwd.jpg"]), "escapes the catalog folder", "x-escape"),
    (product("x-escape2", images=["img/../../outside.jpg"]), "escapes the catalog folder", "x-escape2"),
    (product("x-abs", images=["/etc/passwd"]), "absolute", "x-abs"),
    (product("x-winabs", images=["C:\\Windows\\win.ini"]), "absolute", "x-winabs"),
    (product("x-file", images=["file:///etc/passwd"]), "only http", "x-file"),
    (product("x-unknown", colour="red"), "unknown field(s): colour", "x-unknown"),
    (product("../x-badid"), "not a valid id", "../x-badid"),
    (product("x-attr", attributes={"size": ["S"]}), "string or number", "x-attr"),
    ({"id": "x-types", "factory": ["f-plain"], "titles": {"en": "x"}, "category": 5, "price_tiers": "cheap",
      "currency": "CNY", "moq": 1}, "", "x-types"),
]
# Good products whose image is bad: indexed without an image vector, with a rejects line.
BAD_IMAGES = {
    "i-symlink": ("img/link.jpg", "escapes the catalog folder"),
    "i-truncated": ("img/truncated.jpg", "runcated"),
    "i-bomb": ("img/bomb.png", "image too large"),
    "i-html": ("img/page.jpg", "not a supported image"),
    "i-missing": ("img/nowhere.jpg", "not found"),
    "i-dir": ("img/adir.jpg", "not a regular file"),
    "i-loopback": ("http://127.0.0.1:9/x.jpg", "non-public address 127.0.0.1"),
    "i-localhost": ("http://localhost/x.jpg", "non-public address"),
    "i-linklocal": ("http://169.254.169.254/latest/meta-data/iam.jpg", "non-public address 169.254.169.254"),
    "i-private": ("http://10.0.0.1/x.jpg", "non-public address 10.0.0.1"),
    "i-v6-loopback": ("http://[::1]:8080/x.jpg", "non-public address ::1"),
    "i-v4-mapped": ("http://[::ffff:127.0.0.1]/x.jpg", "non-public address"),
}
GOOD_IMAGES = {"i-cmyk": "img/cmyk.jpg", "i-16bit": "img/gray16.png", "i-anim": "img/anim.gif",
               "i-wrongext": "img/really-a-png.jpg"}
CSV = [
    (b"id,factory,title_en,category,price_tiers,currency,moq", GOOD, None),
    (b"c-good,f-plain,CSV good thing,misc,1:5,CNY,1", GOOD, None),
    (b"c-bad,f-plain,CSV bad,misc,1:free,CNY,1", "min_qty:price", None),
    (b'c-deep,f-plain,CSV deep,misc,1:5,CNY,1,extra', "cells", None),
]


def _write(path: Path, rows: list[tuple], bom: bool = False, append: bool = False) -> list[tuple[int, str, object]]:
    """Write the rows (appending after what is there); return (line, fragment, id) of the bad ones."""
    existing = path.read_bytes().splitlines() if append and path.exists() else []
    out = list(existing)
    bad = []
    for rec, fragment, rid in rows:
        out.append(line(rec))
        if fragment is not GOOD:
            bad.append((len(out), fragment, rid))
    data = b"\n".join(out) + b"\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return bad


def build(folder: Path, outside: Path) -> tuple[dict[str, list], set[str]]:
    tiny_catalog(folder)
    expected_bad = {
        "brands.jsonl": _write(folder / "brands.jsonl", BRANDS, bom=True, append=True),
        "brand_products.jsonl": _write(folder / "brand_products.jsonl", BRAND_PRODUCTS, append=True),
        "factories.jsonl": _write(folder / "factories.jsonl", FACTORIES, append=True),
        "products.jsonl": _write(folder / "products.jsonl", PRODUCTS + [
            (product(pid, images=[ref]), GOOD, None) for pid, (ref, _) in BAD_IMAGES.items()] + [
            (product(pid, images=[ref]), GOOD, None) for pid, ref in GOOD_IMAGES.items()], append=True),
        "products.csv": _write(folder / "products.csv", CSV, bom=True),
    }
    img = folder / "img"
    Image.new("RGB", (16, 16), (1, 2, 3)).save(outside / "secret.jpg", "JPEG")
    os.symlink(outside / "secret.jpg", img / "link.jpg")
    full = (img / "p1.jpg").read_bytes()
    (img / "truncated.jpg").write_bytes(full[: len(full) // 2])
    Image.new("1", (10_000, 10_000), 0).save(img / "bomb.png", optimize=True)
    (img / "page.jpg").write_bytes(b"<html><body>not an image</body></html>")
    (img / "adir.jpg").mkdir()
    Image.new("CMYK", (16, 16), (0, 0, 0, 200)).save(img / "cmyk.jpg", "JPEG")
    Image.new("I;16", (16, 16), 40000).save(img / "gray16.png")
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 0, 0), (255, 255, 255))]
    frames[0].save(img / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (16, 16), (9, 9, 9)).save(img / "really-a-png.jpg", "PNG")
    good = {"brand:lululemon", "brand:sonicare", "brand:b-good", "brand_product:bp-align",
            "brand_product:bp-diamond", "brand_product:bp-good", "product:c-good",
            *(f"product:p{i}" for i in range(1, 6)),
            *(f"product:{r[0]['id']}" for r in PRODUCTS if r[1] is GOOD),
            *(f"product:{pid}" for pid in [*BAD_IMAGES, *GOOD_IMAGES])}
    return expected_bad, good


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setitem(registry._cache, ("text", TEXT_SPEC), FakeTextEmbedder())
    monkeypatch.setitem(registry._cache, ("image", IMAGE_SPEC), FakeImageEmbedder())


def _index(folder: Path, index: Path):
    return CliRunner().invoke(dupe, ["index", str(folder), "--index-dir", str(index), "--text-model", TEXT_SPEC,
                                     "--image-model", IMAGE_SPEC, "--batch-size", "7"])


def test_dupe_index_rejects_every_bad_record_and_indexes_every_good_one(tmp_path, fakes):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder, index = tmp_path / "catalog", tmp_path / "index"
    expected_bad, good = build(folder, outside)
    res = _index(folder, index)
    assert res.exit_code == 0, (res.output, res.exception)
    assert "Traceback" not in res.output

    rejects = [json.loads(x) for x in (index / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"file", "line", "id", "reason"} and r["reason"] for r in rejects)
    by_place = {(r["file"], r["line"]): r for r in rejects}
    assert len(by_place) == len(rejects)                      # one line per bad record
    n_bad = 0
    for file, bad in expected_bad.items():
        for no, fragment, rid in bad:
            n_bad += 1
            r = by_place.get((file, no))
            assert r is not None, f"{file}:{no} ({fragment}) has no rejects line; rejects: {rejects}"
            assert fragment in r["reason"], (file, no, r)
            if rid is not None:
                assert r["id"] == rid, (file, no, r)
    # Cascades: the products of a rejected factory or brand product are rejected too (none here).
    image_rejects = {r["id"]: r for r in rejects if r["line"] == 0}
    assert set(image_rejects) == {*BAD_IMAGES, "g-url-img"}, sorted(image_rejects)
    for pid, (ref, fragment) in BAD_IMAGES.items():
        r = image_rejects[pid]
        assert r["file"] == ref and r["reason"].startswith("image not indexed") and fragment in r["reason"], r
    assert len(rejects) == n_bad + len(BAD_IMAGES) + 1
    assert f"rejected {len(rejects)}" in res.output.splitlines()[-1]

    store = EmbeddedStore(index, create=False)
    try:
        assert set(store.hashes()) == good                  # every good record, nothing else
        docs = {d.id: d for d in store.get(sorted(good))}
        for pid in BAD_IMAGES:
            assert docs[f"product:{pid}"].image_vector is None and docs[f"product:{pid}"].text_vector is not None
        for pid in GOOD_IMAGES:
            assert docs[f"product:{pid}"].image_vector is not None, pid
        assert docs["product:g-1"].labels == ["same_foundry", "same_foundry:b-good"]
    finally:
        store.close()

    # A second run changes nothing, and reports the same rejects: the images that failed are
    # tried again (a URL that timed out may answer now), nothing else is re-embedded.
    again = _index(folder, index)
    retried = len(BAD_IMAGES) + 1
    assert again.exit_code == 0, again.output
    assert f"indexed {retried}, unchanged {len(good) - retried}, removed 0" in again.output, again.output
    assert "(0 texts and 0 images embedded)" in again.output
    assert [json.loads(x) for x in (index / "rejects.jsonl").read_text(encoding="utf-8").splitlines()] == rejects
    store = EmbeddedStore(index, create=False)
    try:
        assert set(store.hashes()) == good
    finally:
        store.close()
    print(f"\nCATALOG: {n_bad} bad records and {len(BAD_IMAGES) + 1} bad images rejected, {len(good)} good indexed")


def test_an_image_fetch_that_failed_is_retried_by_the_next_run(tmp_path):
    """A URL that timed out once must not leave its product without an image for good."""
    from indexer.images import ImageError, load_image_ref
    from indexer.pipeline import Indexer
    folder = tiny_catalog(tmp_path / "catalog")
    with (folder / "products.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(product("u-1", images=["https://cdn.example/u1.jpg"])) + "\n")
    down = [True]

    def loader(ref: str, root: Path):
        if ref.startswith("https://"):
            if down[0]:
                raise ImageError("timed out fetching 'https://cdn.example/u1.jpg'")
            return Image.new("RGB", (16, 16), (5, 5, 5))
        return load_image_ref(ref, root)

    store = EmbeddedStore(tmp_path / "index")
    text, image = FakeTextEmbedder(), FakeImageEmbedder()
    first = Indexer(store, text, image, image_loader=loader).run(folder)
    assert [r.record_id for r in first.rejects] == ["u-1"]
    assert store.get(["product:u-1"])[0].image_vector is None
    again = Indexer(store, text, image, image_loader=loader).run(folder)      # still down: reported again
    assert [r.record_id for r in again.rejects] == ["u-1"] and (again.indexed, again.texts_embedded) == (1, 0)
    down[0] = False
    healed = Indexer(store, text, image, image_loader=loader).run(folder)
    assert healed.rejects == [] and healed.images_embedded == 1 and healed.texts_embedded == 0
    assert store.get(["product:u-1"])[0].image_vector is not None
    assert Indexer(store, text, image, image_loader=loader).run(folder).indexed == 0     # and then settled
    store.close()
