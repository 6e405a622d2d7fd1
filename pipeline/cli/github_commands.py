"""Commands the GitHub workflows call: restore, propose, release."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import UserError, db_option, existing_catalog
from pipeline.jobs.github import GitHubError


@click.command()
@click.option("--release", "releases", multiple=True, required=True,
              help="Release to take catalog.db from; the first that has it wins (repeatable).")
@click.option("--to", "target", default="catalog.db", show_default=True, type=click.Path(dir_okay=False))
@click.option("--head", "head_sha", metavar="SHA",
              help="Only a catalog `propose` recorded for this commit (the merged pull request's head); "
                   "refuse anything else. Takes exactly one --release.")
def restore(releases, target, head_sha):
    """Download the catalog from a GitHub release (needs `gh` and GH_TOKEN); start empty when absent.

    \b
    Examples:
      veeam-perms restore --release catalog --to catalog.db
      veeam-perms restore --release catalog-pending --head 3f2c... --to catalog.db
    """
    from pipeline.jobs.github import restore as run_restore
    from pipeline.jobs.github import restore_reviewed

    try:
        if head_sha:
            if len(releases) != 1:
                raise UserError("--head takes exactly one --release")
            click.echo(restore_reviewed(releases[0], head_sha, Path(target)))
        else:
            click.echo(run_restore(list(releases), Path(target)))
    except GitHubError as error:
        raise UserError(str(error)) from error


@click.command()
@click.option("--result", "result_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The scrape job's artifact: catalog.db, export/, CHANGES.md.")
@click.option("--branch", default="scrape/updates", show_default=True)
@click.option("--release", "pending_release", default="catalog-pending", show_default=True,
              help="Release that holds the catalog until the pull request is merged.")
@click.option("--repo", "repo_dir", default=".", show_default=True, type=click.Path(file_okay=False))
def propose(result_dir, branch, pending_release, repo_dir):
    """Commit a changed export on a branch and open (or update) the pull request whose body is the changelog.

    Example: veeam-perms propose --result scrape-result --branch scrape/updates
    """
    from pipeline.jobs.github import propose as run_propose

    try:
        click.echo(run_propose(Path(result_dir), Path(repo_dir), branch, pending_release))
    except GitHubError as error:
        raise UserError(str(error)) from error


@click.command(name="release")
@db_option()
@click.option("--site", "site_dir", type=click.Path(file_okay=False), default="build/site", show_default=True,
              help="The directory `veeam-perms publish` wrote (attached as site.tar.gz when present).")
@click.option("--release", "release_name", default="catalog", show_default=True)
@click.option("--keep-pending", is_flag=True,
              help="Leave the catalog awaiting review in catalog-pending (a manual rebuild).")
def release_command(db_path, site_dir, release_name, keep_pending):
    """Attach catalog.db (and the site bundle) to a GitHub release so anyone can download it.

    Example: veeam-perms release --db catalog.db --release catalog
    """
    from pipeline.jobs.github import release_catalog

    try:
        click.echo(release_catalog(existing_catalog(db_path), Path(site_dir), release_name,
                                   clear_pending=not keep_pending))
    except GitHubError as error:
        raise UserError(str(error)) from error
