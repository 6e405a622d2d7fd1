"""Choose which page versions to compare: by build, by date, latest/previous, or a page's history."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlite_utils import Database

from catalog.analysis.diff import Change, diff_versions, load_version
from catalog.storage.keys import build_sort_key

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# `chosen(family, version)`: for each page family of :product, the version that applies at the
# build whose sort key is :key (the newest build not after it). Callers append their select.
VERSIONS_AT_BUILD = """
with families as (
    select distinct coalesce(family, canonical_url) as family from pages where product = :product
), chosen as (
    select f.family, (
        select v.id from page_versions v join releases r on r.id = v.release
        join pages p on p.id = v.page
        where coalesce(p.family, p.canonical_url) = f.family and r.sort_key <= :key
        order by r.sort_key desc, v._first_seen desc, v.id desc limit 1) as version
    from families f
)
"""


class CompareError(ValueError):
    """A point to compare that the catalog cannot resolve; the message says what exists."""


@dataclass(frozen=True)
class Point:
    """A moment of the catalog: `by` is "build" or "date", `value` the build or date."""

    by: str
    value: str

    def __str__(self) -> str:
        return self.value


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


def resolve(db: Database, product: str, text: str, other: str | None = None) -> Point:
    """`13.0.1.1071`, `2026-03-01`, `latest` or `previous` (the build before the latest)."""
    builds = product_builds(db, product)
    if not builds:
        known = [row[0] for row in db.execute(
            "select distinct product from pages where product is not null order by 1")]
        raise CompareError(f"no builds of product {product!r} in the catalog; products: "
                           f"{', '.join(known) or 'none'}")
    if text == "latest":
        return Point("build", builds[-1])
    if text == "previous":
        if len(builds) < 2:
            raise CompareError(f"{product} has only one build ({builds[0]}): there is no previous")
        return Point("build", builds[-2])
    if _DATE.match(text):
        try:
            dt.date.fromisoformat(text)
        except ValueError as error:
            raise CompareError(f"{text!r} is not a real date (YYYY-MM-DD)") from error
        return Point("date", text + "T23:59:59+00:00")
    if text in builds:
        return Point("build", text)
    raise CompareError(f"{text!r} is not a build of {product}, a YYYY-MM-DD date, 'latest' or "
                       f"'previous'; builds: {', '.join(builds)}")


def _version_at(db: Database, page_ids: list[int], point: Point) -> int | None:
    marks = ",".join("?" * len(page_ids))
    if point.by == "date":
        sql = (f"select id from page_versions where page in ({marks}) and _first_seen <= ? "
               "order by _first_seen desc, id desc limit 1")
        row = db.execute(sql, [*page_ids, point.value]).fetchone()
    else:
        sql = ("select v.id from page_versions v join releases r on r.id = v.release "
               f"where v.page in ({marks}) and r.sort_key <= ? "
               "order by r.sort_key desc, v._first_seen desc, v.id desc limit 1")
        row = db.execute(sql, [*page_ids, build_sort_key(point.value)]).fetchone()
    return row[0] if row else None


def _units(db: Database, product: str, by_build: bool) -> list[list[int]]:
    """What is compared: each page on a timeline; across builds, each page family (all releases)."""
    key = "coalesce(family, canonical_url)" if by_build else "canonical_url"
    groups = db.execute(f"select group_concat(id) from pages where product = ? group by {key} "
                        f"order by {key}", [product]).fetchall()
    return [[int(part) for part in row[0].split(",")] for row in groups]


def compare_product(db: Database, product: str, old: Point, new: Point) -> Comparison:
    result = Comparison()
    for page_ids in _units(db, product, old.by == new.by == "build"):
        before, after = _version_at(db, page_ids, old), _version_at(db, page_ids, new)
        if before == after:
            continue
        result.pages_compared += 1
        _add(db, result, before, after)
    return result


def _add(db: Database, result: Comparison, before: int | None, after: int | None) -> None:
    changes = diff_versions(load_version(db, before) if before else None,
                            load_version(db, after) if after else None)
    if changes:
        result.changes.extend(changes)
    else:
        result.metadata_only += 1


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
    versions = [row[0] for row in db.execute(
        "select id from page_versions where page = ? order by _first_seen, id", [page_id])]
    result = Comparison()
    for before, after in zip(versions, versions[1:], strict=False):
        if since and db.execute("select _first_seen < ? from page_versions where id = ?",
                                [since, after]).fetchone()[0]:
            continue
        result.pages_compared += 1
        _add(db, result, before, after)
    return result


def changes_since(db: Database, since: str, product: str | None = None, run_id: int | None = None) -> Comparison:
    """Every version first seen on or after `since` (a date or timestamp), or written by one run,
    against the version before it."""
    where, params = ["v._first_seen >= ?"], [since]
    if product:
        where.append("p.product = ?")
        params.append(product)
    if run_id is not None:
        where.append("v.run = ?")
        params.append(run_id)
    sql = ("select v.id, v.page, p.product from page_versions v join pages p on p.id = v.page "
           f"where {' and '.join(where)} order by p.product, v._first_seen, v.id")
    result = Comparison()
    for version_id, page_id, _ in db.execute(sql, params).fetchall():
        previous = db.execute(
            "select id from page_versions where page = ? and id != ? and (_first_seen < "
            "(select _first_seen from page_versions where id = ?) or (_first_seen = (select "
            "_first_seen from page_versions where id = ?) and id < ?)) order by _first_seen desc, "
            "id desc limit 1", [page_id, version_id, version_id, version_id, version_id]).fetchone()
        if previous is None:
            url, seen, build, count = db.execute(
                "select p.canonical_url, v._first_seen, v.build, v.permission_count from page_versions v "
                "join pages p on p.id = v.page where v.id = ?", [version_id]).fetchone()
            result.new_pages.append((url, seen, build, count))
            continue
        result.pages_compared += 1
        _add(db, result, previous[0], version_id)
    return result


def feed_changes(db: Database, product: str) -> list[Change]:
    """Each change of a product once: build-to-build differences, then corrections within a build."""
    builds = product_builds(db, product)
    changes: list[Change] = []
    for older, newer in zip(builds, builds[1:], strict=False):
        changes += compare_product(db, product, Point("build", older), Point("build", newer)).changes
    changes += [c for c in changes_since(db, "0000-01-01", product).changes if c.kind == "correction"]
    return changes
