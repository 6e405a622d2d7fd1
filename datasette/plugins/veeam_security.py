"""What every response of the site carries and what every request may bring, for all pages
(ours and Datasette's own): security headers, a streamed request-body limit, no multipart bodies,
bounded SQL values, and a template filter that links only to https URLs.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from pathlib import Path

import datasette as datasette_package
from catalog.urls import is_https_url
from datasette import hookimpl

MAX_BODY_BYTES = 1_048_576  # a 200,000-character policy, form-encoded, fits with room to spare
# Longest string or blob any public SQL may build: `randomblob(999999999)` fails at once instead
# of allocating a gigabyte. Stored values (snapshots are capped at 5 MB) stay under it.
MAX_SQL_VALUE_BYTES = 8_000_000
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _datasette_script_hashes() -> list[str]:
    """Hashes of Datasette's own fixed inline scripts (menus, SQL editor, facet flag), so its built-in
    pages keep working while no other inline script, injected or not, can run."""
    bodies = ["DATASETTE_ALLOW_FACET = true;", "DATASETTE_ALLOW_FACET = false;"]
    for template in sorted((Path(datasette_package.__file__).parent / "templates").glob("*.html")):
        bodies += [body for body in _INLINE_SCRIPT.findall(template.read_text(encoding="utf-8"))
                   if "{{" not in body and "{%" not in body]
    return sorted({"'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
                   for body in bodies})


CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self' " + " ".join(_datasette_script_hashes()),
    "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'"])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


async def _reject(send, status: int, text: str, extra_headers: tuple = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS, *extra_headers]})
    await send({"type": "http.response.body", "body": text.encode()})


def _declared_length(scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


def _is_form(scope) -> bool:
    return any(key.lower() == b"content-type" and value.lower().startswith(b"application/x-www-form-urlencoded")
               for key, value in scope.get("headers", []))


def _is_multipart(scope) -> bool:
    return any(key.lower() == b"content-type" and value.lower().lstrip().startswith(b"multipart/")
               for key, value in scope.get("headers", []))


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _read_body(receive, limit: int) -> list[dict] | None:
    """The request's body messages, read chunk by chunk; None as soon as it passes `limit`."""
    messages, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return messages + [message]
        size += len(message.get("body", b""))
        if size > limit:
            return None
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def security_middleware(app, limit: int = MAX_BODY_BYTES):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if _is_multipart(scope):
            # No form of the site uploads files. Datasette's CSRF layer (asgi-csrf) parses multipart
            # bodies with python-multipart, whose API it no longer matches: refused here, before it.
            return await _reject(send, 415, "The site takes no multipart form data; send "
                                            "application/x-www-form-urlencoded.\n")
        declared = _declared_length(scope)
        too_large = f"Request body over the {limit:,}-byte limit.\n"
        if declared is not None and (declared < 0 or declared > limit):
            return await _reject(send, 400 if declared < 0 else 413,
                                 "Malformed Content-Length.\n" if declared < 0 else too_large)
        messages = await _read_body(receive, limit)
        if messages is None:
            return await _reject(send, 413, too_large)
        if _is_form(scope) and not _is_utf8(b"".join(m.get("body", b"") for m in messages)):
            return await _reject(send, 400, "Form data that is not UTF-8.\n")

        async def replay():
            return messages.pop(0) if messages else await receive()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(key, value) for key, value in SECURITY_HEADERS if key not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await app(scope, replay, send_with_headers)

    return wrapped


@hookimpl
def asgi_wrapper(datasette):
    return security_middleware


@hookimpl
def prepare_connection(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQL_VALUE_BYTES)


@hookimpl
def prepare_jinja2_environment(env):
    # `href="{{ url|https_only }}"`: a stored URL that is not https (legacy rows, a `javascript:`
    # URL that slipped past ingest) becomes an empty, harmless link target.
    env.filters["https_only"] = lambda url: url if is_https_url(url) else ""
