"""Semantic diffs, upgrade deltas, changelog and feed on authored page versions."""

import json
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis.changelog import atom_feed, format_markdown
from catalog.analysis.compare import CompareError, changes_since, compare_product, page_history, resolve
from catalog.analysis.upgrade import upgrade_delta
from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from pipeline.cli.main import cli
from pipeline.parse.page import parse_markdown_page

PAGES = Path(__file__).parent / "diff_pages"
APPLIANCE = "https://helpcenter.veeam.com/docs/vbaws/guide/fixture_appliance.html"
STORAGE = "https://helpcenter.veeam.com/docs/vbazure/guide/fixture_storage_role.html"


@pytest.fixture
def catalog(tmp_path):
    db_path = tmp_path / "diff.db"
    db = open_catalog(db_path)
    for name, when in (("appliance_v1", "2025-06-02"), ("azure_v1", "2025-08-20"),
                       ("azure_v2", "2026-03-21"), ("appliance_v2", "2026-01-21")):
        writer = CatalogWriter(db, "live", name)
        with writer.run():
            writer.save_page(parse_markdown_page((PAGES / f"{name}.md").read_text()),
                             Observation(f"{when}T08:00:00+00:00", "live", name))
    db.close()
    return db_path


def rows(changes):
    return sorted((c.operation, c.change, c.permission, c.kind) for c in changes)


def test_renamed_operation_is_a_rename_with_its_permission_delta(catalog):
    changes = page_history(Database(catalog), APPLIANCE).changes
    assert rows(changes) == [
        ("List of permissions to deploy a new backup appliance", "added", "iam:PassRole", "build"),
        ("List of permissions to deploy a new backup appliance", "renamed", None, "build"),
        ("List of permissions to upgrade backup appliance to version 9", "added", "ssm:SendCommand",
         "build"),
        ("List of permissions to upgrade backup appliance to version 9", "renamed", None, "build"),
    ]
    rename = next(c for c in changes if c.change == "renamed" and "deploy" in c.to)
    assert rename.from_ == "List of Permissions to Deploy a Veeam Backup for AWS Appliance"


def test_action_moved_between_statements_is_not_a_change(catalog):
    changes = page_history(Database(catalog), APPLIANCE).changes
    assert "ec2:TerminateInstances" not in {c.permission for c in changes}


def test_azure_action_moved_to_data_actions_is_a_change(catalog):
    (change,) = page_history(Database(catalog), STORAGE).changes
    assert (change.change, change.kind) == ("changed", "correction")
    assert change.permission == "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    assert (change.from_, change.to) == ("Allow in actions", "Allow in dataActions")


def test_product_diff_by_builds_and_by_dates(catalog):
    db = Database(catalog)
    by_build = compare_product(db, "vbaws", resolve(db, "vbaws", "previous"),
                               resolve(db, "vbaws", "latest"))
    by_date = compare_product(db, "vbaws", resolve(db, "vbaws", "2025-12-31"),
                              resolve(db, "vbaws", "2026-01-31"))
    assert rows(by_build.changes) == rows(by_date.changes)
    assert compare_product(db, "vbaws", resolve(db, "vbaws", "2026-02-01"),
                           resolve(db, "vbaws", "latest")).changes == []


def test_unknown_build_and_bad_dates_are_clear_errors(catalog):
    db = Database(catalog)
    with pytest.raises(CompareError) as error:
        resolve(db, "vbaws", "11.0.0.1")
    assert str(error.value) == ("'11.0.0.1' is not a build of vbaws, a YYYY-MM-DD date, 'latest' or "
                                "'previous'; builds: 9.0.0.100, 10.0.0.232")
    with pytest.raises(CompareError, match="no product 'vbgc' in the catalog"):
        resolve(db, "vbgc", "latest")


def test_upgrade_lists_risky_additions_first(catalog):
    delta = upgrade_delta(Database(catalog), "vbaws", "9.0.0.100", "10.0.0.232")
    assert [(r.name, r.risk is not None) for r in delta.add] == [
        ("iam:PassRole", True), ("ssm:SendCommand", True)]
    assert delta.revoke == []
    only_deploy = upgrade_delta(Database(catalog), "vbaws", "previous", "latest", ("deploy",))
    assert [r.name for r in only_deploy.add] == ["iam:PassRole"]


