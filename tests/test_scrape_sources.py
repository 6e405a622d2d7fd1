"""Source negotiation (`.md` twin or `.html`), sitemaps with lastmod, and reparse of both kinds."""

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from pipeline.cli.main import cli
from pipeline.fetch.client import FetchConfig
from pipeline.fetch.sitemap import SitemapError, parse_sitemap
from pipeline.jobs.scrape import scrape
from tests.support.markdown_site import MarkdownSiteServer, build_markdown_site, twin_path
from tests.support.sitegen import SiteServer, load_site

SITE = Path(__file__).parent / "site"
PRODUCTS = (Path(__file__).resolve().parents[1] / "cassettes" / "site_products.toml").read_text()
ORPHAN_PATH = "/docs/vbaws/guide/orphan_permissions.html"
POLICY = ('{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": [ '
          '"ec2:DescribeSnapshots", "ec2:DescribeVolumes" ], "Resource": "\\*" } ] }')
ORPHAN = f"""---
title: "Orphan Permissions"
product: "vbaws"
source_url: "https://helpcenter.veeam.com{ORPHAN_PATH}"
last_updated: "1/20/2026"
product_version: "10.0.0.232"
---

# Orphan Permissions

The IAM role must be granted the following permissions:

|  |
| --- |
| {POLICY} |
"""


def authored() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SITE.glob("*.md"))}


def config(base_url):
    return FetchConfig(base_url=base_url, per_host_per_second=100, backoff=0.01)


def run(db_path, server):
    start = len(server.requests)
    report = scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS)
    return report, [path for path, *_ in server.requests[start:]]


def test_md_twins_are_fetched_and_the_sitemap_finds_an_unlinked_page(tmp_path):
    db_path = tmp_path / "c.db"
    site = build_markdown_site(authored(), unlinked={"orphan.md": ORPHAN})
    with MarkdownSiteServer(site) as server:
        report, paths = run(db_path, server)
    assert report.failed == [] and report.sources == {"vbaws": "md", "vbazure": "md"}
    assert not [path for path in paths if path.endswith(".html")]
    assert twin_path(ORPHAN_PATH) in paths
    db = Database(db_path)
    kinds = {row["url"]: row["source_kind"] for row in db.query("select url, source_kind from fetches")}
    assert set(kinds.values()) == {"md"}
    assert kinds["https://helpcenter.veeam.com" + ORPHAN_PATH] == "md"
    orphan = db.execute("select v.operation_count from pages p join page_versions v on v.id = p.current_version "
                        "where p.canonical_url = ?", ["https://helpcenter.veeam.com" + ORPHAN_PATH]).fetchone()
    assert orphan == (1,)
    assert report.sitemap_pages == 6 and report.requests == len(paths)


def test_a_second_run_asks_nothing_for_pages_whose_lastmod_did_not_change(tmp_path):
    db_path = tmp_path / "c.db"
    site = build_markdown_site(authored(), unlinked={"orphan.md": ORPHAN})
    with MarkdownSiteServer(site) as server:
        first, _ = run(db_path, server)
        second, paths = run(db_path, server)
        changed = build_markdown_site(
            {**authored(), "vbazure_plugin_permissions.md": authored()["vbazure_plugin_permissions.md"].replace(
                "Microsoft.Compute/snapshots/write", "Microsoft.Compute/snapshots/read")},
            unlinked={"orphan.md": ORPHAN},
            lastmods={"/docs/vbazure/guide/plugin_permissions.html": "2026-02-01"})
        server.site.clear()
        server.site.update(changed)
        third, third_paths = run(db_path, server)
    assert paths == ["/robots.txt", "/docs/vbaws/guide/sitemap.xml", "/docs/vbazure/guide/sitemap.xml"]
    assert (second.fetched, second.unchanged, second.skipped_by_lastmod, second.requests) == (0, 0, 6, 3)
    assert "pages fetched 0, unchanged 0, skipped by lastmod 6" in second.summary()
    assert "requests 3; sitemap pages 6; sources vbaws md, vbazure md" in second.summary()
    assert [p for p in third_paths if not p.endswith((".txt", ".xml"))] == [
        "/docs/vbazure/guide/plugin_permissions.md"]
    assert (third.fetched, third.new_versions, third.skipped_by_lastmod) == (1, 1, 5)
    assert first.new_versions == 5  # the four current permission pages and the orphan


