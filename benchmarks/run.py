"""Run every benchmark and write benchmarks/RESULTS.md (figure, value, target, machine).

Run: .venv/bin/python benchmarks/run.py [--skip scale]   (needs ../shared for the real bundles)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "parse": ["bench_parse.py"],
    "ingest": ["bench_ingest.py"],
    "diff": ["bench_diff.py"],
    "scrape": ["bench_scrape.py"],
    "site": ["bench_site.py"],
    "site-memory": ["bench_site_memory.py"],
    "scale": ["bench_scale.py"],
}


def run(name: str, extra: list[str]) -> list[dict]:
    result = subprocess.run([sys.executable, str(HERE / BENCHMARKS[name][0]), *extra], capture_output=True,
                            text=True, cwd=HERE.parent)
    if result.returncode != 0:
        return [{"figure": f"{name}: FAILED", "value": result.stderr.strip().splitlines()[-1:] or ["?"],
                 "unit": "", "target": "", "machine": ""}]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | figure | value | target | machine |", "| --- | --- | --- | --- | --- |"]
    for name, figure in rows:
        lines.append(f"| {name} | {figure['figure']} | {figure['value']} {figure['unit']} | {figure['target']} "
                     f"| {figure.get('machine', '')} |")
    return "\n".join(lines)


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--skip", nargs="*", default=[], choices=sorted(BENCHMARKS))
    options.add_argument("--from-jsonl", nargs="*", default=[], help="name=file.jsonl of figures already measured")
    args = options.parse_args()
    rows = []
    measured = dict(item.split("=", 1) for item in args.from_jsonl)
    for name in BENCHMARKS:
        if name in measured:
            figures = [json.loads(line) for line in Path(measured[name]).read_text().splitlines() if line]
        elif name in args.skip:
            continue
        else:
            figures = run(name, [])
        rows += [(name, figure) for figure in figures]
        print(f"{name}: {len(figures)} figures", file=sys.stderr)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    (HERE / "RESULTS.md").write_text(f"# Benchmark results\n\nMeasured {stamp} with `python benchmarks/run.py`.\n\n"
                                     + table(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
