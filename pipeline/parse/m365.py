"""Microsoft 365 permission tables: API x permission name x type.

The helpcenter merges the API cell over the rows below it, so those rows arrive
one cell short; footnote digits stick to API names ("Office 365 Exchange Online1")
and notes stick to permission names ("User.Read.All  Note: Grant this ...").
"""

from __future__ import annotations

import re

from catalog.model import Permission

_TYPE_SENTENCE = re.compile(r"\bof the (Application|Delegated) type\b", re.I)
_FOOTNOTE = re.compile(r"(?<=[A-Za-z])\d$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]$")


def type_hint(sentence: str) -> str | None:
    """"All listed permissions are of the Delegated type" -> "Delegated"."""
    if " type" not in sentence.lower():
        return None
    match = _TYPE_SENTENCE.search(sentence)
    return match.group(1).capitalize() if match else None


def _column(header: tuple[str, ...], *words: str) -> int | None:
    for index, cell in enumerate(header):
        lowered = cell.lower()
        if any(lowered == word or lowered.startswith(word) for word in words):
            return index
    return None


def is_m365_table(rows: tuple[tuple[str, ...], ...]) -> bool:
    return bool(rows) and _column(rows[0], "api") is not None and \
        _column(rows[0], "permission") is not None


def _cell(row: tuple[str, ...], index: int | None, shift: int, api_at: int) -> str | None:
    """The cell under header column `index` in a row that may lack the merged API cell."""
    if index is None:
        return None
    index -= shift if index > api_at else 0
    return row[index] if 0 <= index < len(row) else None


def read_m365_table(
    rows: tuple[tuple[str, ...], ...], default_type: str | None
) -> tuple[list[Permission], list[str]]:
    """Permissions of one table and the cells that could not be read as a permission name."""
    header = rows[0]
    api_at, name_at = _column(header, "api"), _column(header, "permission")
    type_at = _column(header, "type")
    found: list[Permission] = []
    unreadable: list[str] = []
    api: str | None = None
    for row in rows[1:]:
        shift = len(header) - len(row)
        if shift == 0:
            api = _FOOTNOTE.sub("", row[api_at]).strip() or api
        elif shift != 1 or api_at > name_at:
            unreadable.append(" | ".join(row))
            continue

        raw_name = (_cell(row, name_at, shift, api_at) or "").strip()
        name = _FOOTNOTE.sub("", raw_name.split()[0]) if raw_name else ""
        if not _NAME.match(name):
            if raw_name:
                unreadable.append(raw_name)
            continue
        kind = (_cell(row, type_at, shift, api_at) or "").strip() or default_type
        found.append(Permission(
            provider="m365", name=name, normalized=name, m365_api=api, m365_type=kind or None,
        ))
    return found, unreadable
