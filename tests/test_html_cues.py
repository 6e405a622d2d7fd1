"""HTML front-end hardening for the live helpcenter's cues: banner, toggle text, note labels."""

from pathlib import Path

import pytest

from pipeline.parse.blocks import Note, Paragraph, Toggle, note_label
from pipeline.parse.html_frontend import is_archive_banner, parse_html_blocks
from pipeline.parse.markdown_frontend import parse_markdown_blocks
from pipeline.parse.page import parse_html_page
from pipeline.parse.veeam_markdown import parse_veeam_markdown_blocks

PAGES = Path(__file__).parent / "pages"
ARROW = '<img src="//img.veeam.com/helpcenter/baggage/arrow_next.svg" alt="{alt}" title="{alt}">'


@pytest.mark.parametrize("text", [
    "This is an archive version of the document. To get the most up-to-date information, "
    "see the current version.",
    "This is an archive version of the document. Support for this release ended. "
    "To get the most up-to-date information, see the current version.",
    "THIS IS AN ARCHIVE VERSION OF THE DOCUMENT.",
])
def test_archive_banner_is_matched_by_its_prefix(text):
    assert is_archive_banner(text)
    document = parse_html_blocks(f"<body><div><p>{text}</p></div><p>Body.</p></body>")
    assert document.archived and document.blocks == [Paragraph("Body.")]


@pytest.mark.parametrize("text", [
    "This document describes an archive version of the backup.",
    "You are viewing an archived version of this documentation.",
    "This is an archive version of the document. " + "x" * 400,
])
def test_other_sentences_are_content_not_the_banner(text):
    document = parse_html_blocks(f"<p>{text}</p>")
    assert not document.archived and document.blocks == [Paragraph(text)]


def test_toggle_image_alt_and_title_never_reach_the_block_title():
    html = ("<html><head><title>Plug-In Permissions</title></head><body>"
            f"<p><a href='#x'>{ARROW.format(alt='Plug-In Permissions')}</a>List of things</p>"
            f"<p>{ARROW.format(alt='Plug-In Permissions')}<span>Plug-In Permissions</span>"
            "List of permissions to deploy a new backup appliance</p>"
            f"<p>{ARROW.format(alt='expand')}Plug-In Permissions</p></body></html>")
    assert parse_html_blocks(html).blocks == [
        Toggle("List of things"), Toggle("List of permissions to deploy a new backup appliance"),
        Toggle("Plug-In Permissions")]


@pytest.mark.parametrize("label", ["Note", "NOTE", "NotE", "NoteS", "Tip", "TIP", "TiPS",
                                   "Important", "IMPORTANT", "Note:"])
def test_note_labels_in_any_case_and_spelling(label):
    blocks = parse_html_blocks(f"<table><tr><td>{label}</td></tr><tr><td>Body.</td></tr></table>").blocks
    assert blocks == [Note(label.rstrip(":"), "Body.")]
    assert note_label(label) == label.rstrip(":")
    # the same label in the dump's Markdown and as a Veeam Markdown div is the same note
    assert parse_markdown_blocks(f"| {label} |\n| --- |\n| Body. |\n").blocks == blocks
    if not label.endswith(":"):  # a div's class: its case is the writer's, not the reader's
        (veeam,) = parse_veeam_markdown_blocks(f"::: {label}\nBody.\n:::\n").blocks
        assert (type(veeam), veeam.label.lower(), veeam.text) == (Note, label.lower(), "Body.")


def test_not_a_note_label():
    assert note_label("Notebook") is None
    blocks = parse_html_blocks("<table><tr><td>Notebook</td></tr><tr><td>Body.</td></tr></table>").blocks
    assert blocks != [Note("Notebook", "Body.")]


def test_golden_archive_page_carries_all_cues():
    page = parse_html_page((PAGES / "14_archive_cues.html").read_text())
    assert page.archived and page.product == "vbr" and page.version_label == "120"
    assert [op.title for op in page.operations] == [
        "List of permissions to deploy a new backup appliance", "List of permissions to add a repository"]
    assert {p.name for op in page.operations for p in op.permissions if p.optional} == \
        {"ec2:DeleteSubnet", "s3:PutBucketVersioning"}
    assert "kms:Decrypt" in {m.name for m in page.mentions}
