"""The share card: brand product vs. dupe side by side, both prices, the price ratio and
the label, as a 1200x630 PNG (the size social sites use for link previews).

Chinese text needs a CJK font: ``CARD_FONT`` if configured, else the first one found
among Debian's (fonts-wqy-microhei, fonts-noto-cjk, ...). Without one, the card falls
back to Pillow's built-in font and English text (titles in English, or their ASCII
part), so it still renders everywhere.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from search.serialize import pick_title

W, H = 1200, 630
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
LABEL_COLOURS = {"same_foundry": (22, 128, 61), "equal_quality": (29, 78, 216), "similar": (100, 100, 110)}
LABEL_TEXT = {
    "en": {"same_foundry": "SAME FOUNDRY", "equal_quality": "EQUAL QUALITY", "similar": "SIMILAR - NOT ENDORSED",
           "brand": "Brand", "dupe": "Dupe", "moq": "MOQ {n}", "best": "{price} from {n} pcs",
           "verified": "verified by {who}, {when}",
           "ratio_about": "about 1/{n} of the brand price", "ratio_pct": "{p}% of the brand price",
           "ratio_more": "{x:.1f}x the brand price"},
    "zh": {"same_foundry": "同厂", "equal_quality": "同品质", "similar": "相似款 · 未认证",
           "brand": "品牌", "dupe": "平替", "moq": "{n} 件起订", "best": "{n} 件以上 {price}",
           "verified": "{who} 认证 · {when}",
           "ratio_about": "约为品牌价的 1/{n}", "ratio_pct": "品牌价的 {p}%",
           "ratio_more": "品牌价的 {x:.1f} 倍"},
}


@dataclass(frozen=True)
class CardSpec:
    brand_name: dict[str, str]
    brand_titles: dict[str, str]
    brand_price: str
    dupe_titles: dict[str, str]
    factory_names: dict[str, str]
    dupe_price: str                  # at the lowest tier (the MOQ), the price the ratio is for
    dupe_best: str | None            # the best tier, e.g. "¥59" (None with one tier)
    best_qty: int | None
    moq: int | None
    ratio: float | None
    label: str
    verified_by: str | None
    verified_at: str | None
    lang: str = "en"


_font_lock = threading.Lock()
_font_cache: dict[tuple[str | None, int], Any] = {}


def find_cjk_font(configured: str | None = None) -> str | None:
    for p in ((configured,) if configured else ()) + CJK_FONTS:
        if p and Path(p).is_file():
            return p
    return None


def _font(path: str | None, size: int) -> Any:
    key = (path, size)
    with _font_lock:
        if key not in _font_cache:
            font = None
            if path:
                try:
                    font = ImageFont.truetype(path, size)
                except OSError:
                    font = None
            _font_cache[key] = font or ImageFont.load_default(size=size)
        return _font_cache[key]


def _ascii(text: str) -> str:
    return " ".join("".join(c if 32 <= ord(c) < 127 else " " for c in text).split())


def _text(titles: dict[str, str], lang: str, cjk: bool) -> str:
    if cjk:
        return pick_title(titles, lang)
    # No CJK glyphs: prefer an English title, else whatever ASCII the title has.
    return _ascii(pick_title(titles, "en"))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """Greedy wrap by words, or by characters for CJK text without spaces."""
    units = text.split(" ") if " " in text else list(text)
    sep = " " if " " in text else ""
    lines: list[str] = []
    cur = ""
    for u in units:
        trial = f"{cur}{sep}{u}" if cur else u
        if draw.textlength(trial, font=font) <= width:
            cur = trial
            continue
        if cur:
            lines.append(cur)
        cur = u
        if len(lines) == max_lines:
            break
    if cur and len(lines) < max_lines:
        lines.append(cur)
    if len(lines) == max_lines and "".join(lines).replace(" ", "") != text.replace(" ", ""):
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _fit(im: Image.Image | None, box: int) -> Image.Image:
    tile = Image.new("RGB", (box, box), (243, 244, 246))
    if im is None:
        d = ImageDraw.Draw(tile)
        d.rectangle((0, 0, box - 1, box - 1), outline=(209, 213, 219), width=3)
        d.line((box * 0.3, box * 0.7, box * 0.45, box * 0.5, box * 0.55, box * 0.6, box * 0.7, box * 0.4),
               fill=(156, 163, 175), width=6)
        return tile
    im = ImageOps.contain(im.convert("RGB"), (box, box), Image.Resampling.LANCZOS)
    tile.paste(im, ((box - im.width) // 2, (box - im.height) // 2))
    return tile


def ratio_words(ratio: float | None, lang: str) -> str:
    words = LABEL_TEXT[lang]
    if not ratio or ratio <= 0:
        return ""
    if ratio >= 1:
        return words["ratio_more"].format(x=ratio)
    if ratio > 0.5:
        return words["ratio_pct"].format(p=round(ratio * 100))
    return words["ratio_about"].format(n=round(1 / ratio))


def render(spec: CardSpec, left: Image.Image | None, right: Image.Image | None, *,
           font_path: str | None = None) -> bytes:
    """The card as PNG bytes."""
    path = find_cjk_font(font_path)
    cjk = path is not None
    lang = spec.lang if (cjk and spec.lang in LABEL_TEXT) else "en"
    words = LABEL_TEXT[lang]
    f_small, f_mid, f_big, f_huge = (_font(path, s) for s in (24, 30, 44, 52))

    card = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(card)
    colour = LABEL_COLOURS.get(spec.label, LABEL_COLOURS["similar"])

    box = 300
    panels = ((40, words["brand"], _text(spec.brand_name, lang, cjk), _text(spec.brand_titles, lang, cjk),
               spec.brand_price, left, (75, 85, 99)),
              (640, words["dupe"], _text(spec.factory_names, lang, cjk), _text(spec.dupe_titles, lang, cjk),
               spec.dupe_price, right, colour))
    for x, caption, who, title, price, im, price_colour in panels:
        d.text((x, 28), f"{caption} · {who}" if who else caption, font=f_small, fill=(75, 85, 99))
        card.paste(_fit(im, box), (x, 70))
        tx = x + box + 20
        y = 80
        for line in _wrap(d, title, f_small, 520 - box - 20, 5):
            d.text((tx, y), line, font=f_small, fill=(17, 24, 39))
            y += 32
        d.text((tx, 70 + box - 96), price, font=f_big, fill=price_colour)
        if x == 640 and spec.moq:
            d.text((tx, 70 + box - 130), words["moq"].format(n=spec.moq), font=f_small, fill=(75, 85, 99))
        if x == 640 and spec.dupe_best and spec.best_qty:
            d.text((tx, 70 + box - 36), words["best"].format(price=spec.dupe_best, n=spec.best_qty), font=f_small,
                   fill=(75, 85, 99))
    d.text((W // 2 - 22, 70 + box // 2 - 30), "vs", font=f_big, fill=(156, 163, 175))

    # The claim, with who verified it: a label is never shown without its evidence.
    y0 = 410
    d.rectangle((0, y0, W, H), fill=(249, 250, 251))
    badge = words.get(spec.label, spec.label)
    bw = int(d.textlength(badge, font=f_mid)) + 40
    d.rounded_rectangle((40, y0 + 30, 40 + bw, y0 + 82), radius=12, fill=colour)
    d.text((60, y0 + 38), badge, font=f_mid, fill=(255, 255, 255))
    if spec.label != "similar" and spec.verified_by:
        who = spec.verified_by if cjk else _ascii(spec.verified_by)
        d.text((60 + bw, y0 + 44), words["verified"].format(who=who, when=spec.verified_at or ""),
               font=f_small, fill=(55, 65, 81))
    ratio = ratio_words(spec.ratio, lang)
    if ratio:
        d.text((40, y0 + 110), ratio, font=f_huge, fill=colour)
    d.text((W - 230, H - 40), "dupe search", font=f_small, fill=(156, 163, 175))

    out = io.BytesIO()
    card.save(out, "PNG", optimize=True)
    return out.getvalue()


class CardCache:
    """A small LRU of rendered cards (a shared card is fetched by every viewer)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            v = self._items.get(key)
            if v is not None:
                self._items.move_to_end(key)
            return v

    def put(self, key: Any, value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
