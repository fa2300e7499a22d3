"""Category names in Chinese and English, and what a user's category filter means.

A catalog names a product's category by an id ("leggings", "electric-toothbrush"). Users
see it, and may type it, by its name in their language ("瑜伽裤", "Leggings", "yoga pants").
``NAMES`` holds the names of the categories such catalogs use; an id missing there is shown
as its words ("hair-dryer" -> "Hair dryer"), marked as untranslated on the Chinese page.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from search.texts import is_zh

#: id -> (Chinese name, English name, other names users type in either language)
NAMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "electric-toothbrush": ("电动牙刷", "Electric toothbrushes", ("toothbrush", "牙刷", "声波牙刷")),
    "water-flosser": ("冲牙器", "Water flossers", ("flosser", "水牙线", "洗牙器")),
    "earbuds": ("蓝牙耳机", "Earbuds", ("headphones", "earphones", "耳机", "无线耳机")),
    "headphones": ("头戴耳机", "Headphones", ("头戴式耳机",)),
    "hair-dryer": ("吹风机", "Hair dryers", ("hairdryer", "电吹风")),
    "hair-styler": ("美发造型器", "Hair stylers", ("卷发棒", "直发器")),
    "blender": ("破壁机", "Blenders", ("料理机", "榨汁机")),
    "leggings": ("瑜伽裤", "Leggings", ("yoga pants", "打底裤", "紧身裤")),
    "shirt": ("衬衫", "Shirts", ("t-shirt", "tee", "t恤")),
    "jacket": ("户外外套", "Jackets", ("coat", "外套", "冲锋衣", "羽绒服")),
    "shoes": ("鞋", "Shoes", ("sneakers", "运动鞋")),
    "bag": ("包", "Bags", ("handbag", "backpack", "手提包", "背包")),
    "cookware": ("锅具", "Cookware", ("pot", "pan", "锅")),
    "tumbler": ("保温杯", "Tumblers", ("cup", "bottle", "杯子", "水杯")),
    "skincare": ("护肤品", "Skincare", ("skin care", "护肤")),
    "lipstick": ("口红", "Lipsticks", ("lip", "唇膏", "唇釉")),
    "makeup": ("彩妆", "Makeup", ("化妆品",)),
    "fragrance": ("香水", "Fragrances", ("perfume",)),
    "food": ("食品", "Food", ("snacks", "零食")),
    "household": ("家庭日用", "Household", ("日用品", "纸巾")),
    "furniture": ("家具", "Furniture", ()),
    "lighting": ("灯具", "Lighting", ("lamp", "灯")),
    "toys": ("玩具", "Toys", ("toy",)),
    "watch": ("手表", "Watches", ("腕表",)),
    "sunglasses": ("太阳镜", "Sunglasses", ("墨镜",)),
    "phone-accessories": ("手机配件", "Phone accessories", ("phone case", "charger", "手机壳", "充电器")),
}


def _key(text: str) -> str:
    """A name as compared: NFKC, lower case, without spaces, hyphens or a plural s."""
    s = re.sub(r"[\s\-_]+", "", unicodedata.normalize("NFKC", text).lower())
    return s[:-1] if len(s) > 3 and s.endswith("s") and s.isascii() else s


@dataclass(frozen=True)
class CategoryName:
    id: str
    zh: str
    en: str
    translated: bool            # False: not in ``NAMES``, both names are its id's words

    def name(self, lang: str) -> str:
        return self.zh if is_zh(lang) else self.en


def name_of(category: str) -> CategoryName:
    known = NAMES.get(category)
    if known:
        return CategoryName(category, known[0], known[1], True)
    words = re.sub(r"[-_]+", " ", category).strip()
    words = words[:1].upper() + words[1:]
    return CategoryName(category, words, words, False)


def resolve(text: str, present: Iterable[str]) -> str | None:
    """The id among ``present`` (the catalog's categories) that ``text`` names by its id,
    its Chinese or English name or another name in ``NAMES``; None when none."""
    want = _key(text)
    if not want:
        return None
    present = list(present)
    for names in (lambda c: (c, *NAMES.get(c, ("", "", ()))[:2]), lambda c: NAMES.get(c, ("", "", ()))[2]):
        for cat in present:      # its id and own names first, then other names
            if want in {_key(x) for x in names(cat) if x}:
                return cat
    return None