def test_a_product_without_md_twins_falls_back_to_html_and_remembers_it(tmp_path):
    db_path = tmp_path / "c.db"
    with SiteServer(load_site(SITE)) as server:
        first, first_paths = run(db_path, server)
        second, second_paths = run(db_path, server)
    assert first.sources == {"vbaws": "html", "vbazure": "html"} and first.fetched == 7
    assert [p for p in first_paths if p.endswith(".md")] == [
        "/docs/vbaws/guide/iam_permissions.md", "/docs/vbazure/guide/plugin_permissions.md"]
    assert [p for p in second_paths if p.endswith(".md")] == []
    assert second.unchanged == 7


def test_an_html_answer_to_an_md_request_is_not_markdown(tmp_path):
    site = load_site(SITE)
    site.update({twin_path(p): body for p, body in site.items() if p.endswith(".html") or ".html?" in p})
    with SiteServer(site) as server:
        report, _ = run(tmp_path / "c.db", server)
    assert report.sources == {"vbaws": "html", "vbazure": "html"} and report.fetched == 7


def test_reparse_reads_markdown_and_html_snapshots(tmp_path):
    db_path = tmp_path / "c.db"
    pages = authored()
    site = build_markdown_site({k: v for k, v in pages.items() if k.startswith("vbaws")})
    site.update({p: body for p, body in load_site(SITE).items() if "vbazure" in p})
    with MarkdownSiteServer(site) as server:
        report, _ = run(db_path, server)
    assert report.sources == {"vbaws": "md", "vbazure": "html"}
    rebuilt = tmp_path / "rebuilt.db"
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db_path), "--to", str(rebuilt)])
    assert result.exit_code == 0, result.output
    query = ("select p.canonical_url, v.build, v.operation_count from pages p "
             "join page_versions v on v.id = p.current_version order by 1")
    assert list(Database(rebuilt).query(query)) == list(Database(db_path).query(query))
    assert {r[0] for r in Database(rebuilt).execute("select distinct source_kind from fetches")} == {"md", "html"}


def test_sitemaps_map_the_public_host_onto_the_base_and_ignore_other_hosts():
    body = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://helpcenter.veeam.com/docs/vbaws/guide/a.html</loc><lastmod>2026-01-02</lastmod></url>"
            b"<url><loc>https://helpcenter.veeam.com/docs/vbaws/guide/b.md</loc></url>"
            b"<url><loc>https://elsewhere.example/docs/vbaws/guide/c.html</loc></url></urlset>")
    assert parse_sitemap(body, "http://127.0.0.1:9", {"helpcenter.veeam.com"}) == {
        "http://127.0.0.1:9/docs/vbaws/guide/a.html": "2026-01-02",
        "http://127.0.0.1:9/docs/vbaws/guide/b.html": None}


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><urlset><url><loc>https://helpcenter.veeam.com/&c;</loc></url></urlset>',
    b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<urlset><url><loc>https://helpcenter.veeam.com/docs/vbaws/guide/&x;.html</loc></url></urlset>",
])
def test_sitemap_entities_are_never_expanded(body):
    try:
        found = parse_sitemap(body, "https://helpcenter.veeam.com", {"helpcenter.veeam.com"})
    except SitemapError:
        return
    assert not any("aaaa" in url or "root:" in url for url in found)


def test_a_sitemap_that_is_not_a_urlset_is_refused():
    with pytest.raises(SitemapError, match="not a sitemap <urlset> but <html>"):
        parse_sitemap(b"<html><body>hi</body></html>", "https://helpcenter.veeam.com", set())


def test_a_since_last_run_also_skips_pages_by_lastmod(tmp_path):
    db_path = tmp_path / "c.db"
    site = build_markdown_site(authored())
    with MarkdownSiteServer(site) as server:
        run(db_path, server)
        start = len(server.requests)
        report = scrape(db_path, config=config(server.base_url), products_toml=PRODUCTS, since_last=True)
        paths = [path for path, *_ in server.requests[start:]]
    assert paths == ["/robots.txt", "/docs/vbaws/guide/sitemap.xml", "/docs/vbazure/guide/sitemap.xml"]
    assert (report.fetched, report.skipped_by_lastmod) == (0, 4)


