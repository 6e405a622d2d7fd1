"""Catalog commands: ingest, stats, export, migrate."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.storage.lock import CatalogLocked
from pipeline.cli.common import (
    CatalogBusy,
    UserError,
    accept_anomalies_option,
    db_option,
    existing_catalog,
    exit_for,
    open_existing,
    parse_workers_option,
    progress_bar,
)
from pipeline.jobs.dumps import DumpError
from pipeline.parse.sources import PageError


@click.command()
@click.argument("source", type=click.Path())
@db_option()
@accept_anomalies_option
@parse_workers_option
def ingest(source, db_path, accept_anomalies, parse_workers):
    """Ingest dump pages into the catalog.

    SOURCE is a directory of dump pages (one snapshot), a single page file, or a git
    repository or bundle of a dump, whose whole history is ingested commit by commit.
    Re-ingesting is idempotent. Exit status 1 when a page failed, 2 on bad input,
    3 on held-back anomalies.

    Example: veeam-perms ingest ../shared/corpus/veeam-docs-vbaws.bundle --db catalog.db
    """
    from pipeline.jobs.ingest import ingest as run_ingest

    with progress_bar("ingesting") as bar:
        try:
            report = run_ingest(db_path, source, accept_anomalies, progress=bar.update, workers=parse_workers)
        except CatalogLocked as error:
            raise CatalogBusy(str(error)) from error
        except (PageError, DumpError) as error:
            raise UserError(str(error)) from error
    click.echo(report.summary())
    exit_for(report.failures, report.anomalies)


@click.command()
@db_option()
def stats(db_path):
    """Print what the catalog holds: products, builds, pages, versions, permissions, runs.

    Example: veeam-perms stats --db catalog.db
    """
    from catalog.analysis.queries import catalog_stats

    click.echo(catalog_stats(open_existing(db_path)))


@click.command()
@db_option()
@click.option("--to", "target", required=True, type=click.Path(file_okay=False),
              help="Folder to write the export into: empty, new, or a previous export's.")
def export(db_path, target):
    """Write the current catalog as diffable text: one sorted JSON file per product and page release.

    The folder is the export's own: it records what it wrote in .veeam-perms-export.json, deletes
    only those files, and refuses a folder holding anything else.

    Example: veeam-perms export --db catalog.db --to export/
    """
    from catalog.analysis.export import ExportError, export_catalog

    try:
        written = export_catalog(open_existing(db_path), Path(target))
    except ExportError as error:
        raise UserError(str(error)) from error
    click.echo(f"wrote {written} files under {target}")


@click.command()
@click.option("--db", "db_path", default=None, type=click.Path(dir_okay=False),
              help="A catalog: add page counts, builds and the last change per product.")
def products(db_path):
    """List the products the scraper knows (key and name), with catalog figures given --db.

    Products the catalog holds but products.toml does not (archived or renamed ones) are
    listed too when --db is given.

    Example: veeam-perms products --db catalog.db
    """
    from pipeline.jobs.products import product_table

    db = open_existing(db_path) if db_path else None
    click.echo(product_table(db))


@click.command()
@db_option()
def migrate(db_path):
    """Bring a catalog written by an older veeam-perms up to this version's schema.

    Read commands never change a catalog, so they ask for this when migrations are pending.

    Example: veeam-perms migrate --db catalog.db
    """
    from catalog.storage.database import CatalogError, open_catalog
    from catalog.storage.lock import catalog_lock

    path = existing_catalog(db_path)
    try:
        with catalog_lock(path):
            open_catalog(path).close()
    except (CatalogError, CatalogLocked) as error:
        raise UserError(str(error)) from error
    click.echo(f"{path}: up to date")
