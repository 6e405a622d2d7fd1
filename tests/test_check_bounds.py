"""Hostile inputs to CLI `check` (issue 23): the cost is decided before the work starts.

A 50 MB file or an endless stream fails in under 5 s and 300 MB with one line and exit 2; the
action and wildcard caps refuse before judging; the largest input under the caps is judged in a
few seconds. Times and memory are those of the process that did the work: its peak is the kernel's
high-water mark of its own memory (`VmHWM`, read as it exits; `wait4`'s figure would count the
memory of the test process it was forked from), with margins wide enough for a loaded machine.
"""

import json
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_check_inputs import NEEDED_AWS, OPERATION, build_fixture_catalog

from catalog.analysis.check_load import MAX_ENTRIES, MAX_INNER_WILDCARDS

LIMIT_SECONDS, LIMIT_KB = 5.0, 300 * 1024


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("bounds") / "plugins.db")


PEAK_MARK = "peak-rss-kb:"
# `veeam-perms check ...` whose process writes its own memory high-water mark to stderr as it exits
WITH_PEAK = f"""
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write("{PEAK_MARK}" + kb + "\\n")
atexit.register(peak)
from pipeline.cli.main import cli
cli(prog_name="veeam-perms")
"""


def measured(args, stdin=subprocess.DEVNULL):
    """(exit status, stdout, stderr, seconds, peak RSS in kB) of `veeam-perms check ...` in its own process."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", WITH_PEAK, "check", *map(str, args)], stdin=stdin,
                          capture_output=True, timeout=120)
    seconds = time.monotonic() - started
    err, _, peak = done.stderr.decode().rpartition(PEAK_MARK)
    return done.returncode, done.stdout.decode(), err, seconds, int(peak)


def common(db):
    return ["--db", db, "--product", "vbr", "--operation", OPERATION]


def test_a_50_mb_file_fails_at_once(plugin_db, tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.write(b'{"Statement": [{"Effect": "Allow", "Action": [')
        handle.write(b'"ec2:DescribeInstances", ' * (50 * 1024 * 1024 // 25))
        handle.write(b'"s3:GetObject"], "Resource": "*"}]}')
    status, out, err, seconds, peak = measured([path, *common(plugin_db)])
    assert (status, out) == (2, "")
    assert err == (f"Error: {path}: over the 10,485,760-byte limit of one check (all inputs together; "
                   "--max-input-mb raises it)\n")
    assert seconds < LIMIT_SECONDS and peak < LIMIT_KB, (seconds, peak)


@pytest.mark.parametrize("how", ["path", "stdin"])
def test_an_endless_input_is_read_only_up_to_the_limit(plugin_db, how):
    with open("/dev/zero", "rb") as zero:
        args = ["/dev/zero"] if how == "path" else ["-"]
        status, out, err, seconds, peak = measured([*args, *common(plugin_db)], stdin=zero)
    name = "/dev/zero" if how == "path" else "stdin"
    assert (status, out, err) == (2, "", f"Error: {name}: over the 10,485,760-byte limit of one check (all inputs "
                                         "together; --max-input-mb raises it)\n")
    assert seconds < LIMIT_SECONDS and peak < LIMIT_KB, (seconds, peak)


def test_the_byte_limit_is_for_all_files_together(plugin_db, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": NEEDED_AWS, "Resource": "*"}]})
    first.write_text(policy + " " * 700_000)
    second.write_text(policy + " " * 400_000)
    status, _, err, _, _ = measured([first, second, *common(plugin_db), "--max-input-mb", "1"])
    assert (status, err) == (2, f"Error: {second}: over the 1,048,576-byte limit of one check (all inputs together; "
                                "--max-input-mb raises it)\n")


def write_policy(path, actions):
    path.write_text(json.dumps({"Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return path


def test_more_entries_than_the_cap_are_refused_before_judging(plugin_db, tmp_path):
    path = write_policy(tmp_path / "many.json", [f"ec2:Action{i:06d}" for i in range(MAX_ENTRIES + 1)])
    status, _, err, seconds, peak = measured([path, *common(plugin_db)])
    assert (status, err) == (2, f"Error: {path}: 100,001 action and permission entries; one check reads at most "
                                "100,000\n")
    assert seconds < LIMIT_SECONDS and peak < LIMIT_KB, (seconds, peak)


def test_more_inner_wildcards_than_the_cap_are_refused(plugin_db, tmp_path):
    path = write_policy(tmp_path / "globs.json", [f"*a{i}*b?" for i in range(MAX_INNER_WILDCARDS + 1)])
    status, _, err, _, _ = measured([path, *common(plugin_db)])
    assert (status, err) == (2, f"Error: {path}: 501 patterns with an inner wildcard or '?'; one check reads at "
                                "most 500\n")


def test_the_largest_input_under_the_caps_is_judged_in_seconds(plugin_db, tmp_path):
    """99,000 literal actions, 500 inner wildcards, `*` and a Deny of 499 inner wildcards: every path
    of the matcher at its cap (50,000 actions took 199 s before, issue 23)."""
    actions = [f"svc{i % 500}:Action{i:06d}" for i in range(99_000)] + NEEDED_AWS + ["*"]
    path = tmp_path / "largest.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"},
        {"Effect": "Allow", "Action": ["*x?"], "Resource": "*"},
        {"Effect": "Deny", "Action": [f"*{i}?y*" for i in range(MAX_INNER_WILDCARDS - 1)], "Resource": "*"}]}))
    status, out, err, seconds, peak = measured([path, *common(plugin_db), "--json"])
    assert status == 0, err
    [principal] = json.loads(out)["principals"]
    assert principal["verdict"] == "enough" and len(principal["granted_not_needed"]) == 99_001  # and *x?
    assert seconds < 30 and peak < LIMIT_KB, (seconds, peak)


def test_a_yaml_input_has_its_own_smaller_limit(plugin_db, tmp_path):
    path = tmp_path / "role.yaml"
    path.write_text("title: Big\nincludedPermissions:\n" + "- compute.disks.get\n" * 250_000)
    status, _, err, _, _ = measured([path, *common(plugin_db)])
    assert (status, err) == (2, f"Error: {path}: YAML larger than 4,194,304 bytes (a Google Cloud role is a few kB)\n")


def test_many_principals_sharing_a_wildcard_policy_are_judged_at_the_cost_of_one(plugin_db, tmp_path):
    # 100 roles attached to one policy of 200 wildcards that all mean `*`: each was 3 s and 33 MB.
    stars = ["*" * (n + 1) for n in range(200)]
    policy = {"PolicyName": "Wide", "Arn": "arn:aws:iam::111122223333:policy/Wide", "DefaultVersionId": "v1",
              "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": {
                  "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": stars, "Resource": "*"}]}}]}
    export = {"UserDetailList": [], "GroupDetailList": [], "Policies": [policy], "RoleDetailList": [
        {"RoleName": f"role{n}", "Arn": f"arn:aws:iam::111122223333:role/role{n}", "RolePolicyList": [],
         "AttachedManagedPolicies": [{"PolicyName": "Wide", "PolicyArn": policy["Arn"]}]} for n in range(100)]}
    path = tmp_path / "account.json"
    path.write_text(json.dumps(export))
    status, out, err, seconds, peak_kb = measured([path, *common(plugin_db), "--builds", "all", "--json"])
    assert status == 0, err
    assert len(json.loads(out)["principals"]) == 100
    assert seconds < 3 * LIMIT_SECONDS and peak_kb < LIMIT_KB, (seconds, peak_kb)


def test_a_pattern_built_to_backtrack_is_judged_at_once(plugin_db, tmp_path):
    # an 80-byte policy: a regular expression with `.*` per `*` took 70 s of CPU on it
    path = write_policy(tmp_path / "backtrack.json", NEEDED_AWS + ["*?" * 12 + "#"])
    status, out, err, seconds, _ = measured([path, *common(plugin_db), "--json"])
    assert status == 0, err
    assert json.loads(out)["principals"][0]["verdict"] == "enough"
    assert seconds < LIMIT_SECONDS, seconds


def glob_matches(pattern: str, name: str) -> bool:
    """IAM's wildcard rule, read independently: `*` any run, `?` one character, all else literal."""
    reach = {0}
    for ch in pattern:
        if ch == "*":
            reach = set(range(min(reach), len(name) + 1)) if reach else set()
        else:
            reach = {i + 1 for i in reach if i < len(name) and (ch == "?" or name[i] == ch)}
    return len(name) in reach


