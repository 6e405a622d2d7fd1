"""The scrape benchmark's server: the sitegen site over real HTTP/1.1, answered from pre-built bytes.

Measurement apparatus, not the thing measured. tests.support.sitegen.SiteServer (a thread per
connection, each answer encoded and hashed again) cost the shared 2 cores about as much CPU per
page as the scraper did, so the benchmark measured its own server. This one answers the same way
(ETag, Last-Modified, 304 on If-None-Match, 404, keep-alive, the injected latency before each
answer) from one asyncio loop, with every response built once at start.
"""

from __future__ import annotations

import asyncio
import hashlib
from email.utils import formatdate

LAST_MODIFIED = formatdate(1767225600, usegmt=True)
MAX_HEAD = 64 * 1024


def _response(status: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items()),
             f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class Answers:
    """For each path: the full 200 response, its ETag, and the full 304 response."""

    def __init__(self, site: dict[str, str]) -> None:
        self._pages: dict[str, tuple[bytes, str, bytes]] = {}
        for path, text in site.items():
            body = text.encode("utf-8")
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            kind = "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8"
            self._pages[path] = (
                _response("200 OK", body, {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Content-Type": kind}),
                etag, _response("304 Not Modified", b"", {"ETag": etag}))
        self.not_found = _response("404 Not Found", b"<html><body>not found</body></html>", {})

    def answer(self, path: str, if_none_match: str | None) -> bytes:
        found = self._pages.get(path)
        if found is None:
            return self.not_found
        full, etag, not_modified = found
        return not_modified if if_none_match == etag else full


def _request(head: bytes) -> tuple[str, str | None]:
    """(path, If-None-Match) of a GET request head."""
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "if-none-match":
            return path, value.strip()
    return path, None


async def _serve_connection(answers: Answers, latency: float, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            path, if_none_match = _request(head)
            if latency:
                await asyncio.sleep(latency)
            writer.write(answers.answer(path, if_none_match))
            await writer.drain()
    finally:
        writer.close()


async def serve_forever(site: dict[str, str], latency: float, on_ready) -> None:
    """Serve `site` on 127.0.0.1 (an ephemeral port); `on_ready(base_url)` once listening."""
    answers = Answers(site)
    server = await asyncio.start_server(
        lambda reader, writer: _serve_connection(answers, latency, reader, writer), "127.0.0.1", 0,
        limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    on_ready(f"http://127.0.0.1:{port}")
    async with server:
        await server.serve_forever()
