"""Front-end for Veeam's own Markdown (the `.md` twin the helpcenter serves beside a page).

Pandoc-style Markdown: front matter `title`, `description`, `canonical` (the `.html`
URL), `breadcrumb` ("A > B > C") and `dateModified` (ISO date); fenced divs `::: note`,
`::: important`, `::: tip` (notes), `::: dropdown` (a collapsible block: a heading, then
its content) and `::: example` (a `### title` and fenced code, also collapsible); fenced
code with a language; images wrapped in links with attributes
(`[![](images/x.png)](images/x.png){.toggle scale=80}`), links to other `.md` pages.
It emits the same block stream as the other two front-ends, so extraction is shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.parse.blocks import (
    Block,
    Code,
    Document,
    Heading,
    ListBlock,
    Note,
    Paragraph,
    Toggle,
    footer_from_text,
    note_label,
)
from pipeline.parse.limits import LimitExceeded
from pipeline.parse.markdown_frontend import read_front_matter, split_front_matter, table_block, unescape

MAX_DIV_DEPTH = 32
COLLAPSIBLE_DIVS = frozenset({"dropdown", "example"})
VEEAM_KEYS = frozenset({"canonical", "dateModified", "breadcrumb"})
DUMP_KEYS = frozenset({"source_url", "product_version"})

# Patterns that read a whole line end in a plain `(.*)`; trailing decorations (closing colons
# or hashes, attribute blocks) are trimmed in Python: a lazy `(.*?)` followed by optional runs
# took seconds on a line of a few hundred spaces.
_DIV_OPEN = re.compile(r"^(:{3,})\s*+(?:\{([^}]*)\}|([\w-]+))?(.*)$")
_DIV_CLOSE = re.compile(r"^:{3,}\s*$")
_DIV_FENCE = re.compile(r"^\s*:{3,}\s*(?:[{A-Za-z]|$)")
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*+\{?\.?([\w+#-]*+)[^`]*$")
# Pandoc headings may end in an attribute block: `## Title {#anchor .class}`.
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
# Tables Pandoc cannot draw as pipe tables stay raw HTML inside the Markdown.
_HTML_TABLE_OPEN = re.compile(r"<table\b", re.I)
_HTML_TABLE_CLOSE = re.compile(r"</table\s*>", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s+(.*)$")
# `[![alt](src)](href){attrs}` and `![alt](src){attrs}`: pictures, never text.
# As in markdown_frontend: no part crosses a bracket, parenthesis or brace (linear on any line).
_LABEL, _TARGET, _ATTRS = r"[^\[\]\n]*", r"[^()\[\]\n]*", r"(?:\{[^{}\n]*\})?"
_LINKED_IMAGE = re.compile(rf"\[!\[{_LABEL}\]\({_TARGET}\)\]\({_TARGET}\){_ATTRS}")
_IMAGE = re.compile(rf"!\[{_LABEL}\]\({_TARGET}\){_ATTRS}")
_LINK = re.compile(rf"\[({_LABEL})\]\({_TARGET}\){_ATTRS}")
_SPAN = re.compile(rf"\[({_LABEL})\]\{{[^{{}}\n]*\}}")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_ISO_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
_TITLE_ATTR = re.compile(r"""\btitle\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def inline_text(text: str) -> str:
    """Veeam Markdown inline text to plain text: images dropped, links and spans to their label."""
    if "](" in text or "]{" in text:
        text = _LINKED_IMAGE.sub("", text)
        text = _IMAGE.sub("", text)
        text = _LINK.sub(r"\1", text)
        text = _SPAN.sub(r"\1", text)
    if "**" in text or "__" in text:
        text = _EMPHASIS.sub(r"\2", text)
    return " ".join(unescape(text).split())


def veeam_by_front_matter(meta: dict[str, str]) -> bool | None:
    """What front matter keys say: Veeam's Markdown (True), the dump's (False), or nothing."""
    if meta.keys() & DUMP_KEYS:
        return False
    if meta.keys() & VEEAM_KEYS:
        return True
    return None


# A front matter that ends this early lies whole in the 64 KB `looks_like_veeam_markdown` reads.
_FRONT_MATTER_SEEN = 60_000


