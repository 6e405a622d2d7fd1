"""Bounds that keep a hostile or broken page from costing unbounded time or memory.

Real helpcenter pages are under 1 MB, their code blocks under 50 kB and their longest
permission list a few hundred names; the limits leave two orders of magnitude of room.
"""

MAX_PAGE_BYTES = 20 * 1024 * 1024
MAX_CODE_CHARS = 2_000_000
MAX_NAMES_PER_BLOCK = 20_000
MAX_BLOCKS = 50_000
MAX_OPERATIONS = 5_000
MAX_SENTENCE_CHARS = 2_000
"""How far an inline requirement list may run after its colon, and back to its sentence start."""


class LimitExceeded(ValueError):
    """A page is beyond what any real page looks like; it is reported as failed, not parsed."""
