"""Open a catalog: for writing (migrated, foreign keys enforced) or read-only (never changed).

Before a file is judged, SQLite gets the chance to recover it: a hot journal left by a killed
writer is rolled back by the first read of a read-write connection (when the file may be
written), so a crash never turns a catalog into "not a catalog". Then the file must be the
catalog's own: its migrations record and the first migration's tables and columns; a foreign
SQLite file that merely has tables of the same names is refused before anything writes to it.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from catalog.storage.lock import sqlite_lock_holder
from catalog.storage.migrations import migrate, migrations

# Tables every catalog has since the first migration, with columns that migration gave them.
CORE_COLUMNS = {
    "products": {"code", "name"},
    "runs": {"id", "source", "started", "finished", "status"},
    "releases": {"id", "product", "build", "sort_key"},
    "pages": {"id", "product", "guide", "slug", "canonical_url", "current_version"},
    "page_versions": {"id", "page", "content_hash", "build"},
    "operations": {"id", "page_version", "position", "title"},
}
CATALOG_TABLES = frozenset(CORE_COLUMNS)
# How long a writer waits for another connection's transaction (a `sqlite3` shell, a reader
# committing) before it gives up with one line naming the holder.
BUSY_TIMEOUT_SECONDS = 30.0
# How long a reader waits; a snapshot passes its own.
READ_TIMEOUT_SECONDS = 5.0


class CatalogError(ValueError):
    """A file that cannot be read as a catalog; the message names the file and what to do."""


class CatalogDatabase(Database):
    """A writer's connection: every outermost transaction begins IMMEDIATE.

    It takes the write lock before its first read, waiting on the busy timeout for another
    holder. A plain BEGIN that reads first (sqlite-utils reads the table's columns before an
    insert) gets "database is locked" at once when another connection writes: SQLite does not
    wait where waiting could deadlock.
    """

    @contextmanager
    def atomic(self):
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def open_catalog(path: str | Path, create: bool = True, threads: bool = False) -> Database:
    """`threads`: the connection may be used from another thread too (the scraper writes its
    batches on one while its event loop keeps fetching); the caller keeps the uses apart."""
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"{path}: no catalog here; build one with `veeam-perms ingest`")
    if path.exists():
        require_catalog_file(path, allow_empty=True, wait=BUSY_TIMEOUT_SECONDS)
    db = CatalogDatabase(sqlite3.connect(str(path), check_same_thread=False) if threads else path)
    db.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    db.execute("pragma foreign_keys = on")
    migrate(db)
    return db


def _connect_readonly(path: Path, wait: float = READ_TIMEOUT_SECONDS) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=wait)


def _being_written(path: Path) -> str:
    return f"{path} is being written by another run; try again once that run has finished"


def roll_back_hot_journal(path: Path, wait: float = READ_TIMEOUT_SECONDS) -> None:
    """Let SQLite roll back the journal a killed writer left, if any (it does on the first read
    of a read-write connection). Skipped when the file or its folder may not be written; the
    read-only open then says so."""
    real = path.resolve()  # SQLite keeps the journal beside the file a link leads to
    if not Path(f"{real}-journal").exists():
        return
    if not (os.access(real, os.W_OK) and os.access(real.parent, os.W_OK)):
        return
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=wait)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return  # a live writer holds it, or it is no database: the classification says which


def describe_sqlite_error(error: sqlite3.DatabaseError, path: Path) -> str:
    """One line for an SQLite error met opening `path`, by SQLite's error code (not its wording)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(error):
        holder = sqlite_lock_holder(path)
        if holder == "another process":
            return _being_written(path)
        return f"{path} is locked by {holder}; try again once it has finished its transaction"
    if name.startswith("SQLITE_READONLY"):
        return (f"{path}: a run that was killed left an unfinished transaction ({path.name}-journal), "
                "and only a command with write access to the catalog and its folder can roll it back; "
                f"run `veeam-perms migrate --db {path}` as a user who may write it")
    if name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR"):
        return f"{path}: {error} reading the catalog (free space or check the disk, then run it again)"
    if name.startswith("SQLITE_CANTOPEN"):
        return f"{path}: cannot open the catalog ({error}; check the file's and its folder's permissions)"
    return f"not a veeam-perms catalog: {path}"


