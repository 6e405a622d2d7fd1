CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE INDEX "idx_build_versions_page_version"
    ON "build_versions" ("page_version");
CREATE INDEX "idx_fetches_url_id"
    ON "fetches" ("url", "id");
CREATE INDEX "idx_grants_operation"
    ON "grants" ("operation");
CREATE INDEX "idx_grants_permission"
    ON "grants" ("permission");
CREATE INDEX "idx_mentions_page_version"
    ON "mentions" ("page_version");
CREATE INDEX "idx_operations_page_version"
    ON "operations" ("page_version");
CREATE UNIQUE INDEX "idx_operations_page_version_key"
    ON "operations" ("page_version", "key");
CREATE INDEX "idx_page_versions_page__first_seen"
    ON "page_versions" ("page", "_first_seen");
CREATE INDEX "idx_page_versions_release"
    ON "page_versions" ("release");
CREATE UNIQUE INDEX "idx_pages_canonical_url"
    ON "pages" ("canonical_url");
CREATE INDEX "idx_pages_family"
    ON "pages" ("family");
CREATE UNIQUE INDEX "idx_permissions_provider_name_key"
    ON "permissions" ("provider", "name_key");
CREATE UNIQUE INDEX "idx_releases_product_build"
    ON "releases" ("product", "build");
CREATE INDEX "idx_requirement_changes_page_id"
    ON "requirement_changes" ("page_id");
CREATE INDEX "idx_requirement_changes_page_version"
    ON "requirement_changes" ("page_version");
CREATE INDEX "idx_requirement_changes_product_first_seen"
    ON "requirement_changes" ("product", "first_seen");
CREATE INDEX "idx_source_heads_head"
    ON "source_heads" ("head");
