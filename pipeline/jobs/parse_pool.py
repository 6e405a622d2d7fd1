"""The worker processes that parse pages, for every job that parses many: scrape, ingest, `parse`.

Parsing is CPU work on bytes from outside. It runs in forked worker processes, which gives a job
the machine's cores and gives every page a bound decided before its parse starts: CPU time
(`PAGE_CPU_SECONDS`) and memory (`PAGE_MEMORY_BYTES` above what the worker held when it started).
A page past either is a failed page (a `PageOverLimit` naming it), never a stored version; a
worker that dies anyway (the kernel's OOM killer) is replaced and only its pages fail.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial

from catalog.limits import CpuTimeUsed, cpu_time_limit
from pipeline.parse.sources import PageError

# The largest real page (vbr used_ports, rendered as helpcenter HTML) parses in 0.18 s and a few MB;
# a hostile 4 MB page of <b> tags took 11-20 s and 520-680 MB.
PAGE_CPU_SECONDS = 5.0
PAGE_MEMORY_BYTES = 768 * 1024 * 1024
SCRAPE_NICENESS = 19  # the scrape's parsing can wait; the fetch loop's responses cannot
MAX_WORKERS = 4
PR_SET_PDEATHSIG = 1


class PageOverLimit(PageError):
    """A page whose parse went past its CPU-time or memory bound."""


class BudgetUsed(Exception):
    """The caller's deadline passed while pages were still being parsed."""


@contextmanager
def page_bounds(where: str) -> Iterator[None]:
    """Run one page's parse under the CPU-time bound (`catalog.limits`; in a worker, the memory
    bound holds too)."""
    try:
        with cpu_time_limit(PAGE_CPU_SECONDS):
            yield
    except CpuTimeUsed:
        raise PageOverLimit(f"{where}: parsing took over {PAGE_CPU_SECONDS:g} s of CPU time; "
                            "not stored") from None
    except MemoryError:
        raise PageOverLimit(f"{where}: parsing needed over {PAGE_MEMORY_BYTES // 2**20:,} MB of "
                            "memory; not stored") from None


def default_workers() -> int:
    """One worker per core this process may run on, at most `MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _address_space() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _start_worker(niceness: int) -> None:
    """A worker ends when the job that forked it ends, even by kill -9 (Linux prctl), runs at
    `niceness`, and may grow `PAGE_MEMORY_BYTES` beyond what it inherited."""
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    size = _address_space()
    if size is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + PAGE_MEMORY_BYTES
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the pool's own shutdown is all there is
    if os.getppid() == 1:
        os._exit(0)  # the parent died before prctl took effect


class ParsePool:
    """Forked parse workers, all started at once; a pool broken by a dead worker is replaced.

    Start it before taking the catalog lock or opening the catalog: forked workers inherit open
    descriptors, and one holding the lock file would keep the lock after the job died.
    """

    def __init__(self, workers: int, niceness: int = 0, html: bool = True) -> None:
        self.workers, self.niceness = workers, niceness
        self.generation = 0  # how many times the pool was replaced (callers restart it once)
        if html:  # the HTML front-end (bs4 and lxml, ~130 ms) loaded once before forking, not in each worker
            importlib.import_module("pipeline.parse.html_frontend")
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_start_worker, initargs=(self.niceness,))
        executor.submit(int).result()  # with fork, the first submit starts every worker
        return executor

    def submit(self, function: Callable, *args) -> Future:
        try:
            return self._executor.submit(function, *args)
        except BrokenProcessPool:
            self.restart()
            return self._executor.submit(function, *args)

    def restart(self) -> None:
        """Replace a broken pool (its pending work failed with BrokenProcessPool)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()
        self.generation += 1

    def shutdown(self, wait: bool = True, cancel_futures: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill(self) -> None:
        """Stop at once, pages half parsed included (a job past its time budget)."""
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.kill()


def start_pool(workers: int | None, niceness: int = 0, html: bool = True) -> ParsePool | None:
    """A started `ParsePool` (None for `workers == 0`: the job parses inline); `html`: the job may
    parse helpcenter HTML (a job of Markdown files only spares loading its front-end)."""
    workers = default_workers() if workers is None else workers
    return ParsePool(workers, niceness, html) if workers > 0 else None


Outcome = tuple[bool, object]
"""(True, result) or (False, the PageError's message)."""


def run_bounded(function: Callable, item: tuple) -> Outcome:
    """`function(*item)` under the page bounds; `item[0]` names the page in messages."""
    try:
        with page_bounds(str(item[0])):
            return True, function(*item)
    except PageError as error:
        return False, str(error)


def run_chunk(function: Callable, items: list[tuple]) -> list[Outcome]:
    """Several pages in one worker round trip (runs in a worker)."""
    return [run_bounded(function, item) for item in items]


def map_in_order(pool: ParsePool | None, function: Callable, items: Iterable[tuple], chunk: int = 32,
                 ahead: int | None = None, deadline: float | None = None) -> Iterator[Outcome]:
    """`run_bounded(function, item)` for each item, in the items' order (see `map_chunks_in_order`)."""
    return map_chunks_in_order(pool, partial(run_chunk, function), items, chunk, ahead, deadline)


def map_chunks_in_order(pool: ParsePool | None, chunk_function: Callable, items: Iterable[tuple],
                        chunk: int = 32, ahead: int | None = None,
                        deadline: float | None = None) -> Iterator[Outcome]:
    """`chunk_function(items)` over chunks of the items, one outcome per item in the items' order,
    with `ahead` chunks in flight. `chunk_function` and the items must be picklable (module-level
    functions, partials of them, plain values); `item[0]` names the page. Without a pool the work
    runs inline. A chunk whose worker died is run again one page at a time, so only the page that
    killed its worker fails. Past `deadline` (time.monotonic()) it raises BudgetUsed; the caller
    kills the pool (`ParsePool.kill`) when it must not wait for the chunks in flight.
    """
    iterator = iter(items)
    if pool is None:
        while batch := [item for _, item in zip(range(chunk), iterator, strict=False)]:
            if deadline is not None and time.monotonic() > deadline:
                raise BudgetUsed
            yield from chunk_function(batch)
        return
    ahead = ahead or 2 * pool.workers
    pending: deque[tuple[list[tuple], Future]] = deque()
    while True:
        while len(pending) < ahead:
            batch = [item for _, item in zip(range(chunk), iterator, strict=False)]
            if not batch:
                break
            pending.append((batch, pool.submit(chunk_function, batch)))
        if not pending:
            return
        batch, future = pending.popleft()
        try:
            yield from future.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise BudgetUsed from None
        except BrokenProcessPool:
            yield from _after_a_dead_worker(pool, chunk_function, batch, pending)


def _resubmit(pool: ParsePool, chunk_function: Callable, pending: deque[tuple[list[tuple], Future]]) -> None:
    """After a restart, the chunks whose futures died with the old pool go to the new one."""
    for index, (waiting, future) in enumerate(pending):
        if not future.done() or future.exception() is not None:
            pending[index] = (waiting, pool.submit(chunk_function, waiting))


def _after_a_dead_worker(pool: ParsePool, chunk_function: Callable, batch: list[tuple],
                         pending: deque[tuple[list[tuple], Future]]) -> Iterator[Outcome]:
    pool.restart()
    _resubmit(pool, chunk_function, pending)
    for item in batch:
        try:
            yield from pool.submit(chunk_function, [item]).result()
        except BrokenProcessPool:
            pool.restart()
            _resubmit(pool, chunk_function, pending)
            yield False, f"{item[0]}: the parse worker died on this page (over its memory bound?); not stored"
