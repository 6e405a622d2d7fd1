"""The scraper against a hostile server (tests/support/hostile_site.py): bounded in time and memory.

Memory is measured as the peak RSS of a separate fetching process; time bounds are generous
(a loaded CI machine must not fail them) but far below what an unbounded client would take.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlite_utils import Database

from catalog.storage.lock import held_by
from pipeline.fetch.client import FetchConfig
from pipeline.jobs.scrape import ScrapeOptions, scrape
from tests.support.hostile_site import GIB, HostileServer

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "support" / "fetch_probe.py"
MEMORY_LIMIT_MB = 300


def probe(server: HostileServer, *paths: str, **config) -> dict:
    config = {"per_host_per_second": 100, "backoff": 0.05, **config}
    done = subprocess.run([sys.executable, str(PROBE), server.base_url, json.dumps(config), *paths],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_slow_drip_is_cut_at_the_total_deadline():
    with HostileServer(drip_every=1.0) as server:
        found = probe(server, "/drip.html", deadline=3, timeout=5, retries=3)
    (result,) = found["results"]
    assert (result["outcome"], result["reason"]) == (
        "failed", "no complete response within the 3-second deadline")
    assert result["seconds"] < 10  # a per-read timeout alone would wait for ever
    assert found["peak_rss_mb"] < MEMORY_LIMIT_MB


def test_a_1_gib_robots_txt_is_read_to_its_cap_and_still_obeyed():
    with HostileServer(robots="huge") as server:
        found = probe(server, "/ok.html", "/private/page.html")
        sent = server.sent_bytes["/robots.txt"]
    assert [(r["outcome"], r["reason"]) for r in found["results"]] == [
        ("ok", None), ("failed", "disallowed by robots.txt")]
    assert found["peak_rss_mb"] < MEMORY_LIMIT_MB
    assert sent < GIB // 16  # the client hung up after its cap


def test_a_gzip_bomb_robots_txt_is_bounded_while_it_inflates():
    with HostileServer(robots="bomb") as server:
        found = probe(server, "/ok.html", "/private/page.html")
    assert [(r["outcome"], r["reason"]) for r in found["results"]] == [
        ("ok", None), ("failed", "disallowed by robots.txt")]
    assert found["peak_rss_mb"] < MEMORY_LIMIT_MB


def test_a_gzip_bomb_page_fails_at_the_body_cap():
    with HostileServer() as server:
        found = probe(server, "/bomb.html")
    (result,) = found["results"]
    assert (result["outcome"], result["reason"]) == ("failed", "body is over the 5,242,880-byte cap")
    assert found["peak_rss_mb"] < MEMORY_LIMIT_MB


def test_a_5xx_robots_txt_disallows_everything():
    with HostileServer(robots="503") as server:
        found = probe(server, "/ok.html")
        requests = list(server.requests)
    assert [(r["outcome"], r["reason"]) for r in found["results"]] == [
        ("failed", "disallowed: robots.txt answered HTTP 503: RFC 9309 says disallow all")]
    assert requests == ["/robots.txt"]


def test_a_4xx_robots_txt_allows_everything():
    with HostileServer(robots="404") as server:
        found = probe(server, "/ok.html")
    assert [r["outcome"] for r in found["results"]] == ["ok"]


def storm_urls(count: int) -> list[str]:
    return [f"/docs/vbaws/guide/storm_permissions_{i}.html" for i in range(count)]


def test_a_429_storm_trips_the_circuit_breaker_and_the_run_ends_with_a_report(tmp_path):
    config = FetchConfig(per_host_per_second=100, backoff=0.05, max_retry_after=0.5, breaker_after=6)
    with HostileServer() as server:
        config.base_url = server.base_url
        start = time.monotonic()
        report = scrape(tmp_path / "c.db", urls=storm_urls(20), config=config)
        seconds = time.monotonic() - start
        requests = len([path for path in server.requests if "storm" in path])
    host = server.base_url.removeprefix("http://")
    assert report.stopped == f"circuit breaker: {host} answered 429/503 6 times in a row"
    assert requests == 6  # nothing asked once the breaker opened
    assert len(report.left) + len(report.failed) == 20 and report.left
    assert f"stopped: circuit breaker: {host} answered 429/503 6 times in a row" in report.summary()
    assert seconds < 30  # Retry-After: 3600 was capped, not obeyed
    runs = list(Database(tmp_path / "c.db").query("select status from runs"))
    assert runs == [{"status": "ok"}]


def test_the_time_budget_stops_the_run_commits_and_reports_what_is_left(tmp_path):
    urls = [f"/docs/vbaws/guide/page_{i}_permissions.html" for i in range(40)]
    config = FetchConfig(per_host_per_second=5, concurrency=1)
    with HostileServer() as server:
        config.base_url = server.base_url
        start = time.monotonic()
        report = scrape(tmp_path / "c.db", urls=urls, config=config,
                        options=ScrapeOptions(time_budget=2.0, batch_pages=3))
        seconds = time.monotonic() - start
    assert report.stopped == "time budget of 2 s used"
    assert report.failed == [] and 0 < report.fetched < 40
    assert report.fetched + len(report.left) == 40
    assert seconds < 15
    db = Database(tmp_path / "c.db")
    assert db.execute("select count(*) from fetches where outcome = 'ok'").fetchone()[0] == report.fetched


def scrape_until(server, db_path, pages_seen: int, stop) -> int:
    """Run `scrape` in a subprocess, stop it with `stop(process)` once the server served `pages_seen` pages."""
    urls = [f"/docs/vbaws/guide/page_{i}_permissions.html" for i in range(60)]
    command = [sys.executable, "-c", "from pipeline.cli.main import cli; cli()", "scrape",
               "--db", str(db_path), "--base-url", server.base_url, "--rate", "10", "--concurrency", "1",
               "--batch-pages", "5", *(arg for url in urls for arg in ("--url", url))]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "XDG_CACHE_HOME": str(db_path.parent / "cache")})
    try:
        deadline = time.monotonic() + 60
        while len([p for p in server.requests if p.endswith(".html")]) < pages_seen:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        stop(process)
        return process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()


def kept(db_path) -> tuple[int, list[str]]:
    db = Database(db_path)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    count = db.execute("select count(*) from fetches where outcome = 'ok'").fetchone()[0]
    return count, [row["status"] for row in db.query("select status from runs")]


def test_a_killed_scrape_keeps_the_batches_it_committed_and_frees_the_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the subprocess locks
    with HostileServer() as server:
        scrape_until(server, tmp_path / "c.db", 23, lambda process: process.kill())
    count, statuses = kept(tmp_path / "c.db")
    assert count >= 20 and count % 5 == 0
    assert statuses == ["running"]  # it never finished: the run row says so
    deadline = time.monotonic() + 10  # its parse workers die with it and release nothing held
    while held_by(tmp_path / "c.db") is not None:
        assert time.monotonic() < deadline, held_by(tmp_path / "c.db")
        time.sleep(0.1)


def test_sigterm_ends_a_scrape_as_interrupted_and_keeps_its_batches(tmp_path):
    with HostileServer() as server:
        code = scrape_until(server, tmp_path / "c.db", 13, lambda process: process.terminate())
    count, statuses = kept(tmp_path / "c.db")
    assert code == 128 + 15
    assert count >= 10 and count % 5 == 0
    assert statuses == ["interrupted"]


def test_the_cli_lists_what_a_stopped_run_left_and_exits_1(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    urls = [f"/docs/vbaws/guide/page_{i}_permissions.html" for i in range(30)]
    with HostileServer() as server:
        result = CliRunner().invoke(cli, [
            "scrape", "--db", str(tmp_path / "c.db"), "--base-url", server.base_url, "--rate", "5",
            "--concurrency", "1", "--time-budget", "0.02", *(arg for url in urls for arg in ("--url", url))])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    stopped = next(line for line in lines if line.startswith("stopped: "))
    assert stopped.startswith("stopped: time budget of 1.2 s used; ")
    assert stopped.endswith(" pages not fetched (committed what was done; run again to continue)")
    left = int(stopped.split("; ")[1].split()[0])
    listed = [line for line in lines if line.startswith("not fetched: https://helpcenter.veeam.com/docs/")]
    assert len(listed) == min(left, 20) and 0 < left < 30
    if left > 20:
        assert f"not fetched: ... and {left - 20} more" in lines


def versions(db_path) -> int:
    return Database(db_path).execute("select count(*) from page_versions").fetchone()[0]


def test_the_time_budget_bounds_the_parsing_of_hostile_pages_too(tmp_path):
    # 16 pages of 4 MB that each take a parser 10-20 s: the run ends at its budget, workers killed.
    urls = [f"/docs/vbaws/guide/hostile_{i}_permissions.html" for i in range(16)]
    config = FetchConfig(per_host_per_second=100, concurrency=4)
    with HostileServer() as server:
        config.base_url = server.base_url
        start = time.monotonic()
        report = scrape(tmp_path / "c.db", urls=urls, config=config, options=ScrapeOptions(time_budget=5.0))
        seconds = time.monotonic() - start
    assert seconds < 15, seconds
    assert report.stopped == "time budget of 5 s used"
    assert report.fetched == 0 and versions(tmp_path / "c.db") == 0
    assert len(report.left) + len(report.failed) == 16
    assert {reason for _, reason in report.failed} <= {
        f"https://helpcenter.veeam.com{url}: parsing took over 5 s of CPU time; not stored" for url in urls}


def test_a_page_past_its_cpu_bound_is_a_failure_never_a_version(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.jobs.parse_pool.PAGE_CPU_SECONDS", 1.0)  # the forked workers inherit it
    urls = ["/docs/vbaws/guide/hostile_permissions.html", "/docs/vbaws/guide/ok_permissions.html"]
    config = FetchConfig(per_host_per_second=100, concurrency=2)
    with HostileServer() as server:
        config.base_url = server.base_url
        report = scrape(tmp_path / "c.db", urls=urls, config=config, options=ScrapeOptions(time_budget=None))
    assert report.failed == [("https://helpcenter.veeam.com/docs/vbaws/guide/hostile_permissions.html",
                              "https://helpcenter.veeam.com/docs/vbaws/guide/hostile_permissions.html: parsing "
                              "took over 1 s of CPU time; not stored")], report
    assert report.fetched == 1
    db = Database(tmp_path / "c.db")
    assert db.execute("select outcome, reason like '%CPU time%' from fetches where url like '%hostile%'").fetchall() \
        == [("failed", 1)]
    assert db.execute("select count(*) from pages where canonical_url like '%hostile%'").fetchone()[0] == 0


def slow_links(blob, kind, page_url):
    time.sleep(5)
    return []


def test_a_budget_used_while_an_unchanged_pages_links_are_read_ends_the_run_cleanly(tmp_path, monkeypatch):
    from tests.support.sitegen import SiteServer, load_site

    products = (ROOT / "cassettes" / "site_products.toml").read_text()
    db_path = tmp_path / "c.db"
    with SiteServer(load_site(ROOT / "tests" / "site")) as server:
        config = FetchConfig(base_url=server.base_url, per_host_per_second=100)
        assert scrape(db_path, config=config, products_toml=products).failed == []
        # Every page answers 304 now: its links come from its stored body, in a worker that takes 5 s.
        monkeypatch.setattr("pipeline.jobs.scrape_batch.stored_links", slow_links)  # forked workers inherit it
        start = time.monotonic()
        report = scrape(db_path, config=config, products_toml=products, options=ScrapeOptions(time_budget=1.0))
        seconds = time.monotonic() - start
    assert report.stopped == "time budget of 1 s used" and report.failed == []
    assert seconds < 4, seconds
