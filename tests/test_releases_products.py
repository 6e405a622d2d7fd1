"""Archive and legacy URLs name products and releases; products without builds are first-class."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.analysis.queries import catalog_stats
from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from catalog.urls import parse_url, release_of_label
from pipeline.cli.main import cli
from pipeline.fetch.discover import in_scope, load_products
from pipeline.parse.page import parse_html_page, parse_veeam_markdown_page

PAGES = Path(__file__).parent / "pages"
HC = "https://helpcenter.veeam.com"


@pytest.mark.parametrize(("url", "product", "guide", "label", "release"), [
    (f"{HC}/archive/backup/120/vsphere/required_permissions.html", "vbr", "vsphere", "120", "12.0"),
    (f"{HC}/archive/backup/95u4/powershell/get-vbrjob.html", "vbr", "powershell", "95u4", "9.5.4"),
    (f"{HC}/archive/vbaws/6a/guide/iam_permissions.html", "vbaws", "guide", "6a", "6a"),
    (f"{HC}/archive/vbaws/70/guide/iam_permissions.html", "vbaws", "guide", "70", "7.0"),
    (f"{HC}/archive/vbaws/80/guide/iam_permissions.html", "vbaws", "guide", "80", "8.0"),
    (f"{HC}/archive/vbaws/9/guide/iam_permissions.html", "vbaws", "guide", "9", "9"),
    (f"{HC}/archive/vbaws/10/guide/iam_permissions.html", "vbaws", "guide", "10", "10"),
    (f"{HC}/archive/vac/40/rest/permissions.html", "vspc", "rest", "40", "4.0"),
    (f"{HC}/archive/vbo365/15/guide/permissions.html", "vbo365", "guide", "15", "1.5"),
    (f"{HC}/archive/vbo365/60/guide/permissions.html", "vbo365", "guide", "60", "6.0"),
    (f"{HC}/archive/one/110/userguide/permissions.html", "one", "userguide", "110", "11.0"),
    (f"{HC}/archive/agentforwindows/60/userguide/object_storage.html", "agentforwindows",
     "userguide", "60", "6.0"),
    (f"{HC}/backup/powershell/add-vbrjob.html", "vbr", "powershell", None, None),
    (f"{HC}/backup/80/vsphere/permissions.html", "vbr", "vsphere", "80", "8.0"),
    (f"{HC}/docs/vbr/powershell/add-vbrjob.md", "vbr", "powershell", None, None),
    (f"{HC}/docs/vbr/userguide/required_permissions.html?ver=13", "vbr", "userguide", "13", "13"),
    (f"{HC}/docs/vbr/userguide/required_permissions.html?ver=81", "vbr", "userguide", "81", "8.1"),
    (f"{HC}/docs/vbr/userguide/required_permissions.html?ver=100", "vbr", "userguide", "100", "10.0"),
    (f"{HC}/docs/vbazure/guide/plugin_permissions.html?ver=5a", "vbazure", "guide", "5a", "5a"),
    (f"{HC}/docs/vdc/userguide/permissions.html", "vdc", "userguide", None, None),
])
def test_urls_name_product_guide_label_and_release(url, product, guide, label, release):
    parts = parse_url(url)
    assert (parts.product, parts.guide, parts.version_label) == (product, guide, label)
    assert release_of_label(parts.product, parts.version_label) == release


def test_other_paths_are_not_pages():
    assert parse_url(f"{HC}/static/js/menu.html").product is None
    assert parse_url(f"{HC}/rn/vbr_13_release_notes.html").slug is None


@pytest.mark.parametrize("label", ["current", "v12", "", "1234", None])
def test_words_are_not_release_labels(label):
    assert release_of_label("vbr", label) is None


def test_archive_and_legacy_urls_fold_into_the_current_page_family():
    assert parse_url(f"{HC}/archive/backup/120/vsphere/x.html").family == f"{HC}/docs/vbr/vsphere/x.html"
    assert parse_url(f"{HC}/backup/powershell/x.html").family == f"{HC}/docs/vbr/powershell/x.html"


def test_new_products_have_entries_and_follow_their_permission_pages():
    products = load_products()
    for code, permission_page in (("vdc", "azure_permissions"), ("agentforwindows", "object_storage_permissions"),
                                  ("vro", "azure_permissions")):
        product = products[code]
        assert all(entry.startswith(f"/docs/{code}/") for entry in product.entry)
        url = f"{HC}/docs/{code}/userguide/{permission_page}.html"
        assert in_scope(url, product, HC)
        assert not in_scope(f"{HC}/docs/{code}/userguide/whats_new.html", product, HC)
    assert in_scope(f"{HC}/archive/vac/40/rest/permissions.html",
                    load_products('[products.vspc]\nname = "x"\nentry = ["/docs/vac/a.html"]\n')["vspc"], HC)


VDC_PAGE = """---
title: "Fixture Vault Permissions"
canonical: "https://helpcenter.veeam.com/docs/vdc/userguide/fixture_vault_permissions.html"
dateModified: "{date}"
---

