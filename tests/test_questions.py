"""One question, one answer: the CLI's JSON, the website's JSON twins and the canned queries
are asked the same matrix of questions and must answer identically (issue 15).

Run on a catalog of authored pages (with a product whose pages state no build) and on the
real four-bundle catalog.
"""

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis.compare import product_builds
from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette
from pipeline.parse.page import parse_markdown_page

PAGES = Path(__file__).parent / "diff_pages"
VAULT = "https://helpcenter.veeam.com/docs/vdc/userguide/fixture_vault_permissions.html"


@pytest.fixture(scope="module")
def authored(site_catalog, tmp_path_factory):
    """The demo catalog plus a product whose pages carry no build (two dated versions)."""
    db_path = tmp_path_factory.mktemp("questions") / "catalog.db"
    shutil.copy(site_catalog, db_path)
    db = open_catalog(db_path)
    for name, when in (("vdc_v1", "2026-02-02"), ("vdc_v2", "2026-03-16")):
        writer = CatalogWriter(db, "dir", name)
        with writer.run():
            writer.save_page(parse_markdown_page((PAGES / f"{name}.md").read_text()),
                             Observation(f"{when}T09:00:00+00:00", "dir", name))
    db.close()
    return db_path


def cli_json(db_path, *args):
    result = CliRunner().invoke(cli, [*args, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class Site:
    def __init__(self, db_path):
        self.client = make_datasette(db_path).client

    def get(self, path, **params):
        response = asyncio.run(self.client.get(path, params=params))
        assert response.status_code == 200, (path, params, response.text[:300])
        return response.json()

    def canned(self, name, **params):
        answer = self.get(f"/catalog/{name}.json", _shape="objects", _size="max", **params)
        rows = [{k: v for k, v in row.items() if k != "error"} for row in answer["rows"]]
        assert not any(row.get("error") for row in answer["rows"]), answer["rows"][:1]
        return rows, answer.get("truncated", False)


def flat_upgrade(answer: dict) -> list[dict]:
    """The CLI's grant / revoke lists as the canned query's rows."""
    return [{"action": action, "permission": r["permission"], "provider": r["provider"], "risk": r["risk"],
             "optional": r["optional"], "required_by": "; ".join(r["required_by"]),
             "still_required_by": "; ".join(r.get("still_required_by", []))}
            for action, key in (("grant", "add"), ("revoke", "revoke")) for r in answer[key]]


def same_prefix(canned: list[dict], full: list[dict], truncated: bool) -> bool:
    """Canned queries stop at Datasette's row limit; what they return must be the same rows."""
    return canned == (full[:len(canned)] if truncated else full)


def ask_changes(site: Site, db_path, product, old, new) -> list[dict]:
    cli_args = ["diff", "--product", product, "--format", "json"]
    cli_args += ["--from", old, "--to", new] if old else []
    from_cli = cli_json(db_path, *cli_args)
    points = {"from": old, "to": new} if old else {}
    from_site = site.get(f"/changes/{product}.json", **points)
    assert from_site["rows"] == from_cli, (product, old, new)
    assert from_site["total"] == len(from_cli)
    canned, truncated = site.canned("changes_between", product=product, **({"from": old or "", "to": new or ""}))
    assert same_prefix(canned, from_cli, truncated), (product, old, new)
    return from_cli


def ask_upgrade(site: Site, db_path, product, old, new, operation="") -> dict:
    args = ["upgrade", "--product", product, "--from", old, "--to", new, "--format", "json"]
    from_cli = cli_json(db_path, *args, *(["--operation", operation] if operation else []))
    params = {"from": old, "to": new, **({"operation": operation} if operation else {})}
    assert site.get(f"/upgrade/{product}.json", **params) == from_cli, (product, old, new)
    canned, truncated = site.canned("upgrade_delta", product=product, operation=operation, **{"from": old, "to": new})
    canned = [{**row, "optional": bool(row["optional"])} for row in canned]
    assert same_prefix(canned, flat_upgrade(from_cli), truncated), (product, old, new)
    return from_cli


def point_pairs(db_path, product) -> list[tuple[str | None, str | None]]:
    """Builds, latest / previous, dates and mixed pairs, and the default (the last change)."""
    db = Database(db_path)
    builds = product_builds(db, product)
    days = [row[0] for row in db.execute("select distinct substr(first_seen, 1, 10) from version_spans "
                                         "where product = ? order by 1", [product])]
    pairs = [(None, None), ("latest", "latest"), ("2026-01-01", "latest"), (days[0], days[-1])]
    if len(builds) > 1:
        pairs += [("previous", "latest"), (builds[0], builds[-1]), (builds[0], days[-1])]
    elif builds:
        pairs += [(builds[0], "latest")]
    return pairs


def ask_matrix(db_path):
    site = Site(db_path)
    db = Database(db_path)
    products = [row[0] for row in db.execute("select distinct product from pages order by 1")]
    answered = {}
    for product in products:
        for old, new in point_pairs(db_path, product):
            answered[(product, old, new)] = len(ask_changes(site, db_path, product, old, new))
            if old:
                ask_upgrade(site, db_path, product, old, new)
    return site, answered


def ask_page(site: Site, db_path, url: str) -> list[dict]:
    from_cli = cli_json(db_path, "diff", "--page", url, "--format", "json")
    product = Database(db_path).execute("select product from pages where canonical_url = ?", [url]).fetchone()[0]
    assert site.get(f"/changes/{product}.json", url=url)["rows"] == from_cli
    return from_cli


def ask_operation(site: Site, db_path, product: str) -> str:
    """An operation whose title names it alone: `policy` by title, its page and the canned query."""
    db = Database(db_path)
    ops = list(db.query("select i.operation_id, i.title from operation_identity i join pages p on "
                        "p.id = i.page_id where p.product = ? and p.current_version = i.page_version and "
                        "i.kind != 'trust-policy' and exists (select 1 from operation_requirements q "
                        "where q.operation_id = i.operation_id and q.provider = 'aws' and not q.optional)",
                        [product]))
    titles = [op["title"].lower() for op in ops]
    op = next(op for op in ops if sum(op["title"].lower() in t for t in titles) == 1)
    result = CliRunner().invoke(cli, ["policy", "--db", str(db_path), "--product", product,
                                      "--operation", op["title"], "--format", "aws"])
    assert result.exit_code == 0, result.output
    page = site.get(f"/operations/{op['operation_id']}.json")
    canned, _ = site.canned("operation_policy", operation_id=str(op["operation_id"]))
    assert json.loads(result.stdout) == json.loads(page["documents"]["aws"])
    assert {r["format"]: r["document"] for r in canned} == page["documents"]
    return op["title"]


def test_authored_catalog_answers_every_question_once(authored):
    site, answered = ask_matrix(authored)
    assert {product for product, _, _ in answered} == {"vbaws", "vbazure", "vdc"}
    assert answered[("vdc", None, None)] == 3  # listKeys removed, write and roleAssignments/write added
    assert len(ask_page(site, authored, VAULT)) == 3
    ask_operation(site, authored, "vbaws")
    upgrade = ask_upgrade(site, authored, "vbaws", "previous", "latest", "deploy")
    assert "iam:PassRole" in {r["permission"] for r in upgrade["add"]}


def test_a_product_without_builds_is_diffed_and_upgraded_by_date(authored):
    appeared = cli_json(authored, "diff", "--product", "vdc", "--from", "2026-02-01", "--to", "2026-02-28",
                        "--format", "json")
    assert {(c["change"], c["operation_change"]) for c in appeared} == {("added", "added")} and len(appeared) == 2
    changes = cli_json(authored, "diff", "--product", "vdc", "--from", "2026-02-10", "--to", "2026-04-01",
                       "--format", "json")
    assert sorted((c["change"], c["permission"]) for c in changes) == [
        ("added", "Microsoft.Authorization/roleAssignments/write"),
        ("added", "Microsoft.Storage/storageAccounts/write"),
        ("removed", "Microsoft.Storage/storageAccounts/listKeys/action")]
    assert {(c["first_seen"][:10], c["from_build"], c["to_build"]) for c in changes} == {("2026-03-16", None, None)}
    upgrade = cli_json(authored, "upgrade", "--product", "vdc", "--from", "previous", "--to", "latest",
                       "--format", "json")
    assert (upgrade["from"], upgrade["to"]) == ("2026-02-02", "2026-03-16")
    assert upgrade["add"][0] == {"permission": "Microsoft.Authorization/roleAssignments/write",
                                 "provider": "azure", "risk": upgrade["add"][0]["risk"], "optional": False,
                                 "required_by": ["fixture_vault_permissions.html: Permissions for the vault "
                                                 "storage account"]}
    assert [r["permission"] for r in upgrade["revoke"]] == ["Microsoft.Storage/storageAccounts/listKeys/action"]


def test_a_product_without_builds_names_what_it_accepts(authored):
    result = CliRunner().invoke(cli, ["diff", "--db", str(authored), "--product", "vdc", "--from", "7.0",
                                      "--to", "latest"])
    assert result.exit_code == 2
    assert result.output == ("Error: '7.0' is not a YYYY-MM-DD date, 'latest' or 'previous'; vdc states no "
                             "builds (changes seen 2026-02-02 .. 2026-03-16)\n")


def test_real_catalog_answers_every_question_once(real_catalog):
    site, answered = ask_matrix(real_catalog)
    assert {product for product, _, _ in answered} == {"vbaws", "vbazure", "vbgc", "vbo365", "vbr"}
    assert answered[("vbazure", None, None)] == 14
    ask_page(site, real_catalog, "https://helpcenter.veeam.com/docs/vbazure/guide/plugin_permissions.html")
    ask_operation(site, real_catalog, "vbaws")
    upgrade = ask_upgrade(site, real_catalog, "vbr", "13.0.1.1071", "latest")
    assert upgrade["to"] == product_builds(Database(real_catalog), "vbr")[-1]
    assert upgrade["add"] and upgrade["add"][0]["risk"]  # risky first


def test_vbazure_default_view_is_the_service_bus_correction(real_catalog):
    site = Site(real_catalog)
    answer = site.get("/changes/vbazure.json")
    assert answer["total"] == 14 and (answer["from"], answer["to"]) == ("2026-03-20", "2026-03-21")
    assert {(r["change"], r["kind"], r["from_build"], r["to_build"], r["first_seen"][:10])
            for r in answer["rows"]} == {("removed", "correction", "8.0.1.202", "8.0.1.202", "2026-03-21")}
    assert all(r["permission"].startswith("Microsoft.ServiceBus/") for r in answer["rows"])
    html = asyncio.run(site.client.get("/changes/vbazure")).text
    assert "14 changes" in html and "correction of 8.0.1.202" in html and "2026-03-21" in html
    assert "The last change of" in html  # the default view says so
    assert "The last change of" not in asyncio.run(site.client.get("/changes/vbr?from=13.0.1.1071&to=latest")).text
    assert site.get("/changes/vbr.json?from=13.0.1.1071&to=latest").get("url") is None  # a product answer


def test_vbr_upgrade_shows_the_clis_numbers_and_big_diffs_are_paged(real_catalog):
    site = Site(real_catalog)
    answer = cli_json(real_catalog, "upgrade", "--product", "vbr", "--from", "13.0.1.1071", "--to", "latest",
                      "--format", "json")
    html = asyncio.run(site.client.get("/upgrade/vbr?from=13.0.1.1071&to=latest")).text
    assert f'<strong class="grant-count">grant {len(answer["add"])}</strong>' in html
    assert f'<strong class="revoke-count">may revoke {len(answer["revoke"])}</strong>' in html
    # from before the catalog began, everything vbaws asks for is an addition
    big = site.get("/changes/vbaws.json", **{"from": "2026-01-01", "to": "latest"})
    assert big["total"] > 600
    first = asyncio.run(site.client.get("/changes/vbaws?from=2026-01-01&to=latest")).text
    pages = -(-big["total"] // 300)
    assert f"Page 1 of {pages}" in first and 'rel="next"' in first
    assert first.count("<tr class=\"change-") == 300
    last = asyncio.run(site.client.get(f"/changes/vbaws?from=2026-01-01&to=latest&page={pages}")).text
    assert last.count("<tr class=\"change-") == big["total"] - 300 * (pages - 1)


def test_the_catalogs_first_sighting_of_a_product_is_not_its_last_change(real_catalog):
    site = Site(real_catalog)
    # vbaws: one build, and every page version after the first sighting changes no permission
    answer = site.get("/changes/vbaws.json")
    assert (answer["from"], answer["to"], answer["total"]) == ("latest", "latest", 0)
    html = asyncio.run(site.client.get("/changes/vbaws")).text
    assert "changed since the catalog first saw it" in html and "The last change of" not in html
    upgrade = site.get("/upgrade/vbaws.json")
    assert (upgrade["add"], upgrade["revoke"]) == ([], [])


def test_latest_change_links_count_what_they_show(real_catalog):
    from catalog.analysis.compare import change_events

    site = Site(real_catalog)
    for event in change_events(Database(real_catalog), "vbo365", limit=3):
        shown = site.get("/changes/vbo365.json", **{"from": event["before"], "to": event["date"]})
        assert shown["total"] == event["changes"] > 0


def test_product_without_builds_has_a_dated_product_page(authored):
    site = Site(authored)
    before = site.get("/products/vdc.json", build="2026-02-10")
    after = site.get("/products/vdc.json")
    assert (before["by"], before["point"], after["point"]) == ("date", "2026-02-10", "2026-03-16")
    (page,) = after["pages"]
    assert page["page_title"] == "Vault Storage Permissions"
    assert [s["section"] for s in page["sections"]] == ["Storage Account Access"]
    assert page["sections"][0]["operations"][0]["permissions"] == 3


def test_feed_and_changelog_of_a_product_without_builds(authored):
    import feedparser

    site = Site(authored)
    feed = feedparser.parse(asyncio.run(site.client.get("/feeds/vdc.atom")).text)
    (entry,) = feed.entries
    assert entry.title == ("fixture_vault_permissions.html: 2 added, 1 removed "
                           "(dated change (the page states no build))")
    result = CliRunner().invoke(cli, ["changelog", "--db", str(authored), "--since", "2026-03-01",
                                      "--product", "vdc"])
    assert "Dated change (the page states no build)" in result.output


def test_policy_and_operation_page_of_a_product_without_builds_by_date(authored):
    def azure_actions(*build):
        result = CliRunner().invoke(cli, ["policy", "--db", str(authored), "--product", "vdc", "--operation",
                                          "vault storage", "--format", "azure", *build])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["Actions"]

    assert "Microsoft.Storage/storageAccounts/listKeys/action" in azure_actions("--build", "2026-02-10")
    latest = azure_actions()
    assert "Microsoft.Authorization/roleAssignments/write" in latest
    site = Site(authored)
    (op,) = site.get("/products/vdc.json")["pages"][0]["sections"][0]["operations"]
    page = site.get(f"/operations/{op['id']}.json")
    assert json.loads(page["documents"]["azure"])["Actions"] == latest
    assert set(page["documents"]) == {"azure", "terraform"}


def test_upgrade_grants_and_revokes_only_what_the_diff_adds_and_removes(real_catalog):
    """The upgrade delta pairs operations across renames and moved sections as the diff does, so a
    permission is granted only where the diff adds it and revoked only where the diff removes it
    (vbo365 8.3.0.2201 -> 8.4.0.1457 renames an operation and changes no permission)."""
    db = Database(real_catalog)
    products = [row[0] for row in db.execute("select distinct product from pages order by 1")]
    checked = 0
    for product in products:
        for old, new in point_pairs(real_catalog, product):
            if not old:
                continue
            changes = cli_json(real_catalog, "diff", "--product", product, "--from", old,
                                          "--to", new, "--format", "json")
            added = {c["permission"].lower() for c in changes if c["change"] == "added"}
            removed = {c["permission"].lower() for c in changes if c["change"] == "removed"}
            upgrade = cli_json(real_catalog, "upgrade", "--product", product, "--from", old,
                                          "--to", new, "--format", "json")
            assert {r["permission"].lower() for r in upgrade["add"]} <= added, (product, old, new)
            assert {r["permission"].lower() for r in upgrade["revoke"]} <= removed, (product, old, new)
            checked += 1
    assert checked >= 20
    renamed = cli_json(real_catalog, "upgrade", "--product", "vbo365", "--from", "8.3.0.2201",
                                  "--to", "8.4.0.1457", "--format", "json")
    assert (renamed["add"], renamed["revoke"]) == ([], [])


def test_search_reads_a_name_fragment_literally_and_pages_are_told_apart(real_catalog):
    site = Site(real_catalog)
    db = Database(real_catalog)
    (ec2,) = db.execute("select count(*) from permissions where name like 'ec2:%'").fetchone()
    answer = site.get("/search.json", q="ec2:")
    assert answer["counts"]["permission"] == ec2 > 100
    assert all(row["label"].lower().startswith("ec2:") for row in answer["rows"] if row["type"] == "permission")
    vbr = site.get("/products/vbr.json")
    titles = [page["page_title"] for page in vbr["pages"]]
    assert len(titles) == len(set(titles)) > 5
    assert "Permissions (db2 plugin permissions)" in titles


def test_home_counts_the_pages_each_product_page_lists(real_catalog):
    site = Site(real_catalog)
    for product in site.get("/products.json"):
        listed = site.get(f"/products/{product['code']}.json")
        assert product["pages"] == len(listed["pages"]), product["code"]


def test_an_operation_named_by_its_section_is_chosen_alike_by_policy_upgrade_and_site(real_catalog):
    """"Service Account Permissions" is a section of vbazure's plug-in page, in no operation title."""
    text = "Service Account Permissions"
    site = Site(real_catalog)
    answer = ask_upgrade(site, real_catalog, "vbazure", "2025-01-01", "latest", operation=text)
    by = {where.split(": ", 1)[1] for item in answer["add"] for where in item["required_by"]}
    assert by == {"Full list of permissions", "List of permissions to upgrade backup appliance to version 8"}
    result = CliRunner().invoke(cli, ["policy", "--db", str(real_catalog), "--product", "vbazure",
                                      "--operation", text, "--format", "azure"])
    assert result.exit_code == 0, result.output
    role = json.loads(result.stdout)
    granted = set(role["Actions"]) | set(role.get("DataActions", []))
    assert {item["permission"] for item in answer["add"] if item["provider"] == "azure"} <= granted


def test_may_revoke_says_which_current_operations_still_need_a_permission(real_catalog):
    """vbo365 8.4 -> 8.5: the upgrade check page drops three permissions other operations still need."""
    answer = cli_json(real_catalog, "upgrade", "--product", "vbo365", "--from", "8.4.0.1457", "--to", "8.5.0.1014",
                      "--format", "json")
    still = {r["permission"]: r["still_required_by"] for r in answer["revoke"]}
    assert set(still) == {"ChannelMember.ReadWrite.All", "Exchange.ManageAsApp", "Files.ReadWrite.All"}
    assert all(still.values())
    assert "ad_app_permissions_sd.html: Permissions for Backup" in still["Exchange.ManageAsApp"]
    db = Database(real_catalog)
    for permission, places in still.items():  # each place is an operation that requires it at 8.5
        required = {f"{page.rsplit('/', 1)[-1]}: {title}" for page, title in db.execute(
            "select q.page, q.title from build_versions b join operation_requirements q on "
            "q.page_version = b.page_version where b.product = 'vbo365' and b.build = '8.5.0.1014' "
            "and q.permission = ?", [permission])}
        assert set(places) == required, permission
    text = CliRunner().invoke(cli, ["upgrade", "--db", str(real_catalog), "--product", "vbo365", "--from",
                                    "8.4.0.1457", "--to", "8.5.0.1014"]).output
    assert "  - Exchange.ManageAsApp  (still required at 8.5.0.1014 by 1 other operation)\n" \
           "      still for ad_app_permissions_sd.html: Permissions for Backup\n" in text
    html = asyncio.run(Site(real_catalog).client.get("/upgrade/vbo365?from=8.4.0.1457&to=8.5.0.1014")).text
    assert '<td class="still">ad_app_permissions_sd.html: Permissions for Backup</td>' in html
    grant = next(r for r in answer["add"] if r["permission"] == "MailboxFolder.ReadWrite.All")
    assert len(grant["required_by"]) == 4
    assert "".join(f"      for {place}\n" for place in grant["required_by"][:3]) + "      and 1 more\n" in text
