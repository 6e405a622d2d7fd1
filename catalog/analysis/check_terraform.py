"""A Terraform plan (`terraform show -json plan.out`): each IAM resource is a principal.

Read from `resource_changes` (the values after apply, and which of them are known only then):
`aws_iam_policy`, `aws_iam_role_policy`, `aws_iam_user_policy`, `aws_iam_group_policy` (the
`policy` JSON string, heredocs already rendered), `aws_iam_role` (its `inline_policy` blocks),
`azurerm_role_definition` (`permissions` blocks), `google_project_iam_custom_role` and
`google_organization_iam_custom_role` (`permissions`). A policy known only after apply is taken
from the `aws_iam_policy_document` data source it references (configuration `references`) when
the plan holds that data source's rendered `json`; otherwise the resource is reported as not
evaluated, with the reason. Resources the plan deletes are left out.
"""

from __future__ import annotations

import re

from catalog.analysis.check_aws import AwsGrant, as_list, get, parse_document
from catalog.analysis.check_cloud import GcpGrant
from catalog.analysis.check_inputs import Principal, azure_grant
from catalog.analysis.check_load import PolicyError, Source
from catalog.analysis.check_match import Patterns

POLICY_TYPES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")
GCP_TYPES = ("google_project_iam_custom_role", "google_organization_iam_custom_role")
TYPES = (*POLICY_TYPES, "aws_iam_role", "azurerm_role_definition", *GCP_TYPES)
_INDEX = re.compile(r"\[[^\]]*\]")


def _object(value) -> dict:
    """A part of the plan that should be a JSON object; anything else reads as an empty one."""
    return value if isinstance(value, dict) else {}


def _modules(module: dict, prefix: str = ""):
    """(module address, module) of a `root_module` and its descendants, configuration or values."""
    yield prefix, module
    for child in as_list(module.get("child_modules")):
        if isinstance(child, dict):
            yield from _modules(child, str(child.get("address") or ""))
    for name, call in _object(module.get("module_calls")).items():
        if isinstance(call, dict) and isinstance(call.get("module"), dict):
            yield from _modules(call["module"], f"{prefix + '.' if prefix else ''}module.{name}")


def _rendered_documents(plan: dict) -> dict[str, str]:
    """Data source address -> rendered policy JSON, wherever the plan holds one."""
    found = {}
    for part in ("prior_state", "planned_values"):
        values = _object(plan.get(part))
        root = _object(_object(values.get("values")).get("root_module") if part == "prior_state"
                       else values.get("root_module"))
        for _, module in _modules(root):
            for resource in as_list(module.get("resources")):
                if isinstance(resource, dict) and resource.get("type") == "aws_iam_policy_document":
                    rendered = _object(resource.get("values")).get("json")
                    if isinstance(rendered, str):
                        found[str(resource.get("address"))] = rendered
    for change in as_list(plan.get("resource_changes")):
        if not isinstance(change, dict):
            continue
        after = _object(_object(change.get("change")).get("after"))
        if change.get("type") == "aws_iam_policy_document" and isinstance(after.get("json"), str):
            found[str(change.get("address"))] = after["json"]
    return found


def _references(plan: dict) -> dict[str, list[str]]:
    """Resource address (indexes dropped) -> what its `policy` expression references, relative to its module."""
    found = {}
    root = _object(_object(plan.get("configuration")).get("root_module"))
    for prefix, module in _modules(root):
        for resource in as_list(module.get("resources")):
            if not isinstance(resource, dict):
                continue
            refs = as_list(_object(_object(resource.get("expressions")).get("policy")).get("references"))
            address = f"{prefix + '.' if prefix else ''}{resource.get('address')}"
            found[address] = [ref for ref in refs if isinstance(ref, str)]
    return found


def _has_unknown(marks) -> bool:
    """`after_unknown` marks an unknown value `true`, at any depth of lists and objects."""
    if isinstance(marks, dict):
        return any(_has_unknown(value) for value in marks.values())
    if isinstance(marks, list):
        return any(_has_unknown(value) for value in marks)
    return marks is True


