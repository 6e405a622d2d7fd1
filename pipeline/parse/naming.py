"""What an operation is called: its title and the sentence that describes it.

Title = the collapsible block's own title (or a one-item list label right above the block);
otherwise the nearest heading; a lead-in sentence becomes the description and, only when nothing
else names the block, a title cut at a word boundary. No title is longer than MAX_TITLE_CHARS,
in characters or in UTF-8 bytes (GCP refuses custom role titles over 100 bytes).
"""

from __future__ import annotations

import re

from catalog.model import MAX_TITLE_CHARS

MAX_DESCRIPTION_CHARS = 400
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")  # between two sentences
_NOT_HEADING_END = (".", ":", ";", ",", "?", "!")
_SENTENCE_WORDS = re.compile(r"\b(?:must|should|following|required|requires|need|needs)\b", re.I)
ELLIPSIS = "…"


def is_heading_like(text: str) -> bool:
    """Section headings in the dumps are often plain paragraphs: short, unpunctuated, capitalised."""
    return (
        0 < len(text) <= 100
        and not text.endswith(_NOT_HEADING_END)
        and text[0].isupper()
        and len(text.split()) <= 14
    )


def is_label(text: str) -> bool:
    """A one-item list right above a block that names it ("For a bucket"), not a sentence."""
    return is_heading_like(text) and len(text) <= 80 and not _SENTENCE_WORDS.search(text)


def last_sentence(text: str) -> str:
    return SENTENCE_END.split(text.rstrip(":").strip())[-1].strip().rstrip(":").strip()


def _fits(text: str, limit: int) -> bool:
    # Characters and UTF-8 bytes: GCP counts bytes, and "…" or "—" take three.
    return len(text.encode()) <= limit


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters and bytes, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if _fits(text, limit):
        return text
    room = text.encode()[:max(limit - len(ELLIPSIS.encode()), 1)].decode(errors="ignore")
    at_word_end = text[len(room):len(room) + 1] == " "
    head = room if at_word_end or " " not in room else room.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:-—–") + ELLIPSIS


def block_name(own: str | None, heading: str | None, lead: str | None, page_title: str | None,
               index: int, suffix: str = "") -> tuple[str, str | None]:
    """(title, description) of the block at `index`; `suffix` (" (trust policy)") fits the limit."""
    description = cut(last_sentence(lead), MAX_DESCRIPTION_CHARS) if lead else None
    title = own or heading or description or page_title or f"Block {index}"
    return cut(title, MAX_TITLE_CHARS - len(suffix)) + suffix, description or None
