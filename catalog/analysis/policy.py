"""The permission set an admin grants: chosen operations of a product at a build."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from catalog.analysis.compare import VERSIONS_AT_BUILD, CompareError, resolve
from catalog.analysis.policy_docs import PermissionSet, collect
from catalog.storage.keys import build_sort_key


@dataclass
class Selection:
    product: str
    build: str
    operations: list[tuple[str, str]]  # (page, operation key: section path and title)
    permissions: PermissionSet
    rows: list[dict]


def _operations_at(db: Database, product: str, build: str) -> list[dict]:
    """Every non-trust operation of the versions current at `build`, one version per page family."""
    sql = VERSIONS_AT_BUILD + """
    select c.family as page, o.id, coalesce(o.key, o.title) as title
    from chosen c join operations o on o.page_version = c.version
    where o.kind != 'trust-policy' order by c.family, o.position
    """
    return [dict(row) for row in db.query(sql, {"product": product, "key": build_sort_key(build)})]


def select_permissions(db: Database, product: str, build: str | None, texts: tuple[str, ...],
                       include_optional: bool = False) -> Selection:
    point = resolve(db, product, build or "latest")
    if point.by != "build":
        raise CompareError(f"--build takes a build of {product}, not a date ({build})")
    operations = _operations_at(db, product, point.value)
    wanted = [text.lower() for text in texts]
    chosen = [op for op in operations if any(text in op["title"].lower() for text in wanted)]
    if not chosen:
        titles = sorted({op["title"] for op in operations})
        raise CompareError(
            f"no operation of {product} at build {point.value} matches {', '.join(map(repr, texts))}; "
            f"operations: {'; '.join(titles[:40])}{' ...' if len(titles) > 40 else ''}")
    marks = ",".join("?" * len(chosen))
    rows = [dict(row) for row in db.query(
        "select perm.provider, perm.name, perm.risk, g.placement, g.m365_api, g.m365_type, g.optional "
        f"from grants g join permissions perm on perm.id = g.permission where g.operation in ({marks}) "
        "and g.effect = 'Allow' and g.not_action = 0" + ("" if include_optional else " and g.optional = 0")
        + " order by g.id", [op["id"] for op in chosen])]
    return Selection(product, point.value, [(op["page"], op["title"]) for op in chosen], collect(rows), rows)
