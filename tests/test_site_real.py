"""Issue 22's site items on the real dumps (../shared): trust policies on product pages, titles
from the newest stated title, the merged policy, split AWS policies, one count of pages."""

import json
import re

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from catalog.analysis import site_data
from catalog.analysis.policy_docs import AWS_MANAGED_POLICY_LIMIT
from pipeline.cli.main import cli
from pipeline.jobs.website import make_datasette

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def client(real_catalog):
    return make_datasette(real_catalog).client


def run_cli(db_path, *args) -> str:
    result = CliRunner().invoke(cli, [*args, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_vbaws_shows_all_71_operations_with_the_17_trust_policies_and_their_principals(client, real_catalog):
    db = Database(real_catalog)
    in_force = db.execute(
        "select count(*), sum(o.kind = 'trust-policy') from build_versions b join operations o "
        "on o.page_version = b.page_version where b.product = 'vbaws' and b.build = '10.0.0.232'").fetchone()
    data = (await client.get("/products/vbaws.json")).json()
    assert (data["operation_count"], data["trust_count"]) == tuple(in_force) == (71, 17)
    trust = [op for page in data["pages"] for section in page["sections"] for op in section["operations"]
             if op["kind"] == "trust-policy"]
    assert len(trust) == 17 and all(op["principals"] for op in trust)
    assert {"Service:backup.amazonaws.com", "Service:ec2.amazonaws.com", "AWS:<Role ARN>"} <= {
        who for op in trust for who in op["principals"]}
    page = (await client.get("/products/vbaws")).text
    assert page.count('<tr class="trust">') == 17 and page.count('<tr class="grants">') == 54
    assert page.count('<input type="checkbox" name="id"') == 54


async def test_every_surface_shows_the_title_a_newer_dump_states(client, real_catalog):
    db = Database(real_catalog)
    # the 2026-01-15 version of vm_permissions carries its slug as title; the 2026-01-30 dump states
    # "Azure VM Permissions" with the same operations (no new version)
    versions = db.execute("select v.title from page_versions v join pages p on p.id = v.page "
                          "where p.slug = 'vm_permissions'").fetchall()
    assert versions == [("vm_permissions",)]
    assert {row[0] for row in db.execute(
        "select page_title from operation_identity where page like '%vbazure/guide/vm_permissions.html'")} == {
        "Azure VM Permissions"}
    product = (await client.get("/products/vbazure")).text
    assert "<strong>Azure VM Permissions</strong>" in product and "Vm permissions" not in product
    hits = (await client.get("/search.json?q=Azure VM Permissions")).json()["rows"]
    assert "Azure VM Permissions" in {hit["label"] for hit in hits if hit["type"] == "page"}
    # any page some source named shows that name, never its file slug
    stated: dict[str, set[str]] = {}
    for url, title in db.execute("select p.canonical_url, p.title from pages p where p.title != p.slug union "
                                 "select p.canonical_url, v.title from page_versions v join pages p on p.id = v.page "
                                 "where v.title != p.slug"):
        stated.setdefault(url, set()).add(title)
    assert len(stated) >= 20
    for url, title in db.execute("select distinct page, page_title from operation_identity"):
        if url in stated:
            assert title in stated[url], (url, title)


async def test_three_picked_vbaws_operations_give_the_cli_policy(client, real_catalog):
    picked = {op["title"]: op["id"] for op in site_data.product_page(Database(real_catalog), "vbaws")["operations"]}
    titles = ("List of permissions to deploy a new backup appliance", "List of permissions to add a repository",
              "List of permissions to encrypt repositories using AWS KMS keys")
    query = "&".join(f"id={picked[title]}" for title in titles)
    texts = [arg for title in titles for arg in ("--operation", title)]
    for flag, extra in (("", ()), ("&optional=1", ("--include-optional",))):
        answer = (await client.get(f"/products/vbaws/policy.json?build=10.0.0.232&{query}{flag}")).json()
        for fmt in ("aws", "terraform"):
            cli_text = run_cli(real_catalog, "policy", "--product", "vbaws", "--build", "10.0.0.232", *texts,
                               *extra, "--format", fmt)
            assert answer["documents"][fmt].strip() == cli_text.strip()


async def test_the_upgrade_page_says_create_3_policies_with_one_copy_each(client):
    page = (await client.get("/upgrade/vbaws")).text
    section = page[page.index('<section class="policy policy-aws">'):]
    section = section[:section.index("</section>")]
    assert '<span class="create-count">create 3 policies</span>' in section
    assert "do not fit in one AWS managed policy (6,144 characters): create these 3 policies" in section
    assert section.count('<button type="button" class="copy"') == 3
    texts = [json.loads(text.replace("&#34;", '"'))
             for text in re.findall(r'<pre id="policy-aws-\d">(.*?)</pre>', section, re.S)]
    assert len(texts) == 3 and all(text["Version"] == "2012-10-17" for text in texts)
    whole = (await client.get("/upgrade/vbaws/policy/aws")).json()
    assert whole == texts
    for index, text in enumerate(texts, 1):
        part = await client.get(f"/upgrade/vbaws/policy/aws?part={index}")
        assert part.json() == text and f'-aws-{index}.json"' in part.headers["content-disposition"]
        assert len("".join(part.text.split())) <= AWS_MANAGED_POLICY_LIMIT
    assert (await client.get("/upgrade/vbaws/policy/aws?part=4")).status_code == 404


async def test_stats_the_home_page_and_product_pages_count_the_same_permission_pages(client, real_catalog):
    stats = run_cli(real_catalog, "stats")
    home = (await client.get("/products.json")).json()
    assert len(home) == 5
    for product in home:
        line = next(line for line in stats.splitlines() if line.startswith(product["code"] + " ("))
        assert f": {product['pages']} permission pages" in line, (line, product)
        shown = (await client.get(f"/products/{product['code']}.json")).json()
        assert len(shown["pages"]) == product["pages"]
