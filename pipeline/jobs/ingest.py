"""Jobs that compose the pipeline with the catalog (what the CLI commands run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.lock import catalog_lock
from catalog.storage.store import CatalogWriter, Observation, utc_now
from pipeline.jobs.dumps import (
    BlobReader,
    Commit,
    is_git_source,
    list_commits,
    list_shas,
    open_repository,
    repository_id,
)
from pipeline.jobs.tempdirs import sigterm_exits
from pipeline.parse.sources import (
    PAGE_SUFFIXES,
    PageError,
    PageFile,
    decode_page,
    iter_page_files,
    parse_file,
    parse_page_text,
    require_page_url,
)

Progress = Callable[[int], None]


@dataclass
class IngestReport:
    source: str
    commits: int = 0
    pages_read: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in
                           sorted(self.counts.items())) or "nothing new"
        head = f"{self.source}: {self.commits} new commits, {self.pages_read} page files read; {counts}"
        lines = [head, *(f"anomaly: {a}" for a in self.anomalies),
                 *(f"failed: {f}" for f in self.failures)]
        return "\n".join(lines)


def _ingest_commit(writer: CatalogWriter, reader: BlobReader, commit: Commit, report: IngestReport,
                   urls_by_path: dict[str, str]) -> None:
    # Deletions first: a page moved to another path within one commit must stay present.
    for change in sorted(commit.changes, key=lambda change: change.status != "D"):
        seen = Observation(commit.committed_at, "git", commit.sha, change.path)
        if change.status == "D":
            url = urls_by_path.pop(change.path, None)
            if url and url not in urls_by_path.values():
                writer.mark_removed(url, seen)
            continue
        report.pages_read += 1
        kind = PAGE_SUFFIXES.get(Path(change.path).suffix.lower(), "markdown")
        where = f"{change.path}@{commit.sha[:10]}"
        try:
            page = require_page_url(parse_page_text(decode_page(reader.read(change.blob, where), where), kind,
                                                    path=change.path), where)
        except PageError as error:
            report.failures.append(str(error))
            continue
        if page.url:
            urls_by_path[change.path] = page.url
        writer.save_page(page, seen)


def ingest_git(db, path: Path, accept_anomalies: bool, progress: Progress | None) -> IngestReport:
    with open_repository(path) as repo:
        repository = repository_id(repo)
        known = {row[0] for row in db.execute(
            "select sha from source_commits where repository = ?", [repository])}
        # Listing shas is cheap; reading every commit's changed files is done only when some are new.
        if set(list_shas(repo)) <= known:
            return IngestReport(str(path))
        commits = [c for c in list_commits(repo) if c.sha not in known]
        report = IngestReport(str(path), commits=len(commits))
        if not commits:
            return report
        writer = CatalogWriter(db, "git", repository, accept_anomalies)
        reader = BlobReader(repo)
        urls_by_path: dict[str, str] = {}
        try:
            with writer.run():
                writer.counts["commits"] = len(commits)
                for commit in commits:
                    _ingest_commit(writer, reader, commit, report, urls_by_path)
                    db["source_commits"].insert({"repository": repository, "sha": commit.sha,
                                                 "committed_at": commit.committed_at,
                                                 "run": writer.run_id})
                    if progress:
                        progress(1)
                writer.touch_present(max(commit.committed_at for commit in commits))
        finally:
            reader.close()
    report.counts, report.anomalies = dict(writer.counts), writer.anomalies
    return report


def ingest_page_files(db, files: list[PageFile], source_ref: str, accept_anomalies: bool,
                      progress: Progress | None = None) -> IngestReport:
    """One snapshot: every file is an observation made now."""
    report = IngestReport(source_ref)
    writer = CatalogWriter(db, "dir", source_ref, accept_anomalies)
    observed = utc_now()
    with writer.run():
        for page_file in files:
            report.pages_read += 1
            try:
                page = require_page_url(parse_file(page_file), str(page_file.path))
            except PageError as error:
                report.failures.append(str(error))
                continue
            writer.save_page(page, Observation(observed, "dir", source_ref, str(page_file.path)))
            if progress:
                progress(1)
    report.counts, report.anomalies = dict(writer.counts), writer.anomalies
    return report


def _require_single_page(source: Path) -> None:
    """A single file argument must be a helpcenter page (a directory may hold other files)."""
    page = require_page_url(parse_file(PageFile(source)), str(source))
    if not page.url:
        raise PageError(f"{source}: not a helpcenter page (no page URL in it)")


def ingest(db_path: str | Path, source: str | Path, accept_anomalies: bool = False,
           progress: Progress | None = None) -> IngestReport:
    """Ingest a dump directory (one snapshot) or a git repository/bundle (its whole history)."""
    source = Path(source)
    if not source.exists():
        raise PageError(f"{source}: no such file or directory")
    if source.is_file() and not is_git_source(source):
        _require_single_page(source)  # before the catalog is created: a usage error leaves nothing
    with sigterm_exits(), catalog_lock(db_path):
        db = open_catalog(db_path)
        try:
            if is_git_source(source):
                return ingest_git(db, source, accept_anomalies, progress)
            files = list(iter_page_files([source]))
            return ingest_page_files(db, files, str(source.resolve()), accept_anomalies, progress)
        finally:
            db.close()
