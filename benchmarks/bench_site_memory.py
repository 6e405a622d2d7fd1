"""Memory of the website server under the issue 14 probes, on the real vbr catalog.

Starts `datasette serve` with the project's configuration, then measures its resident memory
(VmRSS) at rest, after a 300 MB chunked POST to /check (refused with 413 while streaming), and
after 3,100 distinct /changes/vbr requests (the page cache is bounded in bytes).
Run: .venv/bin/python benchmarks/bench_site_memory.py [--db catalog.db] [--requests 3100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BUNDLES, ROOT, emit, running_site  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def chunks(total: int, size: int = 1 << 16):
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--db", type=Path)
    options.add_argument("--requests", type=int, default=3100)
    args = options.parse_args()
    db_path = args.db
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="veeam-bench-memory-")) / "catalog.db"
        subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(BUNDLES["vbr"]), "--db", str(db_path)],
                       cwd=ROOT, check=True, capture_output=True)
    with running_site(db_path) as (base, server):
        figures = [{"figure": "server RSS at rest", "value": round(rss_mb(server.pid)), "unit": "MB",
                    "target": "-"}]
        try:
            status = httpx.post(base + "/check", content=chunks(300_000_000), timeout=60,
                                headers={"content-type": "application/x-www-form-urlencoded"}).status_code
        except httpx.HTTPError as error:  # the server may close the connection after its 413
            status = type(error).__name__
        figures.append({"figure": f"server RSS after a 300 MB chunked POST to /check (answer {status})",
                        "value": round(rss_mb(server.pid)), "unit": "MB", "target": "< 200"})
        day = dt.date(2026, 1, 1)
        with httpx.Client(base_url=base, timeout=30) as client:
            for n in range(args.requests):
                to = (day + dt.timedelta(days=n)).isoformat()
                assert client.get(f"/changes/vbr?from=13.0.1.1071&to={to}").status_code in (200, 400)
        figures.append({"figure": f"server RSS after {args.requests} distinct /changes/vbr requests",
                        "value": round(rss_mb(server.pid)), "unit": "MB", "target": "< 200"})
        emit(figures)


if __name__ == "__main__":
    main()
