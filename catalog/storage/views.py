"""The catalog's questions as SQL views, defined once (issues 15 and 22).

`catalog.analysis` reads through these views, so the CLI, the website, the canned queries and
the README's SQL share one rule for each of:

- which operation is "the same operation" in two versions of a page (`operation_identity`);
- which page version applies at a build (`build_versions`) or at a moment (`version_spans`);
- what an operation requires (`operation_requirements`) and its history (`operation_history`);
- the first build at which a page family required a permission (`FIRST_BUILD_NEEDING`).

Two answers are stored rather than views, rewritten by the writer in the transaction that adds a
page version: `requirement_changes` (the rename pairing is Python, `catalog.storage.changes`) and
`build_versions` (as a view, SQLite planned its joins badly).

One name per concept in every view (documented for people in datasette/metadata.yml):
`page` is a page's URL and `page_id` its row id; `family` is the page across release URLs;
`page_version` is a page version's id; `first_seen` is when the catalog first saw that version
(the tables' `_first_seen`); `title` is an operation's title (`operation` in change rows, as in
`veeam-perms diff --format json`).

Storage may not import the analysis layer, so the SQL text lives here; migration m22 creates
these views (older migrations built the frozen set of `views_legacy`).
"""

from __future__ import annotations

import json

from catalog.storage.views_legacy import create_legacy_views

# A page's title, for every surface that shows one: the version's own title; else the title the
# page was given later (older dump pages carry their file slug as title and no heading, and a
# newer source names them without changing their content: `store.own_title`); else that of
# another release URL of the page; else the file slug read as words.
PAGE_TITLE = """coalesce(nullif(nullif(v.title, ''), p.slug), nullif(nullif(p.title, ''), p.slug),
    (select f.title from pages f where coalesce(f.family, f.canonical_url) = coalesce(p.family, p.canonical_url)
     and f.title != f.slug and f.title != '' order by f.id desc limit 1),
    upper(substr(p.slug, 1, 1)) || replace(substr(p.slug, 2), '_', ' '))"""

OPERATION_IDENTITY = f"""
select o.id as operation_id, o.key, o.page_version, v.page as page_id, p.product,
       coalesce(p.family, p.canonical_url) as family, p.canonical_url as page,
       {PAGE_TITLE} as page_title, o.section, o.title, o.title_key, o.kind,
       o.identity, o.position, v.build, r.sort_key as build_key, v._first_seen as first_seen
from operations o
join page_versions v on v.id = o.page_version
join pages p on p.id = v.page
left join releases r on r.id = v.release
"""

# Each page version is in force from its first sighting until the page's next version.
VERSION_SPANS = """
select v.id as page_version, v.page as page_id, p.product,
       coalesce(p.family, p.canonical_url) as family, p.canonical_url as page, v.build,
       r.sort_key as build_key, v.run, v._first_seen as first_seen,
       lead(v._first_seen) over (partition by v.page order by v._first_seen, v.id) as replaced_at
from page_versions v
join pages p on p.id = v.page
left join releases r on r.id = v.release
"""

# At a build, each page family (the page across release URLs) is read in its newest version
# stating that build or an older one; a later correction within the build wins. Stored as the
# table `build_versions` (rewritten for the families that got a version, or the whole product when it
# got a new build): as a view,
# SQLite's planner ran its correlated lookup once per grant of the catalog when joined to
# operation_requirements (10-22 s for "what does build B require").
_BUILD_VERSIONS = """
select r.product, r.build, r.sort_key as build_key, f.family, (
      select v.id from pages p2
      join page_versions v on v.page = p2.id
      join releases r2 on r2.id = v.release
      where p2.family = f.family and r2.sort_key <= r.sort_key
      order by r2.sort_key desc, v._first_seen desc, v.id desc limit 1) as page_version
from releases r
join (select distinct product, family from pages where product = :product{families}) f on f.product = r.product
where r.product = :product and page_version is not null
"""
BUILD_VERSIONS = _BUILD_VERSIONS.format(families="")
BUILD_VERSIONS_OF_FAMILIES = _BUILD_VERSIONS.format(
    families=" and family in (select value from json_each(:families))")
BUILD_VERSION_COLUMNS = {"product": str, "build": str, "build_key": str, "family": str, "page_version": int}

# What a grant row asks an administrator to grant: an Allow entry, not NotAction. (An operation
# that is a trust policy grants nothing at all: the views joining operations leave it out.)
GRANTED = "g.effect = 'Allow' and g.not_action = 0"

# What an operation asks an administrator to grant, one row per grant (a permission a page lists
# in two statements is two rows): Allow entries, not NotAction, never a trust policy (a trust
# policy says who may assume a role, it grants nothing). `spelling` is the name as this page
# wrote it; `permission` is the catalog's one name for it (the first spelling seen).
OPERATION_REQUIREMENTS = f"""
select i.operation_id, i.key, i.product, i.family, i.page, i.page_version, i.title, i.section,
       i.kind, i.build, i.build_key, i.first_seen, g.id as grant_id, perm.id as permission_id,
       perm.provider, perm.name as permission, perm.name_key, g.name as spelling, perm.risk,
       g.optional, g.sid, g.placement, g.resources, g.conditions, g.m365_api, g.m365_type
from operation_identity i
join grants g on g.operation = i.operation_id
join permissions perm on perm.id = g.permission
where i.kind != 'trust-policy' and {GRANTED}
"""

