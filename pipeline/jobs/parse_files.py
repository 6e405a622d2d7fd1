"""`veeam-perms parse` over many files: each page parsed in a worker, the output kept in file order."""

from __future__ import annotations

import json
from collections.abc import Iterator

from pipeline.jobs.parse_pool import map_in_order, start_pool
from pipeline.parse.sources import PageFile, parse_file
from pipeline.parse.summary import format_page_summary

POOL_FROM_FILES = 64  # below this, starting the workers costs more than they save
INLINE_MAX_BYTES = 1024 * 1024  # a larger page goes to a worker anyway: its memory is bounded there


def _parse_one(where: str, as_json: bool, show_all: bool) -> tuple[str | None, int]:
    """(what to print for the page, its operation count); runs in a worker."""
    page = parse_file(where)
    if as_json:
        return json.dumps(page.to_json_record(), ensure_ascii=False), len(page.operations)
    shown = page.operations or page.mentions or page.warnings or show_all
    return (format_page_summary(page) if shown else None), len(page.operations)


def _worth_a_pool(files: list[PageFile]) -> bool:
    if len(files) >= POOL_FROM_FILES:
        return True
    try:
        return any(f.path.stat().st_size > INLINE_MAX_BYTES for f in files)
    except OSError:
        return True  # parse_file reports the file; a worker does it as well as this process


def parse_files(files: list[PageFile], as_json: bool, show_all: bool,
                workers: int | None = None) -> Iterator[tuple[bool, object]]:
    """For each file in order: (True, (text or None, operations)) or (False, the error message).
    `workers`: None for one per core (inline below `POOL_FROM_FILES` files), 0 for inline."""
    pool = start_pool(workers if workers is not None or _worth_a_pool(files) else 0,
                      html=any(f.kind == "html" for f in files))
    try:
        yield from map_in_order(pool, _parse_one, ((str(f.path), as_json, show_all) for f in files))
    finally:
        if pool is not None:
            pool.shutdown()
