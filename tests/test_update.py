"""The scheduled job's command end to end from cassettes: changed, unchanged, and gated runs.

Re-record with: pytest tests/test_update.py --record-mode=rewrite (starts the local site on port 8765).
"""

from contextlib import contextmanager
from pathlib import Path

import vcr
from click.testing import CliRunner

from pipeline.cli.main import cli
from tests.support.sitegen import SiteServer, build_site

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
PRODUCTS = CASSETTES / "site_products.toml"
BASE = "http://127.0.0.1:8765"
PLUGIN = "/docs/vbazure/guide/plugin_permissions.html"
IAM = "/docs/vbaws/guide/iam_permissions.html"
REPO = "/docs/vbaws/guide/role_permissions_repo.html"


def variant(name: str) -> dict[str, str]:
    """The authored site (v1), with one permission removed (v2), or with broken pages (broken)."""
    pages = {p.name: p.read_text() for p in sorted((Path(__file__).parent / "site").glob("*.md"))}
    if name in ("v2", "broken"):
        pages["vbazure_plugin_permissions.md"] = pages["vbazure_plugin_permissions.md"].replace(
            '"Microsoft.Compute/snapshots/write", ', "")
    site = build_site(pages)
    if name == "broken":
        start, end = site[IAM].index('<p class="dropspot">'), site[IAM].index("<p>Page updated")
        site[IAM] = site[IAM][:start] + "<p>" + "This page is being restructured. " * 20 + "</p>" + site[IAM][end:]
        site[REPO] = ("<html><head><title>Just a moment...</title></head><body><div id='challenge-platform'>"
                      "Checking your browser before accessing the site.</div></body></html>")
    return site


RECORDED: set[str] = set()


@contextmanager
def cassette(request, name: str):
    """Replay; when recording, record each cassette once per session (later uses replay it, so a
    second run gets the same 200 responses, not the 304s a live server would send)."""
    path = CASSETTES / f"update_{name}.yaml"
    recording = (request.config.getoption("--record-mode") or "none") != "none" and name not in RECORDED
    if recording:
        path.unlink(missing_ok=True)
        RECORDED.add(name)
    recorder = vcr.VCR(record_mode="all" if recording else "none", decode_compressed_response=True)
    with recorder.use_cassette(str(path)):
        if not recording:
            yield
        else:
            with SiteServer(variant(name), port=8765):
                yield


def run_update(request, tmp_path, name):
    with cassette(request, name):
        return CliRunner().invoke(cli, [
            "update", "--db", str(tmp_path / "catalog.db"), "--export-dir", str(tmp_path / "export"),
            "--changelog", str(tmp_path / "CHANGES.md"), "--report", str(tmp_path / "gate.md"),
            "--base-url", BASE, "--products-file", str(PRODUCTS), "--rate", "100"],
            env={"GITHUB_OUTPUT": str(tmp_path / "out")})


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.json"))}


def test_a_run_with_a_change_writes_export_and_changelog(request, tmp_path):
    first = run_update(request, tmp_path, "v1")
    assert first.exit_code == 0, first.output
    assert "status: changed" in first.output  # the first run catalogues every page
    exported = snapshot(tmp_path / "export")
    assert "vbazure/guide__plugin_permissions.json" in exported
    (tmp_path / "CHANGES.md").unlink()

    second = run_update(request, tmp_path, "v2")
    assert second.exit_code == 0, second.output
    assert "status: changed" in second.output
    changes = (tmp_path / "CHANGES.md").read_text()
    assert "`Microsoft.Compute/snapshots/write`" in changes and "### Correction within build 8.0.1.202" in changes
    after = snapshot(tmp_path / "export")
    assert [name for name in after if after[name] != exported.get(name)] == ["vbazure/guide__plugin_permissions.json"]
    assert (tmp_path / "out").read_text().splitlines()[-1] == "status=changed"


def test_a_run_without_changes_has_nothing_to_commit(request, tmp_path):
    assert run_update(request, tmp_path, "v1").exit_code == 0
    exported = snapshot(tmp_path / "export")
    (tmp_path / "CHANGES.md").unlink()
    again = run_update(request, tmp_path, "v1")
    assert again.exit_code == 0, again.output
    assert "status: unchanged" in again.output
    assert snapshot(tmp_path / "export") == exported
    assert not (tmp_path / "CHANGES.md").exists()


def test_a_broken_page_trips_the_gate_with_a_readable_report(request, tmp_path):
    assert run_update(request, tmp_path, "v1").exit_code == 0
    exported = snapshot(tmp_path / "export")
    broken = run_update(request, tmp_path, "broken")
    assert broken.exit_code == 4, broken.output
    assert "the anomaly gate tripped" in broken.output
    report = (tmp_path / "gate.md").read_text()
    assert "# veeam-perms: scheduled run stopped by the anomaly gate" in report
    assert ("- https://helpcenter.veeam.com/docs/vbaws/guide/role_permissions_repo.html: "
            "bot-check page instead of content") in report
    assert ("- https://helpcenter.veeam.com/docs/vbaws/guide/iam_permissions.html: "
            "the page lost all 3 operations") in report
    assert snapshot(tmp_path / "export") == exported  # nothing published
    assert (tmp_path / "out").read_text().splitlines()[-1] == "status=gated"
