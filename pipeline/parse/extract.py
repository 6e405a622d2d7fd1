"""Turn a block stream into operations, prose mentions and warnings.

Written once for both front-ends. The walk keeps a little state: the path of headings in
force, the identity the last sentences spoke of, the pending collapsible title or list-item
label, and the sentence that introduced the next block. Every name passes through one gate
(`_admit`): trimmed of punctuation, checked against its provider's grammar, or reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.model import CONTENT_LOST, SECTION_SEPARATOR, Mention, Operation, ParseWarning, Permission
from catalog.names import is_valid_name, normalize, trim_name
from pipeline.parse import m365
from pipeline.parse.blocks import Block, Code, Heading, ListBlock, Note, Paragraph, Table, Toggle
from pipeline.parse.codeformats import CodeReading, looks_like_permissions, lost_content, read_code
from pipeline.parse.cues import INTRODUCES_PERMISSIONS, NAMES_PERMISSIONS, PROSE
from pipeline.parse.gate import may_yield
from pipeline.parse.inline import M365_CONTEXT, InlineList, find_inline_lists, read_name
from pipeline.parse.limits import MAX_BLOCKS, MAX_OPERATIONS, LimitExceeded
from pipeline.parse.naming import SENTENCE_END, block_name, is_heading_like, is_label, last_sentence

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


# The identities as one alternation: the leftmost match wins, the earlier pattern at a tie.
_IDENTITY = re.compile("|".join(f"(?P<i{number}>{pattern.pattern})" if not pattern.flags & re.I
                                else f"(?P<i{number}>(?i:{pattern.pattern}))"
                                for number, (pattern, _) in enumerate(_IDENTITIES)))


def identity_of(text: str) -> str | None:
    # Each pattern needs one of these words: most texts have none and skip the search.
    if "IAM " not in text and "application" not in text and "service account" not in text.lower():
        return None
    match = _IDENTITY.search(text)
    return _IDENTITIES[int(match.lastgroup[1:])][1] if match else None


@dataclass
class Extraction:
    operations: list[Operation] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


@dataclass
class _State:
    page_title: str | None
    headings: list[tuple[int, str]] = field(default_factory=list)
    section_start: int = 0
    identity: str | None = None
    toggle: str | None = None
    label: str | None = None
    lead: str | None = None
    m365_type: str | None = None
    m365_context: bool = False
    """The page has spoken of Microsoft's APIs: Graph-shaped names are Microsoft 365 permissions."""

    @property
    def section(self) -> str | None:
        return SECTION_SEPARATOR.join(text for _, text in self.headings) or None

    @property
    def heading(self) -> str | None:
        return self.headings[-1][1] if self.headings else None

    def name(self, index: int, lead: str | None, suffix: str = "") -> tuple[str, str | None]:
        return block_name(self.toggle or self.label, self.heading, lead, self.page_title, index, suffix)

    def clear_block(self) -> None:
        self.toggle = self.label = self.lead = None


def _admit(permissions: list[Permission], label: str, out: Extraction) -> list[Permission]:
    """Names as stored: trimmed of wrapping punctuation, and only those that follow their grammar."""
    kept = []
    for permission in permissions:
        name = trim_name(permission.name)
        if not is_valid_name(permission.provider, name):
            out.warnings.append(ParseWarning(block=label, message=(
                f"{permission.name!r} is not a valid {permission.provider} permission name; not stored")))
            continue
        if name != permission.name:
            permission.name, permission.normalized = name, normalize(permission.provider, name)
        kept.append(permission)
    return kept


def _mentions_in(text: str, out: Extraction | None = None, m365_context: bool = False) -> list[Mention]:
    """Permission names in sentences that speak of permissions ("edition:Microsoft" is not one)."""
    found = []
    if "permission" not in text.lower():
        return found  # every mention stands in a sentence that speaks of permissions
    m365_context = m365_context or bool(M365_CONTEXT.search(text))
    for sentence in SENTENCE_END.split(text):
        if "permission" not in sentence.lower():
            continue
        for pattern, provider in PROSE:
            if provider == "m365" and not m365_context:
                continue
            for raw in pattern.findall(sentence):
                name = trim_name(raw)
                if is_valid_name(provider, name):
                    found.append(Mention(provider=provider, name=name,
                                         normalized=normalize(provider, name), sentence=sentence))
                elif out is not None:
                    out.warnings.append(ParseWarning(block="prose", message=(
                        f"{raw!r} is not a valid {provider} permission name; not stored as a mention")))
    return found