# One operation through the versions of its page family, with how many distinct permissions it
# requires (as operation_requirements counts them); in time order, sort by (build_key,
# first_seen): archive URLs of old releases may be read later.
OPERATION_HISTORY = f"""
select i.operation_id, i.product, i.family, i.page, i.key, i.title, i.kind, i.build, i.build_key,
       i.first_seen,
       (select count(distinct g.permission) from grants g where g.operation = i.operation_id
          and {GRANTED} and i.kind != 'trust-policy') as permissions
from operation_identity i
"""

# The first build at which each page family required a permission, and the operations that did
# (the canned query `first_build_needing`, `catalog.analysis.queries.first_required`). Every
# version stating a build counts, so a permission a later correction within the same build
# removed still has that build as its first.
FIRST_BUILD_NEEDING = """
with hits as materialized (
  select q.product, q.family, q.build, q.build_key, q.title as operation, q.first_seen
  from permissions perm join operation_requirements q on q.permission_id = perm.id
  where lower(perm.name) = lower(:permission) and q.build_key is not null)
select product, build as first_build, family, operation, min(first_seen) as first_seen from hits h
where build_key = (select min(build_key) from hits h2 where h2.family = h.family)
group by product, family, operation
order by product, family, operation
""".strip()

VIEWS = {
    "operation_identity": OPERATION_IDENTITY,
    "version_spans": VERSION_SPANS,
    "operation_requirements": OPERATION_REQUIREMENTS,
    "operation_history": OPERATION_HISTORY,
}

# The views of m003, with the names above (`first_seen`, `last_seen`, `page`).
CURRENT_GRANTS = """
select p.product, p.canonical_url as page, v.build, o.title as operation, o.kind, o.identity,
       perm.provider, perm.name as permission, g.name as spelling, perm.access_level, perm.risk,
       g.effect, g.placement, g.optional, v.last_updated, v._first_seen as first_seen
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
join grants g on g.operation = o.id
join permissions perm on perm.id = g.permission
where p._removed_at is null
"""

CURRENT_OPERATIONS = f"""
select p.product, p.canonical_url as page, p.title as page_title, v.build, v.last_updated,
       o.id as operation_id, o.key, o.title as operation, o.kind, o.identity, o.section,
       o.description,
       (select count(distinct g.permission) from grants g where g.operation = o.id
          and {GRANTED} and o.kind != 'trust-policy') as permissions
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
where p._removed_at is null
"""

REQUIRED_GRANTS = """
select p.product, p.canonical_url as page, v.id as page_version, v.build, r.sort_key as build_key,
       v._first_seen as first_seen, v._last_seen as last_seen, o.id as operation_id,
       o.title as operation, o.title_key, perm.id as permission_id, perm.provider,
       perm.name as permission, g.name as spelling, g.effect, g.optional
from grants g
join operations o on o.id = g.operation
join page_versions v on v.id = o.page_version
join pages p on p.id = v.page
join permissions perm on perm.id = g.permission
left join releases r on r.id = v.release
where o.kind != 'trust-policy'
"""

OLDER_VIEWS = {"current_grants": CURRENT_GRANTS, "current_operations": CURRENT_OPERATIONS,
               "required_grants": REQUIRED_GRANTS}


def save_build_versions(db, products, families: dict[str, set[str]] | None = None) -> None:
    """Rewrite the stored `build_versions` rows of the products (the writer calls this with the
    products whose pages got a version, in the same transaction). With `families` (product ->
    page families), only those families' rows of a product are rewritten: a version changes only
    its own family's rows, unless it brought a new build, which every family gets a row at."""
    names = ", ".join(f"[{name}]" for name in BUILD_VERSION_COLUMNS)
    for product in sorted(set(products) - {None}):
        chosen = (families or {}).get(product)
        if chosen is None:
            db.execute("delete from build_versions where product = ?", [product])
            db.execute(f"insert into build_versions ({names}) {BUILD_VERSIONS}", {"product": product})
            continue
        only = json.dumps(sorted(chosen))
        db.execute("delete from build_versions where product = ? and family in (select value from json_each(?))",
                   [product, only])
        db.execute(f"insert into build_versions ({names}) {BUILD_VERSIONS_OF_FAMILIES}",
                   {"product": product, "families": only})


def create_views(db) -> None:
    """(Re)create every question view. Before migration m22 has made `requirement_changes` a
    table, the frozen issue-15 set is built (old migrations call this too)."""
    if "requirement_changes" not in db.table_names():
        create_legacy_views(db)
        return
    for name in (*VIEWS, *OLDER_VIEWS):  # all dropped first: views read each other
        db.execute(f"drop view if exists [{name}]")
    for name, sql in {**VIEWS, **OLDER_VIEWS}.items():
        db.create_view(name, sql)
