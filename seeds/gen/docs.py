"""seeds/TRAPS.md and seeds/README.md, written from the generated records."""
from __future__ import annotations

import json
from collections import Counter

from gen.util import TODAY


def trap_index(factories: list[dict], listings: list[dict], tm_find) -> dict:
    today = TODAY.isoformat()
    expired, no_evidence = [], []
    for f in factories:
        for e in f["endorsements"]:
            if e["expires_at"] < today:
                expired.append({"factory": f["id"], "brand": e["brand"], "type": e["type"],
                                "verified_at": e["verified_at"], "expires_at": e["expires_at"]})
            evidence = e.get("evidence")       # a string, or {"zh": ..., "en": ...}
            if not (any(v.strip() for v in evidence.values()) if isinstance(evidence, dict)
                    else (evidence or "").strip()):
                no_evidence.append({"factory": f["id"], "brand": e["brand"], "type": e["type"],
                                    "evidence": "omitted" if "evidence" not in e else "empty string"})
    counterfeits = []
    groups: dict[int, list[str]] = {}
    for rec in listings:
        trap = rec["_trap"]
        if trap and trap[0] == "counterfeit":
            counterfeits.append({"product": rec["id"], "factory": rec["factory"], "brand": trap[1],
                                 "words": tm_find(rec["titles"]), "title": rec["titles"]["zh"]})
        elif trap and trap[0] == "near-dup":
            groups.setdefault(trap[1], []).append(rec["id"])
    return {"today": today, "expired_endorsements": expired, "no_evidence_endorsements": no_evidence,
            "counterfeits": sorted(counterfeits, key=lambda c: c["product"]),
            "near_duplicate_groups": [sorted(ids) for _, ids in sorted(groups.items())]}


def traps_md(t: dict, factories: list[dict], listings: list[dict]) -> str:
    fac = {f["id"]: f for f in factories}
    by_id = {p["id"]: p for p in listings}
    lines = ["# Traps in the demo catalog", "",
             f"The demo catalog deliberately contains records a dupe engine must handle with care. "
             f"\"Today\" for the demo is {t['today']}. `python seeds/generate.py` rewrites this file; the JSON block "
             "at the end is the machine-readable list (tests read it).", "",
             "## (a) Expired endorsements (must not be shown as a label)", "",
             "| factory | brand | type | verified_at | expires_at |", "|---|---|---|---|---|"]
    lines += [f"| {e['factory']} ({fac[e['factory']]['names']['en']}) | {e['brand']} | {e['type']} | {e['verified_at']} | "
              f"{e['expires_at']} |" for e in t["expired_endorsements"]]
    lines += ["", "One of them expired yesterday (edge case for date comparison).", "",
              "## (b) Endorsements without evidence (a label is a claim: no evidence, no label)", "",
              "| factory | brand | type | evidence |", "|---|---|---|---|"]
    lines += [f"| {e['factory']} ({fac[e['factory']]['names']['en']}) | {e['brand']} | {e['type']} | {e['evidence']} |"
              for e in t["no_evidence_endorsements"]]
    lines += ["", "## (c) Counterfeit listings (brand trademark in the title; picture keeps the brand logo)", "",
              "Some come from factories that hold a valid label for the same brand: the label must not rescue them.", "",
              "| product | factory | brand | trademark words | zh title |", "|---|---|---|---|---|"]
    for c in t["counterfeits"]:
        labels = ", ".join(f"{e['type']}" for e in fac[c["factory"]]["endorsements"] if e["brand"] == c["brand"])
        lines.append(f"| {c['product']} | {c['factory']}{' (' + labels + ')' if labels else ''} | {c['brand']} | "
                     f"{', '.join(c['words'])} | {c['title']} |")
    lines += ["", "## (d) Near-duplicate groups (same factory, same product, slightly different title/price)", "",
              "| group | factory | products | en titles |", "|---|---|---|---|"]
    for g, ids in enumerate(t["near_duplicate_groups"], 1):
        lines.append(f"| {g} | {by_id[ids[0]]['factory']} | {', '.join(ids)} | "
                     + " / ".join(by_id[i]["titles"]["en"].replace("|", "/") for i in ids) + " |")
    lines += ["", "## Machine-readable", "", "```json", json.dumps(t, ensure_ascii=False, indent=1), "```", ""]
    return "\n".join(lines)


