"""``python -m tests.fault_tools.serve INDEX_DIR CATALOG_DIR PORT``: the real ``dupe serve``
(waitress) on 127.0.0.1 with the fake embedders, for restart and load tests."""
from __future__ import annotations

import os
import sys

from tests.fakes import IMAGE_SPEC, TEXT_SPEC, register


def main(argv: list[str]) -> None:
    index_dir, catalog_dir, port = argv
    os.environ.update({"DUPE_INDEX_DIR": index_dir, "DUPE_CATALOG_DIR": catalog_dir, "DUPE_TEXT_MODEL": TEXT_SPEC,
                       "DUPE_IMAGE_MODEL": IMAGE_SPEC, "DUPE_OCR": "false"})
    register()
    from indexer import cli
    cli.main(["serve", "--host", "127.0.0.1", "--port", port, "--threads", "4"], standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
