"""Diff commands: diff, upgrade, changelog."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.common import (
    UserError,
    db_option,
    folder_option,
    open_existing,
    product_code,
    write_text_option,
)


def _products(db) -> dict[str, str]:
    return {row[0]: row[1] for row in db.execute("select code, name from products")}


@click.command()
@db_option()
@click.option("--product", callback=product_code,
              help="Product code (vbaws, vbazure, vbgc, vbr, vbo365).")
@click.option("--from", "from_", help="Build, YYYY-MM-DD date, 'latest' or 'previous'.")
@click.option("--to", help="Build, YYYY-MM-DD date, 'latest' or 'previous'.")
@click.option("--page", help="One page's history instead of a product comparison (its URL).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
def diff(db_path, product, from_, to, page, fmt):
    """Permission changes between two builds or dates of a product, or along one page's history.

    Without --from and --to: the product's last change (a build change or a correction), as
    the website's /changes/<product> shows it. Products whose pages state no build take dates.

    \b
    Examples:
      veeam-perms diff --product vbr --from 13.0.1.1071 --to latest
      veeam-perms diff --product vdc --from 2026-02-01 --to 2026-04-01
      veeam-perms diff --page https://helpcenter.veeam.com/docs/vbazure/guide/plugin_permissions.html
    """
    from catalog.analysis.changelog import format_json, format_markdown, format_text
    from catalog.analysis.compare import CompareError
    from catalog.analysis.questions import changes_between, page_changes

    db = open_existing(db_path)
    try:
        if page:
            if product or from_ or to:
                raise click.UsageError("--page takes no --product, --from or --to")
            answer, title = page_changes(db, page), f"Permission history of {page}"
        else:
            if not product:
                raise click.UsageError("give --product (with --from and --to, or neither), or --page")
            answer = changes_between(db, product, from_, to)
            title = (f"{product}: permission changes from {answer['from']} ({answer['from_point']}) "
                     f"to {answer['to']} ({answer['to_point']})")
    except CompareError as error:
        raise UserError(str(error)) from error
    changes = answer["changes"]
    if fmt == "json":
        click.echo(format_json(changes))
    elif fmt == "markdown":
        click.echo(format_markdown(changes, title, _products(db)))
    else:
        click.echo(format_text(changes))
        click.echo(f"{answer['pages_compared']} page versions compared, {len(changes)} changes, "
                   f"{answer['metadata_only']} without permission changes", err=True)


@click.command()
@db_option()
@click.option("--product", callback=product_code, required=True, help="Product code, e.g. vbr.")
@click.option("--from", "from_", help="The build or date you run now (default: previous).")
@click.option("--to", help="The build or date you upgrade to (default: latest).")
@click.option("--operation", "operations", multiple=True,
              help="Only operations whose \"Section › Title\" contains this text (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def upgrade(db_path, product, from_, to, operations, fmt, as_json):
    """What to grant and what may be revoked when upgrading; risky additions first.

    The same answer as the website's /upgrade/<product> page and its .json twin.

    Example: veeam-perms upgrade --product vbr --from 13.0.1.1071 --to latest --format json
    """
    from catalog.analysis.compare import CompareError
    from catalog.analysis.questions import upgrade as upgrade_answer
    from catalog.analysis.upgrade import format_upgrade

    db = open_existing(db_path)
    try:
        delta = upgrade_answer(db, product, from_, to, tuple(operations))
    except (CompareError, ValueError) as error:
        raise UserError(str(error)) from error
    json_out = as_json or fmt == "json"
    click.echo(json.dumps(delta.as_json(), indent=2, ensure_ascii=False) if json_out else format_upgrade(delta))


@click.command()
@db_option()
@click.option("--since", required=True, help="YYYY-MM-DD: list versions first seen on or after it.")
@click.option("--product", callback=product_code, help="Only this product.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the Markdown to a file.")
@click.option("--feed-dir", type=click.Path(file_okay=False),
              help="Also write one Atom feed per product (<product>.atom) into this directory.")
@click.option("--base-url", default="https://example.invalid/veeam-perms/feeds", show_default=True,
              help="Where the feeds will be served (feed ids and self links).")
def changelog(db_path, since, product, output, feed_dir, base_url):
    """A Markdown changelog grouped by product, build and page, and Atom feeds.

    Example: veeam-perms changelog --db catalog.db --since 2026-03-01 --feed-dir feeds/
    """
    import datetime as dt

    from catalog.analysis.changelog import atom_feed, format_markdown
    from catalog.analysis.compare import CompareError, changes_since, require_product
    from catalog.paths import require_product_code
    from catalog.storage.store import utc_now

    try:
        dt.date.fromisoformat(since)
    except ValueError as error:
        raise UserError(f"--since {since!r} is not a YYYY-MM-DD date") from error
    db = open_existing(db_path)
    if feed_dir:
        folder_option(feed_dir, "--feed-dir")  # before any output: a bad folder fails alone
    if product:
        try:
            require_product(db, product)
        except CompareError as error:
            raise UserError(str(error)) from error
    result = changes_since(db, since, product)
    names = _products(db)
    text = format_markdown(result.changes, f"Permission changes since {since}", names,
                           result.new_pages)
    if output:
        write_text_option(output, text + "\n", "--output")
    else:
        click.echo(text)
    if feed_dir:
        from catalog.analysis.changelog import product_of

        products = sorted({product_of(c.page) for c in result.changes} | ({product} if product else set()))
        for code in products:
            require_product_code(code)  # it names the feed file
            own = [c for c in result.changes if product_of(c.page) == code]
            feed = atom_feed(own, code, names.get(code, code), f"{base_url}/{code}.atom", utc_now())
            write_text_option(Path(feed_dir) / f"{code}.atom", feed, "--feed-dir")
