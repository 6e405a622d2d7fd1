"""`veeam-perms canary`: live pages against the dumps, offline from recorded responses.

Re-record the cassettes with `pytest tests/test_canary.py --record-mode=rewrite`: the
authored site below is then served on 127.0.0.1:8766 and the responses recorded.
"""

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.jobs.canary import CanaryError, load_canary_list
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from tests.support.render_html import render_document
from tests.support.sitegen import ROBOTS, SiteServer

from corpus import BUNDLES, clone

HERE = Path(__file__).parent
RECORDED_BASE = "http://127.0.0.1:8766"
VRO = "/docs/vro/userguide/fixture_azure_recovery_permissions"
VBAWS = "/docs/vbaws/guide/iam_permissions"
CANARY_LIST = f"""
[[page]]
path = "{VRO}.html"
dump = "vro/docs/fixture_azure_recovery_permissions.md"

[[page]]
path = "{VBAWS}.html"
dump = "vbaws/docs/iam_permissions.md"
"""


def _html_of(dump_file: Path) -> str:
    return render_document(parse_markdown_blocks(dump_file.read_text()))


def agreeing_site() -> dict[str, str]:
    return {"/robots.txt": ROBOTS,
            f"{VRO}.html": (HERE / "pages" / "13_three_formats.html").read_text(),
            f"{VRO}.md": (HERE / "pages" / "13_three_formats.veeam.md").read_text(),
            f"{VBAWS}.html": _html_of(HERE / "site" / "vbaws_iam_permissions.md")}


def disagreeing_site() -> dict[str, str]:
    """The live Markdown lost an action; the live vbaws page is an older build."""
    site = agreeing_site()
    site[f"{VRO}.md"] = site[f"{VRO}.md"].replace('"Microsoft.Compute/disks/write",\n', "")
    site[f"{VBAWS}.html"] = _html_of(HERE / "site" / "vbaws_iam_permissions@9.md")
    return site


SITES = {"agree": agreeing_site, "disagree": disagreeing_site}


@pytest.fixture
def canary_base(request):
    """Replay needs no server; recording (--record-mode=rewrite) serves the site on port 8766."""
    if request.config.getoption("--record-mode") in (None, "none"):
        yield RECORDED_BASE
        return
    with SiteServer(SITES[request.param](), port=8766) as server:
        yield server.base_url


@pytest.fixture
def dumps(tmp_path):
    folder = tmp_path / "dumps"
    (folder / "vro" / "docs").mkdir(parents=True)
    (folder / "vbaws" / "docs").mkdir(parents=True)
    (folder / "vro" / "docs" / "fixture_azure_recovery_permissions.md").write_text(
        (HERE / "pages" / "13_three_formats.md").read_text())
    (folder / "vbaws" / "docs" / "iam_permissions.md").write_text(
        (HERE / "site" / "vbaws_iam_permissions.md").read_text())
    (tmp_path / "canary.toml").write_text(CANARY_LIST)
    return folder


def run(tmp_path, dumps, base):
    return CliRunner().invoke(cli, [
        "canary", "--dumps", str(dumps), "--raw-dir", str(tmp_path / "raw"), "--base-url", base,
        "--list", str(tmp_path / "canary.toml"), "--report", str(tmp_path / "report.md")])


def rows_of(output: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in output.splitlines() if line.startswith("| /")]


@pytest.mark.default_cassette("canary_agree.yaml")
@pytest.mark.vcr
@pytest.mark.parametrize("canary_base", ["agree"], indirect=True)
def test_canary_agrees_with_the_dumps(tmp_path, dumps, canary_base):
    result = run(tmp_path, dumps, canary_base)
    assert result.exit_code == 0, result.output
    assert [row[:6] for row in rows_of(result.output)] == [
        [f"{VRO}.html", "html", "agree", "2/2", "9/9", "7.2.0.104/7.2.0.104"],
        [f"{VRO}.md", "md", "agree", "2/2", "9/9", "7.2.0.104/7.2.0.104"],
        [f"{VBAWS}.html", "html", "agree", "3/3", "11/11", "10.0.0.232/10.0.0.232"],
        [f"{VBAWS}.md", "md", "no twin", "-", "-", "-"],
    ]
    assert result.output.rstrip().endswith("4 sources compared, all agree with the dumps")
    assert (tmp_path / "report.md").read_text().strip() == result.output.strip()
    raw = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert raw == ["docs_vbaws_guide_iam_permissions.html",
                   "docs_vro_userguide_fixture_azure_recovery_permissions.html",
                   "docs_vro_userguide_fixture_azure_recovery_permissions.md"]


@pytest.mark.default_cassette("canary_disagree.yaml")
@pytest.mark.vcr
@pytest.mark.parametrize("canary_base", ["disagree"], indirect=True)
def test_canary_disagreement_exits_1_with_the_differences(tmp_path, dumps, canary_base):
    result = run(tmp_path, dumps, canary_base)
    assert result.exit_code == 1, result.output
    rows = {(row[0], row[1]): row for row in rows_of(result.output)}
    assert rows[(f"{VRO}.html", "html")][2] == "agree"
    md = rows[(f"{VRO}.md", "md")]
    assert md[2:5] == ["DISAGREE", "2/2", "8/9"]
    assert md[6] == "permissions: 0 only live (), 1 only dump (microsoft.compute/disks/write)"
    aws = rows[(f"{VBAWS}.html", "html")]
    assert aws[2] == "DISAGREE" and aws[5] == "9.0.0.100/10.0.0.232"
    assert "build 9.0.0.100 live vs 10.0.0.232 dump" in aws[6]
    assert result.output.rstrip().endswith("4 sources compared, 2 disagree or failed")


