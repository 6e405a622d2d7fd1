"""The website in a real browser: Playwright drives Debian's chromium (installed by .ci/setup).

Screenshots land in test-artifacts/browser/ for a person to look at.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline.jobs.website import datasette_args, served_catalog

# Debian's chromium here and in CI; GitHub's Ubuntu runners ship google-chrome instead.
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"

SKIP_VARIABLE = "VEEAM_PERMS_SKIP_BROWSER"


@pytest.fixture(scope="module", autouse=True)
def chromium_is_installed():
    """A missing browser fails the test; it skips only when VEEAM_PERMS_SKIP_BROWSER=1 asks for it."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"chromium is missing and {SKIP_VARIABLE}=1 asks to skip the browser test")
    pytest.fail(f"{CHROMIUM} is missing: `bash .ci/setup` installs Debian's chromium when run as root "
                f"(or: apt-get install chromium); to skip the browser test on purpose, set {SKIP_VARIABLE}=1",
                pytrace=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_site(db_path):
    """Datasette serving `db_path` on a free port, as `serve` runs it; yields the base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "datasette", *datasette_args(db_path, "127.0.0.1", port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)  # polling a server that is starting: there is nothing to wait on
    else:
        process.kill()
        pytest.fail(f"datasette did not start: {process.stderr.read().decode()[-2000:]}")
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def site(site_catalog):
    with served_catalog(site_catalog) as served:
        yield from running_site(served)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def test_find_a_permission_copy_its_policy_and_see_what_changed(site, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()

    page.goto(site + "/")
    assert page.locator("h1").inner_text() == "Veeam permissions catalog"
    assert page.get_by_role("link", name="Veeam Backup for AWS").is_visible()
    page.screenshot(path=str(ARTIFACTS / "1-home.png"), full_page=True)

    page.get_by_role("searchbox", name="Search the catalog").fill("PassRole")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=PassRole")
    page.get_by_role("link", name="iam:PassRole").click()
    page.screenshot(path=str(ARTIFACTS / "2-permission.png"), full_page=True)

    page.get_by_role("link", name="List of permissions to deploy a new backup appliance").first.click()
    assert "deploy a new backup appliance" in page.locator("h1").inner_text()
    page.get_by_role("button", name="Copy").first.click()
    page.wait_for_function("document.querySelector('.copied').textContent.length > 0")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert '"iam:PassRole"' in copied and '"Version": "2012-10-17"' in copied
    page.screenshot(path=str(ARTIFACTS / "3-operation.png"), full_page=True)

    page.goto(site + "/changes/vbaws?from=9.0.0.100&to=latest")
    assert page.locator("table.changes").first.is_visible()
    # added to the renamed deploy operation and in the new "Full list" operation
    assert page.locator("tr.change-added", has_text="iam:PassRole").count() == 2
    page.screenshot(path=str(ARTIFACTS / "4-changes.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def hostile_site(site_catalog, tmp_path_factory):
    """A legacy catalog holding a `javascript:` page URL (stored before ingest checked URLs)."""
    import sqlite3

    path = tmp_path_factory.mktemp("hostile-site") / "catalog.db"
    shutil.copy(site_catalog, path)
    conn = sqlite3.connect(path)
    conn.execute("update pages set canonical_url = ?, family = null where canonical_url like "
                 "'%vbaws/guide/iam_permissions.html'",
                 ["javascript://helpcenter.veeam.com/docs/vbaws/guide/x.html%0aalert(document.domain)//x.html"])
    conn.commit()
    conn.close()
    yield from running_site(path)


def test_no_javascript_link_renders_and_the_csp_header_is_sent(hostile_site, browser):
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    response = page.goto(hostile_site + "/products/vbaws")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert page.locator("a[href^='javascript:' i]").count() == 0
    for href in page.eval_on_selector_all("a", "links => links.map(a => a.href)"):
        assert not href.lower().startswith("javascript:"), href
    page.goto(hostile_site + "/catalog/pages")
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert dialogs == []


def cli_json(db_path, *args):
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    result = CliRunner().invoke(cli, [*args, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return result.stdout


DEPLOY = "List of permissions to deploy a new backup appliance"


def test_what_do_i_need_for_an_operation_at_a_build(site, browser, site_catalog):
    import json

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(site + "/products/vbaws?build=9.0.0.100")
    assert page.locator(".point").inner_text() == "9.0.0.100"
    page.get_by_label("Build or date").fill("10.0.0.232")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/products/vbaws?build=10.0.0.232")
    listed = json.loads(page.evaluate("fetch('/products/vbaws.json?build=10.0.0.232').then(r => r.text())"))
    assert page.locator(".op-count").inner_text() == f"{listed['operation_count']} operations"
    row = page.locator("table.operations tr", has_text=DEPLOY).first
    assert "Page" not in row.inner_text() and row.locator("td.page").inner_text()  # its page title
    assert row.locator("td.section").inner_text() == "AWS IAM User Permissions"
    row.get_by_role("link", name=DEPLOY).click()
    expected = json.loads(cli_json(site_catalog, "policy", "--product", "vbaws", "--build", "10.0.0.232",
                                   "--operation", DEPLOY, "--format", "aws"))
    assert json.loads(page.locator("#policy-aws").inner_text()) == expected
    with page.expect_download() as download:
        page.locator("a.download[href$='/policy/aws']").click()
    assert download.value.suggested_filename.endswith("-aws.json")
    assert json.loads(Path(download.value.path()).read_text()) == expected
    assert page.locator("a.source").get_attribute("href").startswith("https://helpcenter.veeam.com/")
    for fmt in ("terraform",):
        assert page.locator(f"#policy-{fmt}").is_visible()
    page.screenshot(path=str(ARTIFACTS / "5-operation-at-build.png"), full_page=True)
    context.close()


def test_upgrade_from_one_build_to_another(site, browser, site_catalog):
    import json

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(site + "/upgrade/vbaws?from=9.0.0.100&to=latest")
    expected = json.loads(cli_json(site_catalog, "upgrade", "--product", "vbaws", "--from", "9.0.0.100",
                                   "--to", "latest", "--format", "json"))
    assert page.locator(".grant-count").inner_text() == f"grant {len(expected['add'])}"
    assert page.locator(".revoke-count").inner_text() == f"may revoke {len(expected['revoke'])}"
    assert page.locator(".unchanged-count").inner_text() == f"{expected['unchanged']} unchanged"
    granted = page.locator("table.grant tbody tr td:first-child code").all_inner_texts()
    assert granted == [r["permission"] for r in expected["add"]]  # risky first, as the CLI lists them
    with page.expect_download() as download:
        page.locator("a.download[href*='/policy/aws']").click()
    policy = json.loads(Path(download.value.path()).read_text())
    assert "iam:PassRole" in json.dumps(policy)
    page.screenshot(path=str(ARTIFACTS / "6-upgrade.png"), full_page=True)
    context.close()


def test_what_changed_lately_on_a_phone(site, browser, site_catalog):
    import json

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(site + "/changes/vbazure?from=2020-01-01&to=latest")
    expected = json.loads(cli_json(site_catalog, "diff", "--product", "vbazure", "--from", "2020-01-01",
                                   "--to", "latest", "--format", "json"))
    assert expected
    word = "change" if len(expected) == 1 else "changes"
    assert page.locator(".summary .total").inner_text() == f"{len(expected)} {word}"
    assert page.locator("td.date").first.inner_text() == expected[0]["first_seen"][:10]
    group = page.locator("details.change-group").first
    assert group.get_attribute("open") is not None
    group.locator("summary").click()
    assert group.get_attribute("open") is None  # collapsible, one group at a time
    assert page.locator("details.change-group").nth(1).get_attribute("open") is not None
    wide = page.evaluate("Array.from(document.querySelectorAll('body *')).filter(e => "
                         "e.getBoundingClientRect().right > 392 && !e.closest('.scroll'))"
                         ".map(e => e.tagName + '.' + e.className)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    assert page.get_by_role("searchbox", name="Search the catalog").is_visible()
    page.screenshot(path=str(ARTIFACTS / "7-changes-phone.png"), full_page=True)
    context.close()


def test_search_counts_and_pages_and_404_keeps_the_header(site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(site + "/")
    page.get_by_role("searchbox", name="Search the catalog").fill("deploy")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=deploy")
    assert "result" in page.locator(".search-total").inner_text()
    assert page.locator("li.hit-operation").count() >= 1
    page.locator("li.hit-operation a").first.click()
    assert "deploy" in page.locator("h1").inner_text().lower()
    response = page.goto(site + "/no/such/page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert page.get_by_role("searchbox", name="Search the catalog").is_visible()
    page.goto(site + "/catalog/pages")
    assert page.get_by_role("searchbox", name="Search the catalog").is_visible()  # Datasette's own page
    page.screenshot(path=str(ARTIFACTS / "8-table-with-header.png"))
    context.close()


def boxes_intersect(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("width", [390, 1280])
def test_the_check_form_fits_the_screen_and_its_fields_do_not_overlap(site, browser, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(site + "/check")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    product = page.locator("select[name=product]").bounding_box()
    build = page.locator("input[name=build]").bounding_box()
    assert not boxes_intersect(product, build), (product, build)
    for name in ("operation", "build"):
        box = page.locator(f"input[name={name}]").bounding_box()
        assert box["x"] + box["width"] <= width
    textarea = page.locator("textarea[name=policy]").bounding_box()
    assert textarea["x"] + textarea["width"] <= width
    page.screenshot(path=str(ARTIFACTS / f"check-{width}.png"), full_page=True)
    context.close()


def test_pick_three_operations_and_get_one_merged_policy(site, browser, site_catalog):
    """The product page's multi-select (a plain form): three operations, one policy, equal to
    `veeam-perms policy` with the same three --operation; the include-optional toggle is the flag."""
    import json
    import re

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(site + "/products/vbaws")
    titles = [DEPLOY, "List of permissions to add a repository",
              "The IAM role must be granted the following permissions"]
    for title in titles:
        page.get_by_role("checkbox", name=re.compile("^Pick " + re.escape(title))).check()
    assert page.locator("tr.trust input[type=checkbox]").count() == 0  # a trust policy has nothing to merge
    page.screenshot(path=str(ARTIFACTS / "9-pick-operations.png"), full_page=True)
    page.get_by_role("button", name="Merge the ticked operations into one policy").first.click()
    page.wait_for_url("**/products/vbaws/policy?**")
    texts = [arg for title in titles for arg in ("--operation", title)]
    expected = json.loads(cli_json(site_catalog, "policy", "--product", "vbaws", *texts))
    assert json.loads(page.locator("#policy-aws").inner_text()) == expected
    assert page.locator("ol.picked li").count() == 3
    page.get_by_role("button", name="Copy").first.click()
    page.wait_for_function("document.querySelector('.copied').textContent.length > 0")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == expected
    page.screenshot(path=str(ARTIFACTS / "10-merged-policy.png"), full_page=True)

    page.get_by_role("link", name="Include optional permissions").click()
    page.wait_for_url("**optional=1**")
    with_optional = json.loads(cli_json(site_catalog, "policy", "--product", "vbaws", *texts, "--include-optional"))
    assert json.loads(page.locator("#policy-aws").inner_text()) == with_optional
    assert page.locator(".optional-state").inner_text() == "optional permissions included"

    page.get_by_role("link", name="Change the pick").click()  # back to the form, the pick still ticked
    assert page.get_by_role("checkbox", name=re.compile("^Pick " + re.escape(titles[1]))).is_checked()
    assert page.get_by_label("Include permissions the pages mark optional").is_checked()
    assert refused == []
    context.close()
