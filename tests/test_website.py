"""The Datasette site: every canned query and custom page on a catalog built from authored pages."""

import json

import feedparser
import pytest
from sqlite_utils import Database

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def ids(site_catalog):
    db = Database(site_catalog)
    deploy = db.execute("select o.id from operations o join page_versions v on v.id = o.page_version "
                        "join pages p on p.id = v.page where p.canonical_url like '%iam_permissions.html' "
                        "and o.title = 'List of permissions to deploy a new backup appliance'").fetchone()[0]
    passrole = db.execute("select id from permissions where name = 'iam:PassRole'").fetchone()[0]
    return {"deploy": deploy, "passrole": passrole}


def rows(response):
    return response.json()["rows"]


async def test_home_lists_products_with_latest_builds(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "Veeam Backup for AWS" in response.text and "10.0.0.232" in response.text
    assert "Veeam Backup for Microsoft Azure" in response.text and "8.0.1.202" in response.text
    assert "Catalog built" in response.text


async def test_product_page_has_timeline_and_operations(client):
    response = await client.get("/products/vbaws")
    assert response.status_code == 200
    assert "<svg" in response.text and "9.0.0.100 → 10.0.0.232" in response.text
    assert "List of permissions to deploy a new backup appliance" in response.text


async def test_operation_page_has_policy_risks_and_history(client, ids):
    response = await client.get(f"/operations/{ids['deploy']}")
    assert response.status_code == 200
    text = response.text
    assert 'id="policy-aws"' in text and "&#34;iam:PassRole&#34;" in text
    assert "privilege escalation" in text and "Write" in text
    assert "<polyline" in text  # the permission-set size over versions
    assert "Catalog built" in text


async def test_search_and_permission_page(client, ids):
    response = await client.get("/search?q=PassRole")
    assert response.status_code == 200 and f'href="/permissions/{ids["passrole"]}"' in response.text
    page = await client.get(f"/permissions/{ids['passrole']}")
    assert page.status_code == 200 and "List of permissions to deploy a new backup appliance" in page.text


async def test_changes_page_between_two_builds(client):
    response = await client.get("/changes/vbaws?from=9.0.0.100&to=10.0.0.232")
    assert response.status_code == 200
    assert "<code>iam:PassRole</code>" in response.text and "renamed" in response.text


async def test_feed_is_valid_atom(client):
    response = await client.get("/feeds/vbazure.atom?utm_source=x")
    assert response.status_code == 200
    feed = feedparser.parse(response.text)
    assert feed.bozo == 0
    assert feed.feed.id == "http://localhost/feeds/vbazure.atom"  # the query string is not the feed's id
    plugin = next(e for e in feed.entries if e.title.startswith("plugin_permissions.html"))
    assert plugin.title == "plugin_permissions.html: 3 added, 2 removed (build 7.0.0.300 -> 8.0.1.202)"
    assert "- Microsoft.ServiceBus/namespaces/read" in plugin.content[0].value


async def test_canned_changes_between(client):
    response = await client.get("/catalog/changes_between.json?_shape=objects&product=vbaws"
                                "&from=9.0.0.100&to=10.0.0.232")
    assert response.status_code == 200
    added = {(r["operation"], r["permission"]) for r in rows(response) if r["change"] == "added"}
    assert ("List of permissions to add a repository", "iam:SimulatePrincipalPolicy") in added
    assert any(r["change"] == "renamed" for r in rows(response))  # the diff's rename matching


async def test_canned_question_reports_what_it_cannot_answer(client):
    response = await client.get("/catalog/changes_between.json?_shape=objects&product=vbaws&from=99&to=latest")
    (row,) = rows(response)
    assert row["error"].startswith("'99' is not a build of vbaws")


async def test_canned_operations_needing_permission(client):
    response = await client.get("/catalog/operations_needing_permission.json?_shape=objects"
                                "&permission=IAM:PASSROLE")
    assert sorted(r["operation"] for r in rows(response)) == [
        "Full list of permissions", "List of permissions to deploy a new backup appliance"]


async def test_canned_first_build_needing(client):
    response = await client.get("/catalog/first_build_needing.json?_shape=objects"
                                "&permission=Microsoft.ServiceBus/namespaces/read")
    assert {(r["product"], r["first_build"]) for r in rows(response)} == {("vbazure", "7.0.0.300")}


async def test_canned_operation_policy_is_the_operation_page_policy(client, ids):
    response = await client.get(f"/catalog/operation_policy.json?_shape=objects&operation_id={ids['deploy']}")
    documents = {r["format"]: r["document"] for r in rows(response)}
    page = (await client.get(f"/operations/{ids['deploy']}.json")).json()
    assert documents == page["documents"] and set(documents) == {"aws", "terraform"}
    policy = json.loads(documents["aws"])
    assert policy["Statement"][0]["Action"][:2] == ["ec2:CreateTags", "ec2:CreateVpc"]
    assert "iam:PassRole" in policy["Statement"][0]["Action"]


async def test_canned_upgrade_delta_puts_risky_grants_first(client):
    response = await client.get("/catalog/upgrade_delta.json?_shape=objects&product=vbaws"
                                "&from=previous&to=latest&operation=")
    grants = [r for r in rows(response) if r["action"] == "grant"]
    assert "iam:PassRole" in {r["permission"] for r in grants}
    risky = [bool(r["risk"]) for r in grants]
    assert risky == sorted(risky, reverse=True)


async def test_unknown_build_and_malformed_date_give_a_clear_message(client):
    response = await client.get("/changes/vbaws?from=99.9&to=latest")
    assert response.status_code == 400
    assert "&#39;99.9&#39; is not a build of vbaws" in response.text
    response = await client.get("/changes/vbaws?from=2026-02-30x")
    assert response.status_code == 400 and "is not a build of vbaws, a YYYY-MM-DD date" in response.text


async def test_unknown_ids_are_404(client):
    assert (await client.get("/operations/999999")).status_code == 404
    assert (await client.get("/products/nosuch")).status_code == 404


async def test_sql_injection_in_canned_parameters_is_inert(client, site_catalog):
    before = Database(site_catalog)["pages"].count
    response = await client.get("/catalog/operations_needing_permission.json?_shape=objects"
                                "&permission=x'%20or%201=1;%20drop%20table%20pages;--")
    assert response.status_code == 200 and rows(response) == []
    search = await client.get("/search?q=%25'%20or%201=1--")
    assert search.status_code == 200 and "<title>Search: %&#39; or 1=1--</title>" in search.text
    fts = await client.get('/search.json?q=NEAR(%22a%22%20OR%20*')
    assert fts.status_code == 200 and fts.json()["total"] == 0
    assert Database(site_catalog)["pages"].count == before


async def test_writes_are_refused(client):
    response = await client.get("/catalog.json?sql=delete+from+pages")
    assert response.status_code in (400, 403)


async def test_script_in_a_page_title_is_rendered_inert(client, site_catalog):
    db = Database(site_catalog)
    op = db.execute("select o.id from operations o join page_versions v on v.id = o.page_version "
                    "join pages p on p.id = v.page where p.canonical_url like '%hostile_title%'").fetchone()[0]
    for path in ("/products/vbaws", f"/operations/{op}", "/catalog/pages"):
        text = (await client.get(path)).text
        assert "<script>alert(" not in text
        assert "&lt;script&gt;alert(" in text


async def test_check_page_reports_missing_permissions_without_storing(client, site_catalog):
    page = await client.get("/check")
    assert page.status_code == 200 and 'name="csrftoken"' in page.text
    token = page.cookies.get("ds_csrftoken")
    csrf = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:*", "s3:CreateBucket", "iam:CreateRole", "iam:DeleteRole"],
         "Resource": "*"}]})
    counts = {name: Database(site_catalog)[name].count for name in ("runs", "pages", "fetches")}
    response = await client.post("/check", data={
        "csrftoken": csrf, "product": "vbaws", "build": "", "operation": "deploy a new backup appliance",
        "policy": policy}, cookies={"ds_csrftoken": token})
    assert response.status_code == 200, response.text[:500]
    assert "Not enough: 1 missing" in response.text and "<code>iam:PassRole</code>" in response.text
    assert {name: Database(site_catalog)[name].count for name in counts} == counts


