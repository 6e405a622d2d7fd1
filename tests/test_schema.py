"""The migrated schema is the committed catalog/schema.sql (regenerate with --regen-golden)."""

from pathlib import Path

from catalog.storage.database import open_catalog

SCHEMA = Path(__file__).resolve().parents[1] / "catalog" / "storage" / "schema.sql"


def migrated_schema(tmp_path) -> str:
    db = open_catalog(tmp_path / "empty.db")
    rows = db.execute("select sql from sqlite_master where sql is not null and name not like "
                      "'%_fts_%' order by type, name").fetchall()
    db.close()
    return ";\n".join(row[0] for row in rows) + ";\n"


def test_migrations_produce_the_committed_schema(tmp_path, regen_golden):
    schema = migrated_schema(tmp_path)
    if regen_golden:
        SCHEMA.write_text(schema)
    assert schema == SCHEMA.read_text()


def test_migrating_twice_changes_nothing(tmp_path):
    first = migrated_schema(tmp_path)
    assert migrated_schema(tmp_path) == first
