"""The `veeam-perms` command line: thin click commands that call plain functions."""

from __future__ import annotations

import sys

import click

from pipeline.cli.common import CatalogGroup, Exit, UserError, leave, parse_workers_option, progress_bar
from pipeline.parse.sources import PageError, iter_page_files


@click.group(cls=CatalogGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="veeam-perms")
def cli():
    """Veeam helpcenter permissions: parse, catalog, diff and publish.

    Example: veeam-perms parse ../shared/seeds/ --json
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per page (JSON Lines).")
@click.option("--all", "show_all", is_flag=True,
              help="In the summary, list pages without permissions too.")
@parse_workers_option
def parse(paths, as_json, show_all, parse_workers):
    """Parse dump or Veeam Markdown pages (.md) or helpcenter HTML (.html); print what they require.

    Directories are walked for page files. Exit status 1 when any page could not be read, 2 when a path does not exist.

    Example: veeam-perms parse docs/req_permissions.md --json
    """
    from pipeline.jobs.parse_files import parse_files

    try:
        files = list(iter_page_files(paths))
    except PageError as error:
        raise UserError(str(error)) from error
    failures, pages, operations = [], 0, 0
    results = parse_files(files, as_json, show_all, parse_workers)
    out = sys.stdout  # written through its buffer: click.echo flushes every line
    for ok, value in progress_bar("parsing", results, unit="page", total=len(files)):
        if not ok:
            failures.append(value)
            continue
        text, found = value
        pages += 1
        operations += found
        if text is not None:
            out.write(text + "\n")
    out.flush()
    if not as_json:
        click.echo(f"{pages} pages parsed, {operations} operations, {len(failures)} failed", err=True)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    if failures:
        leave(Exit.FAILED)


def _register() -> None:
    from pipeline.cli.canary_commands import canary, issue
    from pipeline.cli.catalog_commands import export, ingest, migrate, products, stats
    from pipeline.cli.check_commands import check
    from pipeline.cli.corpus_commands import corpus
    from pipeline.cli.diff_commands import changelog, diff, upgrade
    from pipeline.cli.github_commands import propose, release_command, restore
    from pipeline.cli.policy_commands import policy
    from pipeline.cli.scrape_commands import reparse, scrape, update
    from pipeline.cli.site_commands import demo, publish, serve

    for command in (ingest, stats, export, diff, upgrade, changelog, scrape, reparse, serve, publish,
                    demo, policy, check, update, restore, propose, release_command, products,
                    canary, issue, corpus, migrate):
        cli.add_command(command)


_register()
