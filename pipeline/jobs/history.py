"""Ingest a dump's git history: each changed page read and parsed once, in the parse workers, and
written in commit order by this process, the run's one writer.

A blob (git names each by its content) that several changes carry is parsed once: its outcome is
kept until its last use. The workers read the blobs themselves, a chunk per `git cat-file` round
trip, so page bytes never pass through this process.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from catalog.model import Page
from catalog.storage.history import save_commits
from catalog.storage.store import CatalogWriter, Observation
from catalog.storage.versions import holds_content
from pipeline.jobs.dumps import BlobReader, Commit, FileChange
from pipeline.jobs.parse_pool import Outcome, ParsePool, map_chunks_in_order, run_bounded
from pipeline.parse.sources import (
    PAGE_SUFFIXES,
    PageError,
    Unread,
    decode_page,
    parse_or_skip,
    parse_page_text,
    require_page_url,
)

_READERS: dict[str, BlobReader] = {}  # per process: a worker keeps its `git cat-file` for the run


def _parse_blob(where: str, data: bytes, path: str, skim: bool) -> Page | Unread:
    kind = PAGE_SUFFIXES.get(os.path.splitext(path)[1].lower(), "markdown")
    if skim:
        return parse_or_skip(data, kind, where, path)
    return require_page_url(parse_page_text(decode_page(data, where), kind, path=path), where)


def _skimmed(outcome: Outcome) -> Outcome:
    """A parsed page that holds nothing goes back as an Unread too: only its URL is needed then,
    and sending a Page back costs more than parsing it again in the rare case it is needed."""
    ok, page = outcome
    if ok and isinstance(page, Page) and not holds_content(page):
        return True, Unread(page.url)
    return outcome


def read_and_parse(repo: str, items: list[tuple[str, str, str]], skim: bool = True) -> list[Outcome]:
    """(where, blob, path) of each page -> its parse outcome (with `skim`, an Unread for a page
    that holds nothing). Runs in a worker: the chunk's blobs are read in one round trip, then
    each page is parsed under the page bounds."""
    reader = _READERS.get(repo)
    if reader is None:
        reader = _READERS[repo] = BlobReader(Path(repo))
    found = reader.read_many([(blob, where) for where, blob, _ in items])
    outcomes = [(False, str(data)) if isinstance(data, PageError)
                else run_bounded(_parse_blob, (where, data, path, skim))
                for (where, _, path), data in zip(items, found, strict=True)]
    return [_skimmed(outcome) for outcome in outcomes] if skim else outcomes


def close_readers() -> None:
    while _READERS:
        _READERS.popitem()[1].close()


def _in_order(commit: Commit) -> list[FileChange]:
    # Deletions first: a page moved to another path within one commit must stay present.
    return sorted(commit.changes, key=lambda change: change.status != "D")


def _where(change: FileChange, commit: Commit) -> str:
    return f"{change.path}@{commit.sha[:10]}"


def _plan(commits: list[Commit]) -> tuple[list[tuple[str, str, str]], Counter[str], dict[str, str]]:
    """The pages to parse (each blob's first change), how many changes read each blob, and the
    name each blob was parsed under."""
    items, uses, first = [], Counter(), {}
    for commit in commits:
        for change in _in_order(commit):
            if change.status == "D":
                continue
            uses[change.blob] += 1
            if change.blob not in first:
                first[change.blob] = _where(change, commit)
                items.append((first[change.blob], change.blob, change.path))
    return items, uses, first


def _named(message: str, parsed_as: str, where: str) -> str:
    """A failure message of a blob met again, naming where it is met now."""
    return where + message[len(parsed_as):] if message.startswith(parsed_as) else message


def ingest_commits(writer: CatalogWriter, repo: Path, repository: str, commits: list[Commit], report,
                   pool: ParsePool | None, progress: Callable[[int], None] | None) -> None:
    """Write every commit's pages, in order, inside the writer's run."""
    items, uses, parsed_as = _plan(commits)
    outcomes = map_chunks_in_order(pool, partial(read_and_parse, str(repo)), items)
    kept: dict[str, Outcome] = {}
    urls_by_path: dict[str, str] = {}
    try:
        for commit in commits:
            for change in _in_order(commit):
                seen = Observation(commit.committed_at, "git", commit.sha, change.path)
                if change.status == "D":
                    url = urls_by_path.pop(change.path, None)
                    if url and url not in urls_by_path.values():
                        writer.mark_removed(url, seen)
                    continue
                report.pages_read += 1
                outcome = kept.pop(change.blob, None) or next(outcomes)
                uses[change.blob] -= 1
                if uses[change.blob]:
                    kept[change.blob] = outcome
                ok, value = outcome
                where = _where(change, commit)
                if not ok:
                    report.failures.append(_named(value, parsed_as[change.blob], where))
                    continue
                if value.url:
                    urls_by_path[change.path] = value.url
                if isinstance(value, Unread):
                    if writer.skips_without_content(value.url):
                        continue
                    # A page the catalog holds lost its permissions: store its version whole.
                    ok, value = read_and_parse(str(repo), [(where, change.blob, change.path)], skim=False)[0]
                    if not ok:
                        report.failures.append(value)
                        continue
                writer.save_page(value, seen)
            save_commits(writer.db, repository, [(commit.sha, commit.committed_at)], writer.run_id)
            if progress:
                progress(1)
    finally:
        outcomes.close()
        close_readers()
