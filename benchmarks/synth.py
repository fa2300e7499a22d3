"""A synthetic catalog (our JSON Lines format) for speed benchmarks, reproducible by seed.

    python -m benchmarks.synth OUT_DIR --products 100000 [--seed 0] [--images 2000 --images-for first|all]

Products get a Chinese and an English title from per-category vocabularies (nouns,
features, materials, colours, audiences, model numbers), a third title in Vietnamese,
Korean or Russian for ~15% of them, attributes, 1-3 price tiers, a factory (one per ~200
products, some with endorsements) and, for ~20%, a brand product they are a dupe of.
Every product is generated from its own seeded RNG, so the first N products of a large
catalog equal the products of a catalog of size N (a 2k subset with images matches the
first 2k products of the 1M catalog).

Images (optional) are small generated JPEGs (shapes and stripes in the product's colour,
some with a printed word for OCR). ``--images-for first`` gives the first N products one
image each; ``all`` lets every product reuse one of the N images (``img/{i % N}``).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LANGS_EXTRA = ("vi", "ko", "ru")

# Colours, audiences and marketing words, parallel across zh / en / vi / ko / ru.
COLOURS = [
    ("黑色", "Black", "màu đen", "블랙", "чёрный"), ("白色", "White", "màu trắng", "화이트", "белый"),
    ("灰色", "Grey", "màu xám", "그레이", "серый"), ("藏青色", "Navy", "xanh navy", "네이비", "тёмно-синий"),
    ("红色", "Red", "màu đỏ", "레드", "красный"), ("粉色", "Pink", "màu hồng", "핑크", "розовый"),
    ("米色", "Beige", "màu be", "베이지", "бежевый"), ("墨绿色", "Dark Green", "xanh rêu", "다크그린", "тёмно-зелёный"),
    ("天蓝色", "Sky Blue", "xanh da trời", "스카이블루", "голубой"), ("紫色", "Purple", "màu tím", "퍼플", "фиолетовый"),
    ("卡其色", "Khaki", "màu kaki", "카키", "хаки"), ("银色", "Silver", "màu bạc", "실버", "серебристый"),
    ("金色", "Gold", "màu vàng gold", "골드", "золотой"), ("咖啡色", "Brown", "màu nâu", "브라운", "коричневый"),
]
AUDIENCES = [
    ("女款", "Women", "nữ", "여성용", "женский"), ("男款", "Men", "nam", "남성용", "мужской"),
    ("儿童", "Kids", "trẻ em", "아동용", "детский"), ("中性", "Unisex", "unisex", "남녀공용", "унисекс"),
]
MARKETING = [
    ("2025新款", "2025 New", "mới 2025", "2025 신상", "новинка 2025"), ("爆款", "Hot Sale", "bán chạy", "인기", "хит продаж"),
    ("跨境", "Cross-border", "hàng xuất khẩu", "해외직구", "экспорт"), ("工厂直销", "Factory Direct", "giá xưởng", "공장직판", "с фабрики"),
    ("高端", "Premium", "cao cấp", "프리미엄", "премиум"), ("批发", "Wholesale", "bán sỉ", "도매", "оптом"),
]


@dataclass(frozen=True)
class Category:
    key: str
    nouns: dict[str, list[str]]                 # lang -> synonyms
    features: list[tuple[str, str]]             # (zh, en)
    materials: list[tuple[str, str]]
    price: float                                # typical factory price, CNY
    sizes: tuple[str, ...] = ()
    model_prefix: str = "XM"


def _cat(key: str, zh: str, en: str, vi: str, ko: str, ru: str, features: str, materials: str, price: float,
         sizes: str = "", prefix: str = "XM") -> Category:
    def pairs(s: str) -> list[tuple[str, str]]:
        return [tuple(p.split("=", 1)) for p in s.split("|") if p]  # type: ignore[misc]
    return Category(key, {"zh": zh.split("|"), "en": en.split("|"), "vi": vi.split("|"), "ko": ko.split("|"),
                          "ru": ru.split("|")}, pairs(features), pairs(materials), price,
                    tuple(s for s in sizes.split("|") if s), prefix)


CATEGORIES: list[Category] = [
    _cat("leggings", "瑜伽裤|健身裤|打底裤|紧身裤", "Yoga Leggings|Yoga Pants|Workout Leggings|Gym Tights",
         "quần legging tập yoga|quần tập gym", "요가 레깅스|레깅스", "леггинсы для йоги|лосины",
         "高腰=High-Rise|裸感=Nude-Feel|提臀=Butt-Lift|无痕=Seamless|收腹=Tummy Control|速干=Quick-Dry|"
         "口袋=Pocket|九分=7/8 Length|加绒=Fleece-Lined|高弹=High-Stretch",
         "锦纶=Nylon|氨纶=Spandex|莱卡=Lycra|涤纶=Polyester", 59, "XS|S|M|L|XL", "YG"),
    _cat("sports_bra", "运动内衣|运动文胸|瑜伽背心", "Sports Bra|Yoga Bra|Workout Bra", "áo ngực thể thao",
         "스포츠 브라", "спортивный бюстгальтер",
         "防震=Shockproof|高强度=High-Impact|美背=Cross-Back|聚拢=Push-Up|无钢圈=Wireless|可拆卸胸垫=Removable Pads",
         "锦纶=Nylon|氨纶=Spandex|棉=Cotton", 39, "S|M|L|XL", "BR"),
    _cat("hoodie", "连帽卫衣|卫衣|套头衫", "Hoodie|Hooded Sweatshirt|Pullover", "áo hoodie|áo nỉ có mũ",
         "후드티|맨투맨", "толстовка с капюшоном|худи",
         "加绒=Fleece|宽松=Oversized|重磅=Heavyweight|落肩=Drop-Shoulder|拉链=Zip-Up|刺绣=Embroidered",
         "纯棉=100% Cotton|毛圈=French Terry|摇粒绒=Polar Fleece", 69, "S|M|L|XL|XXL", "HD"),
    _cat("tshirt", "T恤|短袖|圆领T恤", "T-Shirt|Tee|Crew Neck T-Shirt", "áo thun|áo phông", "티셔츠|반팔티",
         "футболка", "宽松=Loose Fit|纯色=Plain|印花=Printed|速干=Dry-Fit|重磅=Heavyweight|修身=Slim Fit",
         "纯棉=Cotton|莫代尔=Modal|冰丝=Ice Silk|涤纶=Polyester", 19, "S|M|L|XL|XXL", "TS"),
    _cat("sneakers", "运动鞋|跑步鞋|休闲鞋|老爹鞋", "Sneakers|Running Shoes|Casual Shoes|Chunky Sneakers",
         "giày thể thao|giày chạy bộ", "운동화|러닝화", "кроссовки|беговые кроссовки",
         "透气=Breathable|减震=Cushioned|轻便=Lightweight|防滑=Non-Slip|增高=Platform|气垫=Air Cushion",
         "网面=Mesh|真皮=Leather|飞织=Knit|EVA=EVA", 129, "36|37|38|39|40|41|42|43|44", "SN"),
    _cat("handbag", "手提包|斜挎包|托特包|单肩包", "Handbag|Crossbody Bag|Tote Bag|Shoulder Bag",
         "túi xách|túi đeo chéo", "핸드백|크로스백", "сумка|сумка через плечо",
         "大容量=Large Capacity|链条=Chain|菱格=Quilted|复古=Vintage|通勤=Commuter|迷你=Mini",
         "真皮=Genuine Leather|PU=PU Leather|帆布=Canvas|尼龙=Nylon", 89, "", "BG"),
    _cat("backpack", "双肩包|背包|书包|电脑包", "Backpack|Laptop Backpack|School Bag|Travel Backpack",
         "ba lô|ba lô laptop", "백팩|노트북 가방", "рюкзак",
         "防水=Waterproof|USB充电=USB Charging|大容量=Large Capacity|防盗=Anti-Theft|轻便=Lightweight",
         "牛津布=Oxford|尼龙=Nylon|帆布=Canvas", 79, "", "BP"),
    _cat("wallet", "钱包|卡包|短款钱包", "Wallet|Card Holder|Bifold Wallet", "ví da|ví nam", "지갑|카드지갑",
         "кошелёк|картхолдер", "防盗刷=RFID Blocking|超薄=Slim|多卡位=Multi-Card|零钱袋=Coin Pocket",
         "头层牛皮=Cowhide|PU=PU Leather|碳纤维=Carbon Fiber", 35, "", "WL"),
    _cat("sunglasses", "太阳镜|墨镜|偏光镜", "Sunglasses|Polarized Sunglasses|Shades", "kính râm|kính mát",
         "선글라스", "солнцезащитные очки", "偏光=Polarized|防紫外线=UV400|复古=Retro|大框=Oversized|猫眼=Cat-Eye",
         "TR90=TR90|金属=Metal|板材=Acetate", 29, "", "SG"),
    _cat("watch", "手表|石英表|机械表|智能手表", "Watch|Quartz Watch|Automatic Watch|Smart Watch",
         "đồng hồ|đồng hồ thông minh", "손목시계|스마트워치", "часы|умные часы",
         "防水=Waterproof|夜光=Luminous|蓝宝石=Sapphire Crystal|心率监测=Heart Rate|蓝牙通话=Bluetooth Call",
         "不锈钢=Stainless Steel|硅胶=Silicone|真皮表带=Leather Strap", 149, "", "WT"),
    _cat("earbuds", "蓝牙耳机|无线耳机|降噪耳机", "Bluetooth Earbuds|Wireless Earbuds|Noise Cancelling Earbuds",
         "tai nghe bluetooth|tai nghe không dây", "블루투스 이어폰|무선 이어폰", "беспроводные наушники",
         "主动降噪=ANC|入耳式=In-Ear|长续航=Long Battery|低延迟=Low Latency|触控=Touch Control|运动=Sport",
         "ABS=ABS|铝合金=Aluminium", 69, "", "TWS"),
    _cat("phone_case", "手机壳|保护壳|手机套", "Phone Case|Protective Case|Phone Cover", "ốp lưng điện thoại",
         "휴대폰 케이스", "чехол для телефона", "防摔=Shockproof|磁吸=Magnetic|透明=Clear|液态硅胶=Liquid Silicone|支架=Kickstand",
         "TPU=TPU|硅胶=Silicone|PC=Polycarbonate", 9, "", "PC"),
    _cat("power_bank", "充电宝|移动电源|快充充电宝", "Power Bank|Portable Charger|Fast Charging Power Bank",
         "sạc dự phòng", "보조배터리", "внешний аккумулятор|повербанк",
         "20000毫安=20000mAh|10000毫安=10000mAh|快充=Fast Charging|磁吸=Magnetic|自带线=Built-in Cable|PD=PD 65W",
         "铝合金=Aluminium|ABS=ABS", 59, "", "PB"),
    _cat("toothbrush", "电动牙刷|声波牙刷|牙刷", "Electric Toothbrush|Sonic Toothbrush|Rechargeable Toothbrush",
         "bàn chải điện", "전동칫솔", "электрическая зубная щётка",
         "声波=Sonic|防水=Waterproof|五档=5 Modes|智能定时=Smart Timer|无线充电=Wireless Charging|软毛=Soft Bristles",
         "杜邦刷毛=DuPont Bristles|ABS=ABS", 79, "", "ET"),
    _cat("flosser", "冲牙器|水牙线|洗牙器", "Water Flosser|Oral Irrigator|Dental Flosser", "máy tăm nước",
         "구강세정기", "ирригатор", "便携=Portable|无线=Cordless|大水箱=Large Tank|三档=3 Modes|充电=Rechargeable",
         "ABS=ABS", 99, "", "WF"),
    _cat("hair_dryer", "吹风机|电吹风|高速吹风机", "Hair Dryer|Blow Dryer|High-Speed Hair Dryer", "máy sấy tóc",
         "헤어드라이어", "фен для волос", "负离子=Negative Ion|大功率=High Power|静音=Quiet|恒温=Constant Temperature|折叠=Foldable",
         "ABS=ABS|铝合金=Aluminium", 119, "", "HD"),
    _cat("lipstick", "口红|唇膏|唇釉|哑光口红", "Lipstick|Lip Gloss|Matte Lipstick|Lip Tint", "son môi|son kem lì",
         "립스틱|립틴트", "губная помада|блеск для губ", "哑光=Matte|丝绒=Velvet|保湿=Moisturizing|持久=Long-Lasting|不沾杯=Non-Stick",
         "植物精华=Plant Extract", 15, "", "LP"),
    _cat("foundation", "粉底液|气垫|遮瑕粉底", "Foundation|Cushion Foundation|Concealer Foundation", "kem nền|phấn nước",
         "파운데이션|쿠션", "тональный крем", "遮瑕=Full Coverage|控油=Oil Control|持妆=Long-Wear|轻薄=Lightweight|保湿=Hydrating",
         "", 45, "", "FD"),
    _cat("perfume", "香水|淡香水|香氛", "Perfume|Eau de Toilette|Fragrance", "nước hoa", "향수", "духи|туалетная вода",
         "持久留香=Long-Lasting|花香=Floral|木质=Woody|清新=Fresh|小样=Travel Size", "", 69, "30ml|50ml|100ml", "PF"),
    _cat("serum", "精华液|面部精华|玻尿酸精华", "Face Serum|Hyaluronic Acid Serum|Vitamin C Serum", "serum dưỡng da",
         "세럼|에센스", "сыворотка для лица", "补水=Hydrating|美白=Brightening|抗皱=Anti-Wrinkle|修护=Repair|烟酰胺=Niacinamide",
         "", 39, "30ml|50ml", "SR"),
    _cat("tumbler", "保温杯|吸管杯|保温瓶|随行杯", "Tumbler|Insulated Tumbler|Water Bottle|Travel Mug",
         "bình giữ nhiệt|ly giữ nhiệt", "텀블러|보온병", "термокружка|термос",
         "带吸管=With Straw|大容量=Large Capacity|双层真空=Double-Wall Vacuum|防漏=Leak-Proof|带手柄=With Handle",
         "316不锈钢=316 Stainless Steel|304不锈钢=304 Stainless Steel|Tritan=Tritan", 35, "500ml|750ml|1200ml", "TB"),
    _cat("air_fryer", "空气炸锅|可视空气炸锅|烤箱", "Air Fryer|Digital Air Fryer|Air Fryer Oven", "nồi chiên không dầu",
         "에어프라이어", "аэрогриль|аэрофритюрница", "可视=Visible Window|大容量=Large Capacity|触屏=Touch Screen|无油=Oil-Free|双篮=Dual Basket",
         "不粘涂层=Non-Stick Coating", 189, "4L|5L|6L|8L", "AF"),
    _cat("bedding", "四件套|床上用品|被套", "Bedding Set|Duvet Cover Set|Bed Sheet Set", "bộ chăn ga gối",
         "침구 세트|이불 커버", "постельное бельё|комплект постельного белья",
         "全棉=Pure Cotton|磨毛=Brushed|水洗=Washed|简约=Minimalist|印花=Printed|北欧=Nordic",
         "长绒棉=Long-Staple Cotton|天丝=Tencel|真丝=Silk", 129, "1.5m|1.8m|2.0m", "BD"),
    _cat("pet_bed", "宠物窝|狗窝|猫窝", "Pet Bed|Dog Bed|Cat Bed", "ổ nằm cho thú cưng", "펫 침대|강아지 쿠션",
         "лежанка для животных", "可拆洗=Washable|保暖=Warm|防滑=Non-Slip|四季通用=All-Season|甜甜圈=Donut",
         "长毛绒=Plush|记忆棉=Memory Foam", 49, "S|M|L", "PT"),
    _cat("blocks", "积木|拼装积木|益智玩具", "Building Blocks|Brick Set|Educational Toy", "đồ chơi lắp ráp",
         "블록 장난감", "конструктор", "兼容=Compatible|益智=Educational|颗粒=Small Particle|城市=City|机甲=Mecha|赛车=Racing Car",
         "ABS=ABS", 59, "", "BK"),
    _cat("lamp", "台灯|护眼台灯|床头灯|LED灯", "Desk Lamp|LED Desk Lamp|Bedside Lamp|Night Light", "đèn bàn|đèn ngủ",
         "스탠드|무드등", "настольная лампа|ночник", "护眼=Eye-Care|无极调光=Dimmable|充电=Rechargeable|触摸=Touch|折叠=Foldable|无线充=Wireless Charger",
         "铝合金=Aluminium|ABS=ABS", 45, "", "LD"),
]
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}

# Brands: id, en name, zh name, aliases, categories, reference products (en, zh, price).
BRANDS: list[tuple[str, str, str, list[str], list[str], list[tuple[str, str, float]]]] = [
    ("lululemon", "lululemon", "露露乐蒙", ["lulu", "露露"], ["leggings", "sports_bra", "hoodie"],
     [("Align High-Rise Pant", "Align 高腰瑜伽裤", 850), ("Wunder Train Tight", "Wunder Train 紧身裤", 750),
      ("Energy Bra", "Energy 运动内衣", 390), ("Scuba Oversized Hoodie", "Scuba 宽松卫衣", 1090)]),
    ("alo", "Alo Yoga", "Alo瑜伽", ["alo yoga"], ["leggings", "sports_bra"],
     [("Airlift Legging", "Airlift 瑜伽裤", 880), ("Airbrush Bra", "Airbrush 运动内衣", 450)]),
    ("nike", "Nike", "耐克", ["nike"], ["sneakers", "hoodie", "tshirt"],
     [("Air Force 1", "空军一号 运动鞋", 799), ("Tech Fleece Hoodie", "Tech Fleece 卫衣", 899),
      ("Dri-FIT Tee", "Dri-FIT 速干T恤", 199)]),
    ("adidas", "adidas", "阿迪达斯", ["阿迪"], ["sneakers", "hoodie"],
     [("Samba OG", "Samba 德训鞋", 899), ("Ultraboost Light", "Ultraboost 跑鞋", 1299)]),
    ("newbalance", "New Balance", "新百伦", ["nb", "new balance"], ["sneakers"],
     [("550 Sneaker", "550 复古运动鞋", 799), ("9060 Sneaker", "9060 老爹鞋", 1099)]),
    ("coach", "Coach", "蔻驰", ["coach"], ["handbag", "wallet"],
     [("Tabby Shoulder Bag", "Tabby 单肩包", 3500), ("Slim Billfold Wallet", "短款钱包", 1100)]),
    ("longchamp", "Longchamp", "珑骧", ["longchamp"], ["handbag"], [("Le Pliage Tote", "Le Pliage 托特包", 1200)]),
    ("michaelkors", "Michael Kors", "迈克高仕", ["mk"], ["handbag", "watch"],
     [("Jet Set Tote", "Jet Set 托特包", 2200), ("Lexington Watch", "Lexington 手表", 2400)]),
    ("herschel", "Herschel", "赫行", ["herschel"], ["backpack"], [("Little America Backpack", "Little America 双肩包", 899)]),
    ("rayban", "Ray-Ban", "雷朋", ["rayban", "ray ban"], ["sunglasses"],
     [("Wayfarer Classic", "Wayfarer 经典太阳镜", 1290), ("Aviator Classic", "飞行员 太阳镜", 1390)]),
    ("casio", "Casio", "卡西欧", ["casio", "g-shock"], ["watch"], [("G-Shock GA-2100", "G-Shock 农家橡树 手表", 999)]),
    ("apple", "Apple", "苹果", ["apple", "airpods"], ["earbuds", "watch", "phone_case"],
     [("AirPods Pro 2", "AirPods Pro 2 降噪耳机", 1899), ("Apple Watch Series 9", "Apple Watch 9 智能手表", 2999),
      ("MagSafe Silicone Case", "MagSafe 硅胶手机壳", 399)]),
    ("sony", "Sony", "索尼", ["sony"], ["earbuds"], [("WF-1000XM5", "WF-1000XM5 降噪耳机", 1999)]),
    ("anker", "Anker", "安克", ["anker"], ["power_bank"], [("PowerCore 20000", "PowerCore 20000 充电宝", 299)]),
    ("sonicare", "Philips Sonicare", "飞利浦", ["飞利浦声波", "sonicare"], ["toothbrush"],
     [("DiamondClean 9000", "钻石亮白 电动牙刷", 1999), ("ProtectiveClean 4100", "ProtectiveClean 电动牙刷", 599)]),
    ("oralb", "Oral-B", "欧乐B", ["oral b", "欧乐b"], ["toothbrush"], [("iO Series 9", "iO 9 电动牙刷", 2599)]),
    ("waterpik", "Waterpik", "洁碧", ["waterpik"], ["flosser"], [("Aquarius Water Flosser", "Aquarius 冲牙器", 699)]),
    ("dyson", "Dyson", "戴森", ["dyson"], ["hair_dryer", "lamp"],
     [("Supersonic Hair Dryer", "Supersonic 吹风机", 2999), ("Solarcycle Morph Lamp", "Solarcycle 台灯", 4990)]),
    ("mac", "MAC", "魅可", ["mac"], ["lipstick", "foundation"],
     [("Matte Lipstick Ruby Woo", "子弹头口红 Ruby Woo", 230), ("Studio Fix Fluid", "定制无瑕粉底液", 390)]),
    ("ysl", "YSL Beauty", "圣罗兰", ["ysl", "杨树林"], ["lipstick", "perfume", "foundation"],
     [("Rouge Pur Couture", "方管口红", 380), ("Libre Eau de Parfum", "自由之水 香水", 1150),
      ("Touche Eclat Cushion", "明彩气垫", 590)]),
    ("dior", "Dior", "迪奥", ["dior"], ["lipstick", "perfume"],
     [("Lip Glow", "变色唇膏", 350), ("Sauvage Eau de Toilette", "旷野 淡香水", 880)]),
    ("esteelauder", "Estée Lauder", "雅诗兰黛", ["estee lauder", "雅诗"], ["serum", "foundation"],
     [("Advanced Night Repair", "小棕瓶 精华", 1050), ("Double Wear Foundation", "DW 持妆粉底液", 460)]),
    ("theordinary", "The Ordinary", "the ordinary", ["ordinary"], ["serum"],
     [("Niacinamide 10% + Zinc 1%", "烟酰胺精华", 90)]),
    ("stanley", "Stanley", "史丹利", ["stanley"], ["tumbler"],
     [("Quencher H2.0 Tumbler", "Quencher 吸管保温杯", 329)]),
    ("hydroflask", "Hydro Flask", "Hydro Flask", ["hydroflask"], ["tumbler"],
     [("Wide Mouth Bottle", "宽口保温瓶", 369)]),
    ("ninja", "Ninja", "Ninja", ["ninja"], ["air_fryer"], [("Foodi Dual Zone Air Fryer", "双篮空气炸锅", 1499)]),
    ("muji", "MUJI", "无印良品", ["muji"], ["bedding", "lamp"],
     [("Washed Cotton Duvet Cover", "水洗棉 被套", 399), ("LED Desk Lamp", "LED 台灯", 299)]),
    ("lego", "LEGO", "乐高", ["lego"], ["blocks"],
     [("Technic Porsche 911", "机械组 保时捷911 积木", 1299), ("City Police Station", "城市 警察局 积木", 799)]),
    ("ikea", "IKEA", "宜家", ["ikea"], ["lamp", "bedding", "pet_bed"],
     [("Forsa Work Lamp", "Forsa 台灯", 149), ("Lurvig Pet Bed", "Lurvig 宠物窝", 99)]),
    ("ugg", "UGG", "UGG", ["ugg"], ["sneakers"], [("Tasman Slipper", "Tasman 毛毛鞋", 1290)]),
]

REGIONS = ["Zhejiang Yiwu", "Fujian Jinjiang", "Guangdong Shenzhen", "Guangdong Guangzhou", "Zhejiang Ningbo",
           "Jiangsu Suzhou", "Guangdong Dongguan", "Fujian Putian", "Zhejiang Hangzhou", "Shandong Qingdao",
           "Hebei Baigou", "Guangdong Shantou", "Zhejiang Yongkang", "Jiangsu Changzhou"]
REGION_ZH = {"Zhejiang Yiwu": "义乌", "Fujian Jinjiang": "晋江", "Guangdong Shenzhen": "深圳",
             "Guangdong Guangzhou": "广州", "Zhejiang Ningbo": "宁波", "Jiangsu Suzhou": "苏州",
             "Guangdong Dongguan": "东莞", "Fujian Putian": "莆田", "Zhejiang Hangzhou": "杭州",
             "Shandong Qingdao": "青岛", "Hebei Baigou": "白沟", "Guangdong Shantou": "汕头",
             "Zhejiang Yongkang": "永康", "Jiangsu Changzhou": "常州"}
FACTORY_WORDS = [("针织", "Knitting"), ("服饰", "Apparel"), ("电子", "Electronics"), ("箱包", "Bags"),
                 ("日化", "Cosmetics"), ("家居", "Home"), ("五金", "Hardware"), ("玩具", "Toys"), ("鞋业", "Footwear")]
CERTS = ["ISO9001", "BSCI", "OEKO-TEX", "CE", "FCC", "RoHS", "GMPC", "FDA"]
PER_FACTORY = 200


def brand_rows() -> list[dict[str, Any]]:
    return [{"id": b, "names": {"en": en, "zh": zh}, "aliases": aliases, "trademarks": sorted({en, zh, *aliases}),
             "categories": cats} for b, en, zh, aliases, cats, _ in BRANDS]


def brand_product_rows() -> list[dict[str, Any]]:
    rows = []
    for b, en, zh, _, cats, products in BRANDS:
        for i, (ten, tzh, price) in enumerate(products):
            cat = _category_for_title(ten, cats)
            rows.append({"id": f"bp-{b}-{i}", "brand": b, "titles": {"en": f"{en} {ten}", "zh": f"{zh} {tzh}"},
                         "category": cat, "price": price, "currency": "CNY"})
    return rows


def _category_for_title(title: str, cats: list[str]) -> str:
    t = title.lower()
    for c in cats:
        cat = CATEGORY_BY_KEY[c]
        if any(w.lower().split()[-1] in t for w in cat.nouns["en"]) or any(
                f[1].lower() in t for f in cat.features[:1]):
            return c
    hints = {"pant": "leggings", "tight": "leggings", "legging": "leggings", "bra": "sports_bra",
             "hoodie": "hoodie", "tee": "tshirt", "wallet": "wallet", "watch": "watch", "case": "phone_case",
             "lamp": "lamp", "bed": "pet_bed", "cover": "bedding", "tote": "handbag", "bag": "handbag",
             "lipstick": "lipstick", "glow": "lipstick", "couture": "lipstick", "foundation": "foundation",
             "cushion": "foundation", "fluid": "foundation", "parfum": "perfume", "toilette": "perfume",
             "repair": "serum", "niacinamide": "serum", "tumbler": "tumbler", "bottle": "tumbler",
             "fryer": "air_fryer", "slipper": "sneakers", "porsche": "blocks", "station": "blocks",
             "powercore": "power_bank", "flosser": "flosser", "dryer": "hair_dryer", "pods": "earbuds",
             "1000xm5": "earbuds", "shock": "watch", "wayfarer": "sunglasses", "aviator": "sunglasses",
             "backpack": "backpack", "clean": "toothbrush", "series 9": "toothbrush"}
    for word, c in hints.items():
        if word in t and c in cats:
            return c
    return cats[0]


BRAND_PRODUCTS_BY_CAT: dict[str, list[tuple[str, str, str]]] = {}   # category -> [(bp id, brand, en brand name)]
for _bp in brand_product_rows():
    BRAND_PRODUCTS_BY_CAT.setdefault(_bp["category"], []).append(
        (_bp["id"], _bp["brand"], next(b[1] for b in BRANDS if b[0] == _bp["brand"])))
BRAND_ZH = {b[0]: b[2] for b in BRANDS}
BRAND_ALIAS = {b[0]: (b[3][0] if b[3] else b[1]) for b in BRANDS}


def _rng(seed: int, kind: str, i: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{i}")


def factory_category(seed: int, j: int) -> tuple[Category, Category]:
    """Each factory specialises in a main and a side category."""
    r = _rng(seed, "fcat", j)
    return r.choice(CATEGORIES), r.choice(CATEGORIES)


def factory_row(seed: int, j: int) -> dict[str, Any]:
    r = _rng(seed, "factory", j)
    main, _ = factory_category(seed, j)
    region = r.choice(REGIONS)
    word_zh, word_en = r.choice(FACTORY_WORDS)
    name_part = "".join(r.choice("鑫华盛达利源兴隆泰丰恒通顺美佳宏") for _ in range(2))
    row: dict[str, Any] = {
        "id": f"f{j:05d}",
        "names": {"zh": f"{REGION_ZH[region]}{name_part}{word_zh}有限公司",
                  "en": f"{region.split()[-1]} {name_part and word_en} Co., Ltd. #{j}"},
        "region": region,
        "certifications": sorted(r.sample(CERTS, r.randint(0, 3))),
        "ship_within_hours": r.choice([24, 48, 48, 72, 72, 96, 168]),
        "reply_minutes": r.choice([5, 10, 15, 30, 60, 120]),
        "returns": r.choice(["7-day returns", "15-day returns", "no returns on custom orders", "30-day returns"]),
    }
    brands = [b for b in BRANDS if main.key in b[4]]
    if brands and r.random() < 0.12:
        b = r.choice(brands)[0]
        etype = "same_foundry" if r.random() < 0.4 else "equal_quality"
        year = r.choice([2025, 2026])
        row["endorsements"] = [{
            "type": etype, "brand": b,
            "evidence": ("OEM purchase orders and factory audit" if etype == "same_foundry"
                         else "Third-party lab test of materials and stitching"),
            "verified_by": r.choice(["QA team", "SGS", "Intertek", "TÜV"]),
            "verified_at": f"{year}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            "expires_at": f"{year + 1}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"}]
    return row


def _title_case(words: list[str]) -> str:
    return " ".join(w for w in words if w)


def product_row(seed: int, i: int) -> dict[str, Any]:
    r = _rng(seed, "product", i)
    j = i // PER_FACTORY
    main, side = factory_category(seed, j)
    cat = main if r.random() < 0.8 else side
    feats = r.sample(cat.features, min(len(cat.features), r.choice([1, 2, 2, 3])))
    mat = r.choice(cat.materials) if cat.materials and r.random() < 0.7 else None
    colour = r.choice(COLOURS)
    aud = r.choice(AUDIENCES) if r.random() < 0.5 else None
    mkt = r.choice(MARKETING) if r.random() < 0.35 else None
    size = r.choice(cat.sizes) if cat.sizes and r.random() < 0.5 else None
    noun_i = r.randrange(len(cat.nouns["zh"]))
    noun_zh = cat.nouns["zh"][noun_i]
    noun_en = cat.nouns["en"][noun_i % len(cat.nouns["en"])]
    model = f"{cat.model_prefix}-{r.randint(100, 9999)}" if r.random() < 0.4 else None
    dupe = None
    bps = BRAND_PRODUCTS_BY_CAT.get(cat.key)
    if bps and r.random() < 0.2:
        dupe = r.choice(bps)
    hint_zh = f"{r.choice([BRAND_ALIAS[dupe[1]], BRAND_ZH[dupe[1]]])}同款" if dupe and r.random() < 0.5 else None
    zh = "".join(filter(None, [mkt[0] + " " if mkt else "", hint_zh + " " if hint_zh else "",
                               "".join(f[0] for f in feats), mat[0] if mat else "", noun_zh,
                               " " + aud[0] if aud else "", " " + colour[0], f" {model}" if model else "",
                               f" {size}" if size else ""]))
    en = _title_case([mkt[1] if mkt else "", *(f[1] for f in feats), mat[1] if mat else "", noun_en,
                      f"for {aud[1]}" if aud else "", colour[1], model or "", size or ""])
    titles = {"zh": zh, "en": en}
    if r.random() < 0.15:
        lang = r.choice(LANGS_EXTRA)
        li = 2 + LANGS_EXTRA.index(lang)
        nouns = cat.nouns[lang]
        titles[lang] = " ".join(filter(None, [mkt[li] if mkt else "", nouns[noun_i % len(nouns)],
                                               aud[li] if aud else "", colour[li], model or ""]))
    base = cat.price * r.uniform(0.5, 2.0)
    n_tiers = r.choice([1, 2, 2, 3])
    qtys = sorted(r.sample([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], n_tiers))
    tiers = [{"min_qty": q, "price": round(base * (1 - 0.08 * k), 2)} for k, q in enumerate(qtys)]
    attrs = {"colour": colour[1]}
    if mat:
        attrs["material"] = mat[1]
    if size:
        attrs["size"] = size
    if aud:
        attrs["for"] = aud[1]
    desc = (f"{noun_zh}，{'、'.join(f[0] for f in feats)}。{'面料/材质：' + mat[0] + '。' if mat else ''}"
            f"支持定制，{qtys[0]}件起批。")
    row: dict[str, Any] = {"id": f"p{i:07d}", "factory": f"f{j:05d}", "titles": titles, "category": cat.key,
                           "description": desc, "attributes": attrs, "price_tiers": tiers, "currency": "CNY",
                           "moq": qtys[0]}
    if dupe:
        row["dupe_of"] = [dupe[0]]
    return row


# -- images -----------------------------------------------------------------------------

_SHAPES = ["rect", "ellipse", "triangle", "trapezoid", "bar", "ring"]


def make_image(seed: int, k: int, size: int = 160):
    """A small product-like picture: a white background, a coloured shape, stripes and
    sometimes a printed word (so OCR has something to read)."""
    from PIL import Image, ImageDraw
    r = _rng(seed, "image", k)
    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    col = tuple(r.randint(0, 230) for _ in range(3))
    col2 = tuple(min(255, c + r.randint(20, 120)) for c in col)
    shape = r.choice(_SHAPES)
    m = r.randint(12, 30)
    box = (m, m + r.randint(0, 20), size - m, size - m - r.randint(0, 20))
    if shape == "rect":
        d.rectangle(box, fill=col)
    elif shape == "ellipse":
        d.ellipse(box, fill=col)
    elif shape == "triangle":
        d.polygon([(size // 2, box[1]), (box[2], box[3]), (box[0], box[3])], fill=col)
    elif shape == "trapezoid":
        d.polygon([(box[0] + 25, box[1]), (box[2] - 25, box[1]), (box[2], box[3]), (box[0], box[3])], fill=col)
    elif shape == "bar":
        d.rectangle((size // 2 - 18, box[1], size // 2 + 18, box[3]), fill=col)
    else:
        d.ellipse(box, outline=col, width=r.randint(8, 20))
    for s in range(r.randint(0, 5)):
        y = r.randint(box[1], box[3])
        d.line((box[0], y, box[2], y + r.randint(-20, 20)), fill=col2, width=r.randint(2, 6))
    if r.random() < 0.5:
        word = r.choice([b[1] for b in BRANDS] + ["SPORT", "ACTIVE", "PREMIUM", "COTTON", "PRO"])
        d.text((box[0] + 4, size - m - 14), word.upper(), fill=(20, 20, 20))
    return im


def write_images(folder: Path, seed: int, n: int, size: int = 160) -> None:
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for k in range(n):
        path = folder / "img" / f"{k:05d}.jpg"
        if not path.exists():
            make_image(seed, k, size).save(path, "JPEG", quality=85)


# -- catalog ----------------------------------------------------------------------------

def generate(out: Path | str, products: int, *, seed: int = 0, images: int = 0, images_for: str = "first") -> dict:
    """Write a catalog folder; returns counts. ``images``: number of generated images;
    ``images_for``: "first" (product i < images gets image i) or "all" (image i % images)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out / "brands.jsonl", "w", encoding="utf-8") as f:
        for row in brand_rows():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(out / "brand_products.jsonl", "w", encoding="utf-8") as f:
        for row in brand_product_rows():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_factories = (products + PER_FACTORY - 1) // PER_FACTORY
    with open(out / "factories.jsonl", "w", encoding="utf-8") as f:
        for j in range(n_factories):
            f.write(json.dumps(factory_row(seed, j), ensure_ascii=False) + "\n")
    with open(out / "products.jsonl", "w", encoding="utf-8") as f:
        for i in range(products):
            row = product_row(seed, i)
            if images and (images_for == "all" or i < images):
                row["images"] = [f"img/{i % images:05d}.jpg"]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    if images:
        write_images(out, seed, images)
    return {"products": products, "factories": n_factories, "brands": len(BRANDS),
            "brand_products": len(brand_product_rows()), "images": images,
            "seconds": round(time.perf_counter() - t0, 1)}


