"""The GitHub workflows: triggers, least-privilege permissions, and the package commands they call."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli.main import cli

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def load(name):
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as true
    return document


def commands(job):
    return [step["run"] for step in job["steps"] if "run" in step]


def test_test_workflow_builds_the_corpus_then_runs_the_ci_script_on_push_and_pull_requests():
    workflow = load("test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["test"]["permissions"] == {"contents": "read"}
    assert commands(workflow["jobs"]["test"]) == [
        "bash .ci/setup", ".venv/bin/veeam-perms corpus fetch --to ../shared", "bash .ci/run"]
    setup = next(s for s in workflow["jobs"]["test"]["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"


def test_scrape_workflow_is_scheduled_serialised_and_least_privilege():
    workflow = load("scrape.yml")
    assert workflow["on"]["schedule"] == [{"cron": "17 5 * * *"}] and "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {}
    assert workflow["concurrency"] == {"group": "scrape", "cancel-in-progress": False}
    jobs = workflow["jobs"]
    assert jobs["scrape"]["permissions"] == {"contents": "read"}
    assert jobs["propose"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert jobs["alert"]["permissions"] == {"issues": "write"}
    assert commands(jobs["scrape"])[1:] == [
        "veeam-perms restore --release catalog --to catalog.db",
        "veeam-perms update --db catalog.db --since-last --export-dir export --changelog CHANGES.md "
        "--report gate-report.md"]
    assert jobs["propose"]["if"] == "needs.scrape.outputs.status == 'changed'"
    assert commands(jobs["propose"])[-1].startswith("veeam-perms propose --result scrape-result")
    assert jobs["alert"]["if"] == "${{ !cancelled() && needs.scrape.result == 'failure' }}"
    assert "--body-file scrape-result/gate-report.md" in commands(jobs["alert"])[0]


def test_scrape_workflow_runs_the_canary_first_and_publishes_nothing_when_it_disagrees():
    jobs = load("scrape.yml")["jobs"]
    canary, alert = jobs["canary"], jobs["canary-alert"]
    assert canary["permissions"] == {"contents": "read"} and "needs" not in canary
    assert jobs["scrape"]["needs"] == "canary"  # propose and alert need scrape: all skipped
    clone, run = commands(canary)[1:]
    assert "git clone --depth 1" in clone and "comnam90/veeam-docs-${dump}-dump.git" in clone
    assert "for dump in vbaws vbazure vbr vb365" in clone
    assert run == "veeam-perms canary --dumps dumps --raw-dir canary-raw --report canary-report.md"
    upload = canary["steps"][-1]
    assert upload["uses"] == jobs["scrape"]["steps"][-1]["uses"]  # the pinned upload-artifact
    assert upload["if"] == "${{ failure() }}" and "canary-raw/" in upload["with"]["path"]
    assert alert["needs"] == "canary"
    assert alert["if"] == "${{ !cancelled() && needs.canary.result == 'failure' }}"
    assert alert["permissions"] == {"contents": "read", "issues": "write"}
    assert commands(alert)[-1].startswith("veeam-perms issue --title ")
    assert commands(alert)[-1].endswith("--body-file canary-raw/canary-report.md --label scrape-canary")


def test_publish_workflow_runs_only_for_the_merged_scrape_pull_request():
    workflow = load("publish.yml")
    # No push trigger: an unrelated push to main publishes nothing.
    assert workflow["on"] == {"pull_request": {"types": ["closed"], "branches": ["main"]},
                              "workflow_dispatch": None}
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["publish"]
    assert job["permissions"] == {"contents": "write"}
    condition = " ".join(job["if"].split())
    assert condition == ("github.event_name == 'workflow_dispatch' || (github.event.pull_request.merged == true && "
                         "github.event.pull_request.head.ref == 'scrape/updates' && "
                         "github.event.pull_request.head.repo.full_name == github.repository)")
    steps = {step.get("name"): step for step in job["steps"]}
    merged = steps["Take the catalog recorded for the merged pull request's head commit"]
    assert merged["if"] == "github.event_name == 'pull_request'"
    assert merged["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
    assert merged["run"] == 'veeam-perms restore --release catalog-pending --head "$HEAD_SHA" --to catalog.db'
    manual = steps["Take the published catalog (manual rebuild)"]
    assert manual["if"] == "github.event_name == 'workflow_dispatch'"
    assert manual["run"] == "veeam-perms restore --release catalog --to catalog.db"
    assert "catalog-pending" not in " ".join(commands(job)).replace(merged["run"], "")
    assert "veeam-perms publish --db catalog.db --to build/site" in commands(job)


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_action_is_pinned_to_a_commit(name):
    for job in load(name)["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                ref = step["uses"].split("@", 1)[1]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]


def test_every_command_the_workflows_call_exists():
    for name in ("scrape.yml", "publish.yml"):
        for job in load(name)["jobs"].values():
            for line in commands(job):
                if line.startswith("veeam-perms "):
                    sub = line.split()[1]
                    assert CliRunner().invoke(cli, [sub, "--help"]).exit_code == 0, line


@pytest.fixture
def fake_gh(tmp_path, monkeypatch):
    """A `gh` that logs its arguments and serves `catalog.db` from a local folder of releases."""
    log = tmp_path / "gh.log"
    releases = tmp_path / "releases"
    script = tmp_path / "bin" / "gh"
    script.parent.mkdir()
    script.write_text(f"""#!/usr/bin/env bash
