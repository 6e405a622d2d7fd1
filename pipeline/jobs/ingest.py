"""Jobs that compose the pipeline with the catalog (what the CLI commands run)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog.storage.database import open_catalog
from catalog.storage.history import head_is_known, known_commits, save_head
from catalog.storage.lock import catalog_lock
from catalog.storage.store import CatalogWriter, Observation, utc_now
from pipeline.jobs.dumps import head_of, is_git_source, iter_commits, list_shas, open_repository, repository_id
from pipeline.jobs.history import ingest_commits
from pipeline.jobs.parse_pool import ParsePool, start_pool
from pipeline.jobs.tempdirs import sigterm_exits
from pipeline.parse.sources import PageError, PageFile, iter_page_files, parse_file, require_page_url

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


def ingest_git(db, path: Path, accept_anomalies: bool, progress: Progress | None,
               pool: ParsePool | None = None, head: str | None = None) -> IngestReport:
    """`head`: the commit the source names HEAD when the caller read it already."""
    with open_repository(path) as repo:
        repository = repository_id(repo)
        head = head or head_of(repo)
        known = known_commits(db, repository)
        # Listing shas is cheap; reading every commit's changed files is done only when some are new.
        if set(list_shas(repo)) <= known:
            if head:
                with db.atomic():
                    save_head(db, repository, head, utc_now())
            return IngestReport(str(path))
        commits = (c for c in iter_commits(repo) if c.sha not in known)
        report = IngestReport(str(path))
        writer = CatalogWriter(db, "git", repository, accept_anomalies)
        with writer.run():
            report.commits, latest = ingest_commits(writer, repo, repository, commits, report, pool, progress)
            writer.counts["commits"] = report.commits
            writer.touch_present(latest)
            if head:
                save_head(db, repository, head, utc_now())
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
           progress: Progress | None = None, workers: int | None = None) -> IngestReport:
    """Ingest a dump directory (one snapshot) or a git repository/bundle (its whole history).

    A git source whose HEAD the catalog already holds returns at once, without a clone. `workers`:
    parse processes for a history (default one per core; 0 parses in this process).
    """
    source = Path(source)
    if not source.exists():
        raise PageError(f"{source}: no such file or directory")
    git = is_git_source(source)
    if source.is_file() and not git:
        _require_single_page(source)  # before the catalog is created: a usage error leaves nothing
    if git:
        head = head_of(source)
        if head and head_is_known(db_path, head):
            return IngestReport(str(source))
    with sigterm_exits():
        # Before the lock: workers must not inherit it. Dumps are Markdown: the HTML front-end loads
        # in a worker only if a history holds an .html page.
        pool = start_pool(workers, html=False) if git else None
        try:
            with catalog_lock(db_path):
                db = open_catalog(db_path)
                try:
                    if git:
                        return ingest_git(db, source, accept_anomalies, progress, pool, head)
                    files = list(iter_page_files([source]))
                    return ingest_page_files(db, files, str(source.resolve()), accept_anomalies, progress)
                finally:
                    db.close()
        finally:
            if pool is not None:
                pool.shutdown()
