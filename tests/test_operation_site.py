"""Issue 13 on the website: an operation's section and lead-in, and a page's warnings, are shown."""

from pathlib import Path

import pytest

from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from pipeline.jobs.website import make_datasette
from pipeline.parse.page import parse_markdown_page

pytestmark = pytest.mark.anyio
PAGES = Path(__file__).parent / "pages"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("site13") / "c.db"
    db = open_catalog(db_path)
    writer = CatalogWriter(db, "dir", "fixtures")
    with writer.run():
        for name in ("16_operation_identity.md", "18_content_lost.md"):
            writer.save_page(parse_markdown_page((PAGES / name).read_text()),
                             Observation("2026-02-03T00:00:00+00:00", "dir", "fixtures"))
    db.close()
    return db_path


async def test_operation_page_shows_section_description_and_page_warnings(catalog):
    db = open_catalog(catalog)
    archive, lost = (db.execute("select id from operations where key = ?", [key]).fetchone()[0]
                     for key in ("archive storage › amazon s3", "worker network"))
    db.close()
    client = make_datasette(catalog).client
    page = (await client.get(f"/operations/{archive}")).text
    assert "› Archive Storage › Amazon S3" in page
    assert "If you plan to keep backups in such a bucket" in page
    warned = (await client.get(f"/operations/{lost}")).text
    assert "5 parse warnings on this page version" in warned
    assert "content-lost: the block is unbalanced (+1 &#39;{&#39; left open)" in warned


async def test_product_page_shows_sections_and_warnings_of_current_pages(catalog):
    client = make_datasette(catalog).client
    page = (await client.get("/products/vbazure")).text
    assert "5 parse warnings on current pages" in page and "Worker Network" in page
    vbr = (await client.get("/products/vbr")).text
    # each row says where it sits (less its own heading, for the block named after it) and what it is for
    assert vbr.count('<td class="section">Archive Storage › Archiver Appliance</td>') == 3
    own_heading = vbr[vbr.index('>Archiver Appliance</a>'):]
    assert own_heading.index("To allow the archiver appliance to upload archived backup chains") \
        < own_heading.index('<td class="section">Archive Storage</td>') < own_heading.index("</tr>")