# -- queries ----------------------------------------------------------------------------

def text_queries(seed: int, n: int) -> list[str]:
    """Buyer-style text queries in the catalog's languages: short category searches, a
    brand product ("lululemon align dupe"), features, model numbers, long pasted titles."""
    r = random.Random(f"{seed}:queries")
    out: list[str] = []
    while len(out) < n:
        cat = r.choice(CATEGORIES)
        kind = r.random()
        feat = r.choice(cat.features)
        if kind < 0.2:
            out.append(r.choice(cat.nouns["zh"]))
        elif kind < 0.35:
            out.append(f"{feat[1].lower()} {r.choice(cat.nouns['en']).lower()}")
        elif kind < 0.5:
            out.append(f"{feat[0]}{r.choice(cat.nouns['zh'])} {r.choice(COLOURS)[0]}")
        elif kind < 0.65:
            bps = BRAND_PRODUCTS_BY_CAT.get(cat.key)
            if not bps:
                continue
            bp_id, brand, name = r.choice(bps)
            bp = next(b for b in brand_product_rows() if b["id"] == bp_id)
            out.append(r.choice([f"{bp['titles']['en']} dupe", f"{BRAND_ZH[brand]}同款{r.choice(cat.nouns['zh'])}",
                                 f"{BRAND_ALIAS[brand]} 平替", bp["titles"]["zh"]]))
        elif kind < 0.72:
            out.append(f"{cat.model_prefix}-{r.randint(100, 9999)}")
        elif kind < 0.85:
            p = product_row(seed, r.randrange(10_000))
            out.append(p["titles"][r.choice(list(p["titles"]))])
        else:
            lang = r.choice(LANGS_EXTRA)
            out.append(f"{r.choice(cat.nouns[lang])} {r.choice(COLOURS)[2 + LANGS_EXTRA.index(lang)]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--products", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", type=int, default=0, help="number of generated images")
    ap.add_argument("--images-for", choices=["first", "all"], default="first")
    args = ap.parse_args(argv)
    stats = generate(args.out, args.products, seed=args.seed, images=args.images, images_for=args.images_for)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
