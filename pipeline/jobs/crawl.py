"""One scrape's visits: source negotiation (`.md` twin or `.html`), sitemaps and lastmod, link crawl."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from catalog.storage.snapshots import FetchRecord, all_validators, last_lastmod, last_snapshot_blob
from catalog.storage.store import utc_now
from catalog.urls import DEFAULT_HOST, PUBLIC_BASE, parse_url
from pipeline.fetch.client import Fetcher, FetchResult
from pipeline.fetch.discover import ProductConfig, helpcenter_url, in_scope, markdown_twin
from pipeline.fetch.sitemap import SitemapError, parse_sitemap, sitemap_paths
from pipeline.jobs.parse_pool import ParsePool
from pipeline.jobs.scrape_batch import TWIN_FACTS, BatchWriter, NotAPage, Parser, ParseStopped
from pipeline.parse.page import is_markdown, with_twin_facts
from pipeline.parse.sources import PageError

CONFIRM_DAYS = 7
WORKERS_PER_SLOT = 4


def _got_markdown(result: FetchResult, public: str) -> bool:
    if result.outcome == "not_modified":
        return True  # the validators sent were those of an earlier Markdown fetch
    return result.outcome == "ok" and is_markdown(result.body or b"", public)


def _twin_missing(result: FetchResult) -> bool:
    """The `.md` twin is not there (or not Markdown): the `.html` page is the source."""
    if result.outcome == "ok":
        return True
    return result.outcome == "failed" and result.status in (404, 410, 200)


class Crawl:
    def __init__(self, db, batch: BatchWriter, fetcher: Fetcher, report, pool: ParsePool | None,
                 kinds: dict[str, str], progress: Callable[[int], None] | None,
                 moved: dict[str, str] | None = None) -> None:
        self.db, self.batch, self.fetcher, self.report = db, batch, fetcher, report
        self.parser = Parser(pool)
        self.kinds = kinds  # product -> "md" | "html", as negotiated (or remembered)
        self.decided: dict[str, str] = {}  # negotiated in this run on a clear answer: remembered
        self.progress = progress
        self.base_url = fetcher.config.base_url
        self.lastmods: dict[str, str | None] = {}  # page URL under the base -> sitemap lastmod
        self.moved = dict(moved or {})  # a moved page's new path -> the path its history has
        self.now_at = {old: new for new, old in self.moved.items()}  # and back: where to ask for it
        self._validators: dict[tuple[str, str], dict[str, str]] | None = None
        # product -> set when its probe ends: decided, or not (the waiters then probe again)
        self._probes: dict[str, asyncio.Event] = {}
        # A sitemap could miss a change: a page is asked again (conditionally) once a week anyway.
        self.confirm_since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=CONFIRM_DAYS)).isoformat(
            timespec="seconds")

    def public(self, url: str) -> str:
        """The page's public URL; a page that moved keeps the URL its history has (`moved`)."""
        public = helpcenter_url(url, self.base_url, PUBLIC_BASE)
        old = self.moved.get(urlsplit(public).path)
        return public if old is None else helpcenter_url(PUBLIC_BASE + old, PUBLIC_BASE, PUBLIC_BASE)

    async def _get(self, url: str, public: str, kind: str) -> FetchResult:
        # The bot-check test runs with the parse, off the event loop (scrape_batch.parse_fetched).
        if self._validators is None:
            self._validators = all_validators(self.db)  # read once, when the first page is asked
        return await self.fetcher.fetch(url, self._validators.get((public, kind), {}), check_page=False)

    async def negotiate(self, url: str, public: str) -> tuple[FetchResult, str]:
        """Fetch a page from its `.md` twin when the product serves Markdown, else its `.html`. Both
        are judged where they are served: a moved page's Markdown names its new address, and the
        format is that of the product serving it."""
        here = helpcenter_url(url, self.base_url, PUBLIC_BASE)
        product = parse_url(here).product or ""
        twin = markdown_twin(url)
        if twin is None:
            return await self._get(url, public, "html"), "html"
        while product not in self.kinds:
            probing = self._probes.get(product)
            if probing is not None:
                await probing.wait()  # every waiter wakes at once when the answer is in
                continue
            # The first page of a product decides alone, so the others do not all ask for `.md`.
            self._probes[product] = probing = asyncio.Event()
            try:
                result = await self._get(twin, public, "md")
                if result.outcome == "not_fetched":
                    return result, "md"
                if _got_markdown(result, here):
                    self.kinds[product] = self.decided[product] = "md"
                    return result, "md"
                if _twin_missing(result):
                    self.kinds[product] = self.decided[product] = "html"
                    probing.set()  # a clear answer: the others go on while this page asks for `.html`
                    return await self._get(url, public, "html"), "html"
                # After a timeout, a 429 or a 5xx the others also wait for this page's `.html`
                # answer, so a struggling host is not met by every connection at once.
                page = await self._get(url, public, "html")
                self.kinds[product] = "html"  # for this run only: nothing was decided
                return page, "html"
            finally:
                del self._probes[product]
                probing.set()
        if self.kinds[product] == "md":
            result = await self._get(twin, public, "md")
            if _got_markdown(result, here) or not _twin_missing(result):
                return result, "md"
        return await self._get(url, public, "html"), "html"

    async def visit(self, url: str, crawling: bool = True) -> list[str]:
        """Fetch (or skip by lastmod) one page, queue its writes; when crawling, return its links."""
        public = self.public(url)
        lastmod = self.lastmods.get(url)
        if lastmod and last_lastmod(self.db, public, self.confirm_since) == lastmod:
            self.report.skipped_by_lastmod += 1
            self.batch.unchanged(public, utc_now())
            self._tick()
            return await self._last_links(public, url) if crawling else []
        result, kind = await self.negotiate(url, public)
        self._tick()
        return await self.handle(result, kind, url, public, lastmod, crawling)

    def _tick(self) -> None:
        if self.progress:
            self.progress(1)

    async def handle(self, result: FetchResult, kind: str, url: str, public: str,
                     lastmod: str | None, crawling: bool) -> list[str]:
        if result.outcome == "not_fetched":
            self.report.left.append(public)
            return []
        record = FetchRecord(public, result.final_url or result.url, result.outcome, result.status,
                             result.reason, result.attempts, result.headers, result.fetched_at,
                             result.body, kind, lastmod)
        if result.outcome == "failed":
            self.batch.fetched(record)
            self.report.failed.append((public, result.reason or "failed"))
            return []
        if result.outcome == "not_modified":
            self.batch.unchanged(public, result.fetched_at, record)
            self.report.unchanged += 1
            return await self._last_links(public, url) if crawling else []
        try:
            page, links, packed = await self.parser.parse(result.body or b"",
                                               result.headers.get("content-type", ""), kind, public,
                                               result.final_url or url, crawling)
        except ParseStopped:  # the run's budget ran out first: the page is left for the next run
            self.report.left.append(public)
            return []
        except PageError as error:  # an unparsable body is kept for diagnosis, a bot check is not
            self.batch.fetched(dataclasses.replace(record, outcome="failed", reason=str(error),
                                                   body=None if isinstance(error, NotAPage) else record.body))
            self.report.failed.append((public, str(error)))
            return []
        if page.source_kind == "veeam-markdown":
            try:
                page = await self._dated_by_twin(page, url, public)
            except (PageError, ParseStopped) as error:  # undated, the page would make a version of its own
                if isinstance(error, ParseStopped):
                    self.report.left.append(public)
                    return []
                self.batch.fetched(dataclasses.replace(record, outcome="failed", reason=str(error)))
                self.report.failed.append((public, str(error)))
                return []
        self.batch.fetched(dataclasses.replace(record, packed=packed), page)
        self.report.fetched += 1
        if page.operations:
            self.report.permission_pages += 1
        return links

    async def _dated_by_twin(self, page, url: str, public: str):
        """A page read from Veeam's Markdown, with the build and date its HTML twin states
        (`with_twin_facts`). The twin is fetched in full (it is asked only when the `.md` changed)
        and kept as a snapshot of kind `html-facts`: reparse reads it to date the `.md` the same way."""
        result = await self.fetcher.fetch(url, check_page=False)
        if result.outcome == "failed" and result.status in (404, 410):
            return page  # no twin: the page keeps its own values
        if result.outcome != "ok":
            raise PageError(f"{public}: its HTML twin, which dates and builds it, could not be read "
                            f"({result.reason or result.outcome}); asked again next run")
        twin, _, packed = await self.parser.parse(result.body or b"", result.headers.get("content-type", ""),
                                                  "html", public, result.final_url or url, False)
        self.batch.fetched(FetchRecord(public, result.final_url or result.url, "ok", result.status, None,
                                       result.attempts, result.headers, result.fetched_at, result.body,
                                       TWIN_FACTS, None, packed))
        return with_twin_facts(page, twin)

    async def _last_links(self, public: str, url: str) -> list[str]:
        """An unchanged page's links are read from its last stored body, in a parse worker."""
        found = last_snapshot_blob(self.db, public)
        return [] if found is None else await self.parser.links(found[0], found[1], url)

    async def read_sitemaps(self, product: ProductConfig) -> list[str]:
        """Pages the product's sitemaps list (remembering their lastmod); none when there is no sitemap."""
        pages: list[str] = []
        for path in sitemap_paths(product.entry):
            result = await self.fetcher.fetch(path, check_page=False)
            if result.outcome != "ok":
                if result.status != 404 and result.outcome != "not_fetched":
                    self.report.notes.append(f"sitemap {path}: {result.reason}; following links only")
                continue
            try:
                found = parse_sitemap(result.body or b"", self.base_url, {DEFAULT_HOST})
            except SitemapError as error:
                self.report.notes.append(f"sitemap {path}: {error}; following links only")
                continue
            self.report.sitemap_pages += len(found)
            for url, lastmod in found.items():
                self.lastmods[url] = lastmod
                if in_scope(url, product, self.base_url):
                    pages.append(url)
        return pages

    async def crawl(self, product: ProductConfig) -> None:
        # an entry that moved is asked where it is
        start = list(dict.fromkeys(self.fetcher.absolute(self.now_at.get(path, path))
                                   for path in (*product.entry, *product.moved)))
        start += [url for url in await self.read_sitemaps(product) if url not in start]
        frontier = start[: product.max_pages]
        seen = set(frontier)

        async def one(url: str) -> list[str]:
            new = []
            for link in await self.visit(url):
                if link not in seen and len(seen) < product.max_pages and in_scope(link, product, self.base_url):
                    seen.add(link)
                    new.append(link)
            return new

        await self._work(frontier, one)

    async def fetch_list(self, paths: list[str]) -> None:
        """Visit exactly these pages; a page known by the address it moved from is asked at its new one."""

        async def one(path: str) -> list[str]:
            await self.visit(self.fetcher.absolute(self.now_at.get(path, path)), crawling=False)
            return []

        await self._work(paths, one)

    async def _work(self, items: list[str], visit: Callable[[str], Awaitable[list[str]]]) -> None:
        """Visit every item, and every item a visit returns, first come first served, with a few
        tasks per fetch slot (a visit also waits for its parse).

        A task per page made a herd: at each hand-off (the `.md` answer, a free connection) a
        thousand tasks woke to find nothing to do, and the loop spent tens of milliseconds on them
        while responses waited. Crawling by levels also waited for each level's slowest page.
        """
        queue: asyncio.Queue[str] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while True:
                item = await queue.get()
                try:
                    for more in await visit(item):
                        queue.put_nowait(more)
                finally:
                    queue.task_done()

        # Every worker from the start: a crawl begins with one entry page and finds the rest.
        width = max(1, self.fetcher.config.concurrency) * WORKERS_PER_SLOT
        workers = [asyncio.create_task(worker()) for _ in range(width)]
        finished = asyncio.create_task(queue.join())
        try:
            await asyncio.wait([finished, *workers], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [finished, *workers]:
                task.cancel()
            outcomes = await asyncio.gather(finished, *workers, return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)
                    and not isinstance(outcome, asyncio.CancelledError)]
        if failures:
            raise failures[0]