def _applied_migrations(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute(
        f"select name from [{migrations.migrations_table}] where migration_set = ?", [migrations.name])]


def _identity_problem(conn: sqlite3.Connection, path: Path, allow_empty: bool) -> str | None:
    """Why the open SQLite file is not a catalog (None when it is one)."""
    objects = {row[0]: row[1] for row in conn.execute("select name, type from sqlite_master")}
    if not objects:
        return None if allow_empty else f"not a veeam-perms catalog: {path}"
    if migrations.migrations_table not in objects or not CATALOG_TABLES <= objects.keys():
        return f"not a veeam-perms catalog: {path}"
    for table, columns in CORE_COLUMNS.items():
        if not columns <= {row[1] for row in conn.execute(f"pragma table_info([{table}])")}:
            return f"not a veeam-perms catalog: {path} (its {table} table is not the catalog's)"
    try:
        applied = _applied_migrations(conn)
    except sqlite3.DatabaseError:
        return f"not a veeam-perms catalog: {path}"
    known = [migration.name for migration in migrations._migrations]
    if not applied or applied[0] != known[0]:
        return f"not a veeam-perms catalog: {path} (no record of the catalog's migrations)"
    unknown = [name for name in applied if name not in known]
    if unknown:
        return (f"{path}: written by a newer veeam-perms (unknown migrations: {', '.join(unknown[:5])}); "
                "upgrade veeam-perms to use this catalog")
    return None


def require_catalog_file(path: Path, allow_empty: bool = False, wait: float = READ_TIMEOUT_SECONDS) -> None:
    """Refuse a file that is not SQLite or is not the catalog's own (never writes to the catalog;
    a hot journal is rolled back first, as SQLite does for any client that may write the file)."""
    roll_back_hot_journal(path, wait)
    try:
        conn = _connect_readonly(path, wait)
        try:
            problem = _identity_problem(conn, path, allow_empty)
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise CatalogError(describe_sqlite_error(error, path)) from error
    if problem:
        raise CatalogError(problem)


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


def _copy_failed(error: sqlite3.DatabaseError, source: Path, target: Path) -> str:
    """Why writing the copy failed: a full or failing disk where the copy goes, or the source."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
        size = source.stat().st_size
        where = target.resolve().parent
        hint = (" (the temporary folder: free space there or set TMPDIR to a folder with room)"
                if where.is_relative_to(Path(tempfile.gettempdir()).resolve()) else "")
        reason = "the disk is full" if name == "SQLITE_FULL" else str(error)
        return f"{where}: cannot write the copy of {source} ({size:,} bytes): {reason}{hint}"
    return describe_sqlite_error(error, source)


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
    require_catalog_file(source, wait=min(wait_seconds, READ_TIMEOUT_SECONDS))
    deadline = time.monotonic() + wait_seconds

    def give_up_when_late(status: int, remaining: int, total: int) -> None:
        if status != sqlite3.SQLITE_DONE and time.monotonic() > deadline:
            raise CatalogError(_being_written(source))

    reader, copy = _connect_readonly(source), sqlite3.connect(target)
    try:
        reader.backup(copy, pages=-1, progress=give_up_when_late, sleep=0.05)
        copy.close()
        open_catalog(target).close()
    except (CatalogError, sqlite3.DatabaseError) as error:
        copy.close()
        target.unlink(missing_ok=True)
        if isinstance(error, CatalogError):
            raise
        raise CatalogError(_copy_failed(error, source, target)) from error
    finally:
        reader.close()
        copy.close()
    return target
