"""The canary: a fixed list of permission pages fetched live and compared with the public dumps.

Before a scheduled run publishes anything, each listed page is fetched (its `.html` and,
where it exists, its Veeam Markdown `.md` twin), parsed, and compared with the same page in
the git dumps: the same operations, the same permission names, the same build. Any
disagreement means the parsers no longer read the live helpcenter the way they read the
dumps, and nothing should be published until a human looks at the raw pages.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from catalog.analysis.untrusted import markdown_text
from catalog.model import Page
from catalog.paths import OutsideTarget, write_inside
from catalog.storage.keys import title_key
from catalog.urls import PUBLIC_BASE
from pipeline.fetch.client import FetchConfig, Fetcher, FetchResult
from pipeline.fetch.discover import helpcenter_url, markdown_twin, read_config
from pipeline.jobs.parse_pool import BudgetUsed, map_in_order, start_pool
from pipeline.parse.page import is_markdown
from pipeline.parse.sources import PageError, decode_page, parse_page_text, read_page_bytes

MAX_PAGES = 200
DEFAULT_TIME_BUDGET = 15 * 60.0  # seconds; the scheduled canary job times out at 20 minutes
BUDGET_USED = "not compared: the canary's time budget was used first"


class CanaryError(ValueError):
    """A canary list or dumps folder that cannot be used (a usage error)."""


@dataclass(frozen=True)
class CanaryPage:
    path: str
    dump: str
    markdown: bool = True

    @property
    def markdown_path(self) -> str:
        return markdown_twin(self.path) or self.path


def load_canary_list(text: str | None = None, where: str = "canary.toml") -> list[CanaryPage]:
    """The packaged list (pipeline/fetch/canary.toml) unless `text` is given."""
    data = read_config("canary.toml", text, where, CanaryError)
    defaults, pages = data.get("defaults", {}), []
    for number, item in enumerate(data.get("page", []), start=1):
        missing = [key for key in ("path", "dump") if not isinstance(item.get(key), str)]
        if missing:
            raise CanaryError(f"{where}: page {number} lacks {', '.join(missing)}")
        if not item["path"].startswith("/") or not item["path"].endswith(".html") or \
                ".." in Path(item["dump"]).parts or Path(item["dump"]).is_absolute():
            raise CanaryError(f"{where}: page {number}: path must start with / and end in .html, "
                              "and dump stay inside the dumps folder")
        pages.append(CanaryPage(item["path"], item["dump"],
                                bool(item.get("markdown", defaults.get("markdown", True)))))
    if not pages or len(pages) > MAX_PAGES:
        raise CanaryError(f"{where}: lists {len(pages)} pages; a canary needs 1 to {MAX_PAGES}")
    return pages


@dataclass(frozen=True)
class Facts:
    """What must agree between a live page and its dump."""

    operations: tuple[tuple[str, str], ...]
    permissions: frozenset[tuple[str, str]]
    build: str | None

    @classmethod
    def of(cls, page: Page) -> Facts:
        return cls(tuple(sorted((title_key(op.title), op.kind) for op in page.operations)),
                   frozenset((p.provider, p.normalized) for op in page.operations
                             for p in op.permissions), page.build)


@dataclass
class Row:
    page: str
    source: str  # html | md
    status: str  # agree | DISAGREE | failed | no twin
    live: Facts | None = None
    dump: Facts | None = None
    differences: list[str] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return self.status in ("DISAGREE", "failed")


def differences(live: Facts, dump: Facts) -> list[str]:
    found = []
    if live.operations != dump.operations:
        only_live = sorted({t for t, _ in live.operations} - {t for t, _ in dump.operations})
        only_dump = sorted({t for t, _ in dump.operations} - {t for t, _ in live.operations})
        found.append(f"operations {len(live.operations)} live vs {len(dump.operations)} dump"
                     + (f"; only live: {', '.join(only_live[:3])}" if only_live else "")
                     + (f"; only dump: {', '.join(only_dump[:3])}" if only_dump else ""))
    if live.permissions != dump.permissions:
        only_live = sorted(name for _, name in live.permissions - dump.permissions)
        only_dump = sorted(name for _, name in dump.permissions - live.permissions)
        found.append(f"permissions: {len(only_live)} only live ({', '.join(only_live[:3])}), "
                     f"{len(only_dump)} only dump ({', '.join(only_dump[:3])})")
    if live.build != dump.build:
        found.append(f"build {live.build or '-'} live vs {dump.build or '-'} dump")
    return found


def _raw_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path.strip("/")) or "index"


@dataclass
class CanaryReport:
    rows: list[Row]

    @property
    def disagrees(self) -> bool:
        return any(row.bad for row in self.rows)

    def table(self) -> str:
        """A Markdown table, one row per fetched source (printed, and posted to the issue)."""
        lines = ["| page | source | status | operations live/dump | permissions live/dump | "
                 "build live/dump | differences |", "|---|---|---|---|---|---|---|"]
        for row in self.rows:
            live, dump = row.live, row.dump
            ops = f"{len(live.operations)}/{len(dump.operations)}" if live and dump else "-"
            perms = f"{len(live.permissions)}/{len(dump.permissions)}" if live and dump else "-"
            build = f"{live.build or '-'}/{dump.build or '-'}" if live and dump else "-"
            # Live page text becomes an issue body: literal text only (no mention, link or HTML).
            notes = "; ".join(markdown_text(note) for note in row.differences).replace("|", "\\|") or "-"
            lines.append(f"| {row.page} | {row.source} | {row.status} | {ops} | {perms} | {build} | {notes} |")
        bad = sum(row.bad for row in self.rows)
        lines.append("")
        lines.append(f"{len(self.rows)} sources compared, {bad} disagree or failed"
                     if bad else f"{len(self.rows)} sources compared, all agree with the dumps")
        return "\n".join(lines)


def require_inside_dumps(dumps: Path, dump: str) -> None:
    """A dump file is read only when it is inside --dumps once every link on the way is followed."""
    if not (dumps / dump).resolve().is_relative_to(dumps.resolve()):
        raise CanaryError(f"{dumps / dump}: leads outside the dumps folder {dumps} (through a symbolic "
                          "link); the canary reads only files inside it")


def _dump_bytes(dumps: Path, page: CanaryPage) -> tuple[bytes | None, str | None]:
    path = dumps / page.dump
    if not path.is_file():
        return None, f"dump file {page.dump} is missing under {dumps}"
    try:
        return read_page_bytes(path), None
    except (OSError, PageError) as error:
        return None, str(error)


def facts_of(where: str, data: bytes, kind: str, url: str | None) -> Facts:
    """A page's bytes -> what must agree; runs in a parse worker, under the page bounds."""
    return Facts.of(parse_page_text(decode_page(data, where), kind, url=url, path=None if url else where))


