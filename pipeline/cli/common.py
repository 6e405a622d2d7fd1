"""What every CLI command shares: option decorators, the progress bar, catalog checks, exit codes."""

from __future__ import annotations

import sys
from enum import IntEnum
from pathlib import Path

import click


class Exit(IntEnum):
    """Every exit status a command returns, in one place (click's own errors use 1 and 2 too)."""

    OK = 0
    FAILED = 1  # a page or a step failed; for `check`, something is missing
    USAGE = 2  # bad input: options, files, policies
    ANOMALIES = 3  # pages held back by the anomaly check
    GATED = 4  # `update`: the anomaly gate tripped, nothing is publishable


def db_option(default: str = "catalog.db"):
    """`--db PATH`: the catalog SQLite file a command reads or writes."""
    return click.option("--db", "db_path", default=default, show_default=True,
                        type=click.Path(dir_okay=False), help="The catalog SQLite file.")


def accept_anomalies_option(command):
    """`--accept-anomalies`: for commands that store pages."""
    return click.option("--accept-anomalies", is_flag=True,
                        help="Store pages that lost most of their operations instead of holding them back.")(command)


def rate_option(command):
    """`--rate N`: requests per second per host, for commands that fetch."""
    return click.option("--rate", default=2.0, show_default=True, type=click.FloatRange(0.1, 100),
                        help="Requests per second per host.")(command)


def products_file_option(command):
    """`--products-file PATH`: a products.toml instead of the packaged one."""
    return click.option("--products-file", type=click.Path(exists=True, dir_okay=False),
                        help="A products.toml to use instead of the packaged one.")(command)


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


def leave(status: Exit):
    """End the command with this exit status."""
    sys.exit(int(status))


def exit_for(failures: list, anomalies: list) -> None:
    """Exit FAILED when a page failed, ANOMALIES when pages were held back, else return."""
    if failures:
        leave(Exit.FAILED)
    if anomalies:
        leave(Exit.ANOMALIES)
