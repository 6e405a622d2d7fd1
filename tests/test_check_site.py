"""The website's /check: the same inputs as the CLI, a verdict per principal and per build, judged
in a worker process within size and entry bounds (issues 21, 22 and 23)."""

import json
import statistics
import threading
import time
from urllib.parse import urlencode

import httpx
import pytest
from test_browser import running_site
from test_check_inputs import INPUTS, NEEDED_AWS, OPERATION, build_fixture_catalog

from pipeline.jobs.website import make_datasette, served_catalog

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def plugin_db(tmp_path_factory):
    return build_fixture_catalog(tmp_path_factory.mktemp("site") / "plugins.db")


@pytest.fixture(scope="module")
def client(plugin_db):
    return make_datasette(plugin_db).client


async def post_check(client, **fields):
    page = await client.get("/check")
    token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    data = {"csrftoken": token, "product": "vbr", "operation": OPERATION, **fields}
    return await client.post("/check", data=data, cookies={"ds_csrftoken": page.cookies.get("ds_csrftoken")})


async def test_an_account_export_gets_a_verdict_per_principal(client):
    response = await post_check(client, policy=(INPUTS / "account.json").read_text())
    assert response.status_code == 200, response.text[-800:]
    text = response.text
    assert "Not enough: 5 principals checked at 13.0.1.2067" in text
    for name, verdict in (("role/VeeamPluginComplete", "Enough: nothing missing"),
                          ("role/VeeamPluginStaleVersion", "Not enough: 1 missing"),
                          ("role/VeeamPluginBounded", "Not enough: 1 missing"),
                          ("group/VeeamOperators", "Not enough: 8 missing")):
        heading = text.split(f"arn:aws:iam::111122223333:{name} <small>")[1].split("</h3>")[0]
        assert verdict in heading, (name, heading)
    assert "the permission boundary managed policy VeeamBoundary (v1) does not allow it" in text
    assert "Not evaluated: attached policy arn:aws:iam::aws:policy/ReadOnlyAccess is not in the export" in text


async def test_a_terraform_plan_with_build_coverage(client):
    response = await post_check(client, policy=(INPUTS / "plan.json").read_text(), builds="all")
    assert response.status_code == 200, response.text[-800:]
    text = response.text
    assert "checked at 2 builds (13.0.1.1071 … 13.0.1.2067)" in text
    azure = text.split("azurerm_role_definition.plugin_backup <small>")[1].split("</section>")[0]
    assert "<td>13.0.1.1071</td><td>enough</td>" in azure
    assert "<td>13.0.1.2067</td><td>not enough</td><td><code>Microsoft.Compute/snapshots/beginGetAccess/action" \
        in azure
    assert "Covers through <strong>13.0.1.1071</strong>; 13.0.1.2067 adds 1" in azure
    assert "<code>Microsoft.Compute/snapshots/beginGetAccess/action</code>" in azure.split("adds 1")[1]
    assert "Not evaluated" in text.split("aws_iam_policy.plugin_logs <small>")[1].split("</section>")[0]


async def test_a_gcloud_yaml_role_is_read_from_the_form(client):
    response = await post_check(client, policy=(INPUTS / "gcp_role.yaml").read_text())
    assert response.status_code == 200
    assert "projects/veeam-backup-example/roles/veeamPluginBackup" in response.text
    assert "<code>compute.snapshots.setLabels</code> (not granted)" in response.text


@pytest.mark.parametrize("wildcard", ["*", "iam:*"])
async def test_wildcard_grants_are_flagged_on_the_page(client, wildcard):
    actions = [a for a in NEEDED_AWS if not a.startswith("iam:")] + [wildcard]
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    response = await post_check(client, policy=policy)
    assert response.status_code == 200
    assert "Enough: nothing missing" in response.text
    over = response.text.split("Wildcards granting more than needed</h4>")[1].split("</ul>")[0]
    assert f"<code>{wildcard}</code> in the policy: grants " in over
    assert f"(via {wildcard})</code>" in response.text  # a risky action it grants, named by the one rule


async def test_bad_inputs_are_400_with_the_position(client):
    response = await post_check(client, policy="title: x\nincludedPermissions: [a,\n")
    assert response.status_code == 400
    assert "the pasted policy: not valid YAML at line 3, column 1" in response.text


async def test_too_many_entries_are_refused_before_judging(client):
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": [f"s:{i}" for i in range(20_001)],
                                        "Resource": "*"}]}, separators=(",", ":"))
    assert len(policy) < 200_000
    response = await post_check(client, policy=policy)
    assert response.status_code == 400
    assert "the pasted policy: 20,001 action and permission entries; one check reads at most 20,000" in response.text


