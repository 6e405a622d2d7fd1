"""Is a 200 response really the page, or a bot check, an error shell or an empty body?

Such responses must count as failed fetches: recording them as the page would tell
the catalog that every permission was removed. Documentation text may itself say
"access denied", so weak phrases count only in the title or on a near-empty page.
Plain substring tests on the lower-cased bytes: this runs on every fetched page.
"""

from __future__ import annotations

import re

MIN_TEXT_CHARS = 200
SHORT_PAGE_CHARS = 1500
_STRONG = (b"cf-chl-", b"challenge-platform", b"_incapsula_")
_CAPTCHA = (b"g-recaptcha", b"h-captcha", b"hcaptcha.com")  # strong too; one scan for "captcha" first
_WEAK = (b"just a moment", b"attention required", b"access denied", b"are you a robot", b"captcha",
         b"checking your browser", b"enable javascript and cookies")


_TAG = re.compile(rb"<(script|style)\b[^<>]*>?|<[^<>]*>")


def _title(lowered: bytes) -> bytes:
    start = lowered.find(b"<title")
    end = lowered.find(b"</title>", start)
    return lowered[start:end] if start >= 0 and end > start else b""


def _text_chars(lowered: bytes, enough: int) -> int:
    """Characters of text outside tags (script and style bodies are not text), counted only up to
    `enough` (all the checks need). A tag never spans a `<`, and a script's end is found by a
    forward search: a pattern that could rescan the rest of the body from every unclosed `<` took
    seconds on a body of them."""
    count, position, unclosed = 0, 0, set()
    while count < enough:
        tag = _TAG.search(lowered, position)
        count += len(b"".join(lowered[position:tag.start() if tag else len(lowered)].split()))
        if tag is None:
            break
        position, name = tag.end(), tag.group(1)
        if name and name not in unclosed:  # <script or <style: skip to the end of its element
            closing = lowered.find(b"</" + name, position)
            if closing < 0:
                unclosed.add(name)  # and no later one of that name closes either
            else:
                position = closing + 2 + len(name)
    return count


def blocked_reason(body: bytes, content_type: str = "") -> str | None:
    """A reason when the body is not a documentation page; None when it looks like one."""
    if not body.strip():
        return "empty body"
    kind = content_type.lower()
    if kind and "html" not in kind and "text" not in kind:
        return f"not an HTML page (content type {content_type})"
    lowered = body[:262144].lower()
    if any(marker in lowered for marker in _STRONG) or (
            b"captcha" in lowered and any(marker in lowered for marker in _CAPTCHA)):
        return "bot-check page instead of content"
    title = _title(lowered)
    text_chars = _text_chars(lowered, SHORT_PAGE_CHARS)
    if any(phrase in title for phrase in _WEAK) or (
            text_chars < SHORT_PAGE_CHARS and any(phrase in lowered for phrase in _WEAK)):
        return "bot-check page instead of content"
    if text_chars < MIN_TEXT_CHARS:
        return "page has almost no text (a shell or an error page)"
    return None
