"""Veeam's own Markdown: the third front-end, its dispatch, and agreement with the other two."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.parse.blocks import Code, Footer, Heading, ListBlock, Note, Paragraph, Toggle
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from pipeline.parse.page import parse_any_markdown_page, parse_markdown_page, parse_veeam_markdown_page
from pipeline.parse.sources import PageError, PageFile, parse_file, parse_page_text
from pipeline.parse.veeam_markdown import (
    looks_like_veeam_markdown,
    parse_veeam_markdown_blocks,
    section_context,
)
from tests.support.render_veeam_markdown import render_veeam_markdown

from corpus import SEED, need

PAGES = Path(__file__).parent / "pages"
THREE = [PAGES / "13_three_formats.md", PAGES / "13_three_formats.html",
         PAGES / "13_three_formats.veeam.md"]
OPTIONAL = {"ec2:DeleteSubnet", "ec2:DeleteSecurityGroup", "ec2:DetachInternetGateway",
            "ec2:DeleteInternetGateway", "ec2:DeleteVpc"}


def page_facts(page):
    """What must not depend on the format: operations with their permissions, build, title, url."""
    operations = [(op.title, op.kind, op.section, op.identity,
                   [(p.provider, p.name, p.effect, p.sid, p.resources, p.placement, p.optional)
                    for p in op.permissions]) for op in page.operations]
    return (operations, page.build, page.title, page.url, page.last_updated, page.product,
            [m.name for m in page.mentions], page.warnings)


def test_the_same_content_in_three_formats_gives_the_same_page():
    dump, html, veeam = (parse_file(PageFile(path)) for path in THREE)
    assert [dump.source_kind, html.source_kind, veeam.source_kind] == \
        ["markdown-dump", "html", "veeam-markdown"]
    assert page_facts(dump) == page_facts(html) == page_facts(veeam)
    assert [op.title for op in veeam.operations] == \
        ["Permissions to restore machines to Azure", "Example of a staging policy"]
    assert veeam.build == "7.2.0.104" and str(veeam.last_updated) == "2026-03-04"
    assert {p.name for op in veeam.operations for p in op.permissions if p.optional} == \
        {"Microsoft.Network/publicIPAddresses/write"}


@pytest.mark.parametrize("path", THREE, ids=lambda path: path.name)
def test_a_byte_order_mark_changes_nothing_and_fetch_takes_the_page_as_its_markdown(path, tmp_path):
    from pipeline.parse.page import is_markdown

    marked = tmp_path / path.name
    marked.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    page = parse_file(PageFile(marked))
    assert page_facts(page) == page_facts(parse_file(PageFile(path)))
    if path.suffix == ".md":  # what the crawl asks of a `.md` answer is what the front-ends read
        assert is_markdown(marked.read_bytes(), page.url)


def test_dropdown_note_example_code_images_and_links():
    document = parse_veeam_markdown_blocks(
        "---\ntitle: T\ncanonical: https://helpcenter.veeam.com/docs/vbr/userguide/t.html\n"
        "dateModified: 2026-01-02\n---\n"
        "::: dropdown\n#### [![](images/x.png)](images/x.png){.toggle scale=80} Open me\n\n"
        "Lead text with a [link](other_page.md){.internal}.\n\n```json\n{ \"a\": 1 }\n```\n:::\n\n"
        "::: NotE\nFirst line\nsecond line.\n:::\n\n"
        "::: {.example}\n### An example\n\n~~~powershell\nGet-VBRJob\n~~~\n:::\n\n"
        "![](images/plain.png){width=50%}\n\n* one\n* two\n\n::: Tips\n* a tip\n:::\n"
    )
    assert document.blocks == [
        Toggle("Open me"), Paragraph("Lead text with a link."),
        Code('{ "a": 1 }', in_toggle=True, language="json"),
        Note("Note", "First line second line."),
        Toggle("An example"), Code("Get-VBRJob", in_toggle=True, language="powershell"),
        ListBlock(("one", "two")), Note("Tips", "a tip"),
    ]
    assert document.meta == {"title": "T", "last_updated": "2026-01-02",
                             "source_url": "https://helpcenter.veeam.com/docs/vbr/userguide/t.html"}


def test_dropdown_title_from_an_attribute_and_nested_notes():
    blocks = parse_veeam_markdown_blocks(
        '::: {.dropdown title="Full list"}\n::: important\nInside.\n:::\n```\n"s3:GetObject"\n```\n:::\n'
    ).blocks
    assert blocks == [Toggle("Full list"), Note("Important", "Inside."),
                      Code('"s3:GetObject"', in_toggle=True)]


def test_breadcrumb_gives_the_section_before_any_heading():
    text = ('---\ntitle: "Plug-In Permissions"\nbreadcrumb: "Guide > Requirements > '
            'Plug-In Permissions"\n---\nThe IAM user must have the following permissions:\n\n'
            '```json\n{ "Statement": [ { "Effect": "Allow", "Action": [ "s3:GetObject" ], '
            '"Resource": "*" } ] }\n```\n')
    page = parse_any_markdown_page(text)
    assert page.source_kind == "veeam-markdown"
    assert [(op.section, op.identity) for op in page.operations] == [("Requirements", "IAM user")]
    assert section_context("A > B > C", "C") == "B"
    assert section_context("A > B", "Other") == "B"
    assert section_context("", "C") is None


def test_footer_sentences_and_unterminated_structures_are_bounded():
    blocks = parse_veeam_markdown_blocks(
        ":::\n::: note\nNo closing fence\n\n::: dropdown\n## Title\n```json\n{ }\n"
    ).blocks
    # The stray closing fence closes nothing; the open note swallows the rest, nothing is lost.
    assert blocks == [Note("Note", "No closing fence Title { }")]
    assert parse_veeam_markdown_blocks("Page content applies to build 1.2.3\n").blocks == \
        [Footer(build="1.2.3")]


def test_unterminated_divs_close_at_the_end_of_the_page():
    blocks = parse_veeam_markdown_blocks("::: dropdown\n## Title\n```json\n{ }\n").blocks
    assert blocks == [Toggle("Title"), Code("{ }", in_toggle=True, language="json")]


def test_hostile_div_nesting_is_refused_with_a_message():
    text = "::: dropdown\n" * 5000 + "x\n"
    with pytest.raises(PageError, match=r"^deep\.md: fenced divs nested over 32 deep$"):
        parse_page_text(text, "markdown", path="deep.md")


def test_recognised_by_front_matter_or_fences_not_confused_with_the_dump():
    assert looks_like_veeam_markdown('---\ntitle: "x"\ndateModified: "2026-01-01"\n---\nbody')
    assert looks_like_veeam_markdown("# Title\n\n::: note\nText\n:::\n")
    assert not looks_like_veeam_markdown('---\nsource_url: "u"\nproduct_version: "1"\n---\n:::\n')
    assert not looks_like_veeam_markdown("# Just a heading\n\nText.\n")
    dump = parse_file(PageFile(PAGES / "12_twin_page.md"))
    assert dump.source_kind == "markdown-dump"


def test_raw_html_tables_inside_the_markdown_are_read_as_tables():
    page = parse_veeam_markdown_page(
        '---\ncanonical: "https://helpcenter.veeam.com/docs/vbo365/guide/fixture_app.html"\n---\n'
        "## Application Permissions\n\nThe Microsoft Entra application must have the following permissions:\n\n"
        "<table>\n<tr><th>API</th><th>Permission Name</th><th>Type</th></tr>\n"
        "<tr><td>Microsoft Graph</td><td>Directory.Read.All</td><td>Application</td></tr>\n"
        "<tr><td></td><td>Group.Read.All</td><td>Application</td></tr>\n"
        "</table>\n\nAfter the table.\n")
    (operation,) = page.operations
    assert operation.kind == "m365-table"
    assert [(p.m365_api, p.name) for p in operation.permissions] == [
        ("Microsoft Graph", "Directory.Read.All"), ("Microsoft Graph", "Group.Read.All")]
    assert parse_veeam_markdown_blocks("<table><tr><td>unclosed").blocks == [Code("unclosed")]


def test_heading_attributes_are_not_text():
    assert parse_veeam_markdown_blocks("::: dropdown\n#### Full list {#full .x}\n:::\n").blocks == \
        [Toggle("Full list")]


def test_heading_levels_and_plain_paragraphs():
    blocks = parse_veeam_markdown_blocks("# Top\n\nSome **bold** text.\n\n## Sub ##\n").blocks
    assert blocks == [Heading("Top", 1), Paragraph("Some bold text."), Heading("Sub", 2)]


@pytest.fixture(scope="module")
def seed_pages():
    text = need(SEED).read_text(encoding="utf-8")
    veeam_text = render_veeam_markdown(parse_markdown_blocks(text),
                                       breadcrumb="User Guide > Requirements > req_permissions")
    return parse_markdown_page(text), parse_any_markdown_page(veeam_text), veeam_text


def test_seed_written_as_veeam_markdown_gives_the_same_policies(seed_pages):
    dump, veeam, veeam_text = seed_pages
    assert "::: dropdown" in veeam_text and "{.toggle scale=80}" in veeam_text
    assert veeam.source_kind == "veeam-markdown"
    assert len(veeam.operations) == 8
    assert len({p.normalized for op in veeam.operations for p in op.permissions}) == 115
    assert {p.name for op in veeam.operations for p in op.permissions if p.optional} == OPTIONAL
    assert page_facts(veeam) == page_facts(dump)


VEEAM_PIECES = st.sampled_from([
    "::: dropdown\n", "::: note\n", "::: IMPORTANT\n", "::: {.example}\n", ":::\n", "```json\n", "```\n",
    "~~~\n", "#### ", "### ", "\n", "\n\n", "{", "}", '"Action": [', '"actions": [', '"s3:GetObject"', ",",
    '"Microsoft.Compute/disks/read"', "[![](images/x.png)](images/x.png){.toggle scale=80}",
    "[link](a.md)", "| a | b |\n", "* ", "Page content applies to build 1.2.3\n",
    '---\ncanonical: "https://helpcenter.veeam.com/docs/vbr/userguide/x.html"\n---\n'])
VEEAM_FRAGMENTS = st.lists(st.one_of(VEEAM_PIECES, st.text(max_size=40)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(VEEAM_FRAGMENTS)
def test_arbitrary_veeam_markdown_never_raises_and_invents_nothing(text):
    page = parse_veeam_markdown_page(text)
    for name in (p.name for op in page.operations for p in op.permissions):
        assert name in text.replace("\\", "")


@pytest.mark.parametrize(("text", "blocks"), [
    ("::: dropdown\n## T\n:::\n" * 30_000, 30_000),
    ("```json\n" + '"s3:GetObject",\n' * 100_000, 1),
])
def test_many_dropdowns_and_an_unterminated_fence_parse_without_recursion(text, blocks):
    assert len(parse_veeam_markdown_blocks(text).blocks) == blocks