def is_veeam_markdown(text: str, meta: dict[str, str], body_start: int) -> bool:
    """`looks_like_veeam_markdown(text)`, from its front matter (`read_front_matter(text)`) when
    that is already read and says."""
    if 0 < body_start <= _FRONT_MATTER_SEEN:
        said = veeam_by_front_matter(meta)
        if said is not None:
            return said
    return looks_like_veeam_markdown(text)


def looks_like_veeam_markdown(text: str) -> bool:
    """Veeam's Markdown by its front matter keys (or, without them, its `:::` fences)."""
    meta, _ = read_front_matter(text[:65536])
    said = veeam_by_front_matter(meta)
    if said is not None:
        return said
    _, lines = split_front_matter(text[:65536])
    return any(_DIV_FENCE.match(line) for line in lines[:5000])


@dataclass
class _Div:
    kind: str
    label: str
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)


def _heading_text(text: str) -> str:
    """A Pandoc heading's text without its attribute block and closing hashes:
    `Title ## {#anchor .class}` -> `Title`."""
    text = text.rstrip()
    if text.endswith("}") and "{" in text:
        text = text[: text.rindex("{")].rstrip()
    return text.rstrip("#").rstrip()


def _div_of(line: str) -> _Div:
    match = _DIV_OPEN.match(line)
    attrs, word = (match.group(2) or ""), (match.group(3) or "")
    rest = (match.group(4) or "").strip().rstrip(":").rstrip()
    classes = [part[1:] for part in attrs.split() if part.startswith(".")]
    label = word or (classes[0] if classes else "")
    title_attr = _TITLE_ATTR.search(attrs)
    title = next((g for g in title_attr.groups() if g is not None), None) if title_attr else None
    title = title or (inline_text(rest) if rest and label.lower() in COLLAPSIBLE_DIVS else None)
    return _Div(label.lower(), label, title or None)


def _close(div: _Div) -> list[Block]:
    """A finished div as blocks for its parent: notes fold their text, collapsibles get a Toggle."""
    if note_label(div.kind):
        text = " ".join(filter(None, (_block_text(block) for block in div.blocks)))
        return [Note(div.label.capitalize(), text)] if text else []
    if div.kind not in COLLAPSIBLE_DIVS:
        return div.blocks
    body = list(div.blocks)
    title = div.title
    if title is None:
        first = next((i for i, b in enumerate(body) if isinstance(b, Heading)), None)
        if first is not None:
            title = body.pop(first).text
    body = [Code(b.text, in_toggle=True, language=b.language) if isinstance(b, Code) else b
            for b in body]
    return ([Toggle(title)] if title else []) + body


def _block_text(block: Block) -> str:
    if isinstance(block, ListBlock):
        return " ".join(block.items)
    if isinstance(block, Toggle):
        return block.title
    return getattr(block, "text", "").strip()


