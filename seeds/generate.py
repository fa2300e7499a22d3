"""Regenerates the demo catalog in this folder (deterministic, fixed seed).

    python seeds/generate.py            # from the repository root

Writes brands.jsonl, brand_products.jsonl, factories.jsonl, products.jsonl, images/*.jpg,
TRAPS.md and README.md next to this file. See seeds/README.md.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen import docs, images  # noqa: E402
from gen.brands import BRANDS  # noqa: E402
from gen.catalog import brand_product_records, brand_records, regular_listings  # noqa: E402
from gen.contacts import add_contacts  # noqa: E402
from gen.factories import build_factories  # noqa: E402
from gen.traps import NEAR_DUP_GROUPS, counterfeits, near_duplicates  # noqa: E402
from gen.util import fold, rng_for, trademark_regex  # noqa: E402

TOTAL_LISTINGS = 1100
PRODUCT_KEYS = ("id", "factory", "titles", "description", "category", "attributes", "price_tiers", "currency",
                "moq", "images", "dupe_of", "url")


def public(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def trademark_finder():
    owners = {}
    for b in BRANDS:
        for w in b["trademarks"]:
            owners[w] = b["id"]
    rx = trademark_regex(list(owners))
    spelled = {fold(w): w for w in owners}

    def find(titles: dict) -> list[str]:
        found = {m.group(0) for t in titles.values() for m in rx.finditer(fold(t))}
        return sorted(spelled.get(w, w) for w in found)
    return find


def check(listings: list[dict], find) -> None:
    """Only the counterfeit traps may use trademark words; every counterfeit must."""
    for rec in listings:
        words = find(rec["titles"])
        is_cf = bool(rec["_trap"] and rec["_trap"][0] == "counterfeit")
        if bool(words) != is_cf:
            raise SystemExit(f"trademark check failed for {rec['id']} ({rec['titles']}): {words}")
        if not rec["titles"].get("zh") or not rec["titles"].get("en"):
            raise SystemExit(f"{rec['id']}: missing zh/en title")


def main() -> None:
    t0 = time.time()
    brands = brand_records()
    bps = brand_product_records()
    factories = build_factories()
    fakes = counterfeits(factories)
    n_copies = sum(1 + (g % 3 == 0) for g in range(NEAR_DUP_GROUPS))
    listings = regular_listings(factories, TOTAL_LISTINGS - len(fakes) - n_copies)
    listings += fakes + near_duplicates(listings)
    rng_for("shuffle").shuffle(listings)
    for i, rec in enumerate(listings, start=1):
        rec["id"] = f"p-{i:05d}"
        rec["images"] = [f"images/{rec['id']}.jpg"]
    find = trademark_finder()
    check(listings, find)
    add_contacts(factories, listings)

    write_jsonl(HERE / "brands.jsonl", brands)
    write_jsonl(HERE / "brand_products.jsonl", [public(b) for b in bps])
    write_jsonl(HERE / "factories.jsonl", [public(f) for f in factories])
    write_jsonl(HERE / "products.jsonl", [{k: rec[k] for k in PRODUCT_KEYS if k in rec} for rec in listings])

    img_dir = HERE / "images"
    img_dir.mkdir(exist_ok=True)
    for old in img_dir.glob("*.jpg"):
        old.unlink()
    jobs = [(rec["_img"], HERE / rec["images"][0]) for rec in (*bps, *listings)]
    workers = min(4, os.cpu_count() or 1)
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            sizes = pool.starmap(images.save, jobs, chunksize=32)
    else:
        sizes = [images.save(*job) for job in jobs]

    traps = docs.trap_index(factories, listings, find)
    (HERE / "TRAPS.md").write_text(docs.traps_md(traps, factories, listings), encoding="utf-8")
    data_files = ["brands.jsonl", "brand_products.jsonl", "factories.jsonl", "products.jsonl", "TRAPS.md"]
    size_mb = (sum(sizes) + sum((HERE / n).stat().st_size for n in data_files)) / 1e6
    seconds = time.time() - t0
    (HERE / "README.md").write_text(docs.readme_md(brands, bps, factories, listings, traps, size_mb),
                                    encoding="utf-8")
    print(f"{len(brands)} brands, {len(bps)} brand products, {len(factories)} factories, {len(listings)} products, "
          f"{len(sizes)} images (max {max(sizes) / 1024:.1f} KB, total {sum(sizes) / 1e6:.1f} MB); "
          f"{len(traps['expired_endorsements'])} expired, {len(traps['no_evidence_endorsements'])} evidence-less, "
          f"{len(traps['counterfeits'])} counterfeits, {len(traps['near_duplicate_groups'])} near-dup groups; "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
