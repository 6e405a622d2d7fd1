"""Rebuild a catalog from stored raw snapshots: parse them again, in the order they were fetched."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.snapshots import MAX_SNAPSHOT_BYTES, FetchRecord, iter_snapshot_kinds, save_fetch
from catalog.storage.store import CatalogWriter, Observation
from pipeline.jobs.parse_pool import map_in_order, start_pool
from pipeline.jobs.scrape_batch import PARSE_KINDS, TWIN_FACTS
from pipeline.parse.page import with_twin_facts
from pipeline.parse.sources import PageError, decode_page, parse_page_text


def parse_snapshot(url: str, body: bytes | None, kind: str, digest: str):
    """A stored body -> its Page; runs in a parse worker under the page bounds (the catalog given
    to reparse comes from outside)."""
    if body is None:
        raise PageError(f"{url}: stored snapshot {digest} is corrupt or inflates past {MAX_SNAPSHOT_BYTES:,} bytes")
    # a snapshot is Veeam's Markdown (`md`) or the helpcenter page (`html`)
    return parse_page_text(decode_page(body, url), PARSE_KINDS[kind], url=url)


@dataclass
class ReparseReport:
    target: str
    counts: dict[str, int]
    failures: list[str]

    def summary(self) -> str:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.counts.items()))
        return "\n".join([f"reparsed into {self.target}: {counts or 'nothing stored'}",
                          *(f"failed: {failure}" for failure in self.failures)])


def reparse(source_db: str | Path, target_db: str | Path, workers: int | None = None) -> ReparseReport:
    if not Path(source_db).exists():
        raise FileNotFoundError(f"{source_db}: no catalog here")
    if Path(target_db).exists():
        raise FileExistsError(f"{target_db} exists; reparse builds a new catalog, name a new file")
    pool = start_pool(workers)  # before any catalog is open: workers must not inherit its files
    try:
        return _reparse(source_db, target_db, pool)
    finally:
        if pool is not None:
            pool.shutdown()


def _reparse(source_db: str | Path, target_db: str | Path, pool) -> ReparseReport:
    source, target = open_catalog(source_db), open_catalog(target_db)
    writer = CatalogWriter(target, "reparse", str(source_db))
    failures = []
    twins: dict[str, object] = {}
    read: deque = deque()

    def snapshots():
        for snapshot in iter_snapshot_kinds(source):
            read.append(snapshot)
            url, _, digest, body, kind = snapshot
            yield url, body, kind, digest

    with writer.run():
        # One page per round trip and one per worker in flight: a stored body may inflate to 24 MB,
        # and the bodies waiting here and in the pipes are what this process holds.
        ahead = pool.workers if pool is not None else None
        for ok, value in map_in_order(pool, parse_snapshot, snapshots(), chunk=1, ahead=ahead):
            url, fetched_at, digest, body, kind = read.popleft()
            if body is not None:
                save_fetch(target, writer.run_id, FetchRecord(url, url, "ok", 200, None, 1, {}, fetched_at,
                                                              body, kind))
                writer.counts["fetched"] += 1
            if not ok:
                failures.append(value)
                continue
            if kind == TWIN_FACTS:  # the HTML twin that dated the `.md` fetched after it
                twins[url] = value
                continue
            if url in twins:
                value = with_twin_facts(value, twins[url])
            writer.save_page(value, Observation(fetched_at, "live", digest, url))
    source.close()
    target.close()
    return ReparseReport(str(target_db), dict(writer.counts), failures)
