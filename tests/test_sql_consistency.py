"""One question, one answer in SQL too (issue 22): the stored change rows are the diff the CLI runs,
renamed operations are renames in every surface, and the views keep what a page said."""

import asyncio
import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis.questions import changes_between
from catalog.storage.changes import diff_versions, load_version, page_steps
from catalog.storage.database import open_catalog
from catalog.storage.migrations import CURRENT_GRANTS, CURRENT_OPERATIONS_WITH_KEY, REQUIRED_GRANTS
from catalog.storage.store import CatalogWriter, Observation
from catalog.storage.views import create_legacy_views
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette
from pipeline.parse.page import parse_markdown_page

PAGES = Path(__file__).parent / "diff_pages"
TYPO = Path(__file__).parent / "catalog_pages" / "typo_v1.md"
WHERE = ("product", "family", "page_id", "page_version", "previous_version", "id")
RENAME_DAYS = ("2026-03-05", "2026-05-15")


def plain_sql(db_path, sql, params=()):
    """What a person gets from `sqlite3 catalog.db`: a bare connection, no project code."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def as_change_row(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in WHERE}


def canonical(rows) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


def day_before(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()


def test_renamed_vbo365_operations_remove_nothing_in_any_surface(real_catalog):
    site = make_datasette(real_catalog).client
    for day in RENAME_DAYS:
        view = plain_sql(real_catalog, "select * from requirement_changes where product = 'vbo365' "
                                       "and substr(first_seen, 1, 10) = ?", [day])
        assert {row["change"] for row in view} == {"renamed"}, day
        canned = asyncio.run(site.get("/catalog/changed_on.json", params={"date": day, "_shape": "objects"}))
        assert [row["change"] for row in canned.json()["rows"] if row["product"] == "vbo365"] == ["renamed"] * len(view)
        result = CliRunner().invoke(cli, ["diff", "--db", str(real_catalog), "--product", "vbo365", "--from",
                                          day_before(day), "--to", day, "--format", "json"])
        assert result.exit_code == 0, result.output
        from_cli = json.loads(result.stdout)
        assert canonical(from_cli) == canonical(as_change_row(row) for row in view)
        from_site = asyncio.run(site.get("/changes/vbo365.json", params={"from": day_before(day), "to": day})).json()
        assert from_site["rows"] == from_cli
        assert not [row for row in from_cli if row["change"] == "removed"]
    removed = asyncio.run(site.get("/catalog/removed_last_year.json", params={"product": "vbo365",
                                                                               "_shape": "objects"})).json()["rows"]
    assert removed and not [row for row in removed if row["removed_on"] in RENAME_DAYS]


def test_each_day_of_stored_changes_is_the_diff_from_the_day_before(real_catalog):
    db = Database(real_catalog)
    days = db.execute("select distinct product, substr(first_seen, 1, 10) from requirement_changes "
                      "order by 1, 2").fetchall()
    assert len(days) >= 13
    for product, day in days:
        stored = plain_sql(real_catalog, "select * from requirement_changes where product = ? and "
                                         "substr(first_seen, 1, 10) = ?", [product, day])
        answer = changes_between(db, product, day_before(day), day)["rows"]
        assert canonical(answer) == canonical(as_change_row(row) for row in stored), (product, day)


def test_stored_changes_are_the_diff_of_every_step_of_every_page(real_catalog):
    db = Database(real_catalog)
    for (page_id,) in db.execute("select id from pages").fetchall():
        expected = []
        for before, after in page_steps(db, page_id):
            expected += [change.as_json() for change in diff_versions(
                load_version(db, before) if before else None, load_version(db, after))]
        stored = [as_change_row(row) for row in db.query(
            "select * from requirement_changes where page_id = ? order by id", [page_id])]
        assert stored == expected, page_id


def test_a_diff_across_builds_dates_each_row_by_when_its_page_changed(real_catalog):
    """permissions_mssql got iam:SimulatePrincipalPolicy with 13.0.1.2067 (2026-04-29); the 13.0.2.29
    version of 2026-06-04 only restated it."""
    result = CliRunner().invoke(cli, ["diff", "--db", str(real_catalog), "--product", "vbr", "--from",
                                      "13.0.1.1071", "--to", "13.0.2.29", "--format", "json"])
    rows = [row for row in json.loads(result.stdout) if row["page"].endswith("/permissions_mssql.html")]
    assert rows and {row["first_seen"][:10] for row in rows} == {"2026-04-29"}
    assert {(row["from_build"], row["to_build"]) for row in rows} == {("13.0.1.1071", "13.0.2.29")}
    db2 = [row for row in json.loads(result.stdout) if row["page"].endswith("/db2_plugin_permissions.html")]
    assert db2 and {row["first_seen"][:10] for row in db2} == {"2026-06-04"}


def test_migration_m22_stores_what_the_writer_stores(real_catalog, tmp_path):
    """A catalog from before m22 (no stored answers, no spelling) migrates to the same rows."""
    db_path = tmp_path / "old.db"
    shutil.copy(real_catalog, db_path)
    conn = sqlite3.connect(db_path)
    for (view,) in conn.execute("select name from sqlite_master where type = 'view'").fetchall():
        conn.execute(f"drop view [{view}]")
    for table in ("requirement_changes", "build_versions"):
        conn.execute(f"drop table {table}")
    conn.execute("alter table grants drop column name")
    conn.execute("delete from _sqlite_migrations where name = 'm22_questions_in_sql'")
    conn.commit()
    conn.close()
    old = Database(db_path)
    create_legacy_views(old)
    for name, sql in (("current_grants", CURRENT_GRANTS), ("current_operations", CURRENT_OPERATIONS_WITH_KEY),
                      ("required_grants", REQUIRED_GRANTS)):
        old.create_view(name, sql)
    old.close()
    query = "select * from {} order by 1, 2, 3, 4"
    migrated = open_catalog(db_path)
    for table in ("build_versions", "requirement_changes"):
        assert list(migrated.query(query.format(table))) == list(Database(real_catalog).query(query.format(table)))
    assert migrated.execute("select count(*) from grants where name is null").fetchone()[0] == 0


@pytest.fixture
def spelled(tmp_path):
    """Two pages naming ec2:DescribeVolumes, the second as `EC2:describeVolumes`."""
    db = open_catalog(tmp_path / "catalog.db")
    first = TYPO.read_text().replace("fixture_snapshots", "fixture_volumes").replace(
        "EC2:describeVolumes", "ec2:DescribeVolumes")
    for when, text in (("2026-01-10", first), ("2026-01-11", TYPO.read_text())):
        writer = CatalogWriter(db, "dir", when)
        with writer.run():
            writer.save_page(parse_markdown_page(text), Observation(f"{when}T00:00:00+00:00", "dir", when))
    db.close()
    return tmp_path / "catalog.db"


def test_requirements_keep_the_spelling_each_page_used(spelled):
    rows = plain_sql(spelled, "select page, permission, spelling from operation_requirements "
                              "where name_key = 'ec2:describevolumes' order by page")
    assert [(row["page"].rsplit("/", 1)[-1], row["permission"], row["spelling"]) for row in rows] == [
        ("fixture_snapshots.html", "ec2:DescribeVolumes", "EC2:describeVolumes"),
        ("fixture_volumes.html", "ec2:DescribeVolumes", "ec2:DescribeVolumes")]


def test_a_version_stored_out_of_time_order_gets_the_right_neighbours(tmp_path):
    """Older releases read after newer ones: the stored steps follow time, as `diff --page` does."""
    texts = {name: (PAGES / f"{name}.md").read_text() for name in ("vdc_v1", "vdc_v2")}
    texts["vdc_v3"] = texts["vdc_v2"].replace('"Microsoft.Storage/storageAccounts/read", ',
                                              '"Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/'
                                              'storageAccounts/delete", ')
    when = {"vdc_v1": "2026-02-02", "vdc_v2": "2026-03-16", "vdc_v3": "2026-04-20"}

    def write(db_path, order):
        db = open_catalog(db_path)
        for name in order:
            writer = CatalogWriter(db, "dir", name)
            with writer.run():
                writer.save_page(parse_markdown_page(texts[name]), Observation(f"{when[name]}T09:00:00+00:00",
                                                                               "dir", name))
        rows = [as_change_row(row) for row in db.query("select * from requirement_changes order by first_seen, id")]
        db.close()
        return rows

    in_order = write(tmp_path / "a.db", ["vdc_v1", "vdc_v2", "vdc_v3"])
    assert write(tmp_path / "b.db", ["vdc_v2", "vdc_v1", "vdc_v3"]) == in_order
    assert write(tmp_path / "c.db", ["vdc_v1", "vdc_v3", "vdc_v2"]) == in_order  # the middle one last
    assert sorted((row["first_seen"][:10], row["change"], row["permission"]) for row in in_order
                  if row["first_seen"] > "2026-03") == [
        ("2026-03-16", "added", "Microsoft.Authorization/roleAssignments/write"),
        ("2026-03-16", "added", "Microsoft.Storage/storageAccounts/write"),
        ("2026-03-16", "removed", "Microsoft.Storage/storageAccounts/listKeys/action"),
        ("2026-04-20", "added", "Microsoft.Storage/storageAccounts/delete")]


def test_permission_count_is_what_the_page_asks_to_grant(real_catalog):
    mismatched = plain_sql(real_catalog, """
        select v.id, v.permission_count, (select count(distinct permission_id) from operation_requirements q
                                          where q.page_version = v.id) as required
        from page_versions v where v.permission_count != required""")
    assert mismatched == []
    trust = plain_sql(real_catalog, "select count(*) as n from operations o join grants g on g.operation = o.id "
                                    "where o.kind = 'trust-policy'")[0]["n"]
    assert trust > 0  # the corpus has trust policies, and they are not counted


def test_requirements_carry_each_grants_fields(real_catalog):
    def one(sql):
        return plain_sql(real_catalog, sql)[0]

    assert one("select count(*) as n from operation_requirements where placement = 'dataActions'")["n"] > 0
    assert one("select count(*) as n from operation_requirements where m365_api = 'Microsoft Graph' "
               "and m365_type = 'Application'")["n"] > 0
    assert one("select count(*) as n from operation_requirements where resources like '%arn:aws:%'")["n"] > 0
    assert one("select count(*) as n from operation_requirements where conditions is not null")["n"] > 0
    assert one("select count(*) as n from operation_requirements where permission = 'sts:AssumeRole' "
               "and kind = 'trust-policy'")["n"] == 0
