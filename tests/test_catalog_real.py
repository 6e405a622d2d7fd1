"""The catalog built from the real dump histories (needs ../shared)."""

import json

from conftest import table_counts
from sqlite_utils import Database

from catalog.analysis.queries import builds_in_order, first_required, operations_as_of
from pipeline.jobs.ingest import ingest

from corpus import BUNDLES

AZURE_PLUGIN = "https://helpcenter.veeam.com/docs/vbazure/guide/plugin_permissions.html"
VBR_MSSQL = "https://helpcenter.veeam.com/docs/vbr/userguide/permissions_mssql.html"


def versions_of(db, url):
    return list(db.query(
        "select v.* from page_versions v join pages p on p.id = v.page where p.canonical_url = ? "
        "order by v._first_seen", [url]))


def names_in_version(db, version_id, provider=None):
    return {row["name"] for row in db.query(
        "select distinct perm.name from operations o join grants g on g.operation = o.id "
        "join permissions perm on perm.id = g.permission where o.page_version = ?", [version_id])}


def test_azure_plugin_page_has_two_versions_under_one_build(real_catalog):
    db = Database(real_catalog)
    versions = versions_of(db, AZURE_PLUGIN)
    assert [(v["build"], v["last_updated"]) for v in versions] == [
        ("8.0.1.202", "2025-08-19"), ("8.0.1.202", "2026-03-20")]
    before, after = (names_in_version(db, v["id"]) for v in versions)
    removed = before - after
    assert len(removed) == 14
    assert all(name.startswith("Microsoft.ServiceBus/") for name in removed)
    assert after < before


def test_vbr_mssql_gains_two_iam_actions_at_13_0_1_2067(real_catalog):
    db = Database(real_catalog)
    versions = versions_of(db, VBR_MSSQL)
    by_build = {}
    for version in versions:
        by_build.setdefault(version["build"], names_in_version(db, version["id"]))
    assert {"iam:SimulatePrincipalPolicy", "iam:TagUser"}.isdisjoint(by_build["13.0.1.1071"])
    assert {"iam:SimulatePrincipalPolicy", "iam:TagUser"} <= by_build["13.0.1.2067"]


def test_second_ingest_adds_zero_rows(real_catalog):
    before = table_counts(real_catalog)
    for bundle in BUNDLES.values():
        report = ingest(real_catalog, bundle)
        assert report.commits == 0
    assert table_counts(real_catalog) == before


def test_every_vbr_build_in_numeric_order(real_catalog):
    assert builds_in_order(Database(real_catalog), "vbr") == [
        "13.0.1.1071", "13.0.1.2067", "13.0.2.29"]


def test_first_build_and_date_at_which_each_page_required_an_action(real_catalog):
    rows = first_required(Database(real_catalog), "iam:SimulatePrincipalPolicy")
    mssql = next(row for row in rows if row["family"] == VBR_MSSQL)
    assert mssql["first_build"] == "13.0.1.2067"
    assert mssql["first_seen"].startswith("2026-")
    seed_like = [row for row in rows if "/vbaws/" in row["family"]]
    assert seed_like and all(row["first_build"] == "10.0.0.232" for row in seed_like)


def test_operations_of_a_page_as_of_a_date(real_catalog):
    db = Database(real_catalog)
    early = operations_as_of(db, AZURE_PLUGIN, "2026-02-01")
    late = operations_as_of(db, AZURE_PLUGIN, "2026-03-22")
    assert [op["title"] for op in early] == [op["title"] for op in late]
    full_early = next(op for op in early if op["title"] == "Full list of permissions")
    full_late = next(op for op in late if op["title"] == "Full list of permissions")
    assert full_early["permissions"] - full_late["permissions"] == 14
    assert operations_as_of(db, AZURE_PLUGIN, "2025-01-01") == []


def test_catalog_is_consistent(real_catalog):
    db = Database(real_catalog)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert db.execute("pragma foreign_key_check").fetchall() == []
    counts = json.loads(db.execute("select counts from runs order by id limit 1").fetchone()[0])
    assert counts["commits"] > 0


def test_operation_identity_titles_and_names_over_the_whole_history(real_catalog):
    from catalog.model import MAX_TITLE_CHARS
    from catalog.names import is_valid_name

    db = Database(real_catalog)
    assert db.execute("select count(*) from (select 1 from operations group by page_version, key "
                      "having count(*) > 1)").fetchone()[0] == 0
    assert db.execute("select count(*) from operations where key is null or key = ''").fetchone()[0] == 0
    assert db.execute("select max(length(title)) from operations").fetchone()[0] <= MAX_TITLE_CHARS
    # The history of an operation (its key within a page family) never changes section.
    jumps = db.execute(
        "select coalesce(p.family, p.canonical_url), o.key from operations o "
        "join page_versions v on v.id = o.page_version join pages p on p.id = v.page "
        "group by 1, 2 having count(distinct coalesce(o.section, '')) > 1").fetchall()
    assert jumps == []
    names = db.execute("select provider, name from permissions").fetchall()
    assert [name for provider, name in names if not is_valid_name(provider, name)
            or name.endswith(tuple(".,;:)]\"'"))] == []
    assert {provider for provider, _ in names} == {"aws", "azure", "gcp", "m365"}
