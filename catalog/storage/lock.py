"""One writer at a time, per catalog file: a lock keyed by the file's identity (device and inode).

The key is the file itself, not a name for it: `--db link.db` (a symlink), `./x/../c.db` and a hard
link all meet the same lock. A catalog that does not exist yet is created empty first, so the
first writer of a new file has its identity too (and an empty file it created is removed again
when the run leaves nothing in it).
Lock files live in the user's cache folder (`$XDG_CACHE_HOME/veeam-perms/locks`, else a per-user
folder under the temp dir), never beside the catalog, so they do not show in the user's folders
or `git status`. The lock is `flock` on that file, released by the kernel when the process dies; a finished
run removes its lock file.

SQLite's own locks (a `sqlite3` shell holding `BEGIN IMMEDIATE`, say) are another matter: writers
wait for them (busy timeout, catalog/storage/database.py) and `sqlite_lock_holder` names who holds them.
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


def _identity(db_path: str | Path) -> str:
    """The catalog file's device and inode; its resolved path while it does not exist."""
    try:
        status = os.stat(db_path)
    except OSError:
        return "path " + os.path.realpath(db_path)
    return f"file {status.st_dev}:{status.st_ino}"


def lock_path(db_path: str | Path) -> Path:
    """The lock file of a catalog: named by a hash of the file's identity."""
    return _lock_folder() / (hashlib.sha256(_identity(db_path).encode()).hexdigest()[:32] + ".lock")


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


def _create_empty(db_path: str | Path) -> bool:
    """Create the catalog file when it is missing (so it has an identity); True when this call made it."""
    try:
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError:  # it exists, or its folder does not: SQLite says which when it opens it
        return False
    return True


def _remove_if_empty(db_path: str | Path) -> None:
    try:
        if os.stat(db_path).st_size == 0:
            os.unlink(db_path)
    except OSError:
        pass


@contextmanager
def catalog_lock(db_path: str | Path):
    created = _create_empty(db_path)
    # On a failure to lock, the empty file just made stays: the writer that holds the lock may be using it.
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
        if created:
            _remove_if_empty(db_path)  # a run that wrote nothing leaves no empty file behind
        path.unlink(missing_ok=True)  # while still locked: the next writer makes a fresh file
        handle.close()


def _command_line(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    text = " ".join(" ".join(word.decode("utf-8", "replace").split()) for word in words if word.strip())
    return text if len(text) <= 80 else text[:77] + "..."


def sqlite_lock_holder(db_path: str | Path) -> str:
    """Who else holds an SQLite lock on the catalog file ("pid N (its command line)"), as far as
    the kernel's lock table (/proc/locks, Linux) tells; "another process" when it cannot."""
    try:
        status = os.stat(db_path)
        table = Path("/proc/locks").read_text()
    except OSError:
        return "another process"
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    holders = []
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "POSIX":
            continue  # a waiter, or a lock of another kind
        pid, where = fields[4], fields[5]
        if where == device and pid.isdigit() and int(pid) != os.getpid() and pid not in holders:
            holders.append(pid)
    if not holders:
        return "another process"
    return ", ".join(f"pid {pid}" + (f" ({line})" if (line := _command_line(int(pid))) else "")
                     for pid in holders[:3])
