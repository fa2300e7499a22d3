"""Real model loading: EfficientNet-Lite1 (exported ONNX) + SSCD, and RapidOCR.

No fakes here. The models load once per session; the EfficientNet export runs first if
its ONNX file is missing (idempotent, a few seconds).
"""
from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from indexer.embed.base import EmbedderError, l2_normalise
from indexer.embed.export_effnet import effnet_path, export, is_valid
from indexer.embed.image import (
    ORT_NO_SPINNING,
    QUERY_CROP,
    QUERY_TIGHT_CROP,
    ImageEmbedder,
    centre_crop,
    fit_on_white,
)
from indexer.embed.ocr import OcrLine, OcrReader

pytestmark = pytest.mark.slow  # the real image models (EfficientNet, SSCD) and OCR


@pytest.fixture(scope="session")
def effnet_file():
    path = effnet_path()
    if not (path.exists() and is_valid(path)):
        t0 = time.perf_counter()
        path = export(verbose=False)
        print(f"\nexported {path} in {time.perf_counter() - t0:.1f} s")
    return path


@pytest.fixture(scope="session")
def embedder(effnet_file) -> ImageEmbedder:
    emb = ImageEmbedder(effnet_file=effnet_file)
    emb._ensure_loaded()
    return emb


@pytest.fixture(scope="session")
def ocr() -> OcrReader:
    return OcrReader()