class _Reader:
    def __init__(self) -> None:
        self.stack: list[_Div] = [_Div("page", "page")]
        self.paragraph: list[str] = []
        self.items: list[list[str]] = []  # each item's pieces, joined when the list ends
        self.table: list[str] = []
        self.fence: str | None = None
        self.code: list[str] = []
        self.language: str | None = None
        self.html: list[str] = []
        self.html_depth = 0

    @property
    def out(self) -> list[Block]:
        return self.stack[-1].blocks

    def flush(self) -> None:
        if self.paragraph:
            text = inline_text(" ".join(self.paragraph))
            self.paragraph.clear()
            if text:
                self.out.append(footer_from_text(text) or Paragraph(text))
        if self.items:
            self.out.append(ListBlock(tuple(" ".join(pieces) for pieces in self.items)))
            self.items = []
        if self.table:
            self.out.append(table_block(self.table))
            self.table = []

    def raw_html(self, raw: str) -> None:
        """Collect a raw HTML table up to its balanced close, then read it with the HTML front-end."""
        self.html.append(raw)
        self.html_depth += len(_HTML_TABLE_OPEN.findall(raw)) - len(_HTML_TABLE_CLOSE.findall(raw))
        if self.html_depth <= 0:
            self.end_html()

    def end_html(self) -> None:
        from pipeline.parse.html_frontend import parse_html_blocks  # bs4 loads only when needed

        self.out.extend(parse_html_blocks("\n".join(self.html)).blocks)
        self.html, self.html_depth = [], 0

    def line(self, raw: str) -> None:
        if self.html:
            self.raw_html(raw)
            return
        if self.fence is not None:
            if raw.strip().startswith(self.fence) and not raw.strip().strip(self.fence[0]):
                self.out.append(Code("\n".join(self.code).strip(), language=self.language))
                self.fence, self.code = None, []
            else:
                self.code.append(raw)
            return
        stripped = raw.strip()
        if stripped.startswith("|"):
            if not self.table:
                self.flush()
            self.table.append(stripped)
            return
        if self.table or not stripped:
            self.flush()
            if not stripped:
                return
        self.structure(raw, stripped)

    def structure(self, raw: str, stripped: str) -> None:
        if fence := _FENCE.match(stripped):
            self.flush()
            self.fence, self.language = fence.group(1), fence.group(2) or None
        elif _DIV_CLOSE.match(stripped):
            self.flush()
            if len(self.stack) > 1:  # a stray closing fence at the top closes nothing
                div = self.stack.pop()
                self.out.extend(_close(div))
        elif stripped.startswith(":::") and _DIV_OPEN.match(stripped):
            self.flush()
            if len(self.stack) > MAX_DIV_DEPTH:
                raise LimitExceeded(f"fenced divs nested over {MAX_DIV_DEPTH} deep")
            self.stack.append(_div_of(stripped))
        elif _HTML_TABLE_OPEN.match(stripped):
            self.flush()
            self.raw_html(raw)
        elif heading := _HEADING.match(stripped):
            self.flush()
            text = inline_text(_heading_text(heading.group(2)))
            if text:
                self.out.append(Heading(text, len(heading.group(1))))
        elif item := _LIST_ITEM.match(raw):
            if self.paragraph:
                self.flush()
            self.items.append([inline_text(item.group(1))])
        elif self.items:
            self.items[-1].append(inline_text(stripped))
        else:
            self.paragraph.append(stripped)

    def finish(self) -> list[Block]:
        if self.html:  # an unclosed raw table ends with the page
            self.end_html()
        if self.fence is not None:  # an unterminated fence holds the rest of the page
            self.out.append(Code("\n".join(self.code).strip(), language=self.language))
        self.flush()
        while len(self.stack) > 1:  # unterminated divs close at the end of the page
            div = self.stack.pop()
            self.out.extend(_close(div))
        return self.stack[0].blocks


def section_context(breadcrumb: str | None, title: str | None) -> str | None:
    """The nearest breadcrumb entry above the page ("A > B > Page" -> "B")."""
    crumbs = [crumb.strip() for crumb in (breadcrumb or "").split(">") if crumb.strip()]
    if crumbs and title and crumbs[-1] == title:
        crumbs.pop()
    return crumbs[-1] if crumbs else None


def _meta(front: dict[str, str]) -> dict[str, str]:
    meta = {key: value for key, value in front.items() if key in ("title", "description")}
    if front.get("canonical"):
        meta["source_url"] = front["canonical"]
    if front.get("dateModified"):
        day = _ISO_DAY.match(front["dateModified"].strip())
        meta["last_updated"] = day.group(1) if day else front["dateModified"]
    if front.get("breadcrumb"):
        meta["breadcrumb"] = front["breadcrumb"]
    return meta


def parse_veeam_markdown_blocks(text: str) -> Document:
    """Split a Veeam Markdown page into metadata and a block stream.

    The breadcrumb's entry above the page opens the stream as a section heading, so an
    operation before the page's first heading still has a section.
    """
    front, lines = split_front_matter(text)
    meta = _meta(front)
    reader = _Reader()
    for raw in lines:
        reader.line(raw.rstrip())
    blocks = reader.finish()
    section = section_context(meta.get("breadcrumb"), meta.get("title"))
    if section:
        blocks.insert(0, Heading(section, 2))
    return Document(meta=meta, blocks=blocks)
