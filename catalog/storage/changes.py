"""Semantic diffs between page versions: what an admin must add, may revoke, or should re-check.

The rule lives in storage because the catalog stores its answer: every time a page gets a new
version the writer records the change rows of each step along the page (`save_changes`, table
`requirement_changes`), so SQL over the catalog (the canned queries, any sqlite3 shell) reads
the same rows `veeam-perms diff` computes. `catalog.analysis.diff` is its public face.

Operations are matched by their key (section path + title) first, then by normalised title
within the same section, then by the overlap of their permission sets (same section first), so a
renamed operation is one rename plus its permission delta, not a removal and an addition.
Within an operation, statements do not matter: a permission moved from one statement to another
with the same effect, resources and conditions is no change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

from sqlite_utils import Database

RENAME_OVERLAP = 0.5


@dataclass(frozen=True)
class Change:
    page: str
    operation: str
    change: str  # added | removed | changed | renamed
    permission: str | None
    from_: str | None
    to: str | None
    kind: str  # build | correction
    provider: str | None = None
    risk: str | None = None
    from_build: str | None = None
    to_build: str | None = None
    first_seen: str | None = None
    """When the catalog first saw the page version that made the change."""
    operation_change: str | None = None  # added | removed when the whole operation is
    key: str | None = None
    """The operation's identity within its page (section path + title)."""
    section: str | None = None

    def as_json(self) -> dict:
        # Every field is a string or None: a shallow read is the record (`asdict` deep-copies, and
        # cost the scrape's writer ~1 ms a page).
        return {("from" if name == "from_" else name): getattr(self, name) for name in _CHANGE_FIELDS}


_CHANGE_FIELDS = tuple(item.name for item in fields(Change))


@dataclass
class OperationState:
    title: str
    key: str  # the operation's identity within its page (view `operation_identity`)
    kind: str
    title_key: str = ""
    section: str | None = None
    grants: dict[tuple[str, str], dict] = field(default_factory=dict)

    @property
    def keys(self) -> set[tuple[str, str]]:
        return set(self.grants)


@dataclass
class VersionState:
    id: int
    page: str
    build: str | None
    first_seen: str
    operations: list[OperationState]


def load_version(db: Database, version_id: int) -> VersionState:
    version = next(db.query(
        "select v.id, v.build, v._first_seen, p.canonical_url from page_versions v "
        "join pages p on p.id = v.page where v.id = ?", [version_id]))
    operations: dict[int, OperationState] = {}
    for row in db.query(
            "select o.id as op, o.title, i.key, o.title_key, o.kind, o.section, perm.provider,"
            " perm.name, perm.name_key, perm.risk, g.effect, g.resources, g.conditions, g.placement,"
            " g.not_action, g.optional "
            "from operations o join operation_identity i on i.operation_id = o.id "
            "left join grants g on g.operation = o.id "
            "left join permissions perm on perm.id = g.permission "
            "where o.page_version = ? order by o.position, g.id", [version_id]):
        state = operations.setdefault(row["op"], OperationState(
            row["title"], row["key"], row["kind"], row["title_key"], row["section"]))
        if row["name"] is None:
            continue
        entry = state.grants.setdefault((row["provider"], row["name_key"]), {
            "name": row["name"], "risk": row["risk"], "statements": set(), "optional": True})
        entry["statements"].add((row["effect"], row["resources"], row["conditions"],
                                 row["placement"], row["not_action"]))
        entry["optional"] = entry["optional"] and bool(row["optional"])
    return VersionState(version["id"], version["canonical_url"], version["build"],
                        version["_first_seen"], list(operations.values()))


def _describe(entry: dict) -> str:
    parts = []
    for effect, resources, conditions, placement, not_action in sorted(
            entry["statements"], key=lambda s: json.dumps(s, default=str)):
        words = [effect]
        if placement:
            words.append(f"in {placement}")
        if not_action:
            words.append("as NotAction")
        if resources and resources != '["*"]':
            words.append(f"on {', '.join(json.loads(resources))}")
        if conditions:
            words.append(f"when {conditions}")
        parts.append(" ".join(words))
    return "; ".join(parts) + (" (optional)" if entry["optional"] else "")


