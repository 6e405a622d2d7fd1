"""The catalog's side of `check`: what the operations need at each requested point, and what the
first point beyond a principal's coverage adds.

Nothing here decides what applies at a build: `upgrade.required_at` (through `compare.versions_at`
and the `operation_requirements` view) is asked for each point, and `upgrade.upgrade_delta` for
what a build adds, so `check --builds` and `veeam-perms upgrade` cannot disagree. Points are
builds; a product whose pages state no build is read by date (the days its permissions changed),
as `diff` reads it.
"""

from __future__ import annotations

from sqlite_utils import Database

from catalog.analysis.check import Checked, Need, Needs
from catalog.analysis.compare import CompareError, Point, _change_days, _end_of_day, product_builds, resolve
from catalog.analysis.upgrade import Required, merge_required, required_at, upgrade_delta


def _pick(db: Database, product: str, labels: list[str], by: str, text: str, first: bool) -> str:
    """A range end, as one of `labels`. A build prefix (`13.0` = every 13.0.x.y) is the one thing
    a range adds; everything else is read by `compare.resolve`, as `--build` and `diff` read it. A
    date of a dated product stands for the last change day on or before it."""
    if by == "build" and text not in labels and text not in ("latest", "previous"):
        prefixed = [label for label in labels if label.startswith(text.rstrip(".") + ".")]
        if prefixed:
            return prefixed[0] if first else prefixed[-1]
    point = resolve(db, product, text)
    if point.by != by:
        raise CompareError(f"--builds {text}: {product} is read by build; name builds, not dates "
                           f"(builds: {', '.join(labels)})")
    if by == "build":
        return point.value
    in_force = [day for day in labels if day <= point.label]
    if not in_force:
        raise CompareError(f"--builds {text}: before {product}'s first change ({labels[0]})")
    return in_force[-1]


def requested_points(db: Database, product: str, build: str | None, builds: str | None) -> list[Point]:
    """The points to check, oldest first: one (`--build`, default latest) or a range (`--builds`:
    `all`, `A..B`, or one build)."""
    if builds is None:
        return [resolve(db, product, build or "latest")]
    labels = product_builds(db, product)
    by = "build"
    if not labels:
        resolve(db, product, "latest")  # a product with no pages at all is refused here, naming the others
        labels, by = _change_days(db, product), "date"
    start, _, end = builds.partition("..")
    if builds == "all":
        chosen = labels
    elif _:
        low = labels.index(_pick(db, product, labels, by, start or labels[0], True))
        high = labels.index(_pick(db, product, labels, by, end or "latest", False))
        if low > high:
            raise CompareError(f"--builds {builds}: {labels[low]} comes after {labels[high]}")
        chosen = labels[low:high + 1]
    else:
        chosen = [_pick(db, product, labels, by, start, False)]
    return [Point(by, label if by == "build" else _end_of_day(label)) for label in chosen]


def needs_at(db: Database, product: str, point: Point, operations: tuple[str, ...]) -> Needs:
    """What the operations need at `point`, one entry per permission merged as `upgrade` merges
    them; an Azure name's placement is the one the pages in force give it (None when they differ).
    Microsoft 365 permissions are left out (no input format grants them)."""
    required = [item for item in required_at(db, product, point, point.by == "build", operations).values()
                if item.provider in ("aws", "azure", "gcp")]
    items = [Need(item.provider, item.name, item.risk, item.optional, _placement(item))
             for item in sorted(merge_required(required), key=lambda item: (item.provider, item.name.lower()))]
    return Needs(point.label, point.by, items)


def _placement(item: Required) -> str | None:
    if item.provider != "azure" or len(item.placements) != 1:
        return None
    [placement] = item.placements
    return placement if placement in ("actions", "dataActions") else None


def needs_for(db: Database, product: str, build: str | None, builds: str | None,
              operations: tuple[str, ...]) -> list[Needs]:
    """Needs at every requested point; an operation text that names nothing is refused with the
    titles that exist (the message `veeam-perms policy` gives)."""
    from catalog.analysis.policy import select_permissions

    points = requested_points(db, product, build, builds)
    found = [needs_at(db, product, point, operations) for point in points]
    if not any(needs.items for needs in found):
        select_permissions(db, product, points[-1].label, operations)  # raises, naming the titles
        raise CompareError(f"the operations matching {', '.join(map(repr, operations))} need no AWS, Azure or "
                           f"Google Cloud permissions at {points[-1].by} {points[-1].label}")
    return found


def coverage_pairs(checked: list[Checked]) -> set[tuple[str, str]]:
    """(last point covered, the point after it) of every principal covered short of the last point."""
    return {(item.covers_through, item.next_point) for item in checked
            if item.covers_through is not None and item.next_point is not None}


def next_adds_for(db: Database, product: str, old: str, new: str, operations: tuple[str, ...]) -> list[dict]:
    """What `veeam-perms upgrade --from old --to new` says to grant (its `add` rows)."""
    return upgrade_delta(db, product, old, new, operations).as_json()["add"]


def apply_next_adds(checked: list[Checked], deltas: dict[tuple[str, str], list[dict]]) -> None:
    """Each principal is told what the next point adds for its provider: an AWS role is not told
    about Azure actions."""
    for item in checked:
        pair = (item.covers_through, item.next_point)
        if pair in deltas:
            item.next_adds = [row for row in deltas[pair] if row["provider"] == item.principal.provider]


def add_coverage(db: Database, product: str, checked: list[Checked], operations: tuple[str, ...]) -> None:
    """For each principal covered up to a point short of the last: what the next point adds,
    exactly as `veeam-perms upgrade --from <covered> --to <next>` says it."""
    apply_next_adds(checked, {pair: next_adds_for(db, product, *pair, operations) for pair in coverage_pairs(checked)})