## Storage Account Permissions

The Microsoft Entra ID application must be assigned a role with the following permissions:

```json
{{ "permissions": [ {{ "actions": [ {actions} ] }} ] }}
```
"""


def save(db, page, when):
    writer = CatalogWriter(db, "live", "test")
    with writer.run():
        return writer.save_page(page, Observation(when, "live", "test"))


def test_pages_without_builds_are_stored_dated_and_listed(tmp_path):
    db_path = tmp_path / "c.db"
    db = open_catalog(db_path)
    one = '"Microsoft.Storage/storageAccounts/read"'
    v1 = parse_veeam_markdown_page(VDC_PAGE.format(date="2026-02-01", actions=one))
    v2 = parse_veeam_markdown_page(VDC_PAGE.format(
        date="2026-03-05", actions=one + ', "Microsoft.Storage/storageAccounts/write"'))
    assert v1.build is None and v1.build_source is None and v1.product == "vdc"
    assert save(db, v1, "2026-02-02T00:00:00+00:00") == "new"
    assert save(db, v2, "2026-03-06T00:00:00+00:00") == "new"
    archived = parse_html_page((PAGES / "15_label_build.html").read_text())
    assert save(db, archived, "2026-03-06T00:00:00+00:00") == "new"
    rows = [dict(row) for row in db.query(
        "select p.product, v.build, v.build_source, v.version_label, v.last_updated, v.release "
        "from page_versions v join pages p on p.id = v.page order by v.id")]
    assert rows[:2] == [
        {"product": "vdc", "build": None, "build_source": None, "version_label": None,
         "last_updated": "2026-02-01", "release": None},
        {"product": "vdc", "build": None, "build_source": None, "version_label": None,
         "last_updated": "2026-03-05", "release": None}]
    assert rows[2]["build"] == "6.0" and rows[2]["build_source"] == "label" and rows[2]["version_label"] == "60"
    assert [dict(r) for r in db.query("select product, build, label from releases")] == \
        [{"product": "vbo365", "build": "6.0", "label": "60"}]
    stats = catalog_stats(db)
    assert "vdc (Veeam Data Cloud): 1 permission pages, 2 page versions, no builds, dated " \
           "2026-02-01 .. 2026-03-05" in stats
    db.close()
    result = CliRunner().invoke(cli, ["products", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: " ".join(line.split()) for line in result.output.splitlines()}
    assert rows["product"] == "product name pages builds latest last_change"
    assert rows["vdc"] == "vdc Veeam Data Cloud 1 0 dated 2026-03-05 2026-03-06"
    assert rows["vbo365"] == "vbo365 Veeam Backup for Microsoft 365 1 1 6.0 2026-03-06"
    assert rows["vro"] == "vro Veeam Recovery Orchestrator 0 0 - -"
    assert "agentforwindows" in rows


def test_products_without_a_catalog_lists_keys_and_names():
    result = CliRunner().invoke(cli, ["products"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].split() == ["product", "name"]
    assert "vdc              Veeam Data Cloud" in result.output


def test_products_names_a_missing_catalog(tmp_path):
    result = CliRunner().invoke(cli, ["products", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "none.db: no catalog here" in result.output


DATED_PAGE = """---
title: "Fixture Vault Permissions"
source_url: "https://helpcenter.veeam.com/docs/vdc/userguide/fixture_vault_permissions.html"
last_updated: "{date}"
---