def test_changelog_markdown_and_atom_feed_name_each_change_once(catalog):
    db = Database(catalog)
    since = changes_since(db, "2025-01-01")
    changes = since.changes
    assert sorted(url for url, *_ in since.new_pages) == [APPLIANCE, STORAGE]
    markdown = format_markdown(changes, "Permission changes since 2025-01-01",
                               {"vbaws": "Veeam Backup for AWS"}, since.new_pages)
    assert "- [fixture_appliance.html](" + APPLIANCE + "): 7 permissions, build 9.0.0.100" in markdown
    assert markdown.count("`iam:PassRole`") == 1
    assert markdown.count("`ssm:SendCommand`") == 1
    assert "## Veeam Backup for AWS (`vbaws`)" in markdown
    assert "### Build 9.0.0.100 -> 10.0.0.232" in markdown
    assert "### Correction within build 8.0.1.202" in markdown
    assert "  - added `iam:PassRole`" in markdown
    # a sign right after a list marker would open a nested list and vanish when rendered
    assert not [line for line in markdown.splitlines() if line.lstrip().startswith(("- + ", "- - ", "- ~ "))]
    aws = [c for c in changes if "/vbaws/" in c.page]
    feed = feedparser.parse(atom_feed(aws, "vbaws", "Veeam Backup for AWS",
                                      "https://example.invalid/vbaws.atom", "2026-11-28T00:00:00+00:00"))
    assert feed.bozo == 0
    assert feed.feed.title == "Veeam Backup for AWS: permission changes"
    assert len(feed.entries) == 1
    body = feed.entries[0].content[0].value
    assert body.count("iam:PassRole") == 1 and body.count("ssm:SendCommand") == 1


def test_diff_cli_json_contract(catalog):
    result = CliRunner().invoke(cli, ["diff", "--db", str(catalog), "--product", "vbazure",
                                      "--from", "2025-09-01", "--to", "latest", "--format", "json"])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)
    assert {key: record[key] for key in ("page", "operation", "change", "permission", "kind")} == {
        "page": STORAGE, "operation": "Full list of permissions", "change": "changed",
        "permission": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "kind": "correction"}
    assert (record["from"], record["to"]) == ("Allow in actions", "Allow in dataActions")


def test_diff_cli_rejects_malformed_dates(catalog):
    result = CliRunner().invoke(cli, ["diff", "--db", str(catalog), "--product", "vbaws",
                                      "--from", "2026-13-45x", "--to", "latest"])
    assert result.exit_code == 2
    assert "'2026-13-45x' is not a build of vbaws" in result.output
    for impossible in ("2026-99-99", "2026-13-45", "2026-02-30"):
        result = CliRunner().invoke(cli, ["diff", "--db", str(catalog), "--product", "vbaws",
                                          "--from", impossible, "--to", "latest"])
        assert (result.exit_code, result.output) == (2, f"Error: '{impossible}' is not a real date (YYYY-MM-DD)\n")


def test_changelog_cli_writes_markdown_and_feeds(catalog, tmp_path):
    out, feeds = tmp_path / "CHANGES.md", tmp_path / "feeds"
    result = CliRunner().invoke(cli, ["changelog", "--db", str(catalog), "--since", "2026-01-01",
                                      "--output", str(out), "--feed-dir", str(feeds)])
    assert result.exit_code == 0, result.output
    assert "`iam:PassRole`" in out.read_text()
    assert sorted(p.name for p in feeds.iterdir()) == ["vbaws.atom", "vbazure.atom"]
    assert feedparser.parse(str(feeds / "vbazure.atom")).bozo == 0


def test_feeds_are_named_by_product_for_archive_urls_too():
    from catalog.analysis.changelog import product_of

    assert product_of("https://helpcenter.veeam.com/archive/vbazure/7/guide/plugin_permissions.html") == "vbazure"
    assert product_of("https://helpcenter.veeam.com/docs/backup/vsphere/x.html?ver=120") == "vbr"


def test_site_says_when_an_operation_or_permission_is_not_what_veeam_asks_today(catalog):
    import asyncio

    from pipeline.jobs.website import make_datasette

    # a correction within build 10.0.0.232 drops iam:DeleteRole from the appliance page
    text = (PAGES / "appliance_v2.md").read_text().replace('"Action": [ "iam:DeleteRole" ]',
                                                           '"Action": [ "ec2:RunInstances" ]')
    db = open_catalog(catalog)
    writer = CatalogWriter(db, "live", "v3")
    with writer.run():
        writer.save_page(parse_markdown_page(text), Observation("2026-02-10T08:00:00+00:00", "live", "v3"))
    old_op, current_op = (db.execute(
        "select o.id from operations o join page_versions v on v.id = o.page_version join pages p on p.id = v.page "
        f"where p.canonical_url = ? and v.id {cmp} p.current_version and o.title like 'List of permissions to "
        "deploy%' order by v.id desc limit 1", [APPLIANCE]).fetchone()[0] for cmp in ("!=", "="))
    (dropped,) = db.execute("select id from permissions where name = 'iam:DeleteRole'").fetchone()
    db.close()
    client = make_datasette(catalog).client
    old_page = asyncio.run(client.get(f"/operations/{old_op}")).text
    assert "Not what Veeam asks for today" in old_page and f'href="/operations/{current_op}"' in old_page
    assert "Not what Veeam asks for today" not in asyncio.run(client.get(f"/operations/{current_op}")).text
    permission_page = asyncio.run(client.get(f"/permissions/{dropped}")).text
    assert "No current page asks for this permission" in permission_page
    assert "(older page version)" in permission_page
