"""Diffable text: the current catalog as one sorted JSON file per product and per page release.

Byte-for-byte stable for an unchanged catalog (sorted keys and rows, no timestamps of
the export itself), so a git commit of the export shows exactly what changed.

The export owns its folder: a manifest (`.veeam-perms-export.json`) lists every file it wrote,
and only those files are ever replaced or deleted. A folder holding anything else is refused,
so pointing `--to` at the wrong place cannot delete a user's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from sqlite_utils import Database

from catalog.paths import links_inside, path_inside, write_inside
from catalog.urls import parse_url

MANIFEST = ".veeam-perms-export.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NO_PRODUCT = "_no_product"


class ExportError(ValueError):
    """The target folder cannot be exported into; the message names it and says why."""


def _release_name(row: dict) -> str:
    """guide__slug, plus the release (`ver-12` for `?ver=12`, `archive-12` for /archive/12/)."""
    parts = parse_url(row["canonical_url"])
    name = "__".join(part for part in (row["guide"], row["slug"]) if part) or f"page-{row['id']}"
    if parts.version_label:
        kind = "archive" if "/archive/" in parts.canonical else "ver"
        name += f"__{kind}-{parts.version_label}"
    return _UNSAFE.sub("_", name)


def planned_files(db: Database) -> dict[str, dict]:
    """Relative file path -> current page row, one file per current page release."""
    plan: dict[str, dict] = {}
    for page in db.query("select * from pages where current_version is not null and "
                         "_removed_at is null order by canonical_url"):
        folder = _UNSAFE.sub("_", page["product"] or _NO_PRODUCT)
        path = f"{folder}/{_release_name(page)}.json"
        if path in plan:  # two URLs that differ only in unsafe characters: keep both
            digest = hashlib.sha256(page["canonical_url"].encode()).hexdigest()[:10]
            path = f"{folder}/{_release_name(page)}__{digest}.json"
        plan[path] = page
    return plan


def _text(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _dump(target: Path, relative: str, text: str) -> None:
    """Write one file of the export, only inside `target` and only when its text changed."""
    path = path_inside(target, relative)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_inside(target, relative, text)


def page_record(db: Database, page: dict) -> dict:
    version = next(db.query("select * from page_versions where id = ?", [page["current_version"]]))
    operations = []
    for op in db.query("select i.operation_id as id, i.key, i.title, i.kind, i.section, i.identity, "
                       "o.description from operation_identity i join operations o on o.id = i.operation_id "
                       "where i.page_version = ? order by i.position", [version["id"]]):
        grants = sorted(
            ({"permission": g["name"], "provider": g["provider"], "effect": g["effect"],
              "sid": g["sid"], "resources": json.loads(g["resources"]) if g["resources"] else [],
              "conditions": g["conditions"], "placement": g["placement"],
              "m365_api": g["m365_api"], "m365_type": g["m365_type"], "optional": bool(g["optional"]),
              "not_action": bool(g["not_action"])}
             for g in db.query("select g.*, p.name, p.provider from grants g join permissions p "
                               "on p.id = g.permission where g.operation = ?", [op["id"]])),
            key=lambda g: json.dumps(g, sort_keys=True))
        operations.append({"key": op["key"], "title": op["title"], "kind": op["kind"],
                           "section": op["section"], "description": op["description"],
                           "identity": op["identity"], "permissions": grants})
    return {"url": page["canonical_url"], "release": parse_url(page["canonical_url"]).version_label,
            "title": version["title"], "build": version["build"],
            "last_updated": version["last_updated"], "operations": operations}


def owned_files(target: Path) -> set[str]:
    """The files a previous export wrote into `target`; refuses a folder holding anything else."""
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target}: not a folder")
    links = links_inside(target) if target.exists() else []
    if links:
        raise ExportError(f"{target}: holds a symbolic link ({links[0].relative_to(target)} -> "
                          f"{os.readlink(links[0])}); the export writes only real files and folders inside "
                          "its folder: remove the link or export elsewhere")
    present = {p.relative_to(target).as_posix() for p in target.rglob("*")
               if not p.is_dir()} if target.exists() else set()
    manifest = target / MANIFEST
    owned: set[str] = set()
    if manifest.exists():
        try:
            owned = set(json.loads(manifest.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError, TypeError) as error:
            raise ExportError(f"{manifest}: not a veeam-perms export manifest") from error
    foreign = sorted(present - owned - {MANIFEST})
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise ExportError(f"{target}: holds files the export did not write ({foreign[0]}{more}); "
                          "export into an empty folder or a previous export's folder")
    return owned & present


def _write_manifest(target: Path, files: set[str]) -> None:
    _dump(target, MANIFEST, _text({"written_by": "veeam-perms export", "files": sorted(files)}))


def export_catalog(db: Database, target: Path) -> int:
    """Write the export; return how many files it holds (the manifest not counted)."""
    target = Path(target)
    owned = owned_files(target)
    plan = planned_files(db)
    products: dict[str, dict] = {}
    for path, page in plan.items():
        products.setdefault(path.split("/", 1)[0], {"pages": []})["pages"].append(page["canonical_url"])
    summaries = {f"{product}.json": summary for product, summary in products.items()}
    wanted = set(plan) | set(summaries)
    target.mkdir(parents=True, exist_ok=True)
    # Own every file before it exists, so an interrupted export leaves nothing it cannot clean up.
    _write_manifest(target, owned | wanted)
    for path, page in plan.items():
        _dump(target, path, _text(page_record(db, page)))
    for name, summary in summaries.items():
        summary["builds"] = [row["build"] for row in db.query(
            "select build from releases where product = ? order by sort_key", [name[:-5]])]
        _dump(target, name, _text(summary))
    for stale in sorted(owned - wanted):
        path_inside(target, stale).unlink(missing_ok=True)
        _remove_empty_parents(target / stale, target)
    _write_manifest(target, wanted)
    return len(wanted)


def _remove_empty_parents(path: Path, top: Path) -> None:
    parent = path.parent
    while parent != top and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def page_from_export(record: dict, product: str):
    """Read one exported page file back into a `Page` (the inverse of `page_record`)."""
    from catalog.model import Operation, Page, Permission
    from catalog.names import normalize

    parts = parse_url(record["url"])
    operations = [Operation(
        key=op.get("key") or "", title=op["title"], kind=op["kind"], section=op["section"],
        description=op.get("description"), identity=op["identity"],
        permissions=[Permission(
            provider=g["provider"], name=g["permission"], normalized=normalize(g["provider"], g["permission"]),
            effect=g["effect"], sid=g["sid"], resources=g["resources"], conditions=g["conditions"],
            placement=g["placement"], m365_api=g["m365_api"], m365_type=g["m365_type"],
            optional=g["optional"], not_action=g["not_action"]) for g in op["permissions"]])
        for op in record["operations"]]
    return Page(url=record["url"], product=product, guide=parts.guide, slug=parts.slug,
                version_label=parts.version_label, title=record["title"], build=record["build"],
                last_updated=record["last_updated"], source_kind="markdown-dump", operations=operations)
