"""Factories: industrial belts, names, service metrics and endorsements (with the expired
and evidence-less traps)."""
from __future__ import annotations

import datetime as dt

from gen.util import TODAY, rng_for, weighted
from gen.vocab import CATEGORIES

# key: (region, city prefix zh, city prefix en)
REGIONS = {
    "baoan": ("Guangdong Shenzhen Bao'an", "深圳市", "Shenzhen"),
    "longgang": ("Guangdong Shenzhen Longgang", "深圳市", "Shenzhen"),
    "longhua": ("Guangdong Shenzhen Longhua", "深圳市", "Shenzhen"),
    "dongguan": ("Guangdong Dongguan Chang'an", "东莞市", "Dongguan"),
    "humen": ("Guangdong Dongguan Humen", "东莞市", "Dongguan"),
    "huizhou": ("Guangdong Huizhou Zhongkai", "惠州市", "Huizhou"),
    "shunde": ("Guangdong Foshan Shunde", "佛山市顺德区", "Foshan Shunde"),
    "zhongshan": ("Guangdong Zhongshan", "中山市", "Zhongshan"),
    "jiangmen": ("Guangdong Jiangmen", "江门市", "Jiangmen"),
    "baiyun": ("Guangdong Guangzhou Baiyun", "广州市", "Guangzhou"),
    "huadu": ("Guangdong Guangzhou Huadu", "广州市", "Guangzhou"),
    "haizhu": ("Guangdong Guangzhou Haizhu", "广州市", "Guangzhou"),
    "chaozhou": ("Guangdong Chaozhou", "潮州市", "Chaozhou"),
    "jieyang": ("Guangdong Jieyang", "揭阳市", "Jieyang"),
    "shantou": ("Guangdong Shantou", "汕头市", "Shantou"),
    "yiwu": ("Zhejiang Yiwu", "义乌市", "Yiwu"),
    "cixi": ("Zhejiang Ningbo Cixi", "慈溪市", "Cixi"),
    "ningbo": ("Zhejiang Ningbo Yinzhou", "宁波市", "Ningbo"),
    "yongkang": ("Zhejiang Yongkang", "永康市", "Yongkang"),
    "wuyi": ("Zhejiang Jinhua Wuyi", "武义县", "Wuyi"),
    "keqiao": ("Zhejiang Shaoxing Keqiao", "绍兴市", "Shaoxing"),
    "pinghu": ("Zhejiang Jiaxing Pinghu", "平湖市", "Pinghu"),
    "linan": ("Zhejiang Hangzhou Lin'an", "杭州市临安区", "Hangzhou Lin'an"),
    "jinjiang": ("Fujian Quanzhou Jinjiang", "晋江市", "Jinjiang"),
    "xiamen": ("Fujian Xiamen", "厦门市", "Xiamen"),
    "nantong": ("Jiangsu Nantong", "南通市", "Nantong"),
    "changshu": ("Jiangsu Suzhou Changshu", "常熟市", "Changshu"),
    "yangzhou": ("Jiangsu Yangzhou Hangji", "扬州市", "Yangzhou"),
    "fengxian": ("Shanghai Fengxian", "上海", "Shanghai"),
    "hefei": ("Anhui Hefei", "合肥市", "Hefei"),
    "linyi": ("Shandong Linyi", "临沂市", "Linyi"),
    "baoding": ("Hebei Baoding", "保定市", "Baoding"),
    "botou": ("Hebei Cangzhou Botou", "泊头市", "Botou"),
}

# Factories per category, in order; the index in each list is used by ENDORSEMENTS.
PLAN: dict[str, list[str]] = {
    "electric-toothbrush": ["baoan", "yangzhou", "longgang", "dongguan", "cixi"],
    "water-flosser": ["baoan", "longhua", "dongguan", "cixi"],
    "earbuds": ["baoan", "longhua", "dongguan", "huizhou", "longgang", "baoan"],
    "hair-dryer": ["cixi", "shunde", "zhongshan", "baoan"],
    "blender": ["shunde", "cixi", "zhongshan", "jiangmen"],
    "leggings": ["yiwu", "jinjiang", "shantou", "yiwu", "xiamen", "jinjiang", "huadu"],
    "shirt": ["ningbo", "humen", "keqiao", "nantong", "haizhu"],
    "cookware": ["botou", "chaozhou", "yongkang", "jieyang"],
    "tumbler": ["yongkang", "wuyi", "yongkang", "chaozhou"],
    "skincare": ["baiyun", "baiyun", "fengxian", "huadu", "baiyun", "fengxian"],
    "lipstick": ["baiyun", "shantou", "yiwu"],
    "food": ["jinjiang", "hefei", "linan", "chaozhou", "linyi"],
    "household": ["baoding", "jinjiang", "dongguan"],
    "jacket": ["changshu", "pinghu", "xiamen", "nantong", "jinjiang", "ningbo"],
}

