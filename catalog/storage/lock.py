"""One writer at a time: a lock file beside the catalog, held for the whole run."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path


class CatalogLocked(Exception):
    pass


@contextmanager
def catalog_lock(db_path: str | Path):
    lock_path = Path(f"{db_path}.lock")
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CatalogLocked(
                f"{db_path} is being written by {holder}; wait for that run to finish "
                f"(lock file {lock_path})") from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
