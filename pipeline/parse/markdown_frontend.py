"""Front-end for the public Markdown dumps of the helpcenter (both converter generations).

The dump flattens helpcenter HTML into Markdown: collapsible blocks become an
arrow image followed by the title, their code becomes a one-row table holding a
nested single-cell table, notes become two-row single-column tables. This module
only recognises those shapes; deciding what is a permission is the extractor's job.
"""

from __future__ import annotations

import re

from pipeline.parse.blocks import (
    Block,
    Code,
    Document,
    Heading,
    ListBlock,
    Note,
    Paragraph,
    Table,
    Toggle,
    footer_from_text,
    note_label,
)

ARROW_IMAGE = "arrow_next.svg"
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s+(.*)$")
_LIST_STARTS = frozenset("*+-")
# Labels, targets and attribute blocks never cross a bracket, parenthesis or brace: from every
# `[` of a line like "[a](" repeated, `[^)]*` rescanned the rest of it (quadratic).
_IMAGE = re.compile(r"!\[[^\[\]\n]*\]\([^()\[\]\n]*\)")
_LINK = re.compile(r"\[([^\[\]\n]*)\]\([^()\[\]\n]*\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~\"'])")
# A nested single-column table flattened into a cell: "|  | | --- |" then "| CELL |" rows.
_NESTED_TABLE = re.compile(r"\|\s*\|\s*\|\s*-{3,}\s*\|")
_NESTED_NOTE = re.compile(r"^\s*([A-Za-z]+)\s*\|\s*\|(.*?)\|(.*)$", re.S)
_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_FRONT_MATTER_LINE = re.compile(r'^([A-Za-z_][\w-]*):\s*(.*)$')


