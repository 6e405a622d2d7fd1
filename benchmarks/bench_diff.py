"""Diff two builds of vbr on the full-history vbr catalog, and an upgrade delta.

Run: .venv/bin/python benchmarks/bench_diff.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BUNDLES, ROOT, emit  # noqa: E402
from catalog.analysis.compare import compare_product, resolve  # noqa: E402
from catalog.analysis.upgrade import upgrade_delta  # noqa: E402
from catalog.storage.database import open_catalog  # noqa: E402


def best_of(runs: int, action) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    db_path = Path(tempfile.mkdtemp(prefix="veeam-bench-diff-")) / "vbr.db"
    subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(BUNDLES["vbr"]), "--db",
                    str(db_path)], cwd=ROOT, check=True, capture_output=True)
    db = open_catalog(db_path)
    old, new = resolve(db, "vbr", "13.0.1.1071"), resolve(db, "vbr", "latest")
    diff_s = best_of(5, lambda: compare_product(db, "vbr", old, new))
    upgrade_s = best_of(5, lambda: upgrade_delta(db, "vbr", "13.0.1.1071", "latest"))
    emit([
        {"figure": "diff vbr 13.0.1.1071 -> latest on the full vbr catalog", "value": round(diff_s * 1000),
         "unit": "ms", "target": "< 1000"},
        {"figure": "upgrade delta vbr 13.0.1.1071 -> latest", "value": round(upgrade_s * 1000),
         "unit": "ms", "target": "-"},
    ])


if __name__ == "__main__":
    main()
