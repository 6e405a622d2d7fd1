"""Any JSON at all, in the shape of an input `check` recognises: principals or one PolicyError, never
a traceback (the site turns anything else into a 500, the CLI into exit 1, the Action into "lacks")."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.analysis.check import MAX_ENTRIES, read_principals
from catalog.analysis.check_load import PolicyError

LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    ["", "*", "ec2:*", "iam:PassRole", "Allow", "Deny", "Microsoft.Compute/*", "compute.disks.get", "x"]))
JSON = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([
        "Statement", "Effect", "Action", "NotAction", "Resource", "Condition", "Version", "RoleDetailList",
        "UserDetailList", "GroupDetailList", "Policies", "RolePolicyList", "AttachedManagedPolicies",
        "PermissionsBoundary", "PolicyVersionList", "IsDefaultVersion", "Document", "PolicyDocument",
        "RoleName", "Arn", "format_version", "resource_changes", "planned_values", "prior_state",
        "configuration", "root_module", "resources", "child_modules", "module_calls", "change", "after",
        "after_unknown", "actions", "type", "address", "values", "policy", "inline_policy", "permissions",
        "notActions", "dataActions", "properties", "includedPermissions", "title", "roleName", "name"]),
        inner, max_size=6)), max_leaves=40)
SHAPES = st.one_of(
    JSON,
    st.builds(lambda rest, changes: {"format_version": "1.2", "resource_changes": changes, **rest},
              st.dictionaries(st.sampled_from(["planned_values", "prior_state", "configuration"]), JSON),
              JSON),
    st.builds(lambda roles: {"RoleDetailList": roles, "Policies": []}, JSON),
    st.builds(lambda statements: {"Version": "2012-10-17", "Statement": statements}, JSON),
    st.builds(lambda permissions: {"title": "r", "includedPermissions": permissions}, JSON),
    st.builds(lambda permissions: {"roleName": "r", "permissions": permissions}, JSON),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPES)
def test_any_json_is_principals_or_one_policy_error(value):
    try:
        read_principals([("input.json", json.dumps(value).encode())], None, MAX_ENTRIES)
    except PolicyError as error:
        assert "\n" not in str(error) and str(error).startswith("input.json")