echo "$*" >> {log}
if [ "$1 $2" = "release download" ]; then
  name=$3; pattern=catalog.db; dir=.
  while [ $# -gt 0 ]; do [ "$1" = "--dir" ] && dir=$2; [ "$1" = "--pattern" ] && pattern=$2; shift; done
  [ -f {releases}/$name/$pattern ] || exit 1
  cp {releases}/$name/$pattern "$dir/$pattern"; exit 0
fi
if [ "$1 $2" = "release upload" ]; then
  name=$3; shift 3; mkdir -p {releases}/$name
  for f in "$@"; do [ "$f" != "--clobber" ] && cp "$f" {releases}/$name/; done; exit 0
fi
if [ "$1 $2" = "release view" ]; then exit 1; fi
if [ "$1 $2" = "pr list" ]; then echo ""; fi
exit 0
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return log, releases


def test_restore_takes_the_first_release_that_has_the_catalog(fake_gh, tmp_path):
    log, releases = fake_gh
    (releases / "catalog").mkdir(parents=True)
    (releases / "catalog" / "catalog.db").write_bytes(b"SQLite format 3\x00")
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog-pending", "--release", "catalog",
                                      "--to", str(tmp_path / "work" / "catalog.db")])
    assert result.exit_code == 0, result.output
    assert f"restored {tmp_path / 'work' / 'catalog.db'} from release catalog" in result.output
    assert log.read_text().splitlines()[0].startswith("release download catalog-pending")


def test_restore_starts_empty_without_any_release(fake_gh, tmp_path):
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog", "--to", str(tmp_path / "c.db")])
    assert result.exit_code == 0 and "starting with an empty catalog" in result.output


