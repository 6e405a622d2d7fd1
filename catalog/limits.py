"""Bounds on work on outside input: the bytes read from a file or stream, and the CPU time of
one piece of work (a page's parse, a pasted check).

Reading stops one byte past its limit, so a 50 MB file or an endless stream costs at most the
limit, and the caller tells "over the limit" by the length alone.

The CPU timer counts the process's CPU time (ITIMER_PROF), so a loaded machine does not cut work
that merely waited, and raises `CpuTimeUsed` (a BaseException, so that no `except Exception` in
the work keeps it) in the main thread. Its handler is installed once per process: SIGPROF has no
other use here. Off the main thread no timer can be set, and the work runs unbounded in time.

A Python signal handler can run inside a `__del__` or a weakref callback, where an exception is
printed and dropped; so once the bound is used the timer keeps firing (every `REPEAT` s) until
the work stops, and work that returns after its bound was used still ends in `CpuTimeUsed`.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

REPEAT = 0.05
_CHUNK = 1 << 20


def read_at_most(stream, limit: int) -> bytes:
    """At most `limit + 1` bytes of a binary stream, read in chunks of at most 1 MB: a result
    longer than `limit` means the input is over it."""
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class CpuTimeUsed(BaseException):
    """The work used its CPU time."""


class _Bound:
    active = False  # a bounded piece of work is running: the handler raises
    used = False  # the timer fired during it


def _on_timer(signum, frame) -> None:
    if _Bound.active:
        _Bound.used = True
        raise CpuTimeUsed


_installed = False


def _disarm() -> None:
    # A firing already pending when the timer is stopped still runs its handler at the next
    # bytecode: stop the timer, then turn the handler off, and start again if it struck between.
    while True:
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
            _Bound.active = False
            return
        except CpuTimeUsed:
            continue


@contextmanager
def cpu_time_limit(seconds: float) -> Iterator[None]:
    global _installed
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _installed:
        signal.signal(signal.SIGPROF, _on_timer)
        _installed = True
    _Bound.active, _Bound.used = True, False
    signal.setitimer(signal.ITIMER_PROF, seconds, REPEAT)
    try:
        yield
    finally:
        _disarm()
    if _Bound.used:  # the work went on after its bound: something swallowed the exception
        raise CpuTimeUsed


class InFlight:
    """Requests from outside being worked on at once: at most `per_client` from one client and
    `total` in all. Asked and updated on one event loop, so no lock is needed."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client, self.total = per_client, total
        self._running: Counter[str] = Counter()

    def refusal(self, client: str) -> str | None:
        """"client" when this client is at its bound, "total" when the site is, else None."""
        if self._running[client] >= self.per_client:
            return "client"
        return "total" if sum(self._running.values()) >= self.total else None

    @contextmanager
    def held(self, client: str) -> Iterator[None]:
        self._running[client] += 1
        try:
            yield
        finally:
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