Storage Account Permissions

The Microsoft Entra ID application must be assigned a role with the following permissions:

|  |
| --- |
| {{ "permissions": [ {{ "actions": [ {actions} ] }} ] }} |
"""


def test_a_product_without_builds_is_scraped_and_versioned_by_date(tmp_path):
    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.scrape import scrape
    from tests.support.sitegen import SiteServer, build_site

    toml = ('[products.vdc]\nname = "Veeam Data Cloud"\n'
            'entry = ["/docs/vdc/userguide/fixture_vault_permissions.html"]\nfollow = "permission"\n')
    db_path = tmp_path / "live.db"
    first = '"Microsoft.Storage/storageAccounts/read"'
    for date, actions in (("2/1/2026", first), ("3/5/2026", first + ', "Microsoft.KeyVault/vaults/read"')):
        site = build_site({"vault.md": DATED_PAGE.format(date=date, actions=actions)})
        with SiteServer(site) as server:
            report = scrape(db_path, products=["vdc"], products_toml=toml,
                            config=FetchConfig(base_url=server.base_url, per_host_per_second=50))
        assert report.failed == [] and report.new_versions == 1
    db = open_catalog(db_path)
    assert [tuple(row) for row in db.execute(
        "select v.build, v.build_source, v.last_updated, v.permission_count from page_versions v "
        "order by v.id")] == [(None, None, "2026-02-01", 1), (None, None, "2026-03-05", 2)]
    assert db["releases"].count == 0
    assert "no builds, dated 2026-02-01 .. 2026-03-05" in catalog_stats(db)
    db.close()


def test_highlight_and_tracking_parameters_never_make_another_page():
    from catalog.urls import canonicalize, parse_url

    linked = ("https://helpcenter.veeam.com/docs/agentforlinux/userguide/compression_deduplication.html"
              "?zoom_highlight=dedupe-friendly&ver=13&utm_source=news&gclid=x#levels")
    assert canonicalize(linked) == \
        "https://helpcenter.veeam.com/docs/agentforlinux/userguide/compression_deduplication.html?ver=13"
    assert parse_url(linked).version_label == "13"


def test_a_catalog_with_a_highlighted_page_url_is_migrated_to_the_canonical_one(tmp_path):
    import sqlite3

    from catalog.storage.database import open_catalog
    from catalog.storage.migrations import migrations

    db_path = tmp_path / "old.db"
    db = open_catalog(db_path)
    db.execute("insert into pages (product, guide, slug, canonical_url, family, title, _first_seen, _last_seen) "
               "values ('vbr', 'userguide', 'x', 'https://helpcenter.veeam.com/docs/vbr/userguide/x.html"
               "?zoom_highlight=a', 'https://helpcenter.veeam.com/docs/vbr/userguide/x.html', 'X', '2026', '2026')")
    db.execute("delete from _sqlite_migrations where name = 'm23_canonical_urls_without_tracking'")
    db.conn.commit()
    db.close()
    migrated = open_catalog(db_path)
    assert not [m.name for m in migrations.pending(migrated)]
    assert migrated.execute("select canonical_url from pages").fetchall() == [
        ("https://helpcenter.veeam.com/docs/vbr/userguide/x.html",)]
    migrated.close()
    assert sqlite3.connect(db_path).execute("pragma integrity_check").fetchone() == ("ok",)
