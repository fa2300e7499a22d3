"""Catalog texts shown to users, in one language or several.

A catalog text field that users read (an endorsement's evidence and verifier, a factory's
returns policy, region and certification names) is either one string or a map from
language to string (``{"zh": "7天无理由退货", "en": "7-day no-reason returns"}``). The page
and the API show it in the language asked for; when the catalog has no text in that
language they show another one and say so (``Shown.fallback``), rather than hide it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Union

LocalText = Union[str, Mapping[str, str]]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def base_lang(lang: str) -> str:
    """The language of a language code, as the texts and words here are keyed: "zh-TW",
    "zh_Hans", "ZH" -> "zh"."""
    return lang.replace("_", "-").split("-")[0].strip().lower()


def is_zh(lang: str) -> bool:
    return base_lang(lang) == "zh"


def lang_of(text: str) -> str:
    """The language a single-language catalog string is in, as far as the page cares:
    Chinese when it has Chinese characters, else English."""
    return "zh" if _CJK.search(text) else "en"


@dataclass(frozen=True)
class Shown:
    text: str
    lang: str                # the language of ``text``
    fallback: bool           # not the language asked for: the catalog has none in it


def show(value: LocalText | None, lang: str) -> Shown | None:
    """``value`` in ``lang`` (or its base language), else English, else Chinese, else any;
    None when there is no text."""
    if value is None:
        return None
    base = base_lang(lang)
    if isinstance(value, str):
        if not value:
            return None
        got = lang_of(value)
        return Shown(value, got, got != base)
    for key in (lang, base, "en", "zh", *value):
        text = value.get(key)
        if text:
            got = base_lang(key)
            return Shown(text, got, got != base)
    return None


def present(value: LocalText | None) -> bool:
    """Whether there is any text (an evidence of only spaces is no evidence)."""
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value) and any(isinstance(v, str) and v.strip() for v in value.values())


def shown_text(value: LocalText | None, lang: str) -> str | None:
    s = show(value, lang)
    return s.text if s else None


def canonical(value: LocalText | None) -> str | None:
    """The text filters and the index use: the English one if given, else the only one."""
    if value is None or isinstance(value, str):
        return value or None
    return value.get("en") or next((v for v in value.values() if v), None)
