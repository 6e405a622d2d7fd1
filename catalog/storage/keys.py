"""Sortable and matchable keys: builds, operation titles (the title rule lives with the names)."""

from __future__ import annotations

import re

from catalog.names import title_key

__all__ = ["build_sort_key", "title_key"]

_NUMBER = re.compile(r"\d+")


def build_sort_key(build: str | None) -> str | None:
    """`13.0.1.2067` -> `00013.00000.00001.02067`: numeric order under plain text sorting."""
    if not build:
        return None
    numbers = _NUMBER.findall(build)
    return ".".join(f"{int(n):05d}" for n in numbers[:6]) if numbers else None
