"""Live scraping commands: scrape, reparse."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.storage.lock import CatalogLocked
from catalog.urls import PUBLIC_BASE
from pipeline.cli.common import (
    CatalogBusy,
    Exit,
    UserError,
    accept_anomalies_option,
    db_option,
    describe_file_error,
    exit_for,
    leave,
    parse_workers_option,
    product_code,
    products_file_option,
    progress_bar,
    rate_option,
    read_text_option,
    require_output_folder,
)
from pipeline.fetch.discover import ConfigError
from pipeline.parse.sources import PageError

TIME_BUDGET_OPTION = click.option(
    "--time-budget", default=50.0, show_default=True, type=click.FloatRange(0.01, 24 * 60),
    help="Minutes the run may take; then it stops, commits and lists the pages left (the scheduled "
         "workflow's job times out at 60).")


@click.command()
@db_option()
@click.option("--product", "products", multiple=True, callback=product_code,
              help="Only this product (repeatable): vbaws, vbazure, vbgc, vbr, vbo365.")
@click.option("--url", "urls", multiple=True,
              help="Fetch exactly this page (a path or full URL; repeatable) instead of discovering.")
@click.option("--since-last", is_flag=True,
              help="Re-fetch only the pages already in the catalog (conditional requests), no discovery.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 32))
@rate_option
@click.option("--base-url", default=PUBLIC_BASE, show_default=True,
              help="Fetch from this mirror or local server instead; the host allowlist follows it.")
@accept_anomalies_option
@click.option("--ignore-robots", is_flag=True, help="Do not read robots.txt (only for local mirrors).")
@products_file_option
@TIME_BUDGET_OPTION
@click.option("--batch-pages", default=25, show_default=True, type=click.IntRange(1, 10_000),
              help="Commit after every this many pages, so a killed run keeps what it did.")
@parse_workers_option
def scrape(db_path, products, urls, since_last, concurrency, rate, base_url, accept_anomalies,
           ignore_robots, products_file, time_budget, batch_pages, parse_workers):
    """Crawl the helpcenter, parse permission pages and record new versions in the catalog.

    Pages are fetched from Veeam's Markdown twin (`page.md`) when a product serves one, else
    from the `.html` page; a guide's sitemap.xml adds pages and lets unchanged ones (same lastmod)
    be skipped without a request. The run stops cleanly at its time budget or when the host keeps
    answering 429/503 (circuit breaker), keeping every committed batch.

    Exit status 1 when any page failed or the run stopped early (each is listed), 3 on held-back
    anomalies.

    Example: veeam-perms scrape --db catalog.db --product vbaws --since-last --time-budget 30
    """
    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.scrape import ScrapeOptions
    from pipeline.jobs.scrape import scrape as run_scrape

    config = FetchConfig(base_url=base_url.rstrip("/"), concurrency=concurrency,
                         per_host_per_second=rate, respect_robots=not ignore_robots)
    with progress_bar("fetching") as bar:
        try:
            products_toml = read_text_option(products_file, "--products-file") if products_file else None
            report = run_scrape(db_path, list(products), list(urls), since_last, config,
                                accept_anomalies, progress=bar.update, products_toml=products_toml,
                                options=ScrapeOptions(time_budget=time_budget * 60, batch_pages=batch_pages,
                                                      parse_workers=parse_workers))
        except CatalogLocked as error:
            raise CatalogBusy(str(error)) from error
        except (PageError, ConfigError) as error:
            raise UserError(str(error)) from error
    click.echo(report.summary())
    exit_for(report.failed + ([report.stopped] if report.stopped else []), report.anomalies)


@click.command()
@db_option()
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False),
              help="The new catalog to build from the raw snapshots (must not exist).")
@parse_workers_option
def reparse(db_path, target, parse_workers):
    """Rebuild a catalog offline from the raw pages stored by earlier scrapes (no network).

    Use it after a parser improvement: every stored fetch is parsed again, in fetch order, each
    page under the parse workers' bounds. Exit status 1 when a stored page could not be parsed.

    Example: veeam-perms reparse --db catalog.db --to catalog-reparsed.db
    """
    from pipeline.jobs.reparse import reparse as run_reparse

    try:
        report = run_reparse(db_path, target, parse_workers)
    except CatalogLocked as error:
        raise CatalogBusy(str(error)) from error
    except (PageError, FileExistsError, FileNotFoundError) as error:
        raise UserError(str(error)) from error
    click.echo(report.summary())
    exit_for(report.failures, [])


def _report_failure(path: Path, message: str) -> None:
    from catalog.analysis.untrusted import markdown_text

    try:
        path.write_text(f"# veeam-perms: scheduled run failed\n\n{markdown_text(message)}\n", encoding="utf-8")
    except OSError:
        pass  # the one-line error still says what failed


@click.command()
@db_option()
@click.option("--export-dir", default="export", show_default=True, type=click.Path(file_okay=False),
              help="Where the diffable text export goes (committed by the workflow).")
@click.option("--changelog", "changelog_path", default="CHANGES.md", show_default=True,
              type=click.Path(dir_okay=False), help="Markdown changelog of this run (the PR body).")
@click.option("--report", "report_path", default="gate-report.md", show_default=True,
              type=click.Path(dir_okay=False), help="Written when the anomaly gate trips (the issue body).")
@click.option("--since-last", is_flag=True, help="Re-fetch the known pages only, no discovery.")
@click.option("--base-url", default=PUBLIC_BASE, show_default=True)
@products_file_option
@click.option("--product", "products", multiple=True, callback=product_code)
@rate_option
@TIME_BUDGET_OPTION
def update(db_path, export_dir, changelog_path, report_path, since_last, base_url, products_file, products, rate,
           time_budget):
    """The scheduled run: scrape, stop at the anomaly gate, export, write this run's changelog.

    Exit status 0 when the run is publishable (changed or unchanged; the status is also written to
    $GITHUB_OUTPUT), 4 when the gate tripped (the report explains why), 1 on other failures.

    Example: veeam-perms update --db catalog.db --export-dir export --changelog CHANGES.md
    """
    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.scrape import ScrapeOptions
    from pipeline.jobs.update import update as run_update

    products_toml = read_text_option(products_file, "--products-file") if products_file else None
    require_output_folder(changelog_path, "--changelog")
    require_output_folder(report_path, "--report")
    try:
        outcome = run_update(Path(db_path), Path(export_dir), Path(changelog_path), Path(report_path),
                             products=list(products), since_last=since_last,
                             config=FetchConfig(base_url=base_url.rstrip("/"), per_host_per_second=rate),
                             products_toml=products_toml, options=ScrapeOptions(time_budget=time_budget * 60))
    except Exception as error:
        known = (PageError, CatalogLocked, ConfigError)
        message = str(error) if isinstance(error, known) else describe_file_error(error, db_path)
        if message is None:
            raise
        _report_failure(Path(report_path), message)  # the workflow's alert job posts it as the issue body
        raise (CatalogBusy if isinstance(error, CatalogLocked) else UserError)(message) from error
    click.echo(outcome.summary)
    click.echo(f"status: {outcome.status}")
    if outcome.status == "gated":
        click.echo(f"the anomaly gate tripped; see {outcome.report_path}", err=True)
        leave(Exit.GATED)
