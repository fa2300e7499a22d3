"""``python -m tests.fault_tools.run_indexer CATALOG INDEX_DIR [--rebuild] [--batch-size N]``

Runs the real ``dupe index`` command with the fake embedders, printing one line
``committed <n>`` to stdout (flushed) after every batch the store has committed, so a
test can SIGKILL it mid-run at a point it chooses. ``--slow S`` sleeps S seconds after
each batch (spreads a run over time so a random kill lands mid-run)."""
from __future__ import annotations

import sys
import time

from tests.fakes import IMAGE_SPEC, TEXT_SPEC, register


class _Tty:
    """stderr that claims to be a terminal, so ``dupe index`` asks for its progress bar."""

    def __init__(self, stream):
        self._s = stream

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self._s, name)


def main(argv: list[str]) -> None:
    slow = 0.0
    if "--slow" in argv:
        i = argv.index("--slow")
        slow = float(argv[i + 1])
        del argv[i:i + 2]
    register()
    from indexer import cli

    def progress(total_docs: int, total_removed: int):
        print(f"start {total_docs}", flush=True)

        def tick(n: int) -> None:
            print(f"committed {n}", flush=True)
            if slow:
                time.sleep(slow)
        return tick

    cli._progress_bar = progress            # type: ignore[assignment]
    sys.stderr = _Tty(sys.stderr)           # type: ignore[assignment]
    cat, index_dir, *rest = argv
    cli.main(["index", cat, "--index-dir", index_dir, "--text-model", TEXT_SPEC, "--image-model", IMAGE_SPEC,
              *rest], standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
