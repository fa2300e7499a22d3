"""Kept for ``benchmarks/hostile_server.py``: the fake embedders, their model specs and
``register()`` now live in ``tests/fakes.py``; import them from there."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes import IMAGE_SPEC, TEXT_SPEC, register

__all__ = ["IMAGE_SPEC", "TEXT_SPEC", "register"]
