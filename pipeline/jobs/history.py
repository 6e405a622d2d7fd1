"""Ingest a dump's git history: each changed page read and parsed once, in the parse workers, and
written in commit order by this process, the run's one writer.

A blob (git names each by its content) that several changes carry is parsed once: its outcome is
kept until its last use. The workers read the blobs themselves, a chunk per `git cat-file` round
trip, so page bytes never pass through this process.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
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


def _named(message: str, parsed_as: str, where: str) -> str:
    """A failure message of a blob met again, naming where it is met now."""
    return where + message[len(parsed_as):] if message.startswith(parsed_as) else message


KEPT_PAGES = 2048  # parsed pages kept for a blob met again; a small answer (an Unread, a failure) is always kept


class _History:
    """The changes of the commits in order, each blob's first change sent to the parse workers.

    `git log` streams the commits; the changes wait here, in order, for the outcomes of the first
    changes of their blobs. A blob met again takes the outcome its first change had: small ones are
    kept for the run, parsed pages in a bounded cache (a page evicted from it is parsed again).
    """

    def __init__(self, commits: Iterable[Commit]) -> None:
        self.commits = commits
        self.queue: deque[tuple[Commit, FileChange | None, bool]] = deque()  # None: the commit's end
        self.parsed_as: dict[str, str] = {}  # blob -> where it was parsed (failure messages name it)
        self.small: dict[str, Outcome] = {}
        self.pages: OrderedDict[str, Outcome] = OrderedDict()
        self.count, self.latest = 0, ""

    def items(self) -> Iterator[tuple[str, str, str]]:
        for commit in self.commits:
            self.count += 1
            self.latest = max(self.latest, commit.committed_at)
            for change in _in_order(commit):
                first = change.status != "D" and change.blob not in self.parsed_as
                # Queued before it is handed out: its outcome may come back before this resumes.
                self.queue.append((commit, change, first))
                if first:
                    self.parsed_as[change.blob] = _where(change, commit)
                    yield self.parsed_as[change.blob], change.blob, change.path
            self.queue.append((commit, None, False))

    def remember(self, blob: str, outcome: Outcome) -> None:
        ok, value = outcome
        if not ok or isinstance(value, Unread):
            self.small[blob] = outcome
            return
        self.pages[blob] = outcome
        if len(self.pages) > KEPT_PAGES:
            self.pages.popitem(last=False)

    def recall(self, repo: str, blob: str, where: str, path: str) -> Outcome:
        found = self.small.get(blob) or self.pages.get(blob)
        if found is None:  # a parsed page no longer kept: parsed again
            found = read_and_parse(repo, [(where, blob, path)])[0]
        return found


def ingest_commits(writer: CatalogWriter, repo: Path, repository: str, commits: Iterable[Commit], report,
                   pool: ParsePool | None, progress: Callable[[int], None] | None) -> tuple[int, str]:
    """Write every commit's pages, in order, inside the writer's run; (commits written, the latest
    commit's date)."""
    history = _History(commits)
    outcomes = map_chunks_in_order(pool, partial(read_and_parse, str(repo)), history.items())
    urls_by_path: dict[str, str] = {}

    def settle(until_first: bool) -> None:
        """Write the queued changes up to the next one that waits for its parse."""
        while history.queue and not (until_first and history.queue[0][2]):
            commit, change, _ = history.queue.popleft()
            if change is None:
                save_commits(writer.db, repository, [(commit.sha, commit.committed_at)], writer.run_id)
                if progress:
                    progress(1)
            elif change.status == "D":
                _removed(writer, change, commit, urls_by_path)
            else:
                where = _where(change, commit)
                outcome = history.recall(str(repo), change.blob, where, change.path)
                _apply(writer, repo, change, commit, outcome, history.parsed_as[change.blob], report, urls_by_path)

    try:
        for outcome in outcomes:
            settle(until_first=True)
            commit, change, _ = history.queue.popleft()
            history.remember(change.blob, outcome)
            _apply(writer, repo, change, commit, outcome, history.parsed_as[change.blob], report, urls_by_path)
        settle(until_first=False)
    finally:
        outcomes.close()
        close_readers()
    return history.count, history.latest


def _removed(writer: CatalogWriter, change: FileChange, commit: Commit, urls_by_path: dict[str, str]) -> None:
    url = urls_by_path.pop(change.path, None)
    if url and url not in urls_by_path.values():
        writer.mark_removed(url, Observation(commit.committed_at, "git", commit.sha, change.path))


def _apply(writer: CatalogWriter, repo: Path, change: FileChange, commit: Commit, outcome: Outcome,
           parsed_as: str, report, urls_by_path: dict[str, str]) -> None:
    """One changed page file: its parse outcome written (or its failure reported)."""
    report.pages_read += 1
    ok, value = outcome
    where = _where(change, commit)
    if not ok:
        report.failures.append(_named(value, parsed_as, where))
        return
    if value.url:
        urls_by_path[change.path] = value.url
    if isinstance(value, Unread):
        if writer.skips_without_content(value.url):
            return
        # A page the catalog holds lost its permissions: store its version whole.
        ok, value = read_and_parse(str(repo), [(where, change.blob, change.path)], skim=False)[0]
        if not ok:
            report.failures.append(value)
            return
    writer.save_page(value, Observation(commit.committed_at, "git", commit.sha, change.path))
