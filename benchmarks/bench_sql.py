"""SQL questions on the four-bundle catalog, in a plain SQLite connection (what `sqlite3
catalog.db` runs) and through the website's canned queries on a running server (issue 22:
"what does build B of product P require" <= 100 ms in both).

Run: .venv/bin/python benchmarks/bench_sql.py [--db catalog.db] [--repeat 20]
`run()` returns the figures; `main()` prints them as JSON lines like the other benchmarks.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import emit, running_site  # noqa: E402

TARGET_MS = 100
BUILD_JOIN = ("select q.* from build_versions b join operation_requirements q on q.page_version = b.page_version "
              "where b.product = ? and b.build = ?")
PRODUCT_JOIN = ("select q.* from build_versions b join operation_requirements q on q.page_version = b.page_version "
                "where b.product = ?")


def build_catalog() -> Path:
    from benchmarks.bench_site import build_catalog as four_bundles

    return four_bundles()


def _milliseconds(action, repeat: int) -> tuple[float, float]:
    """(median, worst) of `repeat` timed runs, after one warm-up run."""
    action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), max(timings)


def _plain_connection(db_path: Path) -> sqlite3.Connection:
    """The catalog opened read-only with no project function or setting: what `sqlite3` sees."""
    from catalog.storage.database import open_catalog_readonly

    return open_catalog_readonly(db_path).conn


def _latest_builds(db_path: Path) -> dict[str, str]:
    conn = _plain_connection(db_path)
    try:
        return dict(conn.execute("select product, build from releases r where sort_key = "
                                 "(select max(sort_key) from releases where product = r.product) order by 1"))
    finally:
        conn.close()


def _figure(name: str, median: float, worst: float, rows: int, where: str) -> list[dict]:
    return [{"figure": f"{name}, {where}, median ({rows} rows)", "value": round(median, 1), "unit": "ms",
             "target": f"<= {TARGET_MS}"},
            {"figure": f"{name}, {where}, worst", "value": round(worst, 1), "unit": "ms", "target": "-"}]


def sqlite_figures(db_path: Path, repeat: int) -> list[dict]:
    conn = _plain_connection(db_path)
    figures = []
    try:
        for product, build in _latest_builds(db_path).items():
            rows = len(conn.execute(BUILD_JOIN, [product, build]).fetchall())
            median, worst = _milliseconds(lambda p=product, b=build: conn.execute(BUILD_JOIN, [p, b]).fetchall(),
                                          repeat)
            figures += _figure(f"build {build} of {product} requires", median, worst, rows, "sqlite3")
        rows = len(conn.execute(PRODUCT_JOIN, ["vbr"]).fetchall())
        median, worst = _milliseconds(lambda: conn.execute(PRODUCT_JOIN, ["vbr"]).fetchall(), repeat)
        figures += _figure("every build of vbr requires", median, worst, rows, "sqlite3")
    finally:
        conn.close()
    return figures


def site_figures(db_path: Path, repeat: int) -> list[dict]:
    figures = []
    with running_site(db_path) as (base, _), httpx.Client(base_url=base, timeout=30) as client:
        for product, build in _latest_builds(db_path).items():
            params = {"product": product, "build": build, "_size": "max"}

            def ask(params=params):
                response = client.get("/catalog/build_requirements.json", params=params)
                assert response.status_code == 200, response.text[:200]
                return response

            rows = len(ask().json()["rows"])
            median, worst = _milliseconds(ask, repeat)
            figures += _figure(f"build {build} of {product} requires", median, worst, rows,
                               "site canned query (HTTP round trip)")
    return figures


def run(db_path: Path | None = None, repeat: int = 20) -> list[dict]:
    db_path = db_path or build_catalog()
    return sqlite_figures(db_path, repeat) + site_figures(db_path, repeat)


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--db", type=Path, help="a catalog already built (default: ingest the four bundles)")
    options.add_argument("--repeat", type=int, default=20)
    args = options.parse_args()
    emit(run(args.db, args.repeat))


if __name__ == "__main__":
    main()
