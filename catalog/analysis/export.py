"""Diffable text: the current catalog as one sorted JSON file per product and per page.

Byte-for-byte stable for an unchanged catalog (sorted keys and rows, no timestamps of
the export itself), so a git commit of the export shows exactly what changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlite_utils import Database

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(row: dict) -> str:
    name = "__".join(part for part in (row["guide"], row["slug"]) if part) or str(row["id"])
    return _UNSAFE.sub("_", name) + ".json"


def _dump(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def page_record(db: Database, page: dict) -> dict:
    version = next(db.query("select * from page_versions where id = ?", [page["current_version"]]))
    operations = []
    for op in db.query("select operation_id as id, title, kind, section, identity from operation_identity "
                       "where page_version = ? order by position", [version["id"]]):
        grants = sorted(
            ({"permission": g["name"], "provider": g["provider"], "effect": g["effect"],
              "sid": g["sid"], "resources": json.loads(g["resources"]) if g["resources"] else [],
              "conditions": g["conditions"], "placement": g["placement"],
              "m365_api": g["m365_api"], "m365_type": g["m365_type"], "optional": bool(g["optional"]),
              "not_action": bool(g["not_action"])}
             for g in db.query("select g.*, p.name, p.provider from grants g join permissions p "
                               "on p.id = g.permission where g.operation = ?", [op["id"]])),
            key=lambda g: json.dumps(g, sort_keys=True))
        operations.append({"title": op["title"], "kind": op["kind"], "section": op["section"],
                           "identity": op["identity"], "permissions": grants})
    return {"url": page["canonical_url"], "title": version["title"], "build": version["build"],
            "last_updated": version["last_updated"], "operations": operations}


def export_catalog(db: Database, target: Path) -> int:
    written: set[Path] = set()
    products: dict[str, dict] = {}
    for page in db.query("select * from pages where current_version is not null and "
                         "_removed_at is null order by canonical_url"):
        path = target / page["product"] / _file_name(page)
        _dump(path, page_record(db, page))
        written.add(path)
        products.setdefault(page["product"], {"pages": []})["pages"].append(page["canonical_url"])
    for product, summary in products.items():
        summary["builds"] = [row["build"] for row in db.query(
            "select build from releases where product = ? order by sort_key", [product])]
        path = target / f"{product}.json"
        _dump(path, summary)
        written.add(path)
    for stale in target.rglob("*.json") if target.exists() else []:
        if stale not in written:
            stale.unlink()
    return len(written)


def page_from_export(record: dict, product: str):
    """Read one exported page file back into a `Page` (the inverse of `page_record`)."""
    from catalog.model import Operation, Page, Permission
    from catalog.names import normalize
    from catalog.urls import parse_url

    parts = parse_url(record["url"])
    operations = [Operation(
        title=op["title"], kind=op["kind"], section=op["section"], identity=op["identity"],
        permissions=[Permission(
            provider=g["provider"], name=g["permission"], normalized=normalize(g["provider"], g["permission"]),
            effect=g["effect"], sid=g["sid"], resources=g["resources"], conditions=g["conditions"],
            placement=g["placement"], m365_api=g["m365_api"], m365_type=g["m365_type"],
            optional=g["optional"], not_action=g["not_action"]) for g in op["permissions"]])
        for op in record["operations"]]
    return Page(url=record["url"], product=product, guide=parts.guide, slug=parts.slug,
                version_label=parts.version_label, title=record["title"], build=record["build"],
                last_updated=record["last_updated"], source_kind="markdown-dump", operations=operations)
