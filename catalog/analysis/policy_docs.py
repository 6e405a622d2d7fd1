"""Ready-to-paste documents: AWS IAM policies, Azure custom roles, GCP custom roles, Terraform.

AWS managed policies hold at most 6,144 characters (white space not counted), so a long
action list is split over several policy documents, each a valid policy on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

AWS_MANAGED_POLICY_LIMIT = 6144
AZURE_PLACEMENTS = ("actions", "notActions", "dataActions", "notDataActions")


@dataclass
class PermissionSet:
    """Sorted, de-duplicated names per provider (Azure per placement)."""

    aws: list[str] = field(default_factory=list)
    azure: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in AZURE_PLACEMENTS})
    gcp: list[str] = field(default_factory=list)
    m365: list[tuple[str, str, str]] = field(default_factory=list)  # (api, name, type)

    def is_empty(self) -> bool:
        return not (self.aws or any(self.azure.values()) or self.gcp or self.m365)


def collect(rows) -> PermissionSet:
    """Rows with provider, name, placement, m365_api, m365_type: first spelling wins per name."""
    result = PermissionSet()
    seen: set[tuple] = set()
    for row in rows:
        provider, name = row["provider"], row["name"]
        if provider == "azure":
            placement = row["placement"] or "actions"
            key = (provider, placement, name.lower())
        else:
            key = (provider, name.lower() if provider == "aws" else name, row.get("m365_api"))
        if key in seen:
            continue
        seen.add(key)
        if provider == "aws":
            result.aws.append(name)
        elif provider == "azure":
            result.azure[placement].append(name)
        elif provider == "gcp":
            result.gcp.append(name)
        else:
            result.m365.append((row.get("m365_api") or "", name, row.get("m365_type") or ""))
    result.aws.sort(key=str.lower)
    result.gcp.sort()
    result.m365.sort()
    for names in result.azure.values():
        names.sort(key=str.lower)
    return result


def _aws_size(document: dict) -> int:
    return len("".join(json.dumps(document).split()))


def _aws_document(actions: list[str], sid: str) -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}]}


def aws_policies(actions: list[str], sid: str = "VeeamPermissions",
                 limit: int = AWS_MANAGED_POLICY_LIMIT) -> list[dict]:
    """One policy document, or several when one would exceed the managed-policy size limit."""
    documents: list[dict] = []
    current: list[str] = []
    for action in actions:
        trial = _aws_document(current + [action], f"{sid}{len(documents) + 1}")
        if current and _aws_size(trial) > limit:
            documents.append(_aws_document(current, f"{sid}{len(documents) + 1}"))
            current = []
        current.append(action)
    if current or not documents:
        documents.append(_aws_document(current, f"{sid}{len(documents) + 1}"))
    if len(documents) == 1:
        documents[0]["Statement"][0]["Sid"] = sid
    return documents


def azure_role(permissions: PermissionSet, name: str, scope: str = "/subscriptions/{subscription-id}") -> dict:
    return {"Name": name, "IsCustom": True,
            "Description": f"Permissions Veeam documents for: {name}",
            "Actions": permissions.azure["actions"], "NotActions": permissions.azure["notActions"],
            "DataActions": permissions.azure["dataActions"],
            "NotDataActions": permissions.azure["notDataActions"], "AssignableScopes": [scope]}


def gcp_role_yaml(permissions: list[str], title: str) -> str:
    lines = [f"title: {json.dumps(title)}", f"description: {json.dumps('Permissions Veeam documents for: ' + title)}",
             "stage: GA", "includedPermissions:"]
    lines += [f"- {name}" for name in permissions]
    return "\n".join(lines) + "\n"


# Declared with the role, so the downloaded .tf validates on its own.
SUBSCRIPTION_SCOPE_VARIABLE = (
    'variable "subscription_scope" {\n'
    '  description = "The subscription the role is defined in and assignable at, '
    'e.g. /subscriptions/00000000-0000-0000-0000-000000000000"\n'
    "  type        = string\n}\n")


def terraform(permissions: PermissionSet, name: str) -> str:
    """HCL for the providers present: aws_iam_policy, azurerm_role_definition, google_project_iam_custom_role."""
    blocks = []
    slug = "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")[:60] or "veeam"
    for index, document in enumerate(aws_policies(permissions.aws) if permissions.aws else [], 1):
        suffix = f"_{index}" if len(permissions.aws) and index > 1 else ""
        blocks.append(f'resource "aws_iam_policy" "{slug}{suffix}" {{\n  name   = "{slug}{suffix}"\n'
                      f"  policy = jsonencode({json.dumps(document, indent=2)})\n}}\n")
    if any(permissions.azure.values()):
        role = azure_role(permissions, name)
        blocks.append(SUBSCRIPTION_SCOPE_VARIABLE)
        blocks.append(
            f'resource "azurerm_role_definition" "{slug}" {{\n  name  = {json.dumps(name)}\n'
            '  scope = var.subscription_scope\n  permissions {\n'
            + "".join(f"    {hcl} = {json.dumps(role[key])}\n" for hcl, key in (
                ("actions", "Actions"), ("not_actions", "NotActions"), ("data_actions", "DataActions"),
                ("not_data_actions", "NotDataActions")))
            + "  }\n  assignable_scopes = [var.subscription_scope]\n}\n")
    if permissions.gcp:
        blocks.append(f'resource "google_project_iam_custom_role" "{slug}" {{\n  role_id     = "{slug}"\n'
                      f"  title       = {json.dumps(name)}\n  permissions = {json.dumps(permissions.gcp)}\n}}\n")
    return "\n".join(blocks)


# format -> (label, file extension, media type) of the downloadable documents
FORMATS = {
    "aws": ("AWS IAM policy", "json", "application/json"),
    "azure": ("Azure custom role", "json", "application/json"),
    "gcp": ("Google Cloud custom role (YAML)", "yaml", "application/yaml"),
    "terraform": ("Terraform", "tf", "text/plain"),
    "m365": ("Microsoft 365 API permissions", "tsv", "text/tab-separated-values"),
}


def documents_for(rows, title: str) -> dict[str, str]:
    """The paste-ready texts, by format (only formats that apply), for grant rows; the same
    texts `veeam-perms policy --format` prints."""
    permissions = collect(rows)
    documents = {}
    if permissions.aws:
        policies = aws_policies(permissions.aws)
        documents["aws"] = json.dumps(policies[0] if len(policies) == 1 else policies, indent=2)
    if any(permissions.azure.values()):
        documents["azure"] = json.dumps(azure_role(permissions, title[:120]), indent=2)
    if permissions.gcp:
        documents["gcp"] = gcp_role_yaml(permissions.gcp, title[:100])
    if permissions.aws or any(permissions.azure.values()) or permissions.gcp:
        documents["terraform"] = terraform(permissions, title[:120])
    if permissions.m365:
        documents["m365"] = "\n".join(f"{api}\t{name}\t{kind}" for api, name, kind in permissions.m365)
    return documents


def parts_of(documents: dict[str, str]) -> dict[str, list[str]]:
    """Each format's documents to create, one paste-ready text each: an AWS text that is a JSON
    array (an action list too long for one managed policy) is several policies, pasted apart."""
    parts = {}
    for fmt, text in documents.items():
        if fmt == "aws" and text.lstrip().startswith("["):
            parts[fmt] = [json.dumps(policy, indent=2) for policy in json.loads(text)]
        else:
            parts[fmt] = [text]
    return parts


PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")


def trust_policy(principals: list[str], actions: list[str], conditions: list[str]) -> dict:
    """A role's trust relationship as the page states it: who (stored as `Kind:who`) may do which
    of `actions` (sts:AssumeRole...), under the page's condition when it states one."""
    grouped: dict[str, list[str]] = {}
    anyone = False
    for principal in principals:
        kind, _, who = principal.partition(":")
        if kind in PRINCIPAL_KINDS and who:
            grouped.setdefault(kind, []).append(who)
        else:
            anyone = anyone or principal == "*"
    statement: dict = {"Effect": "Allow",
                       "Principal": "*" if anyone and not grouped else
                       {kind: names[0] if len(names) == 1 else names for kind, names in grouped.items()},
                       "Action": actions[0] if len(actions) == 1 else actions}
    if len(set(conditions)) == 1:
        try:
            statement["Condition"] = json.loads(conditions[0])
        except ValueError:  # a condition stored as the page's own text: shown on the page, not pasted
            pass
    return {"Version": "2012-10-17", "Statement": [statement]}
