"""What the website's custom pages show, as plain data over a catalog connection.

Kept out of the Datasette plugin so it can be tested and reused without a server. Every
question goes through `catalog.analysis.questions` / the question views, so a page, its
`.json` twin and the CLI give one answer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from itertools import groupby

from sqlite_utils import Database

from catalog.analysis import questions
from catalog.analysis.compare import change_events, compare_product, last_change, product_builds, resolve
from catalog.analysis.policy import operations_at, permission_pages, trust_document
from catalog.analysis.policy_docs import parts_of
from catalog.model import CONTENT_LOST_LIKE, SECTION_SEPARATOR
from catalog.storage.views import PAGE_TITLE

PAGE_ROWS = 300
SEARCH_PAGE = 50


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 operation`, `2 operations`, `1,204 permissions`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def as_csv(rows: list[dict], fields: tuple[str, ...] | None = None) -> str:
    """A table page's `.csv` twin: the given fields (default: the first row's), lists as JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields or (tuple(rows[0]) if rows else ("empty",)),
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in row.items()}
                     for row in rows)
    return out.getvalue()


def freshness(db: Database) -> dict | None:
    row = db.execute("select source, finished from runs where status in ('ok', 'anomalies') "
                     "and finished is not null order by finished desc limit 1").fetchone()
    live = db.execute("select finished from runs where source = 'live' and status = 'ok' "
                      "order by finished desc limit 1").fetchone()
    newest = db.execute("select max(_first_seen) from page_versions").fetchone()
    if not row:
        return None
    return {"last_run": row[1], "last_run_source": row[0], "last_scrape": live[0] if live else None,
            "newest_change": newest[0]}


def home(db: Database) -> list[dict]:
    sql = """
    select pr.code, pr.name,
           (select build from releases r where r.product = pr.code order by sort_key desc limit 1)
             as latest_build,
           (select count(*) from releases r where r.product = pr.code) as builds
    from products pr where exists (select 1 from pages p where p.product = pr.code)
    order by pr.name
    """
    products = [dict(row) for row in db.query(sql)]
    for product in products:
        product["pages"] = permission_pages(db, product["code"])  # as `veeam-perms stats` counts them
        change = last_change(db, product["code"])
        product["last_change"] = change.first_seen if change else None
    return products


def product_row(db: Database, code: str) -> dict | None:
    row = db.execute("select code, name from products where code = ? and exists "
                     "(select 1 from pages where product = code)", [code]).fetchone()
    return {"code": row[0], "name": row[1]} if row else None


def product_page(db: Database, code: str, at: str | None = None) -> dict | None:
    """The operations in force at a build or date (default latest), by page and section: those
    that grant permissions (which the page lets a person pick and merge) and trust policies."""
    product = product_row(db, code)
    if product is None:
        return None
    builds = product_builds(db, code)
    point = resolve(db, code, at or "latest")
    operations = operations_at(db, code, point, include_trust=True)
    sizes = _sizes(db, [op["id"] for op in operations])
    for op in operations:
        op["permissions"] = sizes.get(op["id"], 0)
        op["trust"] = op["kind"] == "trust-policy"
        op["context"] = section_context(op["section"], op["title"])
    pages = [{"page": page, "url": rows[0]["url"], "page_title": rows[0]["page_title"],
              "sections": [{"section": section, "operations": list(items)}
                           for section, items in groupby(rows, key=lambda op: op["section"] or "")]}
             for page, rows in ((page, list(items)) for page, items in
                                groupby(operations, key=lambda op: op["page"]))]
    trust = sum(op["trust"] for op in operations)
    return {**product, "builds": builds, "at": at or "latest", "point": point.label, "by": point.by,
            "timeline": _timeline(db, code, builds), "operation_count": len(operations),
            "trust_count": trust, "grant_count": len(operations) - trust,
            "pages": _told_apart(pages), "operations": operations, "warnings": current_warnings(db, code)}


def section_context(section: str | None, title: str) -> str:
    """The section path an operation sits in, less its last heading when that is the operation's
    own title (a block named after its heading): what tells same-titled operations apart."""
    parts = (section or "").split(SECTION_SEPARATOR)
    if parts and parts[-1].strip() == title.strip():
        parts.pop()
    return SECTION_SEPARATOR.join(part for part in parts if part)


