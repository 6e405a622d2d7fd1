"""Open a catalog: for writing (migrated, foreign keys enforced) or read-only (never changed)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from catalog.storage.migrations import migrate, migrations

# Tables every catalog has since the first migration; a file without them is something else.
CATALOG_TABLES = frozenset({"products", "releases", "pages", "page_versions", "operations", "runs"})


class CatalogError(ValueError):
    """A file that cannot be read as a catalog; the message names the file and what to do."""


def open_catalog(path: str | Path, create: bool = True, threads: bool = False) -> Database:
    """`threads`: the connection may be used from another thread too (the scraper writes its
    batches on one while its event loop keeps fetching); the caller keeps the uses apart."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"{path}: no catalog here; build one with `veeam-perms ingest`")
    if path.exists():
        require_catalog_file(path, allow_empty=True)
    db = Database(sqlite3.connect(str(path), check_same_thread=False) if threads else path)
    db.execute("pragma foreign_keys = on")
    migrate(db)
    return db


def _connect_readonly(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _being_written(path: Path) -> str:
    return f"{path} is being written by another run; try again once that run has finished"


def require_catalog_file(path: Path, allow_empty: bool = False) -> None:
    """Refuse a file that is not SQLite or holds tables but not the catalog's (never writes)."""
    try:
        conn = _connect_readonly(path)
        try:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        finally:
            conn.close()
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            raise CatalogError(_being_written(path)) from error
        raise CatalogError(f"not a veeam-perms catalog: {path}") from error
    except sqlite3.DatabaseError as error:
        raise CatalogError(f"not a veeam-perms catalog: {path}") from error
    if CATALOG_TABLES <= tables or (allow_empty and not tables):
        return
    raise CatalogError(f"not a veeam-perms catalog: {path}")


def open_catalog_readonly(path: str | Path) -> Database:
    """The catalog for reading: opened `mode=ro`, so no command that only reads can change the file.

    Never migrates or creates tables; a catalog written by an older veeam-perms is refused with
    the migrations it lacks (any writing command, e.g. `veeam-perms migrate`, applies them).
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: no catalog here; build one with `veeam-perms ingest`")
    require_catalog_file(path)
    db = Database(_connect_readonly(path))
    pending = [m.name for m in migrations.pending(db)]
    if pending:
        db.close()
        raise CatalogError(f"{path}: the catalog predates this veeam-perms (pending migrations: "
                           f"{', '.join(pending)}); run `veeam-perms migrate --db {path}` first")
    return db


def snapshot_catalog(source: str | Path, target: str | Path, wait_seconds: float = 10.0) -> Path:
    """A consistent copy of the catalog, for serving and publishing while writers may run.

    SQLite's backup API copies under a read transaction, so a commit in progress is either wholly
    in the copy or not at all (a plain file copy can catch half-written pages). A writer holding
    the file longer than `wait_seconds` makes this refuse rather than wait for the whole run.
    The copy is private, so it is migrated here and the source is never changed.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise CatalogError(f"{source}: no catalog here; build one with `veeam-perms ingest`")
    deadline = time.monotonic() + wait_seconds

    def give_up_when_late(status: int, remaining: int, total: int) -> None:
        if status != sqlite3.SQLITE_DONE and time.monotonic() > deadline:
            raise CatalogError(_being_written(source))

    reader, copy = _connect_readonly(source), sqlite3.connect(target)
    try:
        reader.backup(copy, pages=-1, progress=give_up_when_late, sleep=0.05)
    except (CatalogError, sqlite3.DatabaseError) as error:
        copy.close()
        target.unlink(missing_ok=True)
        if isinstance(error, CatalogError):
            raise
        raise CatalogError(f"not a veeam-perms catalog: {source}") from error
    finally:
        reader.close()
        copy.close()
    try:
        require_catalog_file(target)
    except CatalogError as error:
        target.unlink(missing_ok=True)
        raise CatalogError(f"not a veeam-perms catalog: {source}") from error
    open_catalog(target).close()
    return target
