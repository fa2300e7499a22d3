"""Records: brands, brand products and factory listings (titles, descriptions, attributes,
price tiers, picture parameters). Listings carry private ``_`` keys (picture parameters,
trap tags) that ``generate.py`` strips before writing."""
from __future__ import annotations

import copy
import random

from gen.brands import BRAND_PRODUCTS, BRANDS, DEFAULT_RATIO
from gen.util import cny, money, rng_for, weighted
from gen.vocab import CATEGORIES
from gen.vocab_common import AUDIENCES, EXTRA_LANGS, EXTRA_WORDS, MARKETING, PALETTE, Category, Kind

BRAND_BY_ID = {b["id"]: b for b in BRANDS}
BP_BY_ID = {bp["id"]: bp for bp in BRAND_PRODUCTS}
SPEC_KEYS = {"capacity", "volume", "inseam", "diameter", "tank", "size", "net_weight", "weight"}
LIP_SHADES = [(182, 18, 40), (170, 90, 90), (160, 40, 30), (140, 60, 40), (190, 130, 110), (220, 90, 80)]
BACKGROUNDS = [(240, 238, 232), (232, 236, 240), (244, 236, 230), (236, 240, 234), (246, 244, 240), (228, 228, 232),
               (240, 232, 238), (250, 248, 240)]


def brand_records() -> list[dict]:
    return [{k: b[k] for k in ("id", "names", "aliases", "trademarks", "categories")} for b in BRANDS]


def _rgb(colour_key: str):
    return PALETTE[colour_key][5]


def _ascii_words(cands: list[str], k: int = 2) -> list[str]:
    out = []
    for w in cands:
        if w and w.isascii() and len(w) <= 16 and w.upper() not in out:
            out.append(w.upper())
    return out[:k]


def bp_picture(bp: dict) -> dict:
    cat = CATEGORIES[bp["category"]]
    kind = cat.kind(bp["kind"])
    r = rng_for("bp-picture", bp["id"])
    return {"shape": kind.shape, "variant": kind.variant, "colour": _rgb(bp["colour"]), "pattern": bp["pattern"],
            "bg": (246, 246, 246), "seed": r.randrange(10**6), "words": list(bp["words"]),
            "logo": BRAND_BY_ID[bp["brand"]]["logo"], "shade": LIP_SHADES[r.randrange(len(LIP_SHADES))]}


BP_PICTURES = {bp["id"]: bp_picture(bp) for bp in BRAND_PRODUCTS}


def brand_product_records() -> list[dict]:
    return [{"id": bp["id"], "brand": bp["brand"], "titles": bp["titles"], "category": bp["category"],
             "price": bp["price"], "currency": bp["currency"], "images": [f"images/{bp['id']}.jpg"],
             "aliases": bp["aliases"],
             "_img": BP_PICTURES[bp["id"]]} for bp in BRAND_PRODUCTS]


def jitter(picture: dict, r: random.Random, *, strong: bool = True) -> dict:
    """The same picture, re-shot: another background tint and a crop/shift."""
    p = copy.deepcopy(picture)
    p["bg"] = r.choice(BACKGROUNDS)
    p["crop"] = (r.uniform(0.82, 0.94) if strong else r.uniform(0.93, 0.98), r.randint(-12, 12), r.randint(-12, 12))
    return p


