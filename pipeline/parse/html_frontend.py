"""Front-end for helpcenter HTML pages.

No raw helpcenter HTML was reachable while this was written, so the walker relies
on the structural cues the Markdown dumps preserve rather than on class names:
the `arrow_next.svg` image before a collapsible title, code held in single-cell
tables (nested inside the collapsible body), notes as two-row label/body tables,
the "Page updated" / "Page content applies to build" footer sentences, and the cues
seen in stored copies of live pages: the archive banner's fixed first sentence, note
labels in any case ("NOTE", "NoteS", "TiPS"), and toggle images whose alt/title text is
the page title (never part of a collapsible title). It is verified only against
authored fixtures; `veeam-perms canary` checks it against live pages.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

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
from pipeline.parse.markdown_frontend import ARROW_IMAGE

_SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "nav", "svg", "button",
                      "form", "iframe", "object", "input", "select", "textarea"})
_INLINE = frozenset({"a", "span", "b", "strong", "em", "i", "u", "code", "img", "br", "sup", "sub",
                     "font", "small", "kbd", "var", "abbr", "mark", "s"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACE = re.compile(r"\s+")
# The banner of archived releases. Veeam sometimes inserts a sentence between this prefix and
# "To get the most up-to-date information, see the current version.", so only the prefix counts.
ARCHIVE_BANNER_PREFIX = "this is an archive version of the document."
_BANNER_MAX_CHARS = 400


def _text(node: Tag | NavigableString) -> str:
    raw = node.get_text(" ") if isinstance(node, Tag) else str(node)
    return _SPACE.sub(" ", raw.replace("\u00a0", " ")).strip()


def _code_text(node: Tag) -> str:
    # Keep non-breaking spaces: the lenient JSON reader deals with them, as it must for the dumps.
    return _SPACE.sub(" ", node.get_text(" ")).strip()


def is_archive_banner(text: str) -> bool:
    return len(text) <= _BANNER_MAX_CHARS and text.lower().startswith(ARCHIVE_BANNER_PREFIX)


def _has_arrow(node: Tag) -> bool:
    if node.name == "img":
        return ARROW_IMAGE in (node.get("src") or "")
    return any(ARROW_IMAGE in (img.get("src") or "") for img in node.find_all("img"))


def _own_rows(table: Tag) -> list[Tag]:
    rows = []
    for child in table.children:
        if isinstance(child, Tag):
            if child.name == "tr":
                rows.append(child)
            elif child.name in ("thead", "tbody", "tfoot"):
                rows.extend(row for row in child.children if isinstance(row, Tag) and row.name == "tr")
    return rows


def _cells(row: Tag) -> list[Tag]:
    return [cell for cell in row.children if isinstance(cell, Tag) and cell.name in ("td", "th")]


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.archived = False
        self._inline: list[str] = []
        self._inline_toggle = False

    def flush(self) -> None:
        text = _SPACE.sub(" ", " ".join(self._inline)).strip()
        toggle, self._inline, self._inline_toggle = self._inline_toggle, [], False
        if text:
            self.emit_text(text, toggle)

    def emit_text(self, text: str, toggle: bool = False) -> None:
        if toggle:
            self.blocks.append(Toggle(text))
        elif is_archive_banner(text):
            self.archived = True
        else:
            self.blocks.append(footer_from_text(text) or Paragraph(text))

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if child.__class__ is NavigableString and child.strip():
                    self._inline.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _SKIPPED:
                continue
            if child.name in _INLINE:
                if _has_arrow(child):
                    self._inline_toggle = True
                self._inline.append(_text(child))
                continue
            self.flush()
            self.block(child)
        self.flush()

    def block(self, node: Tag) -> None:
        name = node.name
        if name in _HEADINGS:
            text = _text(node)
            if text:
                self.blocks.append(Heading(text, _HEADINGS[name]))
        elif name == "p":
            text = _text(node)
            if text:
                self.emit_text(text, toggle=_has_arrow(node))
        elif name in ("ul", "ol"):
            items = tuple(_text(li) for li in node.find_all("li", recursive=False) if _text(li))
            if items:
                self.blocks.append(ListBlock(items))
        elif name == "pre":
            self.blocks.append(Code(_code_text(node), in_toggle=self._after_toggle()))
        elif name == "table":
            self.table(node)
        else:
            self.walk(node)

    def _after_toggle(self) -> bool:
        return bool(self.blocks) and isinstance(self.blocks[-1], Toggle)

    def table(self, table: Tag) -> None:
        rows = [_cells(row) for row in _own_rows(table)]
        rows = [row for row in rows if row]
        if table.find("table") is not None:
            # A layout table (the collapsible body): its cells hold text and nested tables.
            for row in rows:
                for cell in row:
                    self.walk(cell)
            return
        texts = [[_text(cell) for cell in row] for row in rows]
        if all(len(row) == 1 for row in texts) and len(texts) == 2 and note_label(texts[0][0]):
            self.blocks.append(Note(note_label(texts[0][0]), texts[1][0]))
        elif len(texts) == 1 and len(texts[0]) == 1:
            self.blocks.append(Code(_code_text(rows[0][0]), in_toggle=self._after_toggle()))
        elif texts:
            self.blocks.append(Table(tuple(tuple(row) for row in texts)))


def _meta(soup: BeautifulSoup) -> dict[str, str]:
    meta: dict[str, str] = {}
    canonical = soup.find("link", rel="canonical")
    if canonical and canonical.get("href"):
        meta["source_url"] = canonical["href"]
    if soup.title and soup.title.string:
        meta["title"] = _SPACE.sub(" ", soup.title.string).strip()
    return meta


# Navigation, scripts and styles never hold page content; dropping them before building the
# tree keeps a page with a 1,000-entry table of contents as cheap as one without.
# Each element runs from its opening tag to its first closing tag, both found by a forward
# search; one regular expression for the whole element rescanned the rest of the page from every
# opening tag that is never closed (quadratic: a page of 20,000 `<nav>` took a second).
_NON_CONTENT_NAMES = ("nav", "script", "style", "noscript", "template")
_NON_CONTENT_OPEN = re.compile(rf"<({'|'.join(_NON_CONTENT_NAMES)})\b[^<>]*>", re.I)
_NON_CONTENT_CLOSE = {name: re.compile(rf"</{name}\s*>", re.I) for name in _NON_CONTENT_NAMES}


def _without_non_content(text: str) -> str:
    """`text` with every nav, script, style, noscript and template element replaced by a space; an
    element never closed is left in place (the tree builder copes), and so are later ones of its
    name, which cannot be closed either."""
    pieces, position, unclosed = [], 0, set()
    while opening := _NON_CONTENT_OPEN.search(text, position):
        name = opening.group(1).lower()
        closing = None if name in unclosed else _NON_CONTENT_CLOSE[name].search(text, opening.end())
        if closing is None:
            unclosed.add(name)
            pieces.append(text[position:opening.end()])
        else:
            pieces += [text[position:opening.start()], " "]
        position = closing.end() if closing else opening.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _without_page_title(blocks: list[Block], titles: list[str]) -> list[Block]:
    """Collapsible titles never start with the page title (the toggle image's alt/title text,
    glued on when a page puts it into the text): "Plug-In PermissionsList of ..." -> "List of ..."."""
    titles = sorted({title for title in titles if title}, key=len, reverse=True)
    cleaned = []
    for block in blocks:
        if isinstance(block, Toggle):
            prefix = next((title for title in titles if block.title.startswith(title)), "")
            rest = block.title[len(prefix):].strip()
            block = Toggle(rest) if rest else block
        cleaned.append(block)
    return cleaned


def parse_html_blocks(text: str) -> Document:
    soup = BeautifulSoup(_without_non_content(text), "lxml")
    walker = _Walker()
    root = soup.body or soup
    walker.walk(root)
    meta = _meta(soup)
    first_heading = next((b.text for b in walker.blocks if isinstance(b, Heading) and b.level == 1), "")
    blocks = _without_page_title(walker.blocks, [meta.get("title", ""), first_heading])
    return Document(meta=meta, blocks=blocks, archived=walker.archived)
