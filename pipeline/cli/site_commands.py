"""Website commands: serve, publish, demo."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from pipeline.cli.common import UserError, db_option, existing_catalog

CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "scrape_site.yaml"
RECORDED_BASE = "http://127.0.0.1:8765"
DEMO_PRODUCTS = Path(__file__).resolve().parents[2] / "cassettes" / "site_products.toml"


def _port(_ctx, _param, value: int) -> int:
    if not 1 <= value <= 65535:
        raise UserError(f"--port {value}: not a TCP port (1 to 65535)")
    return value


def _snapshot(db_path: Path, folder: str) -> Path:
    """A consistent private copy of the catalog named catalog.db (the site's links expect that name)."""
    from catalog.storage.database import CatalogError, snapshot_catalog

    try:
        return snapshot_catalog(db_path, Path(folder) / "catalog.db")
    except CatalogError as error:
        raise UserError(str(error)) from error


def _require_free_port(host: str, port: int) -> None:
    from pipeline.jobs import website

    if problem := website.bind_problem(host, port):
        raise UserError(problem)


def _serve(db_path: Path, host: str, port: int) -> None:
    from pipeline.jobs.tempdirs import SITE_PREFIX, temporary_folder
    from pipeline.jobs.website import datasette_args, run_forwarding_signals

    _require_free_port(host, port)
    # A snapshot, not the file itself: a run writing the catalog meanwhile cannot tear what is served.
    # The folder is owned (swept if we are killed with -9) and removed when the server has stopped.
    with temporary_folder(SITE_PREFIX) as folder:
        args = datasette_args(_snapshot(db_path, str(folder)), host, port)
        click.echo(f"Serving a snapshot of {db_path} at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
        status = run_forwarding_signals([sys.executable, "-m", "datasette", *args])
    if status:
        sys.exit(status)


@click.command()
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int, callback=_port)
def serve(db_path, host, port):
    """Serve the catalog website locally with Datasette (read-only, immutable database).

    It serves a snapshot taken at start (SQLite backup API): restart it to show later runs.

    Example: veeam-perms serve --db catalog.db --port 8001
    """
    _serve(existing_catalog(db_path), host, port)


@click.command()
@db_option()
@click.option("--to", "target", required=True, type=click.Path(file_okay=False),
              help="An empty directory to write the deployable site into.")
@click.option("--base-url", default="https://example.invalid", show_default=True,
              help="Where the site will be served (for feed links).")
def publish(db_path, target, base_url):
    """Build what a host needs: database, site configuration, Dockerfile, pre-rendered feeds.

    Deploy the directory with any container host, or run `datasette publish` from it
    (see the README).

    Example: veeam-perms publish --db catalog.db --to build/site
    """
    from catalog.analysis.changelog import atom_feed, format_markdown
    from catalog.analysis.compare import changes_since, feed_changes
    from catalog.storage.database import open_catalog_readonly
    from catalog.storage.store import utc_now
    from pipeline.jobs.website import build_publish_dir

    with tempfile.TemporaryDirectory(prefix="veeam-perms-publish-") as folder:
        snapshot = _snapshot(existing_catalog(db_path), folder)
        db = open_catalog_readonly(snapshot)
        names = {row[0]: row[1] for row in db.execute("select code, name from products")}
        feeds, everything = {}, changes_since(db, "0000-01-01")
        for (code,) in db.execute("select distinct product from pages where product is not null").fetchall():
            feeds[code] = atom_feed(feed_changes(db, code), code, names.get(code, code),
                                    f"{base_url.rstrip('/')}/static/feeds/{code}.atom", utc_now())
        changelog = format_markdown(everything.changes, "Permission changes", names, everything.new_pages)
        db.close()
        try:
            files = build_publish_dir(snapshot, Path(target), feeds, changelog)
        except FileExistsError as error:
            raise UserError(str(error)) from error
    click.echo(f"wrote {len(files)} files under {target}; deploy with: docker build -t veeam-perms "
               f"{target} && docker run -p 8001:8001 veeam-perms")


@click.command()
@db_option("demo.db")
@click.option("--port", default=8001, show_default=True, type=int, callback=_port)
@click.option("--no-serve", is_flag=True, help="Build the catalog and stop.")
def demo(db_path, port, no_serve):
    """Build a catalog from the recorded pages in cassettes/ (no network) and serve it.

    Running it again reuses the catalog: the same recorded pages add no new versions.

    Example: veeam-perms demo --port 8001
    """
    import vcr

    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.scrape import scrape

    if not no_serve:
        _require_free_port("127.0.0.1", port)  # before building, not after
    # An existing catalog is kept: replaying the same pages into it changes nothing.
    recorder = vcr.VCR(record_mode="none", decode_compressed_response=True)
    with recorder.use_cassette(str(CASSETTE)):
        report = scrape(db_path, config=FetchConfig(base_url=RECORDED_BASE, per_host_per_second=100),
                        products_toml=DEMO_PRODUCTS.read_text(encoding="utf-8"))
    click.echo(report.summary())
    if not no_serve:
        _serve(Path(db_path), "127.0.0.1", port)
