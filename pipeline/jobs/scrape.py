"""The live scrape: discover or list pages, fetch them politely, parse, hand them to the catalog."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.lock import catalog_lock
from catalog.storage.snapshots import FetchRecord, last_snapshot, save_fetch, validators_for
from catalog.storage.store import CatalogWriter, Observation
from catalog.urls import DEFAULT_HOST
from pipeline.fetch.client import FetchConfig, Fetcher, FetchResult
from pipeline.fetch.discover import ProductConfig, extract_links, helpcenter_url, in_scope, load_products
from pipeline.parse.sources import PageError, decode_page, parse_page_text, require_page_url

PUBLIC_BASE = f"https://{DEFAULT_HOST}"


@dataclass
class ScrapeReport:
    fetched: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    permission_pages: int = 0
    new_versions: int = 0
    anomalies: list[str] = field(default_factory=list)
    run_id: int | None = None

    def summary(self) -> str:
        lines = [f"pages fetched {self.fetched}, unchanged {self.unchanged}, failed {len(self.failed)}, "
                 f"permission pages {self.permission_pages}, new versions {self.new_versions}"]
        lines += [f"failed: {url}: {reason}" for url, reason in self.failed]
        lines += [f"anomaly: {text}" for text in self.anomalies]
        return "\n".join(lines)


def _decode(result: FetchResult) -> str:
    content_type = result.headers.get("content-type", "")
    charset = content_type.split("charset=")[-1].strip() if "charset=" in content_type else "utf-8"
    if charset.lower() in ("utf-8", "utf8"):
        return decode_page(result.body or b"", result.url)
    try:
        return (result.body or b"").decode(charset)
    except (LookupError, UnicodeDecodeError) as error:
        raise PageError(f"{result.url}: cannot decode as {charset}") from error


class _Scrape:
    def __init__(self, db, writer: CatalogWriter, fetcher: Fetcher, report: ScrapeReport,
                 progress: Callable[[int], None] | None) -> None:
        self.db, self.writer, self.fetcher, self.report = db, writer, fetcher, report
        self.progress = progress
        self.base_url = fetcher.config.base_url

    def handle(self, result: FetchResult, crawling: bool = False) -> str | None:
        """Store one fetch; return the page text when there is one to crawl from."""
        public = helpcenter_url(result.url, self.base_url, PUBLIC_BASE)
        record = FetchRecord(public, result.final_url or result.url, result.outcome, result.status,
                             result.reason, result.attempts, result.headers, result.fetched_at,
                             result.body)
        if self.progress:
            self.progress(1)
        if result.outcome == "failed":
            save_fetch(self.db, self.writer.run_id, record)
            self.report.failed.append((public, result.reason or "failed"))
            return None
        if result.outcome == "not_modified":
            save_fetch(self.db, self.writer.run_id, record)
            self.writer.touch_page(public, result.fetched_at)
            self.report.unchanged += 1
            return self._last_body(public) if crawling else None
        try:
            text = _decode(result)
            page = require_page_url(parse_page_text(text, "html", url=public), public)
        except PageError as error:
            save_fetch(self.db, self.writer.run_id,
                       FetchRecord(**{**record.__dict__, "outcome": "failed", "reason": str(error)}))
            self.report.failed.append((public, str(error)))
            return None
        digest = save_fetch(self.db, self.writer.run_id, record)
        self.report.fetched += 1
        if page.operations:
            self.report.permission_pages += 1
        self.writer.save_page(page, Observation(result.fetched_at, "live", digest, public))
        return text

    def _last_body(self, url: str) -> str | None:
        """An unchanged page's links are read from its last stored body."""
        body = last_snapshot(self.db, url)
        return body.decode("utf-8", "replace") if body is not None else None

    def validators(self, path: str) -> dict[str, str]:
        return validators_for(self.db, helpcenter_url(self.fetcher.absolute(path), self.base_url,
                                                      PUBLIC_BASE))

    async def fetch_list(self, paths: list[str]) -> None:
        await self.fetcher.fetch_many(((p, self.validators(p)) for p in paths), self.handle)

    async def crawl(self, product: ProductConfig) -> None:
        frontier = [self.fetcher.absolute(path) for path in product.entry]
        seen = set(frontier)
        while frontier and len(seen) <= product.max_pages:
            found: list[str] = []

            def on_result(result: FetchResult, found=found) -> None:
                text = self.handle(result, crawling=True)
                if text:
                    found.extend(link for link in extract_links(text, result.final_url or result.url)
                                 if in_scope(link, product, self.base_url))

            await self.fetcher.fetch_many(((url, self.validators(url)) for url in frontier), on_result)
            frontier = []
            for link in found:
                if link not in seen and len(seen) < product.max_pages:
                    seen.add(link)
                    frontier.append(link)


def _known_pages(db, products: list[str]) -> list[str]:
    marks = ",".join("?" * len(products))
    rows = db.execute(f"select canonical_url from pages where product in ({marks}) and "
                      "canonical_url like 'https://helpcenter.veeam.com/%' and _removed_at is null "
                      "order by canonical_url", products).fetchall()
    return [row[0][len(PUBLIC_BASE):] for row in rows]


def scrape(db_path: str | Path, products: list[str] | None = None, urls: list[str] | None = None,
           since_last: bool = False, config: FetchConfig | None = None, accept_anomalies: bool = False,
           progress: Callable[[int], None] | None = None,
           products_toml: str | None = None) -> ScrapeReport:
    config = config or FetchConfig()
    known_products = load_products(products_toml)
    chosen = products or list(known_products)
    unknown = [code for code in chosen if code not in known_products]
    if unknown:
        raise PageError(f"unknown product {', '.join(unknown)}; known: {', '.join(known_products)}")
    report = ScrapeReport()
    with catalog_lock(db_path):
        db = open_catalog(db_path)
        writer = CatalogWriter(db, "live", config.base_url, accept_anomalies)
        try:
            with writer.run():
                asyncio.run(_run(db, writer, config, report, progress, chosen, known_products,
                                 urls or [], since_last))
                writer.counts["fetched"] = report.fetched
                writer.counts["failed"] = len(report.failed)
        finally:
            db.close()
    report.new_versions = writer.counts["new_versions"]
    report.anomalies = writer.anomalies
    report.run_id = writer.run_id
    return report


async def _run(db, writer, config, report, progress, chosen, known_products, urls, since_last):
    fetcher = Fetcher(config)
    job = _Scrape(db, writer, fetcher, report, progress)
    try:
        if urls:
            await job.fetch_list(urls)
        elif since_last:
            await job.fetch_list(_known_pages(db, chosen))
        else:
            for code in chosen:
                await job.crawl(known_products[code])
    finally:
        await fetcher.aclose()
