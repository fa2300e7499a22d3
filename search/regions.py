"""Where factories are: region names in Chinese and English, and what a user's region
filter means.

A catalog region is a path from the province down, its parts in pinyin separated by spaces
("Guangdong Shenzhen Bao'an": province, city, district or industrial belt), or given per
language (``{"zh": "广东深圳宝安", "en": "Guangdong Shenzhen Bao'an"}``, see
``search.texts``). Its English form is the one the index filters on.

A product is indexed under every prefix of its region ("Guangdong", "Guangdong Shenzhen",
"Guangdong Shenzhen Bao'an"), so ``region=Guangdong`` finds the whole province. A user may
type a region as a path, its prefix, or one of its parts alone ("义乌", "yiwu", "浙江省",
"Shenzhen"); ``resolve`` turns that into the indexed prefixes it names, given the regions
the catalog has.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from search.texts import LocalText, Shown, canonical, is_zh, show

#: pinyin part (lower case, no punctuation) -> its Chinese name. Provinces, then the cities,
#: districts and industrial belts where consumer goods are made. A part missing here is
#: shown in pinyin on the Chinese page (and marked as not translated there).
ZH: dict[str, str] = {
    # provinces, municipalities, autonomous regions
    "anhui": "安徽", "beijing": "北京", "chongqing": "重庆", "fujian": "福建", "gansu": "甘肃",
    "guangdong": "广东", "guangxi": "广西", "guizhou": "贵州", "hainan": "海南", "hebei": "河北",
    "heilongjiang": "黑龙江", "henan": "河南", "hubei": "湖北", "hunan": "湖南", "jiangsu": "江苏",
    "jiangxi": "江西", "jilin": "吉林", "liaoning": "辽宁", "neimenggu": "内蒙古", "innermongolia": "内蒙古",
    "ningxia": "宁夏", "qinghai": "青海", "shaanxi": "陕西", "shandong": "山东", "shanghai": "上海",
    "shanxi": "山西", "sichuan": "四川", "tianjin": "天津", "xinjiang": "新疆", "xizang": "西藏", "tibet": "西藏",
    "yunnan": "云南", "zhejiang": "浙江", "hongkong": "香港", "macau": "澳门", "taiwan": "台湾",
    # Guangdong
    "shenzhen": "深圳", "baoan": "宝安", "longgang": "龙岗", "longhua": "龙华", "guangming": "光明",
    "dongguan": "东莞", "changan": "长安", "humen": "虎门", "dalang": "大朗", "huizhou": "惠州",
    "zhongkai": "仲恺", "foshan": "佛山", "shunde": "顺德", "nanhai": "南海", "zhongshan": "中山",
    "jiangmen": "江门", "guangzhou": "广州", "baiyun": "白云", "huadu": "花都", "haizhu": "海珠",
    "panyu": "番禺", "zengcheng": "增城", "xintang": "新塘", "chaozhou": "潮州", "jieyang": "揭阳",
    "shantou": "汕头", "chenghai": "澄海", "zhuhai": "珠海", "zhaoqing": "肇庆",
    # Zhejiang
    "yiwu": "义乌", "ningbo": "宁波", "cixi": "慈溪", "yinzhou": "鄞州", "yuyao": "余姚",
    "yongkang": "永康", "jinhua": "金华", "wuyi": "武义", "shaoxing": "绍兴", "keqiao": "柯桥",
    "zhuji": "诸暨", "jiaxing": "嘉兴", "pinghu": "平湖", "haining": "海宁", "tongxiang": "桐乡",
    "hangzhou": "杭州", "linan": "临安", "wenzhou": "温州", "taizhou": "台州", "huzhou": "湖州",
    "anji": "安吉", "lishui": "丽水",
    # Fujian
    "quanzhou": "泉州", "jinjiang": "晋江", "shishi": "石狮", "xiamen": "厦门", "putian": "莆田",
    "fuzhou": "福州", "zhangzhou": "漳州",
    # Jiangsu, Shanghai
    "nantong": "南通", "suzhou": "苏州", "changshu": "常熟", "kunshan": "昆山", "wujiang": "吴江",
    "yangzhou": "扬州", "hangji": "杭集", "wuxi": "无锡", "changzhou": "常州", "danyang": "丹阳",
    "nanjing": "南京", "xuzhou": "徐州", "fengxian": "奉贤", "songjiang": "松江", "jiading": "嘉定",
    # north and inland
    "hefei": "合肥", "linyi": "临沂", "qingdao": "青岛", "yantai": "烟台", "weifang": "潍坊",
    "baoding": "保定", "cangzhou": "沧州", "botou": "泊头", "baigou": "白沟", "shijiazhuang": "石家庄",
    "zhengzhou": "郑州", "wuhan": "武汉", "changsha": "长沙", "chengdu": "成都",
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_EN: dict[str, str] = {}
for _k, _v in ZH.items():
    _EN.setdefault(_v, _k)

# Suffixes Chinese writes after a place name (浙江省, 义乌市, 宝安区, 武义县, 杭集镇).
_ZH_SUFFIX = re.compile(r"(?:省|市|区|县|镇|自治区|特别行政区)$")


def _key(part: str) -> str:
    """A region part as compared: NFKC, lower case, letters and CJK only ("Bao'an" -> "baoan")."""
    s = unicodedata.normalize("NFKC", part).lower()
    return "".join(ch for ch in s if ch.isalnum())


def parts(region: str) -> list[str]:
    """The parts of an English region path ("Guangdong Shenzhen Bao'an" -> 3 parts)."""
    return region.split()


def prefixes(region: str | None) -> list[str]:
    """Every prefix of a region path, the province first: what a product is indexed under."""
    ps = parts(region or "")
    return [" ".join(ps[:i]) for i in range(1, len(ps) + 1)]


def zh_part(part: str) -> str | None:
    return ZH.get(_key(part))


def zh_name(region: str) -> tuple[str, bool]:
    """The Chinese name of an English region path, and whether every part had one (a part
    without one stays in pinyin)."""
    names = [zh_part(p) for p in parts(region)]
    return "".join(n or p for n, p in zip(names, parts(region))), all(names)


def _zh_keys(text: str) -> list[str]:
    """A Chinese query as the pinyin keys of the parts it names ("浙江省义乌市" -> zhejiang,
    yiwu), or [] when a part is unknown."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    out: list[str] = []
    while text:
        for end in range(len(text), 0, -1):
            head = _ZH_SUFFIX.sub("", text[:end]) or text[:end]
            if head in _EN:
                out.append(_EN[head])
                text = text[end:]
                break
        else:
            return []
    return out


