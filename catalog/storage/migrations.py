"""The catalog schema, declared once as ordered sqlite-utils migrations.

Bookkeeping columns start with `_` (git-history style). A page version is a row
only when the extracted content of the page changes; `tests/test_schema.py`
compares the migrated schema with the committed `catalog/schema.sql`.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from catalog.model import base_key, unique_key
from catalog.storage.changes import CHANGE_COLUMNS, save_changes
from catalog.storage.views import BUILD_VERSION_COLUMNS, create_views, save_build_versions
from catalog.urls import canonicalize, parse_url

migrations = Migrations("veeam-perms")

PRODUCTS = {
    "vbaws": "Veeam Backup for AWS",
    "vbazure": "Veeam Backup for Microsoft Azure",
    "vbgc": "Veeam Backup for Google Cloud",
    "vbr": "Veeam Backup & Replication",
    "vbo365": "Veeam Backup for Microsoft 365",
    "vdc": "Veeam Data Cloud",
}
ALIASES = {"backup": "vbr", "vbgcp": "vbgc", "vb365": "vbo365"}


@migrations()
def m001_core_tables(db: Database) -> None:
    db["products"].create({"code": str, "name": str}, pk="code")
    db["product_aliases"].create({"alias": str, "product": str}, pk="alias",
                                 foreign_keys=[("product", "products", "code")])
    db["runs"].create({
        "id": int, "source": str, "source_ref": str, "started": str, "finished": str,
        "status": str, "counts": str, "message": str,
    }, pk="id")
    db["releases"].create({
        "id": int, "product": str, "build": str, "label": str, "label_key": str, "sort_key": str,
        "_first_seen": str,
    }, pk="id", foreign_keys=[("product", "products", "code")])
    db["releases"].create_index(["product", "build"], unique=True)
    db["pages"].create({
        "id": int, "product": str, "guide": str, "slug": str, "canonical_url": str, "family": str,
        "version_label": str, "title": str, "current_version": int, "_first_seen": str,
        "_last_seen": str, "_removed_at": str,
    }, pk="id", foreign_keys=[("product", "products", "code")])
    db["pages"].create_index(["canonical_url"], unique=True)
    db["pages"].create_index(["family"])
    db["page_versions"].create({
        "id": int, "page": int, "content_hash": str, "build": str, "release": int,
        "version_label": str, "title": str, "last_updated": str, "operation_count": int,
        "permission_count": int, "source": str, "source_ref": str, "path": str, "run": int,
        "_first_seen": str, "_last_seen": str,
    }, pk="id", foreign_keys=[("page", "pages", "id"), ("release", "releases", "id"),
                              ("run", "runs", "id")])
    db["page_versions"].create_index(["page", "_first_seen"])
    db["page_versions"].create_index(["release"])
    db["operations"].create({
        "id": int, "page_version": int, "position": int, "title": str, "title_key": str,
        "section": str, "identity": str, "kind": str, "principals": str,
    }, pk="id", foreign_keys=[("page_version", "page_versions", "id")])
    db["operations"].create_index(["page_version"])
    db["permissions"].create({
        "id": int, "provider": str, "name": str, "name_key": str, "service": str,
        "access_level": str, "description": str, "known": int, "problem": str, "risk": str,
    }, pk="id")
    db["permissions"].create_index(["provider", "name_key"], unique=True)
    db["wildcard_expansions"].create({"permission": int, "action": str},
                                     pk=("permission", "action"),
                                     foreign_keys=[("permission", "permissions", "id")])
    db["grants"].create({
        "id": int, "operation": int, "permission": int, "effect": str, "sid": str, "resources": str,
        "conditions": str, "not_action": int, "placement": str, "m365_api": str, "m365_type": str,
        "optional": int,
    }, pk="id", foreign_keys=[("operation", "operations", "id"), ("permission", "permissions", "id")])
    db["grants"].create_index(["operation"])
    db["grants"].create_index(["permission"])
    db["mentions"].create({"id": int, "page_version": int, "permission": int, "sentence": str},
                          pk="id", foreign_keys=[("page_version", "page_versions", "id"),
                                                 ("permission", "permissions", "id")])
    db["mentions"].create_index(["page_version"])
    db["warnings"].create({"id": int, "page_version": int, "block": str, "message": str}, pk="id",
                          foreign_keys=[("page_version", "page_versions", "id")])
    db["warnings"].create_index(["page_version"])
    db["anomalies"].create({
        "id": int, "run": int, "page": int, "observed_at": str, "source_ref": str, "reason": str,
        "held_hash": str, "accepted": int,
    }, pk="id", foreign_keys=[("run", "runs", "id"), ("page", "pages", "id")])
    db["source_commits"].create({"repository": str, "sha": str, "committed_at": str, "run": int},
                                pk=("repository", "sha"), foreign_keys=[("run", "runs", "id")])
    db["products"].insert_all([{"code": code, "name": name} for code, name in PRODUCTS.items()])
    db["product_aliases"].insert_all([{"alias": a, "product": p} for a, p in ALIASES.items()])


@migrations()
def m002_search(db: Database) -> None:
    db["pages"].enable_fts(["title", "canonical_url"], create_triggers=True)
    db["operations"].enable_fts(["title", "section"], create_triggers=True)
    db["permissions"].enable_fts(["name", "description"], create_triggers=True)


CURRENT_GRANTS = """
select p.product, p.canonical_url as page, v.build, o.title as operation, o.kind, o.identity,
       perm.provider, perm.name as permission, perm.access_level, perm.risk, g.effect, g.placement,
       g.optional, v.last_updated, v._first_seen as version_first_seen
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
join grants g on g.operation = o.id
join permissions perm on perm.id = g.permission
where p._removed_at is null
"""

CURRENT_OPERATIONS = """
select p.product, p.canonical_url as page, p.title as page_title, v.build, v.last_updated,
       o.id as operation_id, o.title as operation, o.kind, o.identity, o.section,
       (select count(distinct g.permission) from grants g where g.operation = o.id) as permissions
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
where p._removed_at is null
"""

REQUIRED_GRANTS = """
select p.product, p.canonical_url as page, v.id as page_version, v.build, r.sort_key as build_key,
       v._first_seen, v._last_seen, o.id as operation_id, o.title as operation, o.title_key,
       perm.id as permission_id, perm.provider, perm.name as permission, g.effect, g.optional
