"""The products the scraper knows, joined with what a catalog holds about each."""

from __future__ import annotations

from sqlite_utils import Database

from catalog.analysis.queries import product_summaries
from pipeline.fetch.discover import load_products


def product_rows(db: Database | None = None) -> list[dict]:
    """One row per product: from products.toml, plus (with a catalog) those only it holds."""
    configured = {code: config.name for code, config in load_products().items()}
    rows = [{"product": code, "name": name} for code, name in configured.items()]
    if db is None:
        return rows
    names = {row["code"]: row["name"] for row in db.query("select code, name from products")}
    summaries = product_summaries(db)
    rows += [{"product": code, "name": names.get(code, code)}
             for code in sorted(summaries) if code not in configured]
    for row in rows:
        summary = summaries.get(row["product"], {})
        row.update(pages=summary.get("pages", 0), builds=summary.get("builds", 0),
                   latest=summary.get("latest_build") or _dated(summary),
                   last_change=(summary.get("last_change") or "-")[:10])
    return rows


def _dated(summary: dict) -> str:
    if summary.get("last_dated"):
        return f"dated {summary['last_dated']}"
    return "-"


def product_table(db: Database | None = None) -> str:
    rows = product_rows(db)
    columns = ["product", "name"] + (["pages", "builds", "latest", "last_change"] if db else [])
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(row[c]).ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