# (category, index) -> [(brand, type, status)]; status: ok | expired | expired-yesterday |
# no-evidence (evidence "") | omitted-evidence (no evidence field).
ENDORSEMENTS: dict[tuple[str, int], list[tuple[str, str, str]]] = {
    ("electric-toothbrush", 0): [("philips-sonicare", "same_foundry", "ok"), ("oral-b", "equal_quality", "ok")],
    ("electric-toothbrush", 1): [("oral-b", "same_foundry", "expired")],
    ("electric-toothbrush", 2): [("philips-sonicare", "equal_quality", "ok")],
    ("water-flosser", 0): [("waterpik", "same_foundry", "ok")],
    ("water-flosser", 1): [("waterpik", "equal_quality", "no-evidence")],
    ("earbuds", 0): [("apple", "equal_quality", "ok"), ("sony", "equal_quality", "ok")],
    ("earbuds", 1): [("sony", "same_foundry", "ok")],
    ("earbuds", 2): [("bose", "equal_quality", "ok")],
    ("earbuds", 3): [("apple", "same_foundry", "omitted-evidence")],
    ("hair-dryer", 0): [("dyson", "equal_quality", "ok")],
    ("hair-dryer", 1): [("dyson", "same_foundry", "expired-yesterday")],
    ("blender", 0): [("vitamix", "equal_quality", "ok")],
    ("blender", 1): [("vitamix", "same_foundry", "ok")],
    ("leggings", 0): [("lululemon", "same_foundry", "ok"), ("alo-yoga", "equal_quality", "ok")],
    ("leggings", 1): [("lululemon", "equal_quality", "ok")],
    ("leggings", 2): [("alo-yoga", "same_foundry", "ok")],
    ("leggings", 3): [("lululemon", "same_foundry", "expired")],
    ("shirt", 0): [("uniqlo", "same_foundry", "ok")],
    ("shirt", 1): [("muji", "same_foundry", "ok"), ("uniqlo", "equal_quality", "ok")],
    ("cookware", 0): [("le-creuset", "equal_quality", "ok")],
    ("cookware", 1): [("le-creuset", "same_foundry", "ok")],
    ("tumbler", 0): [("stanley", "same_foundry", "ok"), ("yeti", "equal_quality", "ok")],
    ("tumbler", 1): [("yeti", "same_foundry", "ok")],
    ("tumbler", 2): [("stanley", "equal_quality", "no-evidence")],
    ("skincare", 0): [("estee-lauder", "equal_quality", "ok"), ("la-mer", "equal_quality", "ok")],
    ("skincare", 1): [("sk-ii", "equal_quality", "ok")],
    ("skincare", 2): [("estee-lauder", "same_foundry", "ok")],
    ("lipstick", 0): [("mac", "equal_quality", "ok"), ("estee-lauder", "equal_quality", "ok")],
    ("food", 0): [("members-mark", "same_foundry", "ok"), ("kirkland", "same_foundry", "ok")],
    ("food", 1): [("kirkland", "equal_quality", "ok")],
    ("food", 2): [("members-mark", "same_foundry", "ok")],
    ("household", 0): [("kirkland", "same_foundry", "ok")],
    ("household", 1): [("members-mark", "equal_quality", "ok")],
    ("jacket", 0): [("arcteryx", "equal_quality", "ok")],
    ("jacket", 1): [("canada-goose", "equal_quality", "ok"), ("the-north-face", "equal_quality", "ok")],
    ("jacket", 2): [("the-north-face", "same_foundry", "ok")],
}

