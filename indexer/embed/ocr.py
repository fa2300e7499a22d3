"""Text on product photos: RapidOCR (PP-OCRv4 zh/en, onnxruntime).

    python -m indexer.embed.ocr [IMAGE ...]     # prints lines and seconds per image

``OcrReader`` loads its engines lazily, on first use, and reads a bounded copy of each
image (``ocr_size``): whatever was uploaded, the text detector sees at most
``MAX_SIDE`` x ``MAX_SIDE`` pixels, and shapes where no line of text fits are not read.
"""
from __future__ import annotations

import argparse
import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from indexer.embed.base import EmbedderError
from indexer.images import to_rgb

Point = tuple[float, float]

#: Longest side of the copy OCR reads. RapidOCR 1.4 caps the long side at 2000 itself,
#: but its detector (limit type "min", 736) then enlarges the *short* side to 736 and its
#: letterbox pads wide images to 1:4, so a 2000x3 strip reached the detector as 20000x5000
#: and took 6.4 GB. The detector's cost grows faster than its area (CPU seconds for a
#: square copy on 2 cores: 736 px 0.47, 1024 1.1, 1280 2.5, 1600 4.7, 2000 7.1; for a
#: phone photo's 4:3 copy, median detector ms: 960 px 251, 864 191, 800 176). Sweeps of
#: words printed 20-140 px high on a 4000x3000 photo: 1280 reads from 20 px, 960 and 800
#: alike from 32-40 px (under 1 % of the width; a brand name on a product filling a
#: quarter of the frame is 50-250 px), 736 from 50 px. So 800: what 960 reads, 30 % sooner.
MAX_SIDE = 800
#: Small photos are enlarged until their short side is this (RapidOCR's own detector
#: default, kept: PP-OCR finds small text better on an enlarged copy), within MAX_SIDE.
DET_SIDE = 736
#: Shapes no line of text can be read in: a short side below MIN_SIDE pixels (the
#: recogniser reads lines 48 px high; 16 px is already an enlargement of 3) or an aspect
#: ratio beyond MAX_ASPECT (a strip, or a crop of one).
MIN_SIDE = 16
MAX_ASPECT = 12.0
#: Lines recognised per image: the tallest, and only those at least MIN_REL_HEIGHT of the
#: tallest one's height. Recognition costs per line and grows with its length (a page of
#: 280 lines took 39 s, 7 s with 32 kept; a package with a brand name, a product line and
#: ten lines of ingredients 1.8 s to recognise all 13): the words that name a product are
#: the large ones (brand, line, kind), the small print (ingredients, addresses) adds
#: little a search can use and most of the time.
MAX_LINES = 16
MIN_REL_HEIGHT = 0.3


def ocr_size(size: tuple[int, int]) -> tuple[int, int] | None:
    """The size OCR reads an image of ``size`` (w, h) at, or None when no text line can
    be read in that shape. The result's long side is at most ``MAX_SIDE``; a small image
    is enlarged towards a short side of ``DET_SIDE``."""
    w, h = size
    short, long_ = min(w, h), max(w, h)
    if short < MIN_SIDE or long_ > MAX_ASPECT * short:
        return None
    scale = min(MAX_SIDE / long_, max(1.0, DET_SIDE / short))
    return max(1, round(w * scale)), max(1, round(h * scale))


def tallest(boxes: Any, k: int = MAX_LINES, rel: float = MIN_REL_HEIGHT) -> list[Any]:
    """The at most ``k`` tallest of the detector's boxes (4 corner points each, clockwise
    from top-left) that are at least ``rel`` times the tallest one's height, in their
    original order."""
    boxes = list(boxes)
    if not boxes:
        return boxes
    heights = [max(_dist(b[0], b[3]), _dist(b[1], b[2])) for b in boxes]
    floor = rel * max(heights)
    keep = sorted(i for i in range(len(boxes)) if heights[i] >= floor)
    if len(keep) > k:
        keep = sorted(sorted(keep, key=lambda i: -heights[i])[:k])
    return [boxes[i] for i in keep]


def _dist(p: Any, q: Any) -> float:
    return float(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5)


