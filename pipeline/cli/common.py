"""What every CLI command shares: option decorators, the progress bar, catalog checks, exit codes."""

from __future__ import annotations

import errno
import sqlite3
import sys
from enum import IntEnum
from pathlib import Path

import click

from catalog.limits import read_at_most


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
                        type=click.Path(dir_okay=False), help="The catalog SQLite file.",
                        callback=_remember_db)


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


def parse_workers_option(command):
    """`--parse-workers N`: for commands that parse many pages."""
    return click.option("--parse-workers", type=click.IntRange(0, 64), default=None,
                        help="Processes that parse pages (default: one per core, at most 4; 0 parses in "
                             "this process).")(command)


def product_code(_ctx: click.Context, _param, value):
    """`--product`: case-insensitive, and the dumps' and URLs' aliases (vb365, backup) name the product too."""
    from catalog.urls import canonical_product

    if value is None:
        return None
    if isinstance(value, tuple):  # a repeatable --product
        return tuple(canonical_product(code.strip()) for code in value)
    return canonical_product(value.strip())


def _remember_db(ctx: click.Context, _param, value):
    ctx.meta["db_path"] = value  # shared with the group, which names the file in error messages
    return value


class UserError(click.ClickException):
    """Bad input or an unusable file: one line on stderr, exit status 2, no traceback."""

    exit_code = Exit.USAGE


class CatalogBusy(UserError):
    """Another process is writing the catalog: one line, exit 2 (try again later)."""


def progress_bar(label: str, items=None, unit: str = "item", total: int | None = None):
    """A progress bar on a terminal, nothing in pipes and CI logs."""
    from tqdm import tqdm

    return tqdm(items, desc=label, unit=unit, total=total, disable=not sys.stderr.isatty(), leave=False)


def existing_catalog(db_path: str | Path) -> Path:
    """The catalog path, or a clear error when there is none (commands that only read)."""
    if not Path(db_path).exists():
        raise UserError(f"{db_path}: no catalog here; build one with `veeam-perms ingest`")
    return Path(db_path)


def open_existing(db_path: str | Path):
    """The catalog opened read-only (commands that only read never change the file)."""
    from catalog.storage.database import CatalogError, open_catalog_readonly

    try:
        return open_catalog_readonly(existing_catalog(db_path))
    except CatalogError as error:
        raise UserError(str(error)) from error


MAX_OPTION_FILE_BYTES = 1_000_000  # a products.toml or canary list is a few kilobytes


def read_text_option(path: str | Path, option: str, limit: int = MAX_OPTION_FILE_BYTES) -> str:
    """A small text file an option names, read up to `limit`; binary, oversized or unreadable input
    is one line naming the option and the file."""
    try:
        with open(path, "rb") as handle:
            data = read_at_most(handle, limit)
    except OSError as error:
        raise UserError(f"{option} {path}: cannot read it ({error.strerror})") from error
    if len(data) > limit:
        raise UserError(f"{option} {path}: larger than {limit:,} bytes; is it the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{option} {path}: not UTF-8 text (byte {error.start:,} is 0x{data[error.start]:02x}); "
                        "is it the right file?") from error


def require_output_folder(path: str | Path, option: str) -> None:
    """An output file's folder must exist: found out before the work, not after it."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise UserError(f"{option} {path}: its folder {folder} does not exist")


def write_text_option(path: str | Path, text: str, option: str) -> None:
    """Write a file an option names; a path that cannot be written is one line naming it."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"{option} {path}: cannot write it ({error.strerror})") from error


def folder_option(path: str | Path, option: str) -> Path:
    """Create the folder an option names (and its parents); one line when that cannot be done."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{option} {path}: cannot create the folder ({error.strerror})") from error
    return Path(path)


def leave(status: Exit):
    """End the command with this exit status."""
    sys.exit(int(status))


def exit_for(failures: list, anomalies: list) -> None:
    """Exit FAILED when a page failed, ANOMALIES when pages were held back, else return."""
    if failures:
        leave(Exit.FAILED)
    if anomalies:
        leave(Exit.ANOMALIES)


# Errors from the file system or SQLite that mean "this file cannot be used", not a bug.
_FILE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
# A path the user gave that leads nowhere (a missing or non-folder parent, a folder where a file
# goes): one line naming it, when the error names the path.
_PATH_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP,
                          errno.EEXIST})


def describe_file_error(error: Exception, db_path: str) -> str | None:
    """One line for an unusable catalog or folder (read-only, full disk, not SQLite); None for bugs."""
    from catalog.analysis.export import ExportError
    from catalog.paths import OutsideTarget
    from catalog.storage.database import CatalogError
    from catalog.urls import UrlRejected

    if isinstance(error, (CatalogError, ExportError, UrlRejected, OutsideTarget)):
        return str(error)
    if isinstance(error, sqlite3.DatabaseError):
        text = str(error)
        if (getattr(error, "sqlite_errorname", "") or "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) \
                or "database is locked" in text:
            return _locked(db_path)
        if "readonly" in text or "read-only" in text:
            return f"{db_path}: the catalog is read-only; a writing command needs write access to it"
        if "disk is full" in text or "disk I/O" in text:
            return f"{db_path}: {text} (the run was rolled back; free space and run it again)"
        if "not a database" in text or "malformed" in text:
            return f"not a veeam-perms catalog: {db_path}"
        if "unable to open" in text:
            return f"{db_path}: cannot open the catalog ({text})"
        return None
    if isinstance(error, OSError) and error.errno in _FILE_ERRNOS:
        return f"{error.filename or db_path}: {error.strerror}"
    if isinstance(error, OSError) and error.errno in _PATH_ERRNOS and error.filename:
        return f"{error.filename}: {error.strerror}"
    return None


def _locked(db_path: str) -> str:
    """Another connection held the catalog past the busy timeout: name it (a `sqlite3` shell, say)."""
    from catalog.storage.database import BUSY_TIMEOUT_SECONDS
    from catalog.storage.lock import sqlite_lock_holder

    return (f"{db_path} is locked by {sqlite_lock_holder(db_path)}, which held its transaction open for "
            f"more than {BUSY_TIMEOUT_SECONDS:g} s; the run stopped and its open transaction was rolled back: "
            "run it again once that has finished")


class CatalogGroup(click.Group):
    """The command group: unusable files and full disks become one-line errors with exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (sqlite3.DatabaseError, OSError, ValueError) as error:
            message = describe_file_error(error, ctx.meta.get("db_path") or "the catalog")
            if message is None:
                raise
            raise UserError(message) from error
