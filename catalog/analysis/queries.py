"""Read-only questions the catalog answers (used by the CLI, tests and the website)."""

from __future__ import annotations

from sqlite_utils import Database

from catalog.analysis.policy import permission_pages
from catalog.model import CONTENT_LOST_LIKE
from catalog.storage.views import FIRST_BUILD_NEEDING


def builds_in_order(db: Database, product: str) -> list[str]:
    return [row[0] for row in db.execute(
        "select build from releases where product = ? order by sort_key", [product])]


def first_required(db: Database, permission: str) -> list[dict]:
    """Per page family, the first build at which one of its operations required a permission, the
    operations that did and when the catalog first saw that (the canned query `first_build_needing`)."""
    return [dict(row) for row in db.query(FIRST_BUILD_NEEDING, {"permission": permission})]


def operations_as_of(db: Database, page_url: str, when: str) -> list[dict]:
    """The operations of a page in the version current at `when` (an ISO date or timestamp)."""
    sql = """
    select o.position, o.title, o.kind, v.build, v.id as page_version,
           count(distinct g.permission) as permissions
    from page_versions v
    join pages p on p.id = v.page
    join operations o on o.page_version = v.id
    left join grants g on g.operation = o.id
    where p.canonical_url = ? and v.id = (
        select id from page_versions where page = p.id and _first_seen <= ?
        order by _first_seen desc, id desc limit 1)
    group by o.id order by o.position
    """
    return [dict(row) for row in db.query(sql, [page_url, _end_of_day(when)])]


def _end_of_day(when: str) -> str:
    return when + "T23:59:59+00:00" if len(when) == 10 else when


PRODUCT_SUMMARY = """
select p.product, count(distinct p.id) as pages, count(v.id) as page_versions,
       count(distinct v.build) as builds, max(v._first_seen) as last_change,
       min(v.last_updated) as first_dated, max(v.last_updated) as last_dated,
       (select r.build from releases r where r.product = p.product order by r.sort_key desc limit 1)
           as latest_build
from pages p left join page_versions v on v.page = p.id
group by p.product
"""


def product_summaries(db: Database) -> dict[str, dict]:
    """Per product in the catalog: pages, versions, builds, latest build, last change and the
    span of page dates (the version axis of products without builds)."""
    return {row["product"]: dict(row) for row in db.query(PRODUCT_SUMMARY)}


def catalog_stats(db: Database) -> str:
    lines = []
    summaries = product_summaries(db)
    for product, name in db.execute("select code, name from products order by code"):
        summary = summaries.get(product)
        if not summary:
            continue
        builds = db.execute("select count(*), group_concat(build, ', ') from (select build from "
                            "releases where product = ? order by sort_key)", [product]).fetchone()
        if builds[0]:
            axis = f"{builds[0]} build{'' if builds[0] == 1 else 's'}: {builds[1]}"
        else:  # a product without builds (a service): its versions are dated
            axis = f"no builds, dated {summary['first_dated'] or '-'} .. {summary['last_dated'] or '-'}"
        # "permission pages" as the home and product pages count them; pages kept for mentions or
        # lost content only are tracked too
        pages = permission_pages(db, product)
        tracked = f" ({summary['pages']} pages tracked)" if summary["pages"] != pages else ""
        lines.append(f"{product} ({name}): {pages} permission pages{tracked}, "
                     f"{summary['page_versions']} page versions, {axis}")
    totals = {table: db[table].count for table in
              ("pages", "page_versions", "operations", "permissions", "grants", "mentions",
               "warnings", "anomalies", "runs")}
    lines.append("totals: " + ", ".join(f"{name} {count}" for name, count in totals.items()))
    lines += warnings_per_page(db)
    last = db.execute("select source, source_ref, finished, status from runs where finished is not "
                      "null order by id desc limit 1").fetchone()
    if last:
        lines.append(f"last run: {last[0]} {last[1]} finished {last[2]} ({last[3]})")
    return "\n".join(lines)


def warnings_per_page(db: Database) -> list[str]:
    """One line per current page version with parse warnings, lost content counted apart."""
    rows = db.execute(
        "select p.canonical_url, count(w.id), sum(w.message like ?) from pages p "
        "join warnings w on w.page_version = p.current_version where p._removed_at is null "
        "group by p.id order by p.canonical_url", [CONTENT_LOST_LIKE]).fetchall()
    if not rows:
        return ["warnings per page: none"]
    lost = sum(row[2] for row in rows)
    lines = [f"warnings per page ({sum(row[1] for row in rows)} on {len(rows)} current pages, "
             f"{lost} content-lost):"]
    lines += [f"  {url}: {count}" + (f" ({lost_here} content-lost)" if lost_here else "")
              for url, count, lost_here in rows]
    return lines