def _tiers(r: random.Random, cat: Category, base: float) -> tuple[int, list[dict]]:
    moq = r.choice(cat.moq)
    n = weighted(r, [1, 2, 3, 4], [1, 3, 4, 2])
    steps = sorted(r.sample([q for q in cat.tiers if q > moq], k=min(n - 1, len([q for q in cat.tiers if q > moq]))))
    price = base * r.uniform(1.0, 1.12)
    tiers = [{"min_qty": moq, "price": money(price)}]
    for q in steps:
        price *= r.uniform(0.86, 0.95)
        p = money(price)
        if p >= tiers[-1]["price"]:
            p = money(tiers[-1]["price"] * 0.95)
        if p >= tiers[-1]["price"] or p <= 0:
            break
        tiers.append({"min_qty": q, "price": p})
    return moq, tiers


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Two (zh, en) phrases that repeat each other ("裸感" in "裸感瑜伽裤", "90%白鹅绒" ~ "90白鹅绒")."""
    az, bz = a[0].replace("%", ""), b[0].replace("%", "")
    ae, be = a[1].lower(), b[1].lower()
    return az in bz or bz in az or ae in be or be in ae


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def make_listing(factory: dict, n: int, bp: dict | None = None) -> dict:
    """One factory listing (no id yet). ``bp``: the brand product it is a dupe of, if any."""
    r = rng_for("listing", factory["id"], n)
    cat = CATEGORIES[factory["_category"]]
    status = factory["_status"].get(bp["brand"]) if bp else None
    same_foundry = bool(status and status[0] == "same_foundry")
    kind: Kind = cat.kind(bp["kind"]) if bp else weighted(r, list(cat.kinds), [k.weight for k in cat.kinds])
    ni = r.randrange(len(kind.zh))
    noun_zh, noun_en = kind.zh[ni], kind.en[ni]

    feats: list[tuple[str, str]] = [(noun_zh, noun_en)]
    if bp:
        hints = r.sample(bp["hints"], k=r.randint(1, min(3, len(bp["hints"]))))
        feats += [h for h in hints if not any(_overlap(h, g) for g in feats)]
    pool = [f for f in (*kind.features, *cat.features) if not any(_overlap(f, g) for g in feats)]
    for f in r.sample(pool, k=min(len(pool), r.randint(0 if bp else 1, 2))):
        if not any(_overlap(f, g) for g in feats):
            feats.append(f)
    feats = feats[1:]

    mat_zh, mat_en, mat_attr = r.choice(kind.materials or cat.materials)
    if bp and "material" in bp["attrs"]:
        mat_attr = bp["attrs"]["material"]
        mat_zh = mat_en = ""
    if bp and (same_foundry or (r.random() < 0.4 and bp["colour"] in cat.colours)):
        colour = bp["colour"]
    else:
        colour = r.choice(cat.colours)
    show_colour = r.random() < cat.colour_in_title
    aud = AUDIENCES[r.choice(cat.audiences)] if r.random() < 0.4 else None
    spec = r.choice(kind.specs) if kind.specs and r.random() < 0.6 else None
    if spec and any(_overlap(spec, f) or any(ch.isdigit() for ch in f[1]) for f in feats):
        spec = None
    mk = r.choice(MARKETING) if r.random() < 0.35 else None
    show_mat = bool(mat_zh) and r.random() < 0.5 and not any(_overlap((mat_zh, mat_en), f)
                                                              for f in (*feats, (noun_zh, noun_en)))

    zh_head = (aud[0] if aud else "") + "".join(f[0] for f in feats[:3]) + noun_zh
    zh = " ".join(x for x in (mk[0] if mk else "", zh_head, mat_zh if show_mat else "", spec[0] if spec else "",
                              PALETTE[colour][0] if show_colour else "") if x)
    en_head = " ".join(x for x in (mk[1] if mk else "", aud[1] if aud else "", noun_en) if x)
    en = ", ".join(x for x in (_cap(en_head), *(f[1] for f in feats[:3]), mat_en if show_mat else "",
                               spec[1] if spec else "", PALETTE[colour][1] if show_colour else "") if x)
    titles = {"zh": zh, "en": en}
    if r.random() < 0.1:
        lang = r.choice(EXTRA_LANGS)
        li = EXTRA_LANGS.index(lang)
        parts = [_cap(getattr(kind, lang)), PALETTE[colour][2 + li] if show_colour else "",
                 aud[2 + li] if aud else "", spec[1] if spec and any(ch.isdigit() for ch in spec[1]) else "",
                 EXTRA_WORDS[lang]["wholesale" if r.random() < 0.5 else "factory"]]
        titles[lang] = " ".join(x for x in parts if x)

    # attributes
    attrs: dict[str, str] = {"material": mat_attr}
    if show_colour or cat.colour_in_title > 0:
        attrs["colour"] = PALETTE[colour][1]
    keys = list({**cat.attrs, **kind.attrs})
    for key in r.sample(keys, k=min(len(keys), r.randint(2, 4))):
        attrs[key] = r.choice({**cat.attrs, **kind.attrs}[key])
    if bp:
        for key, val in bp["attrs"].items():
            if same_foundry or r.random() < 0.5:
                attrs[key] = val
    if spec:
        for key in SPEC_KEYS & set(attrs):
            if not (bp and key in bp["attrs"]):
                del attrs[key]
        attrs["spec"] = spec[1]
    if cat.key == "lipstick" and "shade" not in attrs:
        attrs["shade"] = r.choice(cat.attrs["shade"])

    # description (never names the brand)
    fz, fe = "、".join(f[0] for f in feats), ", ".join(f[1] for f in feats)
    claim_zh, claim_en = "", ""
    if bp and status:
        claim_zh, claim_en = (("大牌同厂同线生产，更换包装与商标。", "Made on the same line as a premium brand, with our own packaging and no brand logo. ")
                              if same_foundry else ("对标大牌品质，第三方检测报告可查。", "Benchmarked against a premium brand; third-party test report available. "))
    elif bp:
        claim_zh, claim_en = "大牌平替，高性价比。", "Affordable alternative to premium brands. "
    desc = (f"{noun_zh}：{fz}。材质：{mat_attr}。{claim_zh}支持OEM/ODM定制与贴牌，"
            f"{factory['ship_within_hours']}小时内发货。 "
            f"{_cap(noun_en)}: {fe}. Material: {mat_attr}. {claim_en}"
            f"OEM/ODM and private label welcome; ships within {factory['ship_within_hours']} h from {factory['region']}.")

    # price
    if bp:
        lo, hi = BRAND_BY_ID[bp["brand"]].get("ratio", DEFAULT_RATIO)
        base = cny(bp["price"], bp["currency"]) / r.uniform(lo, hi)
    else:
        base = r.uniform(*kind.price)
    moq, tiers = _tiers(r, cat, base)

    # picture
    if bp and same_foundry:
        pic = jitter(BP_PICTURES[bp["id"]], r)
        pic["logo"] = None
    else:
        pic = {"shape": kind.shape, "variant": kind.variant, "colour": _rgb(colour),
               "pattern": weighted(r, ["plain", "stripes", "dots", "gradient"], [5, 2, 1.5, 2]),
               "bg": r.choice(BACKGROUNDS), "seed": r.randrange(10**6), "logo": None,
               "words": _ascii_words([spec[1] if spec else "", *(f[1] for f in feats)], k=r.randint(1, 2)),
               "shade": LIP_SHADES[r.randrange(len(LIP_SHADES))]}
    rec = {"factory": factory["id"], "titles": titles, "description": desc, "category": cat.key,
           "attributes": attrs, "price_tiers": tiers, "currency": "CNY", "moq": moq,
           "_img": pic, "_trap": None, "_key": ("listing", factory["id"], n)}
    if bp:
        rec["dupe_of"] = [bp["id"]]
    return rec


def pick_dupe(factory: dict, r: random.Random) -> dict | None:
    """Which brand product (if any) a listing of this factory replaces."""
    cat = factory["_category"]
    endorsed = [bp for bp in BRAND_PRODUCTS if bp["category"] == cat and bp["brand"] in factory["_status"]]
    if endorsed and r.random() < 0.75:
        return r.choice(endorsed)
    others = [bp for bp in BRAND_PRODUCTS if bp["category"] == cat]
    if others and r.random() < 0.35:
        return r.choice(others)
    return None


def allocate(factories: list[dict], total: int) -> dict[str, int]:
    """Listings per factory: random weights, scaled to ``total`` (largest remainder)."""
    r = rng_for("allocate")
    w = {f["id"]: r.uniform(0.5, 1.7) * (1.3 if f["endorsements"] else 1.0) for f in factories}
    s = sum(w.values())
    exact = {k: v * total / s for k, v in w.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[: total - sum(out.values())]:
        out[k] += 1
    return out


def regular_listings(factories: list[dict], total: int) -> list[dict]:
    counts = allocate(factories, total)
    out = []
    for f in factories:
        for n in range(counts[f["id"]]):
            bp = pick_dupe(f, rng_for("dupe", f["id"], n))
            out.append(make_listing(f, n, bp))
    return out