def policy_of(actions: int) -> str:
    """About 199,000 characters: the size issue 23 measured blocking the site for two seconds."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": NEEDED_AWS + [f"s3:A{i:05d}" for i in range(actions)], "Resource": "*"}]},
        separators=(",", ":"))


def test_ten_parallel_large_checks_leave_a_static_page_answering(plugin_db):
    """Ten 15,000-action checks at once, judged in the worker process, while a static file is asked for."""
    policy = policy_of(15_000)
    assert len(policy) < 200_000
    with served_catalog(plugin_db) as served:
        site = running_site(served)
        base = next(site)
        try:
            with httpx.Client(base_url=base, timeout=120) as warm:
                page = warm.get("/check")
                token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
                # encoded once: ten client threads encoding 200 kB each would hold this process's GIL
                # and slow the probe below, which is not what is measured
                body = urlencode({"csrftoken": token, "product": "vbr", "operation": OPERATION, "policy": policy})
                headers = {"content-type": "application/x-www-form-urlencoded"}
                assert warm.post("/check", content=body, headers=headers).status_code == 200  # starts the worker
            statuses, latencies = [], []
            # clients made before the burst: making one loads a TLS context, tens of ms of this
            # process's CPU that would show up as the probe's latency
            with httpx.Client(base_url=base, timeout=120, limits=httpx.Limits(max_connections=10)) as burst_client, \
                    httpx.Client(base_url=base, timeout=10) as static:
                assert static.get("/static/site.css").status_code == 200

                def one_check():
                    statuses.append(burst_client.post("/check", content=body, headers=headers).status_code)

                threads = [threading.Thread(target=one_check) for _ in range(10)]
                started = time.monotonic()
                for thread in threads:
                    thread.start()
                # asked at least once after the burst starts, then until it ends: on a fast machine the
                # whole burst may be over in a tenth of a second, which leaves room for one probe only
                while not latencies or (any(t.is_alive() for t in threads) and time.monotonic() - started < 120):
                    asked = time.monotonic()
                    assert static.get("/static/site.css").status_code == 200
                    latencies.append(time.monotonic() - asked)
                    time.sleep(0.02)
                for thread in threads:
                    thread.join()
                burst = time.monotonic() - started
        finally:
            site.close()
    # one client: two checks at a time are judged, the others are turned away at once (429)
    assert sorted(statuses)[:2] == [200, 200] and set(statuses) <= {200, 429}, statuses
    # every answer well under 200 ms while the burst lasted; one slow scheduling slot is forgiven
    # when there were several answers, none when there was only one
    forgiven = 1 if len(latencies) > 1 else 0
    assert statistics.median(latencies) < 0.2 and sorted(latencies)[-1 - forgiven] < 0.2, (latencies, burst)


async def test_the_page_and_the_cli_give_the_same_verdicts(client, plugin_db):
    """One question, one answer: every principal's verdict and missing count, on the page and in `check --json`."""
    import re

    from click.testing import CliRunner

    from pipeline.cli.main import cli

    files = [INPUTS / name for name in ("account.json", "plan.json", "azure_roles.json", "gcp_role.yaml")]
    for path in files:
        response = await post_check(client, policy=path.read_text(), builds="all")
        page = {name: verdict.strip() for name, verdict in
                re.findall(r"<h3>(.*?) <small>.*?</small>:\s*(.*?)</h3>", response.text, re.S)}
        result = CliRunner().invoke(cli, ["check", str(path), "--db", str(plugin_db), "--product", "vbr",
                                          "--operation", OPERATION, "--builds", "all", "--json"])
        words = {"enough": "Enough: nothing missing", "not evaluated": "Not evaluated"}
        cli_answer = {p["principal"]: words.get(p["verdict"], f"Not enough: {len(p['missing'])} missing")
                      for p in json.loads(result.stdout)["principals"]}
        assert page == cli_answer, path.name


async def test_an_input_over_the_size_limit_is_refused(client):
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*",
                                        "Sid": "x" * 210_000}]})
    response = await post_check(client, policy=policy)
    assert response.status_code == 400
    assert "The input is longer than 200,000 characters." in response.text


async def test_a_policy_under_the_limit_in_characters_passes_however_many_bytes_it_encodes_to(client):
    """150,000 characters of which most are "é": 900 kB percent-encoded, under the 200,000-character limit."""
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": NEEDED_AWS, "Resource": "*",
                                        "Sid": "é" * 149_000}]}, ensure_ascii=False)
    assert len(policy) < 150_000
    response = await post_check(client, policy=policy)
    assert response.status_code == 200, response.text[-400:]
    assert "Enough: nothing missing" in response.text


async def test_a_long_field_name_ending_in_a_non_ascii_character_gets_an_answer_not_a_server_error(client):
    page = await client.get("/check")
    token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    body = (b"x" * 99 + "\u00e9".encode() + b"=1&csrftoken=" + token.encode() + b"&product=vbr&operation="
            + OPERATION.encode() + b"&policy=" + json.dumps({"Statement": []}).encode())
    response = await client.post("/check", content=body, cookies={"ds_csrftoken": page.cookies.get("ds_csrftoken")},
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text[-400:]
    assert "Not enough" in response.text


async def test_a_form_that_is_not_utf_8_is_refused_before_it_is_read(client):
    response = await client.post("/check", content=b"\xff\xfe=1&policy=%7B%7D",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.text) == (400, "Form data that is not UTF-8.\n")


async def test_a_check_past_its_time_is_stopped_and_the_next_one_runs(client, monkeypatch):
    from catalog.analysis import check

    policy = (INPUTS / "gcp_role.yaml").read_text()
    monkeypatch.setattr(check, "WORKER_SECONDS", 0.000_001)  # sent to the worker with the check
    # a check long enough for the CPU timer (it ticks every few ms) to fire in it
    response = await post_check(client, policy=policy_of(15_000))
    assert response.status_code == 400
    assert "The check took over 1e-06 s and was stopped." in response.text
    from datasette.plugins import pm

    monkeypatch.setattr(pm.get_plugin("veeam_site_forms.py")._checks, "total", 0)  # the site's bound on checks
    response = await post_check(client, policy=policy)
    assert (response.status_code, "Too many checks at once; try again in a moment." in response.text) == (503, True)
    monkeypatch.undo()
    response = await post_check(client, policy=policy)
    assert response.status_code == 200 and "compute.snapshots.setLabels" in response.text
