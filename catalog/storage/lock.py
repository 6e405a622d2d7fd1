"""One writer at a time, per catalog file: a lock keyed by the file's resolved path.

The key is the real path, so `--db link.db` (a symlink) or `./x/../c.db` meets the same lock.
Lock files live in the user's cache folder (`$XDG_CACHE_HOME/veeam-perms/locks`, else a per-user
folder under the temp dir), never beside the catalog, so they do not show in the user's folders
or `git status`. The lock is `flock` on that file, released by the kernel when the process dies; a finished
run removes its lock file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

STALE_LOCK_SECONDS = 3600.0
MAX_SWEPT = 200


class CatalogLocked(Exception):
    pass


def _lock_folder() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(cache) / "veeam-perms" / "locks",
                   Path(tempfile.gettempdir()) / f"veeam-perms-locks-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    raise CatalogLocked("no writable folder for catalog locks (tried the cache and temp folders)")


def lock_path(db_path: str | Path) -> Path:
    """The lock file of a catalog: named by a hash of its resolved path."""
    real = os.path.realpath(db_path)
    return _lock_folder() / (hashlib.sha256(real.encode()).hexdigest()[:32] + ".lock")


def held_by(db_path: str | Path) -> str | None:
    """Who holds the write lock of `db_path` ("pid N"), or None when nobody writes it now."""
    path = lock_path(db_path)
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            return handle.read().split(",")[0].strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _acquire(path: Path, db_path: str | Path):
    """The open, locked lock file; a file unlinked by its last holder meanwhile is not trusted."""
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().split(",")[0].strip() or "another process"
            handle.close()
            raise CatalogLocked(f"{db_path} is being written by {holder}; wait for that run to "
                                "finish") from error
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()


def sweep_stale_locks(folder: Path, older_than: float = STALE_LOCK_SECONDS) -> int:
    """Remove lock files nobody holds any more (left by a kill -9); return how many."""
    removed = 0
    for path in sorted(folder.glob("*.lock"))[:MAX_SWEPT]:
        try:
            if time.time() - path.stat().st_mtime < older_than:
                continue
            with open(path, "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # Unlinked while locked: a writer that opened it meanwhile sees a stale inode and retries.
                path.unlink(missing_ok=True)
                removed += 1
        except (BlockingIOError, OSError):
            continue
    return removed


@contextmanager
def catalog_lock(db_path: str | Path):
    path = lock_path(db_path)
    sweep_stale_locks(path.parent)
    handle = _acquire(path, db_path)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {os.path.realpath(db_path)}")
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)  # while still locked: the next writer makes a fresh file
        handle.close()
