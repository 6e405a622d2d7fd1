"""Catalog commands: ingest, stats, export."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.storage.lock import CatalogLocked
from pipeline.cli.common import DB_OPTION, CatalogBusy, exit_for, open_existing, progress_bar
from pipeline.jobs.dumps import DumpError
from pipeline.parse.sources import PageError


@click.command()
@click.argument("source", type=click.Path())
@DB_OPTION
@click.option("--accept-anomalies", is_flag=True,
              help="Store pages that lost most of their operations instead of holding them back.")
def ingest(source, db_path, accept_anomalies):
    """Ingest dump pages into the catalog.

    SOURCE is a directory of dump pages (one snapshot), a single page file, or a git
    repository or bundle of a dump, whose whole history is ingested commit by commit.
    Re-ingesting is idempotent. Exit status 1 when a page failed, 3 on held-back anomalies.

    Example: veeam-perms ingest ../shared/corpus/veeam-docs-vbaws.bundle --db catalog.db
    """
    from pipeline.jobs.ingest import ingest as run_ingest

    with progress_bar("ingesting") as bar:
        try:
            report = run_ingest(db_path, source, accept_anomalies, progress=bar.update)
        except CatalogLocked as error:
            raise CatalogBusy(str(error)) from error
        except (PageError, DumpError) as error:
            raise click.ClickException(str(error)) from error
    click.echo(report.summary())
    exit_for(report.failures, report.anomalies)


@click.command()
@DB_OPTION
def stats(db_path):
    """Print what the catalog holds: products, builds, pages, versions, permissions, runs.

    Example: veeam-perms stats --db catalog.db
    """
    from catalog.analysis.queries import catalog_stats

    click.echo(catalog_stats(open_existing(db_path)))


@click.command()
@DB_OPTION
@click.option("--to", "target", required=True, type=click.Path(file_okay=False),
              help="Directory to write the diffable text export into.")
def export(db_path, target):
    """Write the current catalog as diffable text: one sorted JSON file per product and page.

    Example: veeam-perms export --db catalog.db --to export/
    """
    from catalog.analysis.export import export_catalog

    written = export_catalog(open_existing(db_path), Path(target))
    click.echo(f"wrote {written} files under {target}")
