"""The scrape's writes and parses: pages are parsed in worker processes, stored a batch at a time.

Parsing is CPU work; on the event loop it stalled every fetch behind it, so it runs in a
process pool. Writes are collected and committed as one step of the run per batch of pages,
so a killed scrape keeps every finished batch and SQLite is touched once per batch.
"""

from __future__ import annotations

import asyncio
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import NamedTuple

from catalog.model import Page
from catalog.storage.snapshots import FetchRecord, PackedBody, inflate, pack_body, save_fetches
from catalog.storage.store import CatalogWriter, Observation
from pipeline.fetch.blocked import blocked_reason
from pipeline.fetch.discover import extract_links, extract_markdown_links
from pipeline.jobs.parse_pool import ParsePool, page_bounds
from pipeline.parse.sources import PageError, decode_page, parse_page_text, require_page_url

# `markdown` tells Veeam's own Markdown from a dump by its front matter (parse.sources). An
# `html-facts` snapshot is a page's HTML twin fetched for the build and date its `.md` lacks.
TWIN_FACTS = "html-facts"
PARSE_KINDS = {"md": "markdown", "html": "html", TWIN_FACTS: "html"}


def decode_body(body: bytes, content_type: str, where: str) -> str:
    charset = content_type.split("charset=")[-1].strip() if "charset=" in content_type else "utf-8"
    if charset.lower() in ("utf-8", "utf8"):
        return decode_page(body, where)
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError) as error:
        raise PageError(f"{where}: cannot decode as {charset}") from error


def page_links(text: str, kind: str, page_url: str) -> list[str]:
    return extract_markdown_links(text, page_url) if kind == "md" else extract_links(text, page_url)


def stored_links(blob: bytes, kind: str, page_url: str) -> list[str]:
    """The links of a stored (compressed) body; runs in a worker process. An unchanged page of a
    1,000-entry table of contents took the event loop ~15 ms to inflate and scan."""
    body = inflate(blob)
    return [] if body is None else page_links(body.decode("utf-8", "replace"), kind, page_url)


class NotAPage(PageError):
    """A bot-check, shell or non-HTML answer: failed like a fetch, and its body is not kept."""


class ParseStopped(Exception):
    """The run's time budget ran out before this page was parsed: it is left, not failed."""


class Parsed(NamedTuple):
    page: Page
    links: list[str]
    packed: PackedBody  # the body hashed and compressed for the catalog here, off the event loop


def parse_fetched(body: bytes, content_type: str, kind: str, public_url: str, page_url: str,
                  links: bool = True) -> Parsed:
    """A fetched body -> its Page, (with `links`) the links it carries and its stored form; runs in
    a worker process.

    The bot-check test runs here rather than in the fetcher (the crawl fetches with `check_page`
    off): scanning a 90 KB body took 0.4 ms of the event loop per page. It runs first, as it did in
    the fetcher, and a body that is not the page is a failed fetch with the fetcher's own reason.
    """
    reason = blocked_reason(body, content_type)
    if reason:
        raise NotAPage(reason)
    text = decode_body(body, content_type, public_url)
    page = require_page_url(parse_page_text(text, PARSE_KINDS[kind], url=public_url), public_url)
    return Parsed(page, page_links(text, kind, page_url) if links else [], pack_body(body))


def parse_bounded(*args) -> Parsed:
    """`parse_fetched` under the page bounds of the parse pool (CPU time, and memory in a worker)."""
    with page_bounds(args[3]):
        return parse_fetched(*args)


def parse_many(calls: list[tuple]) -> list[tuple[bool, object]]:
    """Several `parse_fetched` calls in one worker round trip: (True, result) or (False, (error
    text, whether the body was not a page at all))."""
    results: list[tuple[bool, object]] = []
    for args in calls:
        try:
            results.append((True, parse_bounded(*args)))
        except PageError as error:
            results.append((False, (str(error), isinstance(error, NotAPage))))
    return results


