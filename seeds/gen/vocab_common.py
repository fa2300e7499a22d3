"""Vocabulary shared by every category: colours (with picture RGB), audiences, marketing
words, and the ``Category``/``Kind`` records the per-category modules fill in."""
from __future__ import annotations

from dataclasses import dataclass, field

EXTRA_LANGS = ("vi", "ko", "ru")

# key: (zh, en, vi, ko, ru, rgb)
PALETTE: dict[str, tuple[str, str, str, str, str, tuple[int, int, int]]] = {
    "black": ("黑色", "black", "màu đen", "블랙", "чёрный", (38, 38, 42)),
    "white": ("白色", "white", "màu trắng", "화이트", "белый", (236, 236, 232)),
    "grey": ("灰色", "grey", "màu xám", "그레이", "серый", (140, 142, 148)),
    "navy": ("藏青色", "navy", "xanh navy", "네이비", "тёмно-синий", (36, 52, 96)),
    "blue": ("蓝色", "blue", "màu xanh dương", "블루", "синий", (48, 104, 190)),
    "sky": ("天蓝色", "sky blue", "xanh da trời", "스카이블루", "голубой", (132, 184, 226)),
    "red": ("红色", "red", "màu đỏ", "레드", "красный", (200, 40, 44)),
    "wine": ("酒红色", "burgundy", "màu đỏ rượu", "버건디", "бордовый", (118, 28, 48)),
    "pink": ("粉色", "pink", "màu hồng", "핑크", "розовый", (236, 160, 180)),
    "rose": ("玫瑰粉", "rose", "hồng đất", "로즈", "розово-пудровый", (206, 120, 136)),
    "fuchsia": ("紫红色", "fuchsia", "màu hồng tím", "푸시아", "фуксия", (170, 40, 120)),
    "purple": ("紫色", "purple", "màu tím", "퍼플", "фиолетовый", (120, 72, 160)),
    "lavender": ("薰衣草紫", "lavender", "tím oải hương", "라벤더", "лавандовый", (184, 164, 214)),
    "beige": ("米色", "beige", "màu be", "베이지", "бежевый", (220, 200, 168)),
    "cream": ("奶油色", "cream", "màu kem", "크림", "кремовый", (244, 230, 196)),
    "khaki": ("卡其色", "khaki", "màu kaki", "카키", "хаки", (176, 156, 108)),
    "brown": ("咖啡色", "brown", "màu nâu", "브라운", "коричневый", (110, 72, 46)),
    "amber": ("琥珀棕", "amber brown", "nâu hổ phách", "앰버", "янтарный", (150, 84, 30)),
    "olive": ("橄榄绿", "olive", "xanh ô liu", "올리브", "оливковый", (110, 116, 60)),
    "sage": ("鼠尾草绿", "sage green", "xanh xô thơm", "세이지", "шалфейный", (150, 170, 140)),
    "green": ("墨绿色", "dark green", "xanh rêu", "다크그린", "тёмно-зелёный", (34, 92, 62)),
    "mint": ("薄荷绿", "mint", "xanh bạc hà", "민트", "мятный", (160, 220, 196)),
    "seafoam": ("海沫绿", "seafoam", "xanh ngọc nhạt", "씨폼", "цвет морской пены", (176, 212, 206)),
    "teal": ("孔雀蓝", "teal", "xanh mòng két", "틸", "бирюзовый", (24, 120, 130)),
    "yellow": ("黄色", "yellow", "màu vàng", "옐로우", "жёлтый", (236, 196, 40)),
    "orange": ("橙色", "orange", "màu cam", "오렌지", "оранжевый", (236, 120, 40)),
    "flame": ("火焰橙", "flame orange", "cam lửa", "플레임 오렌지", "огненно-оранжевый", (222, 88, 30)),
    "coral": ("珊瑚色", "coral", "màu san hô", "코랄", "коралловый", (240, 128, 112)),
    "silver": ("银色", "silver", "màu bạc", "실버", "серебристый", (192, 194, 200)),
    "gold": ("香槟金", "champagne gold", "vàng champagne", "샴페인 골드", "шампань", (210, 180, 120)),
}

# (zh, en, vi, ko, ru)
AUDIENCES = {
    "women": ("女款", "women's", "nữ", "여성용", "женские"),
    "men": ("男款", "men's", "nam", "남성용", "мужские"),
    "unisex": ("男女同款", "unisex", "unisex", "남녀공용", "унисекс"),
    "kids": ("儿童", "kids'", "trẻ em", "아동용", "детские"),
    "family": ("家庭装", "family pack", "gói gia đình", "패밀리팩", "семейная упаковка"),
}

# (zh, en) words sellers put in front of titles; none is a trademark.
MARKETING = [("2026新款", "2026 new"), ("爆款", "best seller"), ("工厂直销", "factory direct"),
             ("跨境专供", "cross-border"), ("现货速发", "in stock, fast dispatch"), ("批发", "wholesale"),
             ("源头工厂", "source factory"), ("一件代发", "dropshipping"), ("品质款", "quality pick"),
             ("高端", "premium")]

# Extra-language wording for titles of the ~10% multilingual listings.
EXTRA_WORDS = {
    "vi": {"wholesale": "giá sỉ", "factory": "hàng xưởng"},
    "ko": {"wholesale": "도매", "factory": "공장 직판"},
    "ru": {"wholesale": "оптом", "factory": "с фабрики"},
}


@dataclass(frozen=True)
class Kind:
    """One kind of product in a category (a noun and its look)."""
    key: str
    zh: tuple[str, ...]                     # noun synonyms, parallel with en
    en: tuple[str, ...]
    vi: str
    ko: str
    ru: str
    shape: str                              # silhouette drawn by images.py
    variant: str = ""
    price: tuple[float, float] = (20.0, 80.0)   # typical wholesale price range, CNY
    features: tuple[tuple[str, str], ...] = ()  # extra (zh, en) features for this kind
    specs: tuple[tuple[str, str], ...] = ()     # (zh, en) size/spec words for titles
    attrs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    weight: float = 1.0
    materials: tuple[tuple[str, str, str], ...] = ()   # overrides the category's materials


@dataclass(frozen=True)
class Category:
    key: str
    zh: str
    en: str
    kinds: tuple[Kind, ...]
    features: tuple[tuple[str, str], ...]
    materials: tuple[tuple[str, str, str], ...]      # (zh, en, attribute value)
    colours: tuple[str, ...]
    audiences: tuple[str, ...]
    attrs: dict[str, tuple[str, ...]]
    moq: tuple[int, ...]
    tiers: tuple[int, ...]                 # candidate min_qty steps above the MOQ
    certs: tuple[str, ...]
    factory_types: tuple[tuple[str, str], ...]       # (zh, en) company-name suffixes
    unit: tuple[str, str] = ("件", "pc")
    colour_in_title: float = 0.5

    def kind(self, key: str) -> Kind:
        for k in self.kinds:
            if k.key == key:
                return k
        raise KeyError(f"{self.key}: no kind {key!r}")
