"""Runtime configuration shared by the indexer CLI and the service, read from the
environment (``DUPE_*``) with defaults that work on a fresh clone."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from search.store.base import Store, StoreError


class SettingsError(ValueError):
    """A ``DUPE_*`` setting cannot be used (the message names it)."""


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("var/index")
    backend: str = "embedded"              # embedded | elasticsearch
    text_model: str = "use"
    image_model: str = "effnet-sscd"
    fx: str | None = None                  # the exchange table: a JSON file or JSON (search.prices.load_fx)
    ann_min: int | None = None             # embedded store: HNSW graphs from this many vectors (None: its default)

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {
            "index_dir": Path(env.get("DUPE_INDEX_DIR", "var/index")),
            "backend": env.get("DUPE_BACKEND", "embedded"),
            "text_model": env.get("DUPE_TEXT_MODEL", "use"),
            "image_model": env.get("DUPE_IMAGE_MODEL", "effnet-sscd"),
            "fx": env.get("DUPE_FX") or None,
            "ann_min": _int_env("DUPE_ANN_MIN"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["index_dir"] = Path(values["index_dir"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _int_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or not raw.isascii() or int(raw) < 1:     # "²".isdigit() is True
        raise SettingsError(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)


def open_store(settings: Settings, *, create: bool = True) -> Store:
    """The configured backend: the embedded store by default, Elasticsearch on request."""
    if settings.backend == "embedded":
        from search.store.embedded import EmbeddedStore
        return EmbeddedStore(settings.index_dir, create=create, ann_min=settings.ann_min)
    if settings.backend in ("elasticsearch", "es"):
        from search.store.elastic import ElasticConfig, ElasticStore
        return ElasticStore(ElasticConfig.from_env(), create=create)
    raise StoreError(f"unknown backend {settings.backend!r} (embedded, elasticsearch)")
