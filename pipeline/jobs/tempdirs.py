"""Temporary folders the jobs own (bundle clones, the served site's link folder), never left behind.

Each folder carries an owner file (pid and process start time). A folder is removed when its job
ends, on SIGTERM (turned into SystemExit so `finally` blocks run), and, if a kill -9 left it, at
the next start by any job that makes one of its kind: only when its owner is no longer running.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

BUNDLE_PREFIX = "veeam-perms-bundle-"
SITE_PREFIX = "veeam-perms-site-"
OWNER_FILE = ".veeam-perms-owner"
UNOWNED_GRACE_SECONDS = 600  # a folder whose owner file is missing may be a moment old


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _running(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return started is None or _start_time(pid) in (None, started)


def owned_tempdir(prefix: str) -> Path:
    """A new temporary folder marked as this process's (after sweeping dead owners' leftovers)."""
    sweep_leftovers(prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid()) or ''}\n")
    return folder


def sweep_leftovers(prefix: str) -> list[Path]:
    """Remove folders of this kind whose owner is gone; return what was removed."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(prefix + "*"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        try:
            fields = (folder / OWNER_FILE).read_text().split()
            alive = _running(int(fields[0]), fields[1] if len(fields) > 1 else None)
        except (OSError, ValueError, IndexError):
            alive = time.time() - folder.stat().st_mtime < UNOWNED_GRACE_SECONDS
        if not alive:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def temporary_folder(prefix: str):
    folder = owned_tempdir(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def folder_for_process(prefix: str) -> Path:
    """A temporary folder that lives as long as this process (removed at exit)."""
    folder = owned_tempdir(prefix)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def sigterm_exits():
    """Within the block, SIGTERM unwinds like Ctrl-C does: `finally` blocks and atexit run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
