"""Issue 22 on the website: page titles, trust policies, the merged policy of picked operations,
split AWS policies and one count of permission pages (on the demo catalog and authored pages)."""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis import site_data
from catalog.storage.database import open_catalog
from catalog.storage.store import CatalogWriter, Observation
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette
from pipeline.parse.page import parse_markdown_page

pytestmark = pytest.mark.anyio
PAGES = Path(__file__).parent / "catalog_pages"
DEPLOY = "List of permissions to deploy a new backup appliance"
REPOSITORY = "List of permissions to add a repository"
ROLE = "The IAM role must be granted the following permissions"


def run_cli(db_path, *args) -> str:
    result = CliRunner().invoke(cli, [*args, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return result.stdout


def current_ids(db_path, product="vbaws") -> dict[str, int]:
    """Title -> id of the operations the product page lists at the latest build."""
    return {op["title"]: op["id"] for op in site_data.product_page(Database(db_path), product)["operations"]}


async def test_the_merged_policy_of_three_picked_operations_is_the_cli_policy(client, site_catalog):
    ids = current_ids(site_catalog)
    picked = "&".join(f"id={ids[title]}" for title in (DEPLOY, REPOSITORY, ROLE))
    response = await client.get(f"/products/vbaws/policy.json?build=latest&{picked}")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [op["id"] for op in answer["operations"]] == sorted(ids[t] for t in (DEPLOY, REPOSITORY, ROLE))
    texts = [arg for title in (DEPLOY, REPOSITORY, ROLE) for arg in ("--operation", title)]
    for fmt in ("aws", "terraform"):
        expected = run_cli(site_catalog, "policy", "--product", "vbaws", *texts, "--format", fmt)
        assert answer["documents"][fmt].strip() == expected.strip()
    # the page names the command that prints the same policy
    assert answer["cli"].startswith("veeam-perms policy --product vbaws --build 10.0.0.232 --operation ")
    page = (await client.get(f"/products/vbaws/policy?build=latest&{picked}")).text
    assert 'id="policy-aws"' in page and "create " not in page and "<script>" not in page.split("</head>")[1]


async def test_the_include_optional_toggle_is_the_cli_flag(client, site_catalog):
    ids = current_ids(site_catalog)
    picked = f"id={ids[DEPLOY]}&id={ids[ROLE]}"
    without = (await client.get(f"/products/vbaws/policy.json?{picked}")).json()
    with_optional = (await client.get(f"/products/vbaws/policy.json?{picked}&optional=1")).json()
    texts = ("--operation", DEPLOY, "--operation", ROLE)
    assert with_optional["documents"]["aws"].strip() == run_cli(
        site_catalog, "policy", "--product", "vbaws", *texts, "--include-optional").strip()
    assert without["documents"]["aws"].strip() == run_cli(site_catalog, "policy", "--product", "vbaws", *texts).strip()
    assert with_optional["include_optional"] and with_optional["cli"].endswith("--include-optional")
    page = (await client.get(f"/products/vbaws/policy?{picked}")).text
    assert f'href="/products/vbaws/policy?id={ids[DEPLOY]}&amp;id={ids[ROLE]}&amp;optional=1"' in page


async def test_a_bad_pick_gets_a_clear_message(client, site_catalog):
    nothing = await client.get("/products/vbaws/policy.json?build=latest")
    assert nothing.status_code == 400 and "pick at least one operation" in nothing.json()["error"]
    azure = current_ids(site_catalog, "vbazure")
    stray = await client.get(f"/products/vbaws/policy?id={next(iter(azure.values()))}")
    assert stray.status_code == 400 and "has no operation with permissions numbered" in stray.text
    trust = current_ids(site_catalog)[next(t for t in current_ids(site_catalog) if t.startswith("To allow S3"))]
    assert (await client.get(f"/products/vbaws/policy.json?id={trust}")).status_code == 400
    assert (await client.get("/products/nosuch/policy?id=1")).status_code == 404
    assert (await client.get("/products/vbaws/policy?id=1&build=1.2.3")).status_code == 400


async def test_the_product_page_is_a_form_that_picks_operations_without_script(client, site_catalog):
    page = (await client.get("/products/vbaws")).text
    form = page[page.index('<form method="get" action="/products/vbaws/policy"'):page.index("</form>", page.index(
        'action="/products/vbaws/policy"'))]
    ids = current_ids(site_catalog)
    boxes = re.findall(r'<input type="checkbox" name="id" value="(\d+)"', form)
    assert sorted(map(int, boxes)) == sorted(i for t, i in ids.items() if not t.startswith("To allow"))
    assert 'name="optional" value="1"' in form and 'name="build" value="10.0.0.232"' in form
    assert "<script" not in page.split("</head>")[1]  # the site's CSP runs no inline script anyway
    # a pick comes back checked from its policy page ("Change the pick")
    again = (await client.get(f"/products/vbaws?build=10.0.0.232&id={ids[DEPLOY]}&optional=1")).text
    assert f'value="{ids[DEPLOY]}" id="pick-{ids[DEPLOY]}" checked' in again
    assert 'name="optional" value="1" checked' in again


async def test_trust_policies_are_listed_with_their_principals(client, site_catalog):
    data = (await client.get("/products/vbaws.json")).json()
    operations = [op for page in data["pages"] for section in page["sections"] for op in section["operations"]]
    trust = [op for op in operations if op["kind"] == "trust-policy"]
    assert len(trust) == data["trust_count"] == 1 and data["operation_count"] == len(operations)
    assert trust[0]["principals"] == ["Service:batchoperations.s3.amazonaws.com"]
    page = (await client.get("/products/vbaws")).text
    assert '<span class="trust-count">1 trust policy</span>' in page and "trust policy</span>" in page
    assert "who may assume the role: <code>Service:batchoperations.s3.amazonaws.com</code>" in page
    operation = (await client.get(f"/operations/{trust[0]['id']}")).text
    pasted = json.loads(re.search(r'<pre id="trust-policy">(.*?)</pre>', operation, re.S).group(1)
                        .replace("&#34;", '"'))
    assert pasted["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
                                    "Action": "sts:AssumeRole"}]


async def test_operation_rows_and_search_hits_show_section_and_description(client):
    page = (await client.get("/products/vbaws")).text
    row = page[page.index(f">{DEPLOY}</a>"):]
    row = row[:row.index("</tr>")]
    assert '<td class="section">AWS IAM User Permissions</td>' in row
    hits = (await client.get("/search.json?q=repository")).json()["rows"]
    operations = [hit for hit in hits if hit["type"] == "operation"]
    assert operations and all({"section", "description", "page_title"} <= set(hit) for hit in operations)
    text = (await client.get("/search?q=repository")).text
    assert '› <span class="section">AWS IAM User Permissions</span>' in text


def test_a_long_aws_policy_is_several_documents_to_paste_apart():
    from catalog.analysis.policy_docs import AWS_MANAGED_POLICY_LIMIT, documents_for, parts_of

    rows = [{"provider": "aws", "name": f"ec2:DescribeSomething{index:04d}", "placement": None}
            for index in range(900)]
    documents = documents_for(rows, "Veeam vbaws 10: many")
    parts = parts_of(documents)["aws"]
    assert len(parts) > 1 and json.loads(documents["aws"]) == [json.loads(part) for part in parts]
    for part in parts:
        assert len("".join(part.split())) <= AWS_MANAGED_POLICY_LIMIT
    assert sum(len(json.loads(part)["Statement"][0]["Action"]) for part in parts) == 900


@pytest.fixture(scope="module")
def titled_catalog(tmp_path_factory):
    """One page read first from an older dump (title = file slug, no heading), then from a newer
    one that states its title while its operations stay the same."""
    db_path = tmp_path_factory.mktemp("titles") / "c.db"
    db = open_catalog(db_path)
    writer = CatalogWriter(db, "dir", "titles")
    with writer.run():
        for name, day in (("titled_slug.md", "2026-01-10"), ("titled_heading.md", "2026-02-02")):
            writer.save_page(parse_markdown_page((PAGES / name).read_text()),
                             Observation(f"{day}T00:00:00+00:00", "dir", "titles"))
    db.close()
    return db_path


async def test_a_page_is_titled_by_the_title_a_newer_source_states(titled_catalog):
    db = Database(titled_catalog)
    assert db.execute("select count(*) from page_versions").fetchone()[0] == 1  # same operations: one version
    assert {row[0] for row in db.execute("select page_title from operation_identity")} == {
        "Worker IAM Role Permissions"}
    client = make_datasette(titled_catalog).client
    surfaces = [(await client.get(path)).text for path in (
        "/products/vbaws", "/products/vbaws.json", "/operations/1", "/search?q=worker", "/permissions/1",
        "/upgrade/vbaws")]
    for text in surfaces[:5]:
        assert "Worker IAM Role Permissions" in text
    for text in surfaces:
        assert "Worker roles" not in text and "worker_roles<" not in text


def test_a_stated_title_is_never_replaced_by_a_file_slug(tmp_path):
    db_path = tmp_path / "c.db"
    db = open_catalog(db_path)
    writer = CatalogWriter(db, "dir", "titles")
    with writer.run():
        for name, day in (("titled_heading.md", "2026-02-02"), ("titled_slug.md", "2026-02-03")):
            writer.save_page(parse_markdown_page((PAGES / name).read_text()),
                             Observation(f"{day}T00:00:00+00:00", "dir", "titles"))
    assert db.execute("select title from pages").fetchone()[0] == "Worker IAM Role Permissions"


def test_an_older_catalog_gets_its_stated_titles_back_when_migrated(tmp_path, titled_catalog):
    path = tmp_path / "old.db"
    shutil.copy(titled_catalog, path)
    db = Database(path)
    # as an older veeam-perms left it: the newest version states the title, the page kept its slug
    db.execute("update page_versions set title = 'worker_roles'")
    db.execute("insert into page_versions (page, content_hash, title, _first_seen, _last_seen) "
               "values (1, 'x', 'Worker IAM Role Permissions', '2026-03-01', '2026-03-01')")
    db.execute("update pages set title = slug")
    db.execute("delete from _sqlite_migrations where name = 'm22_page_titles'")
    db.conn.commit()
    db.close()
    assert open_catalog(path).execute("select title from pages").fetchone()[0] == "Worker IAM Role Permissions"


def test_stats_and_the_home_page_count_the_same_permission_pages(site_catalog):
    stats = run_cli(site_catalog, "stats")
    db = Database(site_catalog)
    for product in site_data.home(db):
        line = next(line for line in stats.splitlines() if line.startswith(product["code"] + " ("))
        assert f": {product['pages']} permission pages" in line
        shown = site_data.product_page(db, product["code"])
        assert len(shown["pages"]) == product["pages"]


async def test_hostile_picks_and_parts_are_answered_not_crashed_on(client, site_catalog):
    ids = current_ids(site_catalog)
    for query in ("id=%C2%B2", "id=" + "9" * 30, "id=-1&id=abc", "&".join(f"id={n}" for n in range(2000))):
        response = await client.get(f"/products/vbaws/policy?{query}")
        assert response.status_code == 400, query
    for part in ("%C2%B2", "0", "2", "99999999999999999999"):
        response = await client.get(f"/products/vbaws/policy/aws?id={ids[DEPLOY]}&part={part}")
        assert response.status_code == 404, part
    one = await client.get(f"/products/vbaws/policy/aws?id={ids[DEPLOY]}&part=1")
    assert one.status_code == 200 and one.json()["Version"] == "2012-10-17"
    assert (await client.get("/search?q=x&page=%C2%B2")).status_code == 200