def _mark_optional(note: str, state: _State, out: Extraction) -> None:
    if not _OPTIONAL_NOTE.search(note):
        return
    named = {mention.normalized for mention in _mentions_in(note)}
    for operation in out.operations[state.section_start:]:
        for permission in operation.permissions:
            if permission.normalized in named:
                permission.optional = True


def _add_operation(reading: CodeReading, index: int, state: _State, out: Extraction,
                   lead: str | None) -> None:
    for extra in [reading, reading.trust] if reading.trust else [reading]:
        suffix = " (trust policy)" if extra is reading.trust else ""
        title, description = state.name(index, lead, suffix)
        permissions = _admit(extra.permissions, f"block {index} '{title}'", out)
        if not permissions:
            continue
        if len(out.operations) >= MAX_OPERATIONS:
            raise LimitExceeded(f"over {MAX_OPERATIONS:,} operations is more than a page may have")
        out.operations.append(Operation(
            title=title, section=state.section, description=description, identity=state.identity,
            kind=extra.kind, permissions=permissions, principals=extra.principals, block=index,
        ))
    label = f"block {index} '{state.name(index, lead)[0]}'"
    if reading.problem:
        out.warnings.append(ParseWarning(block=label, message=reading.problem))
    for note in reading.notes:
        out.warnings.append(ParseWarning(block=label, message=f"read with a repair: {note}"))


def _add_inline(found: InlineList, index: int, state: _State, out: Extraction) -> None:
    label = f"block {index} '{state.name(index, found.sentence)[0]}'"
    for rejected in found.rejected:
        out.warnings.append(ParseWarning(block=label, message=(
            f"{rejected!r} follows no provider's permission grammar; not stored")))
    if found.permissions:
        if _OPTIONAL_NOTE.search(found.sentence):  # "... the following permissions (optional):"
            for permission in found.permissions:
                permission.optional = True
        _add_operation(CodeReading("inline-list", found.permissions), index, state, out, found.sentence)


def _on_text(text: str, index: int, state: _State, out: Extraction) -> None:
    state.identity = identity_of(text) or state.identity
    state.m365_type = m365.type_hint(text) or state.m365_type
    state.m365_context = state.m365_context or bool(M365_CONTEXT.search(text))
    inline = find_inline_lists(text, state.m365_context)
    for found in inline:
        _add_inline(found, index, state, out)
    prose = text
    for found in reversed(inline):  # names of a requirement list are grants, not mentions
        prose = prose[:found.span[0]] + " " + prose[found.span[1]:]
    out.mentions.extend(_mentions_in(prose, out, state.m365_context))
    # The sentence right before a code block names it when it ends in a colon or speaks of
    # permissions ("You must grant this permission to the IAM user.").
    introduces = text.endswith(":") or "permission" in text.lower()
    state.lead = text if introduces and not inline else None
    state.label = None


def _on_list(block: ListBlock, index: int, state: _State, out: Extraction) -> None:
    if state.lead and INTRODUCES_PERMISSIONS.search(state.lead) and _is_name_list(block.items):
        found = InlineList(sentence=last_sentence(state.lead), m365=state.m365_context)
        for item in block.items:
            read_name(item, found)
        _add_inline(found, index, state, out)
        state.clear_block()
        return
    for item in block.items:
        _on_text(item, index, state, out)
    last = block.items[-1] if block.items else ""
    state.label = last if len(block.items) == 1 and is_label(last) else None


def _is_name_list(items: tuple[str, ...]) -> bool:
    """A bulleted list whose items are single name-like tokens (a list of permissions)."""
    return bool(items) and all(len(item.split()) == 1 and any(c in item for c in ":/.") for item in items)


