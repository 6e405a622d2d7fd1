"""`veeam-perms parse` over every vbr HEAD page, against one Python pass of a permission-token pattern
over the same files (the floor: reading the pages and scanning them once), both whole processes,
process start included, three runs each, interleaved; and the HTML front-end on the same pages.

Run: .venv/bin/python benchmarks/bench_parse.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import against_floor, clone_bundle, emit, median, timed  # noqa: E402

# The floor, verbatim in effect: read each page, find every token of any provider's grammar.
FLOOR = """
import pathlib, re, sys
pat = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*]+|Microsoft\\.[A-Za-z]+/[A-Za-z/*]+|[a-z]+\\.[a-zA-Z]+\\.[a-zA-Z]+")
n = sum(len(pat.findall(p.read_text(encoding="utf-8"))) for p in pathlib.Path(sys.argv[1]).rglob("*.md"))
"""
RUNS = 3


def html_pages_per_second(docs: Path) -> float:
    from pipeline.parse.markdown_frontend import parse_markdown_blocks
    from pipeline.parse.page import parse_html_page
    from tests.support.render_html import render_document

    pages = [render_document(parse_markdown_blocks(path.read_text(encoding="utf-8")))
             for path in sorted(docs.rglob("*.md"))]
    start = time.perf_counter()
    for html in pages:
        parse_html_page(html)
    return len(pages) / (time.perf_counter() - start)


def main() -> None:
    docs = clone_bundle("vbr") / "docs"
    count = sum(1 for _ in docs.rglob("*.md"))
    parse_runs, floor_runs = [], []
    for _ in range(RUNS):
        floor_runs.append(timed([sys.executable, "-c", FLOOR, str(docs)])[0])
        parse_runs.append(timed([sys.executable, "-m", "pipeline", "parse", str(docs), "--json"])[0])
    seconds, floor = median(parse_runs), median(floor_runs)
    emit([
        against_floor(f"parse --json of {count} vbr HEAD pages (median of {RUNS}; value in pages/s)",
                      seconds, floor, 1.5, "pages/s", value=count / seconds, runs=parse_runs),
        {"figure": f"one pattern pass over the same {count} pages (the floor, median of {RUNS})",
         "value": round(count / floor), "unit": "pages/s", "target": "-"},
        {"figure": f"parse {count} vbr HEAD pages rendered as helpcenter HTML (one core, in process)",
         "value": round(html_pages_per_second(docs)), "unit": "pages/s", "target": ">= 200"},
    ])


if __name__ == "__main__":
    main()
