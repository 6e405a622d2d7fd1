"""One cheap pass over a dump page's bytes: can the page hold a permission at all?

Most page versions of a dump's history never speak of permissions. `may_hold_permissions` answers
False only when the dump front-end (markdown_frontend) and the extractor would find nothing in the
page (no operation, mention or warning), so the page need not be parsed. Each test is a necessary
condition of some rule of `gate.may_yield`, read on the raw bytes:

- Prose rules need the words "permission", or "following" with "actions"/"scopes", in a block's
  text. Block texts are the page's lines, stripped, joined with spaces and cut at "|", with
  Markdown images removed, links replaced by their label and escapes undone. Only the removals
  can join two runs of letters into a word: an image or a link's "[" right after a letter, or a
  ")" closing one right before a letter (an escape keeps its punctuation). A page with no such
  spot holds each word of its block texts in its bytes, so the words are looked for there.
- Code blocks come only from table lines (a cell of a one-cell table, or a collapsible block's
  nested cell). `read_code` reads nothing without a double quote (or typographic one) unless the
  block lists at least two Google Cloud names (`a.b.c`); a block lost to an unbalanced bracket
  is reported only when it looks like a policy (quotes again) or is one or two characters long.
- A Microsoft 365 table needs a "Permission" header cell: the words test covers it.
"""

from __future__ import annotations

import re

from catalog.names import is_gcp_permission
from pipeline.parse.cues import LISTED_WORDS, PERMISSION_WORD, REQUIREMENT_WORD

_LETTERS_AS_A = bytes(ord("a") if (byte < 128 and chr(byte).isalpha()) or byte >= 128 else byte
                      for byte in range(256))
_LETTER = rb"[A-Za-z\x80-\xff]"
# Where a removal joins two runs of letters: a link's "[" between letters, a link's "](...)"
# between the label's last letter and a letter, an image between letters. Labels and targets
# may span lines here: a paragraph's lines are joined before links are read.
# Each starts with its literal (a fast scan); the letter before it is looked at after a match.
_LINK_END_JOIN = re.compile(rb"\]\([^()\[\]]*\)" + _LETTER)
_IMAGE_JOIN = re.compile(rb"!\[[^\[\]]*\]\([^()\[\]]*\)" + _LETTER)
_LETTERS = frozenset(range(ord("A"), ord("Z") + 1)) | frozenset(range(ord("a"), ord("z") + 1)) | \
    frozenset(range(0x80, 0x100))
# What `read_code` needs to read a block, on the code's bytes with every backslash removed and
# typographic quotes made plain (a superset of what clean_text and unescape leave).
_QUOTED_NAME = re.compile(
    rb'"(?:statement"|action|notaction"|dataactions"|microsoft\.|\*/|[a-z0-9][a-z0-9-]*:[a-z*][a-z0-9*?]*")')
_QUOTED_GCP = re.compile(rb'"([a-z][a-z0-9]*(?:\.[a-z0-9]+){2,})"')
_TYPOGRAPHIC_QUOTES = ("\u201c".encode(), "\u201d".encode(), "\u201e".encode())
# Characters `clean_text` deletes inside code (a zero-width space, a byte order mark): around them
# the raw bytes do not show the names the code holds.
_DELETED_IN_CODE = ("\u200b".encode(), "\ufeff".encode())
_TWO_DOTS = re.compile(rb"\.[a-zA-Z0-9]+\\?\.[a-zA-Z0-9]")
_BRACKET = re.compile(rb"[{}\[\]]")
_CELL_END = re.compile(rb"[|\n]")
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.\\")


_PERMISSION, _REQUIREMENT = PERMISSION_WORD.encode(), REQUIREMENT_WORD.encode()
_LISTED = tuple(word.encode() for word in LISTED_WORDS)


def _speaks_of_permissions(lowered: bytes) -> bool:
    return _PERMISSION in lowered or _REQUIREMENT in lowered and any(word in lowered for word in _LISTED)


def _may_join_words(data: bytes) -> bool:
    letters = data.translate(_LETTERS_AS_A)
    if b"a[a" in letters:
        return True
    if b"a](" in letters and b")a" in letters and _after_a_letter(_LINK_END_JOIN, data):
        return True
    return b"a![" in letters and _after_a_letter(_IMAGE_JOIN, data)


def _after_a_letter(pattern: re.Pattern, data: bytes) -> bool:
    """A match of `pattern` right after a letter: a label's last letter before "](", a letter
    before an image's "!"."""
    for match in pattern.finditer(data):
        if match.start() > 0 and data[match.start() - 1] in _LETTERS:
            return True
    return False


def _table_lines(data: bytes) -> bytes:
    """Every line with a "|" (the front-end's table lines start with one, after any whitespace)."""
    lines, at = [], data.find(b"|")
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        lines.append(data[start:end])
        at = data.find(b"|", end)
    return b"\n".join(lines)


def _code_may_be_read(table: bytes) -> bool:
    if any(mark in table for mark in _DELETED_IN_CODE):
        return True
    if b'"' in table or any(quote in table for quote in _TYPOGRAPHIC_QUOTES):
        plain = table.replace(b"\\", b"").lower()
        for quote in _TYPOGRAPHIC_QUOTES:
            plain = plain.replace(quote, b'"')
        if _QUOTED_NAME.search(plain):
            return True
        # A list of quoted strings yields names only when every one is a name: host names
        # ("srv01.tech.local") are not, so two quoted Google Cloud names are needed.
        if _two_gcp_names(match.group(1) for match in _QUOTED_GCP.finditer(plain)):
            return True
    return _two_gcp_names(_dotted_tokens(table))


def _dotted_tokens(table: bytes):
    """Each run of name characters (letters, digits, dots, backslashes) that holds two dots with a
    name part between them, backslashes removed: every Google Cloud name lies in one. The scan
    starts at the dots (a literal: fast), not at every character."""
    taken = 0
    for match in _TWO_DOTS.finditer(table):
        if match.start() < taken:
            continue
        start, end = match.start(), match.end()
        while start > 0 and table[start - 1] in _NAME_BYTES:
            start -= 1
        while end < len(table) and table[end] in _NAME_BYTES:
            end += 1
        taken = end
        yield table[start:end].replace(b"\\", b"")


def _two_gcp_names(candidates) -> bool:
    """At least two of the candidates follow the Google Cloud grammar (host names do not)."""
    found = 0
    for candidate in candidates:
        found += is_gcp_permission(candidate.decode("ascii", "replace"))
        if found >= 2:
            return True
    return False


def _tiny_bracket_cell(table: bytes) -> bool:
    """A cell of at most two characters (escapes aside) holding a bracket: a cut code block. Only
    the cells around a bracket are read, each once: every byte is looked at a bounded number of
    times, so a 20 MB line of brackets costs what reading it costs."""
    done = 0  # every cell that ends before this offset has been read
    while (bracket := _BRACKET.search(table, done)) is not None:
        at = bracket.start()
        start = max(table.rfind(b"|", done, at), table.rfind(b"\n", done, at), done - 1) + 1
        cell_end = _CELL_END.search(table, at)
        end = cell_end.start() if cell_end else len(table)
        text = table[start:end].decode("utf-8", "replace").replace("\\", "").strip()
        if len(text) <= 2:
            return True
        done = end
    return False


def may_hold_permissions(data: bytes) -> bool:
    """False only when the dump front-end and the extractor would find nothing in `data`."""
    if _speaks_of_permissions(data.lower()) or _may_join_words(data):
        return True
    table = _table_lines(data)
    return bool(table) and (_code_may_be_read(table) or _tiny_bracket_cell(table))
