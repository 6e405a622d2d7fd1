"""The site under hostile requests: headers on every page, no script links, bounded bodies,
bounded caches, bounded SQL values, and 4xx (never 500) for bad input."""

import base64
import hashlib
import re
import shutil
import time

import pytest
from sqlite_utils import Database

from catalog.model import MAX_OPERATION_TEXT_CHARS, MAX_OPERATION_TEXTS, operation_texts
from pipeline.jobs.website import make_datasette

pytestmark = pytest.mark.anyio
JAVASCRIPT_URL = "javascript://helpcenter.veeam.com/docs/vbaws/guide/x.html%0aalert(document.domain)//x.html"


@pytest.fixture(scope="module")
def datasette(site_catalog):
    return make_datasette(site_catalog)


@pytest.fixture(scope="module")
def client(datasette):
    return datasette.client


def plugin(name):
    from datasette.plugins import pm

    return pm.get_plugin(f"{name}.py")


async def csrf(client):
    page = await client.get("/check")
    token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    return token, {"ds_csrftoken": page.cookies.get("ds_csrftoken")}


@pytest.mark.parametrize("path", ["/", "/products/vbaws", "/check", "/catalog", "/catalog/pages",
                                  "/catalog?sql=select+1", "/-/versions", "/nothing-here", "/static/site.js"])
async def test_every_response_carries_the_security_headers(client, path):
    response = await client.get(path)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    script_src = next(part for part in policy.split("; ") if part.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    # Every inline script the page has is one the policy names by hash: nothing else could run.
    for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.S):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src, body[:80]


@pytest.fixture(scope="module")
def hostile_client(site_catalog, tmp_path_factory):
    """A legacy catalog (written before URLs were checked) holding a `javascript:` page URL."""
    path = tmp_path_factory.mktemp("hostile") / "catalog.db"
    shutil.copy(site_catalog, path)
    db = Database(path)
    db.execute("update pages set canonical_url = ?, family = null where canonical_url like "
               "'%vbaws/guide/iam_permissions.html'", [JAVASCRIPT_URL])
    db.execute("update pages set product = null, family = null, canonical_url = 'https://evil.example/p.html' "
               "where canonical_url like '%vbazure/guide/plugin_permissions.html'")
    db.conn.commit()
    db.close()
    return make_datasette(path).client


async def test_a_javascript_url_is_never_rendered_as_a_link(hostile_client, site_catalog):
    db = Database(site_catalog)
    op = db.execute("select o.id from operations o join page_versions v on v.id = o.page_version join pages p "
                    "on p.id = v.page where p.canonical_url like '%vbaws/guide/iam_permissions.html'").fetchone()[0]
    perm = db.execute("select id from permissions where name = 'iam:PassRole'").fetchone()[0]
    for path in (f"/operations/{op}", "/products/vbaws", f"/permissions/{perm}",
                 "/changes/vbaws?from=9.0.0.100&to=latest", "/catalog/pages"):
        response = await hostile_client.get(path)
        assert response.status_code == 200, path
        assert not re.search(r"href=\"\s*javascript:", response.text, re.I), path


async def test_legacy_rows_without_a_product_do_not_break_pages(hostile_client):
    for path in ("/", "/products/vbazure", "/changes/vbazure?from=7.0.0.300&to=latest", "/changes/vbazure",
                 "/feeds/vbazure.atom", "/search?q=Microsoft"):
        assert (await hostile_client.get(path)).status_code == 200, path
    token, cookies = await csrf(hostile_client)
    response = await hostile_client.post("/check", cookies=cookies, data={
        "csrftoken": token, "product": "vbazure", "operation": "a", "policy": '{"Statement": []}'})
    assert response.status_code == 400
    assert re.findall(r"message-error\">(.*?)<", response.text) == [
        "the pasted policy: an AWS policy, but the chosen operations need no AWS actions"]


