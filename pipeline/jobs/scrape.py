"""The live scrape: discover or list pages, fetch them politely, parse, hand them to the catalog.

Bounded for an unattended run: the run commits a step per batch of pages (a kill keeps what
was done), stops cleanly at its time budget or when a host's circuit breaker opens, and says
what it left undone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.lock import catalog_lock
from catalog.storage.snapshots import remember_sources, remembered_sources
from catalog.storage.store import CatalogWriter, utc_now
from catalog.urls import PUBLIC_BASE
from pipeline.fetch.client import FetchConfig, Fetcher
from pipeline.fetch.discover import load_products
from pipeline.jobs.crawl import Crawl
from pipeline.jobs.parse_pool import SCRAPE_NICENESS, start_pool
from pipeline.jobs.scrape_batch import BatchWriter
from pipeline.jobs.tempdirs import sigterm_exits
from pipeline.parse.sources import PageError

DEFAULT_TIME_BUDGET = 50 * 60.0  # below the scrape workflow's 60-minute job timeout
BATCH_PAGES = 25
RECHECK_SOURCES_DAYS = 7  # a product remembered as HTML-only is asked for `.md` again after this
LISTED_LEFT = 20
GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the youngest generation


@dataclass
class ScrapeReport:
    fetched: int = 0
    unchanged: int = 0
    skipped_by_lastmod: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    permission_pages: int = 0
    new_versions: int = 0
    anomalies: list[str] = field(default_factory=list)
    run_id: int | None = None
    requests: int = 0
    sitemap_pages: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    decided_sources: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None
    left: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"pages fetched {self.fetched}, unchanged {self.unchanged}, skipped by lastmod "
                 f"{self.skipped_by_lastmod}, failed {len(self.failed)}, permission pages "
                 f"{self.permission_pages}, new versions {self.new_versions}",
                 f"requests {self.requests}; sitemap pages {self.sitemap_pages}; sources "
                 + (", ".join(f"{code} {kind}" for code, kind in sorted(self.sources.items())) or "none")]
        lines += [f"note: {note}" for note in self.notes]
        if self.stopped:
            lines.append(f"stopped: {self.stopped}; {len(self.left)} pages not fetched (committed what "
                         "was done; run again to continue)")
            lines += [f"not fetched: {url}" for url in self.left[:LISTED_LEFT]]
            if len(self.left) > LISTED_LEFT:
                lines.append(f"not fetched: ... and {len(self.left) - LISTED_LEFT} more")
        lines += [f"failed: {url}: {reason}" for url, reason in self.failed]
        lines += [f"anomaly: {text}" for text in self.anomalies]
        return "\n".join(lines)


def _known_pages(db, products: list[str]) -> list[str]:
    marks = ",".join("?" * len(products))
    rows = db.execute(f"select canonical_url from pages where product in ({marks}) and "
                      "canonical_url like ? and _removed_at is null order by canonical_url",
                      [*products, f"{PUBLIC_BASE}/%"]).fetchall()
    return [row[0][len(PUBLIC_BASE):] for row in rows]


@dataclass
class ScrapeOptions:
    time_budget: float | None = DEFAULT_TIME_BUDGET  # seconds; None: no budget
    batch_pages: int = BATCH_PAGES
    parse_workers: int | None = None  # None: one per core (up to 4); 0: parse on the loop's thread


def scrape(db_path: str | Path, products: list[str] | None = None, urls: list[str] | None = None,
           since_last: bool = False, config: FetchConfig | None = None, accept_anomalies: bool = False,
           progress: Callable[[int], None] | None = None,
           products_toml: str | None = None, options: ScrapeOptions | None = None) -> ScrapeReport:
    config, options = config or FetchConfig(), options or ScrapeOptions()
    known_products = load_products(products_toml)
    chosen = products or list(known_products)
    unknown = [code for code in chosen if code not in known_products]
    if unknown:
        raise PageError(f"unknown product {', '.join(unknown)}; known: {', '.join(known_products)}")
    report = ScrapeReport()
    with sigterm_exits():
        pool = start_pool(options.parse_workers, SCRAPE_NICENESS)  # before the lock: workers must not inherit it
        try:
            _scrape_locked(db_path, config, accept_anomalies, report, progress, options, pool,
                           (chosen, known_products, urls or [], since_last))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return report


def _scrape_locked(db_path, config, accept_anomalies, report, progress, options, pool, work) -> None:
    with catalog_lock(db_path):
        db = open_catalog(db_path, threads=True)  # batches are written on a thread
        writer = CatalogWriter(db, "live", config.base_url, accept_anomalies)
        try:
            with writer.run(steps=True):
                batch = BatchWriter(writer, options.batch_pages, background=True)
                with fewer_collections():
                    asyncio.run(_run(db, batch, config, report, progress, options, pool, work))
                batch.flush()
                with writer.step():
                    remember_sources(db, report.decided_sources, utc_now())
                writer.counts["fetched"] = report.fetched
                writer.counts["failed"] = len(report.failed)
                writer.counts["requests"] = report.requests
                writer.counts["skipped_by_lastmod"] = report.skipped_by_lastmod
        finally:
            db.close()
    report.new_versions = writer.counts["new_versions"]
    report.anomalies = writer.anomalies
    report.run_id = writer.run_id


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the fetch loop with the cyclic collector at rest for what was there before it.

    Every response allocates hundreds of short-lived objects (httpx, h11), so the collector ran
    about 180 times per thousand pages on the loop's thread, each pass holding the GIL; with the
    objects of startup frozen and a larger youngest generation the scrape gained ~2.5 points of
    the ideal throughput (benchmarks/bench_scrape.py). Settings are restored afterwards; a caller
    that froze objects itself keeps them frozen (nothing is frozen or unfrozen here then).
    """
    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freeze:
            gc.unfreeze()


async def _run(db, batch: BatchWriter, config: FetchConfig, report: ScrapeReport, progress, options,
               pool, work) -> None:
    chosen, known_products, urls, since_last = work
    fetcher = Fetcher(config)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=RECHECK_SOURCES_DAYS)).isoformat(timespec="seconds")
    moved = {new: old for product in known_products.values() for new, old in product.moved.items()}
    job = Crawl(db, batch, fetcher, report, pool, remembered_sources(db, since), progress, moved)
    budget = None
    if options.time_budget is not None:
        reason = f"time budget of {_duration(options.time_budget)} used"

        def budget_used() -> None:
            # The whole run's budget: nothing more is asked, and nothing waits for a parse.
            fetcher.stop(reason)
            job.parser.stop()

        budget = asyncio.get_running_loop().call_later(options.time_budget, budget_used)
    try:
        if urls:
            await job.fetch_list(urls)
        elif since_last:
            for code in chosen:  # no discovery, but a sitemap's lastmod still spares requests
                await job.read_sitemaps(known_products[code])
            await job.fetch_list(_known_pages(db, chosen))
        else:
            for code in chosen:
                await job.crawl(known_products[code])
    finally:
        if budget is not None:
            budget.cancel()
        await batch.drain()
        await fetcher.aclose()
        report.requests = sum(fetcher.counts.values())
        report.sources, report.decided_sources = dict(job.kinds), dict(job.decided)
        report.stopped = fetcher.stopped


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
