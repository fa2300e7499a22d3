"""Trap listings: counterfeits (a brand trademark in the title, logo kept in the picture)
and near-duplicate groups (one product listed several times by one factory)."""
from __future__ import annotations

import copy

from gen.catalog import BP_BY_ID, BP_PICTURES, BRAND_BY_ID, jitter, make_listing, money
from gen.factories import PLAN
from gen.util import rng_for

# (brand product, factory (category, index in factories.PLAN), zh title, en title)
COUNTERFEITS = [
    ("bp-lululemon-align", ("leggings", 0), "lululemon同款 Align瑜伽裤 高腰裸感 无尴尬线",
     "lululemon Align same-style yoga leggings, high-rise nude-feel"),
    ("bp-dyson-supersonic-hd15", ("hair-dryer", 3), "戴森同款 Supersonic高速吹风机 负离子",
     "Dyson Supersonic hair dryer, high-speed ionic"),
    ("bp-apple-airpods-pro-2", ("earbuds", 3), "AirPods Pro 2代 顶配版 主动降噪蓝牙耳机",
     "AirPods Pro 2 top version, active noise-cancelling earbuds"),
    ("bp-stanley-quencher-40oz", ("tumbler", 0), "Stanley Quencher 40oz 吸管保温杯 带把手",
     "Stanley Quencher 40 oz straw tumbler with handle"),
    ("bp-lamer-creme-60ml", ("skincare", 3), "海蓝之谜同款 精华面霜 60ml 修护",
     "Crème de la Mer style moisturising cream 60 ml"),
    ("bp-skii-fte-230ml", ("skincare", 1), "SK-II神仙水同款 半乳糖酵母精华水 230ml",
     "SK-II style galactomyces essence 230 ml"),
    ("bp-mac-ruby-woo", ("lipstick", 1), "魅可 Ruby Woo 同色号 哑光子弹头口红",
     "MAC Cosmetics Ruby Woo dupe matte bullet lipstick, blue-red"),
    ("bp-arcteryx-beta-lt", ("jacket", 4), "始祖鸟同款 Beta LT 三层压胶冲锋衣",
     "Arc'teryx Beta LT style 3-layer hardshell jacket"),
    ("bp-kirkland-mixed-nuts", ("food", 0), "Costco开市客 Kirkland 混合坚果 1.13kg 原厂",
     "Kirkland Signature mixed nuts 1.13 kg, original factory"),
    ("bp-philips-sonicare-3100", ("electric-toothbrush", 3), "飞利浦Sonicare同款 声波电动牙刷 压力感应",
     "Philips Sonicare style sonic electric toothbrush, pressure sensor"),
    ("bp-canadagoose-expedition", ("jacket", 5), "加拿大鹅 Expedition Parka 同款 极寒羽绒服 毛领",
     "Canada Goose Expedition Parka copy, extreme-cold down parka"),
    ("bp-uniqlo-airism-tee", ("shirt", 2), "优衣库AIRism同款 凉感圆领T恤",
     "Uniqlo AIRism style cool-touch crew-neck tee"),
]

NEAR_DUP_GROUPS = 12
ZH_TWEAKS = ["现货 ", "包邮 ", "新款 ", "【批发】", "热卖 "]
EN_TWEAKS = ["In stock: ", "Free shipping ", "New ", "Wholesale: ", "Hot sale "]


def _factory_at(factories: list[dict], cat: str, idx: int) -> dict:
    return [f for f in factories if f["_category"] == cat][idx]


def counterfeits(factories: list[dict]) -> list[dict]:
    out = []
    for i, (bp_id, (cat, idx), zh, en) in enumerate(COUNTERFEITS):
        assert idx < len(PLAN[cat]), (cat, idx)
        f = _factory_at(factories, cat, idx)
        bp = BP_BY_ID[bp_id]
        rec = make_listing(f, 10_000 + i, bp)
        rec["titles"] = {"zh": zh, "en": en}
        r = rng_for("counterfeit", i)
        pic = jitter(BP_PICTURES[bp_id], r, strong=False) if r.random() < 0.5 else rec["_img"]
        pic["logo"] = BRAND_BY_ID[bp["brand"]]["logo"]        # counterfeits keep the logo
        rec["_img"] = pic
        rec["_trap"] = ("counterfeit", bp["brand"])
        out.append(rec)
    return out


def _tweak_title(titles: dict, j: int, r) -> dict:
    t = dict(titles)
    zh, en = titles["zh"], titles["en"]
    mode = (j + r.randrange(3)) % 3
    if mode == 0:
        t["zh"] = ZH_TWEAKS[j % len(ZH_TWEAKS)] + zh
        t["en"] = EN_TWEAKS[j % len(EN_TWEAKS)] + en[:1].lower() + en[1:]
    elif mode == 1:
        t["zh"] = zh.replace(" ", "  ", 1) + (" 厂家直供" if j % 2 else " 支持定制")
        parts = en.split(", ")
        if len(parts) > 2:
            parts[1], parts[2] = parts[2], parts[1]
        t["en"] = ", ".join(parts) + (", factory supply" if j % 2 else ", custom logo available")
    else:
        t["zh"] = zh + " " + ("一件代发" if j % 2 else "量大从优")
        t["en"] = en.replace(", ", " - ", 1) + (" (dropshipping)" if j % 2 else " (bulk discount)")
    t.pop("vi", None), t.pop("ko", None), t.pop("ru", None)
    return t


def near_duplicates(listings: list[dict]) -> list[dict]:
    """Copies of NEAR_DUP_GROUPS listings (one per factory): same product, slightly different
    title and price. Marks the originals too."""
    r = rng_for("near-dups")
    seen: set[str] = set()
    picked = []
    for rec in r.sample(listings, k=len(listings)):
        if rec["factory"] not in seen and rec["_trap"] is None:
            seen.add(rec["factory"])
            picked.append(rec)
        if len(picked) == NEAR_DUP_GROUPS:
            break
    out = []
    for g, rec in enumerate(picked):
        rec["_trap"] = ("near-dup", g)
        for j in range(1 + (g % 3 == 0)):
            c = copy.deepcopy(rec)
            c["titles"] = _tweak_title(rec["titles"], g + j, r)
            factor = r.choice([0.96, 0.97, 0.98, 1.02, 1.03, 1.05])
            c["price_tiers"] = [{"min_qty": t["min_qty"], "price": money(t["price"] * factor)} for t in rec["price_tiers"]]
            c["_img"] = jitter(rec["_img"], r, strong=False)
            c["_trap"] = ("near-dup", g)
            c["_key"] = ("near-dup", g, j)
            out.append(c)
    return out