def _named(op: OperationState) -> dict:
    return {"operation": op.title, "key": op.key, "section": op.section}


def _jaccard(a: OperationState, b: OperationState) -> float:
    union = a.keys | b.keys
    return len(a.keys & b.keys) / len(union) if union else 1.0


def _greedy_pairs(left, right, allowed) -> list[tuple[int, int]]:
    """Pair indexes greedily by permission overlap, best first, among `allowed(i, j)` pairs."""
    scored = sorted(((_jaccard(a, b), -i, -j) for i, a in enumerate(left) for j, b in enumerate(right)
                     if allowed(i, j)), reverse=True)
    pairs, used_left, used_right = [], set(), set()
    for _, i, j in scored:
        if -i not in used_left and -j not in used_right:
            pairs.append((-i, -j))
            used_left.add(-i)
            used_right.add(-j)
    return pairs


def match_operations(old: list[OperationState], new: list[OperationState]):
    """Pairs (old, new), in rounds, each among the operations still unpaired: the same key; the
    same title key in the same section, then anywhere (a moved section); a rename within the
    section; a rename anywhere.

    A rename needs at least RENAME_OVERLAP of the two permission sets in common.
    """
    rounds = (
        lambda a, b: a.key == b.key,
        lambda a, b: a.title_key == b.title_key and a.section == b.section,
        lambda a, b: a.title_key == b.title_key,
        lambda a, b: a.section == b.section and _jaccard(a, b) >= RENAME_OVERLAP,
        lambda a, b: _jaccard(a, b) >= RENAME_OVERLAP,
    )
    pairs: list[tuple[int, int]] = []
    for same in rounds:
        taken_old, taken_new = {i for i, _ in pairs}, {j for _, j in pairs}
        pairs += _greedy_pairs(old, new, lambda i, j, same=same, t_old=taken_old, t_new=taken_new:
                               i not in t_old and j not in t_new and same(old[i], new[j]))
    matched_old, matched_new = {i for i, _ in pairs}, {j for _, j in pairs}
    return ([(old[i], new[j]) for i, j in pairs],
            [op for i, op in enumerate(old) if i not in matched_old],
            [op for j, op in enumerate(new) if j not in matched_new])


def diff_versions(old: VersionState | None, new: VersionState | None) -> list[Change]:
    """Changes from `old` to `new` (either may be None: the page appeared or went away)."""
    if old is None and new is None:
        return []
    ref = new or old
    kind = "build" if (old and new and old.build != new.build) or not (old and new) else "correction"
    base = {"page": ref.page, "kind": kind, "from_build": old.build if old else None,
            "to_build": new.build if new else None, "first_seen": new.first_seen if new else None}
    pairs, gone, arrived = match_operations(old.operations if old else [],
                                             new.operations if new else [])
    changes: list[Change] = []
    for before, after in pairs:
        if " ".join(before.title.lower().split()) != " ".join(after.title.lower().split()):
            changes.append(Change(**_named(after), change="renamed", permission=None,
                                  from_=before.title, to=after.title, **base))
        changes.extend(_permission_changes(before, after, base))
    for op in gone:
        changes.extend(Change(**_named(op), change="removed", permission=e["name"], from_=_describe(e),
                              to=None, provider=key[0], risk=e["risk"], operation_change="removed", **base)
                       for key, e in sorted(op.grants.items()))
    for op in arrived:
        changes.extend(Change(**_named(op), change="added", permission=e["name"], from_=None,
                              to=_describe(e), provider=key[0], risk=e["risk"], operation_change="added",
                              **base)
                       for key, e in sorted(op.grants.items()))
    return changes


def _permission_changes(before: OperationState, after: OperationState, base: dict) -> list[Change]:
    changes = []
    for key in sorted(after.keys - before.keys):
        entry = after.grants[key]
        changes.append(Change(**_named(after), change="added", permission=entry["name"],
                              from_=None, to=_describe(entry), provider=key[0], risk=entry["risk"],
                              **base))
    for key in sorted(before.keys - after.keys):
        entry = before.grants[key]
        changes.append(Change(**_named(after), change="removed", permission=entry["name"],
                              from_=_describe(entry), to=None, provider=key[0], risk=entry["risk"],
                              **base))
    for key in sorted(before.keys & after.keys):
        old, new = before.grants[key], after.grants[key]
        if old["statements"] != new["statements"] or old["optional"] != new["optional"]:
            changes.append(Change(**_named(after), change="changed", permission=new["name"],
                                  from_=_describe(old), to=_describe(new), provider=key[0],
                                  risk=new["risk"], **base))
    return changes


