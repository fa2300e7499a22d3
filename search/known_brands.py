"""Well-known consumer brands, for saying plainly that a brand is not in the catalog.

A query that names one of these (and no brand the catalog carries) gets "no dupes of X in
this catalog yet" and no claim, instead of dupes guessed from its other words. This is
world knowledge, not catalog data: brands the catalog carries are recognised from the
catalog itself (names, aliases, trademarks) and always win over this list.

One entry per brand: the display name first, then other spellings (any language).
"""
from __future__ import annotations

KNOWN_BRANDS: tuple[tuple[str, ...], ...] = (
    # sportswear and sneakers
    ("Nike", "耐克", "나이키", "ナイキ", "найк", "air force 1", "air jordan"),
    ("Adidas", "阿迪达斯", "阿迪", "아디다스", "アディダス", "адидас"),
    ("Puma", "彪马", "푸마", "プーマ"), ("New Balance", "新百伦", "뉴발란스", "ニューバランス"),
    ("Asics", "亚瑟士", "아식스", "アシックス"), ("Hoka", "hoka one one", "霍卡"), ("On Running", "昂跑", "on cloud"),
    ("Converse", "匡威", "컨버스"), ("Vans", "范斯", "반스"), ("Reebok", "锐步"), ("Under Armour", "安德玛"),
    ("Skechers", "斯凯奇"), ("Salomon", "萨洛蒙", "살로몬"), ("Birkenstock", "勃肯", "버켄스탁"),
    ("Crocs", "卡骆驰", "洞洞鞋", "크록스"), ("UGG", "어그"), ("Dr. Martens", "dr martens", "马丁靴"),
    ("Gymshark", "gym shark"), ("Fabletics",), ("Vuori",), ("Sweaty Betty",), ("Beyond Yoga",),
    ("Athleta",), ("Outdoor Voices",), ("Li-Ning", "李宁"), ("Anta", "安踏"), ("Xtep", "特步"),
    ("Maia Active", "maiaactive"), ("Particle Fever", "粒子狂热"),
    # outdoor
    ("Patagonia", "巴塔哥尼亚", "파타고니아", "パタゴニア"), ("Columbia Sportswear", "columbia jacket"),
    ("Moncler", "盟可睐", "몽클레어", "モンクレール"),
    ("Mammut", "猛犸象"), ("Salewa",), ("Kolon Sport",), ("Descente", "迪桑特"), ("Kailas", "凯乐石"),
    ("Bosideng", "波司登"), ("Jack Wolfskin", "狼爪"), ("Fjallraven", "fjällräven", "北极狐"),
    # fashion and luxury
    ("Zara", "飒拉", "자라", "ザラ"), ("H&M", "hm", "hennes"), ("Shein", "希音"), 
    ("Abercrombie", "abercrombie & fitch", "a&f"), ("Hollister",), ("Levi's", "levis", "李维斯"),
    ("Ralph Lauren", "polo ralph lauren", "拉夫劳伦"), ("Tommy Hilfiger",), ("Calvin Klein",),
    ("Skims", "스킴스"), ("Aritzia",), ("Free People",), ("Reformation",), ("Brandy Melville",),
    ("Urban Outfitters",), ("Anthropologie",), ("COS",), ("Massimo Dutti",), ("Everlane",),
    ("Gucci", "古驰", "구찌", "グッチ"), ("Louis Vuitton", "路易威登", "루이비통"), ("Chanel", "香奈儿", "샤넬", "シャネル"),
    ("Dior", "迪奥", "디올", "ディオール"), ("Hermes", "hermès", "爱马仕", "에르메스"), ("Prada", "普拉达", "프라다"),
    ("Celine", "思琳"), ("Bottega Veneta",), ("Loewe", "罗意威"), ("Balenciaga", "巴黎世家"),
    ("Burberry", "博柏利"), ("Coach Handbags", "蔻驰", "coach bag"), ("Michael Kors",), ("Kate Spade",), ("Longchamp", "珑骧"),
    ("Miu Miu",), ("Fendi", "芬迪"), ("Versace", "范思哲"), ("Cartier", "卡地亚"), ("Tiffany", "蒂芙尼"),
    ("Pandora Jewelry", "pandora bracelet", "潘多拉手链"), ("Swarovski", "施华洛世奇"), ("Rolex", "劳力士"),
    ("Omega Watches", "欧米茄"),
    ("Ray-Ban", "雷朋"), ("Gentle Monster", "젠틀몬스터"), ("GU", "ジーユー"), ("Bershka",),
    ("Pull&Bear",), ("Stradivarius",), ("Lacoste",), ("Fila", "斐乐"), ("MLB",),
    # beauty and skincare
    ("Charlotte Tilbury", "夏洛特"), ("Rare Beauty",), ("Fenty Beauty", "fenty"), ("Glossier",),
    ("Drunk Elephant",), ("The Ordinary",), ("CeraVe", "适乐肤", "세라비"), ("La Roche-Posay", "理肤泉"),
    ("Clinique", "倩碧"), ("Lancome", "lancôme", "兰蔻", "랑콤", "ランコム"), ("Shiseido", "资生堂", "시세이도", "資生堂"),
    ("Clarins", "娇韵诗"), ("Kiehl's", "kiehls", "科颜氏"), ("Sulwhasoo", "雪花秀", "설화수"), ("Whoo", "더후"),
    ("Laneige", "兰芝", "라네즈"), ("Innisfree", "悦诗风吟", "이니스프리"), ("Cosrx",), ("Tatcha",),
    ("Sephora", "丝芙兰", "세포라"), ("NARS",), ("Benefit Cosmetics", "贝玲妃"), ("Too Faced",), ("Urban Decay",),
    ("Huda Beauty",), ("Anastasia Beverly Hills",), ("Bobbi Brown", "芭比波朗"), ("YSL Beauty", "ysl", "圣罗兰", "杨树林"),
    ("Armani Beauty", "阿玛尼"), ("Tom Ford", "汤姆福特"), ("Guerlain", "娇兰"), ("Sisley", "希思黎"),
    ("Helena Rubinstein", "赫莲娜"), ("Clé de Peau", "cle de peau", "cpb", "肌肤之钥"), ("Olay", "玉兰油"),
    ("L'Oreal", "loreal", "l'oréal", "欧莱雅"), ("Maybelline", "美宝莲"), ("Perfect Diary", "完美日记"),
    ("Florasis", "花西子"), ("Proya", "珀莱雅"), ("Winona", "薇诺娜"), ("Dr. Jart", "dr jart"),
    ("Summer Fridays",), ("Laura Mercier",), ("Hourglass Cosmetics",), ("Pat McGrath",), 
    ("Jo Malone", "祖玛珑"), ("Diptyque", "蒂普提克"), ("Le Labo",), ("Byredo",), ("Aesop", "伊索"),
    ("Bath & Body Works", "bath and body works"), ("Yankee Candle", "扬基"),
    ("Olaplex",), ("Moroccanoil",), ("GHD",), ("Shark FlexStyle", "鲨客"),
    ("Revlon", "露华浓"), ("Laifen", "徕芬"), ("Panasonic", "松下", "파나소닉", "パナソニック"),
    # tech and appliances
    ("Samsung", "三星", "삼성", "サムスン"), ("Xiaomi", "小米手机", "小米耳机", "샤오미"), ("Huawei", "华为", "화웨이"),
    ("Beats by Dre",), ("JBL",), ("Sennheiser", "森海塞尔"), ("Anker", "安克"), ("Soundcore",),
    ("Jabra",), ("Marshall", "马歇尔"), ("Bang & Olufsen",), ("Garmin", "佳明"),
    ("Fitbit",), ("GoPro",), ("DJI", "大疆"), ("Nintendo", "任天堂"), ("Logitech", "罗技"),
    ("KitchenAid", "凯膳怡"), ("Ninja Creami", "ninja blender"), ("Breville", "铂富"), ("Nespresso", "奈斯派索"),
    ("De'Longhi", "delonghi", "德龙"), ("Smeg", "斯麦格"), ("Thermomix", "美善品"), ("Instant Pot",),
    ("Cuisinart",), ("Bamix",), ("Joyoung", "九阳"), ("Midea", "美的电器"), ("Bear Electric", "小熊电器"),
    ("Roborock", "石头扫地机"), ("iRobot", "roomba"), ("Ecovacs", "科沃斯"), ("Dreame", "追觅"),
    ("Oclean", "欧可林"), ("Usmile", "笑容加"), ("Waterpulse",), ("Braun", "博朗"),
    ("Foreo", "斐珞尔"), ("NuFace",), ("Theragun", "therabody"),
    # home and drinkware
    ("Owala",), ("Hydro Flask", "hydroflask"), ("Contigo",), ("膳魔师", "thermos flask"), ("Zojirushi", "象印"),
    ("Tiger Corporation", "虎牌"), ("Simple Modern",), ("Corkcicle",), ("Klean Kanteen",),
    ("Lock&Lock", "乐扣乐扣"), ("Staub", "珐宝"), ("Zwilling", "双立人"), ("WMF",), ("Fissler", "菲仕乐"),
    ("Lodge Cast Iron",), ("Our Place Always Pan", "always pan"), ("HexClad",), ("All-Clad", "all clad"),
    ("Pottery Barn",), ("West Elm",), ("Crate & Barrel",), ("IKEA", "宜家", "이케아", "イケア"),
    ("Miniso", "名创优品", "名創優品", "미니소", "メイソウ"), ("Nitori", "宜得利", "ニトリ"), ("Daiso", "大创", "다이소", "ダイソー"),
    ("Brooklinen",), ("Tempur", "泰普尔"), ("Casper",),
    # food, groceries and retailers
    ("Trader Joe's", "trader joes", "乔氏超市"), ("Whole Foods",), ("Aldi", "奥乐齐"),
    ("Walmart", "沃尔玛", "great value"), ("Hema", "盒马"), ("Three Squirrels", "三只松鼠"), ("Bestore", "良品铺子"),
    ("Nongfu Spring", "农夫山泉"), ("Nestle", "nestlé", "雀巢"), ("Ferrero", "费列罗"), ("Godiva", "歌帝梵"),
    ("Lindt", "瑞士莲"), ("Oreo", "奥利奥"), ("Haagen-Dazs", "häagen-dazs", "哈根达斯"), ("Starbucks", "星巴克"),
    ("Luckin", "瑞幸"), ("Heytea", "喜茶"), ("Blue Diamond",), ("Wonderful Pistachios",),
    ("Charmin",), ("Bounty",), ("Kleenex", "舒洁"), ("Vinda", "维达"), ("Mind Act Upon Mind", "心相印"),
    ("Tesco",), ("Marks & Spencer", "玛莎"),
    ("Lego", "乐高", "레고", "レゴ"), ("Pop Mart", "泡泡玛特", "labubu"), ("Jellycat",),
)
