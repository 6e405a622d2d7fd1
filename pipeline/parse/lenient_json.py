"""Recover JSON from the almost-JSON the helpcenter prints in code blocks.

Each repair is tried only when the stricter reading failed, and every repair
that was needed is reported back, so a caller can say what it had to assume.
"""

from __future__ import annotations

import json
import re

_TYPOGRAPHY = str.maketrans({
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'",
})
_MARKDOWN_ESCAPE = re.compile(r"\\([*_\[\]()#!|<>~`])")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MISSING_COMMA = re.compile(r'("|\]|\}|\btrue|\bfalse|\bnull|\d)(\s+)(?=["\[{])')
_TRAILING_COMMA = re.compile(r",(\s*[\]}])")
# `"ec2:DescribeVpcs,  "ec2:X"` and `[ ec2:DescribeVpcs", ...`: one quote of a name is missing.
_UNCLOSED_NAME = re.compile(r'"([A-Za-z0-9.:/*_-]+),(\s+")')
_UNOPENED_NAME = re.compile(r'([\[,]\s*)([A-Za-z0-9.:/*_-]+)"')
MAX_DEPTH = 64


class RecoveryError(ValueError):
    """The text could not be read as JSON even with repairs."""


def clean_text(text: str) -> str:
    """Typographic and escaping noise removed; the only change ever made without notice."""
    return _MARKDOWN_ESCAPE.sub(r"\1", text.translate(_TYPOGRAPHY)).strip()


def _outside_strings(text: str) -> str:
    return _STRING.sub('""', text)


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    for char in _outside_strings(text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _is_string_list(text: str) -> bool:
    """True for `{ "a", "b" }`, `"a", "b"` and `[ "a" "b" ]`: quoted strings and nothing else."""
    skeleton = _outside_strings(text)
    return '""' in skeleton and not skeleton.replace('""', "").strip(" \t\r\n,{}[]")


def _attempts(text: str):
    yield "", text
    repaired = _UNOPENED_NAME.sub(r'\1"\2"', _UNCLOSED_NAME.sub(r'"\1",\2', text))
    repaired = _TRAILING_COMMA.sub(r"\1", _MISSING_COMMA.sub(r"\1,\2", repaired))
    if repaired != text:
        yield "inserted missing commas or quotes", repaired
    if _is_string_list(text):
        yield "read a quoted list that is not JSON", "[" + ",".join(_STRING.findall(text)) + "]"
    stripped = repaired.strip().rstrip(",")
    if stripped.startswith('"') and not stripped.startswith("{"):
        yield "wrapped a fragment without outer braces", "{" + stripped + "}"


def loads_lenient(text: str) -> tuple[object, list[str]]:
    """Parse `text`, repairing the usual defects; return the value and the repairs made."""
    text = clean_text(text)
    if not text:
        raise RecoveryError("the block is empty")
    if _nesting_depth(text) > MAX_DEPTH:
        raise RecoveryError(f"nesting deeper than {MAX_DEPTH} levels")
    first_error: json.JSONDecodeError | None = None
    for repair, candidate in _attempts(text):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as error:
            first_error = first_error or error
            continue
        except RecursionError as error:
            raise RecoveryError("nesting too deep to read") from error
        return value, [repair] if repair else []
    assert first_error is not None
    raise RecoveryError(
        f"not JSON even after repairs: {first_error.msg} at character {first_error.pos}"
    )
