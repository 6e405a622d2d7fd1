"""Write parsed pages into the catalog: the only module that writes SQLite rows of pages.

A `CatalogWriter` is one run. Every write of the run happens inside one
transaction opened by `run()`, so an exception, Ctrl-C or a killed process leaves
the catalog exactly as it was before the run; a long live scrape commits in steps instead
(`run(steps=True)`), each step whole or not at all.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

from sqlite_utils import Database

from catalog.model import Page
from catalog.storage.changes import save_changes
from catalog.storage.enrich import enrich
from catalog.storage.keys import build_sort_key, title_key
from catalog.storage.rows import insert as _insert
from catalog.storage.rows import insert_many as _insert_many
from catalog.storage.versions import (
    content_hash,
    holds_content,
    is_anomalous,
    label_key,
    own_title,
    page_date,
    utc_now,
)
from catalog.storage.views import save_build_versions
from catalog.urls import parse_url, require_helpcenter_url


@dataclass(frozen=True)
class Observation:
    """When and from where a page's text was seen."""

    observed_at: str
    source: str  # "git", "dir" or "live"
    source_ref: str | None = None
    path: str | None = None


class CatalogWriter:
    def __init__(self, db: Database, source: str, source_ref: str | None = None,
                 accept_anomalies: bool = False) -> None:
        self.db = db
        self.source, self.source_ref = source, source_ref
        self.accept_anomalies = accept_anomalies
        self.counts: Counter[str] = Counter()
        self.anomalies: list[str] = []
        self.run_id: int | None = None
        self._permission_ids: dict[tuple[str, str], int] = {}
        self._release_ids: dict[tuple[str, str], int] = {}
        self._new_versions: set[int] = set()
        self._new_builds: set[str] = set()  # products that got a release in this step

    @contextmanager
    def run(self, steps: bool = False):
        """One transaction for the whole run; the run row is written only if the run changed data.

        With `steps`, the run row is committed first and each `step()` commits on its own, so a
        killed run keeps the steps it finished (its row stays "running"; an exception marks it
        "interrupted"). The scraper runs that way, one step per batch of pages.
        """
        started = utc_now()
        if not steps:
            with self.db.atomic():
                self._open_run(started)
                yield self
                self._save_changes()
                self._close_run()
            return
        with self.db.atomic():
            self._open_run(started)
        try:
            yield self
        except BaseException:
            with self.db.atomic():
                self.db["runs"].update(self.run_id, {
                    "finished": utc_now(), "status": "interrupted",
                    "counts": json.dumps(dict(sorted(self.counts.items())))})
            raise
        with self.db.atomic():
            self._save_changes()
            self._close_run()

    @contextmanager
    def step(self):
        """One committed part of a run opened with `run(steps=True)`."""
        with self.db.atomic():
            yield self
            self._save_changes()

    def _save_changes(self) -> None:
        """The stored answers of the pages that got a version (their change rows, their product's
    build_versions), in the same transaction as the versions."""
        if not self._new_versions:
            return
        save_changes(self.db, self._new_versions)
        families: dict[str, set[str]] = {}
        for product, family in self.db.execute(
                "select distinct p.product, p.family from page_versions v join pages p on p.id = v.page "
                "where v.id in (select value from json_each(?))", [json.dumps(sorted(self._new_versions))]):
            families.setdefault(product, set()).add(family)
        # A new build gives every family of its product a row; otherwise only the new versions'
        # families changed (rewriting a product each batch made a long scrape quadratic).
        save_build_versions(self.db, families, {product: found for product, found in families.items()
                                                if product not in self._new_builds})
        self._new_versions.clear()
        self._new_builds.clear()

    def _open_run(self, started: str) -> None:
        self.run_id = self.db["runs"].insert({
            "source": self.source, "source_ref": self.source_ref, "started": started,
            "status": "running"}).last_pk

    def _close_run(self) -> None:
        # A run that stored fetches keeps its row: they refer to it (reparse may store nothing else).
        changed = self.counts["new_versions"] or self.counts["anomalies"] or \
            self.counts["removed"] or self.counts["commits"] or self.counts["fetched"]
        if changed or self.source == "live":
            status = "anomalies" if self.anomalies else "ok"
            self.db["runs"].update(self.run_id, {
                "finished": utc_now(), "status": status,
                "counts": json.dumps(dict(sorted(self.counts.items())))})
        else:
            self.db["runs"].delete(self.run_id)

    def _permission_id(self, provider: str, name: str, normalized: str) -> int:
        key = (provider, normalized)
        if key in self._permission_ids:
            return self._permission_ids[key]
        row = self.db.execute("select id from permissions where provider = ? and name_key = ?",
                              key).fetchone()
        if row:
            self._permission_ids[key] = row[0]
            return row[0]
        facts = enrich(provider, name)
        permission_id = self.db["permissions"].insert({
            "provider": provider, "name": name, "name_key": normalized, "service": facts.service,
            "access_level": facts.access_level, "description": facts.description,
            "known": None if facts.known is None else int(facts.known), "problem": facts.problem,
            "risk": facts.risk}).last_pk
        if facts.expands_to:
            self.db["wildcard_expansions"].insert_all(
                {"permission": permission_id, "action": action} for action in facts.expands_to)
        self._permission_ids[key] = permission_id
        return permission_id

    def _release_id(self, product: str | None, build: str | None, label: str | None,
                    seen: str) -> int | None:
        if not product or not build:
            return None
        key = (product, build)
        if key not in self._release_ids:
            row = self.db.execute("select id from releases where product = ? and build = ?",
                                  key).fetchone()
            if row:
                self._release_ids[key] = row[0]
            else:
                self._new_builds.add(product)
                self._release_ids[key] = self.db["releases"].insert({
                    "product": product, "build": build, "label": label,
                    "label_key": label_key(label) if label else None,
                    "sort_key": build_sort_key(build), "_first_seen": seen}).last_pk
        return self._release_ids[key]

    def _one(self, sql: str, params: list) -> dict | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None

    def _ensure_product(self, product: str | None) -> None:
        if product and not self.db.execute("select 1 from products where code = ?",
                                           [product]).fetchone():
            self.db["products"].insert({"code": product, "name": product})

    def save_page(self, page: Page, seen: Observation) -> str:
        """Store one observation of a page; return what happened (new, unchanged, held, skipped)."""
        if not page.url:
            self.counts["skipped"] += 1
            return "skipped"
        require_helpcenter_url(page.url)  # the readers' promise: every stored page URL is a helpcenter page
        existing = self._one("select * from pages where canonical_url = ?", [page.url])
        if existing is None and not holds_content(page):
            self.counts["skipped"] += 1  # not a permission page, and never was
            return "skipped"
        if existing is None:
            self._ensure_product(page.product)
            page_id = _insert(self.db, "pages", {
                "product": page.product, "guide": page.guide, "slug": page.slug,
                "canonical_url": page.url, "family": parse_url(page.url).family,
                "version_label": page.version_label, "title": page.title,
                "_first_seen": seen.observed_at, "_last_seen": seen.observed_at})
            current = None
        else:
            page_id = existing["id"]
            current = self._version(existing["current_version"])
        # A newer source may name a page that older dumps knew only by its file name, while its
        # operations (the version's content) stay the same: the page keeps the name it is given.
        self.db.execute("update pages set _last_seen = ?, _removed_at = null, title = coalesce(?, title) "
                        "where id = ?", [seen.observed_at, own_title(page), page_id])
        digest = content_hash(page)
        if current and current["content_hash"] == digest:
            self.db.execute("update page_versions set _last_seen = ? where id = ?",
                            [seen.observed_at, current["id"]])
            self.counts["metadata_only" if current["last_updated"] != page_date(page) else "unchanged"] += 1
            return "unchanged"
        reason = is_anomalous(page, current)
        if reason and not self.accept_anomalies:
            self.db["anomalies"].insert({
                "run": self.run_id, "page": page_id, "observed_at": seen.observed_at,
                "source_ref": seen.source_ref, "reason": reason, "held_hash": digest, "accepted": 0})
            self.anomalies.append(f"{page.url}: {reason} (held back)")
            self.counts["anomalies"] += 1
            return "held"
        self._insert_version(page, page_id, digest, seen)
        return "new"

    def skips_without_content(self, url: str | None) -> bool:
        """`save_page`'s answer for a page known to hold nothing (no operation, mention or lost
        content), asked without the page: skipped (and counted) unless the catalog has the page."""
        if url and self.db.execute("select 1 from pages where canonical_url = ?", [url]).fetchone():
            return False
        self.counts["skipped"] += 1
        return True

    def _version(self, version_id: int | None) -> dict | None:
        if version_id is None:
            return None
        return self._one("select * from page_versions where id = ?", [version_id])

    def _insert_version(self, page: Page, page_id: int, digest: str, seen: Observation) -> None:
        release = self._release_id(page.product, page.build, page.version_label, seen.observed_at)
        # what the page asks to grant, as view `operation_requirements` counts it
        distinct = {(p.provider, p.normalized) for op in page.operations if op.kind != "trust-policy"
                    for p in op.permissions if p.effect == "Allow" and not p.not_action}
        version_id = _insert(self.db, "page_versions", {
            "page": page_id, "content_hash": digest, "build": page.build,
            "build_source": page.build_source, "release": release,
            "version_label": page.version_label, "title": page.title, "last_updated": page_date(page),
            "operation_count": len(page.operations), "permission_count": len(distinct),
            "source": seen.source, "source_ref": seen.source_ref, "path": seen.path,
            "run": self.run_id, "_first_seen": seen.observed_at, "_last_seen": seen.observed_at})
        grants = []
        for position, op in enumerate(page.operations):
            operation_id = _insert(self.db, "operations", {
                "page_version": version_id, "position": position, "key": op.key, "title": op.title,
                "title_key": title_key(op.title), "section": op.section,
                "description": op.description, "identity": op.identity,
                "kind": op.kind, "principals": json.dumps(op.principals) if op.principals else None})
            for p in op.permissions:
                grants.append({
                    "operation": operation_id,
                    "permission": self._permission_id(p.provider, p.name, p.normalized),
                    "name": p.name, "effect": p.effect, "sid": p.sid,
                    "resources": json.dumps(p.resources) if p.resources else None,
                    "conditions": p.conditions, "not_action": int(p.not_action),
                    "placement": p.placement, "m365_api": p.m365_api, "m365_type": p.m365_type,
                    "optional": int(p.optional)})
        _insert_many(self.db, "grants", grants)
        _insert_many(self.db, "mentions", [{
            "page_version": version_id, "sentence": m.sentence,
            "permission": self._permission_id(m.provider, m.name, m.normalized)}
            for m in page.mentions])
        _insert_many(self.db, "warnings", [{"page_version": version_id, "block": w.block,
                                            "message": w.message} for w in page.warnings])
        self.db.execute("update pages set current_version = ?, title = coalesce(?, title) where id = ?",
                        [version_id, own_title(page), page_id])
        self._new_versions.add(version_id)
        self.counts["new_versions"] += 1

    def touch_page(self, url: str, observed_at: str) -> bool:
        """A conditional request said the page did not change: its current version was seen now."""
        cursor = self.db.execute(
            "update page_versions set _last_seen = ? where id = "
            "(select current_version from pages where canonical_url = ?)", [observed_at, url])
        self.db.execute("update pages set _last_seen = ? where canonical_url = ?", [observed_at, url])
        self.counts["unchanged"] += 1
        return cursor.rowcount > 0

    def touch_present(self, observed_at: str) -> None:
        """At the end of a history, every page of this source still present was seen then."""
        self.db.execute(
            "update page_versions set _last_seen = ? where _last_seen < ? and id in ("
            " select p.current_version from pages p where p._removed_at is null and p.id in ("
            "  select v.page from page_versions v join runs r on r.id = v.run"
            "  where r.source = ? and r.source_ref = ?))",
            [observed_at, observed_at, self.source, self.source_ref])

    def mark_removed(self, url: str, seen: Observation) -> None:
        """The source no longer has the page (a dump deleted the file): keep history, flag it."""
        cursor = self.db.execute(
            "update pages set _removed_at = ? where canonical_url = ? and _removed_at is null",
            [seen.observed_at, url])
        self.counts["removed"] += cursor.rowcount