from grants g
join operations o on o.id = g.operation
join page_versions v on v.id = o.page_version
join pages p on p.id = v.page
join permissions perm on perm.id = g.permission
left join releases r on r.id = v.release
where o.kind != 'trust-policy'
"""


@migrations()
def m003_views(db: Database) -> None:
    db.create_view("current_grants", CURRENT_GRANTS)
    db.create_view("current_operations", CURRENT_OPERATIONS)
    db.create_view("required_grants", REQUIRED_GRANTS)


@migrations()
def m004_raw_snapshots(db: Database) -> None:
    """Every fetched body, content-addressed and compressed, and every fetch with its outcome."""
    db["snapshots"].create({"hash": str, "body": bytes, "size": int, "content_type": str}, pk="hash")
    db["fetches"].create({
        "id": int, "run": int, "url": str, "fetched_url": str, "outcome": str, "status": int,
        "reason": str, "attempts": int, "headers": str, "etag": str, "last_modified": str,
        "snapshot": str, "fetched_at": str,
    }, pk="id", foreign_keys=[("run", "runs", "id"), ("snapshot", "snapshots", "hash")])
    db["fetches"].create_index(["url", "id"])


@migrations()
def m16_build_source_and_products(db: Database) -> None:
    """Where a version's build came from ('page' or 'label'), and the products issue 16 added."""
    db["page_versions"].add_column("build_source", str)
    db["products"].insert_all([
        {"code": "agentforwindows", "name": "Veeam Agent for Microsoft Windows"},
        {"code": "vro", "name": "Veeam Recovery Orchestrator"},
        {"code": "vspc", "name": "Veeam Service Provider Console"},
        {"code": "one", "name": "Veeam ONE"},
    ], ignore=True)
    db["product_aliases"].insert({"alias": "vac", "product": "vspc"}, ignore=True)


@migrations()
def m15_question_views(db: Database) -> None:
    """One definition of operation identity, the version in force at a build or moment, and what
    operations require (issue 15); `catalog.analysis.questions` reads through them."""
    create_views(db)


@migrations()
def m16_fetch_sources(db: Database) -> None:
    """Which representation a fetch got (Veeam's `.md` twin or the `.html` page), the sitemap's
    `lastmod` it was fetched under, and each product's negotiated source, remembered between runs."""
    db["fetches"].add_column("source_kind", str)
    db["fetches"].add_column("lastmod", str)
    db["product_sources"].create({"product": str, "kind": str, "checked_at": str}, pk="product")


@migrations()
def m13_operation_key(db: Database) -> None:
    """Operations get their identity within the page (`key`) and the sentence that introduced them
    (`description`). Existing rows get the key the parser gives today from their stored section
    and title (ordinals in page order); their description is unknown and stays null."""
    db["operations"].add_column("key", str)
    db["operations"].add_column("description", str)
    used: dict[int, set[str]] = {}
    updates = []
    for row_id, version, section, title in db.execute(
            "select id, page_version, section, title from operations order by page_version, position, id"):
        key = unique_key(base_key(section, title or ""), used.setdefault(version, set()))
        updates.append((key, row_id))
    db.conn.executemany("update operations set key = ? where id = ?", updates)
    db["operations"].create_index(["page_version", "key"], unique=True)
    db.create_view("current_operations", CURRENT_OPERATIONS_WITH_KEY, replace=True)
    create_views(db)  # operation identity is now the stored key


