"""The index folder: which database file is live (``CURRENT``), who may write (``LOCK``),
the files saved beside a database, and the removal of files no one can be using.

``CURRENT`` names the live database file (``index-<n>.sqlite``); a rebuild fills a new
file and replaces ``CURRENT`` atomically, so readers keep answering from the old file until
the swap. ``LOCK`` is held (``flock``) by the one process writing; under it, database
files ``CURRENT`` does not name are removed (``remove_stale_files``).
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from search.store.base import StoreError

log = logging.getLogger(__name__)

DB_NAME = re.compile(r"index-([0-9]{1,18})\.sqlite")


def write_current(folder: Path, name: str) -> None:
    """Make ``name`` the live database file, atomically."""
    current = folder / "CURRENT"
    tmp = folder / f"CURRENT.tmp-{os.getpid()}"
    tmp.write_text(name + "\n")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    if current.is_dir() and not current.is_symlink():     # a damaged folder: move it aside
        os.replace(current, folder / f"CURRENT.broken-{time.time_ns()}")
    os.replace(tmp, current)


def read_current(folder: Path) -> tuple[str, str | None]:
    """The database file ``CURRENT`` names, or why it names none."""
    try:
        name = (folder / "CURRENT").read_text().strip()
    except (OSError, UnicodeError) as e:
        return "", f"unreadable ({e})"
    if not DB_NAME.fullmatch(name):
        return "", f"incomplete: its database file is missing or empty (CURRENT holds {name[:40]!r})"
    return name, None


def next_db_file(folder: Path) -> Path:
    """A database file name no file of the folder has yet (for a rebuild)."""
    n = max([int(m.group(1)) for p in folder.glob("index-*.sqlite") if (m := DB_NAME.fullmatch(p.name))] or [0])
    return folder / f"index-{n + 1}.sqlite"


class WriterLock:
    """``flock`` on ``<folder>/LOCK``: one writing process (or thread) at a time, re-entrant
    within a thread (a rebuild holds it while the indexer fills the new file). The kernel
    drops it when the holder dies, so a killed run never leaves it held."""

    _held = threading.local()

    @classmethod
    @contextlib.contextmanager
    def hold(cls, folder: Path, on_wait: Callable[[str], None] | None) -> Iterator[bool]:
        """Yields True when this call took the lock, False when the thread held it already."""
        held: dict[str, int] = cls._held.__dict__.setdefault("folders", {})
        key = str(folder.resolve())
        if key in held:
            held[key] += 1
            try:
                yield False
            finally:
                held[key] -= 1
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(f"cannot write to the index at {folder} ({e.strerror})") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                (on_wait or log.warning)(f"another indexing run ({who}) is writing to this index: "
                                         f"waiting for it to finish")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            held[key] = 1
            try:
                yield True
            finally:
                del held[key]
        finally:
            os.close(fd)                # releases the lock


def remove_stale_files(folder: Path) -> list[str]:
    """Under the writer lock: remove the database files (and their -wal, -shm, saved
    graphs and views) that ``CURRENT`` does not name. Returns a note if any were.

    No writer can be filling them (the lock), so each is a rebuild that never finished
    (killed: no reader ever opened it, readers open only what ``CURRENT`` names) or a
    replaced file whose removal was cut short. A reader may still hold a replaced file
    open: removing it is what every swap does (a removed file stays readable through
    open handles on POSIX, and readers check ``CURRENT`` on every call and move on).
    Nothing is removed while ``CURRENT`` names no existing file: which file is live is
    then unknown (the rebuild that repairs it cleans up after its swap)."""
    live, problem = read_current(folder)
    if problem or not (folder / live).is_file():
        return []
    stale: dict[str, list[Path]] = {}
    for p in folder.iterdir():
        m = re.match(r"(index-[0-9]{1,18}\.sqlite)(-wal|-shm|\..+)?$", p.name)
        if m and m.group(1) != live:
            stale.setdefault(m.group(1), []).append(p)
        elif p.name.startswith("CURRENT.tmp-") or p.name.startswith("CURRENT.broken-"):
            stale.setdefault(p.name, []).append(p)
    size = 0
    for files in stale.values():
        for p in files:
            with contextlib.suppress(OSError):
                size += p.stat().st_size if p.is_file() else 0
                if p.is_dir() and not p.is_symlink():
                    os.rmdir(p)
                else:
                    p.unlink()
    dbs = sum(1 for name in stale if name.endswith(".sqlite"))
    if not dbs:
        return []
    return [f"removed {dbs} unfinished or replaced index file{'s' if dbs > 1 else ''} ({size / 1e6:.1f} MB)"]


def remove_db(db_file: Path) -> None:
    """A database file and everything saved beside it."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(str(db_file) + suffix)
    for p in db_file.parent.glob(db_file.name + ".*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def sidecars(db_file: Path, part: str, suffix: str) -> list[tuple[int, Path]]:
    """Files saved beside a database (``<db>.<part>.s<seq><suffix>``), newest first."""
    out = []
    prefix = f"{db_file.name}.{part}.s"
    for p in db_file.parent.glob(f"{prefix}*{suffix}"):
        seq = p.name[len(prefix):-len(suffix)]
        if seq.isdigit():
            out.append((int(seq), p))
    return sorted(out, reverse=True)


def sidecar(db_file: Path, part: str, seq: int, suffix: str) -> Path:
    """Where a file saved beside a database at log position ``seq`` lives."""
    return db_file.parent / f"{db_file.name}.{part}.s{seq}{suffix}"


def remove_older_sidecars(db_file: Path, part: str, seq: int, suffix: str) -> None:
    """Files of ``part`` saved at log positions before ``seq`` (replaced by a newer one)."""
    for old_seq, p in sidecars(db_file, part, suffix):
        if old_seq < seq:
            with contextlib.suppress(OSError):
                p.unlink()
