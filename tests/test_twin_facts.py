"""A page read from Veeam's Markdown keeps what its HTML twin says: the build and the date.

Veeam's `.md` has no "applies to build" footer and a `dateModified` every page shares (an export
stamp); the HTML states both. Read from either source, the page is one version.
"""

from click.testing import CliRunner
from sqlite_utils import Database

from pipeline.cli.main import cli
from pipeline.fetch.client import FetchConfig
from pipeline.jobs.scrape import scrape
from pipeline.parse.page import parse_markdown_page, with_twin_facts
from pipeline.parse.sources import parse_page_text
from tests.support.markdown_site import MarkdownSiteServer
from tests.support.sitegen import ROBOTS, build_site

PATH = "/docs/vbazure/guide/twin_dated_permissions.html"
URL = "https://helpcenter.veeam.com" + PATH
ROLE = ('{ "permissions": [ { "actions": [ "Microsoft.ServiceBus/namespaces/read", '
        '"Microsoft.Compute/disks/read" ], "notActions": [] } ] }')
# The helpcenter page as the older dump converter wrote it: with the footer the HTML carries.
DUMP = f"""---
title: "twin_dated_permissions"
product: "vbazure"
source_url: "{URL}"
last_updated: "3/20/2026"
product_version: "8.0.1.202"
---

# Plug-in Role Permissions

The service account must have a role with the following permissions:

|  |
| --- |
| {ROLE} |

Page updated 3/20/2026

Page content applies to build 8.0.1.202
"""
# Veeam's own Markdown of the same page: no footer, an export stamp for a date.
VEEAM = f"""---
title: "Plug-in Role Permissions"
canonical: "{URL}"
dateModified: "2026-11-30T04:00:00Z"
---

# Plug-in Role Permissions

The service account must have a role with the following permissions:

```json
{ROLE}
```
"""


def site(with_markdown: bool = True) -> dict[str, str]:
    pages = build_site({"twin.md": DUMP})  # HTML: the front matter is gone, the footer dates the page
    if with_markdown:
        pages[PATH[: -len(".html")] + ".md"] = VEEAM
    pages["/robots.txt"] = ROBOTS
    return pages


def config(server) -> FetchConfig:
    return FetchConfig(base_url=server.base_url, per_host_per_second=100, backoff=0.01)


VERSIONS = "select v.build, v.last_updated, v.build_source from page_versions v order by v.id"


def test_the_markdown_alone_has_no_build_and_an_export_stamp_for_a_date():
    page = parse_page_text(VEEAM, "markdown", url=URL)
    assert (page.source_kind, page.build, str(page.last_updated)) == ("veeam-markdown", None, "2026-11-30")
    twin = parse_page_text(build_site({"twin.md": DUMP})[PATH], "html", url=URL)
    dated = with_twin_facts(page, twin)
    assert (dated.build, str(dated.last_updated), dated.build_source) == ("8.0.1.202", "2026-03-20", "page")
    assert dated.operations == page.operations  # only what the HTML says of the page changes
    dump = parse_markdown_page(DUMP)
    assert with_twin_facts(dump, twin) is dump  # a page that states its own build keeps it


def test_a_markdown_page_and_its_html_twin_give_one_version_with_the_htmls_build_and_date(tmp_path):
    db_path = tmp_path / "c.db"
    with MarkdownSiteServer(site()) as server:
        first = scrape(db_path, urls=[PATH], config=config(server))
        asked = [path for path, *_ in server.requests]
    assert first.failed == [] and first.sources == {"vbazure": "md"}
    assert PATH in asked and PATH.replace(".html", ".md") in asked  # the twin was read for its facts
    db = Database(db_path)
    assert db.execute(VERSIONS).fetchall() == [("8.0.1.202", "2026-03-20", "page")]
    kinds = [row[0] for row in db.execute("select source_kind from fetches order by id")]
    assert kinds == ["html-facts", "md"]
    # The same page read from its HTML (the .md gone) is the same version, not a new one.
    with MarkdownSiteServer(site(with_markdown=False)) as server:
        second = scrape(db_path, urls=[PATH], config=config(server))
    assert second.failed == [] and second.new_versions == 0
    assert db.execute(VERSIONS).fetchall() == [("8.0.1.202", "2026-03-20", "page")]
    # Reparse dates the stored .md by the stored twin the same way.
    rebuilt = tmp_path / "rebuilt.db"
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db_path), "--to", str(rebuilt)])
    assert result.exit_code == 0, result.output
    assert Database(rebuilt).execute(VERSIONS).fetchall() == [("8.0.1.202", "2026-03-20", "page")]


def test_an_unreadable_twin_leaves_the_page_for_the_next_run_rather_than_undated(tmp_path):
    db_path = tmp_path / "c.db"
    pages = site()

    def broken(handler):
        handler.send_response(503)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with MarkdownSiteServer(pages, faults={PATH: broken}) as server:
        report = scrape(db_path, urls=[PATH], config=config(server))
    assert [reason for _, reason in report.failed] == [
        f"{URL}: its HTML twin, which dates and builds it, could not be read (HTTP 503); asked again next run"]
    assert Database(db_path).execute("select count(*) from page_versions").fetchone() == (0,)


def test_a_page_read_from_its_html_first_stays_one_version_once_its_markdown_appears(tmp_path):
    db_path = tmp_path / "c.db"
    with MarkdownSiteServer(site(with_markdown=False)) as server:
        first = scrape(db_path, urls=[PATH], config=config(server))
    assert first.failed == [] and first.sources == {"vbazure": "html"}
    with Database(db_path).conn as conn:  # a week later, when `.md` is asked for again
        conn.execute("update product_sources set checked_at = '2000-01-01T00:00:00+00:00'")
    with MarkdownSiteServer(site()) as server:
        second = scrape(db_path, urls=[PATH], config=config(server))
    assert second.failed == [] and second.sources == {"vbazure": "md"} and second.new_versions == 0
    db = Database(db_path)
    assert db.execute(VERSIONS).fetchall() == [("8.0.1.202", "2026-03-20", "page")]
    assert [row[0] for row in db.execute("select source_kind from fetches order by id")] == ["html", "html-facts",
                                                                                            "md"]