@dataclass(frozen=True)
class OcrLine:
    """One detected line: its text, recognition confidence (0..1) and the four corner
    points of its box in the input image's pixel coordinates (clockwise from top-left)."""

    text: str
    score: float
    box: tuple[Point, Point, Point, Point]


def _cpu_count() -> int:
    from indexer.embed.image import cpu_count

    return cpu_count()


_patch_lock = threading.Lock()


@contextlib.contextmanager
def _sessions_without_spinning():
    """While RapidOCR builds its sessions (detector, classifier, recogniser), turn
    onnxruntime's busy-waiting off in their options.

    Each session owns a thread pool; with spinning on, the pools of the other two (and,
    right after OCR, the image model's) spin on the cores the running one needs. On 2
    cores one photo's OCR took 302 ms with spinning and 271 without when idle, 764 and
    453 ms under load, with identical output. RapidOCR exposes no option for it, so its
    session-options hook (``OrtInferSession._init_sess_opts`` in rapidocr-onnxruntime
    1.4) is wrapped for the duration; a version without that hook keeps its defaults.
    """
    from indexer.embed.image import ORT_NO_SPINNING

    # The hook is read and swapped under the lock: two engines loading at once must not
    # wrap each other's wrapper (nor restore it).
    with _patch_lock:
        try:
            from rapidocr_onnxruntime.utils import infer_engine

            cls = infer_engine.OrtInferSession
            saved = cls.__dict__["_init_sess_opts"]
            build = cls._init_sess_opts
        except (ImportError, AttributeError, KeyError):
            yield
            return

        def init_sess_opts(config):
            opts = build(config)
            opts.add_session_config_entry(*ORT_NO_SPINNING)
            return opts

        cls._init_sess_opts = staticmethod(init_sess_opts)
        try:
            yield
        finally:
            cls._init_sess_opts = saved


def _limit_lines(engine: Any) -> None:
    """Recognise only the prominent detected lines (``tallest``): RapidOCR (1.4) has no
    option for it, so its detection step (``auto_text_det``) is wrapped on this engine;
    a version without that step keeps every line."""
    detect = getattr(engine, "auto_text_det", None)
    if detect is None:
        return

    def auto_text_det(img: Any) -> Any:
        boxes, elapsed = detect(img)
        return (tallest(boxes) if boxes is not None else None), elapsed

    engine.auto_text_det = auto_text_det


