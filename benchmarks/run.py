"""Run the benchmarks and write benchmarks/RESULTS.md (figure, value, target, check, machine).

Run: .venv/bin/python benchmarks/run.py [--check] [--only parse ingest] [--skip scale]
(needs ../shared for the real bundles)

`--check` is the performance guard: every figure that carries a ratio to a floor measured in the
same run (ingest against git reading the same history, parse against one pattern pass over the
same files, the scrape against pages x latency / concurrency, ...) must stay within its bound,
else the run exits 1 naming each figure over it. Ratios, not seconds: a loaded machine slows the
floor and the job alike. It is not part of `.ci/run`, where shared runners make any timing noisy.
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
    "sql": ["bench_sql.py"],
    "scrape": ["bench_scrape.py"],
    "site": ["bench_site.py"],
    "site-memory": ["bench_site_memory.py"],
    "scale": ["bench_scale.py"],
}


def run(name: str, extra: list[str]) -> list[dict]:
    result = subprocess.run([sys.executable, str(HERE / BENCHMARKS[name][0]), *extra], capture_output=True,
                            text=True, cwd=HERE.parent)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["?"])[-1]
        return [{"figure": f"{name}: FAILED", "value": reason, "unit": "", "target": "", "machine": "",
                 "ratio": float("inf"), "bound": 0}]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def verdict(figure: dict) -> str:
    if "bound" not in figure:
        return ""
    return "ok" if figure["ratio"] <= figure["bound"] else f"OVER ({figure['ratio']:g} > {figure['bound']:g})"


def table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| benchmark | figure | value | target | check | machine |", "| --- | --- | --- | --- | --- | --- |"]
    for name, figure in rows:
        lines.append(f"| {name} | {figure['figure']} | {figure['value']} {figure['unit']} | {figure['target']} "
                     f"| {verdict(figure)} | {figure.get('machine', '')} |")
    return "\n".join(lines)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--check", action="store_true", help="exit 1 when a ratio exceeds its bound")
    options.add_argument("--only", nargs="*", default=[], choices=sorted(BENCHMARKS))
    options.add_argument("--skip", nargs="*", default=[], choices=sorted(BENCHMARKS))
    options.add_argument("--from-jsonl", nargs="*", default=[], help="name=file.jsonl of figures already measured")
    args = options.parse_args()
    rows = []
    measured = dict(item.split("=", 1) for item in args.from_jsonl)
    for name in BENCHMARKS:
        if name in measured:
            figures = [json.loads(line) for line in Path(measured[name]).read_text().splitlines() if line]
        elif name in args.skip or args.only and name not in args.only:
            continue
        else:
            figures = run(name, [])
        rows += [(name, figure) for figure in figures]
        print(f"{name}: {len(figures)} figures", file=sys.stderr)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/run.py" + (" --check" if args.check else "") + \
        (f" --only {' '.join(args.only)}" if args.only else "")
    (HERE / "RESULTS.md").write_text(f"# Benchmark results\n\nMeasured {stamp} with `{command}`.\n\n"
                                     + table(rows) + "\n", encoding="utf-8")
    over = [(name, figure) for name, figure in rows if verdict(figure).startswith("OVER")]
    for name, figure in over:
        print(f"over its bound: {name}: {figure['figure']}: {verdict(figure)}", file=sys.stderr)
    checked = sum(1 for _, figure in rows if "bound" in figure)
    print(f"{checked - len(over)} of {checked} checked figures within their bounds", file=sys.stderr)
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
