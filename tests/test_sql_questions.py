"""README "Ask it in SQL": each query is the canned query of the same name, and answers right."""

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.storage.views import FIRST_BUILD_NEEDING
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("build_requirements", "first_build_needing", "removed_last_year", "policy_growth", "risky_by_product",
             "changed_on")


def readme_queries() -> dict[str, str]:
    section = (ROOT / "README.md").read_text().split("## Ask it in SQL", 1)[1].split("\n## ", 1)[0]
    return {name: sql.strip() for name, sql in re.findall(r"```sql\n-- (\w+)\n(.*?)```", section, re.S)}


def test_readme_queries_are_the_canned_queries():
    canned = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text())["databases"]["catalog"]["queries"]
    found = readme_queries()
    assert tuple(found) == QUESTIONS
    for name, sql in found.items():
        assert sql == canned[name]["sql"].strip(), name
    assert canned["first_build_needing"]["sql"].strip() == FIRST_BUILD_NEEDING  # one definition


@pytest.fixture(scope="module")
def ask(real_catalog):
    client = make_datasette(real_catalog).client

    def run(name, **params):
        response = asyncio.run(client.get(f"/catalog/{name}.json", params={"_shape": "objects", "_size": "max",
                                                                           **params}))
        assert response.status_code == 200, response.text[:300]
        return response.json()["rows"]

    return run


