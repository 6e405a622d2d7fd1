"""`aws iam get-account-authorization-details`: every role, user and group as IAM sees it.

A principal's identity policies are its inline policies and its attached managed policies, each
read in its *default* version only (the other versions are kept by IAM but grant nothing); a
user also gets the policies of its groups. A permission boundary (roles and users) is applied as
IAM applies it: an action is allowed only when the identity policies and the boundary both
allow it. A managed policy the export does not contain (AWS managed policies are left out when
the export was filtered) cannot be evaluated, and the principal says so.
"""

from __future__ import annotations

from catalog.analysis.check_aws import AwsGrant, Document, as_list, parse_document
from catalog.analysis.check_inputs import Principal
from catalog.analysis.check_load import PolicyError, Source


def _records(data: dict, key: str, where: str) -> list[dict]:
    records = data.get(key) or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PolicyError(f"{where}: {key} must be a list of objects")
    return records


def managed_policies(data: dict, where: str) -> tuple[dict[str, Document], dict[str, str]]:
    """ARN -> the default version's document; ARN -> why a listed policy cannot be read."""
    documents, unreadable = {}, {}
    for policy in _records(data, "Policies", where):
        arn, name = str(policy.get("Arn") or ""), policy.get("PolicyName") or policy.get("Arn")
        default_id = policy.get("DefaultVersionId")
        versions = [v for v in as_list(policy.get("PolicyVersionList")) if isinstance(v, dict)]
        default = next((v for v in versions if v.get("VersionId") == default_id), None) or \
            next((v for v in versions if v.get("IsDefaultVersion") is True), None)
        if default is None or default.get("Document") is None:
            unreadable[arn] = f"managed policy {name}: the export has no document for its default version"
            continue
        documents[arn] = parse_document(default["Document"], where,
                                        f"managed policy {name} ({default.get('VersionId') or 'default'})")
    return documents, unreadable


class _Resolver:
    def __init__(self, data: dict, where: str):
        self.where = where
        self.managed, self.unreadable = managed_policies(data, where)

    def inline(self, record: dict, key: str, owner: str) -> list[Document]:
        return [parse_document(p.get("PolicyDocument"), self.where, f"inline policy {p.get('PolicyName')} of {owner}")
                for p in as_list(record.get(key)) if isinstance(p, dict)]

    def attached(self, record: dict, missing: list[str]) -> list[Document]:
        found = []
        for attachment in as_list(record.get("AttachedManagedPolicies")):
            arn = str(attachment.get("PolicyArn") or "") if isinstance(attachment, dict) else ""
            if arn in self.managed:
                found.append(self.managed[arn])
            else:
                missing.append(self.unreadable.get(arn) or f"attached policy {arn} is not in the export")
        return found

    def boundary(self, record: dict, missing: list[str]) -> Document | None:
        boundary = record.get("PermissionsBoundary")
        arn = str(boundary.get("PermissionsBoundaryArn") or "") if isinstance(boundary, dict) else ""
        if not arn:
            return None
        if arn not in self.managed:
            missing.append(f"permission boundary {arn} is not in the export; checked without it")
            return None
        return self.managed[arn]


def _principal(source: Source, record: dict, kind: str, name_key: str, grant: AwsGrant,
               missing: list[str]) -> Principal:
    name = str(record.get(name_key) or "?")
    principal = Principal(str(record.get("Arn") or f"{kind}/{name}"), f"aws {kind}", "aws", source.where, grant,
                          source.find(name_key, name) or (1, 1))
    principal.not_evaluated = missing
    if missing:
        principal.notes.append("some policies could not be read; what they grant is not counted")
    return principal


def account_principals(source: Source) -> list[Principal]:
    data, where = source.value, source.where
    resolve = _Resolver(data, where)
    groups, group_principals = {}, []
    for group in _records(data, "GroupDetailList", where):
        name, missing = str(group.get("GroupName") or "?"), []
        documents = resolve.inline(group, "GroupPolicyList", f"group {name}") + resolve.attached(group, missing)
        groups[name] = (documents, missing)
        group_principals.append(_principal(source, group, "group", "GroupName", AwsGrant(documents), list(missing)))
    principals = []
    for role in _records(data, "RoleDetailList", where):
        name, missing = str(role.get("RoleName") or "?"), []
        documents = resolve.inline(role, "RolePolicyList", f"role {name}") + resolve.attached(role, missing)
        grant = AwsGrant(documents, resolve.boundary(role, missing))
        principals.append(_principal(source, role, "role", "RoleName", grant, missing))
    for user in _records(data, "UserDetailList", where):
        name, missing = str(user.get("UserName") or "?"), []
        documents = resolve.inline(user, "UserPolicyList", f"user {name}") + resolve.attached(user, missing)
        for group in as_list(user.get("GroupList")):
            group_documents, group_missing = groups.get(str(group), ([], [f"group {group} is not in the export"]))
            documents += group_documents
            missing += group_missing
        grant = AwsGrant(documents, resolve.boundary(user, missing))
        principals.append(_principal(source, user, "user", "UserName", grant, missing))
    principals += group_principals  # roles, then users, then groups
    if not principals:
        raise PolicyError(f"{where}: an account export without roles, users or groups")
    return principals
