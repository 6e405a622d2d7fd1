"""Parse every HEAD page of the vbr bundle, as Markdown and as rendered helpcenter HTML, on one core.

Run: .venv/bin/python benchmarks/bench_parse.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import clone_bundle, emit  # noqa: E402
from pipeline.parse.markdown_frontend import parse_markdown_blocks  # noqa: E402
from pipeline.parse.page import parse_html_page, parse_markdown_page  # noqa: E402
from tests.support.render_html import render_document  # noqa: E402


def main() -> None:
    docs = clone_bundle("vbr") / "docs"
    texts = [path.read_text(encoding="utf-8") for path in sorted(docs.rglob("*.md"))]
    start = time.perf_counter()
    for text in texts:
        parse_markdown_page(text)
    md_seconds = time.perf_counter() - start
    html_pages = [render_document(parse_markdown_blocks(text)) for text in texts]
    start = time.perf_counter()
    for html in html_pages:
        parse_html_page(html)
    html_seconds = time.perf_counter() - start
    emit([
        {"figure": f"parse {len(texts)} vbr HEAD pages (Markdown)",
         "value": round(len(texts) / md_seconds), "unit": "pages/s", "target": ">= 1000"},
        {"figure": f"parse {len(html_pages)} vbr HEAD pages rendered as helpcenter HTML",
         "value": round(len(html_pages) / html_seconds), "unit": "pages/s", "target": ">= 200"},
    ])


if __name__ == "__main__":
    main()