def _served(page: CanaryPage, source: str, result: FetchResult, public: str) -> str | None:
    """Why the fetched source cannot be compared ("no twin" or a failed fetch), else None."""
    served = result.outcome == "ok" and is_markdown(result.body or b"", public)
    if source == "md" and (result.status in (404, 410) or (result.outcome == "ok" and not served)):
        return "no twin"
    if result.outcome != "ok" or result.body is None:
        return f"fetch failed: {result.reason}"
    return None


def _row(page: CanaryPage, source: str, result: FetchResult, public: str, dump: Facts | str,
         live: Facts | str | None) -> Row:
    row = Row(page.markdown_path if source == "md" else page.path, source, "failed")
    refused = _served(page, source, result, public)
    if refused == "no twin":
        row.status, row.differences = "no twin", ["no Markdown served at this path"]
    elif refused or isinstance(dump, str) or isinstance(live, str) or live is None:
        row.differences = [refused or (dump if isinstance(dump, str) else live) or "not compared"]
    else:
        row.live, row.dump = live, dump
        row.differences = differences(live, dump)
        row.status = "DISAGREE" if row.differences else "agree"
    return row


async def _fetch_all(config: FetchConfig, paths: list[str], deadline: float | None) -> list[FetchResult]:
    fetcher = Fetcher(config)
    stop = None
    if deadline is not None:
        stop = asyncio.get_running_loop().call_later(max(0.0, deadline - time.monotonic()), fetcher.stop,
                                                     BUDGET_USED)
    try:
        return list(await asyncio.gather(*(fetcher.fetch(path) for path in paths)))
    finally:
        if stop is not None:
            stop.cancel()
        await fetcher.aclose()