async def test_check_page_explains_bad_json(client):
    page = await client.get("/check")
    csrf = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    response = await client.post("/check", data={
        "csrftoken": csrf, "product": "vbaws", "operation": "deploy", "policy": '{"Statement": ['},
        cookies={"ds_csrftoken": page.cookies.get("ds_csrftoken")})
    assert response.status_code == 400
    assert "the pasted policy: not valid JSON at line 1, column 16: Expecting value" in response.text


async def test_every_custom_page_has_json_and_csv_twins(client, ids):
    for path in ("/products", "/products/vbaws", f"/operations/{ids['deploy']}", f"/permissions/{ids['passrole']}",
                 "/search?q=deploy", "/changes/vbaws?from=9.0.0.100&to=latest",
                 "/upgrade/vbaws?from=9.0.0.100&to=latest"):
        base, _, query = path.partition("?")
        as_json = await client.get(f"{base}.json?{query}")
        assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json"), path
        as_csv = await client.get(f"{base}.csv?{query}")
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv"), path
        assert len(as_csv.text.splitlines()) >= 2, path


async def test_the_changes_csv_has_every_column_of_the_json_rows(client):
    query = "from=9.0.0.100&to=latest"
    rows = (await client.get(f"/changes/vbaws.json?{query}")).json()["rows"]
    header = (await client.get(f"/changes/vbaws.csv?{query}")).text.splitlines()[0].split(",")
    assert rows and sorted(header) == sorted(rows[0])


