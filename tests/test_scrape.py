"""The scraper end to end: discovery, fetch, parse and catalog, from cassettes and a local server."""

import gc
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import table_counts
from sqlite_utils import Database

from catalog.storage.snapshots import MAX_SNAPSHOT_BYTES, inflate
from pipeline.cli.main import cli
from pipeline.fetch.client import FetchConfig
from pipeline.jobs.scrape import GC_YOUNG_THRESHOLD, scrape
from tests.support.sitegen import SiteServer, load_site

SITE = Path(__file__).parent / "site"
PRODUCTS = (Path(__file__).resolve().parents[1] / "cassettes" / "site_products.toml").read_text()
RECORDED_BASE = "http://127.0.0.1:8765"  # the address the cassettes were recorded from


@pytest.fixture
def recorded_site(request):
    """Replay needs no server; recording (pytest --record-mode=rewrite) starts one on port 8765."""
    if request.config.getoption("--record-mode") in (None, "none"):
        yield RECORDED_BASE
        return
    with SiteServer(load_site(SITE), port=8765) as server:
        yield server.base_url


def config(base_url, **extra):
    return FetchConfig(base_url=base_url, per_host_per_second=50, backoff=0.01, **extra)


def catalog_summary(db_path):
    db = Database(db_path)
    return sorted(
        (row["product"], row["canonical_url"].split("helpcenter.veeam.com")[1], row["build"],
         row["operations"])
        for row in db.query("select p.product, p.canonical_url, v.build, v.operation_count as operations "
                            "from pages p join page_versions v on v.id = p.current_version"))


@pytest.mark.default_cassette("scrape_site.yaml")
@pytest.mark.vcr
def test_discovery_fetch_parse_from_cassettes(tmp_path, recorded_site):
    db_path = tmp_path / "live.db"
    report = scrape(db_path, config=config(recorded_site), products_toml=PRODUCTS)
    assert report.failed == []
    assert (report.fetched, report.permission_pages, report.new_versions) == (7, 6, 6)
    assert catalog_summary(db_path) == [
        ("vbaws", "/docs/vbaws/guide/iam_permissions.html", "10.0.0.232", 3),
        ("vbaws", "/docs/vbaws/guide/iam_permissions.html?ver=9", "9.0.0.100", 2),
        ("vbaws", "/docs/vbaws/guide/role_permissions_repo.html", "10.0.0.232", 2),
        ("vbazure", "/archive/vbazure/7/guide/plugin_permissions.html", "7.0.0.300", 1),
        ("vbazure", "/docs/vbazure/guide/plugin_permissions.html", "8.0.1.202", 1),
        ("vbazure", "/docs/vbazure/guide/service_account_permissions.html", "8.0.1.202", 1),
    ]
    db = Database(db_path)
    labels = {row[0]: row[1] for row in db.execute("select build, label from releases")}
    assert labels["9.0.0.100"] == "9" and labels["7.0.0.300"] == "7"
    assert db.execute("select count(*) from fetches where outcome = 'ok'").fetchone()[0] == 7
    assert db.execute("select count(*) from snapshots").fetchone()[0] == 7


def test_second_scrape_of_unchanged_pages_downloads_no_bodies(tmp_path):
    db_path = tmp_path / "live.db"
    with SiteServer(load_site(SITE)) as server:
        scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
        counts = table_counts(db_path)
        already = len(server.requests)
        report = scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
        pages = [(path, status, size) for path, status, size in server.requests[already:]
                 if not path.endswith(("/robots.txt", "/sitemap.xml"))]
    assert (report.fetched, report.unchanged, report.new_versions) == (0, 7, 0)
    assert {status for _, status, _ in pages} == {304}
    assert sum(size for *_, size in pages) == 0
    after = table_counts(db_path)
    assert {k: after[k] for k in ("pages", "page_versions", "operations", "grants", "snapshots")} == \
        {k: counts[k] for k in ("pages", "page_versions", "operations", "grants", "snapshots")}


def test_a_failed_page_leaves_the_catalog_untouched_and_is_listed(tmp_path):
    db_path = tmp_path / "live.db"
    site = load_site(SITE)
    with SiteServer(site) as server:
        scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
        before = catalog_summary(db_path)
        path = "/docs/vbaws/guide/iam_permissions.html"
        server.faults[path] = lambda r: server.send(
            r, 200, b"<html><head><title>Attention Required!</title></head><body>blocked</body></html>",
            {"Content-Type": "text/html"})
        result = CliRunner().invoke(cli, ["scrape", "--db", str(db_path), "--base-url", server.base_url,
                                          "--url", path, "--rate", "50"])
    assert result.exit_code == 1
    assert ("failed: https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html: "
            "bot-check page instead of content") in result.output
    assert catalog_summary(db_path) == before
    last = Database(db_path).execute("select outcome, status, reason, snapshot from fetches where url = ? "
                                     "order by id desc limit 1", [f"https://helpcenter.veeam.com{path}"]).fetchone()
    assert last == ("failed", 200, "bot-check page instead of content", None)  # the bot check is not kept


def test_changed_page_becomes_a_new_version_and_reparse_rebuilds_offline(tmp_path):
    db_path = tmp_path / "live.db"
    site = load_site(SITE)
    with SiteServer(site) as server:
        scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
        key = "/docs/vbazure/guide/plugin_permissions.html"
        site[key] = site[key].replace("Microsoft.Compute/snapshots/write", "Microsoft.Compute/snapshots/read")
        report = scrape(db_path, config=config(server.base_url), since_last=True, products_toml=PRODUCTS)
    assert (report.fetched, report.new_versions) == (1, 1)
    rebuilt = tmp_path / "rebuilt.db"
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db_path), "--to", str(rebuilt)])
    assert result.exit_code == 0, result.output
    assert catalog_summary(rebuilt) == catalog_summary(db_path)
    assert Database(rebuilt)["page_versions"].count == Database(db_path)["page_versions"].count


def test_unknown_product_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["scrape", "--db", str(tmp_path / "x.db"), "--product", "vbxyz"])
    assert result.exit_code == 2
    assert "Error: unknown product vbxyz; known: vbaws, vbazure, vbgc, vbr, vbo365" in result.output


def test_the_fetch_loop_runs_with_fewer_collections_and_the_collector_is_restored(tmp_path):
    thresholds = []
    before = gc.get_threshold()
    with SiteServer(load_site(SITE)) as server:
        report = scrape(tmp_path / "c.db", config=config(server.base_url), products_toml=PRODUCTS,
                        progress=lambda _: thresholds.append(gc.get_threshold()[0]))
    assert report.fetched == 7
    assert set(thresholds) == {GC_YOUNG_THRESHOLD}
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, 0)


def test_reparse_refuses_a_snapshot_that_inflates_past_its_cap(tmp_path):
    db_path = tmp_path / "live.db"
    with SiteServer(load_site(SITE)) as server:
        scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
    db = Database(db_path)
    digest = db.execute("select snapshot from fetches where outcome = 'ok' order by id limit 1").fetchone()[0]
    bomb = zlib.compress(b" " * (MAX_SNAPSHOT_BYTES + 1), 1)  # ~25 KB stored, 24 MB inflated
    db.execute("update snapshots set body = ? where hash = ?", [bomb, digest])
    db.conn.commit()
    assert inflate(bomb) is None and inflate(b"not zlib") is None
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db_path), "--to", str(tmp_path / "re.db")])
    assert result.exit_code == 1, result.output  # the refused snapshot is a failed page
    assert (f"stored snapshot {digest} is corrupt or inflates past {MAX_SNAPSHOT_BYTES:,} bytes"
            in result.output)
