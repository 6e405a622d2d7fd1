"""A bound on the CPU time of one piece of work on outside input (a page's parse, a pasted check).

The timer counts the process's CPU time (ITIMER_PROF), so a loaded machine does not cut work that
merely waited, and raises `CpuTimeUsed` (a BaseException, so that no `except Exception` in the
work keeps it) in the main thread. Its handler is installed once per process: SIGPROF has no
other use here. Off the main thread no timer can be set, and the work runs unbounded in time.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CpuTimeUsed(BaseException):
    """The work used its CPU time."""


def _on_timer(signum, frame) -> None:
    raise CpuTimeUsed


_installed = False


@contextmanager
def cpu_time_limit(seconds: float) -> Iterator[None]:
    global _installed
    timed = threading.current_thread() is threading.main_thread()
    if timed:
        if not _installed:
            signal.signal(signal.SIGPROF, _on_timer)
            _installed = True
        signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_PROF, 0)
