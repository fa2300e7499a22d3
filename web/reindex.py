"""Reindexing from the service (``POST /api/v1/admin/reindex``): the job, one at a time in
a background thread, and what it runs (the indexer over the catalog folder, with the live
engine's store and models when it is up)."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web.errors import ApiError
from web.service import EngineHolder


class ReindexJob:
    """Re-runs the indexer on the catalog folder in a background thread; one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.status: dict[str, Any] = {"state": "idle"}
        self.thread: threading.Thread | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.status)

    def start(self, run: Callable[[], str], on_done: Callable[[], None]) -> dict[str, Any]:
        with self._lock:
            if self.status.get("state") == "running":
                raise ApiError(409, "reindex_running", "a reindex is already running")
            self.status = {"state": "running", "started_at": _now(), "finished_at": None,
                           "summary": None, "error": None}

            def work() -> None:
                try:
                    summary = run()
                    update = {"state": "done", "summary": summary}
                except Exception as e:  # reported through the status endpoint
                    update = {"state": "failed", "error": f"{type(e).__name__}: {e}"}
                on_done()
                with self._lock:
                    self.status.update(update, finished_at=_now())

            self.thread = threading.Thread(target=work, name="dupe-reindex", daemon=True)
            self.thread.start()
            return dict(self.status)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def reindex_runner(app: Any) -> Callable[[], str]:
    """The job: the live engine's store and embedders if it is up, else the configured ones."""
    catalog = Path(app.config["CATALOG_DIR"])
    hold: EngineHolder = app.extensions["dupe_engine"]

    def run() -> str:
        from indexer.pipeline import Indexer, write_rejects
        try:
            eng = hold.get()
            store, text, image = eng.store, eng.text, eng.image
        except ApiError:
            from indexer.embed.registry import image_embedder, text_embedder
            from search.settings import open_store
            settings = app.extensions["dupe_settings"]
            store = open_store(settings, create=True)
            text, image = text_embedder(settings.text_model), image_embedder(settings.image_model)
        report = Indexer(store, text, image).run(catalog)
        if report.rejects:
            write_rejects(report.rejects, app.extensions["dupe_settings"].index_dir / "rejects.jsonl")
        return "; ".join([report.summary(), *report.read_notes])       # how the files were read, too
    return run
