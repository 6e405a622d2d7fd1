"""The parse pool: pages in the caller's order, each under its CPU-time and memory bound, a worker
that dies costs only its own page; ingest and `parse` on several cores give what one core gives."""

import os
import sqlite3
import subprocess
import time

import pytest

from pipeline.jobs import parse_pool
from pipeline.jobs.dumps import open_repository
from pipeline.jobs.ingest import ingest
from pipeline.jobs.parse_files import parse_files
from pipeline.jobs.parse_pool import map_in_order, start_pool
from pipeline.parse.sources import PageError, iter_page_files

from corpus import BUNDLES, clone, need


def echo(where, value):
    return value * 2


def spin(where, seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return "done"


def exhaust(where, megabytes):
    return len(bytearray(megabytes * 1024 * 1024))


def die(where, code):
    os._exit(code)


def refuse(where, message):
    raise PageError(f"{where}: {message}")


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setattr(parse_pool, "PAGE_CPU_SECONDS", 0.5)  # the forked workers inherit it
    started = start_pool(2)
    yield started
    started.shutdown()


def test_outcomes_come_back_in_the_callers_order(pool):
    assert list(map_in_order(pool, echo, [(f"p{n}", n) for n in range(200)], chunk=7)) == \
        [(True, 2 * n) for n in range(200)]


def test_a_page_past_its_cpu_time_fails_naming_it_and_the_others_are_parsed(pool):
    outcomes = list(map_in_order(pool, spin, [("a.md", 0.0), ("hostile.md", 30.0), ("b.md", 0.0)]))
    assert outcomes == [(True, "done"), (False, "hostile.md: parsing took over 0.5 s of CPU time; not stored"),
                        (True, "done")]


def test_a_page_past_its_memory_fails_naming_it(pool):
    outcomes = list(map_in_order(pool, exhaust, [("big.md", 3 * 1024), ("small.md", 1)]))
    assert outcomes == [(False, "big.md: parsing needed over 768 MB of memory; not stored"),
                        (True, 1024 * 1024)]


def test_a_worker_that_dies_costs_only_its_page(pool):
    items = [("a.md", 0), ("killer.md", 9), ("b.md", 0)]
    outcomes = list(map_in_order(pool, lambda_free_die, items, chunk=3))
    assert outcomes == [(True, "a.md"), (False, "killer.md: the parse worker died on this page (over its memory "
                                                "bound?); not stored"), (True, "b.md")]
    assert list(map_in_order(pool, echo, [("c.md", 1)])) == [(True, 2)]  # the pool was replaced


def lambda_free_die(where, code):
    return die(where, code) if code else where


def test_page_errors_are_outcomes_not_exceptions(pool):
    assert list(map_in_order(pool, refuse, [("x.md", "binary content")])) == [(False, "x.md: binary content")]


def rows(db_path):
    """Every table's rows, the run timestamps aside (they differ between any two runs)."""
    conn = sqlite3.connect(db_path)
    tables = [name for (name,) in conn.execute(
        "select name from sqlite_master where type = 'table' and name not like '%fts%' order by name")]
    found = {}
    for table in tables:
        columns = [c[1] for c in conn.execute(f"pragma table_info('{table}')")
                   if c[1] not in ("started", "finished", "_seen", "applied_at")]
        if columns:
            listed = ", ".join(f"[{column}]" for column in columns)
            found[table] = conn.execute(f"select {listed} from [{table}] order by rowid").fetchall()
    conn.close()
    return found


def test_a_history_ingested_on_two_workers_equals_one_core_row_for_row(tmp_path):
    bundle = need(BUNDLES["vbazure"])
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    first = ingest(one, bundle, workers=0)
    second = ingest(two, bundle, workers=2)
    assert first.summary() == second.summary()
    assert first.counts["new_versions"] > 10
    assert rows(one) == rows(two)


def test_parse_of_a_folder_on_two_workers_equals_one_core(tmp_path):
    files = list(iter_page_files([clone("vbazure", str(tmp_path)) / "docs"]))
    for as_json in (True, False):
        two = list(parse_files(files, as_json, False, workers=2))
        assert two == list(parse_files(files, as_json, False, workers=0))


def test_a_bundle_whose_head_the_catalog_holds_is_not_unbundled_again(tmp_path, monkeypatch):
    bundle = need(BUNDLES["vbaws"])
    db_path = tmp_path / "catalog.db"
    assert ingest(db_path, bundle).commits > 0

    def no_unbundling(path):
        raise AssertionError("unbundled again")

    monkeypatch.setattr("pipeline.jobs.ingest.open_repository", no_unbundling)
    again = ingest(db_path, bundle)
    assert (again.commits, again.pages_read, again.counts) == (0, 0, {})


def test_a_bundle_with_a_new_head_is_read_for_its_new_commits(tmp_path):
    bundle = need(BUNDLES["vbaws"])
    db_path = tmp_path / "catalog.db"
    ingest(db_path, bundle)
    work = clone("vbaws", str(tmp_path))
    subprocess.run(["git", "-C", str(work), "commit", "-q", "--allow-empty", "-m", "nothing changed"], check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})
    newer = tmp_path / "newer.bundle"
    subprocess.run(["git", "-C", str(work), "bundle", "create", "-q", str(newer), "HEAD", "main"], check=True)
    report = ingest(db_path, newer)
    assert (report.commits, report.pages_read) == (1, 0)
    assert ingest(db_path, newer).commits == 0


def test_a_bundle_is_unbundled_with_its_own_head(tmp_path):
    with open_repository(need(BUNDLES["vbaws"])) as repo:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    listed = subprocess.run(["git", "bundle", "list-heads", str(BUNDLES["vbaws"])], capture_output=True, text=True)
    assert f"{head.strip()} HEAD" in listed.stdout