class OcrReader:
    """Wraps ``rapidocr_onnxruntime.RapidOCR``; safe to share between threads.

    ``read`` returns every recognised line with its score; ``read_text`` keeps lines
    scoring at least ``min_score`` (0.5) and joins them with spaces, top to bottom.
    ``engines``: how many calls may run at once, each on its own engine (RapidOCR keeps
    per-call state on the engine: the detector swaps its preprocessing op for each image
    size, so one engine must not serve two calls at once). Each call already uses every
    core: on 2 cores, four large reads and a small one took 12-13 s in all with one engine
    (the small one 1.4-1.8 s) and 13-16 s with two (2.0-2.2 s), which also cost 250 MB
    more; so one, with the bounded copy keeping each call short and ``web.work``
    keeping the queue short.
    """

    def __init__(self, *, min_score: float = 0.5, threads: int | None = None, engines: int = 1) -> None:
        self.min_score = float(min_score)
        self.threads = threads
        self.engines = max(1, int(engines))
        self._lock = threading.Lock()
        self._idle: list[Any] = []          # loaded engines not in use
        self._free = threading.Semaphore(self.engines)

    def _ensure_loaded(self) -> Any:
        """One engine (loading the first one if none is), for tests and warm-up."""
        with self._free:
            engine = self._take()
            self._give(engine)
        return engine

    def _take(self) -> Any:
        """An idle engine, a new one if fewer than ``engines`` exist; the caller holds a
        slot of ``_free``."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        # Every engine is in use by another slot holder, so there are fewer than ``engines``.
        return self._load()

    def _give(self, engine: Any) -> None:
        with self._lock:
            self._idle.append(engine)

    def _load(self) -> Any:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise EmbedderError("OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime") from exc
        try:
            # text_score=0: keep every line here; callers filter on OcrLine.score.
            # The copy read is already sized by ``ocr_size``: limit type "max" keeps the
            # detector from enlarging it again (it only rounds to multiples of 32), and
            # max_side_len keeps RapidOCR's own first resize a no-op.
            with _sessions_without_spinning():
                engine = RapidOCR(
                    text_score=0.0,
                    print_verbose=False,
                    intra_op_num_threads=self.threads or _cpu_count(),
                    max_side_len=MAX_SIDE,
                    det_limit_type="max",
                    det_limit_side_len=MAX_SIDE,
                )
        except Exception as exc:
            raise EmbedderError(f"could not load the OCR models: {exc}") from exc
        _limit_lines(engine)
        return engine

    def read(self, image: Image.Image) -> list[OcrLine]:
        """All text lines found in ``image`` (any Pillow mode), top to bottom, with boxes
        in ``image``'s pixels. Shapes ``ocr_size`` refuses have no lines."""
        if not isinstance(image, Image.Image):
            raise TypeError(f"expected a PIL image, got {type(image).__name__}")
        size = ocr_size(image.size)
        if size is None:
            return []
        rgb = to_rgb(image)
        if size != rgb.size:
            # Lanczos keeps small print legible when shrinking (bilinear lost a line of
            # text 30 px high in a 4000 px photo); enlarging as RapidOCR did (bilinear).
            shrink = size[0] < rgb.size[0]
            rgb = rgb.resize(size, Image.Resampling.LANCZOS if shrink else Image.Resampling.BILINEAR)
        with self._free:
            engine = self._take()
            try:
                # A PIL RGB image: RapidOCR converts it to BGR itself.
                result, _elapsed = engine(rgb)
            except Exception as exc:
                raise EmbedderError(f"OCR failed: {type(exc).__name__}: {exc}") from exc
            finally:
                self._give(engine)
        sx, sy = image.size[0] / size[0], image.size[1] / size[1]
        lines: list[OcrLine] = []
        for item in result or []:
            box, text, score = item[0], item[1], item[2]
            text = str(text).strip()
            if not text:
                continue
            pts = tuple((float(x) * sx, float(y) * sy) for x, y in box)
            lines.append(OcrLine(text=text, score=float(score), box=pts))  # type: ignore[arg-type]
        return lines

    def read_text(self, image: Image.Image, *, min_score: float | None = None) -> str:
        """The confident lines (score >= ``min_score``, default 0.5) joined by spaces."""
        threshold = self.min_score if min_score is None else float(min_score)
        return " ".join(line.text for line in self.read(image) if line.score >= threshold)


def main(argv: list[str] | None = None) -> int:
    from indexer.images import ImageError, decode_image

    parser = argparse.ArgumentParser(prog="python -m indexer.embed.ocr")
    parser.add_argument("images", nargs="*", type=Path, help="image files (default: a synthetic label)")
    args = parser.parse_args(argv)
    reader = OcrReader()
    if args.images:
        images = []
        for p in args.images:
            try:
                images.append((str(p), decode_image(p.read_bytes())))
            except (OSError, ImageError) as exc:
                print(f"{p}: {exc}")
    else:
        from PIL import ImageDraw, ImageFont

        im = Image.new("RGB", (640, 360), "white")
        draw = ImageDraw.Draw(im)
        draw.text((40, 60), "HELLO 123", fill="black", font=ImageFont.load_default(size=48))
        draw.text((40, 180), "Organic Oat Milk 1L", fill="black", font=ImageFont.load_default(size=36))
        images = [("synthetic", im)]
    t0 = time.perf_counter()
    reader._ensure_loaded()
    print(f"loaded OCR in {time.perf_counter() - t0:.2f} s")
    total = 0.0
    for name, im in images:
        t0 = time.perf_counter()
        lines = reader.read(im)
        dt = time.perf_counter() - t0
        total += dt
        print(f"{name}: {dt:.3f} s: " + " | ".join(f"{ln.text} ({ln.score:.2f})" for ln in lines))
    if images:
        print(f"{total / len(images):.3f} s per image")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
