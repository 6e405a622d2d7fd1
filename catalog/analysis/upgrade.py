"""Upgrade delta: what to grant and what may be revoked when moving a product between builds."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from catalog.analysis.compare import VERSIONS_AT_BUILD, CompareError, resolve
from catalog.storage.keys import build_sort_key


@dataclass(frozen=True)
class Required:
    provider: str
    name: str
    risk: str | None
    optional: bool
    where: tuple[str, ...]  # "page: operation" places that require it


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
        def rows(items):
            return [{"permission": r.name, "provider": r.provider, "risk": r.risk,
                     "optional": r.optional, "required_by": list(r.where)} for r in items]
        return {"product": self.product, "from": self.from_build, "to": self.to_build,
                "operations": list(self.operations), "add": rows(self.add),
                "revoke": rows(self.revoke), "unchanged": self.keep}


def required_at(db: Database, product: str, build: str, operations: tuple[str, ...]) -> dict:
    """(page, operation title key, provider, name_key) -> what the versions current at `build` ask.

    Keyed per operation: a role is granted for an operation, so a permission another
    operation already needed is still one to add to this operation's role.
    """
    sql = VERSIONS_AT_BUILD + """
    select c.family as url, o.title, o.title_key, perm.provider, perm.name, perm.name_key, perm.risk,
           g.optional
    from chosen c join operations o on o.page_version = c.version
    join grants g on g.operation = o.id join permissions perm on perm.id = g.permission
    where o.kind != 'trust-policy' and g.effect = 'Allow' and g.not_action = 0
    """
    wanted = [text.lower() for text in operations]
    found: dict[tuple[str, str], dict] = {}
    for row in db.query(sql, {"key": build_sort_key(build), "product": product}):
        if wanted and not any(text in row["title"].lower() for text in wanted):
            continue
        key = (row["url"], row["title_key"], row["provider"], row["name_key"])
        entry = found.setdefault(key, {
            "name": row["name"], "risk": row["risk"], "optional": True, "where": set()})
        entry["optional"] = entry["optional"] and bool(row["optional"])
        entry["where"].add(f"{row['url'].rsplit('/', 1)[-1]}: {row['title']}")
    return {key: Required(key[2], e["name"], e["risk"], e["optional"], tuple(sorted(e["where"])))
            for key, e in found.items()}


def _merge(items: list[Required]) -> list[Required]:
    """One line per permission, naming every operation it is for."""
    merged: dict[tuple[str, str], Required] = {}
    for item in items:
        key = (item.provider, item.name.lower())
        if key in merged:
            seen = merged[key]
            item = Required(item.provider, seen.name, seen.risk or item.risk,
                            seen.optional and item.optional, tuple(sorted({*seen.where, *item.where})))
        merged[key] = item
    return list(merged.values())


def upgrade_delta(db: Database, product: str, from_text: str, to_text: str,
                  operations: tuple[str, ...] = ()) -> UpgradeDelta:
    old, new = resolve(db, product, from_text), resolve(db, product, to_text)
    for point, text in ((old, from_text), (new, to_text)):
        if point.by != "build":
            raise ValueError(f"upgrade compares builds; {text!r} is a date")
    before = required_at(db, product, old.value, operations)
    after = required_at(db, product, new.value, operations)
    if operations and not (before or after):
        raise CompareError(f"no operation of {product} at build {old.value} or {new.value} matches "
                           f"{', '.join(map(repr, operations))}")

    def risk_first(item: Required):
        return (item.risk is None, item.optional, item.provider, item.name.lower())

    return UpgradeDelta(
        product, old.value, new.value, operations,
        add=sorted(_merge([after[k] for k in after.keys() - before.keys()]), key=risk_first),
        revoke=sorted(_merge([before[k] for k in before.keys() - after.keys()]), key=risk_first),
        keep=len(after.keys() & before.keys()))


def format_upgrade(delta: UpgradeDelta) -> str:
    scope = ", ".join(delta.operations) if delta.operations else "all operations"
    lines = [f"Upgrade {delta.product} {delta.from_build} -> {delta.to_build} ({scope})",
             f"Grant ({len(delta.add)}):"]
    for item in delta.add:
        risk = f"  [risk: {item.risk}]" if item.risk else ""
        lines.append(f"  {'!' if item.risk else '+'} {item.name}{risk}{' (optional)' * item.optional}")
        lines.extend(f"      for {place}" for place in item.where[:3])
    lines.append(f"May revoke ({len(delta.revoke)}):")
    lines.extend(f"  - {item.name}" for item in delta.revoke)
    lines.append(f"Unchanged (per operation): {delta.keep}")
    return "\n".join(lines)

