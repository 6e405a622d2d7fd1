"""The permission set an admin grants: chosen operations of a product at a build."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from catalog.analysis.compare import CompareError, Point, resolve, versions_at
from catalog.analysis.policy_docs import PermissionSet, collect, documents_for, trust_policy
from catalog.model import display_label, operation_matches
from catalog.storage.views import GRANTED


@dataclass
class Selection:
    product: str
    build: str
    operations: list[tuple[str, str]]  # (page, operation title)
    permissions: PermissionSet
    rows: list[dict]
    ids: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return policy_name(self.product, self.build, [label for _, label in self.operations])

    def documents(self) -> dict[str, str]:
        """The paste-ready texts `veeam-perms policy --format F` prints for this selection."""
        return documents_for(self.rows, self.name)


def operations_at(db: Database, product: str, point: Point, include_trust: bool = False) -> list[dict]:
    """Every operation of the versions in force at `point`, one version per page family at a build
    (page by page at a date), in page order. Trust policies (who may assume a role: nothing to
    grant) only with `include_trust`, with their principals."""
    versions = versions_at(db, product, point, by_family=point.by == "build")
    marks = ",".join("?" * len(versions))
    rows = [dict(row) for row in db.query(
        "select i.operation_id as id, i.family as page, i.page as url, i.page_title, i.section, i.title, i.key, "
        "i.kind, o.description, o.principals from operation_identity i "
        f"join operations o on o.id = i.operation_id where i.page_version in ({marks}) "
        + ("" if include_trust else "and i.kind != 'trust-policy' ")
        + "order by i.family, i.position", list(versions.values()))]
    for row in rows:
        row["principals"] = json.loads(row["principals"]) if row["principals"] else []
    return rows


def permission_rows(db: Database, operation_ids: list[int], include_optional: bool) -> list[dict]:
    """The Allow (not NotAction) grants of the operations, in catalog order: a policy's input."""
    marks = ",".join("?" * len(operation_ids))
    return [dict(row) for row in db.query(
        "select perm.provider, perm.name, perm.risk, g.placement, g.m365_api, g.m365_type, g.optional "
        f"from grants g join permissions perm on perm.id = g.permission where g.operation in ({marks}) "
        f"and {GRANTED}" + ("" if include_optional else " and g.optional = 0")
        + " order by g.id", operation_ids)]


def policy_name(product: str, build: str | None, titles: list[str]) -> str:
    """The name a policy, role or Terraform resource carries (cut to fit provider limits later)."""
    return f"Veeam {product} {build or 'dated'}: " + "; ".join(titles)


def _labelled(operations: list[dict]) -> list[dict]:
    for op in operations:
        op["label"] = display_label(op["section"], op["title"])
    return operations


def _selection(db: Database, product: str, point: Point, chosen: list[dict], include_optional: bool) -> Selection:
    rows = permission_rows(db, [op["id"] for op in chosen], include_optional)
    return Selection(product, point.label, [(op["page"], op["label"]) for op in chosen], collect(rows), rows,
                     [op["id"] for op in chosen])


def select_permissions(db: Database, product: str, build: str | None, texts: tuple[str, ...],
                       include_optional: bool = False) -> Selection:
    """The operations whose "Section › Title" contains one of `texts`, at a build or date (default
    latest)."""
    point = resolve(db, product, build or "latest")
    operations = _labelled(operations_at(db, product, point))
    chosen = [op for op in operations if operation_matches(op["section"], op["title"], texts)]
    if not chosen:
        titles = sorted({op["title"] for op in operations})
        raise CompareError(
            f"no operation of {product} at {point.by} {point.label} matches {', '.join(map(repr, texts))}; "
            f"operations: {'; '.join(titles[:40])}{' ...' if len(titles) > 40 else ''}")
    return _selection(db, product, point, chosen, include_optional)


def select_operations(db: Database, product: str, build: str | None, ids: tuple[int, ...],
                      include_optional: bool = False) -> Selection:
    """The operations picked by id (the website's multi-select), at a build or date (default
    latest): the same selection, merge and documents as `select_permissions` for the same set."""
    point = resolve(db, product, build or "latest")
    if not ids:
        raise CompareError("pick at least one operation")
    operations = _labelled(operations_at(db, product, point))
    chosen = [op for op in operations if op["id"] in set(ids)]
    stray = sorted(set(ids) - {op["id"] for op in chosen})
    if stray:
        raise CompareError(f"{product} at {point.by} {point.label} has no operation with permissions numbered "
                           f"{', '.join(map(str, stray[:10]))}{' ...' if len(stray) > 10 else ''}")
    return _selection(db, product, point, chosen, include_optional)


def permission_pages(db: Database, product: str, point: Point | None = None) -> int:
    """A product's permission pages: the pages (release URLs of one page count once) whose version
    in force at `point` (default latest) lists an operation, one that grants permissions or a
    trust policy. The one count `veeam-perms stats`, the home page and the product page show."""
    try:
        point = point or resolve(db, product, "latest")
    except CompareError:
        return 0
    return len({op["page"] for op in operations_at(db, product, point, include_trust=True)})


def trust_document(db: Database, operation_id: int) -> str | None:
    """A trust-policy operation's trust relationship, ready to paste (None for other operations)."""
    row = db.execute("select kind, principals from operations where id = ?", [operation_id]).fetchone()
    if row is None or row[0] != "trust-policy" or not row[1]:
        return None
    grants = db.execute("select distinct perm.name, g.conditions from grants g join permissions perm "
                        "on perm.id = g.permission where g.operation = ? and g.effect = 'Allow' order by g.id",
                        [operation_id]).fetchall()
    actions = list(dict.fromkeys(name for name, _ in grants)) or ["sts:AssumeRole"]
    conditions = [conditions for _, conditions in grants if conditions]
    return json.dumps(trust_policy(json.loads(row[1]), actions, conditions), indent=2)