def _told_apart(pages: list[dict]) -> list[dict]:
    """Pages that share a title ("Permissions" on nine vbr plug-in pages) also show their file name."""
    seen = Counter(page["page_title"] for page in pages)
    for page in pages:
        if seen[page["page_title"]] > 1:
            slug = page["url"].rsplit("/", 1)[-1].split("?", 1)[0].removesuffix(".html")
            page["page_title"] = f"{page['page_title']} ({slug.replace('_', ' ')})"
    return pages


def current_warnings(db: Database, code: str) -> list[dict]:
    """Parse warnings of the current version of each page of a product (lost content first)."""
    return [dict(row) for row in db.query(
        f"select p.canonical_url as page, {PAGE_TITLE} as page_title, w.block, w.message "
        "from pages p join page_versions v on v.id = p.current_version "
        "join warnings w on w.page_version = p.current_version "
        "where p.product = ? and p._removed_at is null "
        "order by p.canonical_url, w.message not like ?, w.id", [code, CONTENT_LOST_LIKE])]


def _sizes(db: Database, ids: list[int]) -> dict[int, int]:
    marks = ",".join("?" * len(ids))
    return {row[0]: row[1] for row in db.execute(
        "select operation_id, count(distinct permission_id) from operation_requirements "
        f"where operation_id in ({marks}) group by operation_id", ids)}


def _timeline(db: Database, code: str, builds: list[str]) -> list[dict]:
    timeline = []
    for older, newer in zip(builds, builds[1:], strict=False):
        result = compare_product(db, code, resolve(db, code, older), resolve(db, code, newer))
        timeline.append({"build": newer, "from": older,
                         "added": sum(c.change == "added" for c in result.changes),
                         "removed": sum(c.change == "removed" for c in result.changes)})
    return timeline


def operation_page(db: Database, operation_id: int) -> dict | None:
    rows = list(db.query(
        "select i.*, o.principals, o.description, v.last_updated, v._last_seen, p.canonical_url, "
        "p.current_version = v.id as is_current from operation_identity i "
        "join operations o on o.id = i.operation_id join page_versions v on v.id = i.page_version "
        "join pages p on p.id = v.page where i.operation_id = ?", [operation_id]))
    if not rows:
        return None
    operation = rows[0]
    permissions = [dict(row) for row in db.query(
        "select perm.id, perm.provider, perm.name, perm.access_level, perm.risk, perm.known, "
        "perm.problem, group_concat(distinct g.effect) as effects, min(g.optional) as optional, "
        "group_concat(distinct g.placement) as placements, group_concat(distinct g.m365_api) as apis, "
        "group_concat(distinct g.m365_type) as types from grants g "
        "join permissions perm on perm.id = g.permission where g.operation = ? "
        "group by perm.id order by perm.risk is null, lower(perm.name)", [operation_id])]
    history = [dict(row) for row in db.query(
        "select operation_id as id, build, first_seen, permissions as size from operation_history "
        "where family = ? and key = ? order by coalesce(build_key, ''), first_seen, operation_id",
        [operation["family"], operation["key"]])]
    warnings = [dict(row) for row in db.query(
        "select block, message from warnings where page_version = ? order by id", [operation["page_version"]])]
    current = None if operation["is_current"] else db.execute(
        "select i.operation_id from operation_identity i join pages p on p.current_version = i.page_version "
        "where i.page_id = ? and i.key = ?", [operation["page_id"], operation["key"]]).fetchone()
    documents = questions.operation_documents(db, operation_id)
    return {**operation, "permissions": permissions, "history": history, "warnings": warnings,
            "current_id": current[0] if current else None,
            "optional": sum(1 for p in permissions if p["optional"]),
            "documents": documents, "parts": parts_of(documents), "trust_policy": trust_document(db, operation_id),
            "principals_list": json.loads(operation["principals"]) if operation["principals"] else []}


def permission_page(db: Database, permission_id: int) -> dict | None:
    rows = list(db.query("select * from permissions where id = ?", [permission_id]))
    if not rows:
        return None
    uses = [dict(row) for row in db.query(
        "select i.operation_id, i.title as operation, i.key, i.section, i.kind, i.product, i.family as page, "
        "i.page_title, i.build, i.first_seen as _first_seen, p.current_version = i.page_version "
        "as is_current from grants g join operation_identity i on i.operation_id = g.operation "
        "join pages p on p.id = i.page_id where g.permission = ? "
        "group by i.operation_id order by is_current desc, i.product, page, i.first_seen", [permission_id])]
    return {**rows[0], "uses": uses, "current_uses": sum(1 for u in uses if u["is_current"])}


