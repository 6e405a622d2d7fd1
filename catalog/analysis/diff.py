"""Semantic diffs between page versions, as the analysis layer uses them.

The rule itself (operation pairing across renames, statement-insensitive permission changes) is
defined once in `catalog.storage.changes`, because the catalog writer stores its rows as the
table `requirement_changes` when a page gets a new version: `veeam-perms diff`, the website and
plain SQL therefore read one answer.
"""

from __future__ import annotations

from catalog.storage.changes import (
    RENAME_OVERLAP,
    Change,
    OperationState,
    VersionState,
    diff_versions,
    load_version,
    match_operations,
)

__all__ = ["RENAME_OVERLAP", "Change", "OperationState", "VersionState", "diff_versions", "load_version",
           "match_operations"]
