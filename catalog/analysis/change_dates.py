"""When did the page change? A comparison of two points may skip versions of a page (a build
change followed by a metadata-only version, a correction within a build); each change row then
carries the date the page reached the compared state for that row, not the date of the last
version in between (issue 22: `iam:SimulatePrincipalPolicy` arrived on 2026-04-29 with build
13.0.1.2067, not with the 13.0.2.29 version of 2026-06-04 that only restated it).
"""

from __future__ import annotations

from dataclasses import replace

from sqlite_utils import Database

from catalog.analysis.diff import Change, diff_versions, load_version


def _row_key(change: Change) -> tuple:
    return (change.key, change.change, change.provider, (change.permission or "").lower(), change.from_,
            change.to)


def version_chain(db: Database, unit: str, by_family: bool, before: int | None, after: int) -> list[int]:
    """The versions of a unit from just after `before` to `after`, in the order the points read
    them: (build, first seen) within a page family, first seen along one page URL. Empty when
    `after` does not come later (a comparison backwards in time)."""
    if by_family:
        versions = [row[0] for row in db.execute(
            "select page_version from version_spans where family = ? and build_key is not null "
            "order by build_key, first_seen, page_version", [unit])]
    else:
        versions = [row[0] for row in db.execute(
            "select page_version from version_spans where page = ? order by first_seen, page_version", [unit])]
    if after not in versions or (before is not None and before not in versions):
        return []
    start = versions.index(before) + 1 if before is not None else 0
    return versions[start:versions.index(after) + 1]


def dated_changes(db: Database, changes: list[Change], chain: list[int], before: int | None) -> list[Change]:
    """`changes` (from `before` to the chain's last version) with `first_seen` set to the first
    sighting of the earliest version from which each row holds without a break until the end."""
    if len(chain) < 2 or not changes:
        return changes
    old = load_version(db, before) if before else None
    since = {_row_key(change): change.first_seen for change in changes}
    alive = set(since)
    for version in reversed(chain[:-1]):
        state = load_version(db, version)
        present = {_row_key(change) for change in diff_versions(old, state)}
        for key in list(alive):
            if key in present:
                since[key] = state.first_seen
            else:
                alive.discard(key)
        if not alive:
            break
    return [replace(change, first_seen=since[_row_key(change)]) for change in changes]