def test_a_remembered_source_is_asked_again_after_a_week(tmp_path):
    db_path = tmp_path / "c.db"
    with SiteServer(load_site(SITE)) as server:
        run(db_path, server)
        db = Database(db_path)
        assert {r["product"]: r["kind"] for r in db.query("select * from product_sources")} == {
            "vbaws": "html", "vbazure": "html"}
        db.execute("update product_sources set checked_at = '2000-01-01T00:00:00+00:00' where product = 'vbaws'")
        db.conn.commit()
        _, paths = run(db_path, server)
    assert [p for p in paths if p.endswith(".md")] == ["/docs/vbaws/guide/iam_permissions.md"]


def test_a_page_skipped_by_lastmod_is_asked_again_after_a_week(tmp_path):
    db_path = tmp_path / "c.db"
    with MarkdownSiteServer(build_markdown_site(authored())) as server:
        run(db_path, server)
        db = Database(db_path)
        db.execute("update fetches set fetched_at = '2000-01-01T00:00:00+00:00' where url = ?",
                   ["https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html"])
        db.conn.commit()
        report, paths = run(db_path, server)
    assert [p for p in paths if p.endswith(".md")] == ["/docs/vbaws/guide/iam_permissions.md"]
    assert (report.unchanged, report.skipped_by_lastmod) == (1, 4)


def test_after_a_clean_md_404_the_other_pages_do_not_wait_for_the_first_pages_html(tmp_path):
    site = load_site(SITE)
    paths = sorted(p for p in site if p.startswith("/docs/vbaws/") and p.endswith(".html"))
    first, others = paths[0], set(paths[1:])
    with SiteServer(site) as server:
        def answer_once_the_others_are_in(handler):
            deadline = time.monotonic() + 10
            while not others <= {path for path, *_ in server.requests} and time.monotonic() < deadline:
                time.sleep(0.02)
            server.answer(handler)

        server.faults[first] = answer_once_the_others_are_in
        start = time.monotonic()
        report = scrape(tmp_path / "c.db", urls=paths, config=config(server.base_url))
        seconds = time.monotonic() - start
        order = [path for path, *_ in server.requests if path.startswith("/docs/")]
    assert report.sources == {"vbaws": "html"} and report.fetched == len(paths)
    assert order[0] == first.removesuffix(".html") + ".md"  # the product's one probe
    assert order[-1] == first  # answered last: nobody waited for it
    assert seconds < 8


def test_after_a_5xx_md_answer_the_other_pages_wait_for_the_first_pages_html(tmp_path):
    site = load_site(SITE)
    paths = sorted(p for p in site if p.startswith("/docs/vbaws/") and p.endswith(".html"))
    twin = paths[0].removesuffix(".html") + ".md"
    with SiteServer(site) as server:
        def answer_slowly(handler):
            time.sleep(0.5)  # a page that did not wait would be answered (and recorded) first
            server.answer(handler)

        server.faults[twin] = lambda handler: server.send(handler, 503, b"busy")
        server.faults[paths[0]] = answer_slowly
        report = scrape(tmp_path / "c.db", urls=paths,
                        config=FetchConfig(base_url=server.base_url, per_host_per_second=100,
                                           backoff=0.01, retries=0))
        order = [path for path, *_ in server.requests if path.startswith("/docs/")]
    assert report.sources == {"vbaws": "html"} and report.fetched == len(paths)
    assert report.decided_sources == {}  # a 503 settles nothing: asked again next run
    assert order[:2] == [twin, paths[0]]  # a struggling host: one page at a time until it answers


def test_reparse_of_snapshots_that_all_fail_reports_them_and_keeps_its_run(tmp_path):
    from catalog.storage.database import open_catalog
    from catalog.storage.snapshots import FetchRecord, save_fetch

    source = tmp_path / "s.db"
    db = open_catalog(source)
    with db.atomic():
        save_fetch(db, None, FetchRecord("https://helpcenter.veeam.com/docs/vbaws/guide/x.html", "u", "ok", 200,
                                         None, 1, {}, "2026-01-01", b"\x00binary", "html"))
    db.close()
    result = CliRunner().invoke(cli, ["reparse", "--db", str(source), "--to", str(tmp_path / "t.db")])
    assert result.exit_code == 1, result.output
    assert "failed: https://helpcenter.veeam.com/docs/vbaws/guide/x.html: binary content (NUL bytes), not a page" \
        in result.output
    assert Database(tmp_path / "t.db").execute("select count(*) from fetches").fetchone() == (1,)