CURRENT_OPERATIONS_WITH_KEY = """
select p.product, p.canonical_url as page, p.title as page_title, v.build, v.last_updated,
       o.id as operation_id, o.key, o.title as operation, o.kind, o.identity, o.section,
       o.description,
       (select count(distinct g.permission) from grants g where g.operation = o.id) as permissions
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
where p._removed_at is null
"""


@migrations()
def m20_source_heads(db: Database) -> None:
    """The commit each git source's HEAD named when it was ingested: a bundle whose HEAD is known
    (a merge commit, which `source_commits` never holds) needs no clone to tell it has nothing new."""
    db["source_heads"].create({"repository": str, "head": str, "_seen": str}, pk=("repository", "head"))
    db["source_heads"].create_index(["head"])


@migrations()
def m22_page_titles(db: Database) -> None:
    """A page keeps the newest title a version of it stated (issue 22: pages first read from older
    dumps kept their file slug as title), and the views read titles by the one `PAGE_TITLE` rule."""
    db.execute("""
        update pages set title = (select v.title from page_versions v where v.page = pages.id
                                  and v.title != pages.slug and v.title != ''
                                  order by v._first_seen desc, v.id desc limit 1)
        where (title is null or title = slug or title = '') and exists (
            select 1 from page_versions v where v.page = pages.id and v.title != pages.slug and v.title != '')""")
    create_views(db)


@migrations()
def m22_questions_in_sql(db: Database) -> None:
    """SQL a person can query without reading the source (issue 22).

    - `grants.name`: the name as the page spelled it (`permissions.name` is only the first
      spelling seen). Grants stored before this keep the catalog's name: their spelling was not kept.
    - `page_versions.permission_count` counts what the page asks to grant, as
      `operation_requirements` does (a trust policy's `sts:AssumeRole` grants nothing).
    - `requirement_changes` becomes a table: the rows `veeam-perms diff` computes for each step
      along each page (renames paired), written by the catalog writer from now on.
    - `build_versions` becomes a table too (same rule), so joins to it use indexes.
    - the views get one name per concept (`catalog.storage.views`).
    """
    db["grants"].add_column("name", str)
    db.execute("update grants set name = (select name from permissions where id = grants.permission)")
    db.execute("update pages set family = canonical_url where family is null")
    db.execute(f"update page_versions set permission_count = ({REQUIRED_COUNT})")
    db.execute("drop view if exists requirement_changes")
    db["requirement_changes"].create(CHANGE_COLUMNS, pk="id", foreign_keys=[
        ("page_id", "pages", "id"), ("page_version", "page_versions", "id")])
    db["requirement_changes"].create_index(["page_id"])
    db["requirement_changes"].create_index(["page_version"])
    db["requirement_changes"].create_index(["product", "first_seen"])
    db.execute("drop view if exists build_versions")
    db["build_versions"].create(BUILD_VERSION_COLUMNS, pk=("product", "build", "family"),
                                foreign_keys=[("page_version", "page_versions", "id")])
    db["build_versions"].create_index(["page_version"])
    create_views(db)
    save_changes(db)
    save_build_versions(db, [row[0] for row in db.execute("select distinct product from pages")])


# How many distinct permissions a page version asks to grant (the store's count since m22).
REQUIRED_COUNT = """
select count(distinct g.permission) from operations o join grants g on g.operation = o.id
where o.page_version = page_versions.id and o.kind != 'trust-policy'
  and g.effect = 'Allow' and g.not_action = 0"""



@migrations()
def m23_canonical_urls_without_tracking(db: Database) -> None:
    """Page URLs stored with a highlighting or tracking parameter (`zoom_highlight=`, `utm_*`) take
    their canonical form, unless the catalog already holds that page under it (left as it is:
    two histories are not merged by a migration)."""
    taken = {row[0] for row in db.execute("select canonical_url from pages")}
    changed = []
    for page_id, url in db.execute("select id, canonical_url from pages where canonical_url like '%?%'").fetchall():
        clean = canonicalize(url)
        if clean != url and clean not in taken:
            db.execute("update pages set canonical_url = ?, family = ? where id = ?",
                       [clean, parse_url(clean).family, page_id])
            taken.add(clean)
            changed.append(page_id)
    if changed:  # the stored answers name pages by URL and family: theirs are made again
        marks = ",".join("?" * len(changed))
        save_changes(db, [row[0] for row in db.execute(
            f"select id from page_versions where page in ({marks})", changed)])
        save_build_versions(db, [row[0] for row in db.execute(
            f"select distinct product from pages where id in ({marks})", changed)])


def migrate(db: Database) -> None:
    migrations.apply(db)