# Company trade names (zh, pinyin), used once each.
TRADE_NAMES = [
    ("恒盛", "Hengsheng"), ("鑫达", "Xinda"), ("华美", "Huamei"), ("锦程", "Jincheng"), ("雅丽", "Yali"), ("百川", "Baichuan"),
    ("佳禾", "Jiahe"), ("宏远", "Hongyuan"), ("润泽", "Runze"), ("金鹏", "Jinpeng"), ("启航", "Qihang"), ("永信", "Yongxin"),
    ("天骄", "Tianjiao"), ("博联", "Bolian"), ("嘉和", "Jiahe Union"), ("诚泰", "Chengtai"), ("众鑫", "Zhongxin"), ("凯丰", "Kaifeng"),
    ("瑞祥", "Ruixiang"), ("新锐", "Xinrui"), ("海川", "Haichuan"), ("德隆", "Delong"), ("盛世", "Shengshi"), ("汇通", "Huitong"),
    ("明辉", "Minghui"), ("卓越", "Zhuoyue"), ("同创", "Tongchuang"), ("丰源", "Fengyuan"), ("立信", "Lixin"), ("美途", "Meitu"),
    ("东升", "Dongsheng"), ("伟业", "Weiye"), ("翔宇", "Xiangyu"), ("晨光", "Chenguang"), ("华锦", "Huajin"), ("优品", "Youpin"),
    ("联发", "Lianfa"), ("昌隆", "Changlong"), ("泰和", "Taihe"), ("万达丰", "Wandafeng"), ("嘉信", "Jiaxin"), ("尚品", "Shangpin"),
    ("金盾", "Jindun"), ("合力", "Heli"), ("源美", "Yuanmei"), ("迈德", "Maide"), ("高盛达", "Gaoshengda"), ("星辰", "Xingchen"),
    ("志成", "Zhicheng"), ("康达", "Kangda"), ("腾飞", "Tengfei"), ("宝丽", "Baoli"), ("精诚", "Jingcheng"), ("国华", "Guohua"),
    ("福瑞", "Furui"), ("鸿运", "Hongyun"), ("绿源", "Lvyuan"), ("安泰", "Antai"), ("佳美", "Jiamei"), ("汇丰源", "Huifengyuan"),
    ("长荣", "Changrong"), ("远航", "Yuanhang"), ("兴业", "Xingye"), ("荣昌", "Rongchang"), ("骏达", "Junda"), ("顺发", "Shunfa"),
    ("森源", "Senyuan"), ("九洲", "Jiuzhou"), ("华瑞", "Huarui"), ("聚力", "Juli"),
]

# (en, zh): the catalog gives these texts in both languages (``search.texts``).
RETURNS = [("7-day no-reason returns", "7天无理由退货"),
           ("7-day no-reason returns, buyer pays return shipping", "7天无理由退货，退货运费由买家承担"),
           ("15-day returns for quality issues", "质量问题15天内可退"),
           ("Defects replaced within 30 days; no returns on custom orders", "30天内次品包换；定制订单不退"),
           ("Damage in transit refunded within 48 h", "运输破损48小时内退款"),
           ("7-day returns; samples non-returnable", "7天可退；样品不退"),
           ("30-day quality guarantee, free replacement", "30天质量保证，免费换新")]
FOOD_RETURNS = [("Damage in transit refunded within 48 h", "运输破损48小时内退款"),
                ("Refund for spoiled goods within 24 h of delivery", "到货24小时内变质可退款"),
                ("No returns on opened food; damaged cases refunded", "已开封食品不退；破损整箱退款")]
REPLY_MINUTES = [2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 240]
VERIFIERS = [("Sourcing team (Zhang Wei)", "采购团队（张伟）"), ("Sourcing team (Li Na)", "采购团队（李娜）"),
             ("QA lab (Chen Jie)", "质检实验室（陈杰）"), ("QA lab (Wang Fang)", "质检实验室（王芳）"),
             ("SGS audit, auditor Liu Yang", "SGS 审核，审核员刘洋"),
             ("Intertek audit, auditor Zhao Min", "Intertek 审核，审核员赵敏"),
             ("TÜV Rheinland audit, auditor Sun Hao", "TÜV 莱茵审核，审核员孙浩"),
             ("Category manager (Huang Lei)", "品类经理（黄磊）")]

