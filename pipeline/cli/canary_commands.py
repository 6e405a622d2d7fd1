"""The canary command: live pages against the public dumps, before anything is published."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.urls import PUBLIC_BASE
from pipeline.cli.common import Exit, leave, read_text_option, write_text_option


@click.command()
@click.option("--dumps", "dumps_dir", required=True, type=click.Path(file_okay=False),
              help="Folder holding the dump clones: <dumps>/<dump>/docs/<page>.md.")
@click.option("--raw-dir", default="canary-raw", show_default=True, type=click.Path(file_okay=False),
              help="Folder the raw fetched pages are written to.")
@click.option("--base-url", default=PUBLIC_BASE, show_default=True,
              help="Where to fetch from (a mirror or local test site).")
@click.option("--list", "list_file", type=click.Path(dir_okay=False),
              help="A canary list in the shape of the packaged pipeline/fetch/canary.toml.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False),
              help="Also write the table to this file (the body of an issue).")
@click.option("--time-budget", default=15.0, show_default=True, type=click.FloatRange(0.01, 24 * 60),
              help="Minutes the run may take, fetching and parsing included; what it leaves fails "
                   "(the scheduled canary job times out at 20).")
def canary(dumps_dir, raw_dir, base_url, list_file, report_file, time_budget):
    """Fetch a fixed list of permission pages live and compare them with the public dumps.

    Each page's .html (and its Veeam Markdown .md twin, where one is served) must give the
    same operations, permission names and build as the same page in the dumps. Prints one
    table row per source. Exit status 1 when any page disagrees or could not be fetched,
    2 on usage errors (no dumps folder, unreadable list).

    Example: veeam-perms canary --dumps dumps/ --raw-dir canary-raw --report canary.md
    """
    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.canary import CanaryError, load_canary_list, run_canary

    try:
        pages = None
        if list_file:
            pages = load_canary_list(read_text_option(list_file, "--list"), where=list_file)
        report = run_canary(Path(dumps_dir), Path(raw_dir), FetchConfig(base_url=base_url), pages,
                            time_budget=time_budget * 60)
    except CanaryError as error:
        click.echo(f"Error: {error}", err=True)
        leave(Exit.USAGE)
    table = report.table()
    click.echo(table)
    if report_file:
        write_text_option(report_file, table + "\n", "--report")
    if report.disagrees:
        leave(Exit.FAILED)


@click.command(name="issue")
@click.option("--title", required=True, help="Title of the issue when a new one is opened.")
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The issue body or comment (Markdown).")
@click.option("--label", required=True, help="The label that marks the one open issue of this kind.")
def issue(title, body_file, label):
    """Open an issue, or comment on the open one with the same label (through `gh`).

    Example: veeam-perms issue --title "Canary disagrees" --body-file canary-report.md --label scrape-canary
    """
    from pipeline.jobs.github import GitHubError, open_or_update_issue

    try:
        click.echo(open_or_update_issue(title, Path(body_file), label))
    except GitHubError as error:
        raise click.ClickException(str(error)) from error
