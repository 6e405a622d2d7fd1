"""Diffs over the catalog built from the real dump histories (needs ../shared)."""

import subprocess
from datetime import UTC

from sqlite_utils import Database

from catalog.analysis.compare import compare_product, page_history, resolve

from corpus import clone

AZURE_PLUGIN = "https://helpcenter.veeam.com/docs/vbazure/guide/plugin_permissions.html"
VBR_MSSQL = "https://helpcenter.veeam.com/docs/vbr/userguide/permissions_mssql.html"


def test_service_bus_removal_is_14_removed_permissions_in_one_correction(real_catalog):
    changes = page_history(Database(real_catalog), AZURE_PLUGIN).changes
    assert len(changes) == 14
    assert {(c.operation, c.change, c.kind) for c in changes} == {
        ("Full list of permissions", "removed", "correction")}
    assert all(c.permission.startswith("Microsoft.ServiceBus/") for c in changes)
    assert {(c.from_build, c.to_build) for c in changes} == {("8.0.1.202", "8.0.1.202")}


def test_iam_additions_are_kind_build_between_the_two_vbr_builds(real_catalog):
    db = Database(real_catalog)
    result = compare_product(db, "vbr", resolve(db, "vbr", "13.0.1.1071"),
                             resolve(db, "vbr", "13.0.1.2067"))
    mssql = [c for c in result.changes if c.page == VBR_MSSQL and c.change == "added"]
    added = {c.permission: c for c in mssql}
    for name in ("iam:SimulatePrincipalPolicy", "iam:TagUser"):
        assert added[name].kind == "build"
        assert (added[name].from_build, added[name].to_build) == ("13.0.1.1071", "13.0.1.2067")


def test_edits_that_change_no_permission_produce_no_change_rows(real_catalog, tmp_path_factory):
    """Every commit that touched a catalogued vbr/vbazure page without a new version: no rows."""
    db = Database(real_catalog)
    checked = 0
    for bundle, product in (("vbazure", "vbazure"), ("vbr", "vbr")):
        repo = clone(bundle, str(tmp_path_factory.getbasetemp()))
        pages = db.execute("select distinct p.canonical_url, v.path from pages p join page_versions v "
                           "on v.page = p.id where p.product = ? and v.source = 'git'", [product])
        for url, path in pages.fetchall():
            versions = {row[0][:19] for row in db.execute(
                "select v._first_seen from page_versions v join pages p on p.id = v.page "
                "where p.canonical_url = ?", [url])}
            log = subprocess.run(["git", "-C", str(repo), "log", "--no-merges", "--format=%cI",
                                  "--date=iso-strict", "--", path], capture_output=True, text=True)
            for stamp in log.stdout.split():
                from datetime import datetime, timedelta

                when = datetime.fromisoformat(stamp).astimezone(UTC)
                if when.isoformat()[:19] in versions:
                    continue
                before = (when - timedelta(seconds=1)).isoformat(timespec="seconds")
                after = when.isoformat(timespec="seconds")
                from catalog.analysis.compare import Point

                result = compare_product(db, product, Point("date", before), Point("date", after))
                assert [c for c in result.changes if c.page == url] == []
                checked += 1
    assert checked >= 10
