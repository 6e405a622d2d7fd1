"""Growth: ingest time, database size and query times as a dump history grows 1x, 10x, 100x.

1x has the shape of the real vbr history: 3,130 commits touching 12 page files each (37,560
file changes), most of them pages without permissions; one commit in four edits one of
60 permission pages, and half of those edits change permissions (the rest move dates).
The synthetic repository is written with `git fast-import`; pages are our own text.
Run: .venv/bin/python benchmarks/bench_scale.py [--scales 1 10 100]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, emit  # noqa: E402
from benchmarks.synthetic import ACTIONS, page_markdown, releases  # noqa: E402

COMMITS_1X, FILES_PER_COMMIT, PERMISSION_PAGES, FILLER_PAGES = 3130, 12, 60, 2000


def filler(slug: str, serial: int) -> str:
    return (f'---\ntitle: "Topic {slug}"\nsource_url: "https://helpcenter.veeam.com/docs/vbsyn/guide/{slug}.html"\n'
            f'last_updated: "1/{1 + serial % 28}/2026"\nproduct_version: "13.0.1.{1000 + serial // 5000}"\n---\n\n'
            f"# Topic {slug}\n\nRevision {serial}. Steps to follow in the console.\n\n"
            "1. Open the view.\n2. Click Save.\n")


def write_history(repo: Path, commits: int, seed: int = 11) -> int:
    """Create the repository; return how many page files the commits changed."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    chain = releases(8)
    pages = {f"permissions_{k:03d}": sorted(rng.sample(ACTIONS, rng.randint(8, 24))) for k in range(PERMISSION_PAGES)}
    process = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    stream = process.stdin
    changed = 0
    for number in range(commits):
        files = {}
        for _ in range(FILES_PER_COMMIT - 1):
            slug = f"topic_{rng.randrange(FILLER_PAGES):04d}"
            files[f"docs/{slug}.md"] = filler(slug, number)
        if number % 4 == 0 or number < PERMISSION_PAGES:
            slug = f"permissions_{(number if number < PERMISSION_PAGES else rng.randrange(PERMISSION_PAGES)):03d}"
            if number >= PERMISSION_PAGES and rng.random() < 0.5:
                actions = set(pages[slug]) - set(rng.sample(pages[slug], min(2, len(pages[slug]) - 4)))
                pages[slug] = sorted(actions | set(rng.sample(ACTIONS, rng.randint(1, 3))))
            release = chain[min(len(chain) - 1, number * len(chain) // commits)]
            files[f"docs/{slug}.md"] = page_markdown("vbsyn", slug, release, pages[slug], current=True).replace(
                f'last_updated: "{release.date}"', f'last_updated: "2/{1 + number % 28}/2026"')
        stamp = 1768435200 + number * 600
        stream.write(f"commit refs/heads/main\ncommitter Bench <bench@example.invalid> {stamp} +0000\n"
                     f"data 8\nchange {number % 10}\n".encode())
        if number == 0:
            stream.write(b"deleteall\n")
        for path, text in files.items():
            data = text.encode()
            stream.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        changed += len(files)
    stream.close()
    if process.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "-C", str(repo), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    return changed


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(scale: int, work: Path) -> list[dict]:
    repo, db_path = work / f"repo{scale}", work / f"scale{scale}.db"
    changed = write_history(repo, COMMITS_1X * scale)
    ingest = timed(lambda: subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(repo), "--db", str(db_path)],
                                          cwd=ROOT, check=True, capture_output=True))
    noop = timed(lambda: subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(repo), "--db", str(db_path)],
                                        cwd=ROOT, check=True, capture_output=True))
    from catalog.analysis.compare import compare_product, resolve
    from catalog.analysis.queries import first_required, operations_as_of
    from catalog.analysis.site_data import home
    from catalog.storage.database import open_catalog

    db = open_catalog(db_path)
    versions = db["page_versions"].count
    queries = {
        "diff first -> latest build": lambda: compare_product(db, "vbsyn", resolve(db, "vbsyn", db.execute(
            "select build from releases order by sort_key limit 1").fetchone()[0]), resolve(db, "vbsyn", "latest")),
        "first build per page of an action": lambda: first_required(db, "iam:GetRole"),
        "operations of a page as of a date": lambda: operations_as_of(
            db, "https://helpcenter.veeam.com/docs/vbsyn/guide/permissions_007.html", "2026-03-01"),
        "home page data": lambda: home(db),
    }
    label = f"{scale}x ({COMMITS_1X * scale:,} commits, {changed:,} file changes, {versions:,} page versions)"
    figures = [
        {"figure": f"{label}: ingest", "value": round(ingest, 1), "unit": "s", "target": "linear"},
        {"figure": f"{label}: no-op re-ingest", "value": round(noop, 2), "unit": "s", "target": "-"},
        {"figure": f"{label}: database size", "value": round(db_path.stat().st_size / 1e6, 1), "unit": "MB",
         "target": "linear"},
    ]
    for name, query in queries.items():
        best = min(timed(query) for _ in range(3))
        figures.append({"figure": f"{label}: {name}", "value": round(best * 1000, 1), "unit": "ms", "target": "-"})
    db.close()
    return figures


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    args = options.parse_args()
    work = Path(tempfile.mkdtemp(prefix="veeam-bench-scale-"))
    for scale in args.scales:
        emit(measure(scale, work))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
