"""Text on product photos: RapidOCR (PP-OCRv4 zh/en, onnxruntime).

    python -m indexer.embed.ocr [IMAGE ...]     # prints lines and seconds per image

``OcrReader`` loads the engine once, lazily and thread-safely, on first use.
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
    try:
        from rapidocr_onnxruntime.utils import infer_engine

        cls = infer_engine.OrtInferSession
        saved = cls.__dict__["_init_sess_opts"]
        build = cls._init_sess_opts
    except (ImportError, AttributeError, KeyError):
        yield
        return

    from indexer.embed.image import ORT_NO_SPINNING

    def init_sess_opts(config):
        opts = build(config)
        opts.add_session_config_entry(*ORT_NO_SPINNING)
        return opts

    with _patch_lock:
        cls._init_sess_opts = staticmethod(init_sess_opts)
        try:
            yield
        finally:
            cls._init_sess_opts = saved


class OcrReader:
    """Wraps ``rapidocr_onnxruntime.RapidOCR``; safe to share between threads.

    ``read`` returns every recognised line with its score; ``read_text`` keeps lines
    scoring at least ``min_score`` (0.5) and joins them with spaces, top to bottom.
    """

    def __init__(self, *, min_score: float = 0.5, threads: int | None = None) -> None:
        self.min_score = float(min_score)
        self.threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()
        # RapidOCR keeps per-call state on the engine (the detector swaps its
        # preprocessing op for each image size), so calls must not overlap. Each call
        # already uses every core, so serialising costs little.
        self._run_lock = threading.Lock()

    def _ensure_loaded(self) -> Any:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._load()
        return self._engine

    def _load(self) -> Any:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise EmbedderError("OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime") from exc
        try:
            # text_score=0: keep every line here; callers filter on OcrLine.score.
            with _sessions_without_spinning():
                return RapidOCR(
                    text_score=0.0,
                    print_verbose=False,
                    intra_op_num_threads=self.threads or _cpu_count(),
                )
        except Exception as exc:
            raise EmbedderError(f"could not load the OCR models: {exc}") from exc

    def read(self, image: Image.Image) -> list[OcrLine]:
        """All text lines found in ``image`` (any Pillow mode), top to bottom."""
        if not isinstance(image, Image.Image):
            raise TypeError(f"expected a PIL image, got {type(image).__name__}")
        engine = self._ensure_loaded()
        rgb = to_rgb(image)
        try:
            # A PIL RGB image: RapidOCR converts it to BGR itself.
            with self._run_lock:
                result, _elapsed = engine(rgb)
        except Exception as exc:
            raise EmbedderError(f"OCR failed: {exc}") from exc
        lines: list[OcrLine] = []
        for item in result or []:
            box, text, score = item[0], item[1], item[2]
            text = str(text).strip()
            if not text:
                continue
            pts = tuple((float(x), float(y)) for x, y in box)
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
