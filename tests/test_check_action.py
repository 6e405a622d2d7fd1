"""The composite action (action.yml) run step by step offline, as a runner would run it.

The `run:` steps execute in bash with the runner's options, their `${{ }}` expressions resolved from
the inputs, the `github`/`runner` contexts and earlier step outputs; `uses:` steps (setup-python,
upload-sarif) cannot run offline, so the test checks they are pinned and what they would be given.
`python -m pip` and `gh` are stand-ins that record how they were called (the real veeam-perms of this
checkout does the check). An expression the resolver does not know fails the test.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_check_inputs import INPUTS, OPERATION, build_fixture_catalog
from test_check_outputs import validate_sarif

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
COMPARISON = re.compile(r"^(.+?)\s*(==|!=)\s*(.+)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
REPOSITORY = "example-org/veeam-perms"

FAKE_PYTHON = """#!/bin/sh
echo "$@" >> "$FAKE_LOG/python"
"""
FAKE_GH = """#!/bin/sh
echo "$GH_REPO $*" >> "$FAKE_LOG/gh"
while [ $# -gt 0 ]; do
  if [ "$1" = "--dir" ]; then cp "$FAKE_CATALOG" "$2/catalog.db"; fi
  shift
done
"""


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("action") / "plugins.db")


def lookup(path: str, context: dict):
    if path.startswith("'") and path.endswith("'"):
        return path[1:-1]
    value = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise AssertionError(f"the offline runner does not know {path!r}")
        value = value[part]
    return value


def evaluate(expression: str, context: dict):
    """What action.yml uses: context paths, 'literals', ==, != and &&."""
    results = []
    for clause in expression.split("&&"):
        comparison = COMPARISON.match(clause.strip())
        if comparison:
            left, operator, right = comparison.groups()
            equal = str(lookup(left.strip(), context)) == str(lookup(right.strip(), context))
            results.append(equal if operator == "==" else not equal)
        else:
            results.append(lookup(clause.strip(), context))
    return results[0] if len(results) == 1 else all(results)


def substitute(text: str, context: dict) -> str:
    return EXPRESSION.sub(lambda match: str(evaluate(match.group(1), context)), text)


def run_action(inputs: dict, workspace: Path, fakes: Path, extra_env: dict) -> dict:
    """Every step in order, stopping at the first failure as a runner does; returns what happened."""
    action = yaml.safe_load(ACTION.read_text())
    runner_temp = workspace.parent / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    summary = runner_temp / "summary.md"
    context = {"github": {"action_path": str(ROOT), "action_repository": REPOSITORY, "token": "token-for-tests"},
               "runner": {"temp": str(runner_temp)}, "steps": {}, "inputs": {}}
    for name, spec in action["inputs"].items():
        assert name in inputs or "default" in spec, f"required input {name} not given"
        context["inputs"][name] = inputs.get(name, substitute(str(spec.get("default", "")), context))
    record = {"uses": [], "failed": None, "summary": summary}
    for index, step in enumerate(action["runs"]["steps"]):
        if "if" in step and not evaluate(step["if"], context):
            continue
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]
            record["uses"].append((step["uses"].split("@")[0],
                                   {k: substitute(str(v), context) for k, v in step.get("with", {}).items()}))
            continue
        assert step["shell"] == "bash"
        outputs = runner_temp / f"output-{index}"
        outputs.write_text("")
        env = {**os.environ, **extra_env, "PATH": f"{fakes}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
               f"{os.environ['PATH']}", "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(outputs),
               "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTION_PATH": str(ROOT),
               **{k: substitute(str(v), context) for k, v in step.get("env", {}).items()}}
        script = runner_temp / f"step-{index}.sh"
        script.write_text(step["run"])
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=env, capture_output=True, text=True, timeout=300)
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": dict(
                line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)}
        if done.returncode != 0:
            record["failed"] = (step.get("name"), done.returncode, done.stdout + done.stderr)
            break
    record["steps"] = context["steps"]
    return record


@pytest.fixture
def infrastructure(tmp_path, plugin_db):
    """An infrastructure repository's checkout, and the stand-ins for pip and gh."""
    workspace = tmp_path / "repo"
    (workspace / "iam").mkdir(parents=True)
    (workspace / "terraform" / "plugin").mkdir(parents=True)
    (workspace / "roles").mkdir()
    shutil.copy(INPUTS / "account.json", workspace / "iam" / "account.json")
    shutil.copy(INPUTS / "plan.json", workspace / "terraform" / "plugin" / "plan.json")
    shutil.copy(INPUTS / "gcp_role.yaml", workspace / "roles" / "backup.yaml")
    fakes, log = tmp_path / "fakes", tmp_path / "log"
    fakes.mkdir()
    log.mkdir()
    for name, text in (("python", FAKE_PYTHON), ("gh", FAKE_GH)):
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    return workspace, fakes, {"FAKE_LOG": str(log), "FAKE_CATALOG": str(plugin_db)}


INPUT_FILES = "iam/*.json\nterraform/**/plan.json\nroles/*.yaml\n"


def test_the_action_checks_with_a_local_catalog_uploads_sarif_and_fails_on_missing(infrastructure, plugin_db):
    workspace, fakes, env = infrastructure
    record = run_action({"product": "vbr", "operations": f"{OPERATION}\n", "files": INPUT_FILES, "builds": "all",
                         "catalog": str(plugin_db)}, workspace, fakes, env)
    log = Path(env["FAKE_LOG"])
    assert (log / "python").read_text() == \
        f"-m pip install --disable-pip-version-check --quiet -c {ROOT}/.ci/constraints.txt {ROOT}\n"
    assert not (log / "gh").exists()
    assert record["steps"]["catalog"]["outputs"] == {"path": str(plugin_db)}
    assert record["steps"]["check"]["outputs"] == {"exit-code": "1", "sarif-file": "veeam-perms.sarif"}
    assert record["failed"][:2] == ("Verdict", 1)
    assert "a principal lacks permissions Veeam documents as required" in record["failed"][2]
    assert record["uses"] == [
        ("actions/setup-python", {"python-version": "3.12"}),
        ("github/codeql-action/upload-sarif", {"sarif_file": "veeam-perms.sarif", "category": "veeam-perms"})]
    sarif_path = workspace / "veeam-perms.sarif"
    assert validate_sarif(sarif_path).returncode == 0
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(sarif_path.read_text())["runs"][0]["results"]}
    assert uris == {"iam/account.json", "terraform/plugin/plan.json", "roles/backup.yaml"}
    summary = record["summary"].read_text()
    assert summary.startswith("### veeam-perms check\n```\n== arn:aws:iam::111122223333:role/VeeamPluginComplete")
    assert "vbr: 11 principals checked" in summary


