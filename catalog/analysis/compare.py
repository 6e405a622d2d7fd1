"""Choose which page versions to compare: by build, by date, latest/previous, or a page's history."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlite_utils import Database

from catalog.analysis.change_dates import dated_changes, version_chain
from catalog.analysis.diff import Change, diff_versions, load_version
from catalog.storage.changes import stored_changes
from catalog.storage.keys import build_sort_key

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CompareError(ValueError):
    """A point to compare that the catalog cannot resolve; the message says what exists."""


@dataclass(frozen=True)
class Point:
    """A moment of the catalog: `by` is "build" or "date", `value` the build or a timestamp."""

    by: str
    value: str

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The build, or the date (YYYY-MM-DD) the point stands for."""
        return self.value if self.by == "build" else self.value[:10]


@dataclass
class Comparison:
    changes: list[Change] = field(default_factory=list)
    pages_compared: int = 0
    metadata_only: int = 0
    """Version pairs whose builds or mentions differ but whose permissions do not."""
    new_pages: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    """First versions of pages (url, first seen, build, permissions): no baseline to diff against."""


def product_builds(db: Database, product: str) -> list[str]:
    return [row[0] for row in db.execute(
        "select build from releases where product = ? order by sort_key", [product])]


def require_product(db: Database, product: str) -> None:
    """Refuse a product the catalog has no pages of, naming the ones it has."""
    if not db.execute("select 1 from pages where product = ? limit 1", [product]).fetchone():
        known = [row[0] for row in db.execute(
            "select distinct product from pages where product is not null order by 1")]
        raise CompareError(f"no product {product!r} in the catalog; products: {', '.join(known) or 'none'}")


def _change_days(db: Database, product: str) -> list[str]:
    return [row[0] for row in db.execute(
        "select distinct substr(first_seen, 1, 10) from version_spans where product = ? order by 1",
        [product])]


def _end_of_day(day: str) -> str:
    return day + "T23:59:59+00:00"


def resolve(db: Database, product: str, text: str, other: str | None = None) -> Point:
    """`13.0.1.1071`, `2026-03-01`, `latest` or `previous` (the build before the latest).

    A product whose pages state no build is read by date: `latest` is its newest state and
    `previous` the end of the last day before its newest change.
    """
    builds = product_builds(db, product)
    if not builds:
        return _resolve_dated(db, product, text)
    if text == "latest":
        return Point("build", builds[-1])
    if text == "previous":
        if len(builds) < 2:
            raise CompareError(f"{product} has only one build ({builds[0]}): there is no previous")
        return Point("build", builds[-2])
    if _DATE.match(text):
        return _date_point(text)
    if text in builds:
        return Point("build", text)
    raise CompareError(f"{text!r} is not a build of {product}, a YYYY-MM-DD date, 'latest' or "
                       f"'previous'; builds: {', '.join(builds)}")


def _date_point(text: str) -> Point:
    try:
        dt.date.fromisoformat(text)
    except ValueError as error:
        raise CompareError(f"{text!r} is not a real date (YYYY-MM-DD)") from error
    return Point("date", _end_of_day(text))


def _resolve_dated(db: Database, product: str, text: str) -> Point:
    days = _change_days(db, product)
    if not days:
        require_product(db, product)
        raise CompareError(f"{product}: no page versions in the catalog")
    if text == "latest":
        return Point("date", _end_of_day(days[-1]))
    if text == "previous":
        if len(days) < 2:
            raise CompareError(f"{product} changed only on {days[0]}: there is no previous")
        return Point("date", _end_of_day(days[-2]))
    if _DATE.match(text):
        return _date_point(text)
    raise CompareError(f"{text!r} is not a YYYY-MM-DD date, 'latest' or 'previous'; {product} states "
                       f"no builds (changes seen {days[0]} .. {days[-1]})")


def versions_at(db: Database, product: str, point: Point, by_family: bool) -> dict[str, int]:
    """Unit (page family, or page URL) -> the page version in force at `point` (views
    `build_versions` and `version_spans`)."""
    if point.by == "build" and by_family:
        return {row[0]: row[1] for row in db.execute(
            "select family, page_version from build_versions where product = ? and build = ?",
            [product, point.value])}
    if point.by == "build":
        found: dict[str, int] = {}
        for url, version in db.execute(
                "select page, page_version from version_spans where product = ? and build_key <= ? "
                "order by build_key, first_seen, page_version", [product, build_sort_key(point.value)]):
            found[url] = version
        return found
    return {row[0]: row[1] for row in db.execute(
        "select page, page_version from version_spans where product = ? and first_seen <= ? "
        "and (replaced_at is null or replaced_at > ?)", [product, point.value, point.value])}


def version_pairs(db: Database, product: str, old: Point, new: Point) -> list[tuple[str, int | None, int | None]]:
    """(unit, version before, version after) for every unit whose version differs. Across builds
    a unit is a page family (all release URLs); otherwise one page URL."""
    by_family = old.by == new.by == "build"
    before, after = versions_at(db, product, old, by_family), versions_at(db, product, new, by_family)
    return [(unit, before.get(unit), after.get(unit)) for unit in sorted(before.keys() | after.keys())
            if before.get(unit) != after.get(unit)]


