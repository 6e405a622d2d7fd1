"""The small block vocabulary both front-ends (Markdown dump, helpcenter HTML) emit.

Plain frozen dataclasses rather than pydantic models: a page yields hundreds of
blocks and the extractor only reads them, so validation would cost time for
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class ListBlock:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Toggle:
    """The title of a collapsible block (the helpcenter's arrow image + text)."""

    title: str


@dataclass(frozen=True)
class Code:
    text: str
    in_toggle: bool = False
    language: str | None = None
    """The fence's language where the source names one (Veeam Markdown)."""


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Note:
    label: str
    text: str


@dataclass(frozen=True)
class Footer:
    updated: str | None = None
    build: str | None = None


Block = Heading | Paragraph | ListBlock | Toggle | Code | Table | Note | Footer


@dataclass
class Document:
    """A page as a front-end sees it: metadata it found, then the block stream."""

    meta: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    archived: bool = False


NOTE_LABELS = frozenset({"note", "notes", "important", "tip", "tips", "caution", "warning"})


def note_label(text: str) -> str | None:
    """A note's label in any case or spelling seen ("NOTE", "NoteS", "TiPS", "Tip:"), without its
    colon; None when the text is not one. Every front-end asks this."""
    label = text.strip().rstrip(":").strip()
    return label if label.lower() in NOTE_LABELS else None


FOOTER_UPDATED = "Page updated "
FOOTER_BUILD = "Page content applies to build "


def footer_from_text(text: str) -> Footer | None:
    """Recognise the two footer sentences of the older converter and of the HTML page."""
    if text.startswith(FOOTER_UPDATED):
        return Footer(updated=text[len(FOOTER_UPDATED):].strip())
    if text.startswith(FOOTER_BUILD):
        return Footer(build=text[len(FOOTER_BUILD):].strip())
    return None
