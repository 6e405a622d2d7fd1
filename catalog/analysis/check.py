"""Is an existing AWS policy or Azure role enough for what Veeam documents?

AWS evaluation follows IAM's logic for identity policies as far as actions go: an action
is granted when an Allow statement covers it (by `Action` pattern or by not matching
`NotAction`) and no Deny statement covers it. Resources and conditions are not evaluated;
statements that narrow them are reported so the reader can judge.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field


class PolicyError(ValueError):
    """Bad input: the message names the file and, for JSON, the line and column."""


@dataclass
class CheckResult:
    kind: str  # aws | azure
    missing: list[str] = field(default_factory=list)
    granted_not_needed: list[str] = field(default_factory=list)
    risky_required: list[str] = field(default_factory=list)
    risky_granted_not_needed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return self.__dict__.copy()


# IAM policies and Azure role definitions nest about six levels (Statement, Condition, operator,
# key, values); anything far deeper is not a policy, and would exhaust the parser's recursion.
MAX_POLICY_DEPTH = 32


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def load_policy(text: str, where: str) -> dict:
    too_deep = PolicyError(f"{where}: nested deeper than {MAX_POLICY_DEPTH} levels; "
                           "not an IAM policy or Azure role definition")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(f"{where}: not valid JSON at line {error.lineno}, column {error.colno}: "
                          f"{error.msg}") from error
    except RecursionError as error:
        raise too_deep from error
    if _depth(value) > MAX_POLICY_DEPTH:
        raise too_deep
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a JSON object (an IAM policy or an Azure role definition)")
    return value


def _list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _get(mapping: dict, *keys: str):
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    for key in keys:
        if key.lower() in lowered:
            return lowered[key.lower()]
    return None


def _matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _statement_covers(statement: dict, action: str) -> bool:
    actions, not_actions = _get(statement, "Action"), _get(statement, "NotAction")
    if actions is not None:
        return any(_matches(p, action) for p in _list(actions) if isinstance(p, str))
    if not_actions is not None:
        return not any(_matches(p, action) for p in _list(not_actions) if isinstance(p, str))
    return False


def check_aws(policy: dict, required: dict[str, str | None], where: str) -> CheckResult:
    """`required`: action name -> risk label (or None)."""
    statements = _list(_get(policy, "Statement"))
    if not statements or not all(isinstance(s, dict) for s in statements):
        raise PolicyError(f"{where}: an AWS policy needs a Statement object or list of objects")
    result = CheckResult("aws")
    allows = [s for s in statements if str(_get(s, "Effect") or "").lower() == "allow"]
    denies = [s for s in statements if str(_get(s, "Effect") or "").lower() == "deny"]
    for action in sorted(required, key=str.lower):
        granted = any(_statement_covers(s, action) for s in allows)
        if not granted or any(_statement_covers(s, action) for s in denies):
            result.missing.append(action)
    for statement in allows:
        for pattern in _list(_get(statement, "Action")):
            if isinstance(pattern, str) and not any(_matches(pattern, a) for a in required):
                result.granted_not_needed.append(pattern)
        if _get(statement, "NotAction") is not None:
            result.notes.append("an Allow with NotAction grants every other action, far more than needed")
        if _get(statement, "Resource") not in ("*", ["*"]) or _get(statement, "Condition"):
            result.notes.append(f"statement {_get(statement, 'Sid') or '(no Sid)'} narrows resources or "
                                "conditions; only actions were checked")
    result.risky_required = sorted(a for a, risk in required.items() if risk)
    return _risky_extras(result)


def _risky_extras(result: CheckResult) -> CheckResult:
    from catalog.storage.enrich import RISKY_AWS

    result.risky_granted_not_needed = sorted(p for p in result.granted_not_needed
                                             if p.lower() in RISKY_AWS or p.endswith("*"))
    result.granted_not_needed = sorted(set(result.granted_not_needed), key=str.lower)
    return result


def _azure_blocks(role: dict) -> list[dict]:
    inner = _get(role, "properties")
    if isinstance(inner, dict):
        role = inner
    permissions = _get(role, "permissions")
    if isinstance(permissions, list):
        return [p for p in permissions if isinstance(p, dict)]
    return [role]


def check_azure(role: dict, required: dict[tuple[str, str], str | None], where: str) -> CheckResult:
    """`required`: (placement family "actions"|"dataActions", name) -> risk label."""
    blocks = _azure_blocks(role)
    grants = {"actions": [], "dataActions": []}
    denies = {"actions": [], "dataActions": []}
    for block in blocks:
        grants["actions"] += _list(_get(block, "actions", "Actions"))
        grants["dataActions"] += _list(_get(block, "dataActions", "DataActions"))
        denies["actions"] += _list(_get(block, "notActions", "NotActions"))
        denies["dataActions"] += _list(_get(block, "notDataActions", "NotDataActions"))
    if not any(grants.values()):
        raise PolicyError(f"{where}: an Azure role needs actions or dataActions")
    result = CheckResult("azure")
    for (family, name) in sorted(required, key=lambda k: (k[0], k[1].lower())):
        allowed = any(_matches(p, name) for p in grants[family]) and \
            not any(_matches(p, name) for p in denies[family])
        if not allowed:
            result.missing.append(name if family == "actions" else f"{name} (dataActions)")
    for family, patterns in grants.items():
        for pattern in patterns:
            if not any(_matches(pattern, n) for f, n in required if f == family):
                result.granted_not_needed.append(pattern)
    result.risky_required = sorted(n for (_, n), risk in required.items() if risk)
    result.granted_not_needed = sorted(set(result.granted_not_needed), key=str.lower)
    result.risky_granted_not_needed = [p for p in result.granted_not_needed if "*" in p or
                                       p.lower().startswith("microsoft.authorization/")]
    return result


def detect_kind(document: dict) -> str:
    if _get(document, "Statement") is not None:
        return "aws"
    if any(_get(block, "actions", "Actions", "dataActions", "DataActions") is not None
           for block in _azure_blocks(document)):
        return "azure"
    return "unknown"


def format_result(result: CheckResult) -> str:
    lines = [f"Missing ({len(result.missing)}):", *(f"  - {n}" for n in result.missing),
             f"Granted but not needed ({len(result.granted_not_needed)}):",
             *(f"  + {n}" for n in result.granted_not_needed),
             f"Risky permissions required ({len(result.risky_required)}):",
             *(f"  ! {n}" for n in result.risky_required)]
    if result.risky_granted_not_needed:
        lines += ["Risky grants that are not needed:", *(f"  !! {n}" for n in result.risky_granted_not_needed)]
    lines += [f"Note: {note}" for note in dict.fromkeys(result.notes)]
    lines.append("OK: nothing required is missing." if not result.missing else
                 f"NOT ENOUGH: {len(result.missing)} required permissions are missing.")
    return "\n".join(lines)


def check_text(text: str, where: str, selection) -> CheckResult:
    """Parse a policy text and check it against a `catalog.policy.Selection`."""
    document = load_policy(text, where)
    kind = detect_kind(document)
    if kind == "aws":
        required = {row["name"]: row["risk"] for row in selection.rows if row["provider"] == "aws"}
        if not required:
            raise PolicyError(f"{where}: an AWS policy, but the chosen operations need no AWS actions")
        return check_aws(document, required, where)
    if kind == "azure":
        required = {("dataActions" if row["placement"] == "dataActions" else "actions", row["name"]): row["risk"]
                    for row in selection.rows if row["provider"] == "azure"
                    and row["placement"] in (None, "actions", "dataActions")}
        if not required:
            raise PolicyError(f"{where}: an Azure role, but the chosen operations need no Azure actions")
        return check_azure(document, required, where)
    raise PolicyError(f"{where}: neither an AWS policy (Statement) nor an Azure role definition (actions)")
