"""Product codes (model numbers), recognised in text and spelled one way (pure).

A code identifies one product exactly: HX9911, WF-1000XM5, A3500, KN95, DSC-W120. Shops
spell the same code many ways ("WF-1000XM5", "wf 1000xm5", "WF1000XM5", full-width
"ＷＦ－１０００ＸＭ５"); ``codes`` gives each the one spelling ``wf1000xm5``: the text's
normalisation (``search.analysis.normalise``: NFKC, lowercase), then the parts of the
code joined without their hyphens.

What is a code: letters and at least two digits, three to 24 ASCII characters, made of one
word or of words joined by hyphens ("dsc-w120"), or a letter prefix of one to three
letters spaced from its number ("wf 1000xm5", "hx 9911"). A trailing colour or variant
after a hyphen is dropped too ("ABC-123-BLK" also gives "abc123"). What is not: quantities
and sizes ("500ml", "3pcs", "128gb", "1080p", "x2", "10x20cm"), ordinals ("2nd"), plain
numbers and years ("2024": no letter), specs with one digit ("mp3", "usb3", "i7": shared
by many products, they identify none), and Chinese with digits ("3件", "2024年": Chinese is
never part of a code).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from search.analysis import NONCJK_WORD, normalise

# Units and counts a number can be a quantity of: "500ml", "3pcs", "128gb", "1080p", "24k".
_UNITS = ("ml|l|cl|dl|g|kg|mg|ug|oz|lb|lbs|ct|cm|mm|m|km|in|inch|inches|ft|yd|gb|tb|mb|kb|gbps|mbps|mah|"
          "w|kw|v|kv|a|ma|hz|khz|mhz|ghz|db|mp|px|dpi|ppi|fps|rpm|psi|pcs|pc|pk|pack|packs|pair|pairs|set|"
          "sets|sheets|count|x|p|k|s|ms|h|hr|hrs|min|mins|d|day|days|yr|yrs|st|nd|rd|th|gen|bit|core|cores|ch|port|ports")
_NUMBER = r"\d+(?:[.,]\d+)?"
_QUANTITY = re.compile(rf"^(?:{_NUMBER}(?:{_UNITS})|x{_NUMBER}|{_NUMBER}(?:x{_NUMBER})+(?:{_UNITS})?)$")
_LETTER = re.compile(r"[a-z]")
_ANY_DIGIT = re.compile(r"\d")                   # any script's digits: full-width ones too
# Non-Chinese words with the hyphens between them ("wf-1000xm5"): the pieces of text a
# code can be; any other separator ("/", ".", ",", space, Chinese) ends one.
_HYPHENATED = re.compile(rf"{NONCJK_WORD.pattern}(?:-{NONCJK_WORD.pattern})*")
_PREFIX = re.compile(r"[a-z]{1,3}")              # "wf", "hx": a series prefix spaced from its number
_NUMBERED = re.compile(r"\d[a-z0-9-]*")           # "1000xm5", "9911"
_YEAR = re.compile(r"(?:19|20)\d\d")
_UNIT = re.compile(rf"(?:{_UNITS})")
_CJK_OR_SIGN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff%+&*/]")
# Short words that are not a series prefix ("for 2000", "pro 12", "set 100").
_NOT_PREFIX = frozenset("a an the for and of in to by on or at is no up set pro max new per pk x".split())
MIN_LENGTH, MAX_LENGTH, MIN_DIGITS = 3, 24, 2
VARIANT_LETTERS = 2          # "wh1000xm3b" is the "wh1000xm3" in one colour


def is_code(word: str) -> bool:
    """``word`` (normalised, hyphens removed) is a product code: see the module docstring."""
    if not MIN_LENGTH <= len(word) <= MAX_LENGTH or not word.isascii() or not word.isalnum():
        return False
    if not _LETTER.search(word) or sum(ch.isdigit() for ch in word) < MIN_DIGITS:
        return False
    return not _QUANTITY.match(word)


@lru_cache(maxsize=1 << 15)
def codes(text: str | None) -> tuple[str, ...]:
    """The product codes in ``text``, each once, in order of appearance, in their one spelling."""
    if not text or not _ANY_DIGIT.search(text):      # most texts: no code possible, nothing to normalise
        return ()
    out: dict[str, None] = {}
    norm = normalise(text)
    found = list(_HYPHENATED.finditer(norm))
    words = [m.group() for m in found]
    prefixed = -1                # the word joined to the prefix before it: not a code alone
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) and _spaced(norm, found[i], found[i + 1]) else ""
        if i + 2 < len(words) and _UNIT.fullmatch(words[i + 2]):
            nxt = ""             # "oil 12 pcs": a count of something, not a series number
        if (_PREFIX.fullmatch(word) and word not in _NOT_PREFIX and _NUMBERED.fullmatch(nxt)
                and not _YEAR.fullmatch(nxt) and not _QUANTITY.match(nxt.replace("-", ""))
                and is_code(word + nxt.replace("-", ""))):
            out[word + nxt.replace("-", "")] = None
            prefixed = i + 1
            continue
        if i == prefixed:
            continue
        pieces = word.split("-")
        for form in ("".join(pieces), "".join(pieces[:-1]) if len(pieces) > 1 and pieces[-1].isalpha() else ""):
            if form and is_code(form):
                out[form] = None
    return tuple(out)


def _spaced(text: str, prefix: re.Match[str], number: re.Match[str]) -> bool:
    """A prefix and a number form one code only when spaces alone part them and neither
    touches Chinese or a sign: "WF 1000XM5", not "T恤 100", "jar, 304", "PC 40小时",
    "fit 100%"."""
    before = text[prefix.start() - 1] if prefix.start() else " "
    after = text[number.end()] if number.end() < len(text) else " "
    return (not text[prefix.end():number.start()].strip() and not _CJK_OR_SIGN.match(before)
            and not _CJK_OR_SIGN.match(after))


def record_codes(titles: Mapping[str, str], attributes: Mapping[str, object]) -> frozenset[str]:
    """Every code of a listing: in its titles and its attribute values."""
    texts = [*titles.values(), *(v for v in attributes.values() if isinstance(v, str))]
    return frozenset(c for t in texts for c in codes(t))


def with_codes(tokens: list[str], text: str) -> list[str]:
    """A query's tokens and the codes of its text that are not among them ("wf 1000xm5"
    is analysed as "wf", "1000xm5": its code "wf1000xm5" is looked up too)."""
    have = set(tokens)
    return tokens + [c for c in codes(text) if c not in have]


def same_code(a: str, b: str) -> bool:
    """One code, or one model in a colour or variant: the longer is the shorter plus at
    most ``VARIANT_LETTERS`` letters ("wh1000xm3b" ~ "wh1000xm3"; "wf1000xm4" is not
    "wf1000xm5")."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    tail = long_[len(short):]
    return (len(short) >= 4 and long_.startswith(short) and len(tail) <= VARIANT_LETTERS
            and tail.isalpha() and short[-1].isdigit())


def match(query: Iterable[str], listing: Iterable[str]) -> int:
    """+1: the listing carries one of the query's codes; -1: it carries codes and none is
    the query's (another model); 0: the query has no code or the listing none."""
    q, lst = tuple(query), tuple(listing)
    if not q or not lst:
        return 0
    return 1 if any(same_code(a, b) for a in q for b in lst) else -1


# Attributes that name the maker of a listing (a catalog's own words for it).
BRAND_ATTRIBUTES = ("brand", "manufacturer", "maker", "品牌", "厂商", "制造商")


def brand_of(attributes: Mapping[str, str]) -> str | None:
    """The maker a listing's attributes name, in one spelling (letters and digits of its
    normalised name), or None: which listings the code rule compares."""
    for key in BRAND_ATTRIBUTES:
        value = attributes.get(key)
        name = "".join(ch for ch in normalise(value) if ch.isalnum()) if isinstance(value, str) else ""
        if name:
            return name
    return None