async def test_an_oversized_body_is_refused_with_413(client):
    token, cookies = await csrf(client)
    response = await client.post("/check", data={"csrftoken": token, "policy": "x" * 2_000_000,
                                                 "operation": "deploy", "product": "vbaws"}, cookies=cookies)
    assert response.status_code == 413
    assert response.text == "Request body over the 1,048,576-byte limit.\n"


async def test_the_body_limit_stops_reading_a_stream_without_a_length(datasette):
    """A chunked 300 MB upload: the middleware stops after the limit instead of holding it all."""
    security = plugin("veeam_security")
    chunk, sent, replies = b"x" * 65_536, [], []

    async def receive():
        sent.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < 300_000_000 // len(chunk)}

    async def send(message):
        replies.append(message)

    scope = {"type": "http", "method": "POST", "path": "/check", "raw_path": b"/check", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded")], "http_version": "1.1",
             "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    await datasette.app()(scope, receive, send)
    assert replies[0]["status"] == 413
    assert sum(sent) <= security.MAX_BODY_BYTES + len(chunk)


@pytest.mark.parametrize("policy", ["[" * 150_000, '{"Statement": [' * 10_000])
async def test_hostile_policies_are_400_not_500(client, policy):
    token, cookies = await csrf(client)
    response = await client.post("/check", data={"csrftoken": token, "policy": policy,
                                                 "operation": "deploy", "product": "vbaws"}, cookies=cookies)
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.text or "not valid JSON" in response.text


async def test_a_body_that_is_not_utf8_is_400(client):
    token, cookies = await csrf(client)
    body = f"csrftoken={token}&operation=deploy&policy=".encode() + b"\xff\xfe"
    response = await client.post("/check", content=body, cookies=cookies,
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert (response.status_code, response.text) == (400, "Form data that is not UTF-8.\n")


@pytest.mark.parametrize("path", ["/operations/99999999999999999999", "/permissions/99999999999999999999",
                                  "/operations/9223372036854775808", "/catalog/pages/99999999999999999999"])
async def test_ids_beyond_sqlite_integers_are_404(client, path):
    assert (await client.get(path)).status_code == 404


async def test_the_page_cache_stays_under_its_byte_budget(client, monkeypatch):
    site = plugin("veeam_site")
    monkeypatch.setattr(site, "CACHE_BYTES", 400_000)
    site._CACHE.clear()
    monkeypatch.setattr(site, "_cache_used", 0)
    import datetime as dt

    day = dt.date(2026, 1, 1)
    for n in range(3_100):
        to = (day + dt.timedelta(days=n)).isoformat()
        response = await client.get(f"/changes/vbaws?from=9.0.0.100&to={to}")
        assert response.status_code == 200
        assert site.cache_bytes() <= site.CACHE_BYTES
    assert site.cache_bytes() == sum(size for _, size in site._CACHE.values())
    assert 0 < len(site._CACHE) < 3_100


async def test_public_sql_cannot_build_huge_values(client):
    started = time.monotonic()
    response = await client.get("/catalog.json?sql=select+length(randomblob(999999999))")
    assert response.status_code == 400
    assert "string or blob too big" in response.text
    assert time.monotonic() - started < 1.0
    ok = await client.get("/catalog.json?sql=select+length(randomblob(1000))&_shape=array")
    assert ok.json() == [{"length(randomblob(1000))": 1000}]


async def test_operation_texts_from_a_request_are_bounded_in_number_and_length(client):
    texts = ",".join(["repository"] + [f"op{i}-" + "x" * 1_000 for i in range(30)])
    response = await client.get("/upgrade/vbaws.json", params={"from": "9.0.0.100", "to": "latest",
                                                               "operation": texts})
    assert response.status_code == 200
    operations = response.json()["operations"]
    assert len(operations) == MAX_OPERATION_TEXTS and operations[0] == "repository"
    assert {len(text) for text in operations[1:]} == {MAX_OPERATION_TEXT_CHARS}


def test_operation_texts_are_split_trimmed_and_empty_ones_dropped():
    assert operation_texts(" deploy , ,repository", None, "") == ("deploy", "repository")