def cli_json(db_path, *args):
    result = CliRunner().invoke(cli, [*args, "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_first_build_needing_a_permission(ask, real_catalog):
    rows = ask("first_build_needing", permission="IAM:SimulatePrincipalPolicy")
    mssql = {row["first_build"] for row in rows if row["family"].endswith("/vbr/userguide/permissions_mssql.html")}
    assert mssql == {"13.0.1.2067"}
    assert {row["product"] for row in rows} >= {"vbr"}
    added = cli_json(real_catalog, "diff", "--product", "vbr", "--from", "13.0.1.1071", "--to", "13.0.1.2067")
    assert "iam:SimulatePrincipalPolicy" in {c["permission"] for c in added if c["change"] == "added"}


def test_permissions_removed_in_the_last_year(ask, real_catalog):
    rows = ask("removed_last_year", product="vbazure")
    on_last_day = {(r["page"], r["permission"]) for r in rows if r["removed_on"] == "2026-03-21"}
    last_change = cli_json(real_catalog, "diff", "--product", "vbazure")
    assert on_last_day == {(c["page"], c["permission"]) for c in last_change if c["change"] == "removed"}
    assert len(on_last_day) == 14
    assert all(r["removed_on"] >= "2025-03-21" for r in rows)


def test_operations_whose_policy_grew_most(ask, real_catalog):
    rows = ask("policy_growth")
    assert rows and all(r["growth"] == r["last_size"] - r["first_size"] > 0 for r in rows)
    assert [r["growth"] for r in rows] == sorted((r["growth"] for r in rows), reverse=True)
    top = rows[0]
    client = make_datasette(real_catalog).client
    search = asyncio.run(client.get("/catalog/operation_history.json", params={
        "_shape": "objects", "family": top["family"], "title": top["operation"], "_sort": "first_seen"})).json()
    sizes = [r["permissions"] for r in search["rows"]]
    assert top["last_size"] in sizes and top["first_size"] in sizes


def test_risky_permissions_by_product(ask):
    rows = ask("risky_by_product")
    assert {r["product"] for r in rows} >= {"vbaws", "vbr"}
    assert all(r["risk"] and r["operations"] >= 1 for r in rows)
    passrole = [r for r in rows if r["product"] == "vbaws" and r["permission"] == "iam:PassRole"]
    assert passrole and passrole[0]["risk"]


def test_what_changed_on_a_date(ask, real_catalog):
    rows = ask("changed_on", date="2026-03-21")
    assert {r["product"] for r in rows} == {"vbazure"}
    diff = cli_json(real_catalog, "diff", "--product", "vbazure", "--from", "2026-03-20", "--to", "2026-03-21")
    assert sorted((r["page"], r["change"], r["permission"]) for r in rows) == sorted(
        (c["page"], c["change"], c["permission"]) for c in diff)


def test_first_build_needing_counts_every_version_of_a_build(ask, real_catalog):
    """8.0.1.202 required the Service Bus actions until the 2026-03-21 correction within that build."""
    rows = ask("first_build_needing", permission="Microsoft.ServiceBus/namespaces/read")
    assert {(r["product"], r["first_build"]) for r in rows} == {("vbazure", "8.0.1.202")}
    assert all(r["first_seen"] < "2026-03-21" for r in rows)
    from catalog.analysis.queries import first_required

    assert first_required(Database(real_catalog), "microsoft.servicebus/namespaces/read") == rows


def test_what_a_build_requires_is_what_the_policy_of_its_operations_holds(ask, real_catalog):
    from catalog.analysis.compare import resolve
    from catalog.analysis.policy import operations_at, permission_rows

    db = Database(real_catalog)
    rows = ask("build_requirements", product="vbr", build="13.0.1.2067")
    operations = operations_at(db, "vbr", resolve(db, "vbr", "13.0.1.2067"))
    expected = permission_rows(db, [op["id"] for op in operations], include_optional=True)
    assert len(rows) == len(expected) > 500
    assert sorted((r["provider"], r["permission"]) for r in rows) == sorted(
        (r["provider"], r["name"]) for r in expected)


QUESTION_OBJECTS = ("operation_identity", "version_spans", "build_versions", "operation_requirements",
                    "operation_history", "requirement_changes")
OTHER_NAMES = {"url", "valid_from", "valid_to", "observed", "version_first_seen", "_first_seen", "version"}


def test_every_column_a_person_queries_is_described(real_catalog):
    tables = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text())["databases"]["catalog"]["tables"]
    db = Database(real_catalog)
    for name in QUESTION_OBJECTS:
        columns = [column.name for column in db[name].columns]
        assert tables[name]["description"], name
        assert set(columns) == set(tables[name]["columns"]), name
        assert all(text.strip() for text in tables[name]["columns"].values()), name


def test_one_name_per_concept_in_every_view(real_catalog):
    """`page` is always a URL and `page_id` its id; one timestamp name (`first_seen`)."""
    db = Database(real_catalog)
    views = [*db.view_names(), "build_versions", "requirement_changes"]
    for name in views:
        columns = {column.name for column in db[name].columns}
        assert not columns & OTHER_NAMES, (name, columns & OTHER_NAMES)
        if "page" in columns:
            bad = db.execute(f"select count(*) from [{name}] where page not like 'https://%'").fetchone()[0]
            assert bad == 0, name
        if "page_id" in columns:
            assert db.execute(f"select count(*) from [{name}] where typeof(page_id) != 'integer'").fetchone()[0] == 0


EXAMPLES = {"build_requirements": {"product": "vbr", "build": "13.0.1.2067"},
            "first_build_needing": {"permission": "iam:SimulatePrincipalPolicy"},
            "removed_last_year": {"product": "vbazure"}, "policy_growth": {}, "risky_by_product": {},
            "changed_on": {"date": "2026-03-21"}}


def test_readme_queries_run_in_a_bare_sqlite_connection(real_catalog):
    """`sqlite3 catalog.db`: no function or setting of the project, and each example answers."""
    conn = sqlite3.connect(f"file:{real_catalog}?mode=ro", uri=True)
    try:
        for name, sql in readme_queries().items():
            assert conn.execute(sql, EXAMPLES[name]).fetchall(), name
    finally:
        conn.close()


@pytest.mark.parametrize("product", ["vbr", "vbo365"])
def test_what_a_build_requires_is_answered_from_indexes_only(real_catalog, product):
    """The basic join of issue 22 (10-22 s before): every table is searched through an index, none is
    scanned, so its cost follows the build's rows and not the catalog's size."""
    from benchmarks.bench_sql import BUILD_JOIN

    conn = sqlite3.connect(f"file:{real_catalog}?mode=ro", uri=True)
    build = conn.execute("select build from build_versions where product = ? order by build desc limit 1",
                         [product]).fetchone()[0]
    plan = [row[3] for row in conn.execute(f"explain query plan {BUILD_JOIN}", [product, build])]
    assert conn.execute(BUILD_JOIN, [product, build]).fetchone() is not None
    scans = [step for step in plan if step.startswith("SCAN") and "CONSTANT ROW" not in step]
    assert scans == [], plan
