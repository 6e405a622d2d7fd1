"""The words and patterns that make the extractor look at prose, and the words they all need.

The walk (extract.py), its page gate (gate.py) and the bytes pass over dump pages (inert.py) read
them here, so that a cue added to the walk reaches the passes that skip pages without it.
"""

from __future__ import annotations

import re

from catalog.names import PROSE_AWS, PROSE_AZURE, PROSE_M365
from pipeline.parse.inline import REQUIREMENT_PHRASE

# A lead sentence that introduces the block after it as a list of permissions.
INTRODUCES_PERMISSIONS = re.compile(r"\bfollowing (?:set of )?(?:permissions|actions|dataActions)\b")
# A collapsible block's title that says its code lists permissions.
NAMES_PERMISSIONS = re.compile(r"\bpermissions\b", re.I)
# Names in a sentence that speaks of permissions (a mention).
PROSE = ((PROSE_AWS, "aws"), (PROSE_AZURE, "azure"), (PROSE_M365, "m365"))

# What every prose rule needs in a page's text, in lower case: a mention's sentence and a named
# toggle say "permission"; a requirement phrase and an introducing lead say "following" with
# "permission", "actions" (or "dataActions") or "scopes" (tests/test_parse_gate.py holds the
# patterns to it).
PERMISSION_WORD = "permission"
REQUIREMENT_WORD = "following"
LISTED_WORDS = ("actions", "scopes")

__all__ = ["INTRODUCES_PERMISSIONS", "LISTED_WORDS", "NAMES_PERMISSIONS", "PERMISSION_WORD", "PROSE",
           "REQUIREMENT_PHRASE", "REQUIREMENT_WORD"]
