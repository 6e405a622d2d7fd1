"""The crawl's work queue: a few tasks per fetch slot, first come first served, errors surface."""

import asyncio
from types import SimpleNamespace

import pytest

from pipeline.jobs.crawl import WORKERS_PER_SLOT, Crawl


def crawl_with(concurrency: int) -> Crawl:
    crawl = Crawl.__new__(Crawl)  # the queue needs only the fetcher's concurrency
    crawl.fetcher = SimpleNamespace(config=SimpleNamespace(concurrency=concurrency))
    return crawl


def test_a_thousand_pages_run_on_a_few_tasks_per_slot_and_found_pages_join_the_queue():
    visited, running, most = [], [0], [0]

    async def visit(item: str) -> list[str]:
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0)
        running[0] -= 1
        visited.append(item)
        return [f"{item}/child"] if item.count("/") == 0 else []

    asyncio.run(crawl_with(2)._work([str(i) for i in range(1000)], visit))
    assert most[0] == 2 * WORKERS_PER_SLOT
    assert sorted(visited) == sorted([str(i) for i in range(1000)] + [f"{i}/child" for i in range(1000)])
    assert visited.index("999") < visited.index("0/child")  # first come, first served


def test_a_failing_visit_reaches_the_caller_and_stops_the_others():
    started = []

    async def visit(item: str) -> list[str]:
        started.append(item)
        if item == "3":
            raise RuntimeError("disk full")
        await asyncio.sleep(0.01)
        return []

    with pytest.raises(RuntimeError, match="disk full"):
        asyncio.run(crawl_with(1)._work([str(i) for i in range(100)], visit))
    assert len(started) < 100


def test_a_crawl_from_one_entry_page_fills_every_slot_with_the_pages_it_finds():
    running, most = [0], [0]

    async def visit(item: str) -> list[str]:
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0.001)
        running[0] -= 1
        return [f"entry/{i}" for i in range(100)] if item == "entry" else []

    asyncio.run(asyncio.wait_for(crawl_with(16)._work(["entry"], visit), 10))
    assert most[0] == 16 * WORKERS_PER_SLOT


def test_no_items_means_no_visits():
    async def visit(item: str) -> list[str]:
        raise AssertionError(item)

    asyncio.run(asyncio.wait_for(crawl_with(4)._work([], visit), 10))
