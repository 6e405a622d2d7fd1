"""Typed records of what one helpcenter page says about permissions.

These models are the public contract between the parser and everything downstream
(catalog, diffs, JSON Lines output of `veeam-perms parse`). They are strict: an
unknown field is an error, so a typo in a producer fails loudly instead of
silently dropping data.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

Provider = Literal["aws", "azure", "gcp", "m365"]
OperationKind = Literal[
    "aws-policy", "azure-role", "gcp-list", "m365-table", "action-list", "trust-policy", "prose"
]
Placement = Literal["actions", "notActions", "dataActions", "notDataActions"]
SourceKind = Literal["markdown-dump", "html", "veeam-markdown"]
BuildSource = Literal["page", "label"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Permission(StrictModel):
    provider: Provider
    name: str
    """Exactly as written on the page (markdown escapes removed)."""
    normalized: str
    """Matching key: lower-case for AWS and Azure (case-insensitive there), as written otherwise."""
    effect: Literal["Allow", "Deny"] = "Allow"
    sid: str | None = None
    resources: list[str] = []
    conditions: str | None = None
    """The statement's Condition block as compact, key-sorted JSON."""
    not_action: bool = False
    """True when the entry came from an AWS `NotAction` list."""
    placement: Placement | None = None
    m365_api: str | None = None
    m365_type: str | None = None
    optional: bool = False


class Operation(StrictModel):
    title: str
    section: str | None = None
    identity: str | None = None
    kind: OperationKind
    permissions: list[Permission] = []
    principals: list[str] = []
    """For trust policies: who may assume the role."""
    block: int = 0
    """Index of the source block in the page's block stream (for messages)."""


class Mention(StrictModel):
    provider: Provider
    name: str
    normalized: str
    sentence: str


class ParseWarning(StrictModel):
    block: str
    message: str


class Page(StrictModel):
    url: str | None = None
    path: str | None = None
    product: str | None = None
    guide: str | None = None
    slug: str | None = None
    version_label: str | None = None
    title: str | None = None
    build: str | None = None
    build_source: BuildSource | None = None
    """Where the build came from: the page (front matter or footer) or, for an archived release
    whose page names no build, its release label."""
    last_updated: dt.date | None = None
    source_kind: SourceKind
    archived: bool = False
    operations: list[Operation] = []
    mentions: list[Mention] = []
    warnings: list[ParseWarning] = []

    def to_json_record(self) -> dict:
        """The stable JSON Lines shape printed by `veeam-perms parse --json`."""
        return self.model_dump(mode="json")


def describe_validation_error(error: ValidationError, where: str) -> str:
    """Turn a pydantic error into one readable line per problem, naming the page."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(record)"
        lines.append(f"{where}: {location}: {item['msg']}")
    return "\n".join(lines)
