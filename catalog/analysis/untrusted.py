"""Page text (third-party, possibly hostile) made safe for the formats it is written into.

Markdown: the changelog becomes a pull request body, the canary and gate reports become issue
bodies. GitHub renders raw HTML there (`<img src=...>` loads a tracker), turns `@team` into a
notification, `owner/repo#1` or an address of a GitHub issue into a cross-reference (an event in
that repository) and `[x](javascript:...)`/`![x](...)` into links and images. Page text is
written as plain text: the characters that start markup backslash-escaped, mentions and
cross-references broken with a zero-width space, line breaks folded into
spaces (a new line could start a heading or an HTML block). Code
spans get a fence longer than any backtick run inside them.

XML: characters XML 1.0 does not allow (most C0 controls, lone surrogates, U+FFFE/U+FFFF) make a
feed malformed; they are removed.
"""

from __future__ import annotations

import re

# What lets text become markup: `<` (HTML), `[`/`]` (links and images), `` ` `` and `*` (code and
# emphasis across the line), `\` (escapes), `&` starting an entity (`&#64;` would be an `@`).
_MARKUP = re.compile(r"([\\`*<\[\]]|&(?=#?\w+;))")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
# GitHub also links `owner/repo#123`, `#123` and `GH-123`, and an address of an issue on GitHub:
# each is a cross-reference (an event in the other repository) and is broken with a zero-width
# space. Other bare addresses (the helpcenter's) stay links.
_REFERENCE = re.compile(r"(?<=[\w/.-])#(?=\d)|(?<![\w&])#(?=\d)|(?<=GH)-(?=\d)", re.I)
_AUTOLINK = re.compile(r"(?<=:)//(?=(?:www\.)?github\.com)|(?<![\w.])(?=www\.github\.com)", re.I)
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f]+")
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BACKTICKS = re.compile(r"`+")
ZERO_WIDTH_SPACE = "\u200b"


def markdown_text(text: object) -> str:
    """Page text as literal Markdown text: no HTML, no links or images, no mentions, one line."""
    text = _LINE_BREAKS.sub(" ", _CONTROLS.sub("", str(text)))
    text = _MARKUP.sub(r"\\\1", text)
    text = _AUTOLINK.sub(lambda match: ZERO_WIDTH_SPACE + match.group(0), text)
    text = _REFERENCE.sub(lambda match: ZERO_WIDTH_SPACE + match.group(0), text)
    return _MENTION.sub("@" + ZERO_WIDTH_SPACE, text)


def markdown_code(text: object) -> str:
    """Page text as one inline code span (literal: no HTML, no mentions), whatever backticks it holds."""
    text = _LINE_BREAKS.sub(" ", _CONTROLS.sub("", str(text)))
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def markdown_url(url: str) -> str:
    """A link destination that cannot end the link early (`)`, `>`, spaces percent-encoded)."""
    return "".join(f"%{ord(char):02X}" if char in "()<> \\" or ord(char) < 0x21 else char for char in url)


def xml_text(text: object) -> str:
    """Text with the characters XML 1.0 forbids removed (a feed with them does not parse)."""
    return _XML_ILLEGAL.sub("", str(text))