class _Plan:
    def __init__(self, source: Source):
        self.source, self.plan = source, source.value
        self.rendered, self.references = _rendered_documents(self.plan), _references(self.plan)
        self.unindexed = {_INDEX.sub("", address): text for address, text in self.rendered.items()}

    def policy_text(self, address: str, module: str, after: dict, unknown: dict) -> tuple[str, str] | None:
        """The policy JSON and what it is called, from the plan or from a data source it references
        (in the same module instance, else in any instance of that module)."""
        if isinstance(after.get("policy"), str) and not _has_unknown(unknown.get("policy")):
            return after["policy"], f"{address}.policy"
        for ref in self.references.get(_INDEX.sub("", address), []):
            source = f"{module}.{ref}" if module else ref
            source = source.removesuffix(".json")
            document = self.rendered.get(source) or self.unindexed.get(_INDEX.sub("", source))
            if document is not None:
                return document, source
        return None

    def principal(self, change: dict) -> Principal:
        address, kind = str(change.get("address")), str(change.get("type"))
        body = _object(change.get("change"))
        after, unknown = _object(body.get("after")), _object(body.get("after_unknown"))
        provider = "aws" if kind.startswith("aws_") else "azure" if kind.startswith("azurerm_") else "gcp"
        principal = Principal(address, kind, provider, self.source.where, None,
                              self.source.find("address", address) or (1, 1))
        try:
            principal.grant = self.grant(address, str(change.get("module_address") or ""), kind, after, unknown,
                                         principal)
        except _Unknown as reason:
            if str(reason):  # empty when the reasons are already listed
                principal.not_evaluated.append(str(reason))
        return principal

    def grant(self, address: str, module: str, kind: str, after: dict, unknown: dict, principal: Principal):
        where = self.source.where
        if kind in POLICY_TYPES:
            found = self.policy_text(address, module, after, unknown)
            if found is None:
                raise _Unknown("policy is known only after apply, and no rendered aws_iam_policy_document "
                               "it references is in the plan")
            return AwsGrant([parse_document(found[0], where, found[1])])
        if kind == "aws_iam_role":
            return self.role(address, after, unknown, principal)
        if kind == "azurerm_role_definition":
            if _has_unknown(unknown.get("permissions")):
                raise _Unknown("permissions are known only after apply")
            return azure_grant({"permissions": after.get("permissions") or []}, where, address)
        permissions = after.get("permissions")
        if _has_unknown(unknown.get("permissions")) or not isinstance(permissions, list):
            raise _Unknown("permissions are known only after apply")
        return GcpGrant(Patterns([p for p in permissions if isinstance(p, str)], case_insensitive=False,
                                 wildcards=False))

    def role(self, address: str, after: dict, unknown: dict, principal: Principal) -> AwsGrant:
        documents = []
        unknown_blocks = as_list(unknown.get("inline_policy"))
        for index, block in enumerate(as_list(after.get("inline_policy"))):
            block_unknown = unknown_blocks[index] if index < len(unknown_blocks) else {}
            if isinstance(block, dict) and isinstance(block.get("policy"), str) and \
                    not (isinstance(block_unknown, dict) and _has_unknown(block_unknown.get("policy"))):
                documents.append(parse_document(block["policy"], self.source.where,
                                                f"{address} inline policy {block.get('name') or index + 1}"))
            else:
                principal.not_evaluated.append(f"inline_policy {index + 1} is known only after apply")
        if after.get("managed_policy_arns") or _has_unknown(unknown.get("managed_policy_arns")):
            principal.not_evaluated.append("managed_policy_arns: attached managed policies are not in the plan")
        if not documents and principal.not_evaluated:
            raise _Unknown("")
        return AwsGrant(documents)


class _Unknown(Exception):
    """A value the plan does not know yet."""


def plan_principals(source: Source) -> list[Principal]:
    plan = _Plan(source)
    changes = [c for c in as_list(source.value.get("resource_changes")) if isinstance(c, dict)]
    chosen = [c for c in changes if c.get("mode", "managed") == "managed" and c.get("type") in TYPES
              and get(_object(c.get("change")), "actions") != ["delete"]]
    if not chosen:
        raise PolicyError(f"{source.where}: a Terraform plan without IAM resources to check ({', '.join(TYPES)})")
    return [plan.principal(change) for change in chosen]
