"""Source negotiation trusts a `.md` answer only when it is the Markdown of the page it was asked
for: a soft-404 in HTML, a login text or another page's Markdown, each served 200 `text/markdown`,
never flips a product to Markdown (which would make every later run trip the gate)."""

from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.fetch.client import FetchConfig
from pipeline.jobs.scrape import scrape
from tests.support.markdown_site import MarkdownSiteServer, build_markdown_site

SITE = Path(__file__).parent / "site"
PRODUCTS = (Path(__file__).resolve().parents[1] / "cassettes" / "site_products.toml").read_text()
SOFT_404 = "<!DOCTYPE html><html><head><title>Not found</title></head><body><h1>Page not found</h1></body></html>"
LOGIN = "Please sign in to continue.\n\n[Sign in](/login)\n"
NO_URL = '---\ntitle: "Not found"\n---\n\n# Not found\n'


def other_page(body: str) -> str:
    """The Markdown of some other page (its front matter names that page)."""
    return body.replace("source_url: \"https://helpcenter.veeam.com/docs/", "source_url: \"https://helpcenter.veeam.com/"
                        "docs/vbaws/guide/unrelated_page.html#", 1)


@pytest.mark.parametrize("answer", [lambda _: SOFT_404, lambda _: LOGIN, lambda _: NO_URL, other_page],
                         ids=["html-soft-404", "login-text", "front-matter-without-url", "another-page"])
def test_a_200_markdown_answer_that_is_not_the_pages_markdown_keeps_the_product_on_html(tmp_path, answer):
    site = build_markdown_site({p.name: p.read_text(encoding="utf-8") for p in sorted(SITE.glob("*.md"))})
    site.update({path: answer(body) for path, body in site.items() if path.split("?")[0].endswith(".md")})
    db_path = tmp_path / "c.db"
    with MarkdownSiteServer(site) as server:
        report = scrape(db_path, config=FetchConfig(base_url=server.base_url, per_host_per_second=100,
                                                    backoff=0.01), products_toml=PRODUCTS)
    assert report.failed == [] and report.sources == {"vbaws": "html", "vbazure": "html"}
    db = Database(db_path)
    assert {r["product"]: r["kind"] for r in db.query("select * from product_sources")} == {
        "vbaws": "html", "vbazure": "html"}
    assert {r[0] for r in db.execute("select distinct source_kind from fetches where outcome = 'ok'")} == {"html"}
    assert db.execute("select count(*) from page_versions").fetchone()[0] >= 6
