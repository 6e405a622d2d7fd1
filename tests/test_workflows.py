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


def test_publish_workflow_on_merge_builds_site_and_releases_the_catalog():
    workflow = load("publish.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["publish"]
    assert job["permissions"] == {"contents": "write"}
    assert commands(job)[1:] == [
        "veeam-perms restore --release catalog-pending --release catalog --to catalog.db",
        "veeam-perms publish --db catalog.db --to build/site",
        "veeam-perms release --db catalog.db --site build/site --release catalog"]


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
  name=$3; [ -f {releases}/$name/catalog.db ] || exit 1
  dir=.; while [ $# -gt 0 ]; do [ "$1" = "--dir" ] && dir=$2; shift; done
  cp {releases}/$name/catalog.db "$dir/catalog.db"; exit 0
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


def test_propose_commits_the_export_pushes_and_opens_a_pull_request(fake_gh, tmp_path):
    log, _ = fake_gh
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
    (result_dir / "catalog.db").write_bytes(b"db")
    result = CliRunner().invoke(cli, ["propose", "--result", str(result_dir), "--repo", str(work)])
    assert result.exit_code == 0, result.output
    assert "opened a pull request" in result.output
    branches = subprocess.run(["git", "-C", str(origin), "branch"], capture_output=True, text=True).stdout
    assert "scrape/updates" in branches
    calls = log.read_text()
    assert "release upload catalog-pending" in calls and "pr create --head scrape/updates" in calls
