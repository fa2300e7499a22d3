"""Where exported model files live."""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root: the parent of the ``indexer`` package.
REPO_ROOT = Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    """The folder holding exported models: ``$DUPE_MODELS_DIR`` or ``<repo>/models``.

    The folder is not created here; writers create it, readers report it missing.
    """
    env = os.environ.get("DUPE_MODELS_DIR", "").strip()
    return Path(env).expanduser() if env else REPO_ROOT / "models"
