"""The permission set an admin grants: chosen operations of a product at a build."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from catalog.analysis.compare import CompareError, Point, resolve, versions_at
from catalog.analysis.policy_docs import PermissionSet, collect
from catalog.model import display_label, operation_matches


@dataclass
class Selection:
    product: str
    build: str
    operations: list[tuple[str, str]]  # (page, operation title)
    permissions: PermissionSet
    rows: list[dict]


def operations_at(db: Database, product: str, point: Point) -> list[dict]:
    """Every non-trust operation of the versions in force at `point`, one version per page family
    at a build (page by page at a date), in page order."""
    versions = versions_at(db, product, point, by_family=point.by == "build")
    marks = ",".join("?" * len(versions))
    return [dict(row) for row in db.query(
        "select operation_id as id, family as page, page as url, page_title, section, title, key "
        f"from operation_identity where page_version in ({marks}) and kind != 'trust-policy' "
        "order by family, position", list(versions.values()))]


def permission_rows(db: Database, operation_ids: list[int], include_optional: bool) -> list[dict]:
    """The Allow (not NotAction) grants of the operations, in catalog order: a policy's input."""
    marks = ",".join("?" * len(operation_ids))
    return [dict(row) for row in db.query(
        "select perm.provider, perm.name, perm.risk, g.placement, g.m365_api, g.m365_type, g.optional "
        f"from grants g join permissions perm on perm.id = g.permission where g.operation in ({marks}) "
        "and g.effect = 'Allow' and g.not_action = 0" + ("" if include_optional else " and g.optional = 0")
        + " order by g.id", operation_ids)]


def policy_name(product: str, build: str | None, titles: list[str]) -> str:
    """The name a policy, role or Terraform resource carries (cut to fit provider limits later)."""
    return f"Veeam {product} {build or 'dated'}: " + "; ".join(titles)


def select_permissions(db: Database, product: str, build: str | None, texts: tuple[str, ...],
                       include_optional: bool = False) -> Selection:
    """The operations whose "Section › Title" contains one of `texts`, at a build or date (default
    latest)."""
    point = resolve(db, product, build or "latest")
    operations = operations_at(db, product, point)
    for op in operations:
        op["label"] = display_label(op["section"], op["title"])
    chosen = [op for op in operations if operation_matches(op["section"], op["title"], texts)]
    if not chosen:
        titles = sorted({op["title"] for op in operations})
        raise CompareError(
            f"no operation of {product} at {point.by} {point.label} matches {', '.join(map(repr, texts))}; "
            f"operations: {'; '.join(titles[:40])}{' ...' if len(titles) > 40 else ''}")
    rows = permission_rows(db, [op["id"] for op in chosen], include_optional)
    return Selection(product, point.label, [(op["page"], op["label"]) for op in chosen], collect(rows), rows)