def compare_product(db: Database, product: str, old: Point, new: Point) -> Comparison:
    """The diff of each unit's version at `old` against its version at `new`; each row dated by
    when its page changed (`change_dates`)."""
    result = Comparison()
    by_family = old.by == new.by == "build"
    for unit, before, after in version_pairs(db, product, old, new):
        result.pages_compared += 1
        changes = diff_versions(load_version(db, before) if before else None,
                                load_version(db, after) if after else None)
        if after and changes:
            changes = dated_changes(db, changes, version_chain(db, unit, by_family, before, after), before)
        _count(result, changes)
    return result


def _count(result: Comparison, changes: list[Change]) -> None:
    if changes:
        result.changes.extend(changes)
    else:
        result.metadata_only += 1


def _change_steps(db: Database, product: str):
    """(moment, changes) of each page version that changed what the page asks, newest first; a
    page's first version on the day the catalog first saw the product is the baseline, not a change."""
    steps = db.execute(
        "select page_version, lag(page_version) over (partition by page_id order by first_seen, "
        "page_version) as previous, first_seen from version_spans where product = ? "
        "order by first_seen desc, page_version desc", [product]).fetchall()
    baseline = _baseline_day(db, product)
    steps = [(version, seen) for version, previous, seen in steps
             if not (previous is None and seen[:10] == baseline)]
    stored = stored_changes(db, [version for version, _ in steps])
    for version, seen in steps:
        if stored[version]:
            yield seen, stored[version]


def change_events(db: Database, product: str, limit: int = 10) -> list[dict]:
    """The product's latest permission changes, newest first: per day, the kinds (build change or
    correction within a build), the builds and how many rows changed."""
    days: dict[str, dict] = {}
    for seen, changes in _change_steps(db, product):
        if seen[:10] not in days and len(days) == limit:
            break
        day = days.setdefault(seen[:10], {"date": seen[:10], "changes": 0, "kinds": set(), "builds": set()})
        day["kinds"].add(changes[0].kind)
        day["builds"].add(changes[0].to_build or changes[0].from_build or "")
    events = []
    for day in days.values():
        before = (dt.date.fromisoformat(day["date"]) - dt.timedelta(days=1)).isoformat()
        # counted as the day's comparison counts them, so the link shows the same number
        day["changes"] = len(compare_product(db, product, Point("date", _end_of_day(before)),
                                             Point("date", _end_of_day(day["date"]))).changes)
        events.append({**day, "before": before, "kinds": sorted(day["kinds"]),
                       "builds": sorted(day["builds"] - {""})})
    return events


def _baseline_day(db: Database, product: str) -> str | None:
    """The day the catalog first saw the product: its pages' first versions that day are the
    starting point, not a change (pages that appear later are)."""
    row = db.execute("select min(substr(first_seen, 1, 10)) from version_spans where product = ?",
                     [product]).fetchone()
    return row[0] if row else None


def last_change(db: Database, product: str) -> Change | None:
    """The newest change of a product's permissions (a build change or a correction)."""
    return next((changes[0] for _, changes in _change_steps(db, product)), None)


def page_id_for(db: Database, url: str) -> int:
    from catalog.urls import canonicalize

    for candidate in (url, canonicalize(url)):
        row = db.execute("select id from pages where canonical_url = ?", [candidate]).fetchone()
        if row:
            return row[0]
    raise CompareError(f"no page {url!r} in the catalog")


def page_history(db: Database, url: str, since: str | None = None) -> Comparison:
    """Every consecutive pair of versions of one page; its first version is the baseline."""
    page_id = page_id_for(db, url)
    steps = [after for before, after, seen in db.execute(
        "select lag(id) over (order by _first_seen, id), id, _first_seen from page_versions where page = ? "
        "order by _first_seen, id", [page_id]) if before is not None and not (since and seen < since)]
    result = Comparison()
    stored = stored_changes(db, steps)
    for version in steps:
        result.pages_compared += 1
        _count(result, stored[version])
    return result


def changes_since(db: Database, since: str, product: str | None = None, run_id: int | None = None) -> Comparison:
    """Every version first seen on or after `since` (a date or timestamp), or written by one run,
    against the version before it on its page (view `version_spans`)."""
    where, params = ["first_seen >= ?"], [since]
    if product:
        where.append("product = ?")
        params.append(product)
    if run_id is not None:
        where.append("run = ?")
        params.append(run_id)
    sql = ("select page_version, previous, page, first_seen, build from (select *, lag(page_version) "
           "over (partition by page_id order by first_seen, page_version) as previous from version_spans) "
           f"where {' and '.join(where)} order by product, first_seen, page_version")
    result = Comparison()
    rows = db.execute(sql, params).fetchall()
    stored = stored_changes(db, [row[0] for row in rows if row[1] is not None])
    for version_id, previous, url, seen, build in rows:
        if previous is None:
            count = db.execute("select permission_count from page_versions where id = ?", [version_id]).fetchone()[0]
            result.new_pages.append((url, seen, build, count))
            continue
        result.pages_compared += 1
        _count(result, stored[version_id])
    return result


def feed_changes(db: Database, product: str) -> list[Change]:
    """Each change of a product once: build-to-build differences, then corrections within a build."""
    builds = product_builds(db, product)
    changes: list[Change] = []
    for older, newer in zip(builds, builds[1:], strict=False):
        changes += compare_product(db, product, Point("build", older), Point("build", newer)).changes
    changes += [c for c in changes_since(db, "0000-01-01", product).changes if c.kind == "correction"]
    return changes
