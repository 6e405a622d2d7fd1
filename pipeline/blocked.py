"""Is a 200 response really the page, or a bot check, an error shell or an empty body?

Such responses must count as failed fetches: recording them as the page would tell
the catalog that every permission was removed. Documentation text may itself say
"access denied", so weak phrases count only in the title or on a near-empty page.
"""

from __future__ import annotations

import re

MIN_TEXT_CHARS = 200
SHORT_PAGE_CHARS = 1500
_STRONG = re.compile(rb"cf-chl-|challenge-platform|_incapsula_|g-recaptcha|h-captcha|hcaptcha\.com",
                     re.I)
_WEAK = re.compile(rb"just a moment|attention required|access denied|are you a robot|captcha|"
                   rb"checking your browser|enable javascript and cookies", re.I)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.S | re.I)
_TAGS = re.compile(rb"<script.*?</script>|<style.*?</style>|<[^>]+>", re.S | re.I)


def blocked_reason(body: bytes, content_type: str = "") -> str | None:
    """A reason when the body is not a documentation page; None when it looks like one."""
    if not body.strip():
        return "empty body"
    kind = content_type.lower()
    if kind and "html" not in kind and "text" not in kind:
        return f"not an HTML page (content type {content_type})"
    head = body[:262144]
    title = _TITLE.search(head)
    text_chars = len(b"".join(_TAGS.sub(b" ", head).split()))
    if _STRONG.search(head) or (title and _WEAK.search(title.group(1))) or (
            text_chars < SHORT_PAGE_CHARS and _WEAK.search(head)):
        return "bot-check page instead of content"
    if text_chars < MIN_TEXT_CHARS:
        return "page has almost no text (a shell or an error page)"
    return None
