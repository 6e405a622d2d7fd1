"""Requirement lists written inside a sentence or list item.

"The role must also have the following permissions: A, B and C." names a requirement, not a
passing mention: the names after the colon are permissions of an operation of kind
`inline-list`. Names are split on commas, semicolons, "and"/"or" and line breaks; each piece is
trimmed of sentence punctuation and wrapping quotes, and kept only when it follows its provider's
grammar. A piece that looks like a name but fails every grammar is reported, never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.model import Permission, Provider
from catalog.names import is_valid_name, normalize, trim_name
from pipeline.parse.limits import MAX_OPERATIONS, MAX_SENTENCE_CHARS, LimitExceeded

# The requirement phrase, then "the following ...", then a colon (or "are:"). Bounded gaps keep
# the scan linear on long paragraphs.
REQUIREMENT_PHRASE = re.compile(
    r"\b(?:must(?:\s+(?:also|additionally))?\s+(?:have|be\s+(?:additionally\s+)?(?:granted|assigned))"
    r"|requires?|assign|grant)\b[^:\n]{0,200}?\bthe\s+following\b[^:\n.]{0,120}?"
    r"\b(?:permissions?|actions|dataActions|scopes)\b[^:\n.]{0,60}?:",
    re.I)
# Graph-shaped names (`Task.Create`) are also vSphere privileges: they count as Microsoft 365
# permissions only where the text speaks of Microsoft's APIs.
M365_CONTEXT = re.compile(
    r"\b(?:Graph|Microsoft 365|Office 365|Exchange|SharePoint|Entra|Azure AD|Teams|OneDrive)\b", re.I)
_SPLIT = re.compile(r"[,;\n]|\band\b|\bor\b")
# Where the list ends: a period followed by a space and a capital letter starts the next sentence.
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])|\.\s*$")
_NAME_LIKE = re.compile(r"^[A-Za-z0-9*_.-]+(?:[:/][A-Za-z0-9*_.{}/-]+)+$|^[A-Za-z0-9_]+\.[A-Za-z0-9_.]+$")
_PROVIDERS: tuple[Provider, ...] = ("aws", "azure", "gcp", "m365")
_CLOUD_SHAPED = re.compile(r"[:/]")


@dataclass
class InlineList:
    sentence: str
    """The sentence that states the requirement (up to the colon)."""
    permissions: list[Permission] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Name-like tokens that follow no provider's grammar."""
    m365: bool = True
    """Whether Graph-shaped names are Microsoft 365 permissions here."""
    span: tuple[int, int] = (0, 0)
    """Where the requirement and its names stand in the text."""


def provider_of(name: str, m365: bool = True) -> Provider | None:
    """The provider whose grammar `name` follows; a lone `*` in prose is a bullet, not a name."""
    if name == "*":
        return None
    return next((provider for provider in _PROVIDERS if is_valid_name(provider, name)
                 and (m365 or provider != "m365")), None)


def read_name(token: str, found: InlineList) -> bool | None:
    """Add `token` as a permission when it is one (True); remember it when it only looks like one
    (False); None when it is plain prose."""
    name = trim_name(token)
    provider = provider_of(name, found.m365) if name else None
    if provider is not None:
        found.permissions.append(Permission(provider=provider, name=name,
                                            normalized=normalize(provider, name)))
        return True
    if name and _NAME_LIKE.match(name):
        found.rejected.append(name)
        return False
    return None


def _pieces(tail: str):
    start = 0
    for separator in _SPLIT.finditer(tail):
        yield tail[start:separator.start()]
        start = separator.end()
    yield tail[start:]


def _read_names(tail: str, found: InlineList) -> None:
    # Names separated only by spaces (line breaks flattened) are read while they stay names;
    # "C to the role" yields C. A piece that opens with plain prose ends the list.
    for piece in _pieces(tail):
        words = piece.split()
        if not words:
            continue
        if read_name(words[0], found) is None:
            return
        for word in words[1:]:
            if not read_name(word, found):
                break


def find_inline_lists(text: str, m365_context: bool = False) -> list[InlineList]:
    """Every requirement sentence of `text` whose colon is followed by at least one name.

    `m365_context`: the page has spoken of Microsoft's APIs, so Graph-shaped names count."""
    found = []
    if "following" not in text.lower():
        return found  # every requirement phrase says "the following"
    for trigger in REQUIREMENT_PHRASE.finditer(text):
        rest = text[trigger.end():trigger.end() + MAX_SENTENCE_CHARS]
        end = _SENTENCE_END.search(rest)
        tail = rest[:end.start()] if end else rest
        if not tail.strip():
            continue  # the list follows in a block of its own
        floor = max(0, trigger.start() - MAX_SENTENCE_CHARS)
        start = text.rfind(". ", floor, trigger.start())
        sentence = text[start + 2 if start >= 0 else floor:trigger.end()].strip()
        item = InlineList(sentence=sentence.rstrip(":").strip(),
                          m365=m365_context or bool(M365_CONTEXT.search(sentence)))
        for word in trigger.group(0).split():  # "grant it the Mail.Send permission and the following"
            if provider_of(trim_name(word), item.m365) is not None:
                read_name(word, item)
        _read_names(tail, item)
        if not item.permissions:  # dotted words alone (vSphere privileges) are not our business
            item.rejected = [name for name in item.rejected if _CLOUD_SHAPED.search(name)]
        if item.permissions or item.rejected:
            item.span = (trigger.start(), trigger.end() + len(tail))
            found.append(item)
            if len(found) > MAX_OPERATIONS:
                raise LimitExceeded(f"a text block holds over {MAX_OPERATIONS:,} requirement lists")
    return found