def unescape(text: str) -> str:
    """Undo the dump's Markdown escapes (`\\*`, `\\_`, ...)."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(r"\1", text)


def inline_text(text: str) -> str:
    """Markdown inline text to plain text: images dropped, links to their label."""
    if "](" in text:
        text = _IMAGE.sub("", text)
        text = _LINK.sub(r"\1", text)
    return unescape(text).strip()


def read_front_matter(text: str) -> tuple[dict[str, str], int]:
    """The front matter of `text` and where the body starts; only the front matter's lines are
    looked at. A line end is "\\n" or "\\r\\n". An unterminated front matter is body text rather
    than swallowing the page: ({}, 0)."""
    first_end = text.find("\n")
    if first_end < 0 or _line(text, 0, first_end).strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    start = first_end + 1
    while True:
        end = text.find("\n", start)
        line = _line(text, start, len(text) if end < 0 else end)
        if line.strip() == "---":
            return meta, len(text) + 1 if end < 0 else end + 1
        match = _FRONT_MATTER_LINE.match(line)
        if match:
            value = match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1].replace('\\"', '"')
            meta[match.group(1)] = value
        if end < 0:
            return {}, 0
        start = end + 1


def _line(text: str, start: int, end: int) -> str:
    """One line without its end ("\\r\\n" counts as one line end, a lone "\\r" does not)."""
    return text[start:end - 1] if end > start and text[end - 1] == "\r" and end < len(text) else text[start:end]


def split_front_matter(text: str) -> tuple[dict[str, str], list[str]]:
    text = text.replace("\r\n", "\n")
    meta, start = read_front_matter(text)
    return meta, text[start:].split("\n") if start <= len(text) else []


def _text_blocks(text: str) -> list[Block]:
    text = inline_text(text.strip().strip("|"))
    return [Paragraph(text)] if text else []


def _collapsible_body(row: str) -> list[Block]:
    """The body of a collapsible block: text, nested code tables and nested notes, in order."""
    pieces = _NESTED_TABLE.split(row.strip())
    blocks = _text_blocks(pieces[0])
    for number, piece in enumerate(pieces[1:], start=2):
        piece = piece.strip()
        if number == len(pieces) and piece.endswith("|"):
            piece = piece[:-1]  # the closing bar of the outer cell
        piece = piece[1:] if piece.startswith("|") else piece
        note = _NESTED_NOTE.match(piece)
        if note and note_label(note.group(1)):
            blocks.append(Note(note.group(1), inline_text(note.group(2))))
            blocks.extend(_text_blocks(note.group(3)))
            continue
        code, _, rest = piece.rpartition("|")
        blocks.append(Code(unescape(code.strip()), in_toggle=True))
        blocks.extend(_text_blocks(rest))
    return blocks


def _table_blocks(lines: list[str]) -> list[Block]:
    if len(lines) >= 3 and not lines[0].strip(" |") and any(
            _NESTED_TABLE.search(line) for line in lines[2:]):
        return [block for line in lines[2:] for block in _collapsible_body(line)]
    return [table_block(lines)]


def table_block(lines: list[str]) -> Block:
    """A pipe table: one cell is code, a label row over a body row is a note, else a table."""
    rows: list[tuple[str, ...]] = []
    for line in lines:
        body = line.strip()
        if body.startswith("|"):
            body = body[1:]
        if body.endswith("|") and not body.endswith("\\|"):
            body = body[:-1]
        parts = _CELL_SPLIT.split(body) if "\\|" in body else body.split("|")
        cells = tuple(cell.strip() for cell in parts)
        # A separator row's cells are dashes: a row without three of them is not one.
        if "---" in body and all(_SEPARATOR_CELL.match(cell) for cell in cells if cell) and any(cells):
            continue
        rows.append(cells)
    if rows and not any(rows[0]):
        rows = rows[1:]
    single_column = all(len(row) == 1 for row in rows)
    if single_column and len(rows) == 1:
        return Code(unescape(rows[0][0]))
    if single_column and len(rows) == 2 and (label := note_label(rows[0][0])):
        return Note(label, inline_text(rows[1][0]))
    return Table(tuple(tuple(inline_text(cell) for cell in row) for row in rows))


def _flush_paragraph(buffer: list[str], blocks: list[Block]) -> None:
    if not buffer:
        return
    text = inline_text(" ".join(buffer))
    buffer.clear()
    if not text or text == "In this article":
        return
    blocks.append(footer_from_text(text) or Paragraph(text))


def parse_markdown_blocks(text: str, front: tuple[dict[str, str], int] | None = None) -> Document:
    """Split a dump page into front matter and a block stream; `front`: `read_front_matter(text)`,
    when the caller read it already."""
    if front is None:
        meta, lines = split_front_matter(text)
    else:
        meta, start = front
        lines = text[start:].replace("\r\n", "\n").split("\n") if start <= len(text) else []
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[list[str]] = []  # each item's pieces, joined when the list ends (not per line)
    table: list[str] = []

    def flush_all() -> None:
        _flush_paragraph(paragraph, blocks)
        if items:
            blocks.append(ListBlock(tuple(" ".join(pieces) for pieces in items)))
            items.clear()
        if table:
            blocks.extend(_table_blocks(table))
            table.clear()

    for raw in lines:
        stripped = raw.strip()
        if not stripped:
            if paragraph or items or table:
                flush_all()
            continue
        first = stripped[0]
        if first == "|":
            if not table:
                flush_all()
            table.append(stripped)
            continue
        if table:
            flush_all()
        if first == "!" and stripped.startswith("![") and ARROW_IMAGE in stripped.split(")", 1)[0]:
            flush_all()
            blocks.append(Toggle(inline_text(stripped.split(")", 1)[1])))
            continue
        # The patterns run only on lines whose first character can start what they match.
        heading = _HEADING.match(stripped) if first == "#" else None
        if heading:
            flush_all()
            blocks.append(Heading(inline_text(heading.group(2)), len(heading.group(1))))
            continue
        item = _LIST_ITEM.match(stripped) if first in _LIST_STARTS or first.isdigit() else None
        if item:
            _flush_paragraph(paragraph, blocks)
            items.append([inline_text(item.group(1))])
            continue
        if items:
            # A lazy continuation line belongs to the list item above it.
            items[-1].append(inline_text(stripped))
            continue
        paragraph.append(stripped)
    flush_all()
    return Document(meta=meta, blocks=blocks)
