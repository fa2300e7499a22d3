"""The ``dupe`` command line: index a catalog, search from the terminal, serve the API.

Usage errors are ``click.UsageError``; domain errors (bad catalog folder, missing model,
unreadable index) are ``click.ClickException`` with a clear message, never a traceback.
Progress and warnings go to stderr.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import threading
from pathlib import Path

import click

from indexer.catalog.reader import CatalogError
from indexer.catalog.records import RecordWarning
from indexer.embed.base import EmbedderError
from search.prices import FxError, load_fx
from search.settings import Settings, SettingsError, open_store
from search.store.base import StoreError

DOMAIN_ERRORS = (CatalogError, EmbedderError, StoreError, FxError, SettingsError)


def _settings(index_dir: str | None, text_model: str | None = None, image_model: str | None = None) -> Settings:
    try:
        return Settings.from_env(index_dir=index_dir, text_model=text_model, image_model=image_model)
    except SettingsError as e:              # a malformed DUPE_* setting: one line, no traceback
        raise click.ClickException(str(e)) from None


@click.group()
def main() -> None:
    """Dupe search: find factory products that are honest alternatives to brand products."""


@main.command("index")
@click.argument("catalog_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--index-dir", help="Index folder (default $DUPE_INDEX_DIR or var/index).")
@click.option("--rebuild", is_flag=True, help="Build a fresh index and swap it in when done (a damaged index "
              "is rebuilt without being asked).")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write rejected records (default <index-dir>/rejects.jsonl).")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096))
@click.option("--text-model", help="Text model spec (default $DUPE_TEXT_MODEL or 'use').")
@click.option("--image-model", help="Image model spec (default $DUPE_IMAGE_MODEL or 'effnet-sscd'; 'none').")
def index_cmd(catalog_dir: Path, index_dir: str | None, rebuild: bool, rejects_path: Path | None,
              batch_size: int, text_model: str | None, image_model: str | None) -> None:
    """Index (or update) the catalog in CATALOG_DIR. Only changed records are embedded.

    A rejected record keeps its last valid version in the index. One run writes an index
    at a time: a second one waits. A damaged index is repaired (records written again) or,
    if its pages are damaged, rebuilt from the catalog."""
    from indexer.embed.registry import image_embedder, text_embedder
    from indexer.pipeline import Indexer, write_rejects

    settings = _settings(index_dir, text_model, image_model)
    if not catalog_dir.is_dir():
        raise click.UsageError(f"catalog folder not found: {catalog_dir}")
    try:
        text = text_embedder(settings.text_model)
        image = image_embedder(settings.image_model)
        store = open_store(settings)
        progress = _progress_bar if sys.stderr.isatty() else None
        say = functools.partial(click.echo, err=True)          # waiting for another run, rebuilding
        report = Indexer(store, text, image, batch_size=batch_size, say=say).run(
            catalog_dir, rebuild=rebuild, progress=progress)
        store.close()
    except DOMAIN_ERRORS as e:
        raise click.ClickException(str(e)) from None

    for note in report.read_notes:
        click.echo(f"note: {note}", err=True)
    rejects_path = rejects_path or (settings.index_dir / "rejects.jsonl")
    write_rejects(report.rejects, rejects_path)
    _echo_some("rejected", report.rejects)
    if report.rejects:
        click.echo(f"all rejects: {rejects_path}", err=True)
    warnings_path = settings.index_dir / "warnings.jsonl"
    _write_warnings(report.warnings, warnings_path)
    _echo_some("warning", report.warnings)
    if report.warnings:
        click.echo(f"all warnings ({len(report.warnings)}; their records are indexed as given): {warnings_path}",
                   err=True)
    click.echo(report.summary())


def _echo_some(label: str, items: list, shown: int = 20) -> None:
    """The first ``shown`` rejects or warnings on stderr; the files hold them all."""
    for item in items[:shown]:
        click.echo(f"{label}: {item}", err=True)
    if len(items) > shown:
        click.echo(f"... and {len(items) - shown} more", err=True)


def _write_warnings(warnings: list[RecordWarning], path: Path) -> None:
    """One JSON object per warning (file, line, id, reason), like ``rejects.jsonl``; no
    file when there are none (one left by an earlier run is removed: it is out of date)."""
    if not warnings:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for w in warnings:
            f.write(json.dumps({"file": w.file, "line": w.line, "id": w.record_id, "reason": w.reason},
                               ensure_ascii=False) + "\n")


def _progress_bar(total_docs: int, total_removed: int):
    from tqdm import tqdm
    bar = tqdm(total=total_docs, unit="doc", desc="indexing", file=sys.stderr)

    def tick(n: int) -> None:
        bar.update(n)
        if bar.n >= bar.total:
            bar.close()
    return tick


@main.command("search")
@click.argument("query", required=False)
@click.option("--photo", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Search by this photo.")
@click.option("--index-dir", help="Index folder (default $DUPE_INDEX_DIR or var/index).")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid", show_default=True)
@click.option("--no-ocr", is_flag=True, help="Do not read text on the photo.")
@click.option("--currency", help="Show prices in this ISO 4217 currency (the exchange table's: DUPE_FX).")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON response.")
def search_cmd(query: str | None, photo: Path | None, index_dir: str | None, k: int, mode: str,
               no_ocr: bool, currency: str | None, as_json: bool) -> None:
    """Search the index by text QUERY and/or --photo, and print the dupes found."""
    from indexer.compose import build_engine
    from indexer.images import ImageError, load_local
    from search.requests import QueryError, SearchRequest
    from search.serialize import in_currency, response_json

    if not query and not photo:
        raise click.UsageError("give a QUERY or --photo")
    settings = _settings(index_dir)
    currency = currency.strip().upper() if currency else None
    try:
        fx = load_fx(settings.fx)
        if problem := fx.unknown(currency):
            raise click.UsageError(f"--currency: {problem}")
        image = load_local(photo.name, photo.parent.resolve()) if photo else None
        engine = build_engine(settings, ocr=not no_ocr, fx=fx)
        resp = engine.search(SearchRequest(text=query, image=image, k=k, mode=mode))  # type: ignore[arg-type]
    except (ImageError, QueryError) as e:
        raise click.UsageError(str(e)) from None
    except DOMAIN_ERRORS as e:
        raise click.ClickException(str(e)) from None
    data = response_json(resp, lang="en")
    if currency is not None:
        data = in_currency(data, currency, fx)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    u = data["understood"]
    click.echo(f"understood: brand={u['brand'] and u['brand']['name']} "
               f"product={u['brand_product'] and u['brand_product']['title']} ocr={u['ocr_text']!r}")
    if u["alternatives"]:
        click.echo("  or did you mean: " + "; ".join(f"{a['title']} ({a['id']})" for a in u["alternatives"]))
    if u["unknown_brand"]:
        click.echo(f"no dupes of {u['unknown_brand']} in this catalog yet (results below are similar products, "
                   "with no label or saving claimed)")
    for i, r in enumerate(data["results"], start=1):
        saving = r["savings"][0]["text"] if r["savings"] else ""
        more = f" (+{len(r['more'])} more)" if r["more"] else ""
        click.echo(f"{i:>2}. [{r['label']['type']}] {r['title']} - {r['factory']['name']} "
                   f"{r['min_price']} {r['currency']} MOQ {r['moq']} {saving}{more}")


def _few_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the request threads start. By default each thread
    that allocates may get its own arena (up to 8 per core), and the megabytes a photo
    search frees (decoded pixels, OCR feature maps) stay in that thread's arena: with 16
    threads the server's RSS ratchets up by each photo's working memory per thread. No-op
    off glibc, or when MALLOC_ARENA_MAX is set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)            # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=32, show_default=True, type=click.IntRange(1, 64),
              help="Request threads. Photo searches hold all but 4 of them (one running per core, "
                   "the others waiting in turn; DUPE_PHOTO_WORKERS, DUPE_PHOTO_QUEUE); the rest stay free "
                   "for text searches and pages.")
def serve_cmd(host: str, port: int, threads: int) -> None:
    """Serve the JSON API and the search page with a production WSGI server (waitress)."""
    from waitress import serve

    from web import create_app
    from web.auth import KeyConfigError
    from web.links import PublicUrlError

    _few_malloc_arenas()
    config: dict = {"SERVER_THREADS": threads}
    if "DUPE_WARM_START" not in os.environ:
        config["WARM_START"] = True         # load the index and models before saying ready
    if not os.environ.get("DUPE_PUBLIC_URL") and host not in ("0.0.0.0", "::", ""):
        # Absolute links (API card_url, og:url) name the address served, never the
        # request's Host header; behind a proxy or on 0.0.0.0 set DUPE_PUBLIC_URL.
        config["PUBLIC_URL"] = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    try:
        app = create_app(config)
    except (*DOMAIN_ERRORS, KeyConfigError, PublicUrlError) as e:
        raise click.ClickException(str(e)) from None
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    hold = app.extensions["dupe_engine"]
    if app.config["WARM_START"]:
        click.echo(f"dupe search is starting on {url}/: loading the index and models...", err=True)
        threading.Thread(target=_say_when_ready, args=(hold, url), name="dupe-ready", daemon=True).start()
    else:
        click.echo(f"dupe search is serving on {url}/ (API: {url}/api/v1/health)")
    serve(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True)


def _say_when_ready(hold, url: str) -> None:
    """Print the URL once the warm-up is done (``make run`` shows it when it can be used),
    or why the index cannot be used (the service keeps trying: ``/api/v1/health``)."""
    from web.errors import public_text
    hold.wait_ready()
    if hold.engine is not None:
        note = f"; not warmed: {'; '.join(public_text(p) for p in hold.warm_problems)}" if hold.warm_problems else ""
        click.echo(f"dupe search is serving on {url}/ (API: {url}/api/v1/health), ready in {hold.ready_in:.1f} s{note}")
    else:
        why = hold._error[1] if hold._error else "unknown"
        click.echo(f"dupe search is serving on {url}/ but cannot search yet: {public_text(str(why))} "
                   f"(retried on each request; see {url}/api/v1/health)", err=True)


@main.command("info")
@click.option("--index-dir", help="Index folder (default $DUPE_INDEX_DIR or var/index).")
def info_cmd(index_dir: str | None) -> None:
    """Show what the index holds and which models built it."""
    try:
        store = open_store(_settings(index_dir), create=False)
        info = store.info()
    except DOMAIN_ERRORS as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps({"count": info.count, "models": info.models, "dims": info.dims,
                           "generation": info.generation}, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
