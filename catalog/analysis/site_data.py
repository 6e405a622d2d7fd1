"""What the website's custom pages show, as plain queries over a catalog connection.

Kept out of the Datasette plugin so they can be tested and reused without a server.
Every function takes a sqlite_utils Database (read-only use) and returns plain data.
"""

from __future__ import annotations

from sqlite_utils import Database

from catalog.analysis.compare import compare_product, product_builds, resolve
from catalog.analysis.policy_docs import policy_documents


def freshness(db: Database) -> dict | None:
    row = db.execute("select source, finished from runs where status in ('ok', 'anomalies') "
                     "and finished is not null order by finished desc limit 1").fetchone()
    live = db.execute("select finished from runs where source = 'live' and status = 'ok' "
                      "order by finished desc limit 1").fetchone()
    if not row:
        return None
    return {"last_run": row[1], "last_run_source": row[0], "last_scrape": live[0] if live else None}


def home(db: Database) -> list[dict]:
    sql = """
    select pr.code, pr.name, count(distinct p.id) as pages,
           (select build from releases r where r.product = pr.code order by sort_key desc limit 1)
             as latest_build,
           (select count(*) from releases r where r.product = pr.code) as builds,
           (select max(v._first_seen) from page_versions v join pages p2 on p2.id = v.page
             where p2.product = pr.code) as last_change
    from products pr join pages p on p.product = pr.code
    group by pr.code order by pr.name
    """
    return [dict(row) for row in db.query(sql)]


def product_page(db: Database, code: str) -> dict | None:
    product = db.execute("select code, name from products where code = ?", [code]).fetchone()
    if not product:
        return None
    builds = product_builds(db, code)
    timeline = []
    for older, newer in zip(builds, builds[1:], strict=False):
        result = compare_product(db, code, resolve(db, code, older), resolve(db, code, newer))
        timeline.append({"build": newer, "from": older,
                         "added": sum(c.change == "added" for c in result.changes),
                         "removed": sum(c.change == "removed" for c in result.changes)})
    operations = [dict(row) for row in db.query(
        "select operation_id, page, page_title, build, operation, kind, identity, section, permissions "
        "from current_operations where product = ? order by page, operation_id", [code])]
    return {"code": product[0], "name": product[1], "builds": builds,
            "first_build": builds[0] if builds else None, "timeline": timeline,
            "operations": operations, "warnings": current_warnings(db, code)}


def current_warnings(db: Database, code: str) -> list[dict]:
    """Parse warnings of the current version of each page of a product (lost content first)."""
    return [dict(row) for row in db.query(
        "select p.canonical_url as page, p.title as page_title, w.block, w.message "
        "from pages p join warnings w on w.page_version = p.current_version "
        "where p.product = ? and p._removed_at is null "
        "order by p.canonical_url, w.message not like 'content-lost:%', w.id", [code])]


def operation_page(db: Database, operation_id: int) -> dict | None:
    rows = list(db.query(
        "select o.id, o.key, o.title, o.title_key, o.kind, o.identity, o.section, o.description, "
        "o.principals, v.id as version, "
        "v.build, v.last_updated, v._first_seen, v._last_seen, p.product, p.canonical_url, "
        "coalesce(p.family, p.canonical_url) as family, p.title as page_title, "
        "p.current_version = v.id as is_current "
        "from operations o join page_versions v on v.id = o.page_version join pages p on p.id = v.page "
        "where o.id = ?", [operation_id]))
    if not rows:
        return None
    operation = rows[0]
    permissions = [dict(row) for row in db.query(
        "select perm.id, perm.provider, perm.name, perm.access_level, perm.risk, perm.known, "
        "perm.problem, group_concat(distinct g.effect) as effects, min(g.optional) as optional, "
        "group_concat(distinct g.placement) as placements, group_concat(distinct g.m365_api) as apis, "
        "group_concat(distinct g.m365_type) as types, group_concat(distinct g.sid) as sids "
        "from grants g join permissions perm on perm.id = g.permission where g.operation = ? "
        "group by perm.id order by perm.risk is null, lower(perm.name)", [operation_id])]
    history = [dict(row) for row in db.query(
        "select o.id, v.build, v._first_seen, v.last_updated, p.canonical_url, "
        "(select count(distinct g.permission) from grants g where g.operation = o.id) as size "
        "from operations o join page_versions v on v.id = o.page_version join pages p on p.id = v.page "
        "where coalesce(p.family, p.canonical_url) = ? and o.key = ? "
        "order by v._first_seen, v.id", [operation["family"], operation["key"]])]
    warnings = [dict(row) for row in db.query(
        "select block, message from warnings where page_version = ? order by id", [operation["version"]])]
    return {**operation, "permissions": permissions, "history": history, "warnings": warnings,
            "documents": policy_documents(db, operation_id)}


def search_permissions(db: Database, query: str, limit: int = 50) -> list[dict]:
    """Permission names containing `query` (case-insensitive), with how many operations need them."""
    text = query.strip()
    if not text:
        return []
    return [dict(row) for row in db.query(
        "select perm.id, perm.provider, perm.name, perm.access_level, perm.risk, "
        "count(distinct g.operation) as operations from permissions perm "
        "left join grants g on g.permission = perm.id where perm.name like ? escape '\\' "
        "group by perm.id order by perm.name = ? desc, operations desc, perm.name limit ?",
        ["%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", text, limit])]


def permission_page(db: Database, permission_id: int) -> dict | None:
    rows = list(db.query("select * from permissions where id = ?", [permission_id]))
    if not rows:
        return None
    uses = [dict(row) for row in db.query(
        "select o.id as operation_id, o.title as operation, o.key, o.kind, p.product, "
        "coalesce(p.family, p.canonical_url) as page, v.build, v._first_seen, "
        "p.current_version = v.id as is_current from grants g "
        "join operations o on o.id = g.operation join page_versions v on v.id = o.page_version "
        "join pages p on p.id = v.page where g.permission = ? "
        "group by o.id order by p.product, page, v._first_seen", [permission_id])]
    return {**rows[0], "uses": uses}


def changes_page(db: Database, code: str, from_text: str | None, to_text: str | None) -> dict:
    builds = product_builds(db, code)
    from_text = from_text or ("previous" if len(builds) > 1 else "latest")
    to_text = to_text or "latest"
    old, new = resolve(db, code, from_text), resolve(db, code, to_text)
    result = compare_product(db, code, old, new)
    return {"code": code, "builds": builds, "from": from_text, "to": to_text,
            "from_point": old.value[:10] if old.by == "date" else old.value,
            "to_point": new.value[:10] if new.by == "date" else new.value,
            "changes": result.changes, "metadata_only": result.metadata_only}
