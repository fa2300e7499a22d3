"""Synthetic product pictures: a category silhouette in the product colour with a pattern,
printed product words and (brand pictures, counterfeits) a logo.

A picture is fully described by a small ``params`` dict, so a same-foundry dupe is drawn
from its brand product's parameters with small changes (logo removed, another background
tint, a crop/shift) instead of re-loading and editing a file.
"""
from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = 256
S = 512          # drawing canvas (2x, downsampled for smooth edges)
_FONTS: dict[int, ImageFont.FreeTypeFont] = {}


def font(size: int):
    if size not in _FONTS:
        _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def mix(a, b, t: float):
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def shade(c, t: float):
    """t > 0 lightens towards white, t < 0 darkens towards black."""
    return mix(c, (255, 255, 255), t) if t >= 0 else mix(c, (0, 0, 0), -t)


def luminance(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def ink_on(c):
    return (250, 250, 250) if luminance(c) < 140 else (30, 30, 34)


# ---------------------------------------------------------------- silhouettes
# Each draws the body into ``m`` (mask, fill 255) and returns a function that draws details
# (accents, outlines) on the RGB canvas, plus the logo anchor (x, y).

def _leggings(m, v, p):
    bottom = 300 if v == "shorts" else 440
    flare = 34 if v == "flare" else 0
    inner = 250 if v == "shorts" else 200
    pts = [(170, 90), (342, 90), (352 + flare // 3, bottom - 60), (354 + flare, bottom), (288 - flare // 2, bottom),
           (262, inner), (250, inner), (224 + flare // 2, bottom), (158 - flare, bottom), (160 - flare // 3, bottom - 60)]
    m.polygon(pts, fill=255)

    def details(d, c):
        d.rectangle((170, 90, 342, 122), fill=shade(c, -0.25))
        d.line([(256, 122), (256, inner)], fill=shade(c, -0.35), width=3)
        if v == "tights":
            d.line([(176, 180), (196, bottom - 10)], fill=shade(c, 0.5), width=6)
            d.line([(336, 180), (316, bottom - 10)], fill=shade(c, 0.5), width=6)
        d.polygon(pts, outline=shade(c, -0.45), width=3)
    return details, (256, 106)


def _toothbrush(m, v, p):
    if v == "heads":
        for x in (150, 256, 362):
            m.rounded_rectangle((x - 26, 120, x + 26, 420), radius=22, fill=255)

        def details(d, c):
            for x in (150, 256, 362):
                d.rounded_rectangle((x - 20, 128, x + 20, 200), radius=12, fill=(248, 248, 248))
                for yy in range(138, 196, 12):
                    d.line([(x - 14, yy), (x + 14, yy)], fill=(200, 210, 220), width=4)
                d.rounded_rectangle((x - 26, 360, x + 26, 420), radius=10, fill=shade(c, -0.3))
        return details, (256, 300)
    m.rounded_rectangle((222, 170, 290, 450), radius=32, fill=255)
    m.rounded_rectangle((244, 80, 268, 190), radius=10, fill=255)
    if v == "round":
        m.ellipse((226, 36, 286, 96), fill=255)
    else:
        m.rounded_rectangle((234, 30, 278, 108), radius=18, fill=255)

    def details(d, c):
        if v == "round":
            d.ellipse((234, 44, 278, 88), fill=(246, 246, 246))
            d.ellipse((246, 56, 266, 76), fill=(120, 180, 230))
        else:
            for yy in range(40, 100, 10):
                d.line([(242, yy), (270, yy)], fill=(235, 240, 246), width=5)
        d.ellipse((240, 250, 272, 282), fill=shade(c, -0.35))
        for i in range(3):
            d.ellipse((251, 300 + i * 18, 261, 310 + i * 18), fill=(120, 220, 160))
        if v == "kids":
            d.ellipse((232, 380, 280, 428), fill=(250, 210, 60))
        d.rounded_rectangle((222, 170, 290, 450), radius=32, outline=shade(c, -0.4), width=3)
    return details, (256, 360)


def _flosser(m, v, p):
    if v == "countertop":
        m.rounded_rectangle((120, 300, 392, 440), radius=26, fill=255)
        m.rounded_rectangle((350, 130, 400, 320), radius=22, fill=255)

        def details(d, c):
            d.rounded_rectangle((140, 150, 330, 300), radius=18, fill=shade((180, 210, 235), 0.3),
                                outline=(150, 170, 190), width=3)
            d.rectangle((150, 220, 320, 292), fill=(170, 205, 235))
            d.line([(375, 130), (375, 60), (392, 40)], fill=shade(c, -0.3), width=10)
            d.ellipse((240, 360, 272, 392), fill=shade(c, -0.35))
            d.rounded_rectangle((120, 300, 392, 440), radius=26, outline=shade(c, -0.4), width=3)
        return details, (256, 330)
    if v == "tips":
        for x in (170, 256, 342):
            m.rounded_rectangle((x - 18, 200, x + 18, 430), radius=12, fill=255)

        def details(d, c):
            for x in (170, 256, 342):
                d.line([(x, 200), (x, 110), (x + 20, 84)], fill=shade(c, -0.2), width=10)
                d.ellipse((x - 12, 380, x + 12, 404), fill=shade(c, -0.4))
        return details, (256, 300)
    m.rounded_rectangle((200, 130, 312, 446), radius=46, fill=255)

    def details(d, c):
        d.rounded_rectangle((204, 330, 308, 442), radius=40, fill=shade((170, 205, 235), 0.2))
        d.line([(256, 130), (256, 60), (276, 34)], fill=(236, 236, 236), width=14)
        d.line([(256, 130), (256, 60), (276, 34)], fill=shade(c, -0.2), width=4)
        d.ellipse((240, 190, 272, 222), fill=shade(c, -0.35))
        d.rounded_rectangle((200, 130, 312, 446), radius=46, outline=shade(c, -0.4), width=3)
    return details, (256, 270)


def _earbuds(m, v, p):
    m.rounded_rectangle((136, 230, 376, 420), radius=86, fill=255)
    buds = [(190, 130), (322, 130)]
    for x, y in buds:
        m.ellipse((x - 44, y - 44, x + 44, y + 44), fill=255)
        if v == "stem":
            m.rounded_rectangle((x - 14, y, x + 14, y + 96), radius=12, fill=255)

    def details(d, c):
        d.line([(140, 282), (372, 282)], fill=shade(c, -0.3), width=4)
        d.ellipse((250, 300, 262, 312), fill=(110, 220, 140))
        for x, y in buds:
            d.ellipse((x - 20, y - 20, x + 20, y + 20), fill=shade(c, -0.5))
            if v == "hook":
                d.arc((x - 70, y - 80, x + 40, y + 60), 180, 320, fill=shade(c, -0.2), width=12)
        d.rounded_rectangle((136, 230, 376, 420), radius=86, outline=shade(c, -0.4), width=3)
    return details, (256, 350)


def _dryer(m, v, p):
    if v == "ring":
        m.ellipse((150, 60, 362, 250), fill=255)
        m.ellipse((208, 112, 304, 198), fill=0)
        m.rounded_rectangle((222, 236, 290, 456), radius=28, fill=255)

        def details(d, c):
            d.ellipse((208, 112, 304, 198), outline=shade(c, -0.4), width=4)
            d.rectangle((222, 360, 290, 400), fill=shade(c, -0.3))
            d.ellipse((150, 60, 362, 250), outline=shade(c, -0.4), width=3)
            for yy in range(410, 450, 10):
                d.line([(232, yy), (280, yy)], fill=shade(c, -0.2), width=3)
        return details, (256, 300)
    if v == "wand":
        m.rounded_rectangle((224, 150, 288, 456), radius=30, fill=255)
        m.rounded_rectangle((206, 40, 306, 170), radius=40, fill=255)

        def details(d, c):
            for yy in range(58, 160, 16):
                for xx in range(222, 300, 16):
                    d.ellipse((xx - 3, yy - 3, xx + 3, yy + 3), fill=shade(c, -0.45))
            d.rectangle((224, 170, 288, 190), fill=shade(c, -0.3))
            d.rounded_rectangle((224, 150, 288, 456), radius=30, outline=shade(c, -0.4), width=3)
        return details, (256, 320)
    m.ellipse((110, 90, 290, 270), fill=255)
    m.polygon([(270, 120), (410, 140), (410, 220), (270, 240)], fill=255)
    m.polygon([(170, 240), (238, 240), (262, 450), (206, 456)], fill=255)

    def details(d, c):
        d.ellipse((140, 120, 260, 240), outline=shade(c, -0.35), width=6)
        d.rectangle((404, 140, 420, 220), fill=shade(c, -0.45))
        d.ellipse((214, 300, 236, 322), fill=shade(c, -0.4))
    return details, (200, 180)


def _blender(m, v, p):
    if v == "cup":
        m.rounded_rectangle((196, 60, 316, 456), radius=30, fill=255)

        def details(d, c):
            d.rounded_rectangle((204, 110, 308, 350), radius=18, fill=shade((200, 225, 240), 0.3))
            d.rectangle((208, 250, 304, 346), fill=shade(c, 0.35))
            d.rectangle((196, 60, 316, 100), fill=shade(c, -0.3))
            d.ellipse((246, 390, 266, 410), fill=(120, 220, 160))
        return details, (256, 420)
    m.polygon([(150, 330), (362, 330), (380, 456), (132, 456)], fill=255)

    def details(d, c):
        jar = [(176, 86), (336, 86), (318, 330), (194, 330)]
        d.polygon(jar, fill=shade((205, 225, 240), 0.35), outline=(140, 160, 180))
        d.polygon([(186, 230), (326, 230), (318, 330), (194, 330)], fill=shade(c, 0.45))
        d.rectangle((170, 64, 342, 90), fill=shade(c, -0.35))
        d.line([(336, 120), (380, 140), (372, 270), (326, 280)], fill=(140, 160, 180), width=10)
        d.ellipse((238, 372, 274, 408), fill=shade(c, -0.45), outline=shade(c, 0.4), width=3)
        if v == "heat":
            d.line([(200, 345), (230, 345)], fill=(250, 120, 60), width=6)
    return details, (256, 432)


def _shirt(m, v, p):
    tee = v == "tee"
    sl = 230 if tee else 420
    pts = [(196, 70), (316, 70), (400, 110), (440 if tee else 420, sl), (380 if tee else 392, sl + 10),
           (350, 170), (350, 456), (162, 456), (162, 170), (132 if tee else 120, sl + 10), (72 if tee else 92, sl), (112, 110)]
    m.polygon(pts, fill=255)

    def details(d, c):
        line = shade(c, -0.3)
        if tee:
            d.arc((216, 44, 296, 110), 0, 180, fill=line, width=8)
        else:
            d.polygon([(222, 70), (256, 120), (236, 134), (206, 84)], fill=shade(c, 0.2), outline=line)
            d.polygon([(290, 70), (256, 120), (276, 134), (306, 84)], fill=shade(c, 0.2), outline=line)
            d.line([(256, 120), (256, 456)], fill=line, width=3)
            for yy in range(150, 450, 50):
                d.ellipse((262, yy, 274, yy + 12), fill=shade(c, -0.45))
            if v == "oxford":
                d.rectangle((196, 170, 236, 210), outline=line, width=3)
        d.polygon(pts, outline=shade(c, -0.45), width=3)
    return details, (206 if not tee else 256, 200 if not tee else 160)


def _pot(m, v, p):
    if v == "pan":
        m.ellipse((70, 200, 370, 400), fill=255)
        m.rounded_rectangle((350, 270, 470, 310), radius=18, fill=255)

        def details(d, c):
            d.ellipse((96, 220, 344, 380), fill=(48, 48, 52))
            d.ellipse((70, 200, 370, 400), outline=shade(c, -0.4), width=4)
        return details, (410, 290)
    top, bot = (230, 390) if v == "shallow" else (180, 410)
    m.rounded_rectangle((110, top, 402, bot), radius=40, fill=255)
    m.rounded_rectangle((70, top + 30, 130, top + 70), radius=14, fill=255)
    m.rounded_rectangle((382, top + 30, 442, top + 70), radius=14, fill=255)

    def details(d, c):
        lid = (200, 200, 206) if v == "steel" else shade(c, -0.1)
        d.chord((104, top - 60, 408, top + 40), 180, 360, fill=lid, outline=shade(c, -0.4), width=3)
        d.rounded_rectangle((230, top - 84, 282, top - 50), radius=12, fill=(60, 60, 64) if v != "steel" else (150, 150, 156))
        d.line([(110, top + 14), (402, top + 14)], fill=shade(c, -0.35), width=5)
        d.rounded_rectangle((110, top, 402, bot), radius=40, outline=shade(c, -0.45), width=3)
    return details, (256, (top + bot) // 2 + 10)


def _tumbler(m, v, p):
    if v == "bottle":
        m.rounded_rectangle((196, 120, 316, 456), radius=40, fill=255)

        def details(d, c):
            d.rounded_rectangle((210, 56, 302, 130), radius=16, fill=shade(c, -0.4))
            d.arc((226, 20, 286, 80), 180, 360, fill=shade(c, -0.4), width=10)
            d.rounded_rectangle((196, 120, 316, 456), radius=40, outline=shade(c, -0.45), width=3)
        return details, (256, 300)
    body = [(176, 130), (336, 130), (312, 456), (200, 456)]
    m.polygon(body, fill=255)
    if v == "handle":
        m.rounded_rectangle((300, 170, 396, 340), radius=40, fill=255)
        m.rounded_rectangle((322, 196, 372, 314), radius=24, fill=0)
        m.polygon(body, fill=255)

    def details(d, c):
        d.rounded_rectangle((168, 94, 344, 138), radius=14, fill=(226, 226, 230), outline=(150, 150, 156), width=3)
        if v == "handle":
            d.line([(280, 94), (292, 20)], fill=shade(c, -0.2), width=14)
        else:
            d.rounded_rectangle((230, 84, 282, 100), radius=6, fill=(60, 60, 64))
        d.line([(178, 150), (334, 150)], fill=shade(c, -0.2), width=3)
        d.polygon(body, outline=shade(c, -0.45), width=3)
    return details, (256, 300)


def _jar(m, v, p):
    if v in ("dropper", "bottle"):
        tall = v == "bottle"
        box = (184, 150, 328, 456) if tall else (196, 200, 316, 456)
        m.rounded_rectangle(box, radius=28 if tall else 34, fill=255)

        def details(d, c):
            if tall:
                d.rounded_rectangle((214, 70, 298, 156), radius=10, fill=(60, 60, 64))
            else:
                d.rectangle((236, 156, 276, 204), fill=(60, 60, 64))
                d.ellipse((228, 70, 284, 170), fill=(50, 50, 54))
            d.rectangle((box[0] + 16, box[1] + 80, box[2] - 16, box[1] + 170), fill=shade(c, 0.7))
            d.rounded_rectangle(box, radius=28 if tall else 34, outline=shade(c, -0.45), width=3)
        return details, (256, box[1] + 125)
    small = v == "small"
    box = (176, 270, 336, 420) if small else (136, 240, 376, 430)
    m.rounded_rectangle(box, radius=30, fill=255)

    def details(d, c):
        lid = (box[0] - 8, box[1] - 60, box[2] + 8, box[1] + 8)
        d.rounded_rectangle(lid, radius=18, fill=mix(shade(c, -0.2), (210, 180, 120), 0.5), outline=shade(c, -0.45), width=3)
        d.rounded_rectangle(box, radius=30, outline=shade(c, -0.45), width=3)
    return details, (256, box[1] + (box[3] - box[1]) // 2)


def _lipstick(m, v, p):
    if v == "glaze":
        m.rounded_rectangle((220, 230, 292, 456), radius=16, fill=255)

        def details(d, c):
            d.rounded_rectangle((226, 60, 286, 236), radius=12, fill=shade(p["shade"], 0.0), outline=(60, 60, 64), width=3)
            d.rounded_rectangle((220, 230, 292, 456), radius=16, outline=shade(c, -0.45), width=3)
        return details, (256, 340)
    m.rounded_rectangle((196, 280, 316, 456), radius=10, fill=255)

    def details(d, c):
        d.rectangle((206, 236, 306, 284), fill=(214, 184, 110))
        d.polygon([(216, 236), (296, 236), (296, 110), (216, 150)], fill=p["shade"], outline=shade(p["shade"], -0.4))
        d.rounded_rectangle((196, 280, 316, 456), radius=10, outline=shade(c, -0.45), width=3)
    return details, (256, 370)


def _bag(m, v, p):
    if v in ("box", "tin"):
        m.rounded_rectangle((96, 170, 416, 440), radius=14 if v == "box" else 40, fill=255)

        def details(d, c):
            d.polygon([(96, 170), (146, 120), (456, 120), (416, 170)], fill=shade(c, 0.25), outline=shade(c, -0.4))
            d.polygon([(416, 170), (456, 120), (456, 390), (416, 440)], fill=shade(c, -0.25), outline=shade(c, -0.4))
            d.ellipse((136, 200, 226, 290), fill=shade((220, 180, 120), 0.2))
            d.rounded_rectangle((96, 170, 416, 440), radius=14 if v == "box" else 40, outline=shade(c, -0.45), width=3)
        return details, (300, 240)
    if v == "jar":
        m.rounded_rectangle((146, 150, 366, 450), radius=40, fill=255)

        def details(d, c):
            d.rounded_rectangle((160, 100, 352, 160), radius=12, fill=shade(c, -0.35))
            d.rounded_rectangle((170, 220, 342, 400), radius=20, fill=(246, 240, 226))
            for i in range(14):
                r = random.Random(p["seed"] + i)
                x, y = r.randint(186, 320), r.randint(300, 380)
                d.ellipse((x, y, x + 22, y + 14), fill=(196, 150, 90))
        return details, (256, 260)
    pts = [(150, 80), (362, 80), (376, 452), (136, 452)]
    m.polygon(pts, fill=255)

    def details(d, c):
        d.rectangle((150, 80, 362, 112), fill=shade(c, -0.3))
        d.line([(154, 130), (358, 130)], fill=shade(c, -0.4), width=4)
        d.ellipse((186, 280, 326, 410), fill=(248, 242, 228))
        for i in range(10):
            r = random.Random(p["seed"] * 31 + i)
            x, y = r.randint(204, 290), r.randint(300, 380)
            d.ellipse((x, y, x + 24, y + 16), fill=(190, 140, 80) if i % 2 else (150, 100, 60))
        d.polygon(pts, outline=shade(c, -0.45), width=3)
    return details, (256, 200)


def _box(m, v, p):
    if v == "rolls":
        for x in (110, 256, 402):
            m.rectangle((x - 66, 150, x + 66, 440), fill=255)

        def details(d, c):
            for x in (110, 256, 402):
                d.ellipse((x - 66, 120, x + 66, 180), fill=(246, 246, 244), outline=shade(c, -0.4), width=3)
                d.ellipse((x - 18, 138, x + 18, 162), fill=(200, 190, 170))
                d.rectangle((x - 66, 150, x + 66, 440), outline=shade(c, -0.4), width=3)
        return details, (256, 300)
    if v == "bags":
        m.rounded_rectangle((120, 160, 392, 440), radius=18, fill=255)

        def details(d, c):
            d.ellipse((206, 120, 306, 190), fill=(60, 60, 64))
            d.rounded_rectangle((120, 160, 392, 440), radius=18, outline=shade(c, -0.4), width=3)
        return details, (256, 320)
    m.rectangle((100, 220, 412, 430), fill=255)

    def details(d, c):
        d.polygon([(100, 220), (150, 170), (462, 170), (412, 220)], fill=shade(c, 0.3), outline=shade(c, -0.4))
        d.polygon([(412, 220), (462, 170), (462, 380), (412, 430)], fill=shade(c, -0.2), outline=shade(c, -0.4))
        d.ellipse((236, 178, 330, 206), fill=(40, 40, 44))
        d.polygon([(262, 192), (300, 192), (312, 120), (250, 130)], fill=(250, 250, 250), outline=(200, 200, 200))
        d.rectangle((100, 220, 412, 430), outline=shade(c, -0.4), width=3)
    return details, (256, 330)


def _jacket(m, v, p):
    long = v == "parka"
    hem = 470 if long else 430
    pts = [(180, 110), (332, 110), (410, 150), (448, 420), (398, 430), (356, 230), (356, hem), (156, hem), (156, 230),
           (114, 430), (64, 420), (102, 150)]
    m.polygon(pts, fill=255)
    m.ellipse((196, 40, 316, 150), fill=255)

    def details(d, c):
        line = shade(c, -0.35)
        if long:
            d.ellipse((186, 30, 326, 160), outline=(170, 160, 150), width=14)
        d.ellipse((216, 66, 296, 140), fill=shade(c, -0.45))
        d.line([(256, 150), (256, hem)], fill=line, width=5)
        if v in ("puffer", "parka", "quilt"):
            for yy in range(180, hem, 44 if v != "quilt" else 30):
                d.line([(158, yy), (354, yy)], fill=line, width=3)
                d.line([(104 + (yy - 150) // 8, yy), (150, yy)], fill=line, width=3)
                d.line([(362, yy), (408 - (yy - 150) // 8, yy)], fill=line, width=3)
        else:
            d.line([(170, 280), (230, 280)], fill=line, width=4)
            d.line([(282, 280), (342, 280)], fill=line, width=4)
        d.polygon(pts, outline=shade(c, -0.45), width=3)
    return details, (256, 236)


SHAPES = {"leggings": _leggings, "toothbrush": _toothbrush, "flosser": _flosser, "earbuds": _earbuds,
          "dryer": _dryer, "blender": _blender, "shirt": _shirt, "pot": _pot, "tumbler": _tumbler, "jar": _jar,
          "lipstick": _lipstick, "bag": _bag, "box": _box, "jacket": _jacket}


def _pattern(colour, pattern: str, seed: int) -> Image.Image:
    img = Image.new("RGB", (S, S), colour)
    d = ImageDraw.Draw(img)
    r = random.Random(seed)
    other = shade(colour, 0.28 if luminance(colour) < 150 else -0.18)
    if pattern == "stripes":
        step = r.choice((28, 36, 48))
        if r.random() < 0.5:
            for y in range(0, S, step):
                d.rectangle((0, y, S, y + step // 3), fill=other)
        else:
            for x in range(-S, S, step):
                d.polygon([(x, 0), (x + step // 3, 0), (x + step // 3 + S, S), (x + S, S)], fill=other)
    elif pattern == "dots":
        step = r.choice((30, 40))
        for y in range(step // 2, S, step):
            for x in range(step // 2 + (step // 2 if (y // step) % 2 else 0), S, step):
                d.ellipse((x - 6, y - 6, x + 6, y + 6), fill=other)
    elif pattern == "gradient":
        top = shade(colour, 0.45)
        grad = Image.linear_gradient("L").resize((S, S))
        img = Image.composite(img, Image.new("RGB", (S, S), top), grad)
    return img


def draw(p: dict) -> Image.Image:
    """Render one picture from its parameters (see ``params`` in catalog.py)."""
    c = tuple(p["colour"])
    bg = tuple(p["bg"])
    img = Image.new("RGB", (S, S), bg)
    d = ImageDraw.Draw(img)
    d.ellipse((90, 452, 422, 492), fill=shade(bg, -0.12))
    mask = Image.new("L", (S, S), 0)
    details, logo_at = SHAPES[p["shape"]](ImageDraw.Draw(mask), p.get("variant", ""), p)
    img.paste(_pattern(c, p.get("pattern", "plain"), p["seed"]), (0, 0), mask)
    details(d, c)
    if p.get("logo"):
        size = 56
        while size > 28 and d.textlength(p["logo"], font=font(size)) > 250:
            size -= 4
        ink = ink_on(c)
        d.text(logo_at, p["logo"], fill=ink, font=font(size), anchor="mm", stroke_width=3,
               stroke_fill=(20, 20, 24) if luminance(ink) > 128 else (250, 250, 250))
    # shrink the product into the upper part, leaving a caption band for the printed words
    side = int(OUT * 0.8)
    canvas = Image.new("RGB", (OUT, OUT), bg)
    canvas.paste(img.resize((side, side), Image.LANCZOS, reducing_gap=2.0), ((OUT - side) // 2, 1))
    d = ImageDraw.Draw(canvas)
    words = [w for w in p.get("words", []) if w][:2]
    for i, w in enumerate(words):
        d.text((OUT // 2, 223 + 18 * i), w, fill=ink_on(bg), font=font(16), anchor="mt")
    img = canvas
    crop = p.get("crop")
    if crop:
        scale, dx, dy = crop
        w = int(OUT * scale)
        x0 = max(0, min(OUT - w, (OUT - w) // 2 + dx))
        y0 = max(0, min(OUT - w, (OUT - w) // 2 + dy))
        img = img.crop((x0, y0, x0 + w, y0 + w)).resize((OUT, OUT), Image.LANCZOS)
    return img


def save(p: dict, path: Path) -> int:
    img = draw(p)
    img.save(path, "JPEG", quality=80, optimize=True)
    return path.stat().st_size
