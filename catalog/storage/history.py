"""What the catalog knows of git sources: the commits it ingested and the HEADs it saw."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from catalog.storage.database import CatalogError, open_catalog_readonly


def known_commits(db: Database, repository: str) -> set[str]:
    return {row[0] for row in db.execute("select sha from source_commits where repository = ?", [repository])}


def save_commits(db: Database, repository: str, commits: list[tuple[str, str]], run: int | None) -> None:
    """(sha, committed_at) of each commit read, in one statement."""
    db.conn.executemany("insert into source_commits (repository, sha, committed_at, run) values (?, ?, ?, ?)",
                        [(repository, sha, committed_at, run) for sha, committed_at in commits])


def save_head(db: Database, repository: str, head: str, seen: str) -> None:
    db.execute("insert or replace into source_heads (repository, head, _seen) values (?, ?, ?)",
               [repository, head, seen])


def head_is_known(db_path: str | Path, head: str) -> bool:
    """Whether a catalog already holds the history up to `head`: it was an ingested HEAD, or an
    ingested commit (an ingest reads every commit reachable from HEAD, in one transaction).

    Read-only and before any lock: a catalog that cannot answer (absent, older, being written)
    says no, and the caller does the full ingest, which decides under the lock."""
    if not Path(db_path).is_file():
        return False
    try:
        db = open_catalog_readonly(db_path)
    except CatalogError:
        return False
    try:
        return bool(db.execute("select 1 from source_heads where head = ? union all "
                               "select 1 from source_commits where sha = ? limit 1", [head, head]).fetchone())
    except sqlite3.Error:
        return False
    finally:
        db.close()
