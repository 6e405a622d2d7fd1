"""What makes a page version: the hash of what a page requires, when a new one is held back, what
a page holds worth storing, the title its source states; and the small keys stored with them.
The writer (store.py) applies these rules; nothing here touches the database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from catalog.model import Page
from catalog.urls import version_sort_key


def label_key(label: str) -> str:
    """A version label (`9`, `6a`, `8.1`) as text that sorts like the version."""
    return ".".join(f"{part:05d}" if isinstance(part, int) else part
                    for _, part in version_sort_key(label))


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def content_hash(page: Page) -> str:
    """Hash of what the page requires, independent of order, wording of metadata and dates."""
    operations = sorted(
        [op.key, op.title, op.description, op.kind, op.section, op.identity, sorted(op.principals), sorted(
            [p.provider, p.normalized, p.effect, p.sid, p.resources, p.conditions, p.not_action,
             p.placement, p.m365_api, p.m365_type, p.optional] for p in op.permissions)]
        for op in page.operations
    )
    mentions = sorted({(m.provider, m.normalized) for m in page.mentions})
    payload = json.dumps([page.build, operations, mentions], default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def is_anomalous(page: Page, current: dict | None) -> str | None:
    """A page that lost all or most of its operations under the same build is held back."""
    if not current or not current["operation_count"]:
        return None
    now, before = len(page.operations), current["operation_count"]
    if now == 0:
        return f"the page lost all {before} operations"
    if page.build == current["build"] and now * 2 < before:
        return f"operations fell from {before} to {now} under the same build {page.build}"
    return None


def holds_content(page: Page) -> bool:
    """Operations, mentions or lost content: a permission page (one that promised permissions the
    text lost is kept, to be reported)."""
    return bool(page.operations or page.mentions or any(warning.content_lost for warning in page.warnings))


def page_date(page: Page) -> str | None:
    return page.last_updated.isoformat() if page.last_updated else None


def own_title(page: Page) -> str | None:
    """The page's title as its source states it, or None when the source gave only the file name
    (dump pages before 2026-01-30 carry `title: <slug>` and no heading). The views' `PAGE_TITLE`
    applies the same rule in SQL."""
    title = " ".join((page.title or "").split())
    return title if title and title != page.slug else None