def _fts_query(text: str) -> str | None:
    """Every word of the text as a quoted prefix term: FTS5 syntax in the input stays inert."""
    words = re.findall(r"\w+", text.lower())[:12]
    return " ".join(f'"{word}"*' for word in words) or None


_NAME_FRAGMENT = re.compile(r"[:/]|\w\.\w")


def search(db: Database, text: str, page: int = 1) -> dict:
    """Permission names, operation titles and sections, and page titles (SQLite FTS5), with the
    total and one page of hits. Permission names also match inside a word (`PassRole`)."""
    text = text.strip()[:200]
    match = _fts_query(text)
    hits: list[dict] = []
    if match:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # A name fragment (`ec2:`, `Microsoft.Compute/`) is matched literally: as words it would
        # also find `ec2messages:*` or any name holding "ec2".
        by_words = "" if _NAME_FRAGMENT.search(text) else \
            "perm.id in (select rowid from permissions_fts where permissions_fts match :match) or "
        hits += [dict(row, type="permission") for row in db.query(
            "select perm.id, perm.name as label, perm.provider || coalesce(', ' || perm.access_level, '') "
            "as detail, perm.risk, (select count(distinct operation) from grants g where "
            f"g.permission = perm.id) as operations from permissions perm where {by_words}"
            "perm.name like :like escape '\\' order by lower(perm.name) = lower(:text) desc, "
            "operations desc, perm.name", {"match": match, "like": like, "text": text})]
        hits += [dict(row, type="operation") for row in db.query(
            "select i.operation_id as id, i.title as label, i.product || ' · ' || i.page_title || "
            "coalesce(' › ' || nullif(i.section, ''), '') as detail, null as risk, null as operations, "
            "i.product, i.page_title, i.section, o.description, i.kind "
            "from operation_identity i join pages p on p.id = i.page_id join operations o on o.id = i.operation_id "
            "where p.current_version = i.page_version and i.operation_id in "
            "(select rowid from operations_fts where operations_fts match ?) "
            "order by i.product, i.family, i.position", [match])]
        hits += [dict(row, type="page") for row in db.query(
            f"select p.id, {PAGE_TITLE} as label, p.product || ' · ' || p.canonical_url "
            "as detail, p.canonical_url as url, null as risk, null as operations from pages p "
            "join page_versions v on v.id = p.current_version where p.id in "
            "(select rowid from pages_fts where pages_fts match ?) order by p.product, label", [match])]
    pages = max(1, -(-len(hits) // SEARCH_PAGE))
    page = min(max(1, page), pages)
    return {"q": text, "total": len(hits), "page": page, "pages": pages,
            "counts": {kind: sum(h["type"] == kind for h in hits) for kind in ("permission", "operation", "page")},
            "rows": hits[(page - 1) * SEARCH_PAGE: page * SEARCH_PAGE]}


def changes_page(db: Database, code: str, from_text: str | None, to_text: str | None,
                 page: int = 1, url: str | None = None) -> dict | None:
    """The changes between two points (default: the product's last change), grouped by page and
    operation with counts, `PAGE_ROWS` rows per page of the HTML view."""
    product = product_row(db, code)
    if product is None:
        return None
    if url:
        answer = questions.page_changes(db, url)
    else:
        answer = questions.changes_between(db, code, from_text, to_text)
    rows = answer["rows"]
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * PAGE_ROWS: page * PAGE_ROWS]
    groups = []
    for page_url, by_page in groupby(shown, key=lambda r: r["page"]):
        by_page = list(by_page)
        operations = [{"operation": name, "rows": list(items)}
                      for name, items in groupby(by_page, key=lambda r: r["operation"])]
        groups.append({"page": page_url, "count": len(by_page), "operations": operations})
    counts = {verb: sum(r["change"] == verb for r in rows) for verb in ("added", "removed", "changed", "renamed")}
    return {**product, **answer, "builds": product_builds(db, code), "page_number": page, "pages": pages,
            "groups": groups, "counts": counts, "kinds": sorted({r["kind"] for r in rows}),
            "dates": sorted({(r["first_seen"] or "")[:10] for r in rows} - {""}),
            "default": not from_text and not to_text and not url, "url": url,
            "events": change_events(db, code)}
