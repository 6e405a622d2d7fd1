"""A page whose helpcenter address moves (a plug-in guide moved under another product's guide) keeps
its product and its history: by redirect, or by a `moved` pair in products.toml."""

from sqlite_utils import Database

from pipeline.fetch.client import FetchConfig
from pipeline.fetch.discover import ConfigError, load_products
from pipeline.jobs.scrape import scrape
from tests.support.sitegen import ROBOTS, SiteServer, build_site

OLD = "/docs/vbaws/guide/fixture_plugin_permissions.html"
NEW = "/docs/vbr/userguide/aws_fixture_plugin_permissions.html"


def page(path: str, actions: list[str], build: str) -> str:
    names = ", ".join(f'"{action}"' for action in actions)
    return f"""---
title: "Plug-in Permissions"
source_url: "https://helpcenter.veeam.com{path}"
last_updated: "1/20/2026"
product_version: "{build}"
---

# Plug-in Permissions

The IAM role must be granted the following permissions:

|  |
| --- |
| {{ "Version": "2012-10-17", "Statement": [ {{ "Effect": "Allow", "Action": [ {names} ], "Resource": "\\*" }} ] }} |
"""


BEFORE = build_site({"old.md": page(OLD, ["ec2:DescribeInstances"], "12.0.0.10")})
AFTER = build_site({"new.md": page(NEW, ["ec2:DescribeInstances", "ec2:CreateSnapshot"], "13.1.0.5")})
PRODUCTS = """
[defaults]
follow = "(?i)permission"
max_pages = 10

[products.vbaws]
name = "Veeam Backup for AWS"
entry = ["%s"]
%s
"""


def config(server) -> FetchConfig:
    return FetchConfig(base_url=server.base_url, per_host_per_second=100, backoff=0.01)


HISTORY = ("select p.canonical_url, p.product, v.build, v.operation_count, v.permission_count from pages p "
           "join page_versions v on v.page = p.id order by v.id")


def test_a_moved_page_named_in_products_toml_continues_its_history(tmp_path):
    db_path = tmp_path / "c.db"
    with SiteServer({**BEFORE, "/robots.txt": ROBOTS}) as server:
        scrape(db_path, products=["vbaws"], config=config(server), products_toml=PRODUCTS % (OLD, ""))
    moved = PRODUCTS % (OLD, f'[products.vbaws.moved]\n"{NEW}" = "{OLD}"')
    with SiteServer({**AFTER, "/robots.txt": ROBOTS}) as server:  # the old address is gone (404)
        report = scrape(db_path, products=["vbaws"], config=config(server), products_toml=moved)
        asked = [path for path, *_ in server.requests]
    assert report.failed == [] and NEW in asked and OLD not in asked
    assert Database(db_path).execute(HISTORY).fetchall() == [
        ("https://helpcenter.veeam.com" + OLD, "vbaws", "12.0.0.10", 1, 1),
        ("https://helpcenter.veeam.com" + OLD, "vbaws", "13.1.0.5", 1, 2)]
    fetched = Database(db_path).execute("select fetched_url from fetches where outcome = 'ok' order by id").fetchall()
    assert fetched[-1][0].endswith(NEW)  # where it was read from is kept with the fetch
    # --since-last asks the page at its new address.
    with SiteServer({**AFTER, "/robots.txt": ROBOTS}) as server:
        again = scrape(db_path, products=["vbaws"], since_last=True, config=config(server), products_toml=moved)
        asked = [path for path, *_ in server.requests]
    assert again.failed == [] and NEW in asked and OLD not in asked


def test_a_redirected_page_keeps_the_address_its_history_has(tmp_path):
    db_path = tmp_path / "c.db"
    with SiteServer({**BEFORE, "/robots.txt": ROBOTS}) as server:
        scrape(db_path, products=["vbaws"], config=config(server), products_toml=PRODUCTS % (OLD, ""))

    def redirect(handler):
        handler.send_response(301)
        handler.send_header("Location", NEW)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with SiteServer({**AFTER, "/robots.txt": ROBOTS}, faults={OLD: redirect}) as server:
        report = scrape(db_path, products=["vbaws"], config=config(server), products_toml=PRODUCTS % (OLD, ""))
    assert report.failed == []
    assert [row[2] for row in Database(db_path).execute(HISTORY).fetchall()] == ["12.0.0.10", "13.1.0.5"]
    assert {row[0] for row in Database(db_path).execute(HISTORY).fetchall()} == {"https://helpcenter.veeam.com" + OLD}


def test_a_moved_entry_must_map_a_page_path_to_a_page_path():
    bad = PRODUCTS % (OLD, '[products.vbaws.moved]\n"/elsewhere" = "/docs/vbaws/guide/x.html"')
    try:
        load_products(bad)
    except ConfigError as error:
        assert str(error) == ("products.toml: [products.vbaws.moved]: each entry maps a page's new path to its old "
                              "one, both /docs/....html")
    else:
        raise AssertionError("accepted")


def test_a_moved_page_served_as_veeam_markdown_is_read_from_its_markdown(tmp_path):
    """The `.md` at the new address names the new address: it is that page's Markdown, not a stranger."""
    from pipeline.parse.markdown_frontend import parse_markdown_blocks
    from tests.support.render_veeam_markdown import render_veeam_markdown

    db_path = tmp_path / "c.db"
    with SiteServer({**BEFORE, "/robots.txt": ROBOTS}) as server:
        scrape(db_path, products=["vbaws"], config=config(server), products_toml=PRODUCTS % (OLD, ""))
    markdown = render_veeam_markdown(parse_markdown_blocks(page(NEW, ["ec2:DescribeInstances", "ec2:CreateSnapshot"],
                                                                "13.1.0.5")))
    served = {**AFTER, NEW.removesuffix(".html") + ".md": markdown, "/robots.txt": ROBOTS}
    moved = PRODUCTS % (OLD, f'[products.vbaws.moved]\n"{NEW}" = "{OLD}"')
    with SiteServer(served) as server:
        report = scrape(db_path, products=["vbaws"], config=config(server), products_toml=moved)
    assert report.failed == []
    assert Database(db_path).execute(HISTORY).fetchall()[-1] == ("https://helpcenter.veeam.com" + OLD, "vbaws",
                                                                 "13.1.0.5", 1, 2)
    read = Database(db_path).execute("select source_kind, fetched_url from fetches where outcome = 'ok' and "
                                     "run = (select max(id) from runs) order by source_kind").fetchall()
    # its Markdown, and its HTML twin asked for the build and date
    assert [(kind, url.removeprefix(server.base_url)) for kind, url in read] == [
        ("html-facts", NEW), ("md", NEW.removesuffix(".html") + ".md")]