# The stored change rows: a `Change` as `veeam-perms diff --format json` prints it, plus where it
# happened (product, page family, the version that made it and the one before on the same page).
CHANGE_COLUMNS = {
    "id": int, "product": str, "page": str, "operation": str, "change": str, "permission": str,
    "from": str, "to": str, "kind": str, "provider": str, "risk": str, "from_build": str,
    "to_build": str, "first_seen": str, "operation_change": str, "key": str, "section": str,
    "family": str, "page_id": int, "page_version": int, "previous_version": int,
}


def page_steps(db: Database, page_id: int) -> list[tuple[int | None, int]]:
    """(version before, version) along one page URL, oldest first (the order of `version_spans`)."""
    versions = [row[0] for row in db.execute(
        "select id from page_versions where page = ? order by _first_seen, id", [page_id])]
    return list(zip([None, *versions], versions, strict=False))


def save_changes(db: Database, new_versions=None) -> int:
    """Write the change rows of the steps that involve the new page versions (each step's diff
    depends only on its two versions); `None` rewrites every page's whole history. Returns how
    many rows were written.

    A version stored out of time order (an older dump read later) splits the step it falls in:
    both new steps involve it, and the old step's rows are replaced.
    """
    if new_versions is None:
        pages = [row[0] for row in db.execute("select id from pages order by id")]
    else:
        new_versions = set(new_versions)
        pages = [row[0] for row in db.execute(
            "select distinct page from page_versions where id in (select value from json_each(?)) order by page",
            [json.dumps(sorted(new_versions))])]
    written = 0
    for page_id in pages:
        steps = page_steps(db, page_id)
        if new_versions is not None:
            steps = [(before, after) for before, after in steps if {before, after} & new_versions]
        written += _save_steps(db, page_id, steps)
    return written


def _save_steps(db: Database, page_id: int, steps: list[tuple[int | None, int]]) -> int:
    product, family = db.execute("select product, coalesce(family, canonical_url) from pages where id = ?",
                                 [page_id]).fetchone()
    db.execute("delete from requirement_changes where page_id = ? and page_version in "
               "(select value from json_each(?))", [page_id, json.dumps([after for _, after in steps])])
    rows, states = [], {}
    for before, after in steps:
        if before is not None and before not in states:
            states[before] = load_version(db, before)
        states[after] = load_version(db, after)
        rows += [{"product": product, **change.as_json(), "family": family, "page_id": page_id,
                  "page_version": after, "previous_version": before}
                 for change in diff_versions(states.get(before), states[after])]
    if rows:
        columns = [name for name in CHANGE_COLUMNS if name != "id"]
        db.conn.executemany(
            f"insert into requirement_changes ({', '.join(f'[{c}]' for c in columns)}) "
            f"values ({', '.join('?' * len(columns))})", [[row[c] for c in columns] for row in rows])
    return len(rows)


def change_from_row(row: dict) -> Change:
    """A stored change row as the `Change` the diff made."""
    return Change(page=row["page"], operation=row["operation"], change=row["change"],
                  permission=row["permission"], from_=row["from"], to=row["to"], kind=row["kind"],
                  provider=row["provider"], risk=row["risk"], from_build=row["from_build"],
                  to_build=row["to_build"], first_seen=row["first_seen"],
                  operation_change=row["operation_change"], key=row["key"], section=row["section"])


def stored_changes(db: Database, page_versions: list[int]) -> dict[int, list[Change]]:
    """Page version -> the changes it made against the version before it on its page, as stored."""
    found: dict[int, list[Change]] = {version: [] for version in page_versions}
    for start in range(0, len(page_versions), 500):
        chunk = page_versions[start:start + 500]
        for row in db.query(f"select * from requirement_changes where page_version in "
                            f"({','.join('?' * len(chunk))}) order by id", chunk):
            found[row["page_version"]].append(change_from_row(row))
    return found