CREATE INDEX "idx_warnings_page_version"
    ON "warnings" ("page_version");
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
CREATE TABLE "anomalies" (
   "id" INTEGER PRIMARY KEY,
   "run" INTEGER REFERENCES "runs"("id"),
   "page" INTEGER REFERENCES "pages"("id"),
   "observed_at" TEXT,
   "source_ref" TEXT,
   "reason" TEXT,
   "held_hash" TEXT,
   "accepted" INTEGER
);
CREATE TABLE "build_versions" (
   "product" TEXT,
   "build" TEXT,
   "build_key" TEXT,
   "family" TEXT,
   "page_version" INTEGER REFERENCES "page_versions"("id"),
   PRIMARY KEY ("product", "build", "family")
);
CREATE TABLE "fetches" (
   "id" INTEGER PRIMARY KEY,
   "run" INTEGER REFERENCES "runs"("id"),
   "url" TEXT,
   "fetched_url" TEXT,
   "outcome" TEXT,
   "status" INTEGER,
   "reason" TEXT,
   "attempts" INTEGER,
   "headers" TEXT,
   "etag" TEXT,
   "last_modified" TEXT,
   "snapshot" TEXT REFERENCES "snapshots"("hash"),
   "fetched_at" TEXT
, "source_kind" TEXT, "lastmod" TEXT);
CREATE TABLE "grants" (
   "id" INTEGER PRIMARY KEY,
   "operation" INTEGER REFERENCES "operations"("id"),
   "permission" INTEGER REFERENCES "permissions"("id"),
   "effect" TEXT,
   "sid" TEXT,
   "resources" TEXT,
   "conditions" TEXT,
   "not_action" INTEGER,
   "placement" TEXT,
   "m365_api" TEXT,
   "m365_type" TEXT,
   "optional" INTEGER
, "name" TEXT);
CREATE TABLE "mentions" (
   "id" INTEGER PRIMARY KEY,
   "page_version" INTEGER REFERENCES "page_versions"("id"),
   "permission" INTEGER REFERENCES "permissions"("id"),
   "sentence" TEXT
);
CREATE TABLE "operations" (
   "id" INTEGER PRIMARY KEY,
   "page_version" INTEGER REFERENCES "page_versions"("id"),
   "position" INTEGER,
   "title" TEXT,
   "title_key" TEXT,
   "section" TEXT,
   "identity" TEXT,
   "kind" TEXT,
   "principals" TEXT
, "key" TEXT, "description" TEXT);
CREATE VIRTUAL TABLE "operations_fts" USING FTS5 (
    "title", "section",
    content="operations"
);
CREATE TABLE "page_versions" (
   "id" INTEGER PRIMARY KEY,
   "page" INTEGER REFERENCES "pages"("id"),
   "content_hash" TEXT,
   "build" TEXT,
   "release" INTEGER REFERENCES "releases"("id"),
   "version_label" TEXT,
   "title" TEXT,
   "last_updated" TEXT,
   "operation_count" INTEGER,
   "permission_count" INTEGER,
   "source" TEXT,
   "source_ref" TEXT,
   "path" TEXT,
   "run" INTEGER REFERENCES "runs"("id"),
   "_first_seen" TEXT,
   "_last_seen" TEXT
, "build_source" TEXT);
CREATE TABLE "pages" (
   "id" INTEGER PRIMARY KEY,
   "product" TEXT REFERENCES "products"("code"),
   "guide" TEXT,
   "slug" TEXT,
   "canonical_url" TEXT,
   "family" TEXT,
   "version_label" TEXT,
   "title" TEXT,
   "current_version" INTEGER,
   "_first_seen" TEXT,
   "_last_seen" TEXT,
   "_removed_at" TEXT
);
CREATE VIRTUAL TABLE "pages_fts" USING FTS5 (
    "title", "canonical_url",
    content="pages"
);
CREATE TABLE "permissions" (
   "id" INTEGER PRIMARY KEY,
   "provider" TEXT,
   "name" TEXT,
   "name_key" TEXT,
   "service" TEXT,
   "access_level" TEXT,
   "description" TEXT,
   "known" INTEGER,
   "problem" TEXT,
   "risk" TEXT
);
CREATE VIRTUAL TABLE "permissions_fts" USING FTS5 (
    "name", "description",
    content="permissions"
);
CREATE TABLE "product_aliases" (
   "alias" TEXT PRIMARY KEY,
   "product" TEXT REFERENCES "products"("code")
);
CREATE TABLE "product_sources" (
   "product" TEXT PRIMARY KEY,
   "kind" TEXT,
   "checked_at" TEXT
);
CREATE TABLE "products" (
   "code" TEXT PRIMARY KEY,
   "name" TEXT
);
CREATE TABLE "releases" (
   "id" INTEGER PRIMARY KEY,
   "product" TEXT REFERENCES "products"("code"),
   "build" TEXT,
   "label" TEXT,
   "label_key" TEXT,
   "sort_key" TEXT,
   "_first_seen" TEXT
);
CREATE TABLE "requirement_changes" (
   "id" INTEGER PRIMARY KEY,
   "product" TEXT,
   "page" TEXT,
   "operation" TEXT,
   "change" TEXT,
   "permission" TEXT,
   "from" TEXT,
   "to" TEXT,
   "kind" TEXT,
   "provider" TEXT,
   "risk" TEXT,
   "from_build" TEXT,
   "to_build" TEXT,
   "first_seen" TEXT,
   "operation_change" TEXT,
   "key" TEXT,
   "section" TEXT,
   "family" TEXT,
   "page_id" INTEGER REFERENCES "pages"("id"),
   "page_version" INTEGER REFERENCES "page_versions"("id"),
   "previous_version" INTEGER
);
CREATE TABLE "runs" (
   "id" INTEGER PRIMARY KEY,
   "source" TEXT,
   "source_ref" TEXT,
   "started" TEXT,
   "finished" TEXT,
   "status" TEXT,
   "counts" TEXT,
   "message" TEXT
);
CREATE TABLE "snapshots" (
   "hash" TEXT PRIMARY KEY,
   "body" BLOB,
   "size" INTEGER,
   "content_type" TEXT
);
CREATE TABLE "source_commits" (
   "repository" TEXT,
   "sha" TEXT,
   "committed_at" TEXT,
   "run" INTEGER REFERENCES "runs"("id"),
   PRIMARY KEY ("repository", "sha")
);
CREATE TABLE "source_heads" (
   "repository" TEXT,
   "head" TEXT,
   "_seen" TEXT,
   PRIMARY KEY ("repository", "head")
);
CREATE TABLE "warnings" (
   "id" INTEGER PRIMARY KEY,
   "page_version" INTEGER REFERENCES "page_versions"("id"),
   "block" TEXT,
   "message" TEXT
);
CREATE TABLE "wildcard_expansions" (
   "permission" INTEGER REFERENCES "permissions"("id"),
   "action" TEXT,
   PRIMARY KEY ("permission", "action")
);
CREATE TRIGGER "operations_ad" AFTER DELETE ON "operations" BEGIN
  INSERT INTO "operations_fts" ("operations_fts", rowid, "title", "section") VALUES('delete', old.rowid, old."title", old."section");
END;
CREATE TRIGGER "operations_ai" AFTER INSERT ON "operations" BEGIN
  INSERT INTO "operations_fts" (rowid, "title", "section") VALUES (new.rowid, new."title", new."section");
END;
CREATE TRIGGER "operations_au" AFTER UPDATE ON "operations" BEGIN
  INSERT INTO "operations_fts" ("operations_fts", rowid, "title", "section") VALUES('delete', old.rowid, old."title", old."section");
  INSERT INTO "operations_fts" (rowid, "title", "section") VALUES (new.rowid, new."title", new."section");
END;
CREATE TRIGGER "pages_ad" AFTER DELETE ON "pages" BEGIN
  INSERT INTO "pages_fts" ("pages_fts", rowid, "title", "canonical_url") VALUES('delete', old.rowid, old."title", old."canonical_url");
