"""Whether a page's block stream can yield anything at all, decided once per page.

Most pages never name a permission, and many that say "permission" name none; deciding that once
per page costs a fraction of the extractor's walk, which runs a dozen patterns over every text of
the page. Each test is a necessary condition of some rule of the walk, so the answer is exact.
"""

from __future__ import annotations

from pipeline.parse import m365
from pipeline.parse.blocks import Block, Code, Heading, ListBlock, Note, Paragraph, Table, Toggle
from pipeline.parse.codeformats import looks_like_permissions, lost_content, read_code
from pipeline.parse.cues import (
    INTRODUCES_PERMISSIONS,
    NAMES_PERMISSIONS,
    PERMISSION_WORD,
    PROSE,
    REQUIREMENT_PHRASE,
    REQUIREMENT_WORD,
)
from pipeline.parse.limits import LimitExceeded


def may_yield(blocks: list[Block]) -> bool:
    """False only when the walk would find nothing: no operation, mention or warning.

    The tests: a code block `read_code` takes, or one that lost content and looks like a policy,
    is tiny, or sits under a toggle that names permissions or a lead that introduces them; an M365
    table; a requirement phrase (inline list); a lead introducing a list; a prose name in a page
    that says "permission". The prose patterns run once over the page's texts, joined by line
    breaks, which no pattern crosses and every pattern reads as a text's end.
    """
    texts: list[str] = []
    lost_code = has_code = has_list = named_toggle = False
    for block in blocks:
        if isinstance(block, Code):
            has_code = True
            try:
                reading = read_code(block.text)
            except LimitExceeded:
                return True  # the walk raises it, in its own order
            # A reading without names tells the walk something only for a block that looks like
            # a policy (or lost content, or was introduced or named: below).
            if reading is not None and (reading.permissions or looks_like_permissions(block.text)):
                return True
            if lost_content(block.text):
                text = block.text.strip()
                if looks_like_permissions(block.text) or len(text) <= 2:
                    return True
                lost_code = True
        elif isinstance(block, Table):
            if m365.is_m365_table(block.rows):
                return True
        elif isinstance(block, ListBlock):
            has_list = True
            texts.extend(block.items)
        elif isinstance(block, Toggle):
            texts.append(block.title)
            named_toggle = named_toggle or PERMISSION_WORD in block.title.lower() and \
                bool(NAMES_PERMISSIONS.search(block.title))
        elif isinstance(block, (Paragraph, Heading, Note)):
            texts.append(block.text)
    if lost_code and named_toggle:
        return True
    joined = "\n".join(texts)
    lowered = joined.lower()  # the words each pattern needs, looked for before the pattern runs
    if REQUIREMENT_WORD in lowered:
        if _near_word(joined, lowered, REQUIREMENT_WORD, [REQUIREMENT_PHRASE]):
            return True
        if (has_code or has_list) and _near_word(joined, lowered, REQUIREMENT_WORD, [INTRODUCES_PERMISSIONS]):
            return True
    return PERMISSION_WORD in lowered and _near_word(joined, lowered, PERMISSION_WORD,
                                                     [pattern for pattern, _ in PROSE])


def _near_word(joined: str, lowered: str, word: str, patterns) -> bool:
    """Whether a pattern matches within a text of `joined` that says `word`: the rules read one
    text at a time (a mention, one sentence of it), and a text is a line of `joined`."""
    if len(lowered) != len(joined):  # lower() changed a length: positions would not line up
        return any(pattern.search(joined) for pattern in patterns)
    at = lowered.find(word)
    while at >= 0:
        start = joined.rfind("\n", 0, at) + 1
        end = joined.find("\n", at)
        end = len(joined) if end < 0 else end
        if any(pattern.search(joined, start, end) for pattern in patterns):
            return True
        at = lowered.find(word, end)
    return False