def _set_section(text: str, level: int, state: _State, out: Extraction) -> None:
    if level > 1:  # the page title (level 1) is the page's name, not a section of it
        while state.headings and state.headings[-1][0] >= level:
            state.headings.pop()
        state.headings.append((level, text))
    state.section_start = len(out.operations)
    state.identity = identity_of(text)
    state.clear_block()


def _introduced(state: _State) -> bool:
    return bool(state.lead and INTRODUCES_PERMISSIONS.search(state.lead))


def _on_code(block: Code, index: int, state: _State, out: Extraction) -> None:
    reading = read_code(block.text)
    label = f"block {index} '{state.name(index, state.lead)[0]}'"
    lost = lost_content(block.text)
    if reading is not None and reading.permissions:
        _add_operation(reading, index, state, out, state.lead)
        if lost:  # names were recovered, but the block was cut: more may have been there
            out.warnings.append(ParseWarning(block=label, message=f"{CONTENT_LOST}: {lost}"))
        return
    named = bool(state.toggle and NAMES_PERMISSIONS.search(state.toggle))
    if lost and (_introduced(state) or named or looks_like_permissions(block.text)
                 or len(block.text.strip()) <= 2 and block.text.strip()):
        detail = lost
    elif reading is not None and looks_like_permissions(block.text):
        detail = reading.problem or "no permission names found in the block"
    elif _introduced(state):
        detail = "introduced as a list of permissions, but no permission names were found"
    else:
        return
    out.warnings.append(ParseWarning(block=label, message=f"{CONTENT_LOST}: {detail}"))


def _on_table(block: Table, index: int, state: _State, out: Extraction) -> None:
    if not m365.is_m365_table(block.rows):
        return
    permissions, unreadable = m365.read_m365_table(block.rows, state.m365_type)
    reading = CodeReading("m365-table", permissions)
    if unreadable:
        reading.problem = "rows without a readable permission name: " + "; ".join(unreadable)
    if permissions or unreadable:
        _add_operation(reading, index, state, out, state.lead)


def _walk(block: Block, index: int, state: _State, out: Extraction) -> None:
    if isinstance(block, Heading):
        _set_section(block.text, block.level, state, out)
    elif isinstance(block, Paragraph):
        if is_heading_like(block.text) and not find_inline_lists(block.text):
            # A heading written as a paragraph has lost its level: it takes the place of the
            # deepest heading, as the flattened dumps and the leveled front-ends then agree.
            level = state.headings[-1][0] if state.headings else 2
            _set_section(block.text, level, state, out)
        else:
            _on_text(block.text, index, state, out)
    elif isinstance(block, ListBlock):
        _on_list(block, index, state, out)
    elif isinstance(block, Toggle):
        state.toggle, state.label, state.lead = block.title, None, None
    elif isinstance(block, Code):
        _on_code(block, index, state, out)
        state.clear_block()
    elif isinstance(block, Table):
        _on_table(block, index, state, out)
        state.clear_block()
    elif isinstance(block, Note):
        _on_note(block, index, state, out)


def _on_note(block: Note, index: int, state: _State, out: Extraction) -> None:
    state.m365_context = state.m365_context or bool(M365_CONTEXT.search(block.text))
    inline = find_inline_lists(block.text, state.m365_context)
    for found in inline:
        _add_inline(found, index, state, out)
    if not inline:
        out.mentions.extend(_mentions_in(block.text, out, state.m365_context))
        _mark_optional(block.text, state, out)


def walk(blocks: list[Block], page_title: str | None = None) -> Extraction:
    """Every block through the rules, whether or not the page can yield anything."""
    state, out = _State(page_title), Extraction()
    for index, block in enumerate(blocks):
        _walk(block, index, state, out)
    return out


def extract(blocks: list[Block], page_title: str | None = None) -> Extraction:
    if len(blocks) > MAX_BLOCKS:
        raise LimitExceeded(f"{len(blocks):,} blocks is over the {MAX_BLOCKS:,} a page may have")
    return walk(blocks, page_title) if may_yield(blocks) else Extraction()
