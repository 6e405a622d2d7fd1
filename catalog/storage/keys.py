"""Sortable and matchable keys: builds, operation titles."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+")
_VERSION_IN_TITLE = re.compile(r"\b(?:to |for )?(?:version|v)\s*\d+(?:\.\d+)*[a-z]?\b", re.I)
_PRODUCT_APPLIANCE = re.compile(
    r"\bveeam backup for (?:aws|amazon web services|microsoft azure|azure|google cloud)\b"
    r"(?: appliance)?", re.I)
_NOISE = re.compile(r"\b(?:a|an|the|new|existing|veeam)\b", re.I)
_SPACE = re.compile(r"\s+")


def build_sort_key(build: str | None) -> str | None:
    """`13.0.1.2067` -> `00013.00000.00001.02067`: numeric order under plain text sorting."""
    if not build:
        return None
    numbers = _NUMBER.findall(build)
    return ".".join(f"{int(n):05d}" for n in numbers[:6]) if numbers else None


def title_key(title: str) -> str:
    """Operation titles as matched across versions.

    Case, articles, "Veeam Backup for AWS appliance" vs "backup appliance" and version
    numbers ("upgrade ... to version 8" vs "to version 9") do not make a different operation.
    """
    text = _PRODUCT_APPLIANCE.sub("backup appliance", title.lower())
    text = _VERSION_IN_TITLE.sub(" to version N", text)
    text = _NOISE.sub(" ", text)
    text = re.sub(r"backup appliance(?: appliance)+", "backup appliance", text)
    return _SPACE.sub(" ", re.sub(r"[^\w ]+", " ", text)).strip()
