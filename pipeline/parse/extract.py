"""Turn a block stream into operations, prose mentions and warnings.

Written once for both front-ends. The walk keeps a little state: the section
heading in force, the identity the last sentences spoke of, the pending
collapsible title and the sentence that introduced the next block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.model import Mention, Operation, ParseWarning
from catalog.names import PROSE_AWS, PROSE_AZURE, normalize
from pipeline.parse import m365
from pipeline.parse.blocks import Block, Code, Heading, ListBlock, Note, Paragraph, Table, Toggle
from pipeline.parse.codeformats import CodeReading, looks_like_permissions, read_code
from pipeline.parse.limits import MAX_BLOCKS, LimitExceeded

_IDENTITIES = (
    (re.compile(r"\bIAM roles?\b"), "IAM role"),
    (re.compile(r"\bIAM users?\b"), "IAM user"),
    (re.compile(r"\bservice accounts?\b", re.I), "service account"),
    (re.compile(r"\b(?:Entra|Azure AD|Azure Active Directory) (?:ID )?applications?\b"),
     "Entra application"),
)
_OPTIONAL_NOTE = re.compile(
    r"\b(only required|not required|required only|optional|only needed|not needed)\b", re.I
)
_INTRODUCES_PERMISSIONS = re.compile(r"\bfollowing (?:set of )?(?:permissions|actions|dataActions)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_NOT_HEADING_END = (".", ":", ";", ",", "?", "!")


def is_heading_like(text: str) -> bool:
    """Section headings in the dumps are often plain paragraphs: short, unpunctuated, capitalised."""
    return (
        0 < len(text) <= 100
        and not text.endswith(_NOT_HEADING_END)
        and text[0].isupper()
        and len(text.split()) <= 14
    )


def identity_of(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for pattern, identity in _IDENTITIES:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), identity)
    return best[1] if best else None


def _last_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.rstrip(":").strip())[-1].strip()


@dataclass
class Extraction:
    operations: list[Operation] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    collapsible: set[int] = field(default_factory=set)
    """Positions (in `operations`) of operations that came from collapsible blocks."""


@dataclass
class _State:
    page_title: str | None
    section: str | None = None
    section_start: int = 0
    identity: str | None = None
    toggle: str | None = None
    lead: str | None = None
    m365_type: str | None = None


def _mentions_in(text: str) -> list[Mention]:
    """Permission names in sentences that speak of permissions ("edition:Microsoft" is not one)."""
    found = []
    for sentence in _SENTENCE_END.split(text):
        if "permission" not in sentence.lower():
            continue
        for pattern, provider in ((PROSE_AWS, "aws"), (PROSE_AZURE, "azure")):
            for name in pattern.findall(sentence):
                found.append(Mention(provider=provider, name=name,
                                     normalized=normalize(provider, name), sentence=sentence))
    return found


def _mark_optional(note: str, state: _State, out: Extraction) -> None:
    if not _OPTIONAL_NOTE.search(note):
        return
    named = {mention.normalized for mention in _mentions_in(note)}
    for operation in out.operations[state.section_start:]:
        for permission in operation.permissions:
            if permission.normalized in named:
                permission.optional = True


def _add_operation(
    reading: CodeReading, title: str, index: int, state: _State, out: Extraction, collapsible: bool
) -> None:
    for extra in [reading, reading.trust] if reading.trust else [reading]:
        suffix = " (trust policy)" if extra is reading.trust else ""
        if collapsible:
            out.collapsible.add(len(out.operations))
        out.operations.append(Operation(
            title=title + suffix, section=state.section, identity=state.identity,
            kind=extra.kind, permissions=extra.permissions, principals=extra.principals,
            block=index,
        ))
    label = f"block {index} '{title}'"
    if reading.problem:
        out.warnings.append(ParseWarning(block=label, message=reading.problem))
    for note in reading.notes:
        out.warnings.append(ParseWarning(block=label, message=f"read with a repair: {note}"))


def _on_text(text: str, state: _State, out: Extraction) -> None:
    state.identity = identity_of(text) or state.identity
    state.m365_type = m365.type_hint(text) or state.m365_type
    # The sentence right before a code block names it when it ends in a colon or speaks of
    # permissions ("You must grant this permission to the IAM user.").
    state.lead = text if text.endswith(":") or "permission" in text.lower() else None
    out.mentions.extend(_mentions_in(text))


def _set_section(text: str, state: _State, out: Extraction) -> None:
    state.section, state.section_start = text, len(out.operations)
    state.identity = identity_of(text)
    state.toggle = state.lead = None


def _title_for(state: _State, index: int) -> str:
    if state.toggle:
        return state.toggle
    if state.lead:
        return _last_sentence(state.lead)
    return state.section or state.page_title or f"Block {index}"


def _on_code(block: Code, index: int, state: _State, out: Extraction) -> None:
    title = _title_for(state, index)
    collapsible = state.toggle is not None
    reading = read_code(block.text)
    if reading is None:
        if state.lead and _INTRODUCES_PERMISSIONS.search(state.lead):
            out.warnings.append(ParseWarning(
                block=f"block {index} '{title}'",
                message="introduced as a list of permissions, but no permission names were found"))
        return
    if not reading.permissions:
        if looks_like_permissions(block.text):
            out.warnings.append(ParseWarning(
                block=f"block {index} '{title}'", message=reading.problem or "no permission names found in the block"))
        return
    _add_operation(reading, title, index, state, out, collapsible)


def _on_table(block: Table, index: int, state: _State, out: Extraction) -> None:
    if not m365.is_m365_table(block.rows):
        return
    title = _title_for(state, index)
    permissions, unreadable = m365.read_m365_table(block.rows, state.m365_type)
    reading = CodeReading("m365-table", permissions)
    if unreadable:
        reading.problem = "rows without a readable permission name: " + "; ".join(unreadable)
    if permissions or unreadable:
        _add_operation(reading, title, index, state, out, collapsible=state.toggle is not None)


def extract(blocks: list[Block], page_title: str | None = None) -> Extraction:
    if len(blocks) > MAX_BLOCKS:
        raise LimitExceeded(f"{len(blocks):,} blocks is over the {MAX_BLOCKS:,} a page may have")
    state, out = _State(page_title), Extraction()
    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            _set_section(block.text, state, out)
        elif isinstance(block, Paragraph):
            if is_heading_like(block.text):
                _set_section(block.text, state, out)
            else:
                _on_text(block.text, state, out)
        elif isinstance(block, ListBlock):
            for item in block.items:
                _on_text(item, state, out)
        elif isinstance(block, Toggle):
            state.toggle, state.lead = block.title, None
        elif isinstance(block, Code):
            _on_code(block, index, state, out)
            state.toggle = state.lead = None
        elif isinstance(block, Table):
            _on_table(block, index, state, out)
            state.toggle = state.lead = None
        elif isinstance(block, Note):
            out.mentions.extend(_mentions_in(block.text))
            _mark_optional(block.text, state, out)
    return out
