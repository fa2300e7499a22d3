"""Child process of the hostile-input harness (``benchmarks.hostile``) and of
``tests/test_hostile_server.py``: the real ``dupe index`` / ``dupe serve`` commands, with
either the real models or the fake embedders of ``tests/conftest.py``.

    python -m benchmarks.hostile_server index CATALOG INDEX_DIR [--fake-models]
    python -m benchmarks.hostile_server serve PORT [--threads N] [--fake-models]

Everything else (index folder, catalog folder, upload folder, keys, limits, OCR) comes
from the ``DUPE_*`` environment, as for the real command. With ``--fake-models`` the text
and image models are the fakes, but OCR stays real unless ``DUPE_OCR=false``: the fakes
replace only the two embedders, registered under the specs the index was built with.
"""
from __future__ import annotations

import argparse
import os
import sys


def _use_fakes() -> None:
    from tests.fault_tools.fakes import IMAGE_SPEC, TEXT_SPEC, register
    os.environ["DUPE_TEXT_MODEL"], os.environ["DUPE_IMAGE_MODEL"] = TEXT_SPEC, IMAGE_SPEC
    register()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.hostile_server")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ix = sub.add_parser("index")
    ix.add_argument("catalog")
    ix.add_argument("index_dir")
    ix.add_argument("--fake-models", action="store_true")
    sv = sub.add_parser("serve")
    sv.add_argument("port")
    sv.add_argument("--threads", help="waitress threads (default: dupe serve's own)")
    sv.add_argument("--fake-models", action="store_true")
    args = ap.parse_args(argv)

    if args.fake_models:
        _use_fakes()
    import web
    from indexer import cli
    # The harness checks this line: the code measured is the tree it was started in.
    print(f"code: {os.path.dirname(os.path.dirname(os.path.abspath(web.__file__)))}", flush=True)
    if args.cmd == "index":
        cli.main(["index", args.catalog, "--index-dir", args.index_dir], standalone_mode=True)
    else:
        threads = ["--threads", args.threads] if args.threads else []
        cli.main(["serve", "--host", "127.0.0.1", "--port", args.port, *threads], standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
