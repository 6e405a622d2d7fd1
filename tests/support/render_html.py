"""Render a block stream as helpcenter-like HTML.

The inverse of the HTML front-end, used to build the local mirror the scraper
tests crawl, the synthetic sites of the scale benchmarks, and equivalence checks
between the two front-ends. It reproduces the structural cues the dumps show:
arrow image + title for collapsible blocks, code in nested single-cell tables,
two-row notes, the footer sentences and an optional archive banner.
"""

from __future__ import annotations

from html import escape

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

ARROW_SRC = "//img.veeam.com/helpcenter/baggage/arrow_next.svg"
ARCHIVE_BANNER = ("This is an archive version of the document. To get the most up-to-date information, "
                  "see the current version.")


def _cell_table(text: str) -> str:
    return f'<table class="code"><tr><td>{escape(text)}</td></tr></table>'


def render_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, ListBlock):
        items = "".join(f"<li>{escape(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Toggle):
        return (f'<p class="dropspot"><img src="{ARROW_SRC}" alt="">'
                f'<a href="#">{escape(block.title)}</a></p>')
    if isinstance(block, Code):
        if block.in_toggle:
            return f'<div class="dropdown"><table><tr><td></td><td>{_cell_table(block.text)}' \
                   f'</td></tr></table></div>'
        return _cell_table(block.text)
    if isinstance(block, Note):
        return (f'<table class="note"><tr><td>{escape(block.label)}</td></tr>'
                f'<tr><td>{escape(block.text)}</td></tr></table>')
    if isinstance(block, Table):
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
            for row in block.rows)
        return f"<table>{rows}</table>"
    if isinstance(block, Footer):
        if block.updated:
            return f"<p>{escape(FOOTER_UPDATED + block.updated)}</p>"
        return f"<p>{escape(FOOTER_BUILD + (block.build or ''))}</p>"
    raise TypeError(f"cannot render {type(block).__name__}")


def render_document(document: Document, archived: bool = False) -> str:
    meta = document.meta
    title = meta.get("title", "")
    head = f'<meta charset="utf-8"><title>{escape(title)}</title>'
    if meta.get("source_url"):
        head += f'<link rel="canonical" href="{escape(meta["source_url"])}">'
    body = [f'<div class="archive-banner">{ARCHIVE_BANNER}</div>'] if archived else []
    body.extend(render_block(block) for block in document.blocks)
    footers = [block for block in document.blocks if isinstance(block, Footer)]
    if meta.get("last_updated") and not any(footer.updated for footer in footers):
        body.append(render_block(Footer(updated=meta["last_updated"])))
    if meta.get("product_version") and not any(footer.build for footer in footers):
        body.append(render_block(Footer(build=meta["product_version"])))
    return (f'<!DOCTYPE html><html><head>{head}</head><body><nav><a href="/">Helpcenter</a></nav>'
            f'<div class="topic">{"".join(body)}</div></body></html>')