def scrape_result(tmp_path, catalog: bytes):
    """A local origin with one commit, its clone, and a scrape result folder to propose from."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    (work / "README.md").write_text("x\n")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
                   check=True)
    result_dir = tmp_path / "scrape-result"
    (result_dir / "export" / "vbaws").mkdir(parents=True)
    (result_dir / "export" / "vbaws" / "page.json").write_text("{}\n")
    (result_dir / "CHANGES.md").write_text("# Permission changes\n")
    (result_dir / "catalog.db").write_bytes(catalog)
    return origin, work, result_dir


def test_propose_commits_the_export_pushes_and_opens_a_pull_request(fake_gh, tmp_path):
    log, _ = fake_gh
    origin, work, result_dir = scrape_result(tmp_path, b"db")
    result = CliRunner().invoke(cli, ["propose", "--result", str(result_dir), "--repo", str(work)])
    assert result.exit_code == 0, result.output
    assert "opened a pull request" in result.output
    branches = subprocess.run(["git", "-C", str(origin), "branch"], capture_output=True, text=True).stdout
    assert "scrape/updates" in branches
    calls = log.read_text()
    assert "release upload catalog-pending" in calls and "pr create --head scrape/updates" in calls


def proposed(fake_gh, tmp_path):
    """Run `propose` against a local origin; return the pushed head commit and the result folder."""
    origin, work, result_dir = scrape_result(tmp_path, b"the reviewed catalog")
    result = CliRunner().invoke(cli, ["propose", "--result", str(result_dir), "--repo", str(work)])
    assert result.exit_code == 0, result.output
    head = subprocess.run(["git", "-C", str(origin), "rev-parse", "scrape/updates"], capture_output=True,
                          text=True, check=True).stdout.strip()
    return head, result_dir


def test_a_merge_publishes_the_catalog_recorded_for_its_head_commit(fake_gh, tmp_path):
    head, _ = proposed(fake_gh, tmp_path)
    target = tmp_path / "publish" / "catalog.db"
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog-pending", "--head", head, "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output == f"restored {target} from release catalog-pending (produced for commit {head[:12]})\n"
    assert target.read_bytes() == b"the reviewed catalog"


def test_a_catalog_not_produced_by_the_merged_head_is_refused(fake_gh, tmp_path):
    _, releases = fake_gh
    head, _ = proposed(fake_gh, tmp_path)
    target = tmp_path / "publish" / "catalog.db"
    other = "f" * 40
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog-pending", "--head", other, "--to", str(target)])
    assert (result.exit_code, result.output) == (2, (
        f"Error: the catalog in release catalog-pending was produced for commit {head[:12]}, "
        f"not the merged pull request's head {other[:12]}; nothing restored\n"))
    (releases / "catalog-pending" / "catalog.db").write_bytes(b"an unreviewed catalog uploaded later")
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog-pending", "--head", head, "--to", str(target)])
    assert (result.exit_code, result.output) == (2, (
        f"Error: catalog.db in release catalog-pending is not the catalog recorded for commit {head[:12]}; "
        "nothing restored\n"))
    (releases / "catalog-pending" / "catalog-head.json").unlink()
    result = CliRunner().invoke(cli, ["restore", "--release", "catalog-pending", "--head", head, "--to", str(target)])
    assert result.exit_code == 2 and "has no catalog-head.json" in result.output
    assert not target.exists()


CONSTRAINTS = WORKFLOWS.parents[1] / ".ci" / "constraints.txt"


def pinned() -> dict[str, str]:
    lines = [line.strip() for line in CONSTRAINTS.read_text().splitlines()]
    return {name.lower().replace("_", "-"): version for name, version in
            (line.split("==") for line in lines if line and not line.startswith("#"))}


def test_every_install_of_the_workflows_and_of_ci_setup_takes_the_constraints_file():
    installs = [command for name in ("test.yml", "scrape.yml", "publish.yml")
                for job in load(name)["jobs"].values() for command in commands(job) if "pip install" in command]
    assert installs and all("-c .ci/constraints.txt" in command for command in installs), installs
    setup = (WORKFLOWS.parents[1] / ".ci" / "setup").read_text()
    assert [line for line in setup.splitlines() if "pip install" in line and "-c .ci/constraints.txt" not in line] == []


def test_the_constraints_pin_every_package_the_project_pulls_in_at_the_installed_version():
    """Walk the installed requirements of veeam-perms (with its test extras) down to the leaves."""
    import re
    from importlib.metadata import PackageNotFoundError, distribution

    constraints, seen, todo = pinned(), {}, ["veeam-perms[test]"]
    while todo:
        requirement = todo.pop()
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")
        extras = set(re.findall(r"\[([^\]]+)\]", requirement.split(";")[0])[0].split(",")) \
            if "[" in requirement.split(";")[0] else set()
        if name in seen:
            continue
        try:
            found = distribution(name)
        except PackageNotFoundError:
            continue  # a requirement for another platform or Python (its marker excludes it here)
        seen[name] = found.version
        for sub in found.requires or []:
            marker = sub.split(";", 1)[1] if ";" in sub else ""
            if "extra ==" in marker and not any(f'extra == "{extra}"' in marker for extra in extras):
                continue
            todo.append(sub)
    seen.pop("veeam-perms")
    for installer in ("pip", "setuptools"):  # datasette lists them for `datasette install` only
        seen.pop(installer, None)
    assert len(seen) > 40
    assert {name: version for name, version in seen.items() if constraints.get(name) != version} == {}
