"""Parsing off the event loop: results and errors come back to the page that asked, batched or not."""

import asyncio
import hashlib
import os
import zlib
from pathlib import Path

import pytest

from pipeline.jobs.parse_pool import SCRAPE_NICENESS, start_pool
from pipeline.jobs.scrape_batch import NotAPage, Parser, parse_fetched, stored_links
from tests.support.sitegen import load_site

SITE = load_site(Path(__file__).parent / "site")
PUBLIC = "https://helpcenter.veeam.com"


@pytest.mark.parametrize("workers", [0, 1])
def test_pages_and_errors_reach_their_callers(workers):
    paths = sorted(p for p in SITE if p.endswith(".html"))
    pool = start_pool(workers, SCRAPE_NICENESS)

    async def run():
        parser = Parser(pool, max_batch=3)

        async def one(path):
            body = b"\x00binary " * 300 if path.endswith("role_overview.html") else SITE[path].encode()
            try:
                page, links, packed = await parser.parse(body, "text/html", "html", PUBLIC + path, PUBLIC + path)
            except Exception as error:
                return path, type(error).__name__, str(error)
            # The body leaves the worker hashed and compressed as the catalog stores it.
            assert (packed.digest, zlib.decompress(packed.compressed)) == (hashlib.sha256(body).hexdigest(), body)
            return path, page.url, len(links) > 0

        return await asyncio.gather(*(one(path) for path in paths))

    try:
        results = asyncio.run(run())
    finally:
        if pool is not None:
            pool.shutdown()
    for path, first, second in results:
        if path.endswith("role_overview.html"):
            assert (first, second) == ("PageError", f"{PUBLIC}{path}: binary content (NUL bytes), not a page")
        else:
            assert (first, second) == (PUBLIC + path, True)
    assert len(results) == 6


def test_a_bot_check_body_is_refused_in_the_worker_with_the_fetchers_reason():
    challenge = (b"<html><head><title>Just a moment...</title></head><body>"
                 b"<div id='challenge-platform'>Checking your browser</div></body></html>")
    with pytest.raises(NotAPage, match="^bot-check page instead of content$"):
        parse_fetched(challenge, "text/html", "html", PUBLIC + "/docs/vbaws/guide/x.html", "http://x")
    with pytest.raises(NotAPage, match=r"^not an HTML page \(content type application/pdf\)$"):
        parse_fetched(b"%PDF-1.7 " * 300, "application/pdf", "html", PUBLIC + "/docs/vbaws/guide/x.html",
                      "http://x")


def test_parse_workers_run_below_the_fetch_loops_priority():
    pool = start_pool(1, SCRAPE_NICENESS)
    try:
        assert pool.submit(os.nice, 0).result() == min(19, os.nice(0) + SCRAPE_NICENESS)
    finally:
        pool.shutdown()


def test_an_unchanged_pages_links_come_from_its_stored_body_in_a_worker():
    path = sorted(p for p in SITE if p.endswith(".html"))[0]
    blob = zlib.compress(SITE[path].encode())
    pool = start_pool(1, SCRAPE_NICENESS)
    try:
        links = asyncio.run(Parser(pool).links(blob, "html", PUBLIC + path))
    finally:
        pool.shutdown()
    assert links and links == stored_links(blob, "html", PUBLIC + path)
    assert stored_links(b"not zlib", "html", PUBLIC + path) == []


def parse_or_die(body, content_type, kind, public_url, page_url, links=True):
    if body == b"die":
        os._exit(9)  # as the kernel's OOM killer ends a worker
    return public_url


def test_a_worker_that_dies_costs_only_its_page_not_its_batch(monkeypatch):
    monkeypatch.setattr("pipeline.jobs.scrape_batch.parse_fetched", parse_or_die)  # the forked worker inherits it
    pool = start_pool(1, SCRAPE_NICENESS)
    bodies = [b"first", b"a", b"b", b"die", b"c", b"d"]

    async def run():
        parser = Parser(pool, max_batch=8)

        async def one(number, body):
            try:
                return await parser.parse(body, "text/html", "html", f"{PUBLIC}/p{number}.html", "")
            except Exception as error:
                return str(error)

        return await asyncio.gather(*(one(number, body) for number, body in enumerate(bodies)))

    try:
        results = asyncio.run(run())
    finally:
        pool.shutdown()
    # the first page goes alone; the other five wait and go together, and one of them kills the worker
    assert results == [f"{PUBLIC}/p{n}.html" for n in range(3)] + [
        f"{PUBLIC}/p3.html: the parse worker died on this page; not stored"] + [
        f"{PUBLIC}/p{n}.html" for n in (4, 5)]