def test_without_a_catalog_the_published_release_is_downloaded(infrastructure, plugin_db):
    workspace, fakes, env = infrastructure
    record = run_action({"product": "vbr", "operations": OPERATION, "files": "roles/*.yaml",
                         "fail-on-missing": "false"}, workspace, fakes, env)
    assert record["failed"] is None
    downloaded = Path(record["steps"]["catalog"]["outputs"]["path"])
    assert downloaded == workspace.parent / "runner-temp" / "veeam-perms" / "catalog.db" and downloaded.exists()
    [call] = (Path(env["FAKE_LOG"]) / "gh").read_text().splitlines()
    assert call == (f"{REPOSITORY} release download catalog --pattern catalog.db --dir {downloaded.parent} "
                    "--clobber")
    assert record["steps"]["check"]["outputs"]["exit-code"] == "1"


def test_a_pattern_matching_no_file_stops_the_action(infrastructure, plugin_db):
    workspace, fakes, env = infrastructure
    record = run_action({"product": "vbr", "operations": OPERATION, "files": "iam/*.json\npolicies/*.json",
                         "catalog": str(plugin_db)}, workspace, fakes, env)
    assert record["failed"][:2] == ("Check the files", 2)
    assert "::error::no file matches policies/*.json" in record["failed"][2]
    assert record["uses"] == [("actions/setup-python", {"python-version": "3.12"})]  # no upload


def test_bad_input_stops_before_the_upload(infrastructure, plugin_db):
    workspace, fakes, env = infrastructure
    (workspace / "iam" / "broken.json").write_text('{"Statement": [')
    record = run_action({"product": "vbr", "operations": OPERATION, "files": "iam/broken.json",
                         "catalog": str(plugin_db)}, workspace, fakes, env)
    assert record["failed"][:2] == ("Check the files", 2)
    assert "Error: iam/broken.json: not valid JSON at line 1, column 16: Expecting value" in record["failed"][2]
    assert record["steps"]["check"]["outputs"]["exit-code"] == "2"
