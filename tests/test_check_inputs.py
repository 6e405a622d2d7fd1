"""`check` reads what administrators hold, recognised by shape, with an exact verdict per principal.

The inputs under tests/check_inputs/ were written for these tests from the formats' public
documentation (AWS CLI `get-account-authorization-details`, Terraform's JSON plan format,
`az role definition list`, `gcloud iam roles describe`); no real account data. They are checked
against tests/check_inputs/catalog/: three authored plug-in pages (AWS, Azure, Google Cloud) at two
builds, where 13.0.1.2067 adds ec2:CreateTags, iam:SimulatePrincipalPolicy,
Microsoft.Compute/snapshots/beginGetAccess/action and compute.snapshots.setLabels.
"""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.jobs.ingest import ingest

INPUTS = Path(__file__).parent / "check_inputs"
BUILDS = ("13.0.1.1071", "13.0.1.2067")
OPERATION = "Plug-in backup role"
# What the plug-in's AWS operation needs at 13.0.1.2067 besides ec2:DescribeInstances and ec2:DescribeSnapshots
NOT_DESCRIBE = ["ec2:CreateSnapshot", "ec2:CreateTags", "ec2:DeleteSnapshot", "iam:PassRole",
                "iam:SimulatePrincipalPolicy", "s3:GetObject", "s3:ListBucket", "s3:PutObject"]
NEEDED_AWS = sorted(NOT_DESCRIBE + ["ec2:DescribeInstances", "ec2:DescribeSnapshots"], key=str.lower)


