"""Render a block stream as Veeam's own Markdown (the `:::` fenced-div format).

The inverse of pipeline/parse/veeam_markdown.py, used to write third-party pages (the
seed) in Veeam's format at test time instead of committing a converted copy. A
collapsible block becomes a `::: dropdown` holding a heading, a toggle image and its
body up to the first code block; notes become `::: note` divs (label case kept, to
exercise case-insensitive labels); code becomes fenced code with a language.
"""

from __future__ import annotations

import re

from pipeline.parse.blocks import (
    FOOTER_BUILD,
    FOOTER_UPDATED,
    Block,
    Code,
    Document,
    Footer,
    Heading,
    ListBlock,
    Note,
    Paragraph,
    Table,
    Toggle,
)

TOGGLE_IMAGE = "[![](images/toggle_arrow.png)](images/toggle_arrow.png){.toggle scale=80}"
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SPECIAL_START = re.compile(r"^(?:[#|>*+-]|:::|`{3}|~{3}|\d+[.)]\s)")


def _escape_start(text: str) -> str:
    return "\\" + text if _SPECIAL_START.match(text) else text


def _language(code: str) -> str:
    return "json" if code.lstrip().startswith(("{", "[", '"')) else "text"


def _iso(date: str) -> str:
    match = _US_DATE.match(date.strip())
    if not match:
        return date
    month, day, year = (int(group) for group in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Paragraph):
        return _escape_start(block.text)
    if isinstance(block, ListBlock):
        return "\n".join(f"* {item}" for item in block.items)
    if isinstance(block, Code):
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{block.language or _language(block.text)}\n{block.text}\n{fence}"
    if isinstance(block, Note):
        return f"::: {block.label}\n{_escape_start(block.text)}\n:::"
    if isinstance(block, Table):
        width = max(len(row) for row in block.rows)
        rows = [tuple(row) + ("",) * (width - len(row)) for row in block.rows]
        lines = ["| " + " | ".join(_cell(cell) for cell in rows[0]) + " |",
                 "|" + " --- |" * width]
        lines.extend("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows[1:])
        return "\n".join(lines)
    if isinstance(block, Footer):
        return FOOTER_UPDATED + block.updated if block.updated else FOOTER_BUILD + (block.build or "")
    raise TypeError(f"cannot render {type(block).__name__} on its own")


def _dropdown(title: str, body: list[Block]) -> str:
    inner = "\n\n".join(render_block(block) for block in body)
    return f"::: dropdown\n#### {TOGGLE_IMAGE} {title}\n\n{inner}\n:::"


def render_blocks(blocks: list[Block]) -> list[str]:
    """Each Toggle and its body (up to and including the first code block) as one dropdown."""
    parts, index = [], 0
    while index < len(blocks):
        block = blocks[index]
        if isinstance(block, Toggle):
            end = index + 1
            while end < len(blocks) and isinstance(blocks[end], Paragraph | Note):
                end += 1
            end = end + 1 if end < len(blocks) and isinstance(blocks[end], Code) else end
            parts.append(_dropdown(block.title, list(blocks[index + 1:end])))
            index = end
            continue
        parts.append(render_block(block))
        index += 1
    return parts


def render_veeam_markdown(document: Document, breadcrumb: str | None = None) -> str:
    meta = document.meta
    title = next((b.text for b in document.blocks if isinstance(b, Heading) and b.level == 1),
                 meta.get("title", ""))
    front = [f'title: "{title}"']
    if meta.get("source_url"):
        front.append(f'canonical: "{meta["source_url"]}"')
    if breadcrumb:
        front.append(f'breadcrumb: "{breadcrumb}"')
    if meta.get("last_updated"):
        front.append(f'dateModified: "{_iso(meta["last_updated"])}"')
    parts = render_blocks(document.blocks)
    footers = [block for block in document.blocks if isinstance(block, Footer)]
    if meta.get("product_version") and not any(footer.build for footer in footers):
        parts.append(render_block(Footer(build=meta["product_version"])))
    return "---\n" + "\n".join(front) + "\n---\n\n" + "\n\n".join(parts) + "\n"
