"""Typed records of what one helpcenter page says about permissions.

These models are the public contract between the parser and everything downstream
(catalog, diffs, JSON Lines output of `veeam-perms parse`). They are strict: an
unknown field is an error, so a typo in a producer fails loudly instead of
silently dropping data.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from catalog.names import title_key

Provider = Literal["aws", "azure", "gcp", "m365"]
OperationKind = Literal[
    "aws-policy", "azure-role", "gcp-list", "m365-table", "action-list", "trust-policy", "prose",
    "inline-list",
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


SECTION_SEPARATOR = " › "
MAX_TITLE_CHARS = 100


class Operation(StrictModel):
    key: str = ""
    """Stable identity within the page: section path, short title, an ordinal where both repeat.
    Empty only until the page assigns keys (see `assign_keys`)."""
    title: str
    section: str | None = None
    """The path of headings above the operation, joined by SECTION_SEPARATOR."""
    description: str | None = None
    """The lead-in sentence that introduced the block, when there was one."""
    identity: str | None = None
    """Who the permissions are for ("IAM role", "service account"), when the text says."""
    kind: OperationKind
    permissions: list[Permission] = []
    principals: list[str] = []
    """For trust policies: who may assume the role."""
    block: int = 0
    """Index of the source block in the page's block stream (for messages)."""

    @property
    def label(self) -> str:
        """Section path and title as a reader sees them (the key is their matching form)."""
        return display_label(self.section, self.title)


class Mention(StrictModel):
    provider: Provider
    name: str
    normalized: str
    sentence: str


# A warning whose message starts "content-lost:" says a block's content could not be read; the
# store, the gate, stats and the site all ask for it by this prefix (`CONTENT_LOST_LIKE` in SQL).
CONTENT_LOST = "content-lost"
CONTENT_LOST_LIKE = f"{CONTENT_LOST}:%"


class ParseWarning(StrictModel):
    block: str
    message: str

    @property
    def content_lost(self) -> bool:
        return self.message.startswith(f"{CONTENT_LOST}:")


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

    @model_validator(mode="after")
    def _keys_are_assigned_and_unique(self) -> Page:
        if any(not operation.key for operation in self.operations):
            assign_keys(self.operations)
        seen: set[str] = set()
        for operation in self.operations:
            if operation.key in seen:
                raise ValueError(f"two operations share the key {operation.key!r}")
            seen.add(operation.key)
        return self

    def to_json_record(self) -> dict:
        """The stable JSON Lines shape printed by `veeam-perms parse --json`."""
        return self.model_dump(mode="json")


def display_label(section: str | None, title: str) -> str:
    """"Section › Title", or the title alone when it is the section's own heading or there is none."""
    if not section or section.rsplit(SECTION_SEPARATOR, 1)[-1] == title:
        return section or title
    return f"{section}{SECTION_SEPARATOR}{title}"


MAX_OPERATION_TEXTS = 20
MAX_OPERATION_TEXT_CHARS = 500


def operation_texts(*values: str | None) -> tuple[str, ...]:
    """The operation texts in comma-separated values (query arguments, a form field, a canned
    query's parameter): trimmed, empty ones dropped, and bounded, as they come from outside: at
    most 20 texts of at most 500 characters."""
    texts = (text.strip()[:MAX_OPERATION_TEXT_CHARS] for value in values for text in (value or "").split(","))
    return tuple(text for text in texts if text)[:MAX_OPERATION_TEXTS]


MAX_POINT_CHARS = 100
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: a larger id is no row


def bounded_int(text: str | None, maximum: int = MAX_ROW_ID) -> int | None:
    """A whole number from outside (an id, a page, a part), or None: ASCII digits only ("²" is a
    digit to `str.isdigit`), at most `maximum`, judged by length before `int()` (which refuses
    4,301 digits and more with an error)."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def point_text(value: str | None) -> str | None:
    """A build or date a user names (`from`, `to`, `build`, `builds` from a request or a form):
    trimmed and bounded, as it comes from outside; None when empty."""
    return (value or "").strip()[:MAX_POINT_CHARS] or None


def operation_matches(section: str | None, title: str, texts: tuple[str, ...] | list[str]) -> bool:
    """Does a user's `--operation` text (any of `texts`, case-insensitive) name this operation?
    It is looked for in "Section › Title"; no texts name every operation. The one rule the
    policy, upgrade and site surfaces share."""
    if not texts:
        return True
    label = display_label(section, title).lower()
    return any(text.lower() in label for text in texts)


def base_key(section: str | None, title: str) -> str:
    """The identity of (section path, title) before ordinals: each heading and the title in their
    matching form (`title_key`: case, articles, version numbers do not count), the title left out
    when it is the section's own heading. Readers see the title and section; this is for matching."""
    parts = [title_key(part) for part in section.split(SECTION_SEPARATOR)] if section else []
    own = title_key(title) or title.strip().lower()
    if not parts or parts[-1] != own:
        parts.append(own)
    return SECTION_SEPARATOR.join(parts)


def unique_key(base: str, used: set[str]) -> str:
    """`base`, or `base #2`, `#3`... the first not in `used` (which it joins)."""
    key, ordinal = base, 1
    while key in used:
        ordinal += 1
        key = f"{base} #{ordinal}"
    used.add(key)
    return key


def assign_keys(operations: list[Operation]) -> None:
    """Give every operation without a key its key: the first of a repeated (section, title) keeps
    the plain key, later ones get " #2", " #3" in page order, so adding a twin never renames the
    first. Keys already given are kept."""
    used = {operation.key for operation in operations if operation.key}
    for operation in operations:
        if not operation.key:
            operation.key = unique_key(base_key(operation.section, operation.title), used)


def describe_validation_error(error: ValidationError, where: str) -> str:
    """Turn a pydantic error into one readable line per problem, naming the page."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(record)"
        lines.append(f"{where}: {location}: {item['msg']}")
    return "\n".join(lines)