def run_canary(dumps: Path, raw_dir: Path, config: FetchConfig, pages: list[CanaryPage] | None = None,
               time_budget: float | None = DEFAULT_TIME_BUDGET) -> CanaryReport:
    """Fetch every listed page (and its .md twin), keep the raw bodies, compare with the dumps.

    Every page, live or dump, is parsed in a parse worker under the page bounds; the run's
    `time_budget` (seconds) covers fetching and parsing: what it leaves is a failed row."""
    pages = pages if pages is not None else load_canary_list()
    if not dumps.is_dir():
        raise CanaryError(f"{dumps}: no dumps folder here; clone the dumps into it first")
    for page in pages:
        require_inside_dumps(dumps, page.dump)
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CanaryError(f"{raw_dir}: cannot create the raw folder ({error.strerror})") from error
    deadline = time.monotonic() + time_budget if time_budget is not None else None
    sources = [(page, source) for page in pages for source in (("html", "md") if page.markdown else ("html",))]
    paths = [page.markdown_path if source == "md" else page.path for page, source in sources]
    results = dict(zip(paths, asyncio.run(_fetch_all(config, paths, deadline)), strict=True))
    jobs, dumps_read = {}, {}
    try:
        for page, source in sources:
            result = results[page.markdown_path if source == "md" else page.path]
            public = helpcenter_url(config.base_url + page.path, config.base_url, PUBLIC_BASE)
            if page.dump not in dumps_read:
                data, problem = dumps_read[page.dump] = _dump_bytes(dumps, page)
                if data is not None:
                    jobs[("dump", page.dump)] = (str(dumps / page.dump), data, "markdown-dump", None)
            if _served(page, source, result, public) is None:
                path = page.markdown_path if source == "md" else page.path
                # never through a link planted in the raw folder
                write_inside(raw_dir, _raw_name(path), result.body)
                jobs[(source, page.path)] = (public, result.body, "html" if source == "html" else "markdown", public)
    except OutsideTarget as error:
        raise CanaryError(str(error)) from error
    facts = _parse_all(jobs, deadline)
    rows = []
    for page, source in sources:
        result = results[page.markdown_path if source == "md" else page.path]
        public = helpcenter_url(config.base_url + page.path, config.base_url, PUBLIC_BASE)
        dump = facts.get(("dump", page.dump)) or dumps_read[page.dump][1] or "dump unreadable"
        rows.append(_row(page, source, result, public, dump, facts.get((source, page.path))))
    return CanaryReport(rows)


def _parse_all(jobs: dict[tuple[str, str], tuple], deadline: float | None) -> dict[tuple[str, str], Facts | str]:
    """Each job's Facts or its error, parsed in the workers; what the budget leaves says so."""
    keys = list(jobs)
    found: dict[tuple[str, str], Facts | str] = {key: BUDGET_USED for key in keys}
    pool = start_pool(None)
    try:
        for key, (_, value) in zip(keys, map_in_order(pool, facts_of, [jobs[key] for key in keys], chunk=4,
                                                        deadline=deadline), strict=False):
            found[key] = value
    except BudgetUsed:
        if pool is not None:
            pool.kill()
    finally:
        if pool is not None:
            pool.shutdown(wait=False)
    return found
