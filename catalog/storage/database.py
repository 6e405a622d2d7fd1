"""Open a catalog: migrated, foreign keys enforced."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from catalog.storage.migrations import migrate


def open_catalog(path: str | Path, create: bool = True) -> Database:
    path = Path(path)
    if not create and not path.exists():
        raise FileNotFoundError(f"{path}: no catalog here; build one with `veeam-perms ingest`")
    db = Database(path)
    db.execute("pragma foreign_keys = on")
    migrate(db)
    return db
