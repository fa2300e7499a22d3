"""The share card: brand product vs. dupe side by side, both prices, the price ratio and
the label with its evidence date, as a 1200x630 PNG (the size social sites use for link
previews), and the way back: the product page's address as text and as a QR code (drawn
from ``segno``'s module matrix), so a card seen in a feed or a chat leads to the listing.

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

import segno
from PIL import Image, ImageDraw, ImageFont, ImageOps

from search.prices import ratio_text
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
           "verified": "verified by {who}, {when}", "until": "valid until {when}"},
    "zh": {"same_foundry": "同厂", "equal_quality": "同品质", "similar": "相似款 · 未认证",
           "brand": "品牌", "dupe": "平替", "moq": "{n} 件起订", "best": "{n} 件以上 {price}",
           "verified": "{who} 认证 · {when}", "until": "有效期至 {when}"},
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
    ratio_basis: str = "item"        # "unit": the ratio is per unit of content (search.prices)
    expires_at: str | None = None
    brand_price_note: dict[str, str] | None = None   # language -> "≈ ¥696 (1 USD = 7.1 CNY, 2026-11-01)"
    url: str | None = None           # the product page, absolute: printed and drawn as a QR code


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


QR_BOX = 180                         # the QR code's side on the card, quiet zone included


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code of ``url`` as rows of dark (True) / light modules, quiet zone included
    (4 modules): what the card draws, so a test can compare the two."""
    code = segno.make(url, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=4)]


def _qr(url: str, box: int = QR_BOX) -> Image.Image:
    """The QR code drawn with whole pixels per module (crisp for any phone camera)."""
    rows = qr_matrix(url)
    scale = max(1, box // len(rows))
    im = Image.new("1", (len(rows), len(rows)), 1)
    im.putdata([0 if dark else 1 for row in rows for dark in row])
    return im.resize((len(rows) * scale, len(rows) * scale), Image.Resampling.NEAREST).convert("RGB")


def render(spec: CardSpec, left: Image.Image | None, right: Image.Image | None, *,
           font_path: str | None = None) -> bytes:
    """The card as PNG bytes."""
    path = find_cjk_font(font_path)
    cjk = path is not None
    lang = spec.lang if (cjk and spec.lang in LABEL_TEXT) else "en"
    words = LABEL_TEXT[lang]
    f_tiny, f_small, f_mid, f_big, f_huge = (_font(path, s) for s in (18, 24, 30, 44, 52))

    card = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(card)
    colour = LABEL_COLOURS.get(spec.label, LABEL_COLOURS["similar"])

    box = 300
    panels = ((40, words["brand"], _text(spec.brand_name, lang, cjk), _text(spec.brand_titles, lang, cjk),
               spec.brand_price, left, (75, 85, 99)),
              (640, words["dupe"], _text(spec.factory_names, lang, cjk), _text(spec.dupe_titles, lang, cjk),
               spec.dupe_price, right, colour))
    for x, caption, who, title, price, im, price_colour in panels:
        if x == 40 and spec.brand_price_note:
            note = _text(spec.brand_price_note, lang, cjk)
            for i, line in enumerate(_wrap(d, note, f_tiny, 520 - box - 20, 3)):
                d.text((x + box + 20, 70 + box - 46 + 21 * i), line, font=f_tiny, fill=(107, 114, 128))
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
    text_right = W - 40 - (QR_BOX + 20 if spec.url else 0)
    if spec.label != "similar" and spec.verified_by:
        who = spec.verified_by if cjk else _ascii(spec.verified_by)
        lines = [words["verified"].format(who=who, when=spec.verified_at or "")]
        if spec.expires_at:
            lines.append(words["until"].format(when=spec.expires_at))
        for i, line in enumerate(lines):
            line = _wrap(d, line, f_small, text_right - (60 + bw), 1)[0]
            d.text((60 + bw, y0 + 30 + 28 * i), line, font=f_small, fill=(55, 65, 81))
    ratio = ratio_text(spec.ratio, lang, spec.ratio_basis)
    if ratio:
        d.text((40, y0 + 100), _wrap(d, ratio, f_huge, text_right - 40, 1)[0], font=f_huge, fill=colour)
    if spec.url:
        qr = _qr(spec.url)
        card.paste(qr, (W - 40 - qr.width, y0 + (H - y0 - qr.height) // 2))
        # The address as text too (typed from a printout); cut in the middle if too long.
        d.text((40, H - 36), _shorten(d, spec.url, f_tiny, text_right - 40), font=f_tiny, fill=(75, 85, 99))
    else:
        d.text((W - 230, H - 40), "dupe search", font=f_small, fill=(156, 163, 175))

    out = io.BytesIO()
    card.save(out, "PNG", optimize=True)
    return out.getvalue()


def _shorten(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """``text``, or if it does not fit ``width``, with its middle replaced by "…"."""
    if draw.textlength(text, font=font) <= width:
        return text
    keep = len(text)
    while keep > 8:
        keep -= 2
        cut = text[:keep // 2] + "…" + text[len(text) - keep // 2:]
        if draw.textlength(cut, font=font) <= width:
            return cut
    return text[:8] + "…"


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
