"""Batches written on a thread while the event loop fetches: all rows land, one batch at a time,
and a failed write reaches the scrape instead of vanishing with its thread."""

import asyncio

import pytest

from catalog.storage.database import open_catalog
from catalog.storage.snapshots import FetchRecord
from catalog.storage.store import CatalogWriter
from pipeline.jobs.scrape_batch import BatchWriter

PUBLIC = "https://helpcenter.veeam.com/docs/vbaws/guide/page_{}.html"


def _record(number: int) -> FetchRecord:
    return FetchRecord(PUBLIC.format(number), PUBLIC.format(number), "ok", 200, None, 1,
                       {"ETag": f'"e{number}"'}, "2026-01-01T00:00:00+00:00", f"body {number}".encode(), "html")


def test_background_batches_write_every_fetch(tmp_path):
    db = open_catalog(tmp_path / "c.db", threads=True)
    writer = CatalogWriter(db, "live", "test")
    with writer.run(steps=True):
        batch = BatchWriter(writer, 4, background=True)

        async def feed():
            for number in range(10):
                batch.fetched(_record(number))
                await asyncio.sleep(0)  # the loop keeps running while a batch is written
            await batch.drain()

        asyncio.run(feed())
        batch.flush()
    assert db.execute("select count(*), count(distinct snapshot) from fetches").fetchone() == (10, 10)
    # Pages arriving while a batch is written join the next one: 4 + 4 (or 4 + 6) in the background,
    # then what is left by `flush`.
    assert batch.batches in (2, 3)


def test_a_failed_background_write_is_raised_by_drain(tmp_path):
    db = open_catalog(tmp_path / "c.db", threads=True)
    writer = CatalogWriter(db, "live", "test")
    with pytest.raises(RuntimeError, match="disk full"), writer.run(steps=True):
        batch = BatchWriter(writer, 2, background=True)

        def failing(items):
            raise RuntimeError("disk full")

        batch._write = failing

        async def feed():
            for number in range(5):
                batch.fetched(_record(number))
                await asyncio.sleep(0.01)
            await batch.drain()

        asyncio.run(feed())