SAME_FOUNDRY_EVIDENCE = [
    ("Audit of OEM purchase orders {q} and production line visit", "审核了 {q} 的代工采购订单并实地查看生产线"),
    ("Brand supplier code found on the factory's approved-vendor letter; export declarations for {q} checked",
     "工厂的合格供应商函上有品牌的供应商代码；核对了 {q} 的出口报关单"),
    ("Mold/pattern numbers and material lot records matched against the brand tech pack; on-site visit {q}",
     "模具/版型编号和物料批次记录与品牌技术资料包一致；{q} 实地走访"),
    ("Shipping records to the brand's distribution centre ({q}) and a signed OEM supply contract reviewed",
     "审阅了发往品牌配送中心的发货记录（{q}）和已签署的代工供货合同"),
]
EQUAL_QUALITY_EVIDENCE = {
    "electric-toothbrush": ("Side-by-side lab test ({lab}): stroke rate, bristle end-rounding and battery life within 5% of the brand sample",
                            "对比实验室测试（{lab}）：振动频率、刷毛磨圆率和续航与品牌样品相差不到 5%"),
    "water-flosser": ("Lab test ({lab}): pressure range, pulse rate and IPX7 immersion match the brand sample",
                      "实验室测试（{lab}）：水压范围、脉冲频率和 IPX7 浸水测试与品牌样品一致"),
    "earbuds": ("Lab test ({lab}): ANC depth, frequency response and battery life within 3 dB / 10% of the brand sample",
                "实验室测试（{lab}）：降噪深度、频率响应和续航与品牌样品相差不超过 3 dB / 10%"),
    "hair-dryer": ("Lab test ({lab}): airflow speed, outlet temperature stability and noise level against the brand sample",
                   "实验室测试（{lab}）：与品牌样品对比风速、出风温度稳定性和噪音"),
    "blender": ("Lab test ({lab}): motor speed, blend fineness and jar impact test against the brand sample",
                "实验室测试（{lab}）：与品牌样品对比电机转速、破壁细度和杯体抗冲击"),
    "leggings": ("Fabric test ({lab}): grammage, four-way stretch recovery and pilling grade 4 match the brand sample",
                 "面料测试（{lab}）：克重、四面弹回复率和 4 级抗起球与品牌样品一致"),
    "shirt": ("Fabric test ({lab}): yarn count, shrinkage < 3% and colour fastness grade 4 match the brand sample",
              "面料测试（{lab}）：纱支、缩水率 < 3% 和 4 级色牢度与品牌样品一致"),
    "cookware": ("Lab test ({lab}): enamel thickness, thermal shock and lead/cadmium migration against the brand sample",
                 "实验室测试（{lab}）：与品牌样品对比珐琅厚度、耐冷热冲击和铅镉迁移"),
    "tumbler": ("Lab test ({lab}): 24 h cold retention, leak test and 316 steel composition match the brand sample",
                "实验室测试（{lab}）：24 小时保冷、防漏测试和 316 钢成分与品牌样品一致"),
    "skincare": ("Ingredient list and stability test ({lab}) compared with the brand product; blind panel of 40 users",
                 "成分表和稳定性测试（{lab}）与品牌产品对比；40 位用户盲测"),
    "lipstick": ("Colour match (ΔE < 2), wear test and heavy-metal screen ({lab}) against the brand shade",
                 "与品牌色号对比：色差（ΔE < 2）、持妆测试和重金属筛查（{lab}）"),
    "food": ("Ingredient spec, moisture and aflatoxin test ({lab}); blind tasting panel preferred it or tied in 46%",
             "配料规格、水分和黄曲霉毒素检测（{lab}）；盲品中 46% 认为更好或持平"),
    "household": ("Lab test ({lab}): basis weight, wet strength and absorbency against the brand sample",
                  "实验室测试（{lab}）：与品牌样品对比定量、湿强度和吸水性"),
    "jacket": ("Lab test ({lab}): hydrostatic head, breathability and fill power match the brand sample",
               "实验室测试（{lab}）：静水压、透气性和蓬松度与品牌样品一致"),
}
LABS = [("SGS report SH25-{n}", "SGS 报告 SH25-{n}"), ("Intertek report GZ26-{n}", "Intertek 报告 GZ26-{n}"),
        ("CTI report {n}", "CTI 报告 {n}"), ("BV report NB26-{n}", "BV 报告 NB26-{n}"),
        ("TÜV SÜD report {n}", "TÜV 南德报告 {n}")]