async def test_policies_download_as_files(client, ids):
    response = await client.get(f"/operations/{ids['deploy']}/policy/terraform")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="veeam-operation-{ids["deploy"]}-terraform.tf"')
    assert 'resource "aws_iam_policy"' in response.text
    combined = await client.get("/upgrade/vbaws/policy/aws?from=9.0.0.100&to=latest&operation=deploy")
    assert combined.status_code == 200 and "iam:PassRole" in combined.text
    assert (await client.get(f"/operations/{ids['deploy']}/policy/gcp")).status_code == 404


async def test_search_covers_operations_and_pages_with_total_and_paging(client):
    answer = (await client.get("/search.json?q=deploy")).json()
    assert answer["counts"]["operation"] >= 1
    assert any(r["type"] == "operation" and "deploy" in r["label"].lower() for r in answer["rows"])
    everything = (await client.get("/search.json?q=ec2")).json()
    assert everything["total"] == sum(everything["counts"].values())
    if everything["pages"] > 1:
        second = (await client.get("/search.json?q=ec2&page=2")).json()
        assert second["page"] == 2 and second["rows"][0] != everything["rows"][0]
    page = await client.get("/search?q=ec2")
    assert f"{everything['total']:,} results" in page.text


async def test_product_page_at_a_build_groups_by_page_and_section(client):
    response = await client.get("/products/vbaws.json?build=9.0.0.100")
    answer = response.json()
    assert answer["point"] == "9.0.0.100" and answer["pages"]
    assert all("section" in section for page in answer["pages"] for section in page["sections"])
    html = (await client.get("/products/vbaws?build=9.0.0.100")).text
    assert "Build (oldest first)" in html and "Permissions ±" in html  # labelled chart axes
    assert f"{answer['operation_count']} operations" in html


async def test_unknown_addresses_get_the_site_page_and_json_errors(client):
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "Not found" in missing.text and 'action="/search"' in missing.text
    assert "Database not found" not in missing.text
    bad = await client.get("/changes/vbaws.json?from=99")
    assert bad.status_code == 400 and bad.json()["error"].startswith("'99' is not a build of vbaws")
    assert (await client.get("/operations/999999.json")).json()["ok"] is False
    table = await client.get("/catalog/pages")
    assert 'action="/search"' in table.text  # the site header on Datasette's own pages


async def test_charts_label_their_axes_and_follow_their_tables(client, ids):
    import re

    html = (await client.get(f"/operations/{ids['deploy']}")).text
    chart = html.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert "Permissions</text>" in chart and "oldest first)</text>" in chart
    labels = re.findall(r'class="x-label">([^<]+)</text>', chart)
    table = html.split('<table class="history">', 1)[1].split("</table>", 1)[0]
    builds = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert labels == builds and labels == ["9.0.0.100", "10.0.0.232"]
    product = (await client.get("/products/vbaws")).text
    bars = re.findall(r'class="x-label">([^<]+)</text>', product)
    rows = re.findall(r"<tr><td>([0-9.]+)</td><td>", product.split('<table class="timeline">', 1)[1])
    assert bars == rows
