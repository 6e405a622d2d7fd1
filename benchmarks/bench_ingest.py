"""Full-history ingest of the real bundles against the I/O floor measured in the same run.

The floor reads every page version of the vbr history once, as git alone does it on a clone:
`git log --raw --no-abbrev --format=%H -- docs | awk '/^:/{print $4}' | sort -u | git cat-file --batch`.
The ingest of the bundle (unbundling included) and of that clone, the no-op re-ingest, the four
bundles' catalog, and the peak memory of the whole ingest process tree (its parse workers count).

Run: .venv/bin/python benchmarks/bench_ingest.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BUNDLES, against_floor, clone_bundle, emit, median, timed  # noqa: E402

FLOOR = ("git log --raw --no-abbrev --format=%H -- docs | awk '/^:/{print $4}' | sort -u "
         "| git cat-file --batch >/dev/null")
RUNS = 3


def ingest(source: Path, db: Path, memory: bool = False) -> tuple[float, float]:
    return timed([sys.executable, "-m", "pipeline", "ingest", str(source), "--db", str(db)], memory=memory)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="veeam-bench-ingest-"))
    clone = clone_bundle("vbr", work)
    floors, bundle_runs, clone_runs, noops = [], [], [], []
    for run in range(RUNS):  # interleaved, so that a neighbour's load falls on both alike
        floors.append(timed(FLOOR, cwd=clone, shell=True)[0])
        bundle_runs.append(ingest(BUNDLES["vbr"], work / f"bundle-{run}.db")[0])
        clone_runs.append(ingest(clone, work / f"clone-{run}.db")[0])
        noops.append(ingest(BUNDLES["vbr"], work / "bundle-0.db")[0])
    floor = median(floors)
    all_db = work / "all.db"
    total, peak = 0.0, 0.0
    for bundle in BUNDLES.values():
        seconds, peak_mb = ingest(bundle, all_db, memory=True)
        total, peak = total + seconds, max(peak, peak_mb)
    emit([
        {"figure": f"I/O floor: every vbr page version read by git alone (median of {RUNS})",
         "value": round(floor, 2), "unit": "s", "target": "-"},
        against_floor("ingest full vbr history from the bundle (3,130 commits, unbundling included)",
                      median(bundle_runs), floor, 3.0, runs=bundle_runs),
        against_floor("ingest full vbr history from a clone (the floor's own input)",
                      median(clone_runs), floor, 3.0, runs=clone_runs),
        against_floor("no-op re-ingest of the vbr bundle", median(noops), floor, 0.25, runs=noops),
        {"figure": "vbr catalog size", "value": round((work / "bundle-0.db").stat().st_size / 1e6, 2),
         "unit": "MB", "target": "< 100"},
        {"figure": "ingest all four bundles", "value": round(total, 1), "unit": "s", "target": "-"},
        {"figure": "peak memory of a bundle ingest, process and parse workers (largest of four; PSS)",
         "value": round(peak), "unit": "MB", "target": "<= 300", "ratio": round(peak / 300, 3), "bound": 1.0},
        {"figure": "four-bundle catalog size", "value": round(all_db.stat().st_size / 1e6, 2), "unit": "MB",
         "target": "-"},
    ])


if __name__ == "__main__":
    main()
