"""The Markdown and HTML front-ends agree on equivalent pages."""

from pathlib import Path

import pytest

from pipeline.parse.blocks import Code, Footer, Note, Paragraph, Toggle
from pipeline.parse.html_frontend import parse_html_blocks
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from pipeline.parse.page import parse_html_page, parse_markdown_page
from tests.support.render_html import render_document

from corpus import SEED, need

PAGES = Path(__file__).parent / "pages"


def operations_of(page):
    return [
        (op.key, op.title, op.description, op.kind, op.section, op.identity,
         [(p.name, p.effect, p.sid, p.resources, p.optional) for p in op.permissions])
        for op in page.operations
    ]


def test_authored_html_twin_parses_like_its_markdown_twin():
    md = parse_markdown_page((PAGES / "12_twin_page.md").read_text())
    html = parse_html_page((PAGES / "12_twin_page.html").read_text())
    assert len(md.operations) == 4
    assert operations_of(html) == operations_of(md)
    assert [m.name for m in html.mentions] == [m.name for m in md.mentions]
    assert (html.url, html.build, html.last_updated, html.version_label) == \
        (md.url, md.build, md.last_updated, "9")


@pytest.mark.parametrize("name", ["16_operation_identity", "17_inline_lists", "18_content_lost"])
def test_authored_twins_of_issue_13_shapes_parse_alike(name):
    md = parse_markdown_page((PAGES / f"{name}.md").read_text())
    html = parse_html_page((PAGES / f"{name}.html").read_text())
    assert operations_of(html) == operations_of(md)
    assert [(m.provider, m.name) for m in html.mentions] == [(m.provider, m.name) for m in md.mentions]
    assert [(w.block, w.message) for w in html.warnings] == [(w.block, w.message) for w in md.warnings]


def test_html_front_end_reads_the_archive_banner_and_skips_scripts():
    html = parse_html_page((PAGES / "12_twin_page.html").read_text())
    assert html.archived is True and html.source_kind == "html"
    blocks = parse_html_blocks((PAGES / "12_twin_page.html").read_text()).blocks
    assert not any("not content" in getattr(block, "text", "") for block in blocks)


def test_html_front_end_block_stream_for_cues():
    blocks = parse_html_blocks(
        '<p><img src="//img.veeam.com/helpcenter/baggage/arrow_next.svg">Title A</p>'
        "<table><tr><td></td><td><table><tr><td>{ }</td></tr></table></td></tr></table>"
        "<table><tr><td>Tip</td></tr><tr><td>Body text</td></tr></table>"
        "<p>Page updated 1/2/2026</p><p>Page content applies to build 1.2.3.4</p>"
    ).blocks
    assert blocks == [Toggle("Title A"), Code("{ }", in_toggle=True), Note("Tip", "Body text"),
                      Footer(updated="1/2/2026"), Footer(build="1.2.3.4")]


def test_markdown_toggle_body_with_text_before_the_code():
    blocks = parse_markdown_blocks(
        "![](//img.veeam.com/helpcenter/baggage/arrow_next.svg)Case one\n\n"
        "|  |  |\n| --- | --- |\n| Lead text here.  |  | | --- | | { \"a\": 1 } | |\n"
    ).blocks
    assert blocks == [Toggle("Case one"), Paragraph("Lead text here."),
                      Code('{ "a": 1 }', in_toggle=True)]


def test_seed_rendered_as_helpcenter_html_parses_to_the_same_operations():
    text = need(SEED).read_text(encoding="utf-8")
    md = parse_markdown_page(text)
    html = parse_html_page(render_document(parse_markdown_blocks(text)))
    assert operations_of(html) == operations_of(md)
    assert (html.build, html.last_updated) == (md.build, md.last_updated)


DUMP_PAGES = [page for page in sorted(PAGES.glob("*.md")) if not page.name.endswith(".veeam.md")]


@pytest.mark.parametrize("page", DUMP_PAGES, ids=lambda p: p.name)
def test_every_authored_markdown_page_survives_the_html_round_trip(page):
    text = page.read_text()
    md = parse_markdown_page(text)
    html = parse_html_page(render_document(parse_markdown_blocks(text)))
    assert operations_of(html) == operations_of(md)