def readme_md(brands, bps, factories, listings, t: dict, size_mb: float) -> str:
    cats = Counter(p["category"] for p in listings)
    labels = Counter(e["type"] for f in factories for e in f["endorsements"])
    dupes = sum(1 for p in listings if p.get("dupe_of"))
    multi = sum(1 for p in listings if len(p["titles"]) > 2)
    usd = sum(1 for b in bps if b["currency"] == "USD")
    regions = Counter(f["region"] for f in factories)
    lines = [
        "# Demo catalog", "",
        "A synthetic catalog in the format described in the main README (\"Catalog format\"): brands, their hero",
        "products with brand prices, factories with service metrics and endorsement labels, and factory listings.",
        "Everything here is generated: company names, prices, evidence texts and pictures are made up, and the",
        "pictures are simple drawings (category silhouette, colour, pattern, printed words), not product photos.", "",
        "## Regenerate", "", "```sh", "python seeds/generate.py      # from the repository root; needs Pillow >= 10.1", "```", "",
        "The generator (`seeds/generate.py`, modules in `seeds/gen/`) is deterministic (fixed seed): with the same",
        f"Pillow version it writes the same files. It takes well under two minutes; the files total {size_mb:.1f} MB.", "",
        "Modules: `gen/vocab_tech.py`, `gen/vocab_soft.py`, `gen/vocab_home.py` (per-category vocabularies),",
        "`gen/brands.py` (brands, trademarks, hero products), `gen/factories.py` (belts, service metrics,",
        "endorsements), `gen/catalog.py` (listings), `gen/traps.py` (counterfeits, near-duplicates), `gen/images.py`",
        "(pictures), `gen/docs.py` (this file and TRAPS.md).", "",
        "## Contents", "",
        f"- `brands.jsonl`: {len(brands)} brands (names in en/zh, aliases including the names buyers write in "
        "Korean, Japanese and Russian, trademark words, categories).",
        f"- `brand_products.jsonl`: {len(bps)} hero products with brand prices ({len(bps) - usd} in CNY, {usd} in USD) "
        "and their nicknames (`aliases`: \"stanley cup\", 冰霸杯, 小棕瓶, 神仙水, ...).",
        f"- `factories.jsonl`: {len(factories)} factories in {len(regions)} industrial belts; "
        f"{sum(1 for f in factories if f['endorsements'])} hold endorsements "
        f"({labels['same_foundry']} same_foundry, {labels['equal_quality']} equal_quality; "
        f"{sum(1 for f in factories if len({e['brand'] for e in f['endorsements']}) > 1)} factories hold labels for two brands).",
        "Their returns policies, endorsement evidence and verifiers, and worded certifications are given in Chinese "
        "and English; the first factories have a shop `url` on a made-up `.example` domain, every other one an "
        f"`email`, and their listings a `url` ({sum(1 for p in listings if p.get('url'))} listings).",
        f"- `products.jsonl`: {len(listings)} factory listings, each with zh and en titles ({multi} also in vi, ko or ru), "
        f"a description, attributes, 1-4 price tiers and an MOQ; {dupes} name the brand product they replace (`dupe_of`), "
        "the rest are generic \"similar\" items.",
        f"- `images/`: one 256x256 JPEG per brand product and listing ({len(bps) + len(listings)} files). Brand pictures "
        "print the brand logo; same-foundry dupes are drawn from their brand picture's parameters with the logo removed, "
        "another background and a crop; counterfeits keep the logo.",
        "- `TRAPS.md`: the deliberate traps, with ids (expired and evidence-less endorsements, counterfeit listings, "
        "near-duplicate groups).", "",
        "Listings per category: " + ", ".join(f"{k} {v}" for k, v in sorted(cats.items())) + ".", "",
        "Dupe prices are about 1/5-1/12 of the brand price (USD brand prices converted at 7.1 CNY/USD); for the "
        "basics brands (Uniqlo, Muji), whose prices are already low, about 1/2.5-1/5, and for the warehouse-club "
        "private labels (Member's Mark, Kirkland Signature) about 1/1.6-1/3.", "",
        "## Traps (see TRAPS.md)", "",
        f"- {len(t['expired_endorsements'])} expired endorsements, {len(t['no_evidence_endorsements'])} without evidence;",
        f"- {len(t['counterfeits'])} counterfeit listings (brand trademark word in the title);",
        f"- {len(t['near_duplicate_groups'])} near-duplicate groups "
        f"({sum(len(g) for g in t['near_duplicate_groups'])} listings).", "",
        "\"Today\" for the demo (label expiry) is " + t["today"] + ".", "",
    ]
    return "\n".join(lines)
