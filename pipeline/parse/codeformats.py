"""Recognisers for the permission formats found in code blocks.

`read_code(text)` is a pure function of the block's text: it answers None when
the block does not hold permissions (a PowerShell sample, an example JSON), or a
`CodeReading` with the kind, the permissions and any note about what had to be
repaired or assumed. A block that clearly tries to list permissions but cannot be
read still yields a reading (names found by a token scan) plus a problem note,
so nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from catalog.model import OperationKind, Permission
from catalog.names import AWS_ACTION, AZURE_OPERATION, guess_provider, is_gcp_permission, normalize
from pipeline.parse.lenient_json import RecoveryError, clean_text, loads_lenient
from pipeline.parse.limits import MAX_CODE_CHARS, MAX_NAMES_PER_BLOCK, LimitExceeded

AZURE_PLACEMENTS = ("actions", "notActions", "dataActions", "notDataActions")
_PERMISSION_HINT = re.compile(r'"(?:Statement|Action|NotAction|actions|dataActions)"', re.I)
_QUOTED_AWS = re.compile(r'"([a-z0-9][a-z0-9-]*:[A-Za-z*][A-Za-z0-9*?]*)"')
_QUOTED_AZURE = re.compile(r'"((?:Microsoft\.[A-Za-z0-9.]+|\*)(?:/[A-Za-z0-9*._{}-]+)+)"', re.I)
_QUOTED_GCP = re.compile(r'"([a-z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+){2,})"')
_LIST_SPLIT = re.compile(r"[\s,;]+")
_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


@dataclass
class CodeReading:
    kind: OperationKind
    permissions: list[Permission]
    principals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: str | None = None
    """Set when the block could only be read in part; the caller turns it into a warning."""
    trust: CodeReading | None = None
    """Trust statements found beside grant statements in the same policy."""


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _get(mapping: dict, key: str):
    """JSON keys are matched case-insensitively: `Action`, `action` and `ACTION` all occur."""
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and candidate.lower() == lowered:
            return value
    return None


def _aws_permissions(statement: dict) -> list[Permission]:
    effect = "Deny" if str(_get(statement, "Effect") or "Allow").strip().lower() == "deny" else "Allow"
    sid = _get(statement, "Sid")
    resources = [str(item) for item in _as_list(_get(statement, "Resource"))]
    condition = _get(statement, "Condition")
    conditions = json.dumps(condition, sort_keys=True, separators=(",", ":")) if condition else None
    found = []
    for key, negated in (("Action", False), ("NotAction", True)):
        for name in _as_list(_get(statement, key)):
            if not isinstance(name, str) or not name.strip():
                continue
            name = name.strip()
            found.append(Permission(
                provider="aws", name=name, normalized=normalize("aws", name), effect=effect,
                sid=str(sid) if sid else None, resources=resources, conditions=conditions,
                not_action=negated,
            ))
    return found


def _principals(statement: dict) -> list[str]:
    principal = _get(statement, "Principal")
    if isinstance(principal, dict):
        return [f"{kind}:{who}" for kind, value in principal.items() for who in _as_list(value)]
    return [str(who) for who in _as_list(principal)]


def _read_aws(statements: list) -> CodeReading | None:
    grants, trust, principals = [], [], []
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        if _get(statement, "Principal") is not None or _get(statement, "NotPrincipal") is not None:
            trust.extend(_aws_permissions(statement))
            principals.extend(_principals(statement))
        else:
            grants.extend(_aws_permissions(statement))
    trust_reading = CodeReading("trust-policy", trust, principals) if trust else None
    if grants:
        return CodeReading("aws-policy", grants, trust=trust_reading)
    # A policy whose statements name no action: an empty reading, which the extractor reports.
    return trust_reading or (CodeReading("aws-policy", []) if statements else None)


def _azure_blocks(value: object) -> list[dict]:
    """Every mapping that holds Azure placements, wherever the role definition nests it."""
    if isinstance(value, list):
        return [found for item in value for found in _azure_blocks(item)]
    if not isinstance(value, dict):
        return []
    if any(_get(value, key) is not None for key in AZURE_PLACEMENTS):
        return [value]
    for key in ("properties", "permissions"):
        inner = _get(value, key)
        if inner is not None:
            return _azure_blocks(inner)
    return []


def _read_azure(blocks: list[dict]) -> CodeReading | None:
    found = []
    for block in blocks:
        for placement in AZURE_PLACEMENTS:
            for name in _as_list(_get(block, placement)):
                if isinstance(name, str) and name.strip():
                    name = name.strip()
                    found.append(Permission(
                        provider="azure", name=name, normalized=normalize("azure", name),
                        placement=placement,
                    ))
    return CodeReading("azure-role", found) if found or blocks else None


def _read_name_list(names: list) -> CodeReading | None:
    found = []
    for name in names:
        if not isinstance(name, str):
            return None
        provider = guess_provider(name.strip())
        if provider is None:
            return None
        found.append(Permission(provider=provider, name=name.strip(),
                                normalized=normalize(provider, name.strip())))
    return CodeReading("action-list", found) if found else None


def _interpret(value: object) -> CodeReading | None:
    if isinstance(value, str):
        return _read_name_list([value])
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return _read_name_list(value)
        if all(isinstance(item, dict) for item in value):
            return _read_aws(value) or _read_azure(_azure_blocks(value))
        return None
    if not isinstance(value, dict):
        return None
    statements = _get(value, "Statement")
    if statements is not None:
        return _read_aws(_as_list(statements))
    if _get(value, "Action") is not None or _get(value, "NotAction") is not None:
        return _read_aws([value])
    return _read_azure(_azure_blocks(value))


_WRAPPED = re.compile(r"^\s*([{\[])(.*)([}\]])\s*$", re.S)


def _read_gcp(text: str) -> CodeReading | None:
    wrapped = _WRAPPED.match(text)
    if wrapped and "{[".index(wrapped.group(1)) == "}]".index(wrapped.group(3)):
        text = wrapped.group(2)  # `{ compute.disks.get compute.disks.list }`: a list in braces
    if any(char in text for char in '{}[]":='):
        return None
    tokens = [token for token in _LIST_SPLIT.split(text) if token]
    names = [token for token in tokens if is_gcp_permission(token)]
    if len(names) < 2 or len(names) < 0.8 * len(tokens):
        return None
    reading = CodeReading("gcp-list", [
        Permission(provider="gcp", name=name, normalized=normalize("gcp", name)) for name in names
    ])
    skipped = [token for token in tokens if not is_gcp_permission(token)]
    if skipped:
        reading.notes.append("ignored words that are not permission names: " + ", ".join(skipped))
    return reading


def _token_scan(text: str, reason: str) -> CodeReading:
    names = [*_QUOTED_AWS.findall(text), *_QUOTED_AZURE.findall(text)]
    found = []
    for name in names:
        provider = "aws" if AWS_ACTION.match(name) else "azure" if AZURE_OPERATION.match(name) else None
        if provider:
            found.append(Permission(provider=provider, name=name, normalized=normalize(provider, name)))
    problem = f"{reason}; recovered {len(found)} names by scanning quoted strings"
    if '"Deny"' in text:
        problem += " (the block contains a Deny statement: effects are unknown)"
    return CodeReading("action-list", found, problem=problem)


def _unbalanced(text: str) -> str | None:
    """Brackets opened and never closed (or the reverse), ignoring those inside quoted strings."""
    bare = _QUOTED_STRING.sub('""', text)
    depth = {"{": bare.count("{") - bare.count("}"), "[": bare.count("[") - bare.count("]")}
    wrong = [f"{count:+d} '{opener}'" for opener, count in depth.items() if count]
    return ", ".join(wrong) if wrong else None


def lost_content(text: str) -> str | None:
    """Why a code block's text cannot be all of what the page held: empty, or unbalanced."""
    body = clean_text(text).strip()
    if not body:
        return "the block is empty"
    unbalanced = _unbalanced(body)
    if unbalanced:
        shown = body if len(body) <= 40 else body[:37] + "..."
        return f"the block is unbalanced ({unbalanced} left open): {shown!r}"
    return None


