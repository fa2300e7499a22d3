"""Several products in one photo (search/objects.py): proposals on synthetic photos, the
choice of distinct objects, and the engine path with the fake embedders."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from search import objects as O
from search.requests import QueryError, SearchRequest
from tests.test_web_helpers import build_engine

BG = (120, 160, 120)


def canvas(size=(400, 200), colour=BG) -> Image.Image:
    return Image.new("RGB", size, colour)


def two_products(size=(400, 200), left=(20, 40, 120, 120), right=(240, 30, 140, 140)) -> Image.Image:
    """A dark product (the tiny catalog's leggings) and a light one (its toothbrush) on green."""
    im = canvas(size)
    for (x, y, w, h), colour in ((left, (20, 20, 20)), (right, (240, 240, 250))):
        im.paste(colour, (x, y, x + w, y + h))
        inner = (255 - colour[0], 255 - colour[1], 255 - colour[2])
        im.paste(inner, (x + w // 4, y + h // 4, x + w // 2, y + h // 2))
    return im


# ----------------------------------------------------------------------------- geometry


def test_iou_inside_and_boxes():
    assert O.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert O.iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert O.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert O.inside((0, 0, 100, 100), (10, 10, 20, 20)) == 1.0
    assert O.scale_box((10, 10, 20, 20), 2.0, 2.0, (1000, 1000)) == (20, 20, 40, 40)
    assert O.scale_box((90, 90, 20, 20), 1.0, 1.0, (100, 100)) == (90, 90, 10, 10)      # cut at the edge


def test_search_box_is_the_square_around_the_box_inside_the_photo():
    x, y, w, h = O.search_box((100, 100, 20, 80), (1000, 1000))
    assert w == h and w >= 80 * (1 + 2 * O.SQUARE_MARGIN) - 1
    assert x <= 100 and x + w >= 120 and y <= 100 and y + h >= 180
    # At the edge the square is shifted into the photo, never outside it.
    x, y, w, h = O.search_box((0, 0, 50, 100), (300, 120))
    assert x >= 0 and y >= 0 and x + w <= 300 and y + h <= 120


# ----------------------------------------------------------------------------- proposals


def test_two_separate_products_are_two_proposals_covering_them():
    props = O.proposals(np.asarray(two_products()))          # at its own scale
    comps = [p.box for p in props if p.source == "component"]
    assert len(comps) == 2
    for truth in ((20, 40, 120, 120), (240, 30, 140, 140)):
        assert max(O.iou(truth, b) for b in comps) >= 0.7


def test_one_product_or_a_plain_photo_is_not_split():
    one = canvas()
    one.paste((20, 20, 20), (140, 40, 260, 160))
    assert len(O.proposals(O.small_copy(one))) <= 1
    assert O.proposals(O.small_copy(canvas())) == []


def test_a_gradient_table_top_is_background():
    a = np.zeros((300, 400, 3), dtype=np.uint8)
    a[:] = np.linspace(90, 230, 300, dtype=np.uint8)[:, None, None]
    a[100:200, 150:250] = (200, 30, 30)
    props = O.proposals(a)
    assert len(props) <= 1
    assert props and O.iou(props[0].box, (150, 100, 100, 100)) >= 0.7


def test_products_touching_side_by_side_are_proposed_as_parts():
    im = canvas((600, 200))
    im.paste((200, 30, 30), (20, 20, 580, 180))           # one red blob: two red products touching
    props = O.proposals(np.asarray(im))
    parts = [p.box for p in props if p.source == "part"]
    assert len(parts) >= 2
    assert max(O.iou(b, (20, 20, 280, 160)) for b in parts) >= 0.6
    assert max(O.iou(b, (300, 20, 280, 160)) for b in parts) >= 0.6


def test_products_on_a_busy_background_are_found_as_flat_areas():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    a[30:130, 20:120] = (240, 240, 240)
    a[100:220, 180:300] = (30, 30, 160)
    comps = [p.box for p in O.proposals(a) if p.source == "component"]
    assert max(O.iou(b, (20, 30, 100, 100)) for b in comps) >= 0.6
    assert max(O.iou(b, (180, 100, 120, 120)) for b in comps) >= 0.6


# ----------------------------------------------------------------------------- choice


def scored(box, match, sim, source="component"):
    return O.Scored(O.Proposal(box, source, 0.8), box, match, sim)


def test_distinct_keeps_strong_distinct_matches():
    a = scored((0, 0, 100, 100), "bp-a", 0.8)
    b = scored((200, 0, 100, 100), "bp-b", 0.7)
    same = scored((400, 0, 100, 100), "bp-a", 0.75)               # the same brand product again
    overlap = scored((20, 20, 100, 100), "bp-c", 0.6)             # mostly on a
    weak = scored((600, 0, 100, 100), "bp-d", 0.2)
    weak_part = scored((800, 0, 100, 100), "bp-e", O.CLEAN_MIN + 0.01, source="part")
    kept = O.distinct([weak, overlap, same, b, a, weak_part])
    assert [s.match for s in kept] == ["bp-a", "bp-b"]


def test_distinct_drops_a_box_that_holds_two_others():
    group = scored((0, 0, 400, 100), "bp-x", 0.9)
    # inside it but each under the overlap limits against it? No: these lie inside the group,
    # so the group is kept first and they are suppressed; a group found *after* them is dropped.
    left, right = scored((0, 0, 150, 100), "bp-a", 0.95), scored((250, 0, 150, 100), "bp-b", 0.95)
    kept = O.distinct([left, right, group])
    assert {s.match for s in kept} == {"bp-a", "bp-b"}


def test_prominent_is_the_largest_confident_object():
    objs = [O.DetectedObject((0, 0, 10, 10), "a", "x", 0.9, 0.05),
            O.DetectedObject((0, 0, 10, 10), "b", "x", 0.6, 0.30),
            O.DetectedObject((0, 0, 10, 10), "c", "x", 0.9, 0.15)]
    assert O.prominent(objs) == 1
    assert O.prominent([]) is None
    marked = O.searched(objs, 2)
    assert [o.searched for o in marked] == [False, False, True]


def test_detect_reports_boxes_in_the_pixels_of_the_photo_as_sent():
    im = two_products()
    truth = {"bp-dark": (20, 40, 120, 120), "bp-light": (240, 30, 140, 140)}

    def embed(crops):
        # dark crops -> one direction, light -> another
        return np.array([[1.0, 0.0] if np.asarray(c.convert("L")).mean() < 110 else [0.0, 1.0] for c in crops])

    def nearest(v):
        return sorted([("bp-dark", float(v[0])), ("bp-light", float(v[1]))], key=lambda x: -x[1])

    bps = {k: type("BP", (), {"id": k, "category": "c"})() for k in truth}
    found = O.detect(im, embed, nearest, bps)
    assert [o.brand_product for o in found] == ["bp-dark", "bp-light"]        # left to right
    for o in found:
        assert O.iou(o.box, truth[o.brand_product]) >= 0.7 and o.category == "c"
    # The same photo decoded at half scale: boxes are still in the pixels as sent.
    half = im.resize((200, 100))
    scaled = O.detect(half, embed, nearest, bps, source=im.size)
    for o in scaled:
        assert O.iou(o.box, truth[o.brand_product]) >= 0.6
    # A photo of one product costs no embedding at all.
    calls = []
    one = canvas()
    one.paste((20, 20, 20), (140, 40, 260, 160))
    assert O.detect(one, lambda crops: calls.append(crops) or embed(crops), nearest, bps) == []
    assert calls == []


# ----------------------------------------------------------------------------- the engine path


class RecordingOcr:
    def __init__(self):
        self.sizes = []

    def read_text(self, image):
        self.sizes.append(image.size)
        return ""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return build_engine(tmp_path_factory.mktemp("objects"))[0]


def test_engine_searches_the_most_prominent_object_by_default(engine):
    # The toothbrush is the larger product: it is searched; the leggings are offered.
    resp = engine.search(SearchRequest(image=two_products(), k=5))
    objs = resp.understood.objects
    assert [o.brand_product for o in objs] == ["bp-align", "bp-diamond"]
    assert [o.searched for o in objs] == [False, True]
    assert resp.understood.brand_product.id == "bp-diamond"
    assert resp.results[0].listing.id == "p3"


def test_engine_searches_the_object_asked_for(engine):
    resp = engine.search(SearchRequest(image=two_products(), object=0, k=5))
    assert [o.searched for o in resp.understood.objects] == [True, False]
    assert resp.understood.brand_product.id == "bp-align"
    assert resp.results[0].listing.id == "p1"
    with pytest.raises(QueryError, match="^object: 5 is not one of the 2"):
        engine.search(SearchRequest(image=two_products(), object=5))


def test_engine_with_a_crop_or_one_product_detects_nothing(engine):
    resp = engine.search(SearchRequest(image=two_products(), crop=(20, 40, 120, 120), k=5))
    assert resp.understood.objects == []
    assert resp.understood.brand_product.id == "bp-align"
    one = canvas()
    one.paste((20, 20, 20), (140, 40, 260, 160))
    assert engine.search(SearchRequest(image=one, k=5)).understood.objects == []
    with pytest.raises(QueryError, match="^object:"):
        engine.search(SearchRequest(image=two_products(), crop=(0, 0, 200, 200), object=0))
    with pytest.raises(QueryError, match="^object:"):
        engine.search(SearchRequest(text="lululemon", object=0))


def test_an_objects_box_does_not_reuse_the_whole_photos_text(engine, monkeypatch):
    ocr = RecordingOcr()
    monkeypatch.setattr(engine, "ocr", ocr)
    # The kept photo's text belongs to the whole photo: an object's search reads its own.
    resp = engine.search(SearchRequest(image=two_products(), object=0, ocr_text="Philips Sonicare"))
    assert resp.understood.ocr_text is None
    assert len(ocr.sizes) == 1 and ocr.sizes[0][0] < 400
    ocr.sizes.clear()
    one = canvas()
    one.paste((20, 20, 20), (140, 40, 260, 160))
    resp = engine.search(SearchRequest(image=one, ocr_text="Philips Sonicare"))
    assert resp.understood.ocr_text == "Philips Sonicare" and ocr.sizes == []


def test_the_searched_object_is_embedded_once(engine, monkeypatch):
    # The object's search box was embedded to find it: its search reuses that vector.
    single: list = []
    inner = engine.image.embed
    monkeypatch.setattr(engine.image, "embed", lambda im, query=False: single.append(im) or inner(im, query=query))
    resp = engine.search(SearchRequest(image=two_products(), object=0, k=5))
    assert resp.understood.brand_product.id == "bp-align" and single == []
    engine.search(SearchRequest(image=two_products(), crop=(20, 40, 120, 120), k=5))
    assert len(single) == 1                               # a crop the user drew is embedded


class LinesOcr:
    """Reads lines with boxes (as OcrReader.read): a brand name printed on each product."""

    def __init__(self, fail: bool = False):
        self.sizes, self.fail, self.min_score = [], fail, 0.5

    def read(self, image):
        from indexer.embed.base import EmbedderError
        from indexer.embed.ocr import OcrLine
        self.sizes.append(image.size)
        if self.fail:
            raise EmbedderError("OCR failed: boom")

        def line(text, x, y, score=0.9):
            return OcrLine(text, score, ((x, y), (x + 60, y), (x + 60, y + 12), (x, y + 12)))
        return [line("lululemon", 40, 60), line("sonicare", 270, 60), line("blur", 270, 120, 0.2)]

    def read_text(self, image):         # pragma: no cover - the engine reads lines
        raise AssertionError("a reader with line boxes is read once, whole")


def test_the_whole_photo_is_read_once_and_each_object_gets_its_own_lines(engine, monkeypatch):
    ocr = LinesOcr()
    monkeypatch.setattr(engine, "ocr", ocr)
    default = engine.search(SearchRequest(image=two_products(), k=5))
    assert [o.searched for o in default.understood.objects] == [False, True]
    assert default.understood.ocr_text == "sonicare"          # the searched object's line, confident ones only
    left = engine.search(SearchRequest(image=two_products(), object=0, k=5))
    assert left.understood.ocr_text == "lululemon"
    assert ocr.sizes == [(400, 200), (400, 200)]               # the whole photo, once per search
    one = canvas()
    one.paste((20, 20, 20), (140, 40, 260, 160))
    assert engine.search(SearchRequest(image=one, k=5)).understood.ocr_text == "lululemon sonicare"
    monkeypatch.setattr(engine, "ocr", LinesOcr(fail=True))
    failed = engine.search(SearchRequest(image=two_products(), k=5)).understood
    assert failed.ocr_text is None and "searched without it" in failed.ocr_error


def test_a_photo_matching_better_whole_than_in_parts_is_searched_whole(engine, monkeypatch):
    import search.engine as E
    photo = canvas((200, 200), (20, 20, 20))
    calls = []

    def fake_detect(confidence):
        def detect(image, embed, nearest, bps, source):
            vecs = embed([image.crop((0, 0, 100, 200)), image.crop((100, 0, 200, 200))])
            calls.append(len(vecs))
            return [O.DetectedObject((0, 0, 100, 200), "bp-align", "leggings", confidence, 0.5, vector=vecs[0]),
                    O.DetectedObject((100, 0, 100, 200), "bp-align", "leggings", confidence, 0.5,
                                     vector=vecs[1])]
        return detect
    # The dark photo is the Align picture: whole, it matches better than parts claimed at 0.5.
    monkeypatch.setattr(E, "detect", fake_detect(0.5))
    resp = engine.search(SearchRequest(image=photo, k=5))
    assert calls == [2] and len(resp.understood.objects) == 2
    assert not any(o.searched for o in resp.understood.objects)
    assert resp.understood.brand_product.id == "bp-align"
    # Parts that match better than the whole photo are what it holds: the prominent one is searched.
    monkeypatch.setattr(E, "detect", fake_detect(1.0))
    resp = engine.search(SearchRequest(image=photo, k=5))
    assert [o.searched for o in resp.understood.objects] == [True, False]
    # An object asked for is searched whatever the whole photo matches.
    monkeypatch.setattr(E, "detect", fake_detect(0.5))
    assert [o.searched for o in engine.search(SearchRequest(image=photo, object=1, k=5)).understood.objects] \
        == [False, True]


def test_parts_proposed_but_not_kept_cost_no_second_embedding_of_the_photo(engine, monkeypatch):
    import search.engine as E

    def detect(image, embed, nearest, bps, source):
        embed([image.crop((0, 0, 100, 200)), image.crop((100, 0, 200, 200))])
        return []                                         # proposals, none distinct enough to keep
    monkeypatch.setattr(E, "detect", detect)
    single: list = []
    inner = engine.image.embed
    monkeypatch.setattr(engine.image, "embed", lambda im, query=False: single.append(im) or inner(im, query=query))
    resp = engine.search(SearchRequest(image=canvas((200, 200), (20, 20, 20)), k=5))
    assert resp.understood.objects == [] and resp.understood.brand_product.id == "bp-align"
    assert single == []                                   # the detection batch's whole-photo vector was used
