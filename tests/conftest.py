import pytest


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true",
                     help="Rewrite tests/expected/*.json from the current parser output.")


@pytest.fixture
def regen_golden(request):
    return request.config.getoption("--regen-golden")


@pytest.fixture(scope="session")
def real_catalog(tmp_path_factory):
    """The four real bundles and the GCP pages ingested once per test session (needs ../shared)."""
    from pipeline.jobs.ingest import ingest

    from corpus import BUNDLES, GCP_DOCS, need

    db_path = tmp_path_factory.mktemp("real") / "catalog.db"
    for bundle in BUNDLES.values():
        report = ingest(db_path, need(bundle))
        assert not report.failures, report.failures
    ingest(db_path, need(GCP_DOCS))
    return db_path


def table_counts(db_path):
    from sqlite_utils import Database

    db = Database(db_path)
    # Full-text index shadow tables are left out: their segment rows move with any update.
    counts = {name: db[name].count for name in db.table_names() if "_fts" not in name}
    db.close()
    return counts


@pytest.fixture(scope="module")
def vcr_cassette_dir():
    from pathlib import Path

    return str(Path(__file__).resolve().parents[1] / "cassettes")


@pytest.fixture(scope="module")
def vcr_config():
    # pytest-recording replays only ("none") unless --record-mode is given: a request the
    # cassette lacks fails the test.
    return {"decode_compressed_response": True}


@pytest.fixture(scope="session")
def site_catalog(tmp_path_factory):
    """The catalog `veeam-perms demo` builds (scraped from the recorded cassette), plus a page
    whose title carries a script tag."""
    from pathlib import Path

    import vcr

    from catalog.storage.database import open_catalog
    from catalog.storage.store import CatalogWriter, Observation
    from pipeline.cli.site_commands import CASSETTE, DEMO_PRODUCTS, RECORDED_BASE
    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.scrape import scrape
    from pipeline.parse.page import parse_markdown_page

    db_path = tmp_path_factory.mktemp("site") / "site.db"
    with vcr.VCR(record_mode="none").use_cassette(str(CASSETTE)):
        report = scrape(db_path, config=FetchConfig(base_url=RECORDED_BASE, per_host_per_second=100),
                        products_toml=DEMO_PRODUCTS.read_text())
    assert report.failed == []
    db = open_catalog(db_path)
    writer = CatalogWriter(db, "dir", "hostile")
    hostile = Path(__file__).parent / "catalog_pages" / "hostile_title.md"
    with writer.run():
        writer.save_page(parse_markdown_page(hostile.read_text()),
                         Observation("2026-01-22T00:00:00+00:00", "dir", "hostile"))
    db.close()
    return db_path


@pytest.fixture(scope="module")
def anyio_backend():
    # Datasette's test client runs on asyncio; one backend keeps module-scoped clients valid.
    return "asyncio"


@pytest.fixture(scope="module")
def client(site_catalog):
    """Datasette's in-process client on the demo catalog; a test module may define its own."""
    from pipeline.jobs.website import make_datasette

    return make_datasette(site_catalog).client