def looks_like_permissions(text: str) -> bool:
    return bool(_PERMISSION_HINT.search(text)) or len(_QUOTED_AWS.findall(text)) >= 1


def read_code(text: str) -> CodeReading | None:
    """Read a code block; None when it holds no permissions."""
    if len(text) > MAX_CODE_CHARS:
        raise LimitExceeded(f"a code block of {len(text):,} characters is over the {MAX_CODE_CHARS:,} limit")
    reading = _read(text)
    if reading is not None and len(reading.permissions) > MAX_NAMES_PER_BLOCK:
        raise LimitExceeded(f"a code block lists {len(reading.permissions):,} names, over the "
                            f"{MAX_NAMES_PER_BLOCK:,} limit")
    return reading


def _read(text: str) -> CodeReading | None:
    cleaned = clean_text(text)
    gcp = _read_gcp(cleaned)
    if gcp is not None:
        return gcp
    if not looks_like_permissions(cleaned) and not _QUOTED_AZURE.search(cleaned) and \
            len(_QUOTED_GCP.findall(cleaned)) < 2:
        return None
    try:
        value, repairs = loads_lenient(cleaned)
    except RecoveryError as error:
        return _token_scan(cleaned, str(error))
    reading = _interpret(value)
    if reading is None:
        if looks_like_permissions(cleaned):
            return _token_scan(cleaned, "the JSON is not a policy, role or list of names")
        return None
    reading.notes.extend(repairs)
    return reading
