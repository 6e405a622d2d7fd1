"""What an administrator holds, recognised by its shape, turned into principals.

A principal is what gets a verdict of its own: the policy documents of one file, an IAM role,
user or group of an account export, an Azure role definition, a Google Cloud custom role, a
Terraform resource. Shapes (forced with `--input-format`):

- `aws-policy`: an IAM policy document (`Statement`), or a JSON list of them (what
  `veeam-perms policy` prints when one would be too long), read together as one principal;
- `aws-account`: `aws iam get-account-authorization-details` (see `check_account`);
- `terraform-plan`: `terraform show -json` of a plan (see `check_terraform`);
- `azure-role`: a role definition (ARM, `az` or `New-AzRoleDefinition` spelling) or a list of them
  (`az role definition list`);
- `gcp-role`: a custom role as `gcloud iam roles describe` prints it (JSON or YAML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from catalog.analysis.check_aws import AwsGrant, as_list, get, parse_document
from catalog.analysis.check_cloud import AzureGrant, GcpGrant, azure_block
from catalog.analysis.check_load import MAX_DEPTH, PolicyError, Source, too_deep
from catalog.analysis.check_match import Patterns

ACCOUNT_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


@dataclass
class Principal:
    name: str
    kind: str  # aws policy|role|user|group, azure role definition, gcp custom role, or a Terraform type
    provider: str  # aws | azure | gcp
    source: str
    grant: AwsGrant | AzureGrant | GcpGrant | None  # None: nothing of it could be evaluated
    location: tuple[int, int] | None = None
    not_evaluated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_azure(value) -> bool:
    if not isinstance(value, dict):
        return False
    inner = get(value, "properties")
    role = inner if isinstance(inner, dict) else value
    blocks = [b for b in as_list(get(role, "permissions")) if isinstance(b, dict)] or [role]
    return any(get(b, "actions", "dataActions") is not None for b in blocks)


def recognise(value) -> str | None:
    if isinstance(value, list):
        if not value or not all(isinstance(item, dict) for item in value):
            return None
        if all(get(item, "Statement") is not None for item in value):
            return "aws-policy"
        if all(_is_azure(item) for item in value):
            return "azure-role"
        return "gcp-role" if all("includedPermissions" in item for item in value) else None
    if not isinstance(value, dict):
        return None
    if any(key in value for key in ACCOUNT_KEYS):
        return "aws-account"
    if "format_version" in value and ("planned_values" in value or "resource_changes" in value):
        return "terraform-plan"
    if get(value, "Statement") is not None:
        return "aws-policy"
    if "includedPermissions" in value:
        return "gcp-role"
    return "azure-role" if _is_azure(value) else None


def principals_of(source: Source, shape: str | None = None) -> list[Principal]:
    """Every principal of one input; `shape` forces how it is read."""
    found = shape or recognise(source.value)
    if found is None:
        raise PolicyError(f"{source.where}: not a recognised input: expected an AWS policy (Statement), an account "
                          "export (RoleDetailList...), a Terraform plan (format_version), an Azure role "
                          "definition (actions) or a Google Cloud role (includedPermissions)")
    if found != "terraform-plan" and source.depth > MAX_DEPTH:
        raise too_deep(source.where, MAX_DEPTH)
    if found == "aws-account":
        from catalog.analysis.check_account import account_principals

        return account_principals(source)
    if found == "terraform-plan":
        from catalog.analysis.check_terraform import plan_principals

        return plan_principals(source)
    items = source.value if isinstance(source.value, list) else [source.value]
    if found == "aws-policy":
        return [aws_policy_principal(source, items)]
    reader = azure_principal if found == "azure-role" else gcp_principal
    return [reader(source, item, index) for index, item in enumerate(items)]


def aws_policy_principal(source: Source, documents: list) -> Principal:
    if not all(isinstance(d, dict) for d in documents):
        raise PolicyError(f"{source.where}: expected a JSON object (an IAM policy) or a list of them")
    many = len(documents) > 1
    grant = AwsGrant([parse_document(d, source.where, f"policy {i + 1}" if many else "the policy")
                      for i, d in enumerate(documents)])
    return Principal(PurePath(source.where).name, "aws policy", "aws", source.where, grant, (1, 1))


def azure_grant(role: dict, where: str, label: str) -> AzureGrant:
    blocks = [b for b in as_list(get(role, "permissions")) if isinstance(b, dict)] or [role]
    grant = AzureGrant([azure_block(b, get) for b in blocks])
    if not any(b.actions or b.data_actions for b in grant.blocks):
        raise PolicyError(f"{where}: {label}: an Azure role needs actions or dataActions")
    return grant


def azure_principal(source: Source, value, index: int) -> Principal:
    if not isinstance(value, dict):
        raise PolicyError(f"{source.where}: expected an Azure role definition (a JSON object)")
    inner = get(value, "properties")
    role = {**value, **inner} if isinstance(inner, dict) else value
    name = get(role, "roleName", "Name")
    name = str(name) if name else f"role definition {index + 1}"
    label = "the role definition" if isinstance(source.value, dict) else f"role definition {name!r}"
    location = next((found for key in ("roleName", "RoleName", "Name", "name") if (found := source.find(key, name))),
                    (1, 1))
    return Principal(name, "azure role definition", "azure", source.where, azure_grant(role, source.where, label),
                     location)


def gcp_principal(source: Source, value, index: int) -> Principal:
    permissions = value.get("includedPermissions") if isinstance(value, dict) else None
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise PolicyError(f"{source.where}: includedPermissions must be a list of permission names")
    name = str(value.get("name") or value.get("title") or f"custom role {index + 1}")
    key = "name" if value.get("name") else "title" if value.get("title") else None
    grant = GcpGrant(Patterns(permissions, case_insensitive=False, wildcards=False))
    return Principal(name, "gcp custom role", "gcp", source.where, grant,
                     source.find(key, name) if key else (1, 1))