# Certifications whose name is words, not an acronym, in Chinese too.
CERT_ZH = {"NMPA production licence": "国家药监局生产许可", "FDA registered": "FDA 注册",
           "SC food licence": "SC 食品生产许可"}


def _both(pair: tuple[str, str]) -> dict[str, str]:
    en, zh = pair
    return {"zh": zh, "en": en}


def _dates(status: str, rng) -> tuple[str, str]:
    if status == "expired":
        verified = dt.date(2024, 6, 1) + dt.timedelta(days=rng.randrange(0, 300))
        expires = verified.replace(year=verified.year + 1)
    elif status == "expired-yesterday":
        expires = TODAY - dt.timedelta(days=1)
        verified = expires.replace(year=expires.year - 1)
    else:
        verified = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(0, 320))
        expires = verified.replace(year=verified.year + 1)
    return verified.isoformat(), expires.isoformat()


def _endorsement(cat: str, brand: str, etype: str, status: str, rng) -> dict:
    verified_at, expires_at = _dates(status, rng)
    before = dt.date.fromisoformat(verified_at) - dt.timedelta(days=rng.randrange(45, 120))
    q = f"{before.year}-Q{(before.month - 1) // 3 + 1}"
    lab_en, lab_zh = rng.choice(LABS)
    n = rng.randint(10000, 99999)
    en, zh = rng.choice(SAME_FOUNDRY_EVIDENCE) if etype == "same_foundry" else EQUAL_QUALITY_EVIDENCE[cat]
    evidence = {"zh": zh.format(q=q, lab=lab_zh.format(n=n)), "en": en.format(q=q, lab=lab_en.format(n=n))}
    e = {"type": etype, "brand": brand, "evidence": evidence, "verified_by": _both(rng.choice(VERIFIERS)),
         "verified_at": verified_at, "expires_at": expires_at}
    if status == "no-evidence":
        e["evidence"] = ""
    elif status == "omitted-evidence":
        del e["evidence"]
    return e


def build_factories() -> list[dict]:
    """Factory records, each with private keys ``_category`` and ``_status`` (brand -> (type, status))."""
    out: list[dict] = []
    names = iter(TRADE_NAMES)
    n = 0
    for cat_key, regions in PLAN.items():
        cat = CATEGORIES[cat_key]
        for idx, region_key in enumerate(regions):
            n += 1
            fid = f"f-{n:03d}"
            rng = rng_for("factory", fid)
            region, city_zh, city_en = REGIONS[region_key]
            trade_zh, trade_en = next(names)
            type_zh, type_en = rng.choice(cat.factory_types)
            plan = ENDORSEMENTS.get((cat_key, idx), [])
            endorsed = any(s == "ok" for _, _, s in plan)
            ship = weighted(rng, [24, 48, 72], [5, 4, 1] if endorsed else [3, 4, 3])
            certs = rng.sample(cat.certs, k=rng.randint(1, min(4, len(cat.certs))))
            rec = {
                "id": fid,
                "names": {"zh": f"{city_zh}{trade_zh}{type_zh}", "en": f"{city_en} {trade_en} {type_en}"},
                "region": region,
                "certifications": [{"zh": CERT_ZH[c], "en": c} if c in CERT_ZH else c for c in sorted(certs)],
                "ship_within_hours": ship,
                "reply_minutes": rng.choice(REPLY_MINUTES[:8] if endorsed else REPLY_MINUTES),
                "returns": _both(rng.choice(FOOD_RETURNS if cat_key == "food" else RETURNS)),
                "endorsements": [_endorsement(cat_key, b, t, s, rng) for b, t, s in plan],
                "_category": cat_key,
                "_status": {b: (t, s) for b, t, s in plan},
            }
            out.append(rec)
    return out