def test_usage_errors_exit_2_with_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text("[[page]]\npath = 'x.html'\n")
    result = CliRunner().invoke(cli, ["canary", "--dumps", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path / 'none'}: no dumps folder here; clone the dumps into it first"
    result = CliRunner().invoke(cli, ["canary", "--dumps", str(tmp_path), "--list", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path / 'bad.toml'}: page 1 lacks dump"


@pytest.mark.parametrize(("text", "message"), [
    ("[[page]]\npath = '/a.html'\ndump = '../../etc/passwd'\n",
     "canary.toml: page 1: path must start with / and end in .html, and dump stay inside the dumps folder"),
    ("[[page]]\npath = '/a.pdf'\ndump = 'vbaws/a.md'\n",
     "canary.toml: page 1: path must start with / and end in .html, and dump stay inside the dumps folder"),
    ("", "canary.toml: lists 0 pages; a canary needs 1 to 200"),
    ("[[page]\n", "canary.toml: Expected ']]' at the end of an array declaration (at line 1, column 7)"),
])
def test_bad_canary_lists_are_refused(text, message):
    with pytest.raises(CanaryError) as error:
        load_canary_list(text)
    assert str(error.value) == message


def test_packaged_list_covers_about_twenty_pages_across_products():
    pages = load_canary_list()
    assert 18 <= len(pages) <= 25
    assert {page.dump.split("/")[0] for page in pages} == {"vbaws", "vbazure", "vb365", "vbr"}
    assert all(page.markdown and page.markdown_path.endswith(".md") for page in pages)


def test_packaged_list_names_real_dump_files_with_their_urls(tmp_path_factory):
    """Each entry's dump file exists in the real dumps and its source_url is the entry's path."""
    root = str(tmp_path_factory.getbasetemp() / "canary-bundles")
    for page in load_canary_list():
        dump, _, file = page.dump.partition("/")
        text = (clone(dump, root) / file).read_text(encoding="utf-8")
        assert f'source_url: "https://helpcenter.veeam.com{page.path}"' in text, page


assert set(BUNDLES) == {"vbaws", "vbazure", "vbr", "vb365"}


@pytest.fixture
def fake_gh(tmp_path, monkeypatch):
    """A `gh` that logs its arguments; `issue list` answers with the number in OPEN_ISSUE."""
    import os
    import stat

    log = tmp_path / "gh.log"
    script = tmp_path / "bin" / "gh"
    script.parent.mkdir()
    script.write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n'
                      'if [ "$1 $2" = "issue list" ]; then echo "$OPEN_ISSUE"; fi\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.mark.parametrize(("open_issue", "said", "call"), [
    ("", "opened an issue", "issue create --title T --body-file {body} --label scrape-canary"),
    ("42", "commented on issue #42", "issue comment 42 --body-file {body}"),
])
def test_issue_opens_one_or_comments_on_the_open_one(fake_gh, tmp_path, monkeypatch, open_issue, said, call):
    monkeypatch.setenv("OPEN_ISSUE", open_issue)
    body = tmp_path / "report.md"
    body.write_text("| page |\n")
    result = CliRunner().invoke(cli, ["issue", "--title", "T", "--body-file", str(body), "--label", "scrape-canary"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == said
    assert fake_gh.read_text().splitlines() == [
        "issue list --label scrape-canary --state open --json number --jq .[0].number // empty",
        call.format(body=body)]


def test_hostile_live_pages_cost_the_canary_its_budget_not_more(tmp_path):
    import time

    from pipeline.fetch.client import FetchConfig
    from pipeline.jobs.canary import BUDGET_USED, CanaryPage, run_canary
    from tests.support.hostile_site import HostileServer

    dumps = tmp_path / "dumps"
    (dumps / "vbaws" / "docs").mkdir(parents=True)
    (dumps / "vbaws" / "docs" / "iam_permissions.md").write_text("---\ntitle: t\n---\n\n# T\n")
    pages = [CanaryPage(f"/docs/vbaws/guide/hostile_{n}_permissions.html", "vbaws/docs/iam_permissions.md",
                        markdown=False) for n in range(6)]
    with HostileServer() as server:
        start = time.monotonic()
        report = run_canary(dumps, tmp_path / "raw", FetchConfig(base_url=server.base_url, per_host_per_second=100),
                            pages, time_budget=3.0)
        seconds = time.monotonic() - start
    assert seconds < 12, seconds  # six pages of 10-20 s of parsing each, against a 3-second budget
    assert report.disagrees and [row.status for row in report.rows] == ["failed"] * 6
    assert {note for row in report.rows for note in row.differences} <= {
        BUDGET_USED, *(f"https://helpcenter.veeam.com{page.path}: parsing took over 5 s of CPU time; not stored"
                       for page in pages)}
