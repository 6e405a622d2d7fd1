"""Arbitrary SQL on the site is bounded (issues 22 and 23): hostile queries against a real
`veeam-perms serve` process each answer within 2 s, the server's peak memory stays under 300 MB,
and one client cannot hold every worker."""

import asyncio
import base64
import html
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline.jobs.website import make_datasette

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from test_serve import children, free_port, wait_until_serving  # noqa: E402

MAX_SECONDS = 2.0
MAX_SERVER_MB = 300
ZEROBLOB = "/catalog.json?sql=select zeroblob(7999999) from pages"
HOSTILE = {
    "zeroblob rows": ZEROBLOB,
    "zeroblob as csv": "/catalog.csv?sql=select zeroblob(7999999) from pages",
    "zeroblob as html": "/catalog?sql=select zeroblob(7999999) from pages",
    "sixty 8 MB columns in one row": "/catalog.json?sql=select "
                                     + ", ".join(f"zeroblob(7999999) as c{i}" for i in range(60)),
    "replace amplification": "/catalog.json?sql=select replace(replace(replace(zeroblob(100000), x'00', "
                             "'aaaaaaaaaa'), 'a', 'bbbbbbbbbb'), 'b', 'cc') from pages",
    "markup amplification": "/catalog?sql=select substr(replace(hex(zeroblob(50000)), '0', '<'), 1, 100000) "
                            "from pages",
    "endless recursive CTE": "/catalog.json?sql=with recursive r(i) as (select 1 union all select i + 1 from r) "
                             "select count(*) from r",
    "recursive CTE doubling a string": "/catalog.json?sql=with recursive r(s) as (select 'x' union all "
                                       "select s || s from r where length(s) < 8000000) select s from r",
    "cross join counted": "/catalog.json?sql=select count(*) from grants a, grants b, grants c",
    "cross join rows": "/catalog.json?_size=max&sql=select * from grants a, grants b",
    "sorted blobs": "/catalog.json?sql=select zeroblob(7999999) as z from pages order by random()",
    "long column names in every row": "/catalog.json?_shape=objects&sql=with recursive r(i) as (select 1 union "
                                      "all select i + 1 from r limit 1000) select "
                                      + ", ".join(f"i as {'n' * 200}{k}" for k in range(100)) + " from r",
}


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(site_catalog, tmp_path_factory):
    """`veeam-perms serve` as a user runs it; yields (base URL, the Datasette process id)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--db", str(site_catalog),
                                "--port", str(port)], cwd=ROOT,
                               env={**os.environ, "TMPDIR": str(tmp_path_factory.mktemp("serve"))},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        [datasette] = children(process.pid)
        yield base, datasette
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_zeroblob_probe_is_refused_in_time_and_memory(server):
    base, pid = server
    started = time.monotonic()
    response = httpx.get(base + ZEROBLOB, timeout=30)
    assert time.monotonic() - started < MAX_SECONDS
    assert response.status_code == 400
    assert "over 8,000,000 bytes, the most this site returns for one query" in response.json()["error"]
    assert len(response.content) < 10_000
    assert peak_mb(pid) < MAX_SERVER_MB


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_sql_stays_under_two_seconds_and_300_mb(server, name):
    base, pid = server
    started = time.monotonic()
    response = httpx.get(base + HOSTILE[name], timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < MAX_SECONDS, (name, elapsed)
    assert response.status_code in (200, 400, 413), (name, response.status_code, response.text[:200])
    assert len(response.content) <= 32_000_000 + 1000
    assert peak_mb(pid) < MAX_SERVER_MB, name


def test_one_client_cannot_hold_every_worker(server):
    base, _ = server
    slow = "/catalog.json?sql=select count(*) from grants a, grants b, grants c, grants d"

    async def burst():
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async def timed(path):
                started = time.monotonic()
                response = await client.get(path)
                return response.status_code, time.monotonic() - started, response.headers.get("retry-after")

            queries = [asyncio.create_task(timed(slow)) for _ in range(10)]
            await asyncio.sleep(0.3)
            static = await timed("/static/site.css")
            return await asyncio.gather(*queries), static

    answers, static = asyncio.run(burst())
    refused = [(status, seconds, retry) for status, seconds, retry in answers if status == 429]
    assert len(refused) == 6
    assert all(seconds < 1.0 and retry == "1" for _, seconds, retry in refused)
    assert static[0] == 200 and static[1] < 1.0
    after = httpx.get(base + "/catalog.json?sql=select 1 as one&_shape=array", timeout=30)
    assert after.json() == [{"one": 1}]  # the bound is released once the queries finished


def test_legitimate_answers_are_untouched(site_catalog):
    client = make_datasette(site_catalog).client
    response = asyncio.run(client.get("/catalog.json?sql=select canonical_url from pages&_shape=array"))
    assert response.status_code == 200 and len(response.json()) > 3
    big = asyncio.run(client.get("/catalog.json?_shape=array&sql=select substr(hex(zeroblob(500000)), 1, 1000000) "
                                 "as text"))
    assert big.status_code == 200 and len(big.json()[0]["text"]) == 1_000_000


def test_rendered_size_bounds_what_the_renderers_write(site_catalog):
    from datasette.plugins import pm

    make_datasette(site_catalog)  # registers the site's plugins in this process
    limits = pm.get_plugin("veeam_sql_limits.py")
    for value in ["plain text", "a\nb\x00c", "<b>&amp;</b>", "é" * 10, "\U0001f600" * 3, b"\x00\xff" * 5, 7, None]:
        if isinstance(value, bytes):
            shown = json.dumps({"$base64": True, "encoded": base64.b64encode(value).decode()})
        else:
            shown = json.dumps(value)
        assert limits.rendered_size(value) >= len(shown), value
    escaped = html.escape("<b>&amp;</b>", quote=True)
    assert limits.rendered_size("<b>&amp;</b>") >= len(escaped)