class Parser:
    """Parses off the event loop, several pages per worker round trip when the workers are busy.

    Each round trip to a process pool wakes its helper threads, which then contend with the
    loop for the GIL. A page goes out at once while a worker is free; pages that arrive while
    all are busy wait and go together when one finishes (Nagle-style), which cuts the hand-offs
    without delaying anything. Without a pool, parsing happens inline.
    """

    def __init__(self, pool: ParsePool | None, max_batch: int = 8) -> None:
        self.pool, self.max_batch = pool, max_batch
        self.workers = pool.workers if pool is not None else 1
        self._pending: list[tuple[tuple, asyncio.Future]] = []
        self._in_flight = 0
        self._sent: list[asyncio.Future] = []
        # Pages of a batch whose worker died, parsed again one at a time with nothing else in
        # flight: a worker that dies then died of that page alone.
        self._alone: list[tuple[tuple, asyncio.Future]] = []
        self.stopped = False

    def stop(self) -> None:
        """The run's time budget is used: no page waits for a parse any longer. Pages queued or
        half parsed end with `ParseStopped` (they are left for the next run), the workers are
        killed (a hostile page would otherwise keep one for its whole CPU bound)."""
        self.stopped = True
        waiting = [future for _, future in self._pending + self._alone] + self._sent
        self._pending, self._alone = [], []
        for future in waiting:
            if not future.done():
                future.set_exception(ParseStopped("the time budget was used before it was parsed"))
        if self.pool is not None:
            self.pool.kill()

    async def links(self, blob: bytes, kind: str, page_url: str) -> list[str]:
        """`stored_links` off the event loop (inline without a pool)."""
        if self.stopped:
            return []  # nothing more is visited once the budget is used
        if self.pool is None:
            return stored_links(blob, kind, page_url)
        try:
            return await asyncio.wrap_future(self.pool.submit(stored_links, blob, kind, page_url))
        except (BrokenProcessPool, RuntimeError):
            if self.stopped:  # the budget ran out while it waited: the workers were killed
                return []
            raise

    async def parse(self, *args) -> Parsed:
        if self.stopped:
            raise ParseStopped("the time budget was used before it was parsed")
        if self.pool is None:
            return parse_bounded(*args)
        future = asyncio.get_running_loop().create_future()
        self._pending.append((args, future))
        if self._in_flight < self.workers and not self._alone:
            self._send()
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        if batch:
            self._submit(batch, alone=False)

    def _submit(self, batch: list[tuple[tuple, asyncio.Future]], alone: bool) -> None:
        self._in_flight += 1
        self._sent += [future for _, future in batch]
        generation = self.pool.generation
        done = asyncio.wrap_future(self.pool.submit(parse_many, [args for args, _ in batch]))
        done.add_done_callback(lambda finished: self._finished(finished, batch, generation, alone))

    def _finished(self, finished: asyncio.Future, batch: list[tuple[tuple, asyncio.Future]],
                  generation: int, alone: bool) -> None:
        self._in_flight -= 1
        self._sent = [future for future in self._sent if not future.done()]
        if self.stopped:
            return  # every waiting page was told, and the pool is gone
        if not finished.cancelled() and isinstance(finished.exception(), BrokenProcessPool):
            # A worker died (the kernel's OOM killer). Every batch in flight hears of it; the pool
            # is replaced once, by the first. A page parsed alone died of itself; the pages of
            # any other batch are parsed again alone (as the parse pool's own jobs do).
            if self.pool.generation == generation:
                self.pool.restart()
            waiting = [(args, future) for args, future in batch if not future.done()]
            if alone:
                for args, future in waiting:
                    future.set_exception(PageError(f"{args[3]}: the parse worker died on this page; not stored"))
            else:
                self._alone += waiting
        else:
            _deliver(finished, [future for _, future in batch])
        if self._alone:
            if not self._in_flight:  # the batches in flight when it died come back first
                self._submit([self._alone.pop(0)], alone=True)
        else:
            while self._pending and self._in_flight < self.workers:
                self._send()


def _deliver(finished: asyncio.Future, futures: list[asyncio.Future]) -> None:
    if finished.cancelled() or finished.exception() is not None:
        error = finished.exception() if not finished.cancelled() else asyncio.CancelledError()
        for future in futures:
            if not future.done():
                future.set_exception(error)
        return
    for future, (ok, value) in zip(futures, finished.result(), strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            message, not_a_page = value
            future.set_exception((NotAPage if not_a_page else PageError)(message))


@dataclass
class _Item:
    record: FetchRecord | None
    page: Page | None = None
    touch: tuple[str, str] | None = None  # (url, observed_at): seen unchanged


class BatchWriter:
    """Collects the run's writes and commits them as one step per `size` pages.

    With `background`, a full batch is written on a thread while the event loop keeps fetching:
    written on the loop, each batch stalled every request in flight for 20-40 ms. One batch is
    written at a time; `drain` waits for the last and raises what a write raised.
    """

    def __init__(self, writer: CatalogWriter, size: int, background: bool = False) -> None:
        self.writer, self.size, self.background = writer, max(1, size), background
        self._items: list[_Item] = []
        self._writing: asyncio.Future | None = None
        self.batches = 0

    def fetched(self, record: FetchRecord, page: Page | None = None) -> None:
        self._add(_Item(record, page))

    def unchanged(self, url: str, observed_at: str, record: FetchRecord | None = None) -> None:
        self._add(_Item(record, touch=(url, observed_at)))

    def _add(self, item: _Item) -> None:
        self._items.append(item)
        if len(self._items) < self.size:
            return
        if not self.background:
            self.flush()
        elif self._writing is None:
            self._write_next()

    def _write_next(self) -> None:
        items, self._items = self._items, []
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, items))
        self._writing.add_done_callback(self._written)

    def _written(self, done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:
            return  # kept in `_writing` for `drain` to raise
        self._writing = None
        if len(self._items) >= self.size:
            self._write_next()

    async def drain(self) -> None:
        """Wait for the batch being written (and raise its error); the rest is left to `flush`."""
        while self._writing is not None:
            writing = self._writing
            await asyncio.shield(writing)
            if self._writing is writing:
                self._writing = None

    def flush(self) -> None:
        items, self._items = self._items, []
        self._write(items)

    def _write(self, items: list[_Item]) -> None:
        if not items:
            return
        writer = self.writer
        with writer.step():
            records = [item.record for item in items if item.record is not None]
            digests = iter(save_fetches(writer.db, writer.run_id, records))
            for item in items:
                digest = next(digests) if item.record is not None else None
                if item.page is not None and item.record is not None:
                    writer.save_page(item.page, Observation(item.record.fetched_at, "live", digest,
                                                            item.record.url))
                elif item.touch:
                    writer.touch_page(*item.touch)
        self.batches += 1