def scene(seed: int, size=(320, 240)) -> Image.Image:
    """A synthetic 'product photo': coloured shapes and a label on a textured background."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = (xx / w * math.cos(seed) + yy / h * math.sin(seed))[..., None]
    bg = (c0 * (1 - t) + c1 * t + rng.normal(0, 12, (h, w, 3))).clip(0, 255).astype(np.uint8)
    im = Image.fromarray(bg)
    draw = ImageDraw.Draw(im)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    draw.text((20, h - 50), f"BRAND {seed}", fill=(0, 0, 0), font=ImageFont.load_default(size=28))
    return im


def near_duplicate(im: Image.Image) -> Image.Image:
    """A light crop, a colour/brightness shift and a JPEG round trip."""
    w, h = im.size
    out = im.crop((int(0.05 * w), int(0.04 * h), int(0.96 * w), int(0.97 * h)))
    out = ImageEnhance.Color(out).enhance(1.3)
    out = ImageEnhance.Brightness(out).enhance(0.9)
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=80)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


# --------------------------------------------------------------------------- export


def test_exported_model_is_valid(effnet_file):
    assert effnet_file.exists() and is_valid(effnet_file)
    # Idempotent: a second call leaves the file alone.
    mtime = effnet_file.stat().st_mtime_ns
    assert export(effnet_file.parent, verbose=False) == effnet_file
    assert effnet_file.stat().st_mtime_ns == mtime


def test_is_valid_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert not is_valid(bad)
    assert not is_valid(tmp_path / "missing.onnx")


# --------------------------------------------------------------------------- preprocessing


def test_catalog_preprocessing_keeps_whole_image_on_white():
    wide = Image.new("RGB", (400, 100), (200, 0, 0))
    out = np.asarray(fit_on_white(wide, 240))
    assert out.shape == (240, 240, 3)
    assert (out[5, 120] == 255).all() and (out[234, 120] == 255).all()  # padding is white
    assert tuple(out[120, 2]) == (200, 0, 0) and tuple(out[120, 237]) == (200, 0, 0)  # full width kept


def test_query_preprocessing_centre_crops():
    im = Image.new("RGB", (400, 300), (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 0, 399, 299), outline=(255, 0, 0), width=15)  # red frame
    out = np.asarray(centre_crop(im, 240))
    assert out.shape == (240, 240, 3)
    # 0.875 of the short side (262 px) centred: the frame is cut off on every side.
    assert out[:, :, 0].max() < 30 and out[:, :, 2].min() > 220
    whole = np.asarray(fit_on_white(im, 240))
    assert whole[:, :, 0].max() > 200  # the catalog path keeps the frame


# --------------------------------------------------------------------------- embeddings


def test_dimensions_and_norms(embedder):
    assert embedder.dim == 1792
    assert embedder.model_id.startswith("effnet-lite1+sscd@")
    ims = [scene(1), scene(2).convert("L"), scene(3).convert("RGBA"), Image.new("RGB", (31, 517), "white")]
    vecs = embedder.embed_batch(ims)
    assert vecs.shape == (4, 1792) and vecs.dtype == np.float32
    assert np.all(np.isfinite(vecs))
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # Fusion: sqrt(0.7) of the norm in the EfficientNet part, sqrt(0.3) in SSCD.
    np.testing.assert_allclose(np.linalg.norm(vecs[:, :1280], axis=1), math.sqrt(0.7), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vecs[:, 1280:], axis=1), math.sqrt(0.3), atol=1e-5)
    q = embedder.embed(scene(1), query=True)
    assert q.shape == (1792,) and abs(float(np.linalg.norm(q)) - 1) < 1e-5
    assert embedder.embed_batch([]).shape == (0, 1792)


def test_deterministic_and_batch_independent(embedder):
    ims = [scene(10), scene(11), scene(12)]
    a = embedder.embed_batch(ims)
    b = embedder.embed_batch(ims)
    np.testing.assert_array_equal(a, b)
    single = embedder.embed(ims[1])
    np.testing.assert_allclose(single, a[1], atol=1e-4)
    assert float(a[0] @ a[1]) < 0.999  # different images really differ


def test_near_duplicate_is_nearer_than_unrelated(embedder):
    for seed in (21, 22, 23):
        original, unrelated = scene(seed), scene(seed + 100)
        copy = near_duplicate(original)
        cat = embedder.embed_batch([original, unrelated])
        for query in (False, True):
            v = embedder.embed(copy, query=query)
            sim_copy, sim_other = float(v @ cat[0]), float(v @ cat[1])
            # Measured: copy ~0.93 vs unrelated ~0.63 catalog-side; ~0.78 vs ~0.55 when
            # the copy is a query (centre-cropped) against whole catalog images.
            assert sim_copy > sim_other + 0.15, (seed, query, sim_copy, sim_other)
            assert sim_copy > (0.65 if query else 0.85), (seed, query, sim_copy)
            # Each model on its own also ranks the copy first.
            for part in (slice(0, 1280), slice(1280, None)):
                assert float(v[part] @ cat[0][part]) > float(v[part] @ cat[1][part]) + 0.05, (seed, query, part)


def _sequential_query_vectors(embedder: ImageEmbedder, ims: list[Image.Image]) -> np.ndarray:
    """A query vector the plain way: one view after the other on this thread."""
    model = embedder._ensure_loaded()
    wide = embedder._encode_views(model, ims, True, QUERY_CROP)
    tight = embedder._encode_views(model, ims, True, QUERY_TIGHT_CROP)
    return l2_normalise(wide + tight)


def test_query_views_in_parallel_equal_sequential_bit_for_bit(embedder):
    ims = [scene(30), scene(31, size=(640, 480)).convert("L"), scene(32, size=(200, 500))]
    expected = _sequential_query_vectors(embedder, ims)
    np.testing.assert_array_equal(embedder.embed_batch(ims, query=True), expected)
    for im, vec in zip(ims, expected):
        np.testing.assert_array_equal(embedder.embed(im, query=True), vec)
    # Helper thread busy (another query holds it): both views run on the caller, same result.
    model = embedder._ensure_loaded()
    assert model.helper_free.acquire(blocking=False)
    try:
        np.testing.assert_array_equal(embedder.embed_batch(ims, query=True), expected)
    finally:
        model.helper_free.release()


def test_concurrent_queries_equal_sequential(embedder):
    from concurrent.futures import ThreadPoolExecutor

    ims = [scene(40 + i, size=(400, 300)) for i in range(6)]
    expected = _sequential_query_vectors(embedder, ims)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda im: embedder.embed(im, query=True), ims * 2))
    np.testing.assert_array_equal(np.stack(got), np.concatenate([expected, expected]))
    assert embedder._ensure_loaded().helper_free.acquire(blocking=False)  # permit returned
    embedder._ensure_loaded().helper_free.release()


def test_query_error_surfaces_and_frees_helper(embedder):
    with pytest.raises(EmbedderError):
        embedder.embed_batch([scene(1), "not an image"], query=True)  # type: ignore[list-item]
    model = embedder._ensure_loaded()
    assert model.helper_free.acquire(blocking=False)
    model.helper_free.release()
    assert embedder.embed(scene(1), query=True).shape == (1792,)


def test_sessions_do_not_spin(embedder):
    model = embedder._ensure_loaded()
    key, value = ORT_NO_SPINNING
    for sess in (model.effnet, model.sscd):
        assert sess.get_session_options().get_session_config_entry(key) == value


def test_sscd_weight_changes_model_id_and_vectors(effnet_file, embedder):
    other = ImageEmbedder(sscd_weight=0.5, effnet_file=effnet_file)
    assert other.model_id != embedder.model_id
    v = other.embed(scene(5))
    np.testing.assert_allclose(np.linalg.norm(v[1280:]), math.sqrt(0.5), atol=1e-5)
    with pytest.raises(ValueError):
        ImageEmbedder(sscd_weight=1.5)


def test_missing_export_gives_actionable_error(tmp_path):
    emb = ImageEmbedder(effnet_file=tmp_path / "nope.onnx")
    with pytest.raises(EmbedderError, match="export_effnet"):
        emb.embed(scene(1))


def test_non_image_input_rejected(embedder):
    with pytest.raises(EmbedderError):
        embedder.embed_batch([np.zeros((10, 10, 3), dtype=np.uint8)])  # type: ignore[list-item]


def test_throughput_batch_of_64(embedder):
    photos = [scene(i, size=(640, 480)) for i in range(8)]
    images = [photos[i % 8].rotate(i // 8 * 3) for i in range(64)]
    t0 = time.perf_counter()
    vecs = embedder.embed_batch(images)
    rate = len(images) / (time.perf_counter() - t0)
    print(f"\nimage embedder: {rate:.1f} images/s on a batch of 64 ({embedder.threads} threads)")
    assert vecs.shape == (64, 1792)
    assert rate > 2  # a sanity floor only; the figure itself is printed


# --------------------------------------------------------------------------- OCR


def label(text: str, size=(360, 360)) -> Image.Image:
    # Square-ish on purpose: RapidOCR upscales the short side to 736 px before detection,
    # so a wide strip costs several times more than a square of the same text.
    im = Image.new("RGB", size, "white")
    ImageDraw.Draw(im).text((40, 150), text, fill="black", font=ImageFont.load_default(size=48))
    return im


def test_ocr_reads_printed_text(ocr):
    im = label("HELLO 123")
    t0 = time.perf_counter()
    lines = ocr.read(im)
    dt = time.perf_counter() - t0
    print(f"\nOCR: {dt:.3f} s for one 360x360 image (first call, includes loading)")
    assert lines and all(isinstance(ln, OcrLine) for ln in lines)
    text = ocr.read_text(im)
    assert "HELLO" in text.upper() and "123" in text, text
    for ln in lines:
        assert 0.0 <= ln.score <= 1.0
        assert len(ln.box) == 4
        assert all(-2 <= x <= 362 and -2 <= y <= 362 for x, y in ln.box)
    best = max(lines, key=lambda ln: ln.score)
    assert best.score >= 0.5


def test_ocr_blank_image_and_modes(ocr):
    blank = Image.new("RGB", (240, 240), "white")
    assert ocr.read(blank) == []
    assert ocr.read_text(blank) == ""
    rgba = label("SALE 50").convert("RGBA")
    assert "SALE" in ocr.read_text(rgba).upper()
    with pytest.raises(TypeError):
        ocr.read(b"bytes")  # type: ignore[arg-type]


def test_ocr_sessions_do_not_spin_and_hook_is_restored(ocr):
    from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession

    engine = ocr._ensure_loaded()
    key, value = ORT_NO_SPINNING
    sessions = (engine.text_det.infer.session, engine.text_cls.infer.session, engine.text_rec.session.session)
    for sess in sessions:
        assert sess.get_session_options().get_session_config_entry(key) == value
    # The session-options hook is wrapped only while loading.
    assert OrtInferSession._init_sess_opts.__name__ == "_init_sess_opts"
    opts = OrtInferSession._init_sess_opts({})
    with pytest.raises(RuntimeError):  # unset: RapidOCR sessions built elsewhere keep the default
        opts.get_session_config_entry(key)


def test_ocr_read_text_threshold(ocr):
    im = label("HELLO 123")
    assert ocr.read_text(im, min_score=1.01) == ""
