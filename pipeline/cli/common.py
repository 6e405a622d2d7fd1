"""What every CLI command shares: the --db option, the progress bar, catalog checks, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DB_OPTION = click.option("--db", "db_path", default="catalog.db", show_default=True,
                         type=click.Path(dir_okay=False), help="The catalog SQLite file.")
EXIT_FAILED, EXIT_ANOMALIES = 1, 3


class CatalogBusy(click.ClickException):
    """Another process is writing the catalog: one line, exit 2 (try again later)."""

    exit_code = 2


def progress_bar(label: str, items=None, unit: str = "item"):
    """A progress bar on a terminal, nothing in pipes and CI logs."""
    from tqdm import tqdm

    return tqdm(items, desc=label, unit=unit, disable=not sys.stderr.isatty(), leave=False)


def existing_catalog(db_path: str | Path) -> Path:
    """The catalog path, or a clear error when there is none (commands that only read)."""
    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path}: no catalog here; build one with `veeam-perms ingest`")
    return Path(db_path)


def open_existing(db_path: str | Path):
    from catalog.storage.database import open_catalog

    return open_catalog(existing_catalog(db_path))


def exit_for(failures: list, anomalies: list) -> None:
    """Exit 1 when a page failed, 3 when pages were held back as anomalies, else return."""
    if failures:
        sys.exit(EXIT_FAILED)
    if anomalies:
        sys.exit(EXIT_ANOMALIES)
