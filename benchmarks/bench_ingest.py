"""Full-history ingest of the real bundles: time, database size, no-op re-ingest, peak memory.

Run: .venv/bin/python benchmarks/bench_ingest.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BUNDLES, ROOT, emit  # noqa: E402


def run_ingest(db: Path, source: Path) -> tuple[float, float]:
    """Seconds and peak resident MB of one `veeam-perms ingest` process."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(source), "--db", str(db)],
                   cwd=ROOT, check=True, capture_output=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(peak, before) / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="veeam-bench-ingest-"))
    vbr_db = work / "vbr.db"
    seconds, _ = run_ingest(vbr_db, BUNDLES["vbr"])
    noop, _ = run_ingest(vbr_db, BUNDLES["vbr"])
    all_db = work / "all.db"
    total, peak = 0.0, 0.0
    for bundle in BUNDLES.values():
        elapsed, peak_mb = run_ingest(all_db, bundle)
        total, peak = total + elapsed, max(peak, peak_mb)
    emit([
        {"figure": "ingest full vbr history (3,130 non-merge commits)", "value": round(seconds, 1),
         "unit": "s", "target": "< 120"},
        {"figure": "vbr catalog size", "value": round(vbr_db.stat().st_size / 1e6, 2), "unit": "MB",
         "target": "< 100"},
        {"figure": "no-op re-ingest of the vbr bundle", "value": round(noop, 2), "unit": "s",
         "target": "< 10"},
        {"figure": "ingest all four bundles", "value": round(total, 1), "unit": "s", "target": "-"},
        {"figure": "peak memory of one bundle ingest (largest of four)", "value": round(peak),
         "unit": "MB", "target": "< 500"},
        {"figure": "four-bundle catalog size", "value": round(all_db.stat().st_size / 1e6, 2),
         "unit": "MB", "target": "-"},
    ])


if __name__ == "__main__":
    main()
