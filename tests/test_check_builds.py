"""`check --builds`: every build, the last one fully covered and what the next adds, as `upgrade` says.

The authored two-build plug-in catalog (tests/check_inputs/catalog) has a real addition between its
builds; the four-bundle catalog of real helpcenter pages (../shared) is asked the same question.
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_check_inputs import INPUTS, OPERATION, build_fixture_catalog

from pipeline.cli.main import cli

OLD, NEW = "13.0.1.1071", "13.0.1.2067"


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("builds") / "plugins.db")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def older_policy(db, tmp_path, product, build, operation) -> Path:
    """The AWS policy `veeam-perms policy` wrote for an older build: what an administrator granted then."""
    result = run("policy", "--db", db, "--product", product, "--build", build, "--operation", operation)
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{product}-{build}.json"
    path.write_text(result.stdout)
    return path


def check_builds(db, files, product, operation, builds="all"):
    result = run("check", *files, "--db", db, "--product", product, "--operation", operation, "--builds", builds,
                 "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def upgrade_adds(db, product, old, new, operation, provider):
    result = run("upgrade", "--db", db, "--product", product, "--from", old, "--to", new, "--operation", operation,
                 "--json")
    assert result.exit_code == 0, result.output
    return [row for row in json.loads(result.stdout)["add"] if row["provider"] == provider]


def test_a_policy_for_the_older_build_covers_it_and_the_next_adds_what_upgrade_says(plugin_db, tmp_path):
    policy = older_policy(plugin_db, tmp_path, "vbr", OLD, OPERATION)
    status, report = check_builds(plugin_db, [policy], "vbr", OPERATION)
    [principal] = report["principals"]
    assert status == 1 and report["points"] == [OLD, NEW]
    assert principal["builds"] == [
        {"build": OLD, "verdict": "enough", "missing": []},
        {"build": NEW, "verdict": "not enough", "missing": ["ec2:CreateTags", "iam:SimulatePrincipalPolicy"]}]
    assert (principal["covers_through"], principal["next_build"]) == (OLD, NEW)
    assert principal["next_adds"] == upgrade_adds(plugin_db, "vbr", OLD, NEW, OPERATION, "aws")
    assert [row["permission"] for row in principal["next_adds"]] == ["ec2:CreateTags", "iam:SimulatePrincipalPolicy"]


def test_every_provider_is_told_what_the_next_build_adds_for_it(plugin_db):
    _, report = check_builds(plugin_db, [INPUTS / "plan.json", INPUTS / "gcp_role.yaml"], "vbr", OPERATION)
    by_name = {p["principal"]: p for p in report["principals"]}
    azure = by_name["azurerm_role_definition.plugin_backup"]
    gcp = by_name["projects/veeam-backup-example/roles/veeamPluginBackup"]
    for principal, provider in ((azure, "azure"), (gcp, "gcp")):
        assert (principal["covers_through"], principal["next_build"]) == (OLD, NEW)
        assert principal["next_adds"] == upgrade_adds(plugin_db, "vbr", OLD, NEW, OPERATION, provider)
    complete = by_name["aws_iam_policy.plugin_backup"]
    assert (complete["covers_through"], complete["next_build"], complete["next_adds"]) == (NEW, None, None)
    unknown = by_name["aws_iam_policy.plugin_logs"]
    assert unknown["builds"] == [{"build": b, "verdict": "not evaluated", "missing": []} for b in (OLD, NEW)]
    assert unknown["covers_through"] is None


def test_the_text_report_names_the_builds_and_the_addition(plugin_db, tmp_path):
    policy = older_policy(plugin_db, tmp_path, "vbr", OLD, OPERATION)
    result = run("check", policy, "--db", plugin_db, "--product", "vbr", "--operation", OPERATION, "--builds", "all")
    assert result.exit_code == 1
    assert f"    {OLD}  enough\n    {NEW}  not enough: 2 missing (ec2:CreateTags, iam:SimulatePrincipalPolicy)" \
        in result.output
    assert (f"  Covers through {OLD}; {NEW} adds 2 (as `veeam-perms upgrade --from {OLD} --to {NEW}` says):\n"
            "    + ec2:CreateTags\n    + iam:SimulatePrincipalPolicy\n") in result.output


@pytest.mark.parametrize("builds, points", [
    ("all", [OLD, NEW]), ("13.0..latest", [OLD, NEW]), ("13.0", [NEW]), (f"..{OLD}", [OLD]),
    (f"{OLD}..{NEW}", [OLD, NEW]), ("previous..latest", [OLD, NEW]), (NEW, [NEW])])
def test_build_ranges(plugin_db, builds, points):
    _, report = check_builds(plugin_db, [INPUTS / "gcp_role.yaml"], "vbr", OPERATION, builds)
    assert report["points"] == points


@pytest.mark.parametrize("args, message", [
    (["--builds", f"{NEW}..{OLD}"], f"Error: --builds {NEW}..{OLD}: {NEW} comes after {OLD}"),
    (["--builds", "12..latest"], f"Error: '12' is not a build of vbr, a YYYY-MM-DD date, 'latest' or 'previous'; "
                                 f"builds: {OLD}, {NEW}"),
    (["--builds", "2026-01-01..latest"], f"Error: --builds 2026-01-01: vbr is read by build; name builds, not "
                                         f"dates (builds: {OLD}, {NEW})"),
    (["--build", "12"], f"Error: '12' is not a build of vbr, a YYYY-MM-DD date, 'latest' or 'previous'; "
                        f"builds: {OLD}, {NEW}"),
    (["--builds", "all", "--build", OLD], "Error: --build and --builds exclude each other: one build, or a range"),
])
def test_bad_ranges_are_one_line(plugin_db, args, message):
    result = run("check", INPUTS / "gcp_role.yaml", "--db", plugin_db, "--product", "vbr", "--operation", OPERATION,
                 *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == message


def dated_catalog(db_path: Path) -> Path:
    """The plug-in pages with neither a build in their front matter nor a footer: a product read by date."""
    from catalog.storage.database import open_catalog
    from catalog.storage.store import CatalogWriter, Observation
    from pipeline.parse.page import parse_markdown_page

    db = open_catalog(db_path)
    writer = CatalogWriter(db, "dir", "dated")
    for build, day in ((OLD, "2026-02-02"), (NEW, "2026-03-16")):
        with writer.run():
            for page in sorted((INPUTS / "catalog" / build).glob("*.md")):
                text = re.sub(r'product_version: "[^"]*"\n|Page content applies to build \S+\n', "", page.read_text())
                writer.save_page(parse_markdown_page(text), Observation(f"{day}T06:00:00+00:00", "dir", day))
    db.close()
    return db_path


def test_a_product_without_builds_is_read_by_date_as_diff_reads_it(tmp_path):
    db = dated_catalog(tmp_path / "dated.db")
    assert run("diff", "--db", db, "--product", "vbr", "--from", "2026-02-02", "--to", "latest").exit_code == 0
    policy = older_policy(db, tmp_path, "vbr", "2026-02-02", OPERATION)
    status, report = check_builds(db, [policy], "vbr", OPERATION)
    [principal] = report["principals"]
    assert status == 1 and report["points"] == ["2026-02-02", "2026-03-16"]
    assert [(b["build"], b["verdict"]) for b in principal["builds"]] == [
        ("2026-02-02", "enough"), ("2026-03-16", "not enough")]
    assert (principal["covers_through"], principal["next_build"]) == ("2026-02-02", "2026-03-16")
    assert principal["next_adds"] == upgrade_adds(db, "vbr", "2026-02-02", "2026-03-16", OPERATION, "aws")


@pytest.mark.parametrize("builds, points", [
    ("2026-02-10..latest", ["2026-02-02", "2026-03-16"]), ("2026-03-20", ["2026-03-16"]),
    ("..2026-03-01", ["2026-02-02"]), ("previous..latest", ["2026-02-02", "2026-03-16"])])
def test_a_dated_range_reads_its_ends_as_diff_reads_a_date(tmp_path, builds, points):
    """Any day names the state in force then (the last change on or before it), as `--from` of diff does."""
    db = dated_catalog(tmp_path / "dated.db")
    assert check_builds(db, [INPUTS / "gcp_role.yaml"], "vbr", OPERATION, builds)[1]["points"] == points


def test_a_dated_range_that_starts_before_the_first_change_is_one_line(tmp_path):
    db = dated_catalog(tmp_path / "dated.db")
    result = run("check", INPUTS / "gcp_role.yaml", "--db", db, "--product", "vbr", "--operation", OPERATION,
                 "--builds", "2025-01-01..latest")
    assert (result.exit_code, result.output.strip().splitlines()[-1]) == (
        2, "Error: --builds 2025-01-01: before vbr's first change (2026-02-02)")


def test_the_four_bundle_catalog_answers_as_upgrade_does(real_catalog, tmp_path):
    """Real pages: vbr's AWS object-storage operations at 13.0.1.1071, 13.0.1.2067 and 13.0.2.29. A policy
    written for 13.0.1.1071 still covers the later builds: every permission `upgrade` lists as added for
    an operation was already needed, by name, by another "Amazon S3" operation in 13.0.1.1071. vbaws is
    in the bundle at one build only (10.0.0.232): covered through it, nothing beyond."""
    policy = older_policy(real_catalog, tmp_path, "vbr", "13.0.1.1071", "Amazon S3")
    status, report = check_builds(real_catalog, [policy], "vbr", "Amazon S3")
    [principal] = report["principals"]
    builds = report["points"]
    assert status == 0 and builds == ["13.0.1.1071", "13.0.1.2067", "13.0.2.29"]
    assert [b["verdict"] for b in principal["builds"]] == ["enough"] * 3
    assert (principal["covers_through"], principal["next_build"]) == ("13.0.2.29", None)
    granted = {a.lower() for a in json.loads(policy.read_text())["Statement"][0]["Action"]}
    for older, newer in zip(builds, builds[1:], strict=False):
        added = upgrade_adds(real_catalog, "vbr", older, newer, "Amazon S3", "aws")
        assert added, (older, newer)  # upgrade lists additions for the operations that are new on their pages
        assert {row["permission"].lower() for row in added if not row["optional"]} <= granted

    aws = older_policy(real_catalog, tmp_path, "vbaws", "10.0.0.232", "deploy a new backup appliance")
    status, report = check_builds(real_catalog, [aws], "vbaws", "deploy a new backup appliance")
    assert status == 0 and report["points"] == ["10.0.0.232"]
    assert report["principals"][0]["covers_through"] == "10.0.0.232"