def path(value: LocalText | None) -> str | None:
    """A catalog region as the index holds it: an English path ("Zhejiang Yiwu"). A region
    the catalog gives only in Chinese ("浙江义乌", "浙江省义乌市") is turned into pinyin
    part by part, so ``region=浙江`` and ``region=Zhejiang`` find it like the others; one
    with a part ``ZH`` does not know stays as written."""
    text = canonical(value)
    if not text or not _CJK.search(text):
        return text
    keys = _zh_keys(text)
    return " ".join(k.capitalize() for k in keys) if keys else text


def query_keys(text: str) -> list[str]:
    """A user's region as a list of part keys, in either language."""
    if _CJK.search(text):
        return _zh_keys(text)
    return [k for k in (_key(p) for p in re.split(r"[\s,/·-]+", text)) if k]


def resolve(text: str, known: Iterable[str]) -> list[str]:
    """The indexed region prefixes ``text`` names among the ``known`` region paths (sorted):
    a prefix whose parts are ``text``'s parts ("Zhejiang", "zhejiang yiwu"), or whose last
    parts are ("Yiwu", "义乌", "Shenzhen Bao'an"). [] when it names none."""
    keys = query_keys(text)
    if not keys:
        return []
    found: set[str] = set()
    for region in known:
        ps = parts(region)
        ks = [_key(p) for p in ps]
        for end in range(len(keys), len(ps) + 1):
            if ks[end - len(keys):end] == keys:
                found.add(" ".join(ps[:end]))
                break
    return sorted(found)


def show_region(value: LocalText | None, lang: str) -> Shown | None:
    """A factory's region for a reader of ``lang``: the catalog's text in that language, or
    for Chinese an English path named part by part from ``ZH``."""
    shown = show(value, lang)
    if shown is None or not shown.fallback or not is_zh(lang) or shown.lang != "en":
        return shown
    name, complete = zh_name(shown.text)
    return Shown(name, "zh", not complete) if complete else shown