def build_fixture_catalog(db_path: Path) -> Path:
    for build in BUILDS:
        report = ingest(db_path, INPUTS / "catalog" / build)
        assert not report.failures, report.failures
    return db_path


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("check") / "plugins.db")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def check_json(db, *files, extra=()):
    result = run("check", *files, "--db", db, "--product", "vbr", "--operation", OPERATION, "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["principals"]


def verdicts(principals):
    return [(p["principal"], p["kind"], p["verdict"], p["missing"]) for p in principals]


def test_account_export_gives_each_role_user_and_group_its_verdict(plugin_db):
    status, principals = check_json(plugin_db, INPUTS / "account.json")
    arn = "arn:aws:iam::111122223333:"
    assert status == 1
    assert verdicts(principals) == [
        (f"{arn}role/VeeamPluginComplete", "aws role", "enough", []),
        (f"{arn}role/VeeamPluginStaleVersion", "aws role", "not enough", ["iam:PassRole"]),
        (f"{arn}role/VeeamPluginBounded", "aws role", "not enough", ["ec2:DeleteSnapshot"]),
        (f"{arn}user/veeam-installer", "aws user", "enough", []),
        (f"{arn}group/VeeamOperators", "aws group", "not enough", NOT_DESCRIBE),
    ]
    stale, bounded, user = principals[1], principals[2], principals[3]
    # v2 of VeeamPluginStale grants iam:PassRole, but v1 is the default version: IAM reads only v1
    assert stale["why_missing"] == {"iam:PassRole": "not granted"}
    assert bounded["why_missing"] == {"ec2:DeleteSnapshot": "granted, but the permission boundary managed policy "
                                                            "VeeamBoundary (v1) does not allow it"}
    assert user["not_evaluated"] == ["attached policy arn:aws:iam::aws:policy/ReadOnlyAccess is not in the export"]
    assert [p["location"]["line"] for p in principals] == [73, 102, 131, 5, 45]


def test_the_default_version_counts_wherever_it_stands_in_the_list(plugin_db, tmp_path):
    data = json.loads((INPUTS / "account.json").read_text())
    for policy in data["Policies"]:
        policy["PolicyVersionList"].reverse()  # the default (v1) last: a reader of the first version gets v2
    listed_last = tmp_path / "reversed.json"
    listed_last.write_text(json.dumps(data))
    as_listed = verdicts(check_json(plugin_db, INPUTS / "account.json")[1])
    assert verdicts(check_json(plugin_db, listed_last)[1]) == as_listed
    stale = next(p for p in data["Policies"] if p["PolicyName"] == "VeeamPluginStale")
    stale["DefaultVersionId"] = "v2"
    for version in stale["PolicyVersionList"]:
        version["IsDefaultVersion"] = version["VersionId"] == "v2"
    v2_default = tmp_path / "v2.json"
    v2_default.write_text(json.dumps(data))
    stale_role = verdicts(check_json(plugin_db, v2_default)[1])[1]
    assert stale_role == ("arn:aws:iam::111122223333:role/VeeamPluginStaleVersion", "aws role", "enough", [])


def test_a_wildcard_under_a_boundary_over_grants_only_what_the_boundary_lets_through(plugin_db):
    from catalog.analysis.check_match import expand_aws

    _, principals = check_json(plugin_db, INPUTS / "account.json")
    [entry] = principals[2]["over_grant"]
    describe = expand_aws("ec2:Describe*")
    assert (entry["pattern"], entry["expanded"]) == ("ec2:*", True)
    assert entry["grants"] == len(describe) + 2  # the boundary lets Describe*, CreateSnapshot and CreateTags pass
    assert entry["beyond_need_count"] == entry["grants"] - 4
    assert "ec2:DescribeVpcs" in entry["beyond_need"] and "ec2:TerminateInstances" not in entry["beyond_need"]
    assert "ec2:DescribeInstances" not in entry["beyond_need"]


def test_policies_as_the_api_returns_them_url_encoded_read_the_same(plugin_db, tmp_path):
    data = json.loads((INPUTS / "account.json").read_text())
    for role in data["RoleDetailList"]:
        for policy in role["RolePolicyList"]:
            policy["PolicyDocument"] = quote(json.dumps(policy["PolicyDocument"]))
    for policy in data["Policies"]:
        for version in policy["PolicyVersionList"]:
            version["Document"] = quote(json.dumps(version["Document"]))
    encoded = tmp_path / "encoded.json"
    encoded.write_text(json.dumps(data, indent=4))
    assert verdicts(check_json(plugin_db, encoded)[1]) == verdicts(check_json(plugin_db, INPUTS / "account.json")[1])


def test_terraform_plan_resources_of_three_providers_and_an_unknown_value(plugin_db):
    status, principals = check_json(plugin_db, INPUTS / "plan.json")
    assert status == 1
    assert verdicts(principals) == [
        ("aws_iam_policy.plugin_backup", "aws_iam_policy", "enough", []),
        ("aws_iam_policy.plugin_logs", "aws_iam_policy", "not evaluated", []),
        ("aws_iam_role_policy.plugin_describe", "aws_iam_role_policy", "not enough", NOT_DESCRIBE),
        ("azurerm_role_definition.plugin_backup", "azurerm_role_definition", "not enough",
         ["Microsoft.Compute/snapshots/beginGetAccess/action"]),
        ("google_project_iam_custom_role.plugin_backup", "google_project_iam_custom_role", "enough", []),
    ]  # aws_iam_policy.retired is deleted by the plan: not a principal
    assert principals[1]["not_evaluated"] == ["policy is known only after apply, and no rendered "
                                              "aws_iam_policy_document it references is in the plan"]
    # the role policy's value is unknown too, but the data source it references is rendered in the plan
    assert principals[2]["over_grant"][0]["in"] == "data.aws_iam_policy_document.plugin_describe"
    assert principals[3]["over_grant"] == [{
        "pattern": "Microsoft.Compute/disks/*", "in": "azurerm_role_definition.plugin_backup (actions)",
        "expanded": False, "reason": "no offline list of Azure operations", "covers_needed": 1}]


def test_azure_definition_list_with_not_actions_and_data_actions(plugin_db):
    status, principals = check_json(plugin_db, INPUTS / "azure_roles.json")
    assert status == 1
    assert verdicts(principals) == [
        ("Veeam Plug-in Backup (wildcard)", "azure role definition", "not enough",
         ["Microsoft.Compute/snapshots/delete", "Microsoft.Network/virtualNetworks/read"]),
        ("Veeam Plug-in Reader", "azure role definition", "not enough",
         ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"]),
        ("Veeam Plug-in Backup", "azure role definition", "enough", []),
    ]
    assert principals[0]["why_missing"]["Microsoft.Compute/snapshots/delete"] == "excluded by notActions"
    assert principals[2]["granted_not_needed"] == ["Microsoft.Resources/subscriptions/resourceGroups/read"]


def test_an_azure_definition_in_the_az_create_spelling(plugin_db, tmp_path):
    role = {"Name": "Veeam Plug-in", "IsCustom": True, "Description": "",
            "Actions": ["Microsoft.Compute/disks/read", "Microsoft.Compute/snapshots/*",
                        "Microsoft.Compute/virtualMachines/read", "Microsoft.Network/virtualNetworks/read"],
            "NotActions": [], "DataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
            "NotDataActions": [], "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"]}
    path = tmp_path / "role.json"
    path.write_text(json.dumps(role))
    status, [principal] = check_json(plugin_db, path)
    assert (status, principal["principal"], principal["verdict"]) == (0, "Veeam Plug-in", "enough")
    assert [entry["pattern"] for entry in principal["over_grant"]] == [
        "Microsoft.Compute/snapshots/*", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]


@pytest.mark.parametrize("name", ["gcp_role.yaml", "gcp_role.json"])
def test_gcloud_custom_role_in_yaml_or_json(plugin_db, tmp_path, name):
    import yaml

    path = INPUTS / "gcp_role.yaml"
    if name.endswith(".json"):
        path = tmp_path / name
        path.write_text(json.dumps(yaml.safe_load((INPUTS / "gcp_role.yaml").read_text()), indent=2))
    status, [principal] = check_json(plugin_db, path)
    assert status == 1
    assert (principal["principal"], principal["kind"], principal["missing"], principal["granted_not_needed"]) == (
        "projects/veeam-backup-example/roles/veeamPluginBackup", "gcp custom role",
        ["compute.snapshots.setLabels"], ["storage.objects.list"])


def test_several_files_in_one_call_each_principal_once(plugin_db):
    status, principals = check_json(plugin_db, INPUTS / "account.json", INPUTS / "plan.json",
                                    INPUTS / "azure_roles.json", INPUTS / "gcp_role.yaml")
    assert status == 1
    assert len(principals) == 5 + 5 + 3 + 1
    assert [p["source"] for p in principals][::4] == [str(INPUTS / name) for name in (
        "account.json", "account.json", "plan.json", "azure_roles.json")]


def test_the_policy_command_output_split_in_documents_is_one_principal(plugin_db, tmp_path):
    documents = [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": part, "Resource": "*"}]}
                 for part in (NEEDED_AWS[:4], NEEDED_AWS[4:])]
    path = tmp_path / "split.json"
    path.write_text(json.dumps(documents))
    status, [principal] = check_json(plugin_db, path)
    assert (status, principal["kind"], principal["verdict"]) == (0, "aws policy", "enough")


def test_input_format_forces_how_a_file_is_read(plugin_db):
    result = run("check", INPUTS / "gcp_role.yaml", "--db", plugin_db, "--product", "vbr", "--operation", OPERATION,
                 "--input-format", "aws-policy")
    message = "the policy: an AWS policy needs a Statement object or list of objects"
    assert (result.exit_code, result.output) == (2, f"Error: {INPUTS / 'gcp_role.yaml'}: {message}\n")


@pytest.mark.parametrize("name, text, message", [
    ("broken.json", '{\n  "RoleDetailList": [\n    {"RoleName": "x",}\n  ]\n}\n',
     "not valid JSON at line 3, column 22: Expecting property name enclosed in double quotes"),
    ("broken.yaml", "title: Veeam\nincludedPermissions:\n- compute.disks.get\n  - nested: [\n",
     "not valid YAML at line 4, column 11: mapping values are not allowed in this context"),
    ("bomb.yaml", "title: &a Veeam\nname: *a\nincludedPermissions: []\n",
     "YAML aliases are not read (line 1, column 8)"),
    ("other.json", '{"hello": "world"}', "not a recognised input: expected an AWS policy (Statement), an account "
     "export (RoleDetailList...), a Terraform plan (format_version), an Azure role definition (actions) or a "
     "Google Cloud role (includedPermissions)"),
    ("empty-plan.json", '{"format_version": "1.2", "resource_changes": []}',
     "a Terraform plan without IAM resources to check (aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy, "
     "aws_iam_group_policy, aws_iam_role, azurerm_role_definition, google_project_iam_custom_role, "
     "google_organization_iam_custom_role)"),
    ("bad-document.json", '{"RoleDetailList": [{"RoleName": "r", "RolePolicyList": [{"PolicyName": "p", '
     '"PolicyDocument": "not%20json"}]}]}', "inline policy p of role r is a string that is not a JSON policy document"),
    ("empty.json", "  \n", "empty"),
    ("deep-document.json", '{"RoleDetailList": [{"RoleName": "r", "RolePolicyList": [{"PolicyName": "p", '
     '"PolicyDocument": "' + "[" * 100_000 + "]" * 100_000 + '"}]}]}', "inline policy p of role r: nested deeper "
     "than 32 levels; not a policy, role definition, account export or plan"),
    ("deep-plan.json", '{"format_version": "1.2", "resource_changes": [{"address": "aws_iam_policy.p", "type": '
     '"aws_iam_policy", "change": {"after": {"policy": "' + "[" * 40 + "]" * 40 + '"}}}]}',
     "aws_iam_policy.p.policy: nested deeper than 32 levels; not a policy, role definition, account export or plan"),
])
def test_bad_input_is_one_line_naming_the_file_and_position(plugin_db, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    result = run("check", path, "--db", plugin_db, "--product", "vbr", "--operation", OPERATION)
    assert (result.exit_code, result.output) == (2, f"Error: {path}: {message}\n")


def test_bytes_that_are_not_utf8_are_located(plugin_db, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{\n  "Statement": [\n    {"Sid": "Caf\xe9"}]}\n')
    result = run("check", path, "--db", plugin_db, "--product", "vbr", "--operation", OPERATION)
    assert (result.exit_code, result.output) == (2, f"Error: {path}: not UTF-8 text at line 3, column 17\n")


def test_a_missing_file_and_a_directory_are_one_line(plugin_db, tmp_path):
    for path, reason in ((tmp_path / "nowhere.json", "cannot read (No such file or directory)"),
                         (tmp_path, "is a directory; give the files to check")):
        result = run("check", path, "--db", plugin_db, "--product", "vbr", "--operation", OPERATION)
        assert (result.exit_code, result.output) == (2, f"Error: {path}: {reason}\n")


def test_terraform_modules_roles_with_inline_policies_and_count_indexes(plugin_db, tmp_path):
    """A module's resources (indexed by count) whose policy comes from the module's own data source,
    and an aws_iam_role whose inline policies are partly known."""
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": NEEDED_AWS, "Resource": "*"}]})
    role_after = {"name": "veeam", "inline_policy": [{"name": "known", "policy": document}, {"name": "later"}],
                  "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "module.backup[0].aws_iam_policy.this[1]", "module_address": "module.backup[0]",
             "mode": "managed", "type": "aws_iam_policy", "name": "this", "index": 1,
             "change": {"actions": ["create"], "after": {"name": "p"}, "after_unknown": {"policy": True}}},
            {"address": "aws_iam_role.veeam", "mode": "managed", "type": "aws_iam_role", "name": "veeam",
             "change": {"actions": ["update"], "after": role_after,
                        "after_unknown": {"inline_policy": [{"policy": False}, {"policy": True}]}}}],
        "prior_state": {"values": {"root_module": {"child_modules": [{"address": "module.backup[0]", "resources": [
            {"address": "module.backup[0].data.aws_iam_policy_document.this", "mode": "data",
             "type": "aws_iam_policy_document", "values": {"json": document}}]}]}}},
        "configuration": {"root_module": {"module_calls": {"backup": {"module": {"resources": [
            {"address": "aws_iam_policy.this", "type": "aws_iam_policy",
             "expressions": {"policy": {"references": ["data.aws_iam_policy_document.this.json",
                                                       "data.aws_iam_policy_document.this"]}}}]}}}}},
    }
    path = tmp_path / "modules.json"
    path.write_text(json.dumps(plan, indent=1))
    status, principals = check_json(plugin_db, path)
    assert status == 0
    assert verdicts(principals) == [("module.backup[0].aws_iam_policy.this[1]", "aws_iam_policy", "enough", []),
                                    ("aws_iam_role.veeam", "aws_iam_role", "enough", [])]
    assert principals[1]["not_evaluated"] == [
        "inline_policy 2 is known only after apply",
        "managed_policy_arns: attached managed policies are not in the plan"]


def test_a_grant_is_risky_in_check_exactly_when_the_catalog_calls_it_risky(plugin_db, tmp_path):
    from catalog.storage.enrich import enrich

    extra = ["s3:PutBucketPolicy", "iam:PassRole", "s3:GetObject", "ec2:DescribeVpcs"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": NEEDED_AWS + extra, "Resource": "*"}]}))
    [principal] = check_json(plugin_db, path)[1]
    assert principal["risky_granted_not_needed"] == sorted(
        (name for name in extra if name not in NEEDED_AWS and enrich("aws", name).risk), key=str.lower)
    assert "s3:PutBucketPolicy" in principal["risky_granted_not_needed"]  # AWS's "Permissions management"