@given(st.lists(st.text("ab*?[]!-", min_size=1, max_size=8), min_size=1, max_size=4), st.text("ab[]!-", max_size=10))
@settings(max_examples=400, deadline=None)
def test_patterns_cover_a_name_exactly_when_iams_wildcard_rule_says_so(patterns, name):
    from catalog.analysis.check_match import Patterns

    assert Patterns(patterns).covers(name) == any(glob_matches(p, name) for p in patterns)


def test_forty_thousand_roles_are_located_in_one_pass_over_the_file():
    """Each principal's line and column for SARIF: a search of the whole text per principal took 93 s."""
    from catalog.analysis.check_load import load
    from catalog.limits import cpu_time_limit

    roles = [json.dumps({"RoleName": f"role{n}", "Arn": f"arn:aws:iam::111122223333:role/role{n}",
                         "RolePolicyList": [], "AttachedManagedPolicies": []}) for n in range(40_000)]
    data = ('{"RoleDetailList": [\n' + ",\n".join(roles) + "\n]}\n").encode()
    with cpu_time_limit(10.0):
        source = load(data, "account.json")
        assert [source.find("RoleName", f"role{n}") for n in range(40_000)] == [(n + 2, 2) for n in range(40_000)]
        assert source.find("RoleName", "role40000") is None
