"""Plain-SQL inserts for the hot write path (the scraper stores a page version per fetched page)."""

from __future__ import annotations

from sqlite_utils import Database


def insert(db: Database, table: str, row: dict) -> int:
    """One row by plain SQL (the scraper writes a version per page): sqlite-utils' insert wraps each
    call in a savepoint and inspects the table again, about 0.1 ms a row."""
    columns = ", ".join(f'"{name}"' for name in row)
    return db.conn.execute(f'insert into "{table}" ({columns}) values ({", ".join("?" * len(row))})',
                           list(row.values())).lastrowid


def insert_many(db: Database, table: str, rows: list[dict]) -> None:
    if rows:
        columns = ", ".join(f'"{name}"' for name in rows[0])
        db.conn.executemany(f'insert into "{table}" ({columns}) values ({", ".join("?" * len(rows[0]))})',
                            [list(row.values()) for row in rows])
