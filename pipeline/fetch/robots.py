"""robots.txt as RFC 9309 reads it: a bounded read, 4xx allows everything, 5xx disallows everything."""

from __future__ import annotations

import urllib.robotparser
from dataclasses import dataclass

# RFC 9309 2.5: a crawler must parse at least 500 KiB; the rest of a larger file is ignored.
MAX_ROBOTS_BYTES = 512 * 1024


@dataclass
class RobotsPolicy:
    """What one origin's robots.txt allows; `refusal` is set when the whole site is off limits."""

    parser: urllib.robotparser.RobotFileParser | None = None
    refusal: str | None = None

    def allows(self, user_agent: str, url: str) -> bool:
        if self.refusal:
            return False
        return self.parser is None or self.parser.can_fetch(user_agent, url)


def allow_all() -> RobotsPolicy:
    return RobotsPolicy()


def disallow_all(why: str) -> RobotsPolicy:
    return RobotsPolicy(refusal=f"robots.txt {why}: RFC 9309 says disallow all")


def policy_for_status(status: int) -> RobotsPolicy | None:
    """The policy a status alone decides (None: a 2xx, read the body)."""
    if 200 <= status < 300:
        return None
    if status == 429 or status >= 500:
        return disallow_all(f"answered HTTP {status}")
    return allow_all()  # 3xx not followed, and 4xx: "unavailable", no rule stated


def policy_from_body(body: bytes, truncated: bool) -> RobotsPolicy:
    text = body.decode("utf-8", "replace")
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]  # the last line was cut in the middle
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(lines)
    return RobotsPolicy(parser=parser)
