"""The question views as migrations m15 and m13 created them (issue 15), frozen.

Those old migrations call `catalog.storage.views.create_views`; on a catalog that migration
m22 has not reached yet, it builds these definitions, so the old migrations keep doing exactly
what they did. m22 replaces them with the definitions of `catalog.storage.views`.
"""

from __future__ import annotations

# The identity of an operation within a page: `operations.key` (issue 13: section path + short
# title, ordinal only on repeats). Before migration m13 adds the column, the views are built on
# the section and title key instead (m15 runs first on a new catalog).
OPERATION_KEY = "o.key"
LEGACY_OPERATION_KEY = "lower(coalesce(o.section, '')) || ' | ' || o.title_key"

# Older dump pages carry their file slug as title: read it as words rather than as a file name.
PAGE_TITLE = """case when coalesce(v.title, p.title) = p.slug
    then upper(substr(p.slug, 1, 1)) || replace(substr(p.slug, 2), '_', ' ')
    else coalesce(v.title, p.title) end"""

OPERATION_IDENTITY = f"""
select o.id as operation_id, {{operation_key}} as key, o.page_version, v.page, p.product,
       coalesce(p.family, p.canonical_url) as family, p.canonical_url as url,
       {PAGE_TITLE} as page_title, o.section, o.title, o.title_key, o.kind,
       o.identity, o.position, v.build, r.sort_key as build_key, v._first_seen as first_seen
from operations o
join page_versions v on v.id = o.page_version
join pages p on p.id = v.page
left join releases r on r.id = v.release
"""

# Each page version is in force from its first sighting until the page's next version.
VERSION_SPANS = """
select v.id as version, v.page, p.product, coalesce(p.family, p.canonical_url) as family,
       p.canonical_url as url, v.build, r.sort_key as build_key, v.run, v._first_seen as valid_from,
       lead(v._first_seen) over (partition by v.page order by v._first_seen, v.id) as valid_to
from page_versions v
join pages p on p.id = v.page
left join releases r on r.id = v.release
"""

# At a build, each page family (the page across release URLs) is read in its newest version
# stating that build or an older one; a later correction within the build wins.
BUILD_VERSIONS = """
select * from (
  select r.product, r.build, r.sort_key as build_key, f.family, (
      select v.id from page_versions v
      join releases r2 on r2.id = v.release
      join pages p on p.id = v.page
      where coalesce(p.family, p.canonical_url) = f.family and r2.sort_key <= r.sort_key
      order by r2.sort_key desc, v._first_seen desc, v.id desc limit 1) as version
  from releases r
  join (select distinct product, coalesce(family, canonical_url) as family from pages) f
    on f.product = r.product
) where version is not null
"""

# What an operation asks an administrator to grant: Allow entries, not NotAction, not trust.
OPERATION_REQUIREMENTS = """
select i.operation_id, i.key, i.product, i.family, i.url, i.page_version, i.title, i.section,
       i.build, i.first_seen, perm.id as permission_id, perm.provider, perm.name as permission, perm.name_key,
       perm.risk, min(g.optional) as optional
from operation_identity i
join grants g on g.operation = i.operation_id
join permissions perm on perm.id = g.permission
where i.kind != 'trust-policy' and g.effect = 'Allow' and g.not_action = 0
group by i.operation_id, perm.id
"""

# One operation through the versions of its page family, with the size of its permission set;
# in time order, sort by (build_key, first_seen): archive URLs of old releases may be read later.
OPERATION_HISTORY = """
select i.operation_id, i.product, i.family, i.key, i.title, i.build, i.build_key, i.first_seen,
       (select count(distinct g.permission) from grants g where g.operation = i.operation_id)
         as permissions
from operation_identity i
"""

VIEWS = {
    "operation_identity": OPERATION_IDENTITY,
    "version_spans": VERSION_SPANS,
    "build_versions": BUILD_VERSIONS,
    "operation_requirements": OPERATION_REQUIREMENTS,
    "operation_history": OPERATION_HISTORY,
}

# Step by step along each page: what each version requires that the one before did not
# (added) and the reverse (removed), per operation identity. The first version of a page adds all.
REQUIREMENT_CHANGES = """
with steps as (
  select version, page, product, url, build, valid_from,
         lag(version) over w as previous, lag(build) over w as previous_build
  from version_spans window w as (partition by page order by valid_from, version)
)
select s.product, s.url as page, 'added' as change, q.title as operation, q.provider,
       q.permission, q.risk, s.previous_build as from_build, s.build as to_build,
       s.valid_from as observed
from steps s join operation_requirements q on q.page_version = s.version
where not exists (select 1 from operation_requirements o where o.page_version = s.previous
                  and o.key = q.key and o.provider = q.provider and o.name_key = q.name_key)
union all
select s.product, s.url, 'removed', q.title, q.provider, q.permission, q.risk, s.previous_build,
       s.build, s.valid_from
from steps s join operation_requirements q on q.page_version = s.previous
where not exists (select 1 from operation_requirements o where o.page_version = s.version
                  and o.key = q.key and o.provider = q.provider and o.name_key = q.name_key)
"""

VIEWS["requirement_changes"] = REQUIREMENT_CHANGES


def create_legacy_views(db) -> None:
    """The issue-15 views, keyed by identity before m13 adds `operations.key`."""
    for name in VIEWS:  # all dropped first: a view is checked against the views it reads when created
        db.execute(f"drop view if exists [{name}]")
    has_key = "key" in {column.name for column in db["operations"].columns}
    key = OPERATION_KEY if has_key else LEGACY_OPERATION_KEY
    for name, sql in VIEWS.items():
        db.create_view(name, sql.replace("{operation_key}", key))