END;
CREATE TRIGGER "pages_ai" AFTER INSERT ON "pages" BEGIN
  INSERT INTO "pages_fts" (rowid, "title", "canonical_url") VALUES (new.rowid, new."title", new."canonical_url");
END;
CREATE TRIGGER "pages_au" AFTER UPDATE ON "pages" BEGIN
  INSERT INTO "pages_fts" ("pages_fts", rowid, "title", "canonical_url") VALUES('delete', old.rowid, old."title", old."canonical_url");
  INSERT INTO "pages_fts" (rowid, "title", "canonical_url") VALUES (new.rowid, new."title", new."canonical_url");
END;
CREATE TRIGGER "permissions_ad" AFTER DELETE ON "permissions" BEGIN
  INSERT INTO "permissions_fts" ("permissions_fts", rowid, "name", "description") VALUES('delete', old.rowid, old."name", old."description");
END;
CREATE TRIGGER "permissions_ai" AFTER INSERT ON "permissions" BEGIN
  INSERT INTO "permissions_fts" (rowid, "name", "description") VALUES (new.rowid, new."name", new."description");
END;
CREATE TRIGGER "permissions_au" AFTER UPDATE ON "permissions" BEGIN
  INSERT INTO "permissions_fts" ("permissions_fts", rowid, "name", "description") VALUES('delete', old.rowid, old."name", old."description");
  INSERT INTO "permissions_fts" (rowid, "name", "description") VALUES (new.rowid, new."name", new."description");
END;
CREATE VIEW "current_grants" AS 
select p.product, p.canonical_url as page, v.build, o.title as operation, o.kind, o.identity,
       perm.provider, perm.name as permission, g.name as spelling, perm.access_level, perm.risk,
       g.effect, g.placement, g.optional, v.last_updated, v._first_seen as first_seen
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
join grants g on g.operation = o.id
join permissions perm on perm.id = g.permission
where p._removed_at is null;
CREATE VIEW "current_operations" AS 
select p.product, p.canonical_url as page, p.title as page_title, v.build, v.last_updated,
       o.id as operation_id, o.key, o.title as operation, o.kind, o.identity, o.section,
       o.description,
       (select count(distinct g.permission) from grants g where g.operation = o.id
          and g.effect = 'Allow' and g.not_action = 0 and o.kind != 'trust-policy') as permissions
from pages p
join page_versions v on v.id = p.current_version
join operations o on o.page_version = v.id
where p._removed_at is null;
CREATE VIEW "operation_history" AS 
select i.operation_id, i.product, i.family, i.page, i.key, i.title, i.kind, i.build, i.build_key,
       i.first_seen,
       (select count(distinct g.permission) from grants g where g.operation = i.operation_id
          and g.effect = 'Allow' and g.not_action = 0 and i.kind != 'trust-policy') as permissions
from operation_identity i;
CREATE VIEW "operation_identity" AS 
select o.id as operation_id, o.key, o.page_version, v.page as page_id, p.product,
       coalesce(p.family, p.canonical_url) as family, p.canonical_url as page,
       coalesce(nullif(nullif(v.title, ''), p.slug), nullif(nullif(p.title, ''), p.slug),
    (select f.title from pages f where coalesce(f.family, f.canonical_url) = coalesce(p.family, p.canonical_url)
     and f.title != f.slug and f.title != '' order by f.id desc limit 1),
    upper(substr(p.slug, 1, 1)) || replace(substr(p.slug, 2), '_', ' ')) as page_title, o.section, o.title, o.title_key, o.kind,
       o.identity, o.position, v.build, r.sort_key as build_key, v._first_seen as first_seen
from operations o
join page_versions v on v.id = o.page_version
join pages p on p.id = v.page
left join releases r on r.id = v.release;
CREATE VIEW "operation_requirements" AS 
select i.operation_id, i.key, i.product, i.family, i.page, i.page_version, i.title, i.section,
       i.kind, i.build, i.build_key, i.first_seen, g.id as grant_id, perm.id as permission_id,
       perm.provider, perm.name as permission, perm.name_key, g.name as spelling, perm.risk,
       g.optional, g.sid, g.placement, g.resources, g.conditions, g.m365_api, g.m365_type
from operation_identity i
join grants g on g.operation = i.operation_id
join permissions perm on perm.id = g.permission
where i.kind != 'trust-policy' and g.effect = 'Allow' and g.not_action = 0;
CREATE VIEW "required_grants" AS 
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
where o.kind != 'trust-policy';
CREATE VIEW "version_spans" AS 
select v.id as page_version, v.page as page_id, p.product,
       coalesce(p.family, p.canonical_url) as family, p.canonical_url as page, v.build,
       r.sort_key as build_key, v.run, v._first_seen as first_seen,
       lead(v._first_seen) over (partition by v.page order by v._first_seen, v.id) as replaced_at
from page_versions v
join pages p on p.id = v.page
left join releases r on r.id = v.release;
