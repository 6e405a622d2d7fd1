"""Response times of the website on the full four-bundle catalog, under load on loopback.

Starts `datasette serve` with the project's configuration and drives it with an async HTTP
load generator (concurrency 8). Reports p50 and p95 per page.
Run: .venv/bin/python benchmarks/bench_site.py [--requests 300] [--db catalog.db]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BUNDLES, ROOT, emit, running_site  # noqa: E402


def build_catalog() -> Path:
    db_path = Path(tempfile.mkdtemp(prefix="veeam-bench-site-")) / "catalog.db"
    for bundle in BUNDLES.values():
        subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(bundle), "--db", str(db_path)],
                       cwd=ROOT, check=True, capture_output=True)
    return db_path


async def load(base: str, path: str, requests: int, concurrency: int) -> list[float]:
    timings: list[float] = []
    queue = list(range(requests))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def worker() -> None:
            while queue:
                queue.pop()
                start = time.perf_counter()
                response = await client.get(path)
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200, (path, response.status_code)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--requests", type=int, default=300)
    options.add_argument("--db", type=Path)
    args = options.parse_args()
    db_path = args.db or build_catalog()
    with running_site(db_path) as (base, server):
        from catalog.storage.database import open_catalog

        operation = open_catalog(db_path, create=False).execute(
            "select o.id from operations o join grants g on g.operation = o.id group by o.id "
            "order by count(*) desc limit 1").fetchone()[0]
        pages = {"home": "/", "product vbr (latest)": "/products/vbr",
                 "product vbr at 13.0.1.1071": "/products/vbr?build=13.0.1.1071",
                 "operation (largest)": f"/operations/{operation}",
                 "changes vbazure (default: last change)": "/changes/vbazure",
                 "changes vbr 13.0.1.1071 -> latest": "/changes/vbr?from=13.0.1.1071&to=latest",
                 "changes vbr.json 13.0.1.1071 -> latest": "/changes/vbr.json?from=13.0.1.1071&to=latest",
                 "upgrade vbr 13.0.1.1071 -> latest": "/upgrade/vbr?from=13.0.1.1071&to=latest",
                 "search ec2": "/search?q=ec2"}
        figures = []
        for name, path in pages.items():
            asyncio.run(load(base, path, 20, 4))  # warm up
            timings = sorted(asyncio.run(load(base, path, args.requests, 8)))
            p95 = timings[int(len(timings) * 0.95) - 1]
            figures.append({"figure": f"{name} page, p50 ({args.requests} requests, concurrency 8)",
                            "value": round(statistics.median(timings) * 1000, 1), "unit": "ms", "target": "-"})
            figures.append({"figure": f"{name} page, p95 ({args.requests} requests, concurrency 8)",
                            "value": round(p95 * 1000, 1), "unit": "ms", "target": "< 100"})
        emit(figures)


if __name__ == "__main__":
    main()
