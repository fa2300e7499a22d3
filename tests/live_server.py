"""A real HTTP server for tests that must go over the wire (a generated API client, the
README's curl commands): the production server, waitress, on 127.0.0.1 and a free port,
in a thread of the test process, serving an app built by ``tests.test_web_helpers``."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serving(app: Any, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` with waitress until the block ends; yields its base URL
    (``http://127.0.0.1:PORT``, no trailing slash)."""
    from waitress import wasyncore
    from waitress.server import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # The listening socket and any kept-alive connection: the loop ends with its map empty.
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=5)
        thread.join(timeout=5)
