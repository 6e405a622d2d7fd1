"""Upgrade delta: what to grant and what may be revoked when moving a product between builds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlite_utils import Database

from catalog.analysis.compare import CompareError, Point, resolve, versions_at
from catalog.analysis.diff import load_version, match_operations
from catalog.model import operation_matches


@dataclass(frozen=True)
class Required:
    provider: str
    name: str
    risk: str | None
    optional: bool
    where: tuple[str, ...]  # "page: operation" places that require it
    still: tuple[str, ...] = ()
    """For a permission to revoke: the places at the new point that still require it (other
    operations of the product: revoke it from this operation's role, not from the account)."""
    placements: frozenset[str] = frozenset()  # where the pages put it (Azure: actions, dataActions)


@dataclass
class UpgradeDelta:
    product: str
    from_build: str
    to_build: str
    operations: tuple[str, ...]
    add: list[Required] = field(default_factory=list)
    revoke: list[Required] = field(default_factory=list)
    keep: int = 0

    def as_json(self) -> dict:
        def rows(items, revoking=False):
            return [{"permission": r.name, "provider": r.provider, "risk": r.risk,
                     "optional": r.optional, "required_by": list(r.where),
                     **({"still_required_by": list(r.still)} if revoking else {})} for r in items]
        return {"product": self.product, "from": self.from_build, "to": self.to_build,
                "operations": list(self.operations), "add": rows(self.add),
                "revoke": rows(self.revoke, revoking=True), "unchanged": self.keep}

    def rows(self) -> list[dict]:
        """Grant rows then may-revoke rows, each flat (the canned query `upgrade_delta`)."""
        record = self.as_json()
        return [{"action": action, **{k: v for k, v in row.items() if not k.endswith("required_by")},
                 "required_by": "; ".join(row["required_by"]),
                 "still_required_by": "; ".join(row.get("still_required_by", []))}
                for action, key in (("grant", "add"), ("revoke", "revoke")) for row in record[key]]


def required_at(db: Database, product: str, point: Point, by_family: bool,
                operations: tuple[str, ...], renamed: dict[tuple[str, str], str] | None = None) -> dict:
    """(unit, operation identity, provider, name_key) -> what the versions in force at `point` ask
    (view `operation_requirements`).

    Keyed per operation: a role is granted for an operation, so a permission another
    operation already needed is still one to add to this operation's role. `renamed` maps an
    older (unit, key) onto the key the same operation has later, as the diff pairs them.
    """
    renamed = renamed or {}
    versions = versions_at(db, product, point, by_family)
    unit_of = {version: unit for unit, version in versions.items()}
    marks = ",".join("?" * len(unit_of))
    found: dict[tuple, dict] = {}
    for row in db.query(f"select * from operation_requirements where page_version in ({marks})",
                        list(unit_of)):
        if not operation_matches(row["section"], row["title"], operations):
            continue
        unit = unit_of[row["page_version"]]
        key = (unit, renamed.get((unit, row["key"]), row["key"]), row["provider"], row["name_key"])
        entry = found.setdefault(key, {
            "name": row["permission"], "risk": row["risk"], "optional": True, "where": set(), "placements": set()})
        entry["optional"] = entry["optional"] and bool(row["optional"])
        entry["placements"].add(row["placement"])
        entry["where"].add(f"{unit.rsplit('/', 1)[-1]}: {row['title']}")
    return {key: Required(key[2], e["name"], e["risk"], e["optional"], tuple(sorted(e["where"])),
                          placements=frozenset(e["placements"])) for key, e in found.items()}


def renamed_operations(db: Database, product: str, old: Point, new: Point,
                       by_family: bool) -> dict[tuple[str, str], str]:
    """(unit, key at `old`) -> key at `new` for operations the diff pairs across a rename or a
    changed section, so an upgrade never grants and revokes the same permission of one operation."""
    before, after = versions_at(db, product, old, by_family), versions_at(db, product, new, by_family)
    renamed = {}
    for unit in before.keys() & after.keys():
        if before[unit] == after[unit]:
            continue
        pairs, _, _ = match_operations(load_version(db, before[unit]).operations,
                                       load_version(db, after[unit]).operations)
        renamed.update({(unit, a.key): b.key for a, b in pairs if a.key != b.key})
    return renamed


def merge_required(items: list[Required]) -> list[Required]:
    """One line per permission, naming every operation it is for: optional only when every
    operation says so, the first risk and spelling seen. `upgrade` and `check` merge alike."""
    merged: dict[tuple[str, str], Required] = {}
    for item in items:
        key = (item.provider, item.name.lower())
        if key in merged:
            seen = merged[key]
            item = Required(item.provider, seen.name, seen.risk or item.risk,
                            seen.optional and item.optional, tuple(sorted({*seen.where, *item.where})),
                            placements=seen.placements | item.placements)
        merged[key] = item
    return list(merged.values())


def _still_required(revoke: list[Required], everywhere: dict) -> list[Required]:
    """Each permission to revoke with the places at the new point that still require it."""
    places: dict[tuple[str, str], set[str]] = {}
    for (_, _, provider, _), item in everywhere.items():
        places.setdefault((provider, item.name.lower()), set()).update(item.where)
    return [replace(item, still=tuple(sorted(places.get((item.provider, item.name.lower()), ()))))
            for item in revoke]


def upgrade_delta(db: Database, product: str, from_text: str, to_text: str,
                  operations: tuple[str, ...] = ()) -> UpgradeDelta:
    """Grant (risky first), may revoke, and how many (operation, permission) pairs stay.

    Points are builds, dates, `latest` or `previous`, as for `diff`; across two builds a page is
    read as its family (all release URLs), otherwise page by page.
    """
    old, new = resolve(db, product, from_text), resolve(db, product, to_text)
    by_family = old.by == new.by == "build"
    before = required_at(db, product, old, by_family, operations,
                         renamed_operations(db, product, old, new, by_family))
    after = required_at(db, product, new, by_family, operations)
    everywhere = required_at(db, product, new, by_family, ()) if operations else after
    if operations and not (before or after):
        raise CompareError(f"no operation of {product} at {old.by} {old.label} or {new.by} {new.label} matches "
                           f"{', '.join(map(repr, operations))}")

    def risk_first(item: Required):
        return (item.risk is None, item.optional, item.provider, item.name.lower())

    return UpgradeDelta(
        product, old.label, new.label, operations,
        add=sorted(merge_required([after[k] for k in after.keys() - before.keys()]), key=risk_first),
        revoke=sorted(_still_required(merge_required([before[k] for k in before.keys() - after.keys()]), everywhere),
                      key=risk_first),
        keep=len(after.keys() & before.keys()))


SHOWN_PLACES = 3  # "for ..." lines per permission in the text; the rest is counted


def _places(prefix: str, places: tuple[str, ...]) -> list[str]:
    lines = [f"      {prefix} {place}" for place in places[:SHOWN_PLACES]]
    if len(places) > SHOWN_PLACES:
        lines.append(f"      and {len(places) - SHOWN_PLACES} more")
    return lines


def format_upgrade(delta: UpgradeDelta) -> str:
    scope = ", ".join(delta.operations) if delta.operations else "all operations"
    lines = [f"Upgrade {delta.product} {delta.from_build} -> {delta.to_build} ({scope})",
             f"Grant ({len(delta.add)}):"]
    for item in delta.add:
        risk = f"  [risk: {item.risk}]" if item.risk else ""
        lines.append(f"  {'!' if item.risk else '+'} {item.name}{risk}{' (optional)' * item.optional}")
        lines += _places("for", item.where)
    lines.append(f"May revoke ({len(delta.revoke)}):")
    for item in delta.revoke:
        if item.still:
            others = f"{len(item.still)} other operation{'s' * (len(item.still) > 1)}"
            lines.append(f"  - {item.name}  (still required at {delta.to_build} by {others})")
            lines += _places("still for", item.still)
        else:
            lines.append(f"  - {item.name}")
    lines.append(f"Unchanged (per operation): {delta.keep}")
    return "\n".join(lines)

