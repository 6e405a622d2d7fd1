"""Rebuild a catalog from stored raw snapshots: parse them again, in the order they were fetched."""

from __future__ import annotations

from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.snapshots import MAX_SNAPSHOT_BYTES, FetchRecord, iter_snapshot_kinds, save_fetch
from catalog.storage.store import CatalogWriter, Observation
from pipeline.jobs.scrape_batch import PARSE_KINDS
from pipeline.parse.sources import PageError, decode_page, parse_page_text


def reparse(source_db: str | Path, target_db: str | Path) -> str:
    if not Path(source_db).exists():
        raise FileNotFoundError(f"{source_db}: no catalog here")
    if Path(target_db).exists():
        raise FileExistsError(f"{target_db} exists; reparse builds a new catalog, name a new file")
    source, target = open_catalog(source_db), open_catalog(target_db)
    writer = CatalogWriter(target, "reparse", str(source_db))
    failures = []
    with writer.run():
        for url, fetched_at, digest, body, kind in iter_snapshot_kinds(source):
            if body is None:
                failures.append(f"{url}: stored snapshot {digest} is corrupt or inflates past "
                                f"{MAX_SNAPSHOT_BYTES:,} bytes")
                continue
            save_fetch(target, writer.run_id, FetchRecord(url, url, "ok", 200, None, 1, {}, fetched_at,
                                                          body, kind))
            try:  # a snapshot is Veeam's Markdown (`md`) or the helpcenter page (`html`)
                page = parse_page_text(decode_page(body, url), PARSE_KINDS[kind], url=url)
            except PageError as error:
                failures.append(str(error))
                continue
            writer.save_page(page, Observation(fetched_at, "live", digest, url))
    source.close()
    target.close()
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(writer.counts.items()))
    return "\n".join([f"reparsed into {target_db}: {counts or 'nothing stored'}",
                      *(f"failed: {failure}" for failure in failures)])
